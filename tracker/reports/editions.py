"""Editions of the annual report: generate (assemble, compare with the previous edition, render
every format, keep), list and fetch.

An edition is one data snapshot (its fingerprint, the application version and the reference
date) published in every format together under one number. Generating again with nothing
changed offers the existing edition (adding the files of a language it did not have yet: the
same figures, written in another language). Only admins (and the operator at the command line)
publish official editions; staff and researchers get drafts, which take no number and say
"draft" on every page.

Numbers are allocated under a lock that covers the check "is the latest edition still the one
this report was compared with?", the insert and the commit: a PostgreSQL advisory lock of the
transaction, or on SQLite an exclusive lock file in the instance folder (SQLite is always on this
machine). The slow part (building and rendering) runs outside the lock; a job that lost the race
renders again against the new latest edition. So `generate_edition` commits, unlike the
services: the allocation is its own transaction.
"""

from __future__ import annotations

import fcntl
import hashlib
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, text

from tracker.extensions import db
from tracker.models import Role, User
from tracker.models.base import utcnow
from tracker.models.report import SCOPE_ALL, ReportEdition, ReportFile
from tracker.reports.build.annual import build_annual
from tracker.reports.build.inputs import InvalidReportRequest, check_request
from tracker.reports.changes import describe_changes, figures_json
from tracker.reports.content import COMMAND_LINE, AnnualReport, EditionInfo
from tracker.services.permissions import Scope

ALLOCATION_ATTEMPTS = 5


@dataclass(frozen=True)
class Format:
    extension: str
    media_type: str
    label: Any  # a lazy string (the language of the page)


FORMATS = {
    "pdf": Format("pdf", "application/pdf", _l("PDF")),
    "xlsx": Format("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _l("Excel workbook")),
    "csv": Format("zip", "application/zip", _l("CSV files (zip)")),
    "html": Format("html", "text/html; charset=utf-8", _l("HTML page")),
}


@dataclass(frozen=True)
class Generated:
    """What generating gave: the edition (new or existing) and whether it was already there."""

    edition: ReportEdition
    reused: bool

    def file(self, fmt: str, language: str) -> ReportFile:
        found = self.edition.file(fmt, language)
        assert found is not None  # every format is rendered together
        return found


#: The stage of a job rendering format `key` (`tracker.reports.jobs.stage_text` writes it out).
RENDER_STAGE = "render:"


def render_stage(key: str) -> str:
    return RENDER_STAGE + key


def render(report: AnnualReport, fmt: str) -> bytes:
    if fmt == "pdf":
        from tracker.reports.render.pdf import render_pdf

        return render_pdf(report)
    if fmt == "xlsx":
        from tracker.reports.render.xlsx import render_xlsx

        return render_xlsx(report)
    if fmt == "csv":
        from tracker.reports.render.csv_zip import render_csv_zip

        return render_csv_zip(report)
    from tracker.reports.render.html import render_html

    return render_html(report).encode("utf-8")


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InvalidReportRequest(f"the format must be one of {', '.join(FORMATS)}, not {fmt!r}", "format")


def check_language(language: str) -> None:
    from tracker.i18n import LANGUAGES

    if language not in LANGUAGES:
        raise InvalidReportRequest(f"the language must be one of {', '.join(LANGUAGES)}, not {language!r}", "language")


def publishes_official(actor: User | None) -> bool:
    """Admins and the operator at the command line publish official editions; others get drafts."""
    return actor is None or actor.role == Role.ADMIN


def generate_edition(actor: User | None, year: int, fmt: str = "pdf", as_of: date | None = None, *,
                     language: str = "en", today: date | None = None,
                     progress: Callable[[str], None] | None = None) -> Generated:
    """Build the report for what `actor` may see (None: all federations, as the command line),
    and keep it as an edition in every format, or offer the existing edition of the same data.
    `fmt` is the format the caller will hand out (checked here). Commits (see the module)."""
    check_format(fmt)
    check_language(language)
    check_request(year, as_of or date(year, 12, 31), today or date.today())  # in the caller's language
    step = progress or (lambda stage: None)
    official = publishes_official(actor)
    report = _build(actor, year, as_of, language, today, step)
    for _attempt in range(ALLOCATION_ATTEMPTS):
        existing = same_snapshot(report, official)
        if existing is not None:
            return Generated(_with_language(existing, report, language, step), reused=True)
        previous = latest_edition(year, report.scope) if official else None
        info = _edition_info(actor, report, previous, official)
        files = _render_all(replace(report, edition=info), language, step)
        with allocation_lock(year, report.scope):
            if same_snapshot(report, official) is not None or (
                    official and _number(latest_edition(year, report.scope)) != _number(previous)):
                db.session.rollback()
                continue  # another job published meanwhile: compare with it (or reuse it)
            edition = _edition_row(actor, report, info, files)
            db.session.add(edition)
            db.session.commit()
        return Generated(edition, reused=False)
    raise RuntimeError(f"no edition number could be allocated in {ALLOCATION_ATTEMPTS} attempts")


def _build(actor: User | None, year: int, as_of: date | None, language: str, today: date | None,
           step: Callable[[str], None]) -> AnnualReport:
    from flask_babel import force_locale

    with force_locale(language):
        return build_annual(actor, year, as_of, today=today, progress=step)


def _number(edition: ReportEdition | None) -> int | None:
    return edition.number if edition is not None else None


def _edition_info(actor: User | None, report: AnnualReport, previous: ReportEdition | None,
                  official: bool) -> EditionInfo:
    return EditionInfo(
        number=(previous.number or 0) + 1 if previous else 1 if official else None,
        generated_at=utcnow(), generated_by=actor.email if actor is not None else COMMAND_LINE,
        official=official,
        previous_number=previous.number if previous else None,
        previous_generated_at=previous.generated_at if previous else None,
        changes=tuple(describe_changes(previous.figures, previous.app_version, report)) if previous else ())


def _info_of(edition: ReportEdition) -> EditionInfo:
    previous = None
    if edition.official and edition.number and edition.number > 1:
        previous = db.session.scalars(select(ReportEdition).where(
            ReportEdition.year == edition.year, ReportEdition.scope == edition.scope,
            ReportEdition.number == edition.number - 1)).first()
    return EditionInfo(number=edition.number, generated_at=edition.generated_at,
                       generated_by=edition.generated_by.email if edition.generated_by else COMMAND_LINE,
                       official=edition.official, previous_number=previous.number if previous else None,
                       previous_generated_at=previous.generated_at if previous else None,
                       changes=tuple(edition.changes or ()))


def _render_all(report: AnnualReport, language: str, step: Callable[[str], None]) -> list[ReportFile]:
    from flask_babel import force_locale

    files = []
    with force_locale(language):
        from tracker.reports.render.html import render_html
        from tracker.reports.render.pdf import render_pdf

        html = render_html(report)  # once: the HTML file and the PDF's source
        for key, fmt in FORMATS.items():
            step(render_stage(key))
            content = html.encode("utf-8") if key == "html" else render_pdf(report, html) if key == "pdf" else \
                render(report, key)
            files.append(ReportFile(format=key, language=language, filename=file_name(report, key, language),
                                    media_type=fmt.media_type, file_size=len(content),
                                    file_sha256=hashlib.sha256(content).hexdigest(), content=content))
    return files


def file_name(report: AnnualReport, fmt: str, language: str) -> str:
    scope_part = "" if report.scope == SCOPE_ALL else f"-{report.scope.lower()}"
    info = report.edition
    which = f"edition-{info.number}" if info is not None and info.official and info.number else \
        f"draft-{report.fingerprint[:8]}"
    lang = "" if language == "en" else f"-{language}"
    return f"transfer-survival-{report.year}{scope_part}-{which}{lang}.{FORMATS[fmt].extension}"


def _edition_row(actor: User | None, report: AnnualReport, info: EditionInfo, files: list[ReportFile]) -> ReportEdition:
    return ReportEdition(
        year=report.year, scope=report.scope, number=info.number, official=info.official,
        federation_id=Scope.of(actor).federation_id, as_of=report.as_of, generated_at=info.generated_at,
        generated_by_id=actor.id if actor is not None else None, app_version=report.app_version,
        fingerprint=report.fingerprint, figures=figures_json(report), changes=list(info.changes), files=files)


def _with_language(edition: ReportEdition, report: AnnualReport, language: str,
                   step: Callable[[str], None]) -> ReportEdition:
    """The existing edition, with its files in `language` rendered now if it had none (the
    report was built in that language; the edition's own number, date and changes are kept)."""
    if language in edition.languages:
        return edition
    files = _render_all(replace(report, edition=_info_of(edition)), language, step)
    with allocation_lock(edition.year, edition.scope):
        db.session.refresh(edition)
        if language not in edition.languages:
            edition.files.extend(files)
        db.session.commit()
    return edition


def same_snapshot(report: AnnualReport, official: bool) -> ReportEdition | None:
    """An edition of the same data, application version and reference date (official, or a
    draft of the same scope), if there is one."""
    stmt = select(ReportEdition).where(
        ReportEdition.year == report.year, ReportEdition.scope == report.scope,
        ReportEdition.official.is_(official), ReportEdition.fingerprint == report.fingerprint,
        ReportEdition.app_version == report.app_version, ReportEdition.as_of == report.as_of)
    return db.session.scalars(stmt.order_by(ReportEdition.id.desc()).limit(1)).first()


def latest_edition(year: int, scope: str) -> ReportEdition | None:
    """The latest official edition of (year, scope)."""
    return db.session.scalars(select(ReportEdition).where(
        ReportEdition.year == year, ReportEdition.scope == scope, ReportEdition.number.is_not(None))
        .order_by(ReportEdition.number.desc()).limit(1)).first()


def last_edition(scope: str = SCOPE_ALL) -> ReportEdition | None:
    """The last official edition of `scope`, whatever its year: the newest year, its highest number."""
    return db.session.scalars(select(ReportEdition).where(
        ReportEdition.scope == scope, ReportEdition.number.is_not(None))
        .order_by(ReportEdition.year.desc(), ReportEdition.number.desc()).limit(1)).first()


@contextmanager
def allocation_lock(year: int, scope: str) -> Iterator[None]:
    """Held while an edition of (year, scope) is checked, inserted and committed."""
    if db.engine.dialect.name == "postgresql":
        key = zlib.crc32(f"report-edition:{year}:{scope}".encode())
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})  # until commit/rollback
        yield
        return
    path = Path(current_app.instance_path) / "report-editions.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def visible_editions(user: User) -> list[ReportEdition]:
    """Editions the user may download: staff their federation's, admins and researchers all.
    Official editions first (newest year, then number), then drafts (newest first)."""
    stmt = select(ReportEdition).order_by(ReportEdition.year.desc(), ReportEdition.official.desc(),
                                          ReportEdition.scope, ReportEdition.number.desc(),
                                          ReportEdition.id.desc())
    return list(db.session.scalars(Scope.of(user).restrict(stmt, ReportEdition.federation_id)))


def may_see(user: User, federation_id: int | None) -> bool:
    """Whether `user` may see an edition (or a report being generated) of that scope: staff their
    federation's only, admins and researchers all."""
    return Scope.of(user).may_see(federation_id)


def get_edition(user: User, edition_id: int) -> ReportEdition | None:
    """The edition if the user may see it (None otherwise: its existence is not disclosed)."""
    edition = db.session.get(ReportEdition, edition_id)
    return edition if edition is not None and may_see(user, edition.federation_id) else None


__all__ = ["FORMATS", "Generated", "InvalidReportRequest", "figures_json", "generate_edition", "get_edition",
           "last_edition", "latest_edition", "render", "visible_editions"]
