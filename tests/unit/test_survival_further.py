"""The further estimates on small data sets whose answers are known: edge cases that R's own data
sets exposed (singular log-rank variance, S = 1 after censoring), Holm, the life table, RMST,
unfittable Cox models and the fast variance and likelihood paths against the slow ones."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxTimeVaryingFitter

from tracker.survival import (
    AnalysisOptions,
    CaseArrays,
    CoxCovariate,
    CoxModelError,
    InvalidSurvivalOptions,
    age_at_transfer,
    age_band_labels,
    analyse,
    annual_hazard,
    cox_model,
    holm,
    kaplan_meier,
    logrank_test,
    report_to_dict,
)
from tracker.survival.competing import _jackknife_se_loop, _steps, cumulative_incidence
from tracker.survival.cox import _RiskSets
from tracker.survival.km import median_interval, restricted_mean


def test_logrank_with_a_singular_variance_still_answers() -> None:
    # Everyone at risk in both groups closes at the same time: the variance is zero.
    result = logrank_test(np.zeros(4), np.ones(4), np.ones(4, bool), np.array(["a", "a", "b", "b"], dtype=object))

    assert result.statistic is None and result.p_value is None
    assert "variance" in (result.reason or "")


def test_logrank_singular_in_one_direction_uses_the_non_singular_part() -> None:
    # Group c's only case is at risk alone (delayed entry after everyone else ended).
    entry = np.array([0, 0, 0, 0, 5.0])
    stop = np.array([1, 2, 1.5, 3, 6.0])
    event = np.array([1, 1, 1, 0, 1], bool)
    groups = np.array(["a", "a", "b", "b", "c"], dtype=object)

    result = logrank_test(entry, stop, event, groups)

    assert result.statistic is not None and np.isfinite(result.statistic)
    assert result.df == 1  # c adds no information: its variance row is zero


def test_ci_is_null_where_s_is_one_after_censoring() -> None:
    km = kaplan_meier(np.zeros(4), np.array([0.5, 2, 3, 4]), np.array([0, 1, 1, 0], bool), horizons=(0.25, 1, 2))
    before, after_censoring, after_event = km.horizons

    assert (before.ci_lower, before.ci_upper) == (1.0, 1.0)  # before any end of follow-up
    assert after_censoring.survival == 1.0
    assert (after_censoring.ci_lower, after_censoring.ci_upper) == (None, None)  # R: NA
    assert after_event.ci_lower is not None


def test_holm_matches_r_p_adjust() -> None:
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.5), "holm") = 0.04 0.09 0.09 0.50
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5], abs=1e-15)
    assert holm([]) == []


def test_life_table_counts_person_years_and_events_per_year() -> None:
    rows = annual_hazard(np.array([0, 0.5]), np.array([1.5, 3.0]), np.array([True, False]), 4)

    assert [r.person_years for r in rows] == pytest.approx([1.5, 1.5, 1.0, 0.0])
    assert [r.events for r in rows] == [0, 1, 0, 0]
    assert rows[0].rate == 0 and rows[0].ci_lower == 0
    assert rows[1].rate == pytest.approx(1 / 1.5)
    assert rows[3].rate is None and rows[3].ci_upper is None


def test_rmst_without_event_before_tau_is_tau_and_null_beyond_follow_up() -> None:
    km = kaplan_meier(np.zeros(3), np.array([4.0, 6.0, 7.0]), np.array([1, 0, 1], bool))

    early = restricted_mean(km.steps, 3.0, km.max_follow_up_years)
    assert early is not None and (early.years, early.se) == (3.0, 0.0)
    assert restricted_mean(km.steps, 8.0, km.max_follow_up_years) is None
    full = restricted_mean(km.steps, 5.0, km.max_follow_up_years)
    assert full is not None and full.years == pytest.approx(4 + 1 * 2 / 3)


def test_median_interval_limit_is_null_when_its_band_never_reaches_half() -> None:
    km = kaplan_meier(np.zeros(10), np.arange(1.0, 11.0), np.r_[np.ones(2), np.zeros(8)].astype(bool))
    interval = median_interval(km.steps)
    assert km.median_years is None
    assert interval.lower == 1.0  # the lower band is at or below 0.5 from the first event on
    assert interval.upper is None


def test_two_field_groups_are_named_and_sorted_by_their_levels() -> None:
    n = 8
    cases = CaseArrays(transfer_date=["2015-01-01"] * n, registered_on=[None] * n,
                       last_verified_on=["2024-01-01"] * n, exit_date=[None] * n, exit_reason=[None] * n)
    a = np.array(["x", "x", "x y", "x y", "x", "x", "x y", "x y"], dtype=object)
    b = np.array(["1", "2", "1", "2", "1", "2", "1", "1"], dtype=object)
    out = report_to_dict(analyse(cases, (a, b), AnalysisOptions(as_of=date(2025, 1, 1), group_by="f,g")))

    assert [g["group"] for g in out["groups"]] == ["x / 1", "x / 2", "x y / 1", "x y / 2"]
    assert out["groups"][2]["levels"] == {"f": "x y", "g": "1"}
    assert len(out["logrank"]["pairwise"]) == 6
    assert all(p["statistic"] is None and p["p_holm"] is None for p in out["logrank"]["pairwise"])  # no event


@pytest.mark.parametrize("group_by", ["a,b,c", "a,a", "a,"])
def test_group_by_takes_one_or_two_distinct_fields(group_by: str) -> None:
    with pytest.raises(InvalidSurvivalOptions):
        AnalysisOptions(as_of=date(2025, 1, 1), group_by=group_by)


@pytest.mark.parametrize("tau", [0, -1, float("nan"), float("inf"), "5", True])
def test_rmst_tau_must_be_a_positive_number(tau: object) -> None:
    with pytest.raises(InvalidSurvivalOptions):
        AnalysisOptions(as_of=date(2025, 1, 1), rmst_tau=tau)  # type: ignore[arg-type]


def _random(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    entry = np.where(rng.random(n) < 0.3, rng.integers(0, 5, n) / 2, 0.0)
    stop = entry + rng.integers(1, 10, n) / 2  # many ties
    return entry, stop, rng.random(n) < 0.6


def test_cox_likelihood_by_cumulative_sums_equals_lifelines_time_varying() -> None:
    entry, stop, event = _random(300)
    x = np.random.default_rng(1).normal(size=(300, 3))
    beta = np.array([0.3, -0.2, 0.1])

    h, g, ll = CoxTimeVaryingFitter._get_gradients(x, event, entry, stop, np.ones(300), beta)
    h2, g2, ll2 = _RiskSets(entry, stop, event).gradients(x, beta)

    np.testing.assert_allclose(h2, h, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(g2, g, rtol=1e-12, atol=1e-10)
    assert ll2 == pytest.approx(ll, rel=1e-13)


def test_the_fitter_uses_the_cumulative_sums_and_finds_lifelines_own_optimum(monkeypatch) -> None:
    from lifelines import CoxPHFitter

    entry, stop, event = _random(400, seed=3)
    labels = np.random.default_rng(4).choice(np.array(["a", "b", "c"], dtype=object), 400)
    # "b" has the most cases: the reference level.
    frame = pd.DataFrame({"entry": entry, "stop": stop, "event": event.astype(int),
                          "a": (labels == "a").astype(float), "c": (labels == "c").astype(float)})
    reference = CoxPHFitter().fit(frame, "stop", "event", entry_col="entry",
                                  fit_options={"precision": 1e-16, "r_precision": 1e-16})

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("lifelines' per-event-time likelihood was used")

    monkeypatch.setattr(CoxTimeVaryingFitter, "_get_gradients", staticmethod(refuse))
    result = cox_model(entry, stop, event, [CoxCovariate("t", labels, True)])
    assert [(t.level, t.reference) for t in result.terms] == [("a", "b"), ("c", "b")]
    for term in result.terms:
        assert term.coef == pytest.approx(reference.params_[term.level], rel=1e-9)
        assert term.se == pytest.approx(reference.standard_errors_[term.level], rel=1e-9)
    assert result.loglik == pytest.approx(reference.log_likelihood_, rel=1e-12)


def test_cox_refuses_models_it_cannot_fit() -> None:
    entry, stop, event = _random(60)
    one_level = CoxCovariate("transfer_type", np.array(["rescue"] * 60, dtype=object), True)
    with pytest.raises(CoxModelError, match="only one level"):
        cox_model(entry, stop, event, [one_level])
    labels = np.array(["a"] * 50 + ["b"] * 10, dtype=object)
    no_event = event.copy()
    no_event[50:] = False
    with pytest.raises(CoxModelError, match="no event"):
        cox_model(entry, stop, no_event, [CoxCovariate("t", labels, True)])
    with pytest.raises(CoxModelError, match="no case"):
        cox_model(entry, stop, event, [CoxCovariate("age", np.full(60, np.nan), False)])
    with pytest.raises(CoxModelError, match="twice"):
        cox_model(entry, stop, event, [CoxCovariate("t", labels, True)] * 2)


def test_cox_leaves_out_unknown_labels_and_reports_the_ph_test() -> None:
    entry, stop, event = _random(200)
    labels = np.array((["a", "b", "unknown", "a"] * 50), dtype=object)

    result = cox_model(entry, stop, event, [CoxCovariate("t", labels, True, ("unknown",))])

    assert (result.n, result.missing_covariate) == (150, 50)
    assert [(t.level, t.reference) for t in result.terms] == [("b", "a")]
    assert len(result.ph_test) == 1 and 0 <= result.ph_test[0].p_value <= 1
    assert "Schoenfeld" in result.ph_method


def test_competing_variance_by_cumulative_sums_equals_the_time_by_time_derivative() -> None:
    entry, stop, _ = _random(250, seed=3)
    cause = np.random.default_rng(4).choice([0, 1, 2], 250, p=[0.5, 0.3, 0.2])
    horizons = np.array([1.0, 2.0, 3.5])
    result = cumulative_incidence(entry, stop, cause, tuple(horizons))
    steps = _steps(entry, stop, cause)
    lo = np.searchsorted(steps.time, entry, side="right")
    hi = np.searchsorted(steps.time, stop, side="left")
    slow = _jackknife_se_loop(lo, hi, cause, steps, np.searchsorted(steps.time, horizons, side="right") - 1)

    for h, (se_closure, _se_loss) in zip(result.horizons, slow, strict=True):
        f = h.closure
        assert f is not None and h.closure_ci[0] is not None
        assert f * np.exp(-1.959963984540054 * se_closure / f) == pytest.approx(h.closure_ci[0], rel=1e-12)


def test_age_bands() -> None:
    age = age_at_transfer(np.array(["2000-01-01", "2019-01-01", None, "1990-01-01"], dtype="datetime64[D]"),
                          np.array(["2020-01-01", "2020-01-01", "2020-01-01", "1995-06-01"], dtype="datetime64[D]"))
    assert age_band_labels(age).tolist() == ["20+", "<5", "unknown", "5-19"]


def test_age_bands_are_listed_youngest_first_with_their_pairs_in_that_order() -> None:
    """By their text "20+" would come before "<5"; a reader expects the bands by age."""
    rng = np.random.default_rng(3)
    n = 400
    transfer = np.datetime64("2010-01-01") + rng.integers(0, 2000, n).astype("timedelta64[D]")
    exit_date = transfer + rng.integers(100, 4000, n).astype("timedelta64[D]")
    closed = exit_date <= np.datetime64("2024-12-31")
    cases = CaseArrays(transfer_date=transfer, registered_on=transfer,
                       last_verified_on=np.where(closed, np.datetime64("NaT"), np.datetime64("2024-12-31")),
                       exit_date=np.where(closed, exit_date, np.datetime64("NaT")),
                       exit_reason=np.where(closed, "liquidation", None))
    bands = np.array(["20+", "<5", "5-19", "unknown"], dtype=object)[np.arange(n) % 4]
    one = analyse(cases, bands, AnalysisOptions(as_of=date(2025, 12, 31), group_by="age_band"))
    assert [g.group for g in one.groups] == ["<5", "5-19", "20+", "unknown"]
    assert one.logrank is not None and one.logrank.groups == ("<5", "5-19", "20+", "unknown")
    assert [(p.a, p.b) for p in one.pairwise][:3] == [("<5", "5-19"), ("<5", "20+"), ("<5", "unknown")]
    kinds = np.array(["rescue", "succession"], dtype=object)[np.arange(n) % 2]
    two = analyse(cases, (bands, kinds), AnalysisOptions(as_of=date(2025, 12, 31), group_by="age_band,transfer_type"))
    assert [g.group for g in two.groups] == ["<5 / succession", "5-19 / rescue", "20+ / rescue", "unknown / succession"]
    # Other fields keep the order of their names.
    assert [g.group for g in analyse(cases, bands, AnalysisOptions(as_of=date(2025, 12, 31),
                                                                   group_by="size_class")).groups] == sorted(bands[:4])


def test_cox_sums_by_covariate_pattern_equal_the_sums_by_case(monkeypatch) -> None:
    """Categorical covariates give few distinct design rows: the risk-set sums are then counted per
    (event time, pattern) once; the likelihood, its derivatives and the Schoenfeld residuals are
    those of the case-by-case sums and of lifelines' own time-varying computation."""
    from tracker.survival import cox

    n = 2000
    entry, stop, event = _random(n, seed=5)
    rng = np.random.default_rng(6)
    codes = rng.integers(0, 4, n)
    x = np.column_stack([*((codes == k).astype(float) for k in (1, 2, 3)), (rng.random(n) < 0.4).astype(float)])
    beta = np.array([0.3, -0.2, 0.1, 0.5])
    grouped = _RiskSets(entry, stop, event)
    assert grouped.patterns(x) is not None and len(grouped.patterns(x).rows) == 8
    h, g, ll = CoxTimeVaryingFitter._get_gradients(x, event, entry, stop, np.ones(n), beta)
    h2, g2, ll2 = grouped.gradients(x, beta)
    monkeypatch.setattr(cox, "MAX_PATTERN_CELLS", 0)
    by_case = _RiskSets(entry, stop, event)
    assert by_case.patterns(x) is None
    h3, g3, ll3 = by_case.gradients(x, beta)
    for hessian, gradient, log_lik in ((h2, g2, ll2), (h3, g3, ll3)):
        np.testing.assert_allclose(hessian, h, rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(gradient, g, rtol=1e-10, atol=1e-9)
        assert log_lik == pytest.approx(ll, rel=1e-12)
    np.testing.assert_allclose(grouped.schoenfeld(x, beta), by_case.schoenfeld(x, beta), atol=1e-11)
