"""The possible duplicates among every live case, kept between requests and refreshed with what
changed, so the report (`duplicates.all_duplicates`) does not compare 300,000 cases each time.

The index holds, per live case, the keys of the two rules of `services.casework.duplicates`
(country + normalised national id; country + transfer year + number words of the name, with the
normalised name), the blocks of cases sharing a key, and the pairs found in each block. It is
keyed by the data version (`services.analytics.data_version`): a write stamps the cases it
touches (`Case.changed_in`), and the next report re-reads only those, moves them between blocks
and compares again only the blocks they left or joined. Confirmed-distinct pairs are left out
when the report is read (they are not part of the data version). One index per process and
database; a lock keeps two requests from building it at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import extract, select

from tracker.extensions import db
from tracker.models import Case
from tracker.services.analytics import data_version
from tracker.services.casework import duplicates as rules

IdKey = tuple[str, str]  # (country, national id key)
NameKey = tuple[str, int, frozenset[str]]  # (country, transfer year, number words)
Pair = tuple[int, int]  # (low case id, high case id)


@dataclass(frozen=True)
class _Entry:
    name: str
    id_key: IdKey | None
    name_key: NameKey | None
    text: str  # the normalised name words, joined


@dataclass
class _Index:
    identity: tuple[str, int]
    entries: dict[int, _Entry] = field(default_factory=dict)
    id_blocks: dict[IdKey, set[int]] = field(default_factory=dict)
    name_blocks: dict[NameKey, set[int]] = field(default_factory=dict)
    id_pairs: dict[IdKey, dict[Pair, float]] = field(default_factory=dict)
    name_pairs: dict[NameKey, dict[Pair, float]] = field(default_factory=dict)

    def add(self, case_id: int, country: str, name: str, national_id: str | None, year: int | None) -> None:
        key = rules.national_id_key(national_id, country)
        # Uncached: a build reads every name once, so the LRU cache of name_words would only churn.
        words = _name_words(name) if year is not None else ()
        entry = _Entry(name, (country, key) if key is not None else None,
                       (country, int(year), rules._numbers(words)) if year is not None else None, " ".join(words))
        self.entries[case_id] = entry
        if entry.id_key is not None:
            self.id_blocks.setdefault(entry.id_key, set()).add(case_id)
        if entry.name_key is not None:
            self.name_blocks.setdefault(entry.name_key, set()).add(case_id)

    def remove(self, case_id: int) -> _Entry | None:
        entry = self.entries.pop(case_id, None)
        if entry is not None:
            if entry.id_key is not None:
                self.id_blocks[entry.id_key].discard(case_id)
            if entry.name_key is not None:
                self.name_blocks[entry.name_key].discard(case_id)
        return entry

    def compare_id_block(self, key: IdKey) -> None:
        members = sorted(self.id_blocks.get(key, ()))
        found = {(a, b): rules.name_similarity(self.entries[a].name, self.entries[b].name)
                 for i, a in enumerate(members) for b in members[i + 1:]}
        self._store(self.id_pairs, key, found)

    def compare_name_block(self, key: NameKey) -> None:
        found: dict[Pair, float] = {}

        def add(i: int, j: int, _reason: str, score: float) -> None:
            found[(min(i, j), max(i, j))] = score

        rules._compare_block([(case_id, self.entries[case_id].text) for case_id in self.name_blocks.get(key, ())],
                             add)
        self._store(self.name_pairs, key, found)

    @staticmethod
    def _store(store: dict[Any, dict[Pair, float]], key: Any, found: dict[Pair, float]) -> None:
        if found:
            store[key] = found
        else:
            store.pop(key, None)

    def pairs(self) -> dict[Pair, tuple[set[str], float]]:
        out: dict[Pair, tuple[set[str], float]] = {}
        for reason, store in ((rules.REASON_NATIONAL_ID, self.id_pairs), (rules.REASON_NAME, self.name_pairs)):
            for found in store.values():
                for pair, score in found.items():
                    reasons, best = out.get(pair, (set(), 0.0))
                    reasons.add(reason)
                    out[pair] = (reasons, max(best, score))
        return out


_name_words = rules.name_words.__wrapped__

_COLUMNS = (Case.id, Case.country, Case.name, Case.national_id, extract("year", Case.transfer_date))
_CHUNK = 20_000  # rows read at a time by a build
_lock = threading.Lock()
_indexes: dict[str, _Index] = {}


def _database_key() -> str:
    return db.engine.url.render_as_string(hide_password=True)


def _live_rows() -> Iterator[Any]:
    """Every live case's columns, read `_CHUNK` rows at a time by id, each chunk to its end.

    Not one streamed query: on SQLite an unfinished query holds the database's read lock, and the
    build works on the rows for seconds (tens under load). Every writer then waited to commit,
    and while a writer waits no new reader gets in: the other requests failed with "database is
    locked" after their 5 s. A case written between two chunks is stamped with a later version
    than the index's, so the next read of the index applies it again (`_refresh`)."""
    after: int | None = None
    while True:
        stmt = select(*_COLUMNS).where(Case.deleted_at.is_(None)).order_by(Case.id).limit(_CHUNK)
        if after is not None:
            stmt = stmt.where(Case.id > after)
        rows = db.session.execute(stmt).all()
        yield from rows
        if len(rows) < _CHUNK:
            return
        after = rows[-1][0]


def _build(identity: tuple[str, int]) -> _Index:
    index = _Index(identity)
    for case_id, country, name, national_id, year in _live_rows():
        index.add(case_id, country, name, national_id, year)
    for id_key in index.id_blocks:
        if len(index.id_blocks[id_key]) > 1:
            index.compare_id_block(id_key)
    for name_key in index.name_blocks:
        if len(index.name_blocks[name_key]) > 1:
            index.compare_name_block(name_key)
    return index


def _refresh(index: _Index, identity: tuple[str, int]) -> None:
    """Apply the cases written since the index's version: re-keyed, and their blocks compared again."""
    changed = db.session.execute(select(*_COLUMNS, Case.deleted_at).where(Case.changed_in > index.identity[1]))
    touched_ids: set[IdKey] = set()
    touched_names: set[NameKey] = set()
    for case_id, country, name, national_id, year, deleted_at in changed:
        old = index.remove(case_id)
        if old is not None:
            touched_ids.update([old.id_key] if old.id_key else [])
            touched_names.update([old.name_key] if old.name_key else [])
        if deleted_at is None:
            index.add(case_id, country, name, national_id, year)
            new = index.entries[case_id]
            touched_ids.update([new.id_key] if new.id_key else [])
            touched_names.update([new.name_key] if new.name_key else [])
    for id_key in touched_ids:
        index.compare_id_block(id_key)
    for name_key in touched_names:
        index.compare_name_block(name_key)
    index.identity = identity


def current_pairs() -> dict[Pair, tuple[set[str], float]]:
    """Every possible duplicate pair among the live cases, {(low id, high id): (reasons, name
    similarity)}, confirmed-distinct pairs included (the caller leaves them out)."""
    identity = data_version.identity()
    key = _database_key()
    with _lock:
        index = _indexes.get(key)
        if index is None or index.identity[0] != identity[0] or index.identity[1] > identity[1]:
            index = _indexes[key] = _build(identity)
        elif index.identity != identity:
            _refresh(index, identity)
        return index.pairs()


def ready() -> bool:
    """Is this process's index built (possibly a few writes behind, refreshed when read)?"""
    return _database_key() in _indexes


def forget() -> None:
    """Drop every index (tests, a restore)."""
    with _lock:
        _indexes.clear()


def identities(case_ids: Iterable[int]) -> dict[int, rules.CaseIdentity]:
    """The identities of these cases, read in chunks."""
    ids = sorted(set(case_ids))
    out: dict[int, rules.CaseIdentity] = {}
    for start in range(0, len(ids), 900):
        rows = db.session.execute(select(*rules._IDENTITY_COLUMNS).where(Case.id.in_(ids[start:start + 900])))
        out.update((row[0], rules._identity(row)) for row in rows)
    return out


_warming: set[str] = set()
_warming_lock = threading.Lock()


def warm(app: Any) -> None:
    """Build this process's index in a background thread, once per database, so the first
    duplicates page of the secretariat or staff does not wait for it (called at the first
    request of an admin or staff user; never in tests, where every test has its own database)."""
    if app.testing:
        return
    key = _database_key()
    # Not `_lock`: the build holds it for seconds (tens under load), and every request of an
    # admin or staff user comes through here first.
    with _warming_lock:
        if key in _warming or key in _indexes:
            return
        _warming.add(key)

    def build() -> None:
        from tracker.services.ops.availability import unavailable_reason

        with app.app_context():
            try:
                current_pairs()
            except Exception as exc:
                reason = unavailable_reason(exc)
                if reason is None:  # a bug: its traceback
                    raise
                app.logger.warning("duplicate index not built (%s); tried again at the next request", reason)
            finally:
                # Built, or not (the database went away): either way a later request may start it again.
                with _warming_lock:
                    _warming.discard(key)
                db.session.remove()

    threading.Thread(target=build, name="duplicate-index", daemon=True).start()
