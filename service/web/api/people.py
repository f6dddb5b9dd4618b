"""People's logins and the audit trail.

``POST /login`` starts a session (a signed, HttpOnly, SameSite=Lax cookie, Secure unless
``LINLI_SECURE_COOKIES=false``) and answers the CSRF token every change must carry;
``POST /logout`` ends it; ``GET /me`` says who is logged in. Ten failed logins for one username
within fifteen minutes lock it for the rest of that window (429). ``/people`` creates and lists
logins: a district administrator creates any role, a dispatcher (or a community key) creates
member logins for the members of its communities. ``/audit-events`` is the trail.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, session
from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db.audit import AuditEvent
from service.db.people import PERSON_ROLES, USERNAME_LENGTH, Person
from service.db.registration import Community, Member, Unit
from service.domain import audit
from service.domain.people import (
    MAX_PASSWORD_LENGTH,
    check_login,
    end_sessions,
    lock_out_if_needed,
    login_locked,
    new_person,
    password_problems,
    person_client,
    role_problems,
)
from service.domain.scope import (
    get_scoped,
    is_district,
    managed_community_ids,
    may_manage,
    require_role,
)
from service.web.api import API_PREFIX, AUTH_ERRORS, Blueprint
from service.web.auth import current_client, new_csrf_token
from service.web.errors import fail
from service.web.paging import page_rows

blp = Blueprint(
    "people",
    __name__,
    url_prefix=API_PREFIX,
    description="People's logins (sessions with CSRF tokens) and the audit trail.",
)


def _session() -> Session:
    db: Session = current_app.extensions["linli"].sessions()
    return db


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class LoginSchema(_Strict):
    username = fields.String(
        required=True,
        validate=validate.Length(1, USERNAME_LENGTH),
        metadata={"description": "The person's user name"},
    )
    password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(1, MAX_PASSWORD_LENGTH),
        metadata={"description": "The person's password"},
    )


class PrincipalSchema(Schema):
    """Who is logged in, and the token their changes must carry."""

    person_id = fields.Integer(metadata={"description": "The signed-in person's id"})
    username = fields.String(metadata={"description": "The user name"})
    display_name = fields.String(metadata={"description": "The name shown"})
    role = fields.String(
        metadata={"description": "What the person may do", "enum": list(PERSON_ROLES)}
    )
    communities = fields.List(
        fields.String(), metadata={"description": "Ids of the communities the person works in"}
    )
    unit_id = fields.String(allow_none=True, metadata={"description": "The id of the work unit"})
    member_id = fields.String(allow_none=True, metadata={"description": "The id of the member"})
    csrf_token = fields.String(metadata={"description": "Send it as X-CSRF-Token on changes."})


class PersonCreateSchema(_Strict):
    username = fields.String(
        required=True,
        validate=[
            validate.Length(3, USERNAME_LENGTH),
            validate.Regexp(r"^[A-Za-z0-9_.@-]+$", error="letters, digits, _ . @ - only"),
        ],
        metadata={"description": "The person's user name, unique"},
    )
    display_name = fields.String(
        required=True,
        validate=validate.Length(1, 200),
        metadata={"description": "The name shown in the workspace"},
    )
    password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(1, MAX_PASSWORD_LENGTH),
        metadata={"description": "The initial password"},
    )
    role = fields.String(
        required=True,
        validate=validate.OneOf(PERSON_ROLES),
        metadata={
            "description": (
                "What the person may do: district, dispatcher, unit_organiser or member"
            )
        },
    )
    communities = fields.List(
        fields.String(validate=validate.Length(1, 64)),
        load_default=list,
        metadata={"description": "Ids of the communities the person works in"},
    )
    unit_id = fields.String(
        load_default=None,
        validate=validate.Length(1, 64),
        metadata={"description": "For a unit organiser: the id of their work unit"},
    )
    member_id = fields.String(
        load_default=None,
        validate=validate.Length(1, 64),
        metadata={"description": "For a member: the id of their member record"},
    )


class PersonRecordSchema(Schema):
    id = fields.Integer(metadata={"description": "The person's id"})
    username = fields.String(metadata={"description": "The user name"})
    display_name = fields.String(metadata={"description": "The name shown"})
    role = fields.String(metadata={"description": "What the person may do"})
    communities = fields.List(
        fields.String(), metadata={"description": "Ids of the communities the person works in"}
    )
    unit_id = fields.String(allow_none=True, metadata={"description": "The id of the work unit"})
    member_id = fields.String(allow_none=True, metadata={"description": "The id of the member"})
    active = fields.Boolean(metadata={"description": "Whether it is in force now"})
    created_at = fields.DateTime(
        metadata={"description": ("When it was created: an ISO 8601 date-time with its UTC offset")}
    )


class AuditQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    community_id = fields.String(validate=validate.Length(1, 64))
    object_type = fields.String(validate=validate.Length(1, 32))
    object_id = fields.String(validate=validate.Length(1, 64))
    action = fields.String(validate=validate.OneOf(audit.ACTIONS))


class AuditEventSchema(Schema):
    id = fields.Integer(metadata={"description": "The audit event's id"})
    at = fields.DateTime(
        metadata={"description": "When it happened: ISO 8601 date-time with UTC offset"}
    )
    actor_kind = fields.String(metadata={"description": "Who acted: a person or an API client"})
    actor_id = fields.Integer(
        allow_none=True, metadata={"description": "The id of the actor, or null"}
    )
    actor_role = fields.String(metadata={"description": "The actor's role"})
    action = fields.String(metadata={"description": "What was done"})
    object_type = fields.String(metadata={"description": "What kind of object it concerns"})
    object_id = fields.String(metadata={"description": "The id of the object"})
    community_id = fields.String(
        allow_none=True, metadata={"description": "The id of the community"}
    )
    detail = fields.String(allow_none=True, metadata={"description": "The reason in a sentence"})


def _principal(person: Person, communities: tuple[str, ...]) -> dict[str, Any]:
    return {
        "person_id": person.id,
        "username": person.username,
        "display_name": person.display_name,
        "role": person.role,
        "communities": list(communities),
        "unit_id": person.unit_id,
        "member_id": person.member_id,
        "csrf_token": session.get("csrf"),
    }


@blp.route("/login")
class Login(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(200, PrincipalSchema)
    @blp.error_responses(401, 422, 429)
    def post(self, data: dict[str, Any]) -> Any:
        """Log a person in: sets the session cookie and answers the CSRF token."""
        username = data["username"]
        with _session() as db:
            if login_locked(db, username):
                fail(429, "Too many failed logins for this username; try again later.")
            person = check_login(db, username, data["password"])
            client = None if person is None else person_client(db, person)
            if person is None or client is None:
                audit.record(db, None, "login_failed", "person", username[:64], None)
                lock_out_if_needed(db, username)
                db.commit()
                fail(401, "Wrong username or password.")
            audit.record(db, client, "login", "person", str(person.id), None)
            db.commit()
            session.clear()
            session.permanent = True
            session["person_id"] = person.id
            session["session_version"] = person.session_version
            session["csrf"] = new_csrf_token()
            return _principal(person, client.communities)


@blp.route("/logout")
class Logout(MethodView):
    @blp.response(204)
    @blp.error_responses(*AUTH_ERRORS, 403)
    def post(self) -> None:
        """End the session, and every other session of the same person (a key-authenticated
        call does nothing)."""
        client = current_client()
        if client.role != "client":
            with _session() as db:
                end_sessions(db, client.id)
                db.commit()
        session.clear()


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, PrincipalSchema)
    @blp.error_responses(*AUTH_ERRORS, 403)
    def get(self) -> Any:
        """Who is logged in (people only), with the session's CSRF token."""
        client = current_client()
        if client.role == "client":
            fail(403, "An API key has no login; /me is for people.")
        with _session() as db:
            person = db.get(Person, client.id)
            assert person is not None
            return _principal(person, client.communities)


def _check_new_person(db: Session, data: dict[str, Any]) -> None:
    """422 for a role/scope mismatch or a weak password; 404/403 outside the creator's scope."""
    client = current_client()
    errors = role_problems(data["role"], data["communities"], data["unit_id"], data["member_id"])
    if password_problems(data["password"]):
        errors["password"] = password_problems(data["password"])
    if errors:
        fail(422, "The login cannot be created as sent.", errors=errors)
    if data["role"] == "member":
        member = get_scoped(db, Member, data["member_id"], client)
        if not may_manage(client, member.community_id):
            fail(403, "Only the member's community may create their login.")
        return
    if not is_district(client):
        fail(403, "Only a district administrator creates logins other than members'.")
    if data["unit_id"] is not None and db.get(Unit, data["unit_id"]) is None:
        fail(422, "No such unit.", errors={"unit_id": ["no such unit"]})
    missing = [c for c in data["communities"] if db.get(Community, c) is None]
    if missing:
        fail(422, "No such community.", errors={"communities": [f"no such: {', '.join(missing)}"]})


@blp.route("/people")
class People(MethodView):
    @blp.response(200, PersonRecordSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 403)
    @blp.paginate()
    def get(self, pagination_parameters: PaginationParameters) -> Any:
        """List logins: all for the district, members' logins of their communities otherwise."""
        client = current_client()
        require_role(client, "dispatcher", "client")
        query = select(Person)
        managed = managed_community_ids(client)
        if managed is not None:
            members = select(Member.id).where(Member.community_id.in_(managed))
            query = query.where(Person.member_id.in_(members))
        with _session() as db:
            return [row for (row,) in page_rows(db, query, pagination_parameters, Person.id)]

    @blp.arguments(PersonCreateSchema)
    @blp.response(201, PersonRecordSchema)
    @blp.error_responses(*AUTH_ERRORS, 403, 404, 409, 422)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a login (the password is stored only as a salted hash)."""
        with _session() as db:
            _check_new_person(db, data)
            taken = {"username": ["already taken"]}
            if db.scalars(select(Person).where(Person.username == data["username"])).first():
                fail(409, "This username is taken.", errors=taken)
            person = new_person(
                **data,
                hash_method=str(current_app.config.get("PASSWORD_HASH_METHOD") or "scrypt"),
            )
            db.add(person)
            try:
                db.flush()
                audit.record(
                    db, current_client(), "create", "person", str(person.id), None, person.role
                )
                db.commit()
            except IntegrityError:
                db.rollback()
                fail(409, "This username or member already has a login.", errors=taken)
            return person


@blp.route("/audit-events")
class AuditEvents(MethodView):
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditEventSchema(many=True))
    @blp.error_responses(*AUTH_ERRORS, 403, 422)
    @blp.paginate()
    def get(self, query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
        """The audit trail, newest first: all of it for the district, a community's otherwise."""
        client = current_client()
        require_role(client, "dispatcher", "client")
        statement = select(AuditEvent)
        managed = managed_community_ids(client)
        if managed is not None:
            statement = statement.where(AuditEvent.community_id.in_(managed))
        for name in ("community_id", "object_type", "object_id", "action"):
            if name in query:
                statement = statement.where(getattr(AuditEvent, name) == query[name])
        with _session() as db:
            rows = page_rows(db, statement, pagination_parameters, AuditEvent.id.desc())
            return [row for (row,) in rows]
