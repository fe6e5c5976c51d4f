"""One survival query and its parameters: `SurvivalQuery.from_params(mapping)` reads the request
parameters of `GET /api/v1/survival`, of the explorer's address and of `tracker survival` (as text),
validates every one and names the one at fault (`InvalidParameter`); `.to_params()` gives them back,
so `SurvivalQuery.from_params(q.to_params()) == q` and a link or bookmark holds the whole selection.

Parameters (docs/design.md, "Interfaces"): `as_of`, `endpoint`, `group_by`, `horizons`,
`delayed_entry` (`no_delayed_entry` too), `cohort_bands`, `baselines`, `rmst_tau`, `model` with
`covariates`, filters as `where=FIELD=VALUE[,VALUE...]`
(repeatable) or directly as `FIELD=VALUE` (repeatable, also comma-separated: how an HTML form's
checkboxes send them), and a cohort range as `cohort=2008-2014` or as `cohort_from`/`cohort_to`.
Values of one filter are alternatives (or), filters combine (and). A parameter not known here is
refused (never silently ignored), except the names a caller says it handles itself (`allow`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any

import numpy as np
from flask_babel import gettext

from tracker.i18n import COOKIE as LANGUAGE_PARAMETER  # ?lang=xx, which any page may carry
from tracker.models import TransferType
from tracker.services.errors import InvalidParameter
from tracker.services.reference import is_country
from tracker.survival import (
    AGE_BAND_VALUES,
    DEFAULT_HORIZONS,
    DEFAULT_RMST_TAU,
    GROUP_FIELDS,
    AnalysisOptions,
    InvalidSurvivalOptions,
    cohort_labels,
    parse_horizons,
)

ENDPOINT_CHOICES = ("enterprise", "cooperative")
FILTER_FIELDS = ("transfer_type", "country", "region", "nace_section", "cohort", "federation", "size_class",
                 "age_band")
SIZE_CLASS_VALUES = ("0-9", "10-49", "50-249", "250+", "unknown")
MODELS = ("cox",)
#: Numeric Cox covariates (the grouping fields are the categorical ones).
NUMERIC_COVARIATES = ("log_employees", "age_at_transfer")
YEAR_MIN, YEAR_MAX = 1900, 2100
_YEAR_RANGE = re.compile(r"^(\d{4})(?:-(\d{4}))?$")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")

Where = tuple[tuple[str, tuple[str, ...]], ...]


# --- reading one value -------------------------------------------------------------------------

def parse_date_param(name: str, text: str) -> date:
    """A date parameter (as_of, …): YYYY-MM-DD, from 1900 (no case has an earlier date)."""
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidParameter(name, gettext("'%(value)s' is not a date in the form YYYY-MM-DD",
                                             value=text[:40])) from None
    if value.year < YEAR_MIN:
        raise InvalidParameter(name, gettext("%(date)s is before %(year)d", date=value.isoformat(), year=YEAR_MIN))
    return value


def parse_bool_param(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidParameter(name, gettext("'%(value)s' is not true or false", value=text[:40]))


def parse_year(name: str, text: str) -> int:
    value = text.strip()
    if not re.fullmatch(r"\d{4}", value) or not YEAR_MIN <= int(value) <= YEAR_MAX:
        raise InvalidParameter(name, gettext("'%(value)s' is not a year between %(first)d and %(last)d",
                                             value=value[:40], first=YEAR_MIN, last=YEAR_MAX))
    return int(value)


def parse_year_range(name: str, text: str) -> tuple[int, int]:
    match = _YEAR_RANGE.match(text.strip())
    if not match:
        raise InvalidParameter(name, gettext("'%(value)s' is not a year (2012) or a range of years (2008-2014)",
                                               value=text[:40]))
    start = int(match.group(1))
    end = int(match.group(2) or start)
    if end < start:
        raise InvalidParameter(name, gettext("'%(value)s' ends before it starts", value=text[:40]))
    return start, end


def check_filter_value(parameter: str, name: str, value: str) -> str:
    """One filter value, canonical (upper-case codes, cohort as START-END), or InvalidParameter
    naming `parameter` (`where`, or the filter's own name when given directly)."""
    if name == "transfer_type" and value not in {t.value for t in TransferType}:
        raise InvalidParameter(parameter, gettext("%(field)s '%(value)s' is not one of: %(choices)s",
                                                  field="transfer_type", value=value[:40],
                                                  choices=", ".join(t.value for t in TransferType)))
    if name == "country":
        value = value.upper()
        if not is_country(value):
            raise InvalidParameter(parameter, gettext("country '%(value)s' is not an ISO 3166-1 alpha-2 code",
                                                      value=value[:40]))
    if name == "nace_section":
        value = value.upper()
        if not re.fullmatch(r"[A-U]", value):
            raise InvalidParameter(parameter, gettext("nace_section '%(value)s' is not a NACE section letter A-U",
                                                      value=value[:40]))
    if name == "size_class" and value not in SIZE_CLASS_VALUES:
        raise InvalidParameter(parameter, gettext("%(field)s '%(value)s' is not one of: %(choices)s",
                                                  field="size_class", value=value[:40],
                                                  choices=", ".join(SIZE_CLASS_VALUES)))
    if name == "age_band" and value not in AGE_BAND_VALUES:
        raise InvalidParameter(parameter, gettext("%(field)s '%(value)s' is not one of: %(choices)s", field="age_band",
                                                  value=value[:40], choices=", ".join(AGE_BAND_VALUES)))
    if name == "cohort":
        start, end = parse_year_range(parameter, value)
        value = f"{start}-{end}"
    if name in ("federation", "region"):
        value = value.upper()
    return value


def parse_where(items: Iterable[str]) -> Where:
    """`FIELD=VALUE[,VALUE...]` items (alternatives are OR-ed; fields are AND-ed)."""
    merged: dict[str, list[str]] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not raw.strip():
            raise InvalidParameter("where", gettext("'%(value)s' is not FIELD=VALUE", value=item[:60]))
        if name not in FILTER_FIELDS:
            raise InvalidParameter("where", gettext("unknown field '%(value)s' (use one of: %(choices)s)",
                                                      value=name[:40], choices=", ".join(FILTER_FIELDS)))
        values = [v.strip() for v in raw.split(",") if v.strip()]
        merged.setdefault(name, []).extend(check_filter_value("where", name, v) for v in values)
    return _canonical(merged)


def _canonical(merged: Mapping[str, Iterable[str]]) -> Where:
    """Fields by name, each field's values sorted once: one selection, one query (and one cache entry)."""
    return tuple((name, tuple(sorted(set(values)))) for name, values in sorted(merged.items()) if values)


# --- the query ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SurvivalQuery:
    """What to compute. Years since transfer; see docs/design.md, "Survival definitions"."""

    as_of: date
    endpoint: str = "enterprise"
    group_by: str | None = None
    horizons: tuple[int, ...] = DEFAULT_HORIZONS
    delayed_entry: bool = True
    where: Where = ()
    cohort_bands: tuple[tuple[int, int], ...] | None = None
    baselines: bool = True
    rmst_tau: float = DEFAULT_RMST_TAU
    model: str | None = None
    covariates: tuple[str, ...] = ()

    @property
    def group_fields(self) -> tuple[str, ...]:
        """The grouping fields: none, one, or two (`transfer_type,country`)."""
        return tuple(self.group_by.split(",")) if self.group_by else ()

    def options(self, unstable_below: int) -> AnalysisOptions:
        return AnalysisOptions(as_of=self.as_of, endpoint=self.endpoint, delayed_entry=self.delayed_entry,
                               group_by=self.group_by, horizons=self.horizons, unstable_below=unstable_below,
                               rmst_tau=self.rmst_tau)

    def but(self, **changes: Any) -> SurvivalQuery:
        """The same query with some fields changed."""
        return replace(self, **changes)

    def filter_values(self, name: str) -> tuple[str, ...]:
        """The values a filter keeps (empty: that filter is off)."""
        return dict(self.where).get(name, ())

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, today: date | None = None,
                    allow: Iterable[str] = ()) -> SurvivalQuery:
        """The query the parameters ask for. `params` maps a name to a text or a list of texts (a
        werkzeug MultiDict, a plain dict, the CLI's options); empty texts count as absent. Raises
        InvalidParameter naming the parameter at fault; a name neither known here nor in `allow`
        is refused."""
        read = _Reader(params)
        unknown = sorted(set(read.names()) - set(PARAMETERS) - set(allow) - {LANGUAGE_PARAMETER})
        if unknown:
            raise InvalidParameter(unknown[0][:40], gettext("unknown parameter (use: %(choices)s)",
                                                                      choices=", ".join(PARAMETERS)))
        values = {name: parse(read) for name, parse in _FIELD_PARSERS.items()}
        values["as_of"] = values["as_of"] or today or date.today()
        _check_covariates_vary(values["covariates"], values["where"])
        return cls(**values)

    def to_params(self) -> dict[str, str | list[str]]:
        """The parameters that ask for this query (`as_of` explicit, defaults left out, filters as
        `FIELD=VALUE` items, one per value)."""
        params: dict[str, str | list[str]] = {"as_of": self.as_of.isoformat()}
        if self.endpoint != "enterprise":
            params["endpoint"] = self.endpoint
        if self.group_by:
            params["group_by"] = self.group_by
        if tuple(self.horizons) != DEFAULT_HORIZONS:
            params["horizons"] = ",".join(str(h) for h in self.horizons)
        if not self.delayed_entry:
            params["delayed_entry"] = "false"
        for name, values in self.where:
            params[name] = list(values)
        if self.cohort_bands:
            params["cohort_bands"] = ",".join(f"{a}-{b}" for a, b in self.cohort_bands)
        if not self.baselines:
            params["baselines"] = "false"
        if self.rmst_tau != DEFAULT_RMST_TAU:
            params["rmst_tau"] = f"{self.rmst_tau:g}"
        if self.model:
            params["model"] = self.model
            params["covariates"] = ",".join(self.covariates)
        return params


class _Reader:
    """Texts of a parameter mapping, whatever its kind."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = params

    def names(self) -> list[str]:
        return [name for name in self.params if self.all(name)]

    def all(self, name: str) -> list[str]:
        getlist = getattr(self.params, "getlist", None)
        raw = getlist(name) if getlist is not None else self.params.get(name)
        if raw is None:
            return []
        items = [raw] if isinstance(raw, str) else list(raw)
        return [str(item) for item in items if item is not None and str(item).strip()]

    def one(self, name: str) -> str | None:
        items = self.all(name)
        if len(items) > 1 and len(set(items)) > 1:
            raise InvalidParameter(name, gettext("given more than once with different values"))
        return items[0].strip() if items else None


def _as_of(read: _Reader) -> date | None:
    text = read.one("as_of")
    return parse_date_param("as_of", text) if text else None


def _endpoint(read: _Reader) -> str:
    endpoint = read.one("endpoint") or "enterprise"
    if endpoint not in ENDPOINT_CHOICES:
        raise InvalidParameter("endpoint", gettext("'%(value)s' is not one of: %(choices)s", value=endpoint[:40],
                                                         choices=", ".join(ENDPOINT_CHOICES)))
    return endpoint


def _group_by(read: _Reader) -> str | None:
    """One grouping field, or two different ones joined by a comma (``transfer_type,country``)."""
    group_by = read.one("group_by")
    if group_by is None:
        return None
    names = [f.strip() for f in group_by.split(",")]
    for name in names:
        if name not in GROUP_FIELDS:
            raise InvalidParameter("group_by", gettext("unknown field '%(value)s' (use one or two of: %(choices)s, "
                                                       "joined by a comma)", value=name[:40],
                                                       choices=", ".join(GROUP_FIELDS)))
    if len(names) > 2:
        raise InvalidParameter("group_by", gettext("at most two fields can be combined, not %(count)d",
                                                   count=len(names)))
    if len(set(names)) != len(names):
        raise InvalidParameter("group_by", gettext("'%(value)s' is given twice", value=names[0]))
    return ",".join(names)


def _horizons(read: _Reader) -> tuple[int, ...]:
    text = read.one("horizons")
    try:
        return tuple(parse_horizons(text)) if text else DEFAULT_HORIZONS
    except InvalidSurvivalOptions as exc:
        raise InvalidParameter("horizons", exc.translated(gettext)) from None


def _delayed_entry(read: _Reader) -> bool:
    text, negated = read.one("delayed_entry"), read.one("no_delayed_entry")
    delayed = parse_bool_param("delayed_entry", text) if text else True
    if negated and parse_bool_param("no_delayed_entry", negated):
        delayed = False
    return delayed


def _where(read: _Reader) -> Where:
    merged = {name: list(values) for name, values in parse_where(read.all("where"))}
    for name in FILTER_FIELDS:
        for item in read.all(name):
            values = [v.strip() for v in item.split(",") if v.strip()]
            merged.setdefault(name, []).extend(check_filter_value(name, name, v) for v in values)
    start_text, end_text = read.one("cohort_from"), read.one("cohort_to")
    start = parse_year("cohort_from", start_text) if start_text else None
    end = parse_year("cohort_to", end_text) if end_text else None
    if start is not None and end is not None and end < start:
        raise InvalidParameter("cohort_to", gettext("%(end)d is before the 'from' year %(start)d", end=end,
                                                         start=start))
    if start is not None or end is not None:
        merged.setdefault("cohort", []).append(f"{start or YEAR_MIN}-{end or YEAR_MAX}")
    return _canonical(merged)


def _cohort_bands(read: _Reader) -> tuple[tuple[int, int], ...] | None:
    text = read.one("cohort_bands")
    if not text:
        return None
    bands = tuple(parse_year_range("cohort_bands", part) for part in text.split(",") if part.strip())
    try:
        cohort_labels(np.empty(0, dtype="datetime64[D]"), bands)
    except InvalidSurvivalOptions as exc:
        raise InvalidParameter("cohort_bands", exc.translated(gettext)) from None
    return bands or None


def _baselines(read: _Reader) -> bool:
    text = read.one("baselines")
    return parse_bool_param("baselines", text) if text else True


def _rmst_tau(read: _Reader) -> float:
    """The restriction time of the RMST in years: a number greater than 0 (decimals allowed)."""
    text = read.one("rmst_tau")
    if text is None:
        return DEFAULT_RMST_TAU
    try:
        tau = float(text)
    except ValueError:
        raise InvalidParameter("rmst_tau", gettext("'%(value)s' is not a number of years", value=text[:40])) from None
    if not np.isfinite(tau) or tau <= 0:
        raise InvalidParameter("rmst_tau", gettext("must be a number of years greater than 0, not '%(value)s'",
                                                   value=text[:40]))
    return tau


def _model(read: _Reader) -> str | None:
    model = read.one("model")
    if model is not None and model not in MODELS:
        raise InvalidParameter("model", gettext("'%(value)s' is not a model this app fits (use: %(choices)s)",
                                                  value=model[:40], choices=", ".join(MODELS)))
    if model is None and read.one("covariates"):
        raise InvalidParameter("covariates", gettext("covariates need a model: add model=cox"))
    return model


def _covariates(read: _Reader) -> tuple[str, ...]:
    """The Cox model's covariates (grouping fields, log_employees, age_at_transfer): each known, none repeated."""
    if read.one("model") is None:
        return ()
    names = [c.strip() for c in (read.one("covariates") or "").split(",") if c.strip()]
    if not names:
        raise InvalidParameter("covariates", gettext("the Cox model needs at least one covariate, e.g. transfer_type"))
    allowed = (*GROUP_FIELDS, *NUMERIC_COVARIATES)
    for name in names:
        if name not in allowed:
            raise InvalidParameter("covariates", gettext("unknown covariate '%(value)s' (use any of: %(choices)s)",
                                                           value=name[:40], choices=", ".join(allowed)))
        if names.count(name) > 1:
            raise InvalidParameter("covariates", gettext("covariate '%(name)s' is given more than once", name=name))
    return tuple(names)


def _check_covariates_vary(covariates: tuple[str, ...], where: Where) -> None:
    """A covariate that a filter holds to one value has a single level: the model cannot use it."""
    filters = dict(where)
    for name in covariates:
        if name in filters and len(filters[name]) == 1:
            raise InvalidParameter("covariates", gettext("covariate '%(name)s' has only one level here: the filter "
                                                         "%(name)s=%(value)s keeps that level alone",
                                                         name=name, value=filters[name][0]))


#: How each field of the query is read (in the order of the dataclass).
_FIELD_PARSERS: dict[str, Callable[[_Reader], Any]] = {
    "as_of": _as_of, "endpoint": _endpoint, "group_by": _group_by, "horizons": _horizons,
    "delayed_entry": _delayed_entry, "where": _where, "cohort_bands": _cohort_bands, "baselines": _baselines,
    "rmst_tau": _rmst_tau, "model": _model, "covariates": _covariates,
}
assert list(_FIELD_PARSERS) == [f.name for f in fields(SurvivalQuery)], "every field is read"

#: Every parameter name the parser knows.
PARAMETERS: tuple[str, ...] = ("as_of", "endpoint", "group_by", "horizons", "delayed_entry", "no_delayed_entry",
                               "where", *FILTER_FIELDS, "cohort_from", "cohort_to", "cohort_bands", "baselines",
                               "rmst_tau", "model", "covariates")


__all__ = ["ENDPOINT_CHOICES", "FILTER_FIELDS", "MODELS", "NUMERIC_COVARIATES", "PARAMETERS", "SIZE_CLASS_VALUES",
           "SurvivalQuery",
           "check_filter_value", "parse_bool_param", "parse_date_param", "parse_where", "parse_year_range"]
