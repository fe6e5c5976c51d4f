"""Possible duplicate cases: on create, edit and import, and a report across federations.

Two cases are a possible duplicate when they are in the same country and

- their national ids are the same once normalised (upper case, only letters and digits, a
  leading country code of the case's country removed: `FR 552 100 554` = `552100554`), or
- their names are very similar and their transfers are in the same calendar year.

Name similarity, chosen to catch typing variants of one enterprise without flagging neighbours:

1. Normalise: accents removed (NFKD, combining marks dropped), case folded, split into words of
   letters and digits; legal forms and filler words (`SCOP`, `SA`, `coopérative`, `de`, `the`,
   ... see `FILLER_WORDS`) are dropped unless nothing else is left; the words are sorted, so word
   order does not matter ("Nord Atelier" = "Atelier du Nord").
2. Numbers must agree: names whose sets of number words differ ("Atelier 12" / "Atelier 13")
   are never similar.
3. Similarity is difflib's `SequenceMatcher.ratio()` of the two normalised strings (2·matches /
   total length, 0..1); "very similar" means at least `NAME_SIMILARITY` (0.9): one or two typos
   in a name of ordinary length ("Menuiserie Dupont" / "Menuiserie Dupond": 0.94), a plural or
   a dropped accent or legal form (1.0), but not "Atelier du Nord" / "Atelier du Sud" (0.78).

Only names in the same (country, transfer year, number words) block are compared, and within a
block only names whose lengths allow the threshold, so checking 100,000 imported rows costs
about a second.

A pair that a user confirmed to be different enterprises (`DistinctCasePair`) is never reported
again. Soft-deleted cases are left out. Visibility: a pair is shown to a user in full only when
they may see both cases (admins: always; staff: both in their federation); a staff user is told
only that a possible duplicate exists elsewhere, never the other federation's data, and cannot
confirm such a pair (the secretariat reviews them in the cross-federation report).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import extract, func, insert, or_, select, tuple_

from tracker.extensions import db
from tracker.models import AuditEntry, Case, DistinctCasePair, Role, User
from tracker.services.errors import DomainError, NotFound, PermissionDenied
from tracker.services.permissions import Scope

NAME_SIMILARITY = 0.9
REASON_NATIONAL_ID = "same national id"
REASON_NAME = "very similar name, transfer in the same year"
_FILLER = """
    scop scic scoop sa sarl sas sasu eurl spa srl scrl scarl sc scs sl sll slu sal
    cv bv nv eg ag gmbh ltd limited plc inc co coop coops cooperative cooperatives cooperatif
    cooperatifs cooperativa cooperativo cooperatieve cooperation genossenschaft societe
    sociedad societa society company compagnie
    de du des la le les l d del della dello dei degli di da dal el los las lo y e et und and the of en
"""
FILLER_WORDS = frozenset(_FILLER.split())
_WORD_RE = re.compile(r"[^\W_]+")
# Combining marks (accents) left by NFKD decomposition: the Unicode combining diacritics blocks.
_COMBINING_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_ID_RE = re.compile(r"[^0-9A-Z]")
_CHUNK = 900
_SEPARATORS = (" ", ".", "-", "/", "_", ",")


@dataclass(frozen=True)
class CaseIdentity:
    """What duplicate detection compares: an existing case (`id`), or a case not created yet (an
    import row: `row` is its spreadsheet row, `id` None; or the case of a create form)."""

    id: int | None
    federation_id: int
    ref: str
    name: str
    national_id: str | None
    country: str
    transfer_year: int | None
    row: int | None = None


@dataclass(frozen=True)
class PossibleDuplicate:
    """`case` is the one being checked (or, in the report, the lower id); `other` the match."""

    case: CaseIdentity
    other: CaseIdentity
    reasons: tuple[str, ...]
    similarity: float  # of the normalised names, 0..1

    @property
    def across_federations(self) -> bool:
        return self.case.federation_id != self.other.federation_id


# --- normalisation -------------------------------------------------------------------------------

@lru_cache(maxsize=65536)
def name_words(name: str) -> tuple[str, ...]:
    """The normalised, sorted words of a name (see the module rules)."""
    folded = name if name.isascii() else _COMBINING_RE.sub("", unicodedata.normalize("NFKD", name))
    words = _WORD_RE.findall(folded.casefold())
    kept = [word for word in words if word not in FILLER_WORDS]
    return tuple(sorted(kept or words))


def national_id_key(national_id: str | None, country: str) -> str | None:
    """The national id as compared: upper case, letters and digits only, without a leading code
    of the case's country. None when nothing is left."""
    if not national_id:
        return None
    key = _ID_RE.sub("", national_id.upper())
    if key.startswith(country) and len(key) > len(country):
        key = key[len(country):]
    return key or None


def name_similarity(a: str, b: str) -> float:
    """0..1: 0 when the names' numbers differ, else difflib's ratio of the normalised names."""
    words_a, words_b = name_words(a), name_words(b)
    if _numbers(words_a) != _numbers(words_b):
        return 0.0
    return SequenceMatcher(None, " ".join(words_a), " ".join(words_b), autojunk=False).ratio()


_NO_NUMBERS: frozenset[str] = frozenset()


def _numbers(words: tuple[str, ...]) -> frozenset[str]:
    digits = [word for word in words if word.isdigit()]
    if not digits:
        return _NO_NUMBERS
    return frozenset([word.lstrip("0") or "0" for word in digits])


def _ratio(a: str, b: str) -> float:
    """name_similarity's ratio, or 0 as soon as the cheap upper bounds show it is below the threshold."""
    if a == b:
        return 1.0
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < NAME_SIMILARITY or matcher.quick_ratio() < NAME_SIMILARITY:
        return 0.0
    return matcher.ratio()


# --- detection -----------------------------------------------------------------------------------

def find_duplicates(candidates: Sequence[CaseIdentity], pool: Iterable[CaseIdentity] = ()) -> list[PossibleDuplicate]:
    """Every possible duplicate pair that involves a candidate: candidate × pool and candidate ×
    candidate (each pair once), confirmed-distinct pairs left out; `case` is the candidate side.
    A pool case that is also a candidate (same id: its new values are being checked) is taken
    from the candidates only."""
    candidate_ids = {c.id for c in candidates if c.id is not None}
    items = [*candidates, *(p for p in pool if p.id not in candidate_ids)]
    first_pool = len(candidates)  # items[i] is a candidate when i < first_pool
    found: dict[tuple[int, int], tuple[set[str], float]] = {}

    def add(i: int, j: int, reason: str, score: float) -> None:
        if i >= first_pool and j >= first_pool:
            return
        key = (min(i, j), max(i, j))
        reasons, best = found.get(key, (set(), 0.0))
        reasons.add(reason)
        found[key] = (reasons, max(best, score))

    by_id: dict[tuple[str, str], list[int]] = {}
    by_name: dict[tuple[str, int, frozenset[str]], list[tuple[int, str]]] = {}
    for index, item in enumerate(items):
        key = national_id_key(item.national_id, item.country)
        if key is not None:
            by_id.setdefault((item.country, key), []).append(index)
        if item.transfer_year is not None:
            words = name_words(item.name)
            by_name.setdefault((item.country, item.transfer_year, _numbers(words)), []).append(
                (index, " ".join(words)))
    for members in by_id.values():
        for a, i in enumerate(members):
            for j in members[a + 1:]:
                add(i, j, REASON_NATIONAL_ID, name_similarity(items[i].name, items[j].name))
    for block in by_name.values():
        _compare_block(block, add)
    # Keys are (low, high) indexes and candidates come first, so items[low] is always a candidate.
    pairs = [PossibleDuplicate(items[i], items[j], tuple(sorted(reasons)), round(score, 3))
             for (i, j), (reasons, score) in found.items()]
    confirmed = confirmed_pairs({i for p in pairs for i in (p.case.id, p.other.id) if i is not None})
    return sorted((p for p in pairs if _pair_key(p) not in confirmed), key=_sort_key)


def _compare_block(block: list[tuple[int, str]], add: Callable[[int, int, str, float], None]) -> None:
    if len(block) < 2:
        return
    # By length: once the next name is too long to reach the threshold, so are all later ones.
    block = sorted(block, key=lambda entry: len(entry[1]))
    limit = NAME_SIMILARITY / (2 - NAME_SIMILARITY)  # shortest/longest length ratio that can reach it
    for a, (i, text_a) in enumerate(block):
        for j, text_b in block[a + 1:]:
            if len(text_a) < limit * len(text_b):
                break
            score = _ratio(text_a, text_b)
            if score >= NAME_SIMILARITY:
                add(i, j, REASON_NAME, score)


def _pair_key(pair: PossibleDuplicate) -> tuple[int, int] | None:
    if pair.case.id is None or pair.other.id is None:
        return None
    return min(pair.case.id, pair.other.id), max(pair.case.id, pair.other.id)


def _sort_key(pair: PossibleDuplicate) -> tuple[Any, ...]:
    return (pair.case.row or 0, pair.case.federation_id, pair.case.ref, pair.other.federation_id, pair.other.ref)


def confirmed_pairs(case_ids: set[int]) -> set[tuple[int, int]]:
    """The confirmed-distinct pairs (low id, high id) that involve any of `case_ids`."""
    if not case_ids:
        return set()
    pairs: set[tuple[int, int]] = set()
    ids = sorted(case_ids)
    columns = (DistinctCasePair.case_id, DistinctCasePair.other_case_id)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        rows = db.session.execute(select(*columns).where(or_(DistinctCasePair.case_id.in_(chunk),
                                                             DistinctCasePair.other_case_id.in_(chunk))))
        pairs.update((low, high) for low, high in rows)
    return pairs


# --- loading -------------------------------------------------------------------------------------

_IDENTITY_COLUMNS = (Case.id, Case.federation_id, Case.ref, Case.name, Case.national_id, Case.country,
                     Case.transfer_date)


def _identity(row: Any) -> CaseIdentity:
    case_id, federation_id, ref, name, national_id, country, transfer_date = row
    return CaseIdentity(case_id, federation_id, ref, name, national_id, country,
                        transfer_date.year if transfer_date is not None else None)


def identity_of(values: dict[str, Any], federation_id: int, case_id: int | None = None,
                row: int | None = None) -> CaseIdentity:
    """The identity of a case from its cleaned values (services.casework.cases.clean_case_values)."""
    transfer = values.get("transfer_date")
    return CaseIdentity(case_id, federation_id, values["ref"], values["name"], values.get("national_id"),
                        values["country"], transfer.year if isinstance(transfer, date) else None, row)


#: Rows `load_cases` reads by one query.
_LOAD_CHUNK = 20_000


def load_cases(countries: Iterable[str] | None = None) -> list[CaseIdentity]:
    """The identities of every live case (of the given countries), read `_LOAD_CHUNK` rows at a
    time by id, each query to its end before its identities are made (decision 75: on SQLite an
    unfinished query holds the read lock, and writers wait behind it)."""
    stmt = select(*_IDENTITY_COLUMNS).where(Case.deleted_at.is_(None)).order_by(Case.id).limit(_LOAD_CHUNK)
    if countries is not None:
        stmt = stmt.where(Case.country.in_(sorted(set(countries))))
    identities: list[CaseIdentity] = []
    after: int | None = None
    while True:
        rows = db.session.execute(stmt if after is None else stmt.where(Case.id > after)).all()
        identities += [_identity(row) for row in rows]
        if len(rows) < _LOAD_CHUNK:
            return identities
        after = rows[-1][0]


def duplicates_of(identity: CaseIdentity) -> list[PossibleDuplicate]:
    """Possible duplicates of one case (a create or edit form, a case page): only the cases of
    its country with a transfer in the same year or a national id are read."""
    same_country = select(*_IDENTITY_COLUMNS).where(Case.deleted_at.is_(None), Case.country == identity.country)
    pool: list[CaseIdentity] = []
    if identity.transfer_year is not None:
        pool += [_identity(row) for row in db.session.execute(
            same_country.where(extract("year", Case.transfer_date) == identity.transfer_year))]
    key = national_id_key(identity.national_id, identity.country)
    if key is not None:
        # Only ids that contain the key as typed, or that have separators, need a closer look
        # (escaped: "_" unescaped in LIKE matches any character, so every id of the country).
        maybe = or_(func.upper(Case.national_id).contains(key, autoescape=True),
                    *(Case.national_id.contains(separator, autoescape=True) for separator in _SEPARATORS))
        ids = [case_id for case_id, national_id in db.session.execute(
            select(Case.id, Case.national_id).where(Case.deleted_at.is_(None), Case.country == identity.country,
                                                    Case.national_id.is_not(None), maybe))
               if national_id_key(national_id, identity.country) == key]
        for start in range(0, len(ids), _CHUNK):
            pool += [_identity(row) for row in db.session.execute(
                same_country.where(Case.id.in_(ids[start:start + _CHUNK])))]
    # A case found both ways (same year and same national id) is one case: list it once.
    unique = list({other.id: other for other in pool}.values())
    return find_duplicates([identity], unique)


def duplicates_counted(user: User, app_testing: bool = False) -> list[PossibleDuplicate] | None:
    """all_duplicates, or None while this process is still building its index (a start page
    does not wait for it; the duplicates page does)."""
    from tracker.services.casework import duplicate_index

    if not app_testing and not duplicate_index.ready():
        return None
    return all_duplicates(user)


def all_duplicates(user: User, across_only: bool = False) -> list[PossibleDuplicate]:
    """The report: every possible duplicate pair among the cases `user` may see (admins: all,
    pairs across federations only with `across_only`), each pair once with its reasons together.
    For a staff user, also the pairs between one of their cases and a case elsewhere: present
    them with `visible_to` (never the other side). The pairs come from the index kept between
    requests (services.casework.duplicate_index)."""
    from tracker.services.casework import duplicate_index

    if user.role not in (Role.ADMIN, Role.STAFF):
        return []
    found = duplicate_index.current_pairs()
    confirmed = confirmed_pairs({i for pair in found for i in pair}) if found else set()
    found = {pair: value for pair, value in found.items() if pair not in confirmed}
    cases = duplicate_index.identities(i for pair in found for i in pair)
    scope = Scope.of(user)
    pairs = []
    for (low, high), (reasons, score) in found.items():
        case, other = cases.get(low), cases.get(high)
        if case is None or other is None:  # deleted since the index was read
            continue
        if not scope.everything:
            if scope.federation_id not in (case.federation_id, other.federation_id):
                continue
            if case.federation_id != scope.federation_id:
                case, other = other, case
        pair = PossibleDuplicate(case, other, tuple(sorted(reasons)), round(score, 3))
        if not across_only or pair.across_federations:
            pairs.append(pair)
    return sorted(pairs, key=_sort_key)


# --- visibility and confirmation --------------------------------------------------------------------

def visible_to(user: User | None, identity: CaseIdentity) -> bool:
    """May `user` see this side of a pair? (None: an operator at the command line.)"""
    if user is None or user.role == Role.ADMIN:
        return True
    return user.role == Role.STAFF and Scope.of(user).may_see(identity.federation_id)


def needs_confirmation(user: User | None, pairs: Iterable[PossibleDuplicate]) -> list[PossibleDuplicate]:
    """The pairs the user must confirm before saving: those they can see in full. Pairs with a
    case of another federation they cannot see are only reported to them."""
    return [p for p in pairs if visible_to(user, p.case) and visible_to(user, p.other)]


def confirm_distinct(actor: User | None, pairs: Iterable[tuple[int, int]], context: str | None = None) -> int:
    """Store pairs of case ids as confirmed different enterprises (already stored ones are
    skipped); each new pair gets an audit entry. Returns the number stored. The caller checks
    that the actor may see both cases (`confirm_pair` does it for one pair)."""
    wanted = {(min(a, b), max(a, b)) for a, b in pairs if a != b}
    if not wanted:
        return 0
    existing = confirmed_pairs({i for pair in wanted for i in pair})
    new = sorted(wanted - existing)
    if not new:
        return 0
    actor_id = actor.id if actor is not None else None
    db.session.execute(insert(DistinctCasePair), [{"case_id": low, "other_case_id": high,
                                                   "confirmed_by_id": actor_id} for low, high in new])
    stored = db.session.execute(select(DistinctCasePair.id, DistinctCasePair.case_id, DistinctCasePair.other_case_id)
                                .where(tuple_(DistinctCasePair.case_id, DistinctCasePair.other_case_id).in_(new)))
    for pair_id, low, high in stored:
        entry = {"case_id": [None, low], "other_case_id": [None, high]}
        db.session.add(_audit_entry(actor, pair_id, entry, context))
    db.session.flush()
    return len(new)


def _audit_entry(actor: User | None, pair_id: int, changes: dict[str, list[Any]], context: str | None) -> AuditEntry:
    return AuditEntry(user_id=actor.id if actor is not None else None, table_name=DistinctCasePair.__tablename__,
                      row_id=pair_id, action="confirm_distinct", changes=changes, context=context)


def confirm_pair(actor: User, case_id: int, other_id: int) -> bool:
    """Confirm that two cases are different enterprises. Raises NotFound when either case does
    not exist, is deleted or is not visible to `actor` (another federation's case is not
    disclosed), DomainError when they are the same case. Returns False when already confirmed."""
    from tracker.services.permissions import can

    if case_id == other_id:
        raise DomainError(_("A case cannot be a duplicate of itself."))
    cases = db.session.scalars(select(Case).where(Case.id.in_([case_id, other_id]))).all()
    if len(cases) != 2 or any(c.deleted_at is not None or not can(actor, "case.view", c) for c in cases):
        raise NotFound(_("No such pair of cases."))
    if not all(can(actor, "case.edit", c) for c in cases):
        raise PermissionDenied(_("You may not confirm this pair."))
    return confirm_distinct(actor, [(case_id, other_id)]) == 1


__all__ = ["CaseIdentity", "NAME_SIMILARITY", "PossibleDuplicate", "all_duplicates", "confirm_distinct",
           "confirm_pair", "duplicates_of", "find_duplicates", "identity_of", "load_cases", "name_similarity",
           "name_words", "national_id_key", "needs_confirmation", "visible_to"]
