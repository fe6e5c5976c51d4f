"""Case use cases: validation of the case field rules of docs/design.md (shared by forms, CSV/XLSX import and
API), creation, editing with optimistic locking, follow-ups, soft deletion. Services flush; the
caller commits once."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime
from typing import Any

from flask import has_app_context
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from tracker.extensions import db
from tracker.i18n import format_date, format_number
from tracker.models import OPERATING, Case, ExitReason, Federation, StatusCheck, TransferType, User
from tracker.models.base import utcnow
from tracker.services.casework import audit
from tracker.services.casework import duplicates as duplicate_service
from tracker.services.casework.duplicates import PossibleDuplicate
from tracker.services.errors import DomainError, DuplicateRef, EditConflict, InvalidCase, UnconfirmedDuplicates
from tracker.services.reference import UnknownNace, is_country, normalise_nace
from tracker.vocabulary import EXIT_REASONS, TRANSFER_TYPES, Labels

# The import/export schema (docs/design.md), in column order.
CASE_FIELDS: tuple[str, ...] = (
    "ref", "name", "national_id", "country", "region", "nace", "employees", "transfer_date",
    "transfer_type", "legal_form", "registered_on", "last_verified_on", "exit_date", "exit_reason",
    "founded_on",
)
REQUIRED_FIELDS = frozenset({"ref", "name", "country", "transfer_date", "transfer_type"})
CONTACT_FIELDS: tuple[str, ...] = ("contact_name", "contact_email", "contact_phone")
AUDITED_FIELDS: tuple[str, ...] = (*CASE_FIELDS, "nace_section", "notes", *CONTACT_FIELDS,
                                   "deleted_at")
MAX_LENGTHS = {"ref": 64, "name": 200, "national_id": 64, "region": 16, "legal_form": 100,
               "notes": 10_000, "contact_name": 200, "contact_email": 254, "contact_phone": 50}
_REGION_RE = re.compile(r"^[A-Z]{2}(-?[A-Z0-9]{1,10})?$")
# NUTS uses EL for Greece and UK for the United Kingdom where ISO 3166 has GR and GB.
_NUTS_PREFIX = {"GR": "EL", "GB": "UK"}
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The largest employers have a few million employees; the column holds up to 2^31 - 1.
MAX_EMPLOYEES = 10_000_000
# Transfers to employees are a 20th-century institution; an earlier date is a typing error.
EARLIEST_DATE = date(1900, 1, 1)

Values = dict[str, Any]
Errors = dict[str, list[str]]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse_date(value: Any) -> date | None:
    """ISO date (YYYY-MM-DD), a date/datetime (XLSX cells), or empty. Raises ValueError with a readable message."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(_("'%(value)s' is not a date in the form YYYY-MM-DD", value=text[:40]))


def parse_int(value: Any) -> int | None:
    if value is None or isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip()
    if not text:
        return None
    # Any length of digits is a whole number (Python's int() stops at 4,300 digits): one too large for
    # the column is then refused by the range check, in the same words on the form and in an import.
    if len(text) > 1000 or not re.fullmatch(r"[+-]?\d+", text):
        raise ValueError(_("'%(value)s' is not a whole number", value=text[:40]))
    return int(text)


def _choice(enum_cls: type[TransferType] | type[ExitReason], labels: Labels) -> Callable[[Any], Any]:
    allowed = ", ".join(m.value for m in enum_cls)

    def parse(value: Any) -> Any:
        text = _text(value)
        if text is None:
            return None
        try:
            return enum_cls(text.lower())
        except ValueError:
            code = labels.code_named(text) if has_app_context() else None
            if code is not None:  # the words of the pages ("Transmission"): say which code they mean
                raise ValueError(_("'%(value)s' is not one of: %(allowed)s; for “%(label)s”, write %(code)s",
                                   value=text[:40], allowed=allowed, label=labels[code], code=code)) from None
            raise ValueError(_("'%(value)s' is not one of: %(allowed)s", value=text[:40], allowed=allowed)) from None

    return parse


parse_transfer_type = _choice(TransferType, TRANSFER_TYPES)
parse_exit_reason = _choice(ExitReason, EXIT_REASONS)

_PARSERS: dict[str, Callable[[Any], Any]] = {
    "employees": parse_int,
    "transfer_date": parse_date,
    "registered_on": parse_date,
    "last_verified_on": parse_date,
    "exit_date": parse_date,
    "founded_on": parse_date,
    "transfer_type": parse_transfer_type,
    "exit_reason": parse_exit_reason,
}


def clean_case_values(raw: Mapping[str, Any], today: date | None = None,
                      fields: tuple[str, ...] = CASE_FIELDS) -> tuple[Values, Errors]:
    """Parse and check the fields of one case by the import schema (docs/design.md).

    Accepts strings (CSV cells) or typed values (form data, XLSX dates). Returns the cleaned
    values (nace canonical, nace_section derived, registered_on defaulted to transfer_date) and
    the errors by field; values of fields with errors are left out.
    """
    today = today or date.today()
    values: Values = {}
    errors: Errors = {}

    def err(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for field in fields:
        parser = _PARSERS.get(field, _text)
        try:
            value = parser(raw.get(field))
        except ValueError as exc:
            err(field, str(exc))
            continue
        if isinstance(value, str):
            if _CONTROL_RE.search(value):
                err(field, _("contains control characters"))
                continue
            if len(value) > MAX_LENGTHS.get(field, 10_000):
                err(field, _("is longer than %(max)d characters", max=MAX_LENGTHS[field]))
                continue
        if value is None and field in REQUIRED_FIELDS:
            err(field, _("is required"))
            continue
        values[field] = value
    _check_codes(values, errors, err)
    _check_dates(values, errors, err, today)
    return values, errors


def _check_codes(values: Values, errors: Errors, err: Callable[[str, str], None]) -> None:
    if values.get("country") is not None:
        values["country"] = values["country"].upper()
        if not is_country(values["country"]):
            err("country", _("'%(value)s' is not an ISO 3166-1 alpha-2 country code", value=values["country"][:40]))
    if values.get("region") is not None:
        region = values["region"] = values["region"].upper()
        country = values.get("country") or ""
        if not _REGION_RE.match(region) or (
                country and not region.startswith((country, _NUTS_PREFIX.get(country, country)))):
            err("region", _("'%(value)s' is not a NUTS or ISO 3166-2 code of country %(country)s", value=region[:40],
                             country=country or "?"))
    if "nace" in values:
        values["nace_section"] = None
        if values["nace"] is not None:
            try:
                entry = normalise_nace(values["nace"])
            except UnknownNace as exc:
                err("nace", str(exc))
            else:
                values["nace"], values["nace_section"] = entry.code, entry.section
    _check_employees(values, err)


def _check_employees(values: Values, err: Callable[[str, str], None]) -> None:
    if values.get("employees") is not None and values["employees"] < 0:
        err("employees", _("must be 0 or more"))
    elif values.get("employees") is not None and values["employees"] > MAX_EMPLOYEES:
        employees = values["employees"]
        shown = format_number(employees) if employees < 10**15 else f"{str(employees)[:12]}…"
        err("employees", _("%(value)s is more than %(max)s", value=shown, max=format_number(MAX_EMPLOYEES)))


def _check_dates(values: Values, errors: Errors, err: Callable[[str, str], None], today: date) -> None:
    transfer = values.get("transfer_date")
    for field in ("transfer_date", "registered_on", "last_verified_on", "exit_date"):
        value = values.get(field)
        if value is not None and value > today:
            err(field, _("%(date)s is in the future", date=value.isoformat()))
        elif value is not None and value < EARLIEST_DATE:
            err(field, _("%(date)s is before %(year)d", date=value.isoformat(), year=EARLIEST_DATE.year))
    if "registered_on" in values and values["registered_on"] is None and transfer is not None:
        values["registered_on"] = transfer
    exit_date, verified = values.get("exit_date"), values.get("last_verified_on")
    if transfer is not None:
        if exit_date is not None and exit_date < transfer:
            err("exit_date", _("exit %(date)s is before the transfer (%(transfer)s)", date=exit_date.isoformat(),
                                 transfer=transfer.isoformat()))
        if verified is not None and verified < transfer:
            err("last_verified_on", _("%(date)s is before the transfer (%(transfer)s)", date=verified.isoformat(),
                                        transfer=transfer.isoformat()))
    _check_founded(values, err, today)
    _check_exit(values, errors, err)


def _check_founded(values: Values, err: Callable[[str, str], None], today: date) -> None:
    """The founding date (optional): not in the future, and on or before the transfer."""
    founded, transfer = values.get("founded_on"), values.get("transfer_date")
    if founded is None:
        return
    if founded > today:
        err("founded_on", _("founding date (founded_on) %(date)s is in the future", date=founded.isoformat()))
    elif transfer is not None and founded > transfer:
        err("founded_on", _("founding date (founded_on) %(date)s is after the transfer (%(transfer)s)",
                            date=founded.isoformat(), transfer=transfer.isoformat()))


def _check_exit(values: Values, errors: Errors, err: Callable[[str, str], None]) -> None:
    """An exit date needs its reason and the reverse; an open case needs its latest verification,
    and a closed one cannot have been verified after its exit."""
    exit_date, reason, verified = (values.get("exit_date"), values.get("exit_reason"),
                                   values.get("last_verified_on"))
    if "exit_date" in values and "exit_reason" in values:
        if exit_date is not None and reason is None and "exit_reason" not in errors:
            err("exit_reason", _("is required when there is an exit date"))
        if reason is not None and exit_date is None and "exit_date" not in errors:
            err("exit_date", _("is required when there is an exit reason"))
    if exit_date is not None and verified is not None and verified > exit_date:
        err("last_verified_on", _("confirmed operating on %(date)s, after its exit on %(exit)s",
                                  date=verified.isoformat(), exit=exit_date.isoformat()))
    if ("last_verified_on" in values and exit_date is None and verified is None
            and "exit_date" not in errors and "last_verified_on" not in errors):
        err("last_verified_on", _("is required for an open case (the latest date it was confirmed operating)"))


def check_values(raw: Mapping[str, Any], today: date | None = None) -> Values:
    values, errors = clean_case_values(raw, today)
    if errors:
        raise InvalidCase(errors)
    return values


def ref_taken(federation_id: int, ref: str, exclude_id: int | None = None) -> bool:
    stmt = select(Case.id).where(Case.federation_id == federation_id, Case.ref == ref)
    if exclude_id is not None:
        stmt = stmt.where(Case.id != exclude_id)
    return db.session.scalar(stmt) is not None


def _clean_extra(extra: Mapping[str, Any] | None) -> tuple[Values, Errors]:
    """Notes and contact fields (not in the import schema), and their errors by field."""
    cleaned: Values = {}
    errors: Errors = {}
    for field in ("notes", *CONTACT_FIELDS):
        if extra is None or field not in extra:
            continue
        value = _text(extra[field])
        if value is not None and "\x00" in value:
            errors.setdefault(field, []).append(_("contains a NUL character"))
        elif value is not None and len(value) > MAX_LENGTHS[field]:
            errors.setdefault(field, []).append(_("is longer than %(max)d characters", max=MAX_LENGTHS[field]))
        elif field == "contact_email" and value is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            errors.setdefault(field, []).append(_("'%(value)s' is not an email address", value=value[:60]))
        else:
            cleaned[field] = value
    return cleaned, errors


@dataclass
class DuplicateCheck:
    """Asks create_case / update_case to look for possible duplicates (services.casework.duplicates)
    of the case being saved. Pairs the actor can see in full must be `confirmed` as different
    enterprises (else UnconfirmedDuplicates, together with any other error of the case); the
    confirmation is stored with the case. After the call, `pairs` holds every pair found and
    `hidden` how many involve a case the actor may not see (they are only told one exists)."""

    confirmed: bool = False
    context: str = "case form"
    pairs: list[PossibleDuplicate] = dataclass_field(default_factory=list)
    must_confirm: list[PossibleDuplicate] = dataclass_field(default_factory=list)

    @property
    def hidden(self) -> int:
        return len(self.pairs) - len(self.must_confirm)


# What duplicate detection compares: checked only when these are valid (a ref already in use is
# still a ref, so the duplicates show together with that error).
DUPLICATE_FIELDS = ("name", "national_id", "country", "transfer_date")


def case_problems(actor: User | None, federation: Federation, raw: Mapping[str, Any],
                  extra: Mapping[str, Any] | None = None, case: Case | None = None, today: date | None = None,
                  duplicates: DuplicateCheck | None = None) -> tuple[Values, Errors]:
    """Every rule of a case at once: field and cross-field rules, the ref unique in the
    federation and (with `duplicates`) unconfirmed possible duplicates, under "confirm_distinct".
    Returns the cleaned values (extra fields included) and the errors by field; writes nothing."""
    values, errors = clean_case_values(raw, today)
    cleaned_extra, extra_errors = _clean_extra(extra)
    values.update(cleaned_extra)
    errors.update(extra_errors)
    ref = values.get("ref")
    if ref is not None and (case is None or ref != case.ref) and \
            ref_taken(federation.id, ref, case.id if case is not None else None):
        errors.setdefault("ref", []).append(
            _("ref %(ref)s already exists in federation %(code)s", ref=ref, code=federation.code))
    if duplicates is not None and values.get("ref") and all(name not in errors for name in DUPLICATE_FIELDS):
        pairs = duplicate_service.duplicates_of(duplicate_service.identity_of(
            values, federation.id, case.id if case is not None else None))
        duplicates.pairs = pairs
        duplicates.must_confirm = duplicate_service.needs_confirmation(actor, pairs)
        if duplicates.must_confirm and not duplicates.confirmed:
            errors["confirm_distinct"] = [_("Check the possible duplicates listed, then tick this box to save.")]
    return values, errors


def _checked(actor: User | None, federation: Federation, raw: Mapping[str, Any], extra: Mapping[str, Any] | None,
             case: Case | None, today: date | None, duplicates: DuplicateCheck | None) -> Values:
    values, errors = case_problems(actor, federation, raw, extra, case, today, duplicates)
    if duplicates is not None and "confirm_distinct" in errors:
        message = errors.pop("confirm_distinct")[0]
        raise UnconfirmedDuplicates(duplicates.must_confirm, message, errors)
    if errors:
        raise InvalidCase(errors)
    return values


def _store_confirmation(actor: User | None, case: Case, duplicates: DuplicateCheck | None) -> None:
    if duplicates is not None and duplicates.must_confirm:
        duplicate_service.confirm_distinct(actor, [(case.id, p.other.id) for p in duplicates.must_confirm
                                                   if p.other.id is not None], context=duplicates.context)


def create_case(actor: User | None, federation: Federation, raw: Mapping[str, Any],
                extra: Mapping[str, Any] | None = None, today: date | None = None,
                context: str | None = None, duplicates: DuplicateCheck | None = None) -> Case:
    """Create a case of `federation` from raw field values. Raises InvalidCase with every
    problem at once (an UnconfirmedDuplicates when, with `duplicates`, pairs need confirming)."""
    values = _checked(actor, federation, raw, extra, None, today, duplicates)
    actor_id = actor.id if actor is not None else None
    case = Case(federation=federation, created_by_id=actor_id, updated_by_id=actor_id, **values)
    db.session.add(case)
    db.session.flush()
    audit.record(actor, case, "create", audit.diff({}, audit.snapshot(case, AUDITED_FIELDS)), context)
    _store_confirmation(actor, case, duplicates)
    return case


def update_case(actor: User | None, case: Case, raw: Mapping[str, Any], expected_version: int | None,
                extra: Mapping[str, Any] | None = None, today: date | None = None,
                context: str | None = None, duplicates: DuplicateCheck | None = None) -> Case:
    """Apply new field values. `expected_version` is the version the user loaded: if the case
    changed since, raise EditConflict instead of overwriting someone else's change. Rules as
    create_case (every problem at once, duplicates with `duplicates`)."""
    if expected_version is not None and expected_version != case.version:
        raise EditConflict(_("Case %(ref)s was changed by someone else since you opened it (version %(old)s, now "
                             "%(new)s).", ref=case.ref, old=expected_version, new=case.version))
    values = _checked(actor, case.federation, raw, extra, case, today, duplicates)
    before = audit.snapshot(case, AUDITED_FIELDS)
    for field, value in values.items():
        setattr(case, field, value)
    changes = audit.diff(before, audit.snapshot(case, AUDITED_FIELDS))
    _store_confirmation(actor, case, duplicates)
    if not changes:
        return case
    case.updated_by_id = actor.id if actor is not None else None
    _timeline_exit_change(actor, case, before)
    _flush_versioned(case)
    audit.record(actor, case, "update", changes, context)
    return case


def _timeline_exit_change(actor: User | None, case: Case, before: Values) -> None:
    """An exit recorded, changed or cleared by editing the case also goes into the follow-up
    timeline, so the timeline always explains the case's current status."""
    old = (before.get("exit_date"), before.get("exit_reason"))
    new = (audit.jsonable(case.exit_date), audit.jsonable(case.exit_reason))
    if old == new:
        return
    recorder = actor.id if actor is not None else None
    if case.exit_date is not None and case.exit_reason is not None:  # recorded or changed
        db.session.add(StatusCheck(case=case, checked_on=case.exit_date, outcome=case.exit_reason.value,
                                   source="case edit", recorded_by_id=recorder))
    elif old[0] is not None:  # cleared
        db.session.add(StatusCheck(case=case, checked_on=date.fromisoformat(old[0]), outcome="exit_withdrawn",
                                   source="case edit", note="exit cleared by editing the case",
                                   recorded_by_id=recorder))


def _flush_versioned(case: Case) -> None:
    """Flush; a concurrent update of the same case (version mismatch in the UPDATE) becomes
    EditConflict. The caller rolls back, as for any other domain error."""
    ref = case.ref  # read before the flush: after a failed flush the session can load nothing
    try:
        db.session.flush()
    except StaleDataError:
        raise EditConflict(_("Case %(ref)s was changed by someone else at the same time; reload it and apply your "
                             "change again.", ref=ref)) from None


@dataclass(frozen=True)
class FollowUp:
    checked_on: date
    outcome: str  # "operating" or an ExitReason value
    source: str | None = None
    note: str | None = None


def record_follow_up(actor: User | None, case: Case, follow_up: FollowUp, expected_version: int | None = None,
                     today: date | None = None, about: str | None = None) -> StatusCheck:
    """Record a status check. `operating` confirms the case alive on `checked_on` (moves
    last_verified_on forward, never back); an exit reason closes the case on that date. `about`
    (English, e.g. "census of 2025-12-31") is added to the audit entry's context."""
    today = today or date.today()
    if expected_version is not None and expected_version != case.version:
        raise EditConflict(_("Case %(ref)s was changed by someone else since you opened it.", ref=case.ref))
    when = follow_up.checked_on
    if when > today:
        raise DomainError(_("%(date)s is in the future", date=format_date(when)), field="checked_on")
    if when < case.transfer_date:
        raise DomainError(_("%(date)s is before the transfer (%(transfer)s)", date=format_date(when),
                            transfer=format_date(case.transfer_date)), field="checked_on")
    before = audit.snapshot(case, ("last_verified_on", "exit_date", "exit_reason"))
    if follow_up.outcome == OPERATING:
        if case.exit_date is not None and when > case.exit_date:
            raise DomainError(_("The case exited on %(date)s; to confirm it operating later, first withdraw the exit.",
                                date=format_date(case.exit_date)), field="checked_on")
        if case.last_verified_on is None or when > case.last_verified_on:
            case.last_verified_on = when
    else:
        try:
            reason = ExitReason(follow_up.outcome)
        except ValueError:
            raise DomainError(_("'%(outcome)s' is not 'operating' or an exit reason", outcome=follow_up.outcome),
                              field="outcome") from None
        if case.exit_date is not None:
            raise DomainError(_("The case already exited on %(date)s; withdraw that exit first to record a different "
                                "one.", date=format_date(case.exit_date)), field="outcome")
        if case.last_verified_on is not None and when < case.last_verified_on:
            raise DomainError(_("The case was confirmed operating on %(verified)s, after %(date)s.",
                                verified=format_date(case.last_verified_on), date=format_date(when)),
                              field="checked_on")
        case.exit_date, case.exit_reason = when, reason
    check = StatusCheck(case=case, checked_on=when, outcome=follow_up.outcome,
                        source=_text(follow_up.source), note=_text(follow_up.note),
                        recorded_by_id=actor.id if actor is not None else None)
    db.session.add(check)
    case.updated_by_id = actor.id if actor is not None else None
    _flush_versioned(case)
    changes = audit.diff(before, audit.snapshot(case, ("last_verified_on", "exit_date", "exit_reason")))
    context = f"status check {check.id}: {follow_up.outcome}" + (f"; {about}" if about else "")
    audit.record(actor, case, "follow_up", changes, context=context)
    return check


def withdraw_exit(actor: User | None, case: Case, note: str | None, expected_version: int | None = None) -> StatusCheck:
    """Correct a wrongly recorded exit: the case is open again, followed until its last
    verification. The withdrawal is kept in the timeline and audited."""
    if expected_version is not None and expected_version != case.version:
        raise EditConflict(_("Case %(ref)s was changed by someone else since you opened it.", ref=case.ref))
    if case.exit_date is None:
        raise DomainError(_("The case has no exit to withdraw."), field="outcome")
    if not _text(note):
        raise DomainError(_("Say why the exit was wrong."), field="note")
    wrong = db.session.scalar(select(StatusCheck).where(
        StatusCheck.case_id == case.id, StatusCheck.outcome == (case.exit_reason.value if case.exit_reason else ""),
        StatusCheck.checked_on == case.exit_date).order_by(StatusCheck.id.desc()))
    before = audit.snapshot(case, ("last_verified_on", "exit_date", "exit_reason"))
    check = StatusCheck(case=case, checked_on=case.exit_date, outcome="exit_withdrawn", note=_text(note),
                        corrects_id=wrong.id if wrong else None,
                        recorded_by_id=actor.id if actor is not None else None)
    # The case is open again; without a verification date it stays out of analyses until confirmed.
    case.exit_date, case.exit_reason = None, None
    case.updated_by_id = actor.id if actor is not None else None
    db.session.add(check)
    _flush_versioned(case)
    audit.record(actor, case, "exit_withdrawn",
                 audit.diff(before, audit.snapshot(case, ("last_verified_on", "exit_date", "exit_reason"))),
                 context=_text(note))
    return check


def delete_case(actor: User, case: Case) -> None:
    """Soft deletion (admins): the case leaves lists, exports and analyses; restore brings it back."""
    if case.deleted_at is not None:
        raise DomainError(_("The case is already deleted."))
    case.deleted_at, case.deleted_by_id, case.updated_by_id = utcnow(), actor.id, actor.id
    _flush_versioned(case)
    audit.record(actor, case, "delete", {"deleted_at": [None, audit.jsonable(case.deleted_at)]})


def restore_case(actor: User, case: Case) -> None:
    if case.deleted_at is None:
        raise DomainError(_("The case is not deleted."))
    if case.merged_into_id is not None:
        # Restoring alone would leave its follow-ups on the other case: undoing the merge moves them back.
        raise DomainError(_("Case %(ref)s was merged into another case; undo the merge to bring it back.",
                            ref=case.ref))
    if ref_taken(case.federation_id, case.ref, case.id):
        raise DuplicateRef(_("Another case now uses ref %(ref)s; change one ref before restoring.", ref=case.ref),
                           field="ref")
    before = audit.jsonable(case.deleted_at)
    case.deleted_at, case.deleted_by_id, case.updated_by_id = None, None, actor.id
    _flush_versioned(case)
    audit.record(actor, case, "restore", {"deleted_at": [before, None]})


_NUMBERED_REF = re.compile(r"^(.*?)(\d+)$")


def next_ref(federation: Federation) -> str:
    """The next free ref in the federation's own pattern: the prefix and zero-padded width of its
    latest case's ref, one more than the highest number in use with that prefix (`ALP-0042` →
    `ALP-0043`). A federation without numbered refs starts at `CODE-0001`."""
    latest = db.session.scalar(select(Case.ref).where(Case.federation_id == federation.id)
                               .order_by(Case.id.desc()).limit(1))
    match = _NUMBERED_REF.match(latest or "")
    prefix, width = (match.group(1), len(match.group(2))) if match else (f"{federation.code}-", 4)
    highest = 0
    for (ref,) in db.session.execute(select(Case.ref).where(Case.federation_id == federation.id,
                                                            Case.ref.startswith(prefix, autoescape=True))):
        number = ref[len(prefix):]
        if number.isdigit():
            highest = max(highest, int(number))
    candidate = f"{prefix}{highest + 1:0{width}d}"
    return candidate[:MAX_LENGTHS["ref"]]


def new_case_defaults(federation: Federation | None) -> Values:
    """What a new case of `federation` starts with: its country and the next free ref."""
    if federation is None:
        return {}
    return {"country": federation.country, "ref": next_ref(federation)}


def case_values(case: Case) -> Values:
    """The case's fields in the import schema, typed (dates as date, enums as str)."""
    out: Values = {}
    for field in CASE_FIELDS:
        value = getattr(case, field)
        out[field] = value.value if hasattr(value, "value") else value
    return out
