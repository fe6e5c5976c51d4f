"""Read the columns the statistics need, for every case a user may see, as numpy arrays.

Analytics never load ORM objects. For a file SQLite database and for PostgreSQL the columns are
read through ADBC into Arrow (a million cases in about a second, where row-by-row fetching takes
several); an in-memory SQLite database (tests) or another dialect falls back to SQLAlchemy Core.
Both paths return the same `CaseFrame`; tests compare them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Select, select
from sqlalchemy.engine import URL

from tracker.extensions import db
from tracker.models import Case, Federation
from tracker.survival import CaseArrays

DATE_COLUMNS = ("transfer_date", "registered_on", "last_verified_on", "exit_date")
TEXT_COLUMNS = ("exit_reason", "transfer_type", "country", "region", "nace_section")
INT_COLUMNS = ("federation_id", "employees")
COLUMNS = (*DATE_COLUMNS, *TEXT_COLUMNS, *INT_COLUMNS)


@dataclass(frozen=True, eq=False)
class CaseFrame:
    """One entry per (non-deleted, visible) case: the survival inputs and the fields used to
    group, filter and match baselines. Text columns are object arrays with None for missing;
    `employees` is float with NaN for missing."""

    cases: CaseArrays
    transfer_type: np.ndarray
    country: np.ndarray
    region: np.ndarray
    nace_section: np.ndarray
    federation: np.ndarray  # federation code
    employees: np.ndarray

    def __len__(self) -> int:
        return len(self.cases)

    def subset(self, mask: np.ndarray) -> CaseFrame:
        return CaseFrame(cases=self.cases.subset(mask), transfer_type=self.transfer_type[mask],
                         country=self.country[mask], region=self.region[mask],
                         nace_section=self.nace_section[mask], federation=self.federation[mask],
                         employees=self.employees[mask])

    @property
    def transfer_year(self) -> np.ndarray:
        dates = self.cases.transfer_date
        return np.where(np.isnat(dates), 0, dates.astype("datetime64[Y]").astype(np.int64) + 1970)


def case_columns_query(federation_id: int | None) -> Select:
    """The analysis columns of non-deleted cases (of one federation when given)."""
    stmt = select(*(getattr(Case, c).label(c) for c in COLUMNS)).where(Case.deleted_at.is_(None))
    if federation_id is not None:
        stmt = stmt.where(Case.federation_id == federation_id)
    return stmt


def load_case_frame(federation_id: int | None = None) -> CaseFrame:
    """All visible cases' analysis columns (committed data)."""
    stmt = case_columns_query(federation_id)
    columns = _read_adbc(stmt) if adbc_available() else None
    if columns is None:
        rows = db.session.execute(stmt).all()
        frame = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
        columns = {c: frame[c].to_numpy() for c in COLUMNS}
        columns.update({c: _dates(columns[c]) for c in DATE_COLUMNS})
        columns.update({c: _text(columns[c]) for c in TEXT_COLUMNS})
    return _frame(columns)


def _frame(columns: dict[str, np.ndarray]) -> CaseFrame:
    codes = {fid: code for fid, code in db.session.execute(select(Federation.id, Federation.code))}
    fed_ids = np.asarray(columns["federation_id"], dtype=float).astype(np.int64)
    unique_ids, inverse = np.unique(fed_ids, return_inverse=True)
    federation = np.asarray([codes.get(int(i)) for i in unique_ids], dtype=object)[inverse.ravel()]
    employees = np.asarray(columns["employees"], dtype=float)
    return CaseFrame(
        cases=CaseArrays(**{c: columns[c] for c in DATE_COLUMNS}, exit_reason=columns["exit_reason"]),
        transfer_type=columns["transfer_type"], country=columns["country"], region=columns["region"],
        nace_section=columns["nace_section"], federation=federation, employees=employees)


def _dates(values: np.ndarray) -> np.ndarray:
    """date objects (None for missing) → datetime64[D] with NaT."""
    if values.dtype.kind == "M":
        return values.astype("datetime64[D]")
    return np.asarray(values, dtype="datetime64[D]")


def _text(values: np.ndarray) -> np.ndarray:
    """Enum members or strings (None for missing) → object array of plain strings and None."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    lookup = np.asarray([getattr(u, "value", u) for u in uniques] + [None], dtype=object)
    return lookup[codes]


def adbc_available() -> bool:
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        return bool(url.database) and url.database != ":memory:" and not url.database.startswith("file::memory")
    return url.get_backend_name() == "postgresql"


def _read_adbc(stmt: Select) -> dict[str, np.ndarray] | None:
    """Run `stmt` through ADBC and return its columns; None when ADBC is not installed."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - the dependency is declared
        return None
    url: URL = db.engine.url
    sql = str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    if url.get_backend_name() == "sqlite":
        import adbc_driver_sqlite.dbapi as driver

        connection = driver.connect(f"file:{url.database}?mode=ro")
        # One batch for the whole result: the driver infers each column's type from its first
        # batch, and a first batch of NULLs followed by text would be an error.
        options = {"adbc.sqlite.query.batch_rows": str(10**9)}
    else:
        import adbc_driver_postgresql.dbapi as driver

        connection = driver.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
        options = {}
    with connection, connection.cursor() as cursor:
        if options:
            cursor.adbc_statement.set_options(**options)
        cursor.execute(sql)
        table: pa.Table = cursor.fetch_arrow_table()
    columns = {name: _arrow_to_numpy(table.column(name)) for name in COLUMNS}
    columns.update({c: _arrow_dates(table.column(c)) for c in DATE_COLUMNS})
    return columns


def _arrow_dates(column: Any) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_null(column.type):
        return np.full(len(column), np.datetime64("NaT"), dtype="datetime64[D]")
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        column = pc.cast(column, pa.date32())
    return column.to_numpy(zero_copy_only=False).astype("datetime64[D]")


def _arrow_to_numpy(column: Any) -> np.ndarray:
    """Arrow column → numpy, vectorised: dates parsed by Arrow, text dictionary-encoded."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    if pa.types.is_integer(column.type) or pa.types.is_null(column.type):
        return column.to_numpy(zero_copy_only=False).astype(float)
    if pa.types.is_date(column.type):
        return column.to_numpy(zero_copy_only=False).astype("datetime64[D]")
    encoded = pc.dictionary_encode(column)
    lookup = np.asarray(encoded.dictionary.to_pylist() + [None], dtype=object)
    indices = encoded.indices.fill_null(len(lookup) - 1).to_numpy(zero_copy_only=False)
    return lookup[indices]
