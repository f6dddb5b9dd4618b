"""People who log in: district administrators, dispatchers, unit organisers and members.

Machines use API keys (:mod:`service.domain.keys`); people log in with a username and a password
(``POST /api/v1/session``) and then carry a signed session cookie. Passwords are stored only as
salted scrypt hashes (Werkzeug). A person's role decides their scope
(:mod:`service.domain.scope`): a dispatcher acts for the communities listed on the login, a
unit organiser for one unit's members, a member for their own tasks (their community is the one
their member record says, read at each request, so a member who moves keeps the right scope).

``flask --app service.app linli-create-person USERNAME --role R [...]`` creates a login from the
command line (the first district administrator has to come from somewhere).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from service.db.base import utcnow
from service.db.people import PERSON_ROLES, USERNAME_LENGTH, Person

if TYPE_CHECKING:
    from service.config.identity import Client

LOCKOUT_FAILURES = 10
LOCKOUT_WINDOW = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
_DUMMY_HASH = generate_password_hash("not a password of anyone")


def role_problems(
    role: str, communities: list[str], unit_id: str | None, member_id: str | None
) -> dict[str, list[str]]:
    """What is wrong with a login's role and its scope fields (field → problems)."""
    errors: dict[str, list[str]] = {}
    if role not in PERSON_ROLES:
        errors["role"] = [f"must be one of {', '.join(PERSON_ROLES)}"]
        return errors
    if role == "dispatcher" and not communities:
        errors["communities"] = ["a dispatcher needs at least one community"]
    if role != "dispatcher" and communities:
        errors["communities"] = [f"only a dispatcher has communities (this is a {role})"]
    if (role == "unit_organiser") != (unit_id is not None):
        errors["unit_id"] = ["required for a unit organiser, and only for one"]
    if (role == "member") != (member_id is not None):
        errors["member_id"] = ["required for a member, and only for one"]
    return errors


def password_problems(password: str) -> list[str]:
    """Why a password is not acceptable (empty if it is)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"must have at most {MAX_PASSWORD_LENGTH} characters")
    return problems


def new_person(
    *,
    username: str,
    display_name: str,
    password: str,
    role: str,
    communities: list[str] | None = None,
    unit_id: str | None = None,
    member_id: str | None = None,
    hash_method: str = "scrypt",
) -> Person:
    """An unsaved login with the password hashed (the caller checked the fields).

    The hash is Werkzeug's salted scrypt, unless ``hash_method`` names another Werkzeug method
    (the test suite uses a fast PBKDF2 so that hundreds of logins stay quick).
    """
    return Person(
        username=username,
        display_name=display_name,
        password_hash=generate_password_hash(password, method=hash_method),
        role=role,
        communities=sorted(set(communities or ())),
        unit_id=unit_id,
        member_id=member_id,
        active=True,
        created_at=utcnow(),
    )


def check_login(session: Session, username: str, password: str) -> Person | None:
    """The active person with these credentials, or ``None``.

    An unknown username still costs one hash check, so that timing does not tell which
    usernames exist.
    """
    person = None
    if 0 < len(username) <= USERNAME_LENGTH and len(password) <= MAX_PASSWORD_LENGTH:
        person = session.scalars(select(Person).where(Person.username == username)).first()
    if person is None or not person.active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return person if check_password_hash(person.password_hash, password) else None


def session_is_current(person: Person, version: object) -> bool:
    """True if a login session made at ``version`` still stands (not logged out, not locked)."""
    return isinstance(version, int) and version == person.session_version


def end_sessions(session: Session, person_id: int) -> None:
    """End every login session of the person (logout, lockout): their version goes up.

    One conditional ``UPDATE`` (concurrent logouts both count); the caller commits.
    """
    session.execute(
        update(Person)
        .where(Person.id == person_id)
        .values(session_version=Person.session_version + 1)
        .execution_options(synchronize_session=False)
    )


def lock_out_if_needed(session: Session, username: str) -> bool:
    """After a failed login: if the username is now locked, end its person's sessions too.

    Returns whether the username is locked. The caller commits.
    """
    if not login_locked(session, username):
        return False
    person_id = session.scalar(select(Person.id).where(Person.username == username))
    if person_id is not None:
        end_sessions(session, person_id)
    return True


def login_locked(session: Session, username: str) -> bool:
    """True after :data:`LOCKOUT_FAILURES` failed logins for ``username`` within
    :data:`LOCKOUT_WINDOW` (counted in the audit trail): the login is refused until then."""
    from service.db.audit import AuditEvent

    since = utcnow() - LOCKOUT_WINDOW
    failures = session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "login_failed",
            AuditEvent.object_id == username[:64],
            AuditEvent.at >= since,
        )
    )
    return int(failures or 0) >= LOCKOUT_FAILURES


def person_client(session: Session, person: Person) -> Client | None:
    """The request principal of a logged-in person (``None`` if the login no longer works)."""
    from service.config.identity import Client

    if not person.active:
        return None
    communities = tuple(person.communities or ())
    if person.role == "member":
        from service.db.registration import Member

        member = session.get(Member, person.member_id) if person.member_id else None
        if member is None or member.status == "left":
            return None
        communities = (member.community_id,)
    return Client(
        id=person.id,
        name=person.display_name,
        communities=communities,
        role=person.role,
        unit_id=person.unit_id,
        member_id=person.member_id,
    )
