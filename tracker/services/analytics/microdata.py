"""Anonymised microdata: the analysis data set of a selection, for R and Stata.

`microdata(user, query)` selects exactly the cases the survival figures of the same query use
(the caller's scope, filters, `as_of`, delayed entry; cases the analysis leaves out are counted in
the README, not listed) and writes a zip with

- `microdata.csv` and `microdata.dta` (Stata 14+, pandas `to_stata`, with variable labels and
  value labels): one row per case, the columns of `VARIABLES`;
- `codebook.csv`: variable, label, units, values;
- `README.txt`: the selection, `as_of`, the edition, the counts and how to read the files.

No personal or identifying field leaves the app: no ref, name, national id, region, contact,
notes, exact dates or head count. A case is named by a pseudonymous `id`: a keyed BLAKE2b hash
of its database id, keyed by the app's secret and the edition (the data version of the
registry), so two downloads of one edition (any selections) give a case the same id — they can be
merged — while ids of different editions cannot be linked. Rows are sorted by that id, so their
order says nothing of the order cases were entered in.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tracker.models import User
from tracker.services.analytics import data_version
from tracker.services.analytics.queries import case_frame, filter_mask, labels, scope_of
from tracker.services.analytics.survival_query import SurvivalQuery
from tracker.survival import EXCLUSION_REASONS, age_at_transfer, age_band_labels, prepare_followup

#: What a Stata/R user sees of each exit type (`exit_type`).
EXIT_TYPES: dict[float, str] = {0: "censored", 1: "closure", 2: "loss of the cooperative form"}
EVENT_VALUES: dict[float, str] = {0: "censored", 1: "event"}
#: The query parameters that choose the cases (the others shape estimates, not the data set).
SELECTION_PARAMETERS = ("as_of", "delayed_entry", "where", "cohort_bands")


@dataclass(frozen=True)
class Variable:
    name: str
    label: Any  # lazy string, read in the language of the moment
    units: Any
    values: Any = ""


VARIABLES: tuple[Variable, ...] = (
    Variable("id", _l("Pseudonymous case id (stable within one edition)"), "", _l("16 hexadecimal characters")),
    Variable("federation", _l("Federation code"), "", ""),
    Variable("country", _l("Country (ISO 3166-1 alpha-2)"), "", ""),
    Variable("nace_section", _l("NACE Rev. 2 section"), "", _l("A to U; unknown: not recorded")),
    Variable("size_class", _l("Employees at transfer, class"), _l("employees"), "0-9; 10-49; 50-249; 250+; unknown"),
    Variable("transfer_type", _l("Transfer type"), "", "succession; rescue; conversion; other"),
    Variable("cohort", _l("Cohort (transfer year)"), _l("year"), ""),
    Variable("cohort_band", _l("Cohort band"), "", ""),
    Variable("founded_year", _l("Year the enterprise was founded"), _l("year"), _l("empty: not recorded")),
    Variable("age_at_transfer", _l("Age of the enterprise at the transfer"), _l("years (days / 365.25)"),
             _l("empty: not recorded")),
    Variable("age_band", _l("Age at transfer, band"), _l("years"), "<5; 5-19; 20+; unknown"),
    Variable("entry", _l("Entry into the risk set (delayed entry)"), _l("years since the transfer"), ""),
    Variable("time", _l("End of follow-up"), _l("years since the transfer"), ""),
    Variable("event_enterprise", _l("Event, enterprise endpoint (closure)"), "", "0 = censored; 1 = event"),
    Variable("event_cooperative", _l("Event, cooperative endpoint (any exit)"), "", "0 = censored; 1 = event"),
    Variable("exit_type", _l("How follow-up ended (competing outcomes)"), "",
             "0 = censored; 1 = closure; 2 = loss of the cooperative form"),
)
CATEGORICAL = ("federation", "country", "nace_section", "size_class", "transfer_type", "cohort_band", "age_band")


@dataclass(frozen=True)
class Microdata:
    """One download: the zip's bytes, its file name and what it holds."""

    content: bytes
    filename: str
    rows: int
    edition: str


def edition_of() -> str:
    """The edition of the registry (its data version): the ids of one edition are stable."""
    epoch, version = data_version.identity()
    return f"{epoch[:8] or 'v'}-{version}"


def pseudonyms(ids: np.ndarray, edition: str) -> np.ndarray:
    """A keyed hash of each database id (16 hex characters), keyed by the secret and the edition."""
    secret = str(current_app.config.get("SECRET_KEY") or "")
    key = hashlib.blake2b(f"microdata:{edition}".encode(), key=secret.encode()[:64], digest_size=32).digest()
    return np.array([hashlib.blake2b(int(i).to_bytes(8, "little", signed=True), key=key, digest_size=8).hexdigest()
                     for i in ids], dtype=object)


def data_frame(user: User | None, query: SurvivalQuery) -> tuple[pd.DataFrame, dict[str, int], str]:
    """The rows of the selection (sorted by id), the excluded cases by reason, and the edition."""
    edition = edition_of()
    _version, frame = case_frame(scope_of(user))
    if query.where:
        frame = frame.subset(filter_mask(frame, query.where))
    cases = frame.cases
    enterprise = prepare_followup(cases, query.as_of, "enterprise", query.delayed_entry)
    cooperative = prepare_followup(cases, query.as_of, "cooperative", query.delayed_entry)
    reasons = enterprise.reason_code[~enterprise.included]
    excluded = {name: int((reasons == i + 1).sum()) for i, name in enumerate(EXCLUSION_REASONS)
                if (reasons == i + 1).any()}
    kept = enterprise.included
    sub = frame.subset(kept)
    age = age_at_transfer(sub.founded_on, sub.cases.transfer_date)
    founded = sub.founded_on
    founded_year = pd.array(np.where(np.isnat(founded), 0, founded.astype("datetime64[Y]").astype(np.int64) + 1970),
                            dtype="Int64")
    founded_year[np.isnat(founded)] = pd.NA
    columns: dict[str, Any] = {
        "id": pseudonyms(sub.ids, edition),
        "federation": labels(sub, "federation"),
        "country": labels(sub, "country"),
        "nace_section": labels(sub, "nace_section"),
        "size_class": labels(sub, "size_class"),
        "transfer_type": labels(sub, "transfer_type"),
        "cohort": sub.transfer_year.astype(np.int32),
        "cohort_band": labels(sub, "cohort", query.cohort_bands) if query.cohort_bands else None,
        "founded_year": founded_year,
        "age_at_transfer": age,
        "age_band": age_band_labels(age),
        "entry": enterprise.entry[kept],
        "time": enterprise.stop[kept],
        "event_enterprise": enterprise.event[kept].astype(np.int8),
        "event_cooperative": cooperative.event[kept].astype(np.int8),
        "exit_type": enterprise.cause[kept].astype(np.int8),
    }
    out = pd.DataFrame({name: value for name, value in columns.items() if value is not None})
    for name in ("federation", "country", "nace_section", "size_class", "transfer_type"):
        if name in out:
            out[name] = out[name].where(out[name].notna(), "unknown")
    out = out.sort_values("id", kind="stable").reset_index(drop=True)
    return out, excluded, edition


def variables(frame: pd.DataFrame) -> list[Variable]:
    return [v for v in VARIABLES if v.name in frame.columns]


def codebook_csv(frame: pd.DataFrame) -> bytes:
    rows = [{"variable": v.name, "label": str(v.label), "units": str(v.units), "values": str(v.values)}
            for v in variables(frame)]
    return pd.DataFrame(rows, columns=["variable", "label", "units", "values"]).to_csv(index=False).encode("utf-8")


def stata_bytes(frame: pd.DataFrame) -> bytes:
    """The data set as Stata 14+ .dta: categorical columns as labelled integers (value labels), the
    events and exit type labelled, every variable labelled (80 characters at most)."""
    data = frame.copy()
    for name in CATEGORICAL:
        if name in data and not len(data):  # pandas cannot label an empty column: plain text then
            data[name] = data[name].astype(str)
        elif name in data:
            data[name] = pd.Categorical(data[name].astype(str), categories=sorted(set(data[name].astype(str))))
    data["founded_year"] = data["founded_year"].astype("float64")  # Stata's missing value for the NA years
    buffer = io.BytesIO()
    value_labels: dict[Hashable, dict[float, str]] = {"event_enterprise": EVENT_VALUES,
                                                      "event_cooperative": EVENT_VALUES, "exit_type": EXIT_TYPES}
    data.to_stata(buffer, write_index=False, version=118,
                  variable_labels={v.name: str(v.label)[:80] for v in variables(frame)},
                  value_labels=value_labels,
                  data_label=_("Transfer Tracker microdata")[:80])
    return buffer.getvalue()


def selection_lines(query: SurvivalQuery) -> list[str]:
    params = query.to_params()
    lines = [f"as_of = {query.as_of.isoformat()}",
             f"delayed_entry = {'true' if query.delayed_entry else 'false'}"]
    for name, values in query.where:
        lines.append(f"{name} = {', '.join(values)}")
    if "cohort_bands" in params:
        lines.append(f"cohort_bands = {params['cohort_bands']}")
    if not query.where:
        lines.append(_("(no filter: every case the account may see)"))
    return lines


def readme(query: SurvivalQuery, frame: pd.DataFrame, excluded: Mapping[str, int], edition: str,
           scoped_to: str | None) -> str:
    from tracker import vocabulary

    lines = [
        _("Transfer Tracker: anonymised microdata"),
        "",
        _("Edition: %(edition)s (the state of the registry; ids are stable within one edition)", edition=edition),
        _("Written: %(when)s UTC", when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M")),
        _("Analysis date (as_of): %(as_of)s", as_of=query.as_of.isoformat()),
        "",
        _("Selection (the same rules as the survival figures):"),
        *(f"  {line}" for line in selection_lines(query)),
    ]
    if scoped_to:
        lines.append("  " + _("restricted to the federation %(code)s (your account)", code=scoped_to))
    lines += [
        "",
        _("Cases in the data set: %(n)d", n=len(frame)),
        _("Cases of the selection left out of the analysis (as by the survival figures):"),
        *(f"  {vocabulary.EXCLUSION_REASONS.get(name, name)}: {count}" for name, count in excluded.items()),
    ]
    if not excluded:
        lines.append("  0")
    lines += [
        "",
        _("Definitions: time is in years since the transfer (days / 365.25). A case is at risk on "
          "entry < t <= time. entry is the delayed entry (registration with the federation), 0 "
          "without it. event_enterprise is 1 for a closure (liquidation, dissolution, other); "
          "event_cooperative is 1 for every exit; exit_type gives the competing outcome."),
        _("No personal or identifying field is included: no reference, name, national id, region, "
          "exact date, head count, contact or notes. id is a keyed hash, not the case's reference."),
        "",
        _("Files: microdata.csv (UTF-8), microdata.dta (Stata 14 or later, with variable and value "
          "labels), codebook.csv (variable, label, units, values)."),
        "",
        "R:",
        "  library(survival)",
        '  d <- read.csv("microdata.csv")',
        "  coxph(Surv(entry, time, event_enterprise) ~ transfer_type, data = d, ties = \"efron\")",
        "Stata:",
        "  use microdata.dta, clear",
        "  stset time, enter(time entry) failure(event_enterprise)",
        "  stcox i.transfer_type",
        "",
    ]
    return "\n".join(lines)


def microdata(user: User | None, query: SurvivalQuery) -> Microdata:
    """The zip of the selection's analysis data set (see the module docstring)."""
    frame, excluded, edition = data_frame(user, query)
    scope = scope_of(user)
    scoped_to = getattr(getattr(user, "federation", None), "code", None) if scope is not None else None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("microdata.csv", frame.to_csv(index=False))
        archive.writestr("microdata.dta", stata_bytes(frame))
        archive.writestr("codebook.csv", codebook_csv(frame))
        archive.writestr("README.txt", readme(query, frame, excluded, edition, scoped_to))
    return Microdata(buffer.getvalue(), f"transfer-tracker-microdata-{query.as_of.isoformat()}-{edition}.zip",
                     len(frame), edition)


def microdata_params(query: SurvivalQuery) -> dict[str, str | list[str]]:
    """The parameters of `GET /api/v1/microdata` for the cases of `query` (its selection only)."""
    params = query.to_params()
    keep = {"as_of", "delayed_entry", "cohort_bands", *(name for name, _values in query.where)}
    return {name: value for name, value in params.items() if name in keep}


def microdata_url(query: SurvivalQuery) -> str:
    """The download address of the microdata of `query`'s cases, for pages (e.g. the explorer)."""
    params: dict[str, Any] = dict(microdata_params(query))
    return url_for("api.microdata", **params)


__all__ = ["VARIABLES", "Microdata", "data_frame", "microdata", "microdata_params", "microdata_url"]
