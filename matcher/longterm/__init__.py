"""The long-term matchings (issue #4): posts, groups, hand-in-hand pairs, unit–community pairs.

Each is a small model with the shape of dispatch: a frozen problem, ``solve``, an answer with
reasons, and an independent ``verify`` — one subpackage per kind (``posts``, ``groups``,
``pairs``, ``units``), each with ``problem``, ``answer``, ``validation``, ``solve``, ``verify``
and ``generate`` modules. Contracts: ``docs/contracts/<kind>.md``.
"""
