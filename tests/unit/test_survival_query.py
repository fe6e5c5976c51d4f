"""One parser from request parameters to a survival query and back: the API's, the explorer's and the
CLI's spellings give the same query, every bad parameter is named, and to_params() round-trips."""

from __future__ import annotations

from datetime import date

import pytest
from werkzeug.datastructures import MultiDict

from tracker.services.analytics.survival_query import SurvivalQuery
from tracker.services.errors import InvalidParameter

TODAY = date(2025, 12, 31)


def parse(params, **kwargs) -> SurvivalQuery:
    return SurvivalQuery.from_params(params, today=TODAY, **kwargs)


def test_defaults_and_today():
    query = parse({})
    assert query == SurvivalQuery(as_of=TODAY)
    assert query.to_params() == {"as_of": "2025-12-31"}


def test_api_form_and_cli_spellings_give_one_query():
    api = parse(MultiDict([("where", "country=it,fr"), ("where", "transfer_type=rescue"),
                           ("delayed_entry", "false"), ("where", "cohort=2008-2014")]))
    form = parse(MultiDict([("country", "FR"), ("country", "IT"), ("transfer_type", "rescue"),
                            ("cohort_from", "2008"), ("cohort_to", "2014"), ("delayed_entry", "off"),
                            ("group_by", ""), ("endpoint", "enterprise")]))
    cli = parse({"where": ["transfer_type=rescue", "country=FR,IT", "cohort=2008-2014"],
                 "delayed_entry": "false", "horizons": None})
    assert api == form == cli
    assert api.where == (("cohort", ("2008-2014",)), ("country", ("FR", "IT")), ("transfer_type", ("rescue",)))
    assert api.filter_values("country") == ("FR", "IT") and api.filter_values("region") == ()


@pytest.mark.parametrize("query", [
    SurvivalQuery(as_of=date(2020, 6, 30)),
    SurvivalQuery(as_of=TODAY, endpoint="cooperative", group_by="cohort", horizons=(1, 3, 10), delayed_entry=False,
                  where=(("country", ("FR", "IT")), ("size_class", ("0-9",))), cohort_bands=((2000, 2007),),
                  baselines=False),
    SurvivalQuery(as_of=TODAY, group_by="transfer_type,country", rmst_tau=2.5, model="cox",
                  covariates=("log_employees", "transfer_type")),
])
def test_to_params_round_trips(query):
    assert parse(query.to_params()) == query
    assert parse(MultiDict([(k, v) for k, vs in query.to_params().items()
                            for v in (vs if isinstance(vs, list) else [vs])])) == query


@pytest.mark.parametrize("params, parameter", [
    ({"as_of": "31/12/2025"}, "as_of"),
    ({"endpoint": "firm"}, "endpoint"),
    ({"group_by": "colour"}, "group_by"),
    ({"horizons": "0"}, "horizons"),
    ({"delayed_entry": "maybe"}, "delayed_entry"),
    ({"country": "XX"}, "country"),
    ({"transfer_type": "gift"}, "transfer_type"),
    ({"where": ["country=XX"]}, "where"),
    ({"cohort_from": "1066"}, "cohort_from"),
    ({"cohort_from": "2015", "cohort_to": "2010"}, "cohort_to"),
    ({"cohort_bands": "2000-2010,2005-2015"}, "cohort_bands"),
    ({"baselines": "perhaps"}, "baselines"),
    ({"model": "aft", "covariates": "transfer_type"}, "model"),
    ({"model": "cox"}, "covariates"),
    ({"covariates": "transfer_type"}, "covariates"),
    ({"model": "cox", "covariates": "transfer_type,transfer_type"}, "covariates"),
    ({"model": "cox", "covariates": "colour"}, "covariates"),
    ({"model": "cox", "covariates": "country", "country": "FR"}, "covariates"),
    ({"rmst_tau": "0"}, "rmst_tau"),
    ({"rmst_tau": "five"}, "rmst_tau"),
    ({"rmst_tau": "nan"}, "rmst_tau"),
    ({"group_by": "transfer_type,country,size_class"}, "group_by"),
    ({"group_by": "country,country"}, "group_by"),
    ({"endpoint": ["enterprise", "cooperative"]}, "endpoint"),
])
def test_a_bad_or_unknown_parameter_is_named(params, parameter):
    with pytest.raises(InvalidParameter) as info:
        parse(params)
    assert info.value.name == parameter


def test_a_caller_may_handle_its_own_parameters():
    assert parse({"page": "2"}, allow=("page",)) == SurvivalQuery(as_of=TODAY)
