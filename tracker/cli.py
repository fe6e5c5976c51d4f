"""Command-line interface: `tracker` (= `flask --app tracker`). Thin commands calling services;
each prints a summary and exits non-zero on failure."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import Federation, Role
from tracker.services.accounts import federations as federation_service
from tracker.services.accounts import users as user_service
from tracker.services.errors import DomainError


def _create_app() -> Flask:
    from tracker import create_app

    return create_app()


class TrackerGroup(FlaskGroup):
    """The `tracker` command. A database that is down, read-only, full or locked, or a refused
    configuration, ends any command with one line on stderr and exit 1, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import DBAPIError
        from sqlalchemy.exc import TimeoutError as PoolTimeout

        from config import ConfigError
        from tracker.services.ops import availability

        try:
            return super().invoke(ctx)
        except (DBAPIError, PoolTimeout) as exc:
            message = availability.describe(exc)
            if message is None:
                raise
        except ConfigError as exc:
            message = str(exc)
        click.secho(f"Error: {message}", fg="red", err=True)
        ctx.exit(1)


@click.group(cls=TrackerGroup, create_app=_create_app, add_default_commands=True,
             add_version_option=False)
def main() -> None:
    """Transfer Tracker: case logging and survival analysis of enterprises transferred to employees."""


def fail(message: str) -> NoReturn:
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
    stdin = sys.stdin
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

    from tracker.services.analytics import baselines

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
    from tracker.services.analytics import baselines

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

    from tracker.services.ops.demo import DEMO_PASSWORD
    from tracker.services.ops.quickstart import demo_logins, seed_demo

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
        from werkzeug.serving import run_simple

        click.echo(f"\nServing on http://127.0.0.1:{port}/  (Ctrl+C to stop)")
        # Not app.run(): Flask ignores it inside a `flask`/`tracker` CLI command (FLASK_RUN_FROM_CLI).
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # a proxy, typed as the Flask it stands for
        run_simple("127.0.0.1", port, app, use_reloader=False, use_debugger=False, threaded=True)


# --- cases -------------------------------------------------------------------------------------

MAX_PROBLEM_LINES = 200
PROGRESS_MIN_ROWS = 1000


@click.group("cases")
def cases_group() -> None:
    """Cases: import and export in the CSV/XLSX schema of docs/design.md."""


@cases_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--federation", "federation_code", required=True, help="federation CODE the cases belong to")
@click.option("--dry-run", is_flag=True, help="validate and report only; write nothing")
@click.option("--confirm-distinct", is_flag=True,
              help="the possible duplicates reported are different enterprises: import, and remember them as such")
@with_appcontext
def cases_import(file: Path, federation_code: str, dry_run: bool, confirm_distinct: bool) -> None:
    """Import cases from FILE (CSV or XLSX), of any size: streamed, in one transaction, all or
    nothing: on any problem, every problem is listed as `row R, column C: message` (on stderr),
    nothing is written and the exit status is 1. Rows that look like cases already registered
    (the same national id in the same country, or the same name in the same country and transfer
    year, in any federation) are listed too, and stop the import until confirmed with
    --confirm-distinct, as in the web app."""
    from tracker.services.spreadsheets import bulk, imports

    federation = federation_service.get_by_code(federation_code)
    if federation is None:
        fail(f"no federation with code {federation_code!r}")
    try:
        with _StageProgress() as progress:  # any size, streamed, one transaction (services.spreadsheets.bulk)
            result = bulk.import_file(None, federation, file, dry_run=dry_run, progress=progress,
                                      confirm_distinct=confirm_distinct)
    except imports.UnconfirmedDuplicates as exc:
        db.session.rollback()
        _echo_duplicates(exc.pairs)
        fail(f"{len(exc.pairs)} possible duplicate{'s' if len(exc.pairs) != 1 else ''} in {file.name}; nothing was "
             "imported. Correct the file, or run again with --confirm-distinct if they are different enterprises.")
    except DomainError as exc:
        fail(exc.message)
    except Exception:
        db.session.rollback()
        raise
    if result.problems:
        for problem in result.problems[:MAX_PROBLEM_LINES]:
            click.echo(str(problem), err=True)
        if len(result.problems) > MAX_PROBLEM_LINES:
            click.echo(f"... and {len(result.problems) - MAX_PROBLEM_LINES} more", err=True)
        fail(f"{len(result.problems)} problem{'s' if len(result.problems) != 1 else ''} in {file.name}; "
             "nothing was imported.")
    if result.duplicates:
        _echo_duplicates(result.duplicates)
    if dry_run:
        db.session.rollback()
        pending = f"; {len(result.duplicates)} possible duplicates to confirm" if result.duplicates else ""
        click.echo(f"dry run: would create {result.created}, update {result.updated}, "
                   f"leave {result.unchanged} unchanged ({result.rows} rows, no problems{pending}); nothing written.")
        return
    db.session.commit()
    confirmed = f"; {len(result.duplicates)} possible duplicates confirmed distinct" if result.duplicates else ""
    click.echo(f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged "
               f"({result.rows} rows from {file.name} into {federation.code}{confirmed}).")


def _echo_duplicates(pairs: Any) -> None:
    """One line per possible duplicate on stderr: the file's row and the registered case it resembles."""
    codes = dict(db.session.execute(select(Federation.id, Federation.code)).all())

    def side(identity: Any) -> str:
        where = f"row {identity.row}" if identity.row else f"case {identity.id}"
        return f"{where} {identity.ref} '{identity.name}' ({codes.get(identity.federation_id, '?')})"

    for pair in list(pairs)[:MAX_PROBLEM_LINES]:
        click.echo(f"possible duplicate: {side(pair.case)} and {side(pair.other)}: {'; '.join(pair.reasons)}",
                   err=True)
    if len(pairs) > MAX_PROBLEM_LINES:
        click.echo(f"... and {len(pairs) - MAX_PROBLEM_LINES} more", err=True)


class _StageProgress:
    """A click progress bar on stderr per import stage (validating, writing), for large files only."""

    def __init__(self) -> None:
        self._stage: str | None = None
        self._bar: Any = None
        self._shown = 0

    def __enter__(self) -> _StageProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if total < PROGRESS_MIN_ROWS:
            return
        if stage != self._stage:
            self._close()
            self._stage, self._shown = stage, 0
            self._bar = click.progressbar(length=total, label=stage.capitalize(), file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(done - self._shown)
        self._shown = done

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


@cases_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--federation", "federation_code", help="only this federation's cases (default: all)")
@with_appcontext
def cases_export(file: Path, federation_code: str | None) -> None:
    """Export the cases (not deleted) to FILE in the import schema: CSV or XLSX by its extension."""
    from tracker.services.spreadsheets import exports

    fmt = file.suffix.lower().lstrip(".")
    if fmt not in exports.FORMATS:
        fail(f"{file.name}: the file name must end in .csv or .xlsx")
    federation = None
    if federation_code:
        federation = federation_service.get_by_code(federation_code)
        if federation is None:
            fail(f"no federation with code {federation_code!r}")
    partial = file.with_name(file.name + ".partial")  # a failed export never leaves a truncated FILE
    try:
        with partial.open("wb") as fh, _StageProgress() as progress:
            count = exports.write_export(fh, None, federation, fmt,
                                         progress=lambda done, total: progress("exporting", done, total))
        partial.replace(file)
    except DomainError as exc:
        partial.unlink(missing_ok=True)
        fail(exc.message)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        db.session.rollback()  # read-only: end the transaction
    click.echo(f"Exported {count} case{'s' if count != 1 else ''} to {file}.")


# --- survival ----------------------------------------------------------------------------------

@click.command("survival")
@click.option("--as-of", "as_of", help="analysis date YYYY-MM-DD (default: today)")
@click.option("--endpoint", type=click.Choice(["enterprise", "cooperative"]), default="enterprise", show_default=True)
@click.option("--group-by", "group_by", metavar="FIELD[,FIELD]",
              help="transfer_type, country, nace_section, cohort, federation or size_class; two joined by a comma")
@click.option("--horizons", default="1,2,3,4,5", show_default=True, help="whole years, comma-separated")
@click.option("--no-delayed-entry", is_flag=True, help="enter every case at its transfer (no left truncation)")
@click.option("--where", "where", multiple=True, metavar="FIELD=VALUE", help="filter; repeat to combine")
@click.option("--cohort-bands", help="group cohorts in bands, e.g. 2000-2007,2008-2014")
@click.option("--no-baselines", is_flag=True, help="leave out expected and relative survival")
@click.option("--rmst-tau", "rmst_tau", metavar="YEARS", help="restriction time of the restricted mean survival "
              "time (years > 0, default 5)")
@click.option("--model", metavar="cox", help="fit a model on the selection: cox (proportional hazards)")
@click.option("--covariates", metavar="F1[,F2...]", help="the model's covariates: grouping fields, log_employees")
@click.option("--competing", is_flag=True, help="print the competing outcomes (closure, loss of the cooperative "
              "form) instead, as GET /api/v1/survival/competing")
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="table", show_default=True)
@with_appcontext
def survival(as_of: str | None, endpoint: str, group_by: str | None, horizons: str, no_delayed_entry: bool,
             where: tuple[str, ...], cohort_bands: str | None, no_baselines: bool, rmst_tau: str | None,
             model: str | None, covariates: str | None, competing: bool, fmt: str) -> None:
    """Kaplan-Meier survival of the transferred enterprises (docs/design.md, "Survival definitions"),
    with the median's CI, the restricted mean, the annual hazard, pairwise tests and, on request,
    a Cox model or the competing outcomes. A bad option exits 2 with its message."""
    import json

    from tracker.services.analytics import queries as analytics

    params = {"as_of": as_of, "endpoint": endpoint, "group_by": group_by, "horizons": horizons,
              "delayed_entry": "false" if no_delayed_entry else None, "cohort_bands": cohort_bands,
              "baselines": "false" if no_baselines else None, "where": list(where), "rmst_tau": rmst_tau,
              "model": model, "covariates": covariates}
    try:
        query = analytics.SurvivalQuery.from_params(params)
        if competing:
            if model:
                raise analytics.InvalidParameter("model", "the competing outcomes take no model")
            result = analytics.competing_report(None, query)
        else:
            result = analytics.survival_json(None, query)
    except analytics.InvalidParameter as exc:
        db.session.rollback()
        click.secho(f"Error: --{exc.name.replace('_', '-')}: {exc.message}", fg="red", err=True)
        sys.exit(2)
    if fmt == "json":
        click.echo(json.dumps(result, indent=1))
    elif competing:
        click.echo(competing_table(result))
    else:
        click.echo(analytics_table(result))


def competing_table(result: dict) -> str:
    """The competing-outcomes JSON as text: cumulative incidence (%) with 95 % CI per horizon."""

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}"

    by = f", by {result['group_by']}" if result["group_by"] else ""
    lines = [f"Competing outcomes as of {result['as_of']}{by}",
             f"{'group':<24}{'years':>6}{'closure % (95% CI)':>26}{'loss % (95% CI)':>26}{'at risk':>9}"]
    for g in result["groups"]:
        for h in g["horizons"]:
            closure = f"{pct(h['closure'])} ({pct(h['closure_ci']['lower'])}-{pct(h['closure_ci']['upper'])})"
            loss = f"{pct(h['loss'])} ({pct(h['loss_ci']['lower'])}-{pct(h['loss_ci']['upper'])})"
            lines.append(f"{g['group'][:23]:<24}{h['years']:>6}{closure:>26}{loss:>26}{h['at_risk']:>9}")
    return "\n".join(lines)


def _cox_lines(cox: dict) -> list[str]:
    if "error" in cox:
        return [f"Cox model: not fitted: {cox['error']}"]
    lines = [f"Cox model (Efron ties): n = {cox['n']}, events = {cox['events']}, "
             f"left out for a missing covariate: {cox['excluded']['missing_covariate']}",
             f"{'term':<36}{'HR':>8}{'95% CI':>18}{'p':>10}"]
    for t in cox["terms"]:
        name = t["covariate"] if t["level"] is None else f"{t['covariate']}={t['level']} vs {t['reference']}"
        lines.append(f"{name[:35]:<36}{t['hazard_ratio']:>8.3f}{t['ci_lower']:>9.3f}-{t['ci_upper']:<8.3f}"
                     f"{t['p_value']:>10.3g}")
    lr = cox["lr_test"]
    lines.append(f"likelihood-ratio test: chi2 = {lr['statistic']:.3f}, df = {lr['df']}, p = {lr['p_value']:.3g}")
    return lines


def analytics_table(result: dict) -> str:
    """The survival JSON as a plain-text table (survival % and 95 % CI per horizon)."""
    lines = [f"Survival as of {result['as_of']}, endpoint {result['endpoint']}, "
             f"delayed entry {'on' if result['delayed_entry'] else 'off'}"
             + (f", by {result['group_by']}" if result["group_by"] else "")]
    header = f"{'group':<16}{'n':>7}{'events':>8}{'median':>8}"
    years = result.get("horizons_years") or [h["years"] for h in result["groups"][0]["horizons"]]
    header += "".join(f"{str(y) + ' y (95% CI) at risk':>30}" for y in years)
    lines.append(header)

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}"

    for g in result["groups"]:
        median = "-" if g["median_years"] is None else f"{g['median_years']:.2f}"
        row = f"{g['group'][:15]:<16}{g['n']:>7}{g['events']:>8}{median:>8}"
        for h in g["horizons"]:
            cell = f"{pct(h['survival'])} ({pct(h['ci_lower'])}-{pct(h['ci_upper'])}) {h['at_risk']}"
            row += f"{cell + ('*' if h.get('unstable') else ''):>30}"
        lines.append(row)
    for g in result["groups"]:
        if g.get("rmst"):
            r = g["rmst"]
            lines.append(f"{g['group']}: restricted mean survival to {r['tau']:g} years {r['years']:.2f} "
                         f"({r['ci_lower']:.2f}-{r['ci_upper']:.2f})")
    if result.get("cox"):
        lines.extend(_cox_lines(result["cox"]))
    if result.get("logrank"):
        lr = result["logrank"]
        if lr["statistic"] is None:
            lines.append(f"log-rank: not defined ({lr.get('reason')})")
        else:
            lines.append(f"log-rank: chi2 = {lr['statistic']:.3f}, df = {lr['df']}, p = {lr['p_value']:.3g}")
    lines.append("* fewer cases at risk than the stability threshold")
    return "\n".join(lines)


# --- report ------------------------------------------------------------------------------------

@click.group("report")
def report_group() -> None:
    """The annual survival report (PDF, XLSX, CSV or HTML); every edition is kept."""


REPORT_SUFFIXES = {".pdf": "pdf", ".xlsx": "xlsx", ".zip": "csv", ".csv": "csv", ".html": "html", ".htm": "html"}


@report_group.command("annual")
@click.argument("year", type=int)
@click.option("--format", "fmt", type=click.Choice(["pdf", "xlsx", "csv", "html"]),
              help="the file to write: pdf, xlsx, csv (a .zip of one CSV per table) or html; default: from --output, "
                   "else pdf (every format is kept with the edition)")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="file to write (default: the edition's file name in the current folder)")
@click.option("--as-of", "as_of", help="reference date YYYY-MM-DD (default: YEAR-12-31)")
@click.option("--lang", "language", type=click.Choice(["en", "fr", "it", "es"]), default="en", show_default=True,
              help="language of the report (an edition may exist in several languages, with the same figures)")
@with_appcontext
def report_annual(year: int, fmt: str | None, output: Path | None, as_of: str | None, language: str) -> None:
    """Publish the annual survival report for YEAR (all federations) as an official edition in
    every format, and write one of them to --output. With data unchanged since the latest
    edition, that edition is offered instead of a new number; a new edition lists what changed."""
    from datetime import date

    from tracker.reports.build.inputs import STAGES, InvalidReportRequest
    from tracker.reports.changes import change_text
    from tracker.reports.editions import FORMATS, generate_edition

    fmt = fmt or (REPORT_SUFFIXES.get(output.suffix.lower(), "pdf") if output else "pdf")
    try:
        reference = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        fail(f"--as-of: '{as_of}' is not a date in the form YYYY-MM-DD")
    try:
        with click.progressbar(length=len(STAGES) + len(FORMATS), label="Annual report", file=sys.stderr,
                               item_show_func=lambda stage: stage) as bar:
            generated = generate_edition(None, year, fmt, reference, language=language,
                                         progress=lambda stage: bar.update(1, stage))
        edition, file = generated.edition, generated.file(fmt, language)
        target = output or Path(file.filename)
        partial = target.with_name(target.name + ".partial")  # never a truncated report at --output
        partial.write_bytes(file.content)
        partial.replace(target)
    except InvalidReportRequest as exc:
        fail(f"{'YEAR' if exc.field == 'year' else '--' + exc.field.replace('_', '-')}: {exc.message}")
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
    if generated.reused:
        click.echo(f"No change since edition {edition.number} of {year} (same data, application version and "
                   "reference date): that edition is offered, no new number was taken.")
    click.echo(f"Annual report {year}, edition {edition.number} (all federations, reference date "
               f"{edition.as_of.isoformat()}, {language}): {FORMATS[fmt].label}, {file.file_size:,} bytes, "
               f"written to {target}.")
    click.echo(f"Application {edition.app_version}; data fingerprint {edition.fingerprint}.")
    if not generated.reused:
        for change in edition.changes:
            click.echo(f"  - {change_text(change, (edition.number or 1) - 1)}")


# --- backups (added to Flask-Migrate's `db` group) ---------------------------------------------

@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def db_backup(path: str) -> None:
    """Write a consistent backup of the database to PATH (SQLite online backup; pg_dump for PostgreSQL)."""
    from pathlib import Path

    from tracker.services.ops import backup

    try:
        target = backup.backup(db.engine.url, Path(path))
    except backup.BackupError as exc:
        fail(exc.message)
    click.echo(f"Backup written to {target} ({target.stat().st_size:,} bytes).")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@with_appcontext
def db_restore(path: str, yes: bool) -> None:
    """Replace the database with the backup in PATH. Stop the application first. The restore is
    recorded in the restored database's audit trail."""
    from pathlib import Path

    from tracker.services.analytics import data_version
    from tracker.services.casework import audit
    from tracker.services.ops import backup

    if not yes:
        click.confirm(f"Replace {db.engine.url.render_as_string(hide_password=True)} with {path}?", abort=True)
    described = backup.describe(Path(path))
    db.session.remove()
    db.engine.dispose()
    try:
        backup.restore(db.engine.url, Path(path))
    except backup.BackupError as exc:
        fail(exc.message)
    data_version.new_epoch()
    audit.record_event("restore", {key: [None, value] for key, value in described.items()},
                       context=f"tracker db restore by {_os_user()}")
    db.session.commit()
    click.echo(f"Database restored from {path}; the restore is recorded in its audit trail.")


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid {os.getuid()}"


def register_commands(app: Flask) -> None:
    from flask_migrate.cli import db as migrate_db_group

    migrate_db_group.add_command(db_backup)
    migrate_db_group.add_command(db_restore)
    for group in (federations_group, users_group, baselines_group, quickstart, survival, cases_group,
                  report_group):
        app.cli.add_command(group)


__all__ = ["Federation", "main", "register_commands"]
