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


# --- baselines ---------------------------------------------------------------------------------

@click.group("baselines")
def baselines_group() -> None:
    """National business-survival baselines (published figures with sources)."""


@baselines_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False), required=False)
@with_appcontext
def baselines_import(file: str | None) -> None:
    """Import (upsert) baseline figures from FILE, or the shipped tracker/data/baselines.csv."""
    from pathlib import Path

    from tracker.services import baselines

    data = Path(file).read_bytes() if file else baselines.shipped_baselines()
    result = baselines.import_baselines(None, data, source=Path(file).name if file else "shipped baselines.csv")
    if result.problems:
        for problem in result.problems[:200]:
            click.echo(problem, err=True)
        fail(f"{len(result.problems)} problem(s); nothing imported")
    db.session.commit()
    click.echo(f"Baselines: {result.created} created, {result.updated} updated, {result.unchanged} unchanged.")


@baselines_group.command("list")
@click.option("--series", help="only this series (e.g. insee-sine)")
@click.option("--country", help="only this country code")
@with_appcontext
def baselines_list(series: str | None, country: str | None) -> None:
    """List baseline figures with their source."""
    from tracker.services import baselines

    rows = baselines.list_baselines(series, country)
    click.echo("series\tcountry\tregion\tsector\tcohort\thorizon\tsurvival_pct\tpublisher\turl")
    for b in rows:
        click.echo(f"{b.series}\t{b.country}\t{b.region or '-'}\t{b.sector}\t{b.cohort_year}\t{b.horizon_years}"
                   f"\t{b.survival_pct:g}\t{b.publisher}\t{b.url or ''}")
    click.echo(f"{len(rows)} figure(s).", err=True)


# --- quickstart --------------------------------------------------------------------------------

@click.command("quickstart")
@click.option("--cases-per-federation", default=100, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--serve/--no-serve", default=True, help="serve the app on 127.0.0.1 after setting up")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@with_appcontext
def quickstart(cases_per_federation: int, serve: bool, port: int) -> None:
    """Create the database (migrations), load baselines and demo data, print the demo logins, serve."""
    from flask import current_app
    from flask_migrate import upgrade

    from tracker.services.demo import DEMO_PASSWORD
    from tracker.services.quickstart import demo_logins, seed_demo

    click.echo(f"Database: {db.engine.url.render_as_string(hide_password=True)}")
    upgrade()
    if seed_demo(cases_per_federation):
        db.session.commit()
        click.echo("Loaded national baselines and demo federations, users and cases.")
    else:
        click.echo("Database already has data; left it as it is.")
    click.echo(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
    for login in demo_logins():
        click.echo(f"  {login.email:<26} {login.role:<11} {login.federation or ''}")
    if serve:
        click.echo(f"\nServing on http://127.0.0.1:{port}/  (Ctrl+C to stop)")
        current_app.run(host="127.0.0.1", port=port, debug=False, use_reloader=False)


def register_commands(app: Flask) -> None:
    for group in (federations_group, users_group, baselines_group, quickstart):
        app.cli.add_command(group)


__all__ = ["Federation", "main", "register_commands"]
