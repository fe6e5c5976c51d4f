"""Command-line interface: `tracker` (= `flask --app tracker`). Thin commands calling services;
each prints a summary and exits non-zero on failure."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from tracker.extensions import db
from tracker.models import Federation, Role
from tracker.services import federations as federation_service
from tracker.services import users as user_service
from tracker.services.errors import DomainError


def _create_app() -> Flask:
    from tracker import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True,
             add_version_option=False)
def main() -> None:
    """Transfer Tracker: case logging and survival analysis of enterprises transferred to employees."""


def fail(message: str) -> None:
    db.session.rollback()
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(1)


# --- federations -------------------------------------------------------------------------------

@click.group("federations")
def federations_group() -> None:
    """Member federations."""


@federations_group.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--country", required=True, help="ISO 3166-1 alpha-2 country code")
@with_appcontext
def federations_add(code: str, name: str, country: str) -> None:
    """Add a federation CODE named NAME."""
    try:
        fed = federation_service.create_federation(None, code=code, name=name, country=country)
    except DomainError as exc:
        fail(exc.message)
    db.session.commit()
    click.echo(f"Federation {fed.code} ({fed.name}, {fed.country}) added.")


@federations_group.command("list")
@with_appcontext
def federations_list() -> None:
    """List federations."""
    for fed in federation_service.list_federations():
        click.echo(f"{fed.code}\t{fed.country}\t{fed.name}{'' if fed.active else '  (inactive)'}")


# --- users -------------------------------------------------------------------------------------

@click.group("users")
def users_group() -> None:
    """Accounts (there is no self-registration)."""


@users_group.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--federation", "federation_code", help="federation CODE (staff only)")
@with_appcontext
def users_create(email: str, role: str, federation_code: str | None) -> None:
    """Create a user. The password is read from stdin when piped, else prompted (never an argument)."""
    federation = None
    if federation_code:
        federation = federation_service.get_by_code(federation_code)
        if federation is None:
            fail(f"no federation with code {federation_code!r}")
    password = read_password()
    try:
        user = user_service.create_user(None, email, password, role, federation)
    except DomainError as exc:
        fail(exc.message)
    db.session.commit()
    click.echo(f"User {user.email} ({user.role.value}"
               f"{', ' + federation.code if federation else ''}) created.")


def read_password() -> str:
    stdin = click.get_text_stream("stdin")
    if not stdin.isatty():
        password = stdin.readline().rstrip("\r\n")
        if not password:
            fail("no password on stdin")
        return password
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_group.command("list")
@with_appcontext
def users_list() -> None:
    """List users."""
    for user in user_service.list_users():
        fed = user.federation.code if user.federation else "-"
        click.echo(f"{user.email}\t{user.role.value}\t{fed}\t{'active' if user.active else 'inactive'}")


def register_commands(app: Flask) -> None:
    for group in (federations_group, users_group):
        app.cli.add_command(group)


__all__ = ["Federation", "main", "register_commands"]
