"""Time the Cox model and the further estimates on 1,000,000 synthetic cases (no database).

    python -m bench.cox_engine [--cases N] [--repeat R]

- the Cox model with three categorical covariates (transfer type: 4 levels, country: 6, size
  class: 4; 11 coefficients), Efron ties, 20 % of the cases with delayed entry, through
  `fit_cox` (what a request runs: the design, lifelines' Newton-Raphson on the cumulative-sum
  likelihood, and the Schoenfeld proportional-hazards test);
- `analyse` + `report_to_dict` by transfer type (4 groups) with and without the further
  estimates (median CI, RMST, hazard life table, pairwise log-rank), to see what they add.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from unittest import mock

import numpy as np

from tracker.survival import (
    AnalysisOptions,
    CaseArrays,
    CoxCovariate,
    MedianInterval,
    analyse,
    analysis,
    fit_cox,
    report_to_dict,
)
from tracker.survival.logrank import logrank_sorted

REASONS = np.array(["liquidation", "dissolution", "sold", "merged", "demutualised", "other"], dtype=object)
TYPES = np.array(["succession", "rescue", "conversion", "other"], dtype=object)
COUNTRIES = np.array(["FR", "IT", "ES", "DE", "BE", "PT"], dtype=object)
SIZES = np.array(["0-9", "10-49", "50-249", "250+"], dtype=object)


def synthetic(n: int, seed: int = 2025) -> tuple[CaseArrays, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    transfer = np.datetime64("2000-01-01") + rng.integers(0, 9000, n).astype("timedelta64[D]")
    late = rng.random(n) < 0.2
    registered = np.where(late, transfer + rng.integers(0, 2500, n).astype("timedelta64[D]"), transfer)
    kind = rng.choice(TYPES, n, p=[0.5, 0.3, 0.15, 0.05])
    country = rng.choice(COUNTRIES, n)
    size = rng.choice(SIZES, n, p=[0.5, 0.35, 0.12, 0.03])
    scale = 3000 * np.where(kind == "rescue", 0.6, 1.0) * np.where(size == "0-9", 0.8, 1.1)
    life = transfer + rng.exponential(scale).astype("int64").astype("timedelta64[D]") + np.timedelta64(1, "D")
    cut = np.datetime64("2025-06-30")
    exited = life <= cut
    cases = CaseArrays(
        transfer_date=transfer, registered_on=registered,
        last_verified_on=np.where(exited, np.datetime64("NaT"), cut),
        exit_date=np.where(exited, life, np.datetime64("NaT")),
        exit_reason=np.where(exited, rng.choice(REASONS, n), None),
    )
    return cases, {"transfer_type": kind, "country": country, "size_class": size}


def best_of(repeat: int, work, clock=time.perf_counter) -> tuple[float, float]:  # noqa: ANN001
    """Best and median of `repeat` runs of `work`, timed by `clock` (wall by default)."""
    times = []
    for _ in range(repeat):
        started = clock()
        work()
        times.append(clock() - started)
    return min(times), sorted(times)[len(times) // 2]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    cases, fields = synthetic(args.cases)
    options = AnalysisOptions(as_of=date(2025, 12, 31), group_by="transfer_type")
    covariates = [CoxCovariate(name, values, True) for name, values in fields.items()]

    started = time.perf_counter()
    result = fit_cox(cases, options, covariates)
    first = time.perf_counter() - started
    print(f"Cox, {args.cases:,} cases ({result.n:,} in the model, {result.events:,} events), "
          f"3 categorical covariates ({len(result.terms)} coefficients), delayed entry: first fit {first:.2f} s")
    best, median = best_of(args.repeat, lambda: fit_cox(cases, options, covariates))
    print(f"  fit_cox: best {best:.2f} s, median {median:.2f} s")

    groups = fields["transfer_type"]
    analyse(cases, groups, options)  # warm-up
    full = best_of(args.repeat, lambda: report_to_dict(analyse(cases, groups, options)))
    # The same without the further estimates: the functions that compute them answer nothing.
    with (mock.patch.object(analysis, "median_interval", lambda *a: MedianInterval(None, None)),
          mock.patch.object(analysis, "restricted_mean", lambda *a: None),
          mock.patch.object(analysis, "annual_hazard", lambda *a: ()),
          mock.patch.object(analysis, "logrank_with_pairs", lambda parts, names: (logrank_sorted(parts, names), ()))):
        plain = best_of(args.repeat, lambda: report_to_dict(analyse(cases, groups, options)))
    print(f"analyse + report_to_dict, 4 groups: with the further estimates best {full[0]:.3f} s, "
          f"without {plain[0]:.3f} s (+{100 * (full[0] / plain[0] - 1):.0f} %)")


if __name__ == "__main__":
    main()
