"""Read the columns the statistics need, for every visible case, as numpy arrays.

Analytics never load ORM objects. For a file SQLite database and for PostgreSQL the columns are
read through ADBC into Arrow, split by id range over one reader thread per core (a million cases
in about a second, where row-by-row fetching through SQLAlchemy takes ~30 s); an in-memory SQLite
database (tests) or another dialect falls back to SQLAlchemy Core. Both paths return the same
`CaseFrame`; tests compare them. SQLite is read by a helper process (services.analytics.sqlite_reader):
the ADBC driver's own copy of SQLite must not share this process with Python's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import adbc_driver_postgresql.dbapi as adbc_postgresql
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Select, func, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from tracker.extensions import db
from tracker.models import Case, Federation
from tracker.services.analytics import sqlite_reader
from tracker.survival import CaseArrays

CASE_DATE_COLUMNS = ("transfer_date", "registered_on", "last_verified_on", "exit_date")  # CaseArrays' dates
DATE_COLUMNS = (*CASE_DATE_COLUMNS, "founded_on")
TEXT_COLUMNS = ("exit_reason", "transfer_type", "country", "region", "nace_section")
INT_COLUMNS = ("id", "federation_id", "employees")
COLUMNS = (*DATE_COLUMNS, *TEXT_COLUMNS, *INT_COLUMNS)
# Below this many cases one reader is as fast as several.
PARALLEL_FROM = 50_000
_MIN_ID, _MAX_ID = -(2**62), 2**62  # an id range that holds every id
# The Arrow type each column is read as, whatever a range's rows hold.
ARROW_TYPES = {**dict.fromkeys(DATE_COLUMNS, pa.date32()), **dict.fromkeys(TEXT_COLUMNS, pa.string()),
               **dict.fromkeys(INT_COLUMNS, pa.int64())}


@dataclass(frozen=True, eq=False)
class Coded:
    """A text column as integer codes (-1: missing) into `categories`."""

    codes: np.ndarray
    categories: np.ndarray

    def values(self) -> np.ndarray:
        """Object array of str, None where missing."""
        return np.append(self.categories, np.array([None], dtype=object)).astype(object)[self.codes]

    def subset(self, mask: np.ndarray) -> Coded:
        return Coded(self.codes[mask], self.categories)

    def concat(self, other: Coded) -> Coded:
        """This column followed by `other`, coded into the union of both categories."""
        categories = list(self.categories)
        position = {value: i for i, value in enumerate(categories)}
        remap = np.full(len(other.categories) + 1, -1, dtype=np.int64)  # the last entry serves code -1
        for j, value in enumerate(other.categories):
            remap[j] = position.setdefault(value, len(categories))
            if remap[j] == len(categories):
                categories.append(value)
        return Coded(np.concatenate([self.codes, remap[other.codes]]), np.asarray(categories, dtype=object))


def _shown(name: str) -> cached_property:
    """A CaseFrame text field: its coded column as values, computed once."""
    return cached_property(lambda frame: frame.coded[name].values())


@dataclass(frozen=True, eq=False)
class CaseFrame:
    """One entry per visible (non-deleted) case: the survival inputs and the fields used to group,
    filter and match baselines. Text fields are kept coded (`coded`) and shown as object arrays
    (None for missing) only when asked for, so cutting or updating a frame copies integers;
    `employees` is float with NaN for missing; `founded_on` datetime64[D] with NaT for missing."""

    cases: CaseArrays
    ids: np.ndarray  # case id of each entry
    federation_id: np.ndarray
    employees: np.ndarray
    coded: Mapping[str, Coded]
    federation_codes: Mapping[int, str]  # federation id -> code
    founded_on: np.ndarray

    def __len__(self) -> int:
        return len(self.cases)

    # Object arrays of str (None for missing), made from the codes when first asked for.
    transfer_type = _shown("transfer_type")
    country = _shown("country")
    region = _shown("region")
    nace_section = _shown("nace_section")

    @cached_property
    def federation(self) -> np.ndarray:
        """Federation code of each entry."""
        if not len(self.federation_id):
            return np.empty(0, dtype=object)
        lookup = np.full(max(int(self.federation_id.max()), max(self.federation_codes, default=0)) + 2, None,
                         dtype=object)  # the last entry serves id -1
        for fid, code in self.federation_codes.items():
            lookup[fid] = code
        return lookup[self.federation_id]

    def subset(self, mask: np.ndarray) -> CaseFrame:
        return CaseFrame(cases=self.cases.subset(mask), ids=self.ids[mask], federation_id=self.federation_id[mask],
                         employees=self.employees[mask], coded={name: c.subset(mask) for name, c in self.coded.items()},
                         federation_codes=self.federation_codes, founded_on=self.founded_on[mask])

    def updated(self, changed: CaseFrame, deleted_ids: np.ndarray) -> tuple[CaseFrame, np.ndarray]:
        """This frame with the entries of `changed` (written since) replacing or joining its own, and
        those of `deleted_ids` left out. Also returns which of its own entries were kept (the
        changed ones follow them, in their order)."""
        keep = ~np.isin(self.ids, np.concatenate([changed.ids, np.asarray(deleted_ids, dtype=np.int64)]))
        old = self if keep.all() else self.subset(keep)
        both = CaseArrays(**{name: np.concatenate([getattr(old.cases, name), getattr(changed.cases, name)])
                             for name in (*CASE_DATE_COLUMNS, "exit_reason")})
        joined = {name: np.concatenate([getattr(old, name), getattr(changed, name)])
                  for name in ("ids", "federation_id", "employees", "founded_on")}
        return CaseFrame(cases=both, **joined,
                         coded={name: old.coded[name].concat(changed.coded[name]) for name in TEXT_COLUMNS},
                         federation_codes=changed.federation_codes), keep

    @property
    def transfer_year(self) -> np.ndarray:
        dates = self.cases.transfer_date
        return np.where(np.isnat(dates), 0, dates.astype("datetime64[Y]").astype(np.int64) + 1970)


def case_columns_query(federation_id: int | None = None) -> Select:
    """The analysis columns of non-deleted cases (of one federation when given)."""
    stmt = select(*(getattr(Case, c).label(c) for c in COLUMNS)).where(Case.deleted_at.is_(None))
    if federation_id is not None:
        stmt = stmt.where(Case.federation_id == federation_id)
    return stmt


def load_case_frame(federation_id: int | None = None) -> CaseFrame:
    """All visible cases' analysis columns (committed data), in no particular order."""
    return _load(case_columns_query(federation_id), parallel=True)


def load_changes(since: int) -> tuple[CaseFrame, np.ndarray]:
    """The cases written after data version `since` (see Case.changed_in): the visible ones as a
    frame, and the ids of those now deleted."""
    frame = _load(case_columns_query().where(Case.changed_in > since), parallel=False)
    deleted = db.session.scalars(select(Case.id).where(Case.changed_in > since, Case.deleted_at.is_not(None))).all()
    return frame, np.asarray(deleted, dtype=np.int64)


def count_visible() -> int:
    return db.session.scalar(select(func.count()).select_from(Case).where(Case.deleted_at.is_(None))) or 0


def _load(stmt: Select, parallel: bool) -> CaseFrame:
    if adbc_available():
        columns = _read_adbc(stmt, parallel)
    else:
        rows = db.session.execute(stmt.order_by(Case.id)).all()
        frame = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
        columns = {c: frame[c].to_numpy() for c in COLUMNS}
        columns.update({c: np.asarray(columns[c], dtype="datetime64[D]") for c in DATE_COLUMNS})
        columns.update({c: _coded_objects(columns[c]) for c in TEXT_COLUMNS})
    return _frame(columns)


def _frame(columns: dict[str, Any]) -> CaseFrame:
    fed_ids = np.nan_to_num(np.asarray(columns["federation_id"], dtype=float), nan=-1).astype(np.int64)
    return CaseFrame(
        cases=CaseArrays(**{c: columns[c] for c in CASE_DATE_COLUMNS}, exit_reason=columns["exit_reason"].values()),
        ids=np.asarray(columns["id"], dtype=np.int64), federation_id=fed_ids,
        employees=np.asarray(columns["employees"], dtype=float),
        coded={c: columns[c] for c in TEXT_COLUMNS},
        federation_codes={fid: code for fid, code in db.session.execute(select(Federation.id, Federation.code))},
        founded_on=np.asarray(columns["founded_on"], dtype="datetime64[D]"))


def _coded_objects(values: np.ndarray) -> Coded:
    """Enum members or strings (None for missing) → Coded."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    return Coded(codes.astype(np.int64), np.asarray([getattr(u, "value", u) for u in uniques], dtype=object))


def adbc_available() -> bool:
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database
        return database is not None and database not in ("", ":memory:") and not database.startswith("file::memory")
    return url.get_backend_name() == "postgresql"


def _id_ranges(stmt: Select) -> list[tuple[int, int]]:
    # Two queries: SQLite answers min() or max() alone from the primary key, both together by a full scan.
    low = db.session.scalar(select(func.min(Case.id)))
    high = db.session.scalar(select(func.max(Case.id)))
    if low is None:
        return [(0, 0)]
    parts = max(1, min(os.cpu_count() or 1, 8)) if high - low >= PARALLEL_FROM else 1
    step = (high - low) // parts + 1
    return [(low + i * step, low + (i + 1) * step) for i in range(parts)]


def _read_adbc(stmt: Select, parallel: bool) -> dict[str, Any]:
    """Run `stmt` through ADBC (one id range per thread if `parallel`) and convert the columns.
    SQLite is read in a helper process (see services.analytics.sqlite_reader), PostgreSQL here."""
    url: URL = db.engine.url
    dialect = db.engine.dialect

    def sql_for(bounds: tuple[int, int]) -> str:
        # No ORDER BY: a frame is a set of cases, and sorting would cost PostgreSQL more than the read.
        part = stmt.where(Case.id >= bounds[0], Case.id < bounds[1])
        return str(part.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))

    def read_postgresql(sql: str) -> pa.Table:
        uri = url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            with adbc_postgresql.connect(uri) as connection, connection.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetch_arrow_table()
        except adbc_postgresql.Error as exc:
            # As SQLAlchemy wraps the session's driver errors, so that the database being down
            # (services.ops.availability) is told apart from a bug here too.
            raise DBAPIError.instance(sql, None, exc, adbc_postgresql.Error) from exc

    ranges = _id_ranges(stmt) if parallel else [(_MIN_ID, _MAX_ID)]
    queries = [sql_for(bounds) for bounds in ranges]
    if url.get_backend_name() == "sqlite":
        assert url.database is not None  # a file: adbc_available() said so
        tables = sqlite_reader.read_tables(url.database, queries, DATE_COLUMNS)
    elif len(queries) == 1:
        tables = [read_postgresql(queries[0])]
    else:
        with ThreadPoolExecutor(max_workers=len(queries)) as pool:
            tables = list(pool.map(read_postgresql, queries))
    tables = [_declared(t) for t in tables if t.num_rows] or [_declared(tables[0])]
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    columns: dict[str, Any] = {}
    for name in COLUMNS:
        column = table.column(name)
        if name in DATE_COLUMNS:
            columns[name] = _arrow_dates(column)
        elif name in TEXT_COLUMNS:
            columns[name] = _arrow_coded(column)
        else:
            columns[name] = column.to_numpy().astype(float)
    return columns


def _declared(table: pa.Table) -> pa.Table:
    """The analysis columns of one range's result, each as its declared type (ARROW_TYPES). A
    driver types a column by the values it sees, so one that is NULL on every row of the range
    (open cases with no exit, cases without region) comes back as int64 or null."""
    columns = []
    for name in COLUMNS:
        column, wanted = table.column(name), ARROW_TYPES[name]
        if column.type != wanted:
            column = (pa.chunked_array([pa.nulls(len(column), wanted)]) if column.null_count == len(column)
                      else pc.cast(column, wanted))
        columns.append(column)
    return pa.Table.from_arrays(columns, names=list(COLUMNS))


def _arrow_dates(column: Any) -> np.ndarray:
    if pa.types.is_null(column.type):
        return np.full(len(column), np.datetime64("NaT"), dtype="datetime64[D]")
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        column = pc.cast(column, pa.date32())
    return column.to_numpy().astype("datetime64[D]")


def _arrow_coded(column: Any) -> Coded:
    """Low-cardinality text → codes into its distinct values, computed by Arrow."""
    if pa.types.is_null(column.type):
        return Coded(np.full(len(column), -1, dtype=np.int64), np.empty(0, dtype=object))
    if hasattr(column, "combine_chunks"):
        column = column.combine_chunks()
    encoded = pc.dictionary_encode(column)
    categories = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    return Coded(encoded.indices.fill_null(-1).to_numpy().astype(np.int64), categories)
