"""CPU time (``time.process_time``, robust to a shared machine's load) of analyse + report_to_dict
on 1,000,000 synthetic cases by transfer type (4 groups), with and without the further estimates.

    python -m bench.further_cpu [--cases N] [--repeat R]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date
from unittest import mock

from bench.cox_engine import best_of, synthetic
from tracker.survival import AnalysisOptions, MedianInterval, analyse, analysis, report_to_dict
from tracker.survival.logrank import logrank_sorted


def cpu(repeat: int, work: Callable[[], object]) -> tuple[float, float]:
    """Best and median CPU time of `repeat` runs (robust to a shared machine's load)."""
    return best_of(repeat, work, clock=time.process_time)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    cases, fields = synthetic(args.cases)
    groups = fields["transfer_type"]
    options = AnalysisOptions(as_of=date(2025, 12, 31), group_by="transfer_type")
    analyse(cases, groups, options)  # warm-up
    full = cpu(args.repeat, lambda: report_to_dict(analyse(cases, groups, options)))
    with (mock.patch.object(analysis, "median_interval", lambda *a: MedianInterval(None, None)),
          mock.patch.object(analysis, "restricted_mean", lambda *a: None),
          mock.patch.object(analysis, "annual_hazard", lambda *a: ()),
          mock.patch.object(analysis, "logrank_with_pairs", lambda parts, names: (logrank_sorted(parts, names), ()))):
        plain = cpu(args.repeat, lambda: report_to_dict(analyse(cases, groups, options)))
    print(f"CPU with the further estimates best {full[0]:.3f} s, median {full[1]:.3f} s; without best "
          f"{plain[0]:.3f} s, median {plain[1]:.3f} s (+{100 * (full[0] / plain[0] - 1):.0f} % best, "
          f"+{100 * (full[1] / plain[1] - 1):.0f} % median)")


if __name__ == "__main__":
    main()
