"""Resolving duplicates (admins): compare two cases, merge one into the other and undo that
merge, or move a case to another federation. Every step is audited on each case it touches;
services flush, the caller commits once.

Merge: the kept case keeps its own values except the fields the admin chose to take from the
removed one (`MERGE_FIELDS`; an exit date and its reason go together), checked by the case rules
as one case; the removed case's follow-ups move to the kept case; the removed case is
soft-deleted with `merged_into_id` pointing at the kept case. The kept case's "merge" audit
entry holds everything undoing needs: the removed case's id, the ids of the follow-ups moved
and [before, after] of every field taken.

Undo (a new audited action, the audit trail being append-only): the follow-ups moved go back,
the removed case is live again, and each field taken gets its value from before the merge,
unless it was changed again since (that later change is kept, and the caller is told which
fields). Both cases' versions move, so a form opened before the merge or the undo conflicts.

Move: the case changes federation, under its own ref when that is free in the target federation,
else under a ref the admin gives (the error suggests the target's next free ref). The old
federation's staff can no longer open the case; `moved_from` gives them what they may still
know: that their case REF went to federation X on that date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from tracker.extensions import db
from tracker.models import AuditEntry, Case, ExitReason, Federation, Role, StatusCheck, TransferType, User
from tracker.models.base import utcnow
from tracker.services.casework import audit
from tracker.services.casework.cases import (
    CASE_FIELDS,
    CONTACT_FIELDS,
    MAX_LENGTHS,
    _flush_versioned,
    case_values,
    clean_case_values,
    next_ref,
    ref_taken,
)
from tracker.services.errors import DomainError, DuplicateRef, EditConflict, InvalidCase, NotFound, PermissionDenied

#: Fields whose value the admin may take from the removed case (the ref stays the kept case's:
#: the removed case keeps its own, so that undoing the merge never meets a taken ref).
MERGE_FIELDS: tuple[str, ...] = (*(f for f in CASE_FIELDS if f != "ref"), "notes", *CONTACT_FIELDS)
_TOGETHER = {"exit_date": "exit_reason", "exit_reason": "exit_date"}
_DATES = frozenset({"transfer_date", "registered_on", "last_verified_on", "exit_date", "founded_on"})
MERGE, MERGED_INTO, UNMERGE, MOVE = "merge", "merged_into", "unmerge", "move"


def _admin_only(actor: User) -> None:
    if actor is None or actor.role != Role.ADMIN:
        raise PermissionDenied(_("Only the secretariat (admins) may merge or move cases."))


def _live(case: Case) -> None:
    if case.deleted_at is not None:
        raise DomainError(_("Case %(ref)s is deleted.", ref=case.ref))


def _check_version(case: Case, expected: int | None) -> None:
    if expected is not None and expected != case.version:
        raise EditConflict(_("Case %(ref)s was changed by someone else since you opened it (version %(old)d, "
                             "now %(new)d).", ref=case.ref, old=expected, new=case.version))


# --- compare ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldComparison:
    field: str
    a: Any
    b: Any

    @property
    def differs(self) -> bool:
        return (self.a or None) != (self.b or None)


def compare_fields(a: Case, b: Case) -> list[FieldComparison]:
    """The two cases' values side by side, ref first, then the fields a merge may take."""
    values_a, values_b = _all_values(a), _all_values(b)
    return [FieldComparison(field, values_a[field], values_b[field]) for field in ("ref", *MERGE_FIELDS)]


def _all_values(case: Case) -> dict[str, Any]:
    return {**case_values(case), **{field: getattr(case, field) for field in ("notes", *CONTACT_FIELDS)}}


def load_pair(actor: User, a_id: int, b_id: int) -> tuple[Case, Case]:
    """Two different live cases for an admin to compare or merge. NotFound for an unknown id,
    DomainError for the same case twice or a deleted (or already merged) case."""
    _admin_only(actor)
    if a_id == b_id:
        raise DomainError(_("A case cannot be merged with itself."))
    a, b = db.session.get(Case, a_id), db.session.get(Case, b_id)
    if a is None or b is None:
        raise NotFound(_("No such case."))
    for case in (a, b):
        if case.merged_into_id is not None:
            raise DomainError(_("Case %(ref)s was already merged into another case.", ref=case.ref))
        _live(case)
    return a, b


# --- merge -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MergeResult:
    kept: Case
    removed: Case
    moved_follow_ups: tuple[int, ...]
    fields_taken: tuple[str, ...]


def merge_cases(actor: User, kept: Case, removed: Case, kept_version: int | None, removed_version: int | None,
                take: tuple[str, ...] | list[str] = (), today: date | None = None) -> MergeResult:
    """Merge `removed` into `kept` (see the module docstring). `take` names the fields whose value
    comes from `removed`. Raises PermissionDenied (not an admin), EditConflict (either case changed
    since the versions given), InvalidCase (the combined values break a case rule), DomainError."""
    _admin_only(actor)
    if kept.id == removed.id:
        raise DomainError(_("A case cannot be merged with itself."))
    for case in (kept, removed):
        _live(case)
    _check_version(kept, kept_version)
    _check_version(removed, removed_version)
    unknown = sorted(set(take) - set(MERGE_FIELDS))
    if unknown:
        raise DomainError(_("These fields cannot be taken from the other case: %(fields)s",
                            fields=", ".join(unknown)), field="take")
    taken = sorted({*take, *(_TOGETHER[f] for f in take if f in _TOGETHER)})
    combined = _combined(kept, removed, taken, today)
    before = audit.snapshot(kept, (*taken, "nace_section"))
    for field in taken:
        setattr(kept, field, combined[field])
    if "nace" in taken:
        kept.nace_section = combined["nace_section"]
    moved = tuple(sorted(check.id for check in db.session.scalars(
        select(StatusCheck).where(StatusCheck.case_id == removed.id))))
    for check in db.session.scalars(select(StatusCheck).where(StatusCheck.id.in_(moved))):
        check.case_id = kept.id
    now = utcnow()
    removed.merged_into_id, removed.deleted_at, removed.deleted_by_id = kept.id, now, actor.id
    removed.updated_by_id = kept.updated_by_id = actor.id
    kept.updated_at = now  # always a new version: its follow-ups changed
    kept_ref, removed_ref = kept.ref, removed.ref
    _flush_versioned(kept)
    _flush_versioned(removed)
    db.session.expire(kept, ["status_checks"])
    db.session.expire(removed, ["status_checks"])
    changes = audit.diff(before, audit.snapshot(kept, (*taken, "nace_section")))
    codes = _codes()
    audit.record(actor, kept, MERGE, {**changes, "merged_case_id": [None, removed.id],
                                      "moved_follow_ups": [None, list(moved)]},
                 context=f"merged case {removed_ref} ({codes.get(removed.federation_id, '?')}) into this case")
    audit.record(actor, removed, MERGED_INTO, {"merged_into_id": [None, kept.id],
                                               "deleted_at": [None, audit.jsonable(now)],
                                               "moved_follow_ups": [list(moved), None]},
                 context=f"merged into case {kept_ref} ({codes.get(kept.federation_id, '?')})")
    return MergeResult(kept, removed, moved, tuple(taken))


def _combined(kept: Case, removed: Case, taken: list[str], today: date | None) -> dict[str, Any]:
    """The kept case's values with the taken ones from `removed`, checked as one case."""
    raw = _all_values(kept)
    other = _all_values(removed)
    raw.update({field: other[field] for field in taken})
    values, errors = clean_case_values(raw, today)
    if errors:
        raise InvalidCase(errors)
    values.update({field: raw[field] for field in ("notes", *CONTACT_FIELDS)})
    return values


def _codes() -> dict[int, str]:
    return {row.id: row.code for row in db.session.execute(select(Federation.id, Federation.code))}


# --- undo --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UndoResult:
    kept: Case
    restored: Case
    follow_ups_back: tuple[int, ...]
    fields_kept: tuple[str, ...]  # taken at the merge, changed since: left as they are now


def merge_entry(kept_id: int, removed_id: int) -> AuditEntry | None:
    """The latest audit entry of the merge of `removed_id` into `kept_id`."""
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.table_name == Case.__tablename__, AuditEntry.row_id == kept_id, AuditEntry.action == MERGE)
        .order_by(AuditEntry.id.desc()))
    for entry in entries:
        if (entry.changes or {}).get("merged_case_id", [None, None])[1] == removed_id:
            return entry
    return None


def undo_merge(actor: User, removed: Case, kept_version: int | None = None,
               removed_version: int | None = None) -> UndoResult:
    """Undo the merge of `removed` (see the module docstring): a new audited action on both cases."""
    _admin_only(actor)
    if removed.merged_into_id is None:
        raise DomainError(_("Case %(ref)s is not merged into another case.", ref=removed.ref))
    kept = db.session.get(Case, removed.merged_into_id)
    entry = merge_entry(removed.merged_into_id, removed.id)
    if kept is None or entry is None:
        raise DomainError(_("The merge of case %(ref)s is not in the audit trail; it cannot be undone.",
                            ref=removed.ref))
    if kept.deleted_at is not None:
        raise DomainError(_("Case %(ref)s, which the merge kept, is deleted or merged itself: bring it back first.",
                            ref=kept.ref))
    _check_version(kept, kept_version)
    _check_version(removed, removed_version)
    restored_fields, left = _restore_fields(kept, entry.changes)
    moved = [int(i) for i in (entry.changes.get("moved_follow_ups") or [None, []])[1] or []]
    back = tuple(check.id for check in db.session.scalars(
        select(StatusCheck).where(StatusCheck.id.in_(moved), StatusCheck.case_id == kept.id)))
    for check in db.session.scalars(select(StatusCheck).where(StatusCheck.id.in_(back))):
        check.case_id = removed.id
    deleted_at = audit.jsonable(removed.deleted_at)
    removed.merged_into_id, removed.deleted_at, removed.deleted_by_id = None, None, None
    removed.updated_by_id = kept.updated_by_id = actor.id
    kept.updated_at = utcnow()
    _flush_versioned(kept)
    _flush_versioned(removed)
    db.session.expire(kept, ["status_checks"])
    db.session.expire(removed, ["status_checks"])
    audit.record(actor, kept, UNMERGE, {**restored_fields, "merged_case_id": [removed.id, None],
                                        "moved_follow_ups": [list(back), None]},
                 context=f"undid the merge of case {removed.ref} into this case")
    audit.record(actor, removed, UNMERGE, {"merged_into_id": [kept.id, None], "deleted_at": [deleted_at, None],
                                           "moved_follow_ups": [None, list(back)]},
                 context=f"undid the merge into case {kept.ref}")
    return UndoResult(kept, removed, back, tuple(left))


def _restore_fields(kept: Case, changes: dict[str, Any]) -> tuple[dict[str, list[Any]], list[str]]:
    """Give each field taken at the merge its value from before, unless it changed since; the
    result is checked as one case. Returns the audit diff and the fields left as they are."""
    restorable = [f for f in changes if f in MERGE_FIELDS or f == "nace_section"]
    still = {f for f in restorable if audit.jsonable(getattr(kept, f)) == changes[f][1]}
    for field, partner in (*_TOGETHER.items(), ("nace", "nace_section"), ("nace_section", "nace")):
        if field in still and partner in restorable and partner not in still:
            still.discard(field)
    before = audit.snapshot(kept, restorable)
    raw = _all_values(kept)
    raw.update({f: _typed(f, changes[f][0]) for f in still if f != "nace_section"})
    _values, errors = clean_case_values(raw)
    if errors:
        raise InvalidCase(errors)
    for field in still:
        setattr(kept, field, _typed(field, changes[field][0]))
    left = sorted(set(restorable) - still - {"nace_section"})
    return audit.diff(before, audit.snapshot(kept, restorable)), left


def _typed(field: str, value: Any) -> Any:
    """A value as the audit JSON holds it, back to its column's type."""
    if value is None:
        return None
    if field in _DATES:
        return date.fromisoformat(value)
    if field == "transfer_type":
        return TransferType(value)
    if field == "exit_reason":
        return ExitReason(value)
    return value


def merged_into_this(case: Case) -> list[Case]:
    """The cases merged into `case` (and not brought back)."""
    return list(db.session.scalars(select(Case).where(Case.merged_into_id == case.id).order_by(Case.ref)))


# --- move to another federation ------------------------------------------------------------------

class RefTakenInTarget(DuplicateRef):
    """The case's ref is in use in the target federation; `suggestion` is the next free one there."""

    def __init__(self, message: str, suggestion: str) -> None:
        super().__init__(message, field="ref")
        self.suggestion = suggestion


def move_case(actor: User, case: Case, target: Federation, ref: str | None = None,
              expected_version: int | None = None) -> Case:
    """Move `case` to federation `target`, under `ref` (default: its own). Raises
    RefTakenInTarget when that ref is in use there (with the next free ref as suggestion)."""
    _admin_only(actor)
    _live(case)
    _check_version(case, expected_version)
    if target.id == case.federation_id:
        raise DomainError(_("The case is already in federation %(code)s.", code=target.code), field="federation")
    if not target.active:
        raise DomainError(_("Federation %(code)s is not active.", code=target.code), field="federation")
    new_ref = (ref or "").strip() or case.ref
    if len(new_ref) > MAX_LENGTHS["ref"] or any(ord(c) < 32 or ord(c) == 127 for c in new_ref):
        raise DomainError(_("A ref has at most %(max)d characters and no control characters.",
                            max=MAX_LENGTHS["ref"]), field="ref")
    if ref_taken(target.id, new_ref, case.id):
        suggestion = next_ref(target)
        raise RefTakenInTarget(_("Ref %(ref)s already exists in federation %(code)s; the next free ref there is "
                                 "%(next)s.", ref=new_ref, code=target.code, next=suggestion), suggestion)
    source = db.session.get(Federation, case.federation_id)
    before = audit.snapshot(case, ("federation_id", "ref"))
    case.federation_id, case.ref, case.updated_by_id = target.id, new_ref, actor.id
    db.session.expire(case, ["federation"])
    _flush_versioned(case)
    audit.record(actor, case, MOVE, audit.diff(before, audit.snapshot(case, ("federation_id", "ref"))),
                 context=f"moved from {source.code if source else '?'} to {target.code}")
    return case


@dataclass(frozen=True)
class MovedAway:
    """A case that left a federation: what that federation's staff still see of it."""

    case_id: int
    ref: str  # its ref in the federation it left
    name: str
    to_code: str
    at: datetime


def moved_from(federation_id: int, case_id: int | None = None, limit: int = 50) -> list[MovedAway]:
    """The moves of cases out of `federation_id` (of one case with `case_id`), newest first.
    Moves are rare: the move entries are read and their JSON filtered here, on every dialect."""
    stmt = select(AuditEntry).where(AuditEntry.table_name == Case.__tablename__, AuditEntry.action == MOVE)
    if case_id is not None:
        stmt = stmt.where(AuditEntry.row_id == case_id)
    codes = _codes()
    out: list[MovedAway] = []
    for entry in db.session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(2000)):
        federations = (entry.changes or {}).get("federation_id") or [None, None]
        if federations[0] != federation_id:
            continue
        case = db.session.get(Case, entry.row_id)
        if case is None:
            continue
        refs = (entry.changes or {}).get("ref") or [case.ref, case.ref]
        out.append(MovedAway(case.id, refs[0], case.name, codes.get(federations[1], "?"), entry.at))
        if len(out) >= limit:
            break
    return out


__all__ = ["MERGE_FIELDS", "FieldComparison", "MergeResult", "MovedAway", "RefTakenInTarget", "UndoResult",
           "compare_fields", "load_pair", "merge_cases", "merge_entry", "merged_into_this", "move_case",
           "moved_from", "undo_merge"]
