"""Posts (设岗认岗): allocate members to the community's service posts from their ranked choices.

The community sets posts "by need, by task, by ability" and shows them as a menu; each member ranks
up to five of their own community's posts. ``problem`` holds the frozen problem, ``validation``
its reference checks, ``solve`` the allocation (a min-cost flow for the ``optimal`` mode,
deferred acceptance for the ``stable`` mode), ``answer`` the result with reasons, ``verify`` the
independent checker and ``generate`` synthetic districts. Contract: ``docs/contracts/posts.md``.
"""
