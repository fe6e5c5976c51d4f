"""What the pages of the cases blueprint share: loading a case the user may act on, putting a
service's errors next to their fields, federations for selects, describing duplicate pairs,
file downloads and the staged uploads of the import and the status check."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response

from tracker import vocabulary
from tracker.extensions import db
from tracker.i18n import format_datetime, format_number
from tracker.models import Case, Federation, User
from tracker.services.casework import duplicate_hints, duplicates
from tracker.services.casework.duplicates import PossibleDuplicate
from tracker.services.errors import DomainError, InvalidCase, NotFound
from tracker.services.permissions import Scope, require
from tracker.services.spreadsheets import exports, imports, staging
from tracker.web import current_actor

Form = Any  # a FlaskForm subclass instance

user = current_actor


def load_case(case_id: int, action: str) -> Case:
    """The case, if the user may `action` it: 404 for another federation's or a deleted case."""
    case = db.get_or_404(Case, case_id)
    require(user(), action, case)
    return case


def refuse_if_deleted(case: Case) -> None:
    if case.is_deleted:
        abort(409, description=_("Case %(ref)s is deleted; restore it before changing it.", ref=case.ref))


def show_errors(form: Form, exc: DomainError | dict[str, list[str]], keep_form_errors: bool = False) -> None:
    """Put each message of a domain error (or of an errors-by-field mapping) next to the field it
    names (form-level otherwise). With `keep_form_errors`, a field the form already found wrong
    keeps only the form's message (one message per problem)."""
    if isinstance(exc, dict):
        errors = exc
    else:
        errors = exc.errors if isinstance(exc, InvalidCase) else {exc.field or "": [exc.message]}
    for name, messages in errors.items():
        field = form._fields.get(name) if name else None
        if field is not None and name not in ("csrf_token", "version"):
            if not (keep_form_errors and field.errors):
                field.errors = [*field.errors, *messages]
        else:
            form.form_errors.extend(f"{name}: {m}" if name else m for m in messages)


def query_args() -> dict[str, Any]:
    """This request's query string (first value of each name), to redirect back to the same view."""
    return request.args.to_dict()


def federations(active_only: bool = False) -> list[tuple[int, str]]:
    stmt = select(Federation.id, Federation.code, Federation.name).order_by(Federation.code)
    if active_only:
        stmt = stmt.where(Federation.active.is_(True))
    return [(row.id, f"{row.code} — {row.name}") for row in db.session.execute(stmt)]


def federation_codes() -> dict[int, str]:
    return {row.id: row.code for row in db.session.execute(select(Federation.id, Federation.code))}



def describe_pairs(user: User | None, pairs: list[PossibleDuplicate], codes: dict[int, str]) -> list[dict[str, Any]]:
    """Pairs as templates show them (JSON-safe): a side the user may not see is only `visible: False`."""

    def side(identity: duplicates.CaseIdentity) -> dict[str, Any]:
        if not duplicates.visible_to(user, identity):
            return {"visible": False}
        return {"visible": True, "id": identity.id, "row": identity.row, "ref": identity.ref, "name": identity.name,
                "national_id": identity.national_id, "federation": codes.get(identity.federation_id, "?"),
                "year": identity.transfer_year}

    out = []
    for pair in pairs:
        this, other = side(pair.case), side(pair.other)
        both = this["visible"] and other["visible"]
        out.append({"case": this, "other": other, "reasons": list(pair.reasons) if both else [],
                    "similarity": pair.similarity if both else None,
                    "confirmable": both and pair.case.id is not None and pair.other.id is not None})
    return out


def hinted_pairs(user: User | None, pairs: list[PossibleDuplicate], valid: bool
                 ) -> tuple[list[PossibleDuplicate], bool]:
    """The pairs to show `user`, and whether hints about other federations were withheld because
    the daily allowance is spent (`duplicate_hints`): the pairs with another federation's case
    only when the file or form is otherwise `valid` and the allowance has room for all of them."""
    hidden = duplicate_hints.hidden(user, pairs)
    if not hidden:
        return pairs, False
    hidden_ids = {id(p) for p in hidden}
    shown = [p for p in pairs if id(p) not in hidden_ids]
    if not valid:
        return shown, False
    if duplicate_hints.take(user, len(hidden)):
        return pairs, False
    return shown, True


# --- export of the filtered list, blank template, help ----------------------------------------

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_FORMATS = "any(csv, xlsx)"


def download(content: bytes | Iterator[bytes], fmt: str, filename: str) -> Response:
    """A file download; `content` is bytes or an iterator of byte chunks (streamed CSV)."""
    mimetype = "text/csv; charset=utf-8" if fmt == "csv" else XLSX_MIMETYPE
    response = Response(content, mimetype=mimetype)
    # Names come partly from users (an uploaded file's name, a federation code): keep them header-safe.
    response.headers["Content-Disposition"] = f'attachment; filename="{secure_filename(filename) or "download"}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def value_labels() -> dict[str, Mapping[Any, str]]:
    return {"transfer_type": vocabulary.TRANSFER_TYPES, "exit_reason": vocabulary.EXIT_REASONS}


# --- staged uploads (import and status check) ------------------------------------------------------

def staging_folder() -> Path:
    """IMPORT_STAGING_DIR, else `imports` in INSTANCE_UPLOADS (when set), else in the instance folder."""
    configured = current_app.config.get("IMPORT_STAGING_DIR")
    if configured:
        return Path(configured)
    return Path(current_app.config.get("INSTANCE_UPLOADS") or current_app.instance_path) / "imports"


def staging_ttl() -> int:
    return int(current_app.config.get("IMPORT_STAGING_TTL", staging.DEFAULT_TTL_SECONDS))


def max_upload_bytes() -> int:
    return int(current_app.config.get("MAX_CONTENT_LENGTH") or imports.DEFAULT_MAX_BYTES)


def megabytes(size: int) -> str:
    """An upload limit as the user's language writes it: 1.5 MB, 1,5 Mo."""
    if size < 1024 * 1024:
        return _("%(size)s KB", size=format_number(size // 1024))
    return _("%(size)s MB", size=format_number(size / (1024 * 1024), digits=0 if size % (1024 * 1024) == 0 else 1))


def too_large_message() -> str:
    return _("The file is larger than the upload limit of %(size)s. Split it into smaller files (or save it as "
             "XLSX, which is usually smaller) and upload each.", size=megabytes(max_upload_bytes()))


def read_upload(form: Form) -> tuple[bytes, str]:
    """The uploaded bytes (one byte over the limit is enough to refuse the file) and its name."""
    upload = form.file.data
    return upload.read(max_upload_bytes() + 1), upload.filename or "upload"


def load_staged(kind: str, token: str) -> staging.StagedUpload:
    try:
        return staging.load(staging_folder(), token, kind, user().id, ttl=staging_ttl())
    except NotFound as exc:
        abort(404, description=exc.message)


def problem_rows(problems: Any) -> list[list[Any]]:
    """Problems as the review pages and the problems file show them:
    [row, ref, name, column, value as written, message]."""
    return [[p.row, p.ref, p.name, p.column, p.value, p.message] for p in problems]


PROBLEM_COLUMNS = ("row", "ref", "name", "column", "value", "message")


def file_level_only(problems: Any) -> bool:
    """Problems about the file as a whole (not a spreadsheet, wrong encoding, too large...) are
    shown next to the file field; anything about rows or columns gets the review page."""
    return bool(problems) and all(p.row == 0 for p in problems)


def problems_csv(staged: staging.StagedUpload) -> Response:
    rows = staged.review.get("problems", [])
    content = exports.table_bytes("csv", PROBLEM_COLUMNS, rows)
    stem = Path(staged.filename).stem or "upload"
    return download(content, "csv", f"{stem}-problems.csv")


def rejected_rows_download(staged: staging.StagedUpload) -> Response:
    """The upload's rows with problems, as the file wrote them, with a column saying what is
    wrong (imports.rejected_rows_file, kept beside the staged upload)."""
    try:
        content = staging.read_attachment(staging_folder(), staged, "rejected")
    except NotFound as exc:
        abort(404, description=exc.message)
    stem = Path(staged.filename).stem or "upload"
    return download(content, "csv", f"{stem}-rejected-rows.csv")


def purge_staging() -> None:
    staging.purge_expired(staging_folder(), staging_ttl())


def upload_federations(user: User) -> list[tuple[int, str]] | None:
    return federations(active_only=True) if Scope.of(user).everything else None


def render_upload(form: Form) -> str:
    return render_template("cases/import.html", form=form, max_megabytes=megabytes(max_upload_bytes()))


PROBLEMS_SHOWN = 500
DUPLICATES_SHOWN = 200


def expiry(staged: staging.StagedUpload) -> str:
    expires = datetime.fromtimestamp(staged.expires_at(staging_ttl()), tz=UTC)
    return format_datetime(expires)


def staged_data(folder: Path, staged: staging.StagedUpload) -> bytes:
    """The kept file of a checked upload (404 once it expired or was used)."""
    try:
        return staging.read_data(folder, staged)
    except NotFound as exc:
        abort(404, description=exc.message)


def close_staged(folder: Path, staged: staging.StagedUpload, review: dict[str, Any], message: str,
                  category: str, endpoint: str) -> Response:
    """Record how a confirmed upload ended (its file is dropped: it can never be applied twice),
    say so, and show its page again."""
    staging.update_review(folder, staged, review, keep_data=False)
    flash(message, category)
    return redirect(url_for(endpoint, token=staged.token), code=303)


def render_status_upload(form: Form) -> str:
    return render_template("cases/status_upload.html", form=form, max_megabytes=megabytes(max_upload_bytes()),
                           exit_reasons=vocabulary.EXIT_REASONS.choices())
