"""The long-term records (issue #7), without Flask: posts and commitments, groups, pairs.

One module each: :mod:`.posts`, :mod:`.groups` (with households), :mod:`.pairs`; what they share
(scope, commits, solving a model with no lock held) is :mod:`.common`.

**Posts** (分类设岗亮承诺): a community's menu of posts; members rank up to five posts of their own
community; :func:`allocate` builds the posts problem of ``docs/contracts/posts.md`` from the stored
rows,
solves it with :mod:`matcher.longterm.posts`, checks the answer with the independent verifier
and, in one transaction, stores the allocation and each placed member's commitment (the open
commitments of the community's previous allocation are withdrawn). A dispatcher marks an open
commitment kept or missed; an open commitment past its deadline (Asia/Shanghai date) is
``overdue``.

**Groups** (分组活动亮业绩): groups of a community, their members (a member is in at most one
group), the leader they elected (one of the members), a responsibility area (buildings and grids
of the community) and the households of that area.

**Pairs**: hand-in-hand pairs (a member with a vulnerable resident, an opaque ``resident_ref``)
and unit–community pairs, each for a period; ending a pair sets its end date, renewing it ends
the row and starts a new one for the next period, so history across periods is kept.

Scope: community-wide records (menu, groups, households, pairs) are read by clients whose
:func:`~service.domain.scope.community_ids` holds the community (or all); a member reads only
their own hand-in-hand pairs (a resident's vulnerability is not for every neighbour). Changes
need :func:`~service.domain.scope.require_manager` after the object was found in scope.
Commitments are member records (:func:`~service.domain.scope.visible_member_ids`). Objects
outside the scope answer 404. Logs name ids and counts only.
"""
