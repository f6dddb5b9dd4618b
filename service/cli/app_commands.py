"""The app's own commands (``flask --app service.app linli-…``): keys, logins and the demo.

Each is a thin wrapper: it reads its arguments, opens a session of the running app and calls the
domain (:mod:`service.domain.keys`, :mod:`service.domain.people`, :mod:`service.domain.demo`).
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from service.db.people import PERSON_ROLES, Person
from service.domain.demo import DEMO_PASSWORD, seed_demo
from service.domain.keys import UnknownCommunityError, create_api_client
from service.domain.people import new_person, password_problems, role_problems

__all__ = ["create_key_command", "create_person_command", "seed_demo_command"]


def _hash_method() -> str:
    """The app's password hash method (tests set a fast PBKDF2; production keeps scrypt)."""
    return str(current_app.config.get("PASSWORD_HASH_METHOD") or "scrypt")


@click.command("linli-create-key")
@click.argument("name")
@click.option(
    "--community",
    "communities",
    multiple=True,
    help="A community this client may act for (repeat for several).",
)
@with_appcontext
def create_key_command(name: str, communities: tuple[str, ...]) -> None:
    """Create an API client NAME and print its key once (it is stored only as a hash)."""
    state = current_app.extensions["linli"]
    with state.sessions() as session:
        try:
            client, key = create_api_client(session, name, communities)
        except UnknownCommunityError as err:
            raise click.BadParameter(str(err), param_hint="--community") from err
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="NAME") from err
    click.echo(f"Created API client {client.id} ({client.name}). Its key, shown only now:")
    click.echo(key)


@click.command("linli-create-person")
@click.argument("username")
@click.option("--role", type=click.Choice(PERSON_ROLES), required=True)
@click.option("--name", "display_name", default=None, help="The name shown (default USERNAME).")
@click.option("--community", "communities", multiple=True, help="A dispatcher's community.")
@click.option("--unit", "unit_id", default=None, help="A unit organiser's unit id.")
@click.option("--member", "member_id", default=None, help="A member login's member id.")
@click.password_option(help="The password (asked for if not given).")
@with_appcontext
def create_person_command(
    username: str,
    role: str,
    display_name: str | None,
    communities: tuple[str, ...],
    unit_id: str | None,
    member_id: str | None,
    password: str,
) -> None:
    """Create a login USERNAME for a person with a role."""
    errors = role_problems(role, list(communities), unit_id, member_id)
    if password_problems(password):
        errors["password"] = password_problems(password)
    if errors:
        field, problems = next(iter(errors.items()))
        raise click.BadParameter("; ".join(problems), param_hint=field)
    state = current_app.extensions["linli"]
    with state.sessions() as session:
        if session.scalars(select(Person).where(Person.username == username)).first():
            raise click.BadParameter("already taken", param_hint="USERNAME")
        person = new_person(
            hash_method=_hash_method(),
            username=username,
            display_name=display_name or username,
            password=password,
            role=role,
            communities=list(communities),
            unit_id=unit_id,
            member_id=member_id,
        )
        session.add(person)
        session.commit()
        click.echo(f"Created {role} login {username} (person {person.id}).")


@click.command("linli-seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Seed the demo community 花园路社区 and its logins (synthetic data; demo databases only)."""
    state = current_app.extensions["linli"]
    with state.sessions() as session:
        summary = seed_demo(session, state.cipher, hash_method=_hash_method())
    verb = "Seeded" if summary.created else "Already seeded:"
    click.echo(
        f"{verb} community {summary.community_id} ({summary.members} members, "
        f"{summary.demands} open demands). Logins: {', '.join(summary.logins)} "
        f"(password {DEMO_PASSWORD})."
    )
