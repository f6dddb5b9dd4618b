"""The post-allocation problem (``docs/contracts/posts.md``) as frozen dataclasses.

Lists are tuples so that problems hash and never change under a solver. The two small functions
at the end, :func:`is_eligible` and :func:`fit`, are the contract's definitions of who may hold a
post and how well a member fits it; the solver uses them, the verifier has its own copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

MAX_CHOICES = 5
"""A member ranks at most this many posts."""
MAX_DESIRED_SKILLS = 5
"""A post names at most this many desired (nice-to-have) skills."""
FIT_MAX = MAX_DESIRED_SKILLS + 2
"""The largest fit a member can have for a post: every desired skill, the category, the grid."""
UNRANKED_RANK = MAX_CHOICES + 1
"""The rank a member placed by fit (``fill_unranked``) counts as in the objective."""
MODES = ("optimal", "stable")

CATEGORIES: tuple[str, ...] = (
    "policy_publicity",
    "sanitation",
    "poverty_relief",
    "mediation",
    "elderly_care",
    "tutoring",
    "health",
    "legal_aid",
    "repairs",
    "digital_help",
    "culture_sports",
    "public_order",
)
"""The post categories of the generator and the console menu (the contract accepts any)."""


@dataclass(frozen=True)
class Commitment:
    """What a member holding the post publicly promises (承诺), and by when (办结时限)."""

    service: str
    deadline: date


@dataclass(frozen=True)
class Post:
    """A standing service post of one community with ``seats`` places.

    ``skills`` are required (a member must hold every one); ``desired_skills`` only raise the fit.
    """

    id: str
    community: str
    category: str
    title: str
    seats: int
    skills: tuple[str, ...] = ()
    desired_skills: tuple[str, ...] = ()
    grid: str | None = None
    commitment: Commitment | None = None


@dataclass(frozen=True)
class Member:
    """A member of one community and the posts they ranked, best first (may be empty)."""

    id: str
    community: str
    skills: tuple[str, ...] = ()
    preferences: tuple[str, ...] = ()
    grid: str | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Options:
    """``mode``: ``optimal`` (fewest left out, then best ranks, then fit) or ``stable``.

    ``time_limit_s`` and ``seed`` are accepted for a uniform interface; both modes are exact and
    deterministic, so neither changes the answer.
    """

    mode: str = "optimal"
    fill_unranked: bool = False
    time_limit_s: float = 10.0
    seed: int = 0


@dataclass(frozen=True)
class Problem:
    """One community's (or a whole district's) menu of posts and members' choices."""

    posts: tuple[Post, ...]
    members: tuple[Member, ...]
    options: Options = field(default_factory=Options)


def is_eligible(member: Member, post: Post) -> bool:
    """May ``member`` hold ``post``: same community, and every required skill held."""
    return member.community == post.community and set(post.skills) <= set(member.skills)


def fit(member: Member, post: Post) -> int:
    """Desired skills held, plus 1 if the category is a service intention, plus 1 if same grid."""
    skills = set(member.skills)
    held = sum(1 for s in set(post.desired_skills) if s in skills)
    wants = 1 if post.category in member.preferences else 0
    near = 1 if post.grid is not None and member.grid == post.grid else 0
    return held + wants + near
