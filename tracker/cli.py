"""Command-line interface: `tracker` (= `flask --app tracker`). Thin commands calling services;
each prints a summary and exits non-zero on failure.

Messages, prompts and help texts are in the language of `TRACKER_LANG` (e.g. `fr`), else in the
instance's `BABEL_DEFAULT_LOCALE` (tracker.i18n); what scripts read stays the same in every
language: JSON and CSV, the tab-separated listings (codes, not labels) and the exit statuses.
Help texts are marked with `N_` and translated when the app registers the commands."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from tracker import vocabulary
from tracker.extensions import db
from tracker.i18n import DEFAULT_LANGUAGE, N_, cli_language, format_date, format_number
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
        click.secho(f"Error: {message}", fg="red", err=True)  # maybe no app, so no catalogue: English
        ctx.exit(1)


@click.group(cls=TrackerGroup, create_app=_create_app, add_default_commands=True,
             add_version_option=False,
             help=N_("Transfer Tracker: case logging and survival analysis of enterprises transferred to employees."))
def main() -> None:
    pass


def error(message: str) -> None:
    """One error line on stderr, in the CLI's language."""
    click.secho(_("Error: %(message)s", message=message), fg="red", err=True)


def fail(message: str) -> NoReturn:
    db.session.rollback()
    error(message)
    sys.exit(1)


def _no_federation(code: str) -> NoReturn:
    fail(_("no federation with code '%(code)s'", code=code))


# --- federations -------------------------------------------------------------------------------

@click.group("federations", help=N_("Member federations."))
def federations_group() -> None:
    pass


@federations_group.command("add", help=N_("Add a federation CODE named NAME."))
@click.argument("code")
@click.argument("name")
@click.option("--country", required=True, help=N_("ISO 3166-1 alpha-2 country code"))
@with_appcontext
def federations_add(code: str, name: str, country: str) -> None:
    try:
        fed = federation_service.create_federation(None, code=code, name=name, country=country)
    except DomainError as exc:
        fail(exc.message)
    db.session.commit()
    click.echo(_("Federation %(code)s (%(name)s, %(country)s) added.", code=fed.code, name=fed.name,
                 country=fed.country))


@federations_group.command("list", help=N_("List federations: code, country, name (tab-separated)."))
@with_appcontext
def federations_list() -> None:
    for fed in federation_service.list_federations():
        click.echo(f"{fed.code}\t{fed.country}\t{fed.name}{'' if fed.active else '  (inactive)'}")


# --- users -------------------------------------------------------------------------------------

@click.group("users", help=N_("Accounts (there is no self-registration)."))
def users_group() -> None:
    pass


@users_group.command("create", help=N_("Create a user. The password is read from stdin when piped, else prompted "
                                       "(never an argument)."))
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--federation", "federation_code", help=N_("federation CODE (staff only)"))
@with_appcontext
def users_create(email: str, role: str, federation_code: str | None) -> None:
    federation = None
    if federation_code:
        federation = federation_service.get_by_code(federation_code)
        if federation is None:
            _no_federation(federation_code)
    password = read_password()
    try:
        user = user_service.create_user(None, email, password, role, federation)
    except DomainError as exc:
        fail(exc.message)
    db.session.commit()
    if federation is not None:
        click.echo(_("User %(email)s (%(role)s, %(federation)s) created.", email=user.email, role=user.role.value,
                     federation=federation.code))
    else:
        click.echo(_("User %(email)s (%(role)s) created.", email=user.email, role=user.role.value))


def read_password() -> str:
    stdin = sys.stdin
    if not stdin.isatty():
        password = stdin.readline().rstrip("\r\n")
        if not password:
            fail(_("no password on stdin"))
        return password
    return click.prompt(_("Password"), hide_input=True,
                        confirmation_prompt=_("Repeat for confirmation"))


@users_group.command("list", help=N_("List users: email, role, federation, active or inactive (tab-separated)."))
@with_appcontext
def users_list() -> None:
    for user in user_service.list_users():
        fed = user.federation.code if user.federation else "-"
        click.echo(f"{user.email}\t{user.role.value}\t{fed}\t{'active' if user.active else 'inactive'}")


# --- baselines ---------------------------------------------------------------------------------

@click.group("baselines", help=N_("National business-survival baselines (published figures with sources)."))
def baselines_group() -> None:
    pass


@baselines_group.command("import", help=N_("Import (upsert) baseline figures from FILE, or the shipped "
                                           "tracker/data/baselines.csv."))
@click.argument("file", type=click.Path(exists=True, dir_okay=False), required=False)
@with_appcontext
def baselines_import(file: str | None) -> None:
    from pathlib import Path

    from tracker.services.analytics import baselines

    data = Path(file).read_bytes() if file else baselines.shipped_baselines()
    result = baselines.import_baselines(None, data, source=Path(file).name if file else "shipped baselines.csv")
    if result.problems:
        for problem in result.problems[:200]:
            click.echo(problem, err=True)
        fail(ngettext("%(num)d problem; nothing imported", "%(num)d problems; nothing imported",
                      len(result.problems)))
    db.session.commit()
    click.echo(_("Baselines: %(created)s created, %(updated)s updated, %(unchanged)s unchanged.",
                 created=result.created, updated=result.updated, unchanged=result.unchanged))


@baselines_group.command("list", help=N_("List baseline figures with their source (tab-separated, with a header)."))
@click.option("--series", help=N_("only this series (e.g. insee-sine)"))
@click.option("--country", help=N_("only this country code"))
@with_appcontext
def baselines_list(series: str | None, country: str | None) -> None:
    from tracker.services.analytics import baselines

    rows = baselines.list_baselines(series, country)
    click.echo("series\tcountry\tregion\tsector\tcohort\thorizon\tsurvival_pct\tpublisher\turl")
    for b in rows:
        click.echo(f"{b.series}\t{b.country}\t{b.region or '-'}\t{b.sector}\t{b.cohort_year}\t{b.horizon_years}"
                   f"\t{b.survival_pct:g}\t{b.publisher}\t{b.url or ''}")
    click.echo(ngettext("%(num)d figure.", "%(num)d figures.", len(rows)), err=True)


# --- quickstart --------------------------------------------------------------------------------

@click.command("quickstart", help=N_("Create the database (migrations), load baselines and demo data, print the "
                                     "demo logins, serve."))
@click.option("--cases-per-federation", default=100, show_default=True, type=click.IntRange(1, 100_000),
              help=N_("demo cases to create in each demo federation"))
@click.option("--serve/--no-serve", default=True, help=N_("serve the app on 127.0.0.1 after setting up"))
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535),
              help=N_("port to serve on"))
@with_appcontext
def quickstart(cases_per_federation: int, serve: bool, port: int) -> None:
    from flask import current_app
    from flask_migrate import upgrade

    from tracker.services.ops.demo import DEMO_PASSWORD
    from tracker.services.ops.quickstart import demo_logins, seed_demo

    click.echo(_("Database: %(url)s", url=db.engine.url.render_as_string(hide_password=True)))
    upgrade()
    if seed_demo(cases_per_federation):
        db.session.commit()
        click.echo(_("Loaded national baselines and demo federations, users and cases."))
    else:
        click.echo(_("Database already has data; left it as it is."))
    click.echo("\n" + _("Demo logins (password for all: %(password)s):", password=DEMO_PASSWORD))
    for login in demo_logins():
        click.echo(f"  {login.email:<26} {login.role:<11} {login.federation or ''}")
    if serve:
        from werkzeug.serving import run_simple

        url = f"http://127.0.0.1:{port}/"
        click.echo("\n" + _("Serving on %(url)s  (Ctrl+C to stop)", url=url))
        # Not app.run(): Flask ignores it inside a `flask`/`tracker` CLI command (FLASK_RUN_FROM_CLI).
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # a proxy, typed as the Flask it stands for
        run_simple("127.0.0.1", port, app, use_reloader=False, use_debugger=False, threaded=True)


# --- cases -------------------------------------------------------------------------------------

MAX_PROBLEM_LINES = 200
PROGRESS_MIN_ROWS = 1000


@click.group("cases", help=N_("Cases: import and export in the CSV/XLSX schema of docs/design.md."))
def cases_group() -> None:
    pass


@cases_group.command("import", help=N_(
    "Import cases from FILE (CSV or XLSX), of any size: streamed, in one transaction, all or nothing: on any "
    "problem, every problem is listed as `row R, column C: message` (on stderr), nothing is written and the exit "
    "status is 1. Rows that look like cases already registered (the same national id in the same country, or the "
    "same name in the same country and transfer year, in any federation) are listed too, and stop the import until "
    "confirmed with --confirm-distinct, as in the web app."))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--federation", "federation_code", required=True, help=N_("federation CODE the cases belong to"))
@click.option("--dry-run", is_flag=True, help=N_("validate and report only; write nothing"))
@click.option("--confirm-distinct", is_flag=True,
              help=N_("the possible duplicates reported are different enterprises: import, and remember them as "
                      "such"))
@with_appcontext
def cases_import(file: Path, federation_code: str, dry_run: bool, confirm_distinct: bool) -> None:
    from tracker.services.spreadsheets import bulk, imports

    federation = federation_service.get_by_code(federation_code)
    if federation is None:
        _no_federation(federation_code)
    try:
        with _StageProgress() as progress:  # any size, streamed, one transaction (services.spreadsheets.bulk)
            result = bulk.import_file(None, federation, file, dry_run=dry_run, progress=progress,
                                      confirm_distinct=confirm_distinct)
    except imports.UnconfirmedDuplicates as exc:
        db.session.rollback()
        _echo_duplicates(exc.pairs)
        fail(ngettext("%(num)d possible duplicate in %(file)s; nothing was imported. Correct the file, or run "
                      "again with --confirm-distinct if they are different enterprises.",
                      "%(num)d possible duplicates in %(file)s; nothing was imported. Correct the file, or run "
                      "again with --confirm-distinct if they are different enterprises.",
                      len(exc.pairs), file=file.name))
    except DomainError as exc:
        fail(exc.message)
    except Exception:
        db.session.rollback()
        raise
    if result.problems:
        for problem in result.problems[:MAX_PROBLEM_LINES]:
            click.echo(str(problem), err=True)
        if len(result.problems) > MAX_PROBLEM_LINES:
            click.echo(_("... and %(count)s more", count=len(result.problems) - MAX_PROBLEM_LINES), err=True)
        fail(ngettext("%(num)d problem in %(file)s; nothing was imported.",
                      "%(num)d problems in %(file)s; nothing was imported.", len(result.problems), file=file.name))
    if result.duplicates:
        _echo_duplicates(result.duplicates)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    _echo_import_summary(result, file, federation, dry_run)


def _echo_import_summary(result: Any, file: Path, federation: Federation, dry_run: bool) -> None:
    """One line: what was written (or would be), and the possible duplicates confirmed (or to confirm)."""
    counts: dict[str, Any] = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged,
                              "file": file.name, "federation": federation.code}
    pairs = len(result.duplicates)
    if dry_run:
        line = ngettext("dry run: would create %(created)s, update %(updated)s, leave %(unchanged)s unchanged "
                        "(%(num)s row, no problems); nothing written.",
                        "dry run: would create %(created)s, update %(updated)s, leave %(unchanged)s unchanged "
                        "(%(num)s rows, no problems); nothing written.", result.rows, **counts)
        if pairs:
            line += " " + ngettext("%(num)s possible duplicate to confirm.", "%(num)s possible duplicates to confirm.",
                                   pairs)
    else:
        line = ngettext("%(created)s created, %(updated)s updated, %(unchanged)s unchanged (%(num)s row from "
                        "%(file)s into %(federation)s).",
                        "%(created)s created, %(updated)s updated, %(unchanged)s unchanged (%(num)s rows from "
                        "%(file)s into %(federation)s).", result.rows, **counts)
        if pairs:
            line += " " + ngettext("%(num)s possible duplicate confirmed distinct.",
                                   "%(num)s possible duplicates confirmed distinct.", pairs)
    click.echo(line)


def _echo_duplicates(pairs: Any) -> None:
    """One line per possible duplicate on stderr: the file's row and the registered case it resembles."""
    codes = dict(db.session.execute(select(Federation.id, Federation.code)).all())

    def side(identity: Any) -> str:
        where = _("row %(row)s", row=identity.row) if identity.row else _("case %(id)s", id=identity.id)
        return f"{where} {identity.ref} '{identity.name}' ({codes.get(identity.federation_id, '?')})"

    for pair in list(pairs)[:MAX_PROBLEM_LINES]:
        click.echo(_("possible duplicate: %(case)s and %(other)s: %(reasons)s", case=side(pair.case),
                     other=side(pair.other), reasons="; ".join(pair.reasons)), err=True)
    if len(pairs) > MAX_PROBLEM_LINES:
        click.echo(_("... and %(count)s more", count=len(pairs) - MAX_PROBLEM_LINES), err=True)


class _StageProgress:
    """A click progress bar on stderr per import stage (validating, writing; importing in the bulk
    import), for large files only."""

    LABELS = {"validating": N_("Validating"), "writing": N_("Writing"), "exporting": N_("Exporting"),
              "importing": N_("Importing")}

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
            label = _(self.LABELS[stage]) if stage in self.LABELS else stage.capitalize()
            self._bar = click.progressbar(length=total, label=label, file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(done - self._shown)
        self._shown = done

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


@cases_group.command("export", help=N_("Export the cases (not deleted) to FILE in the import schema: CSV or XLSX "
                                        "by its extension."))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--federation", "federation_code", help=N_("only this federation's cases (default: all)"))
@with_appcontext
def cases_export(file: Path, federation_code: str | None) -> None:
    from tracker.services.spreadsheets import exports

    fmt = file.suffix.lower().lstrip(".")
    if fmt not in exports.FORMATS:
        fail(_("%(file)s: the file name must end in .csv or .xlsx", file=file.name))
    federation = None
    if federation_code:
        federation = federation_service.get_by_code(federation_code)
        if federation is None:
            _no_federation(federation_code)
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
    click.echo(ngettext("Exported %(num)d case to %(file)s.", "Exported %(num)d cases to %(file)s.", count,
                        file=str(file)))


@cases_group.command("census", help=N_(
    "Write the census sheet to --output: every case open on the census date, an exit recorded after it filled "
    "in, to complete and upload back on the follow-up page (the sheet the page downloads). Every federation "
    "unless --federation. A bad option exits 2 with its message."))
@click.option("--federation", "federation_code", help=N_("only this federation's cases (default: every federation)"))
@click.option("--census-date", "census_date", metavar="YYYY-MM-DD",
              help=N_("the census date (default: 31 December of last year)"))
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]),
              help=N_("csv or xlsx (default: from the extension of --output, else xlsx)"))
@click.option("-o", "--output", required=True, help=N_("the file to write"))
@with_appcontext
def cases_census(federation_code: str | None, census_date: str | None, fmt: str | None, output: str) -> None:
    from tracker.services.casework import completeness
    from tracker.services.spreadsheets import status_import

    def refuse(option: str, message: str) -> NoReturn:
        db.session.rollback()
        error(_("%(label)s: %(text)s", label=option, text=message))
        sys.exit(2)

    federation = None
    if federation_code:
        federation = federation_service.get_by_code(federation_code)
        if federation is None:
            refuse("--federation", _("no federation with code '%(code)s'", code=federation_code))
    try:
        day = completeness.census_date(census_date)
    except completeness.InvalidCensusDate as exc:
        refuse("--census-date", exc.message)
    target = Path(output)
    fmt = fmt or ("csv" if target.suffix.lower() == ".csv" else "xlsx")
    partial = target.with_name(target.name + ".partial")  # never a truncated sheet at --output
    try:
        fh = partial.open("wb")
    except OSError as exc:
        refuse("--output", _("cannot write %(file)s: %(reason)s", file=output, reason=exc.strerror or exc))
    try:
        with fh:
            count = status_import.write_status_check(fh, None, fmt, federation.id if federation else None,
                                                     census_date=day)
        partial.replace(target)
    except DomainError as exc:
        partial.unlink(missing_ok=True)
        fail(exc.message)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        refuse("--output", _("cannot write %(file)s: %(reason)s", file=output, reason=exc.strerror or exc))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        db.session.rollback()  # read-only: end the transaction
    click.echo(ngettext("%(num)d case open on %(date)s (%(scope)s) written to %(file)s.",
                        "%(num)d cases open on %(date)s (%(scope)s) written to %(file)s.", count,
                        date=format_date(day), scope=federation.code if federation else _("every federation"),
                        file=output))


# --- survival ----------------------------------------------------------------------------------

@click.command("survival", help=N_(
    "Kaplan-Meier survival of the transferred enterprises (docs/design.md, \"Survival definitions\"), with the "
    "median's CI, the restricted mean, the annual hazard, pairwise tests and, on request, a Cox model or the "
    "competing outcomes. A bad option exits 2 with its message."))
@click.option("--as-of", "as_of", help=N_("analysis date YYYY-MM-DD (default: today)"))
@click.option("--endpoint", type=click.Choice(["enterprise", "cooperative"]), default="enterprise", show_default=True,
              help=N_("enterprise: a closure is the event (a sale or merger ends the follow-up); cooperative: "
                      "every exit is the event"))
@click.option("--group-by", "group_by", metavar="FIELD[,FIELD]",
              help=N_("transfer_type, country, nace_section, cohort, federation, size_class or age_band; "
                      "two joined by a comma"))
@click.option("--horizons", default="1,2,3,4,5", show_default=True, help=N_("whole years, comma-separated"))
@click.option("--no-delayed-entry", is_flag=True, help=N_("enter every case at its transfer (no left truncation)"))
@click.option("--where", "where", multiple=True, metavar="FIELD=VALUE", help=N_("filter; repeat to combine"))
@click.option("--cohort-bands", help=N_("group cohorts in bands, e.g. 2000-2007,2008-2014"))
@click.option("--no-baselines", is_flag=True, help=N_("leave out expected and relative survival"))
@click.option("--rmst-tau", "rmst_tau", metavar="YEARS",
              help=N_("restriction time of the restricted mean survival time (years > 0, default 5)"))
@click.option("--model", metavar="cox", help=N_("fit a model on the selection: cox (proportional hazards)"))
@click.option("--covariates", metavar="F1[,F2...]",
              help=N_("the model's covariates: grouping fields, log_employees, age_at_transfer"))
@click.option("--competing", is_flag=True,
              help=N_("print the competing outcomes (closure, loss of the cooperative form) instead, as "
                      "GET /api/v1/survival/competing"))
@click.option("--microdata", "microdata_path", metavar="FILE.zip", type=click.Path(dir_okay=False, writable=True),
              help=N_("write the selection's anonymised microdata (CSV, Stata .dta, codebook, README) to this zip "
                      "instead, as GET /api/v1/microdata"))
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="table", show_default=True,
              help=N_("table: for reading, in the language of the command line; json: the API's JSON"))
@with_appcontext
def survival(as_of: str | None, endpoint: str, group_by: str | None, horizons: str, no_delayed_entry: bool,
             where: tuple[str, ...], cohort_bands: str | None, no_baselines: bool, rmst_tau: str | None,
             model: str | None, covariates: str | None, competing: bool, microdata_path: str | None,
             fmt: str) -> None:
    import json

    from tracker.services.analytics import queries as analytics

    params = {"as_of": as_of, "endpoint": endpoint, "group_by": group_by, "horizons": horizons,
              "delayed_entry": "false" if no_delayed_entry else None, "cohort_bands": cohort_bands,
              "baselines": "false" if no_baselines else None, "where": list(where), "rmst_tau": rmst_tau,
              "model": model, "covariates": covariates}
    try:
        query = analytics.SurvivalQuery.from_params(params)
        if microdata_path:
            if competing or model:
                raise analytics.InvalidParameter("competing" if competing else "model",
                                                 _("the microdata are the selection's cases: no model or "
                                                   "competing outcomes with --microdata"))
            from tracker.services.analytics.microdata import microdata

            written = microdata(None, query)
            Path(microdata_path).write_bytes(written.content)
            click.echo(ngettext("%(n)s case written to %(path)s (edition %(edition)s)",
                                "%(n)s cases written to %(path)s (edition %(edition)s)", written.rows, n=written.rows,
                                path=microdata_path, edition=written.edition))
            return
        if competing:
            if model:
                raise analytics.InvalidParameter("model", _("the competing outcomes take no model"))
            result = analytics.competing_report(None, query)
        else:
            result = analytics.survival_json(None, query)
    except analytics.InvalidParameter as exc:
        db.session.rollback()
        error(_("%(label)s: %(text)s", label=f"--{exc.name.replace('_', '-')}", text=exc.message))
        sys.exit(2)
    if fmt == "json":
        click.echo(json.dumps(result, indent=1))
    elif competing:
        click.echo(competing_table(result))
    else:
        click.echo(analytics_table(result))


def _decimal(text: str) -> str:
    """A number written by a format spec, with the decimal sign of the CLI's language."""
    from babel.numbers import get_decimal_symbol
    from flask_babel import get_locale

    return text.replace(".", get_decimal_symbol(get_locale() or "en"))


def _pct(value: float | None) -> str:
    return "-" if value is None else _decimal(f"{100 * value:.1f}")


def _columns(*columns: tuple[str, int]) -> str:
    """Column headings, right-aligned to their width (left-aligned for a negative width)."""
    return "".join(f"{text:<{-width}}" if width < 0 else f"{text:>{width}}" for text, width in columns)


def _heading(result: dict, title: str) -> str:
    parts = [title]
    if "endpoint" in result:
        parts.append(_("endpoint: %(endpoint)s", endpoint=vocabulary.label(vocabulary.ENDPOINTS_SHORT,
                                                                             result["endpoint"])))
    if "delayed_entry" in result:
        parts.append(_("with delayed entry") if result["delayed_entry"] else _("without delayed entry"))
    if result.get("group_by"):
        parts.append(_("by %(field)s", field=result["group_by"]))
    return ", ".join(parts)


def competing_table(result: dict) -> str:
    """The competing-outcomes JSON as text: cumulative incidence (%) with 95 % CI per horizon, in
    the CLI's language (group names and fields are the JSON's codes)."""
    lines = [_heading(result, _("Competing outcomes as of %(date)s", date=format_date(result["as_of"]))),
             _columns((_("group"), -24), (_("years"), 6), (_("closure % (95% CI)"), 26),
                      (_("loss % (95% CI)"), 26), (_("at risk"), 9))]
    for g in result["groups"]:
        for h in g["horizons"]:
            closure = f"{_pct(h['closure'])} ({_pct(h['closure_ci']['lower'])}-{_pct(h['closure_ci']['upper'])})"
            loss = f"{_pct(h['loss'])} ({_pct(h['loss_ci']['lower'])}-{_pct(h['loss_ci']['upper'])})"
            lines.append(f"{g['group'][:23]:<24}{h['years']:>6}{closure:>26}{loss:>26}{h['at_risk']:>9}")
    return "\n".join(lines)


def _cox_lines(cox: dict) -> list[str]:
    if "error" in cox:
        return [_("Cox model: not fitted: %(reason)s", reason=cox["error"])]
    lines = [_("Cox model (Efron ties): n = %(n)s, events = %(events)s, left out for a missing covariate: "
               "%(missing)s", n=cox["n"], events=cox["events"], missing=cox["excluded"]["missing_covariate"]),
             _columns((_("term"), -36), (_("HR"), 8), (_("95% CI"), 18), ("p", 10))]
    for t in cox["terms"]:
        name = t["covariate"] if t["level"] is None else f"{t['covariate']}={t['level']} vs {t['reference']}"
        numbers = _decimal(f"{t['hazard_ratio']:>8.3f}{t['ci_lower']:>9.3f}-{t['ci_upper']:<8.3f}{t['p_value']:>10.3g}")
        lines.append(f"{name[:35]:<36}{numbers}")
    lr = cox["lr_test"]
    lines.append(_("likelihood-ratio test: chi2 = %(chi2)s, df = %(df)s, p = %(p)s",
                   chi2=_decimal(f"{lr['statistic']:.3f}"), df=lr["df"], p=_decimal(f"{lr['p_value']:.3g}")))
    return lines


MATCHES_SHOWN = 6


def _baseline_lines(result: dict) -> list[str]:
    """Expected and relative survival per group, which curves the cases were compared with and
    why, where the curves stop, and the sources."""

    lines: list[str] = []
    for g in result["groups"]:
        b = g.get("baseline")
        if not b or not b["matches"]:
            continue
        cells = ", ".join(f"{e['years']} y {_pct(e['survival'])} / {_pct(r['survival'])}"
                          for e, r in zip(b["expected"], b["relative"], strict=True))
        lines.append(_("%(group)s: expected / relative survival (%%): %(cells)s", group=g["group"], cells=cells))
        reasons = {e["reason"] for e in b["expected"] if e.get("reason")}
        lines.extend(f"  {reason}" for reason in sorted(reasons))  # the JSON's words (machine-readable)
        for m in b["matches"][:MATCHES_SHOWN]:
            place = f"{m['country']}/{m['region']}" if m.get("region") else m["country"]
            curve = f"{m['series']} {place} {m['sector']} {m['cohort']}"
            lines.append("  " + ngettext("%(n)s case compared with %(curve)s (%(basis)s)",
                                         "%(n)s cases compared with %(curve)s (%(basis)s)", m["n"], n=m["n"],
                                         curve=curve, basis=m.get("basis", "")))
        if len(b["matches"]) > MATCHES_SHOWN:
            lines.append("  " + _("... and %(n)s more curves", n=len(b["matches"]) - MATCHES_SHOWN))
        if b.get("unmatched"):
            lines.append("  " + ngettext("%(n)s case without a baseline curve", "%(n)s cases without a baseline curve",
                                         b["unmatched"], n=b["unmatched"]))
    if lines and result.get("baseline_sources"):
        lines.append(_("Baseline sources:"))
        lines.extend(f"  {s['series']}: {s['publisher']}, {s['source_title']}"
                     + (f" <{s['url']}>" if s.get("url") else "") for s in result["baseline_sources"])
    return lines


def analytics_table(result: dict) -> str:
    """The survival JSON as a plain-text table (survival % and 95 % CI per horizon), in the CLI's
    language (group names and fields are the JSON's codes)."""
    lines = [_heading(result, _("Survival as of %(date)s", date=format_date(result["as_of"])))]
    years = result.get("horizons_years") or [h["years"] for h in result["groups"][0]["horizons"]]
    header = _columns((_("group"), -16), ("n", 7), (_("events"), 8), (_("median"), 8),
                      *((_("%(years)s y (95%% CI) at risk", years=y), 30) for y in years))
    lines.append(header)
    for g in result["groups"]:
        median = "-" if g["median_years"] is None else _decimal(f"{g['median_years']:.2f}")
        row = f"{g['group'][:15]:<16}{g['n']:>7}{g['events']:>8}{median:>8}"
        for h in g["horizons"]:
            cell = f"{_pct(h['survival'])} ({_pct(h['ci_lower'])}-{_pct(h['ci_upper'])}) {h['at_risk']}"
            row += f"{cell + ('*' if h.get('unstable') else ''):>30}"
        lines.append(row)
    for g in result["groups"]:
        if g.get("rmst"):
            r = g["rmst"]
            lines.append(_("%(group)s: restricted mean survival to %(tau)s years %(years)s (%(lower)s-%(upper)s)",
                           group=g["group"], tau=_decimal(f"{r['tau']:g}"), years=_decimal(f"{r['years']:.2f}"),
                           lower=_decimal(f"{r['ci_lower']:.2f}"), upper=_decimal(f"{r['ci_upper']:.2f}")))
    lines.extend(_baseline_lines(result))
    if result.get("cox"):
        lines.extend(_cox_lines(result["cox"]))
    if result.get("logrank"):
        lr = result["logrank"]
        if lr["statistic"] is None:
            lines.append(_("log-rank: not defined (%(reason)s)", reason=lr.get("reason")))
        else:
            lines.append(_("log-rank: chi2 = %(chi2)s, df = %(df)s, p = %(p)s", chi2=_decimal(f"{lr['statistic']:.3f}"),
                           df=lr["df"], p=_decimal(f"{lr['p_value']:.3g}")))
    lines.append(_("* fewer cases at risk than the stability threshold"))
    return "\n".join(lines)


# --- report ------------------------------------------------------------------------------------

@click.group("report", help=N_("The annual survival report (PDF, XLSX, CSV or HTML); every edition is kept."))
def report_group() -> None:
    pass


REPORT_SUFFIXES = {".pdf": "pdf", ".xlsx": "xlsx", ".zip": "csv", ".csv": "csv", ".html": "html", ".htm": "html"}


@report_group.command("annual", help=N_(
    "Publish the annual survival report for YEAR (all federations) as an official edition in every format, and "
    "write one of them to --output. With data unchanged since the latest edition, that edition is offered instead "
    "of a new number; a new edition lists what changed."))
@click.argument("year", type=int)
@click.option("--format", "fmt", type=click.Choice(["pdf", "xlsx", "csv", "html"]),
              help=N_("the file to write: pdf, xlsx, csv (a .zip of one CSV per table) or html; default: from "
                      "--output, else pdf (every format is kept with the edition)"))
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help=N_("file to write (default: the edition's file name in the current folder)"))
@click.option("--as-of", "as_of", help=N_("reference date YYYY-MM-DD (default: YEAR-12-31)"))
@click.option("--lang", "language", type=click.Choice(["en", "fr", "it", "es"]),
              help=N_("language of the report (an edition may exist in several languages, with the same figures); "
                      "default: the instance's language (BABEL_DEFAULT_LOCALE)"))
@with_appcontext
def report_annual(year: int, fmt: str | None, output: Path | None, as_of: str | None, language: str | None) -> None:
    from datetime import date

    from babel import Locale

    from tracker.reports.build.inputs import STAGES, InvalidReportRequest
    from tracker.reports.changes import change_text
    from tracker.reports.editions import FORMATS, generate_edition
    from tracker.reports.jobs import stage_text

    language = language or current_app.config.get("BABEL_DEFAULT_LOCALE") or DEFAULT_LANGUAGE
    fmt = fmt or (REPORT_SUFFIXES.get(output.suffix.lower(), "pdf") if output else "pdf")
    try:
        reference = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        fail(_("--as-of: '%(value)s' is not a date in the form YYYY-MM-DD", value=as_of))
    console = str(get_locale() or DEFAULT_LANGUAGE)  # the report is built in its own language, the bar is not

    def show(stage: str | None) -> str | None:
        if stage is None:
            return None
        with force_locale(console):
            return stage_text(stage)

    try:
        with click.progressbar(length=len(STAGES) + len(FORMATS), label=_("Annual report"), file=sys.stderr,
                               item_show_func=show) as bar:
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
        click.echo(_("No change since edition %(number)s of %(year)s (same data, application version and reference "
                     "date): that edition is offered, no new number was taken.", number=edition.number, year=year))
    click.echo(_("Annual report %(year)s, edition %(number)s (all federations, reference date %(as_of)s, "
                 "%(language)s): %(format)s, %(size)s bytes, written to %(target)s.", year=year,
                 number=edition.number, as_of=format_date(edition.as_of),
                 language=Locale.parse(language).get_display_name(console),
                 format=FORMATS[fmt].label, size=format_number(file.file_size), target=str(target)))
    click.echo(_("Application %(version)s; data fingerprint %(fingerprint)s.", version=edition.app_version,
                 fingerprint=edition.fingerprint))
    if not generated.reused:
        for change in edition.changes:
            click.echo(f"  - {change_text(change, (edition.number or 1) - 1)}")


# --- backups (added to Flask-Migrate's `db` group) ---------------------------------------------

@click.command("backup", help=N_("Write a consistent backup of the database to PATH (SQLite online backup; "
                                 "pg_dump for PostgreSQL)."))
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def db_backup(path: str) -> None:
    from pathlib import Path

    from tracker.services.ops import backup

    try:
        target = backup.backup(db.engine.url, Path(path))
    except backup.BackupError as exc:
        fail(exc.message)
    click.echo(_("Backup written to %(path)s (%(size)s bytes).", path=str(target),
                 size=format_number(target.stat().st_size)))


@click.command("restore", help=N_("Replace the database with the backup in PATH. Stop the application first. The "
                                  "restore is recorded in the restored database's audit trail."))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help=N_("do not ask for confirmation"))
@with_appcontext
def db_restore(path: str, yes: bool) -> None:
    from pathlib import Path

    from tracker.services.analytics import data_version
    from tracker.services.casework import audit
    from tracker.services.ops import backup

    if not yes:
        click.confirm(_("Replace %(database)s with %(path)s?",
                        database=db.engine.url.render_as_string(hide_password=True), path=path), abort=True)
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
    click.echo(_("Database restored from %(path)s; the restore is recorded in its audit trail.", path=path))


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
    translate_help([main, migrate_db_group, *app.cli.commands.values()],
                   cli_language() or app.config.get("BABEL_DEFAULT_LOCALE") or "en")


#: Click's own words that a user of `tracker` meets (help pages, usage errors, prompts), so the
#: catalogues hold them; `translate_help` gives Click their translation (Click reads `_` from
#: `gettext` in each of its modules).
CLICK_MESSAGES = (N_("Usage:"), N_("Options"), N_("Commands"), N_("Show this message and exit."), N_("required"),
                  N_("default: {default}"), N_("Aborted!"), N_("Error: {message}"),
                  N_("Try '{command} {option}' for help."), N_("Missing argument"), N_("Missing option"),
                  N_("No such option {name!r}."), N_("No such command {name!r}."),
                  N_("Invalid value for {param_hint}: {message}"), N_("Repeat for confirmation"),
                  N_("Error: The two entered values do not match."))
_CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "termui", "types")


def translate_help(commands: list[click.Command], language: str) -> None:
    """Put the help texts of `commands` (and their subcommands and options) and Click's own words
    in `language`, from the catalogues; texts not in them (Flask's, Flask-Migrate's) stay as they
    are. Done again for each app, so it can be repeated in another language."""
    import gettext
    import importlib

    from babel.support import Translations

    translations = Translations.load(str(Path(__file__).parent / "translations"), [language])
    for name in _CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = gettext.gettext if language == "en" else translations.gettext  # type: ignore[attr-defined]
    seen: set[int] = set()
    todo = list(commands)
    while todo:
        command = todo.pop()
        if id(command) in seen:
            continue
        seen.add(id(command))
        for item in (command, *command.params):
            english = item.__dict__.setdefault("_english_help", getattr(item, "help", None))
            if english:
                setattr(item, "help", translations.gettext(english))  # noqa: B010  (a Parameter or a Command)
        if isinstance(command, click.Group):
            todo.extend(command.commands.values())


__all__ = ["Federation", "main", "register_commands"]
