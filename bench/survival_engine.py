"""Time the survival engine alone (no database): analyse() + report_to_dict() on 1,000,000
synthetic cases, 20 % with delayed entry, grouped by transfer_type (4 groups).

    python -m bench.survival_engine
"""

import time
from datetime import date

import numpy as np

from tracker.survival import AnalysisOptions, CaseArrays, analyse, report_to_dict

REASONS = np.array(["liquidation", "dissolution", "sold", "merged", "demutualised", "other"], dtype=object)


def main() -> None:
    rng = np.random.default_rng(2025)
    n = 1_000_000
    transfer = np.datetime64("2000-01-01") + rng.integers(0, 9000, n).astype("timedelta64[D]")
    late = rng.random(n) < 0.2
    registered = np.where(late, transfer + rng.integers(0, 2500, n).astype("timedelta64[D]"), transfer)
    life = transfer + rng.exponential(3000, n).astype("int64").astype("timedelta64[D]") + np.timedelta64(1, "D")
    cut = np.datetime64("2025-06-30")
    exited = life <= cut
    cases = CaseArrays(
        transfer_date=transfer, registered_on=registered,
        last_verified_on=np.where(exited, np.datetime64("NaT"), cut),
        exit_date=np.where(exited, life, np.datetime64("NaT")),
        exit_reason=np.where(exited, rng.choice(REASONS, n), None),
    )
    groups = rng.choice(np.array(["succession", "rescue", "conversion", "other"], dtype=object), n)
    options = AnalysisOptions(as_of=date(2025, 12, 31), group_by="transfer_type")
    analyse(cases, groups, options)  # warm-up (imports, caches)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        report_to_dict(analyse(cases, groups, options))
        times.append(time.perf_counter() - started)
    print(f"analyse + report_to_dict, 1M cases, 4 groups: best {min(times):.3f} s, median {sorted(times)[2]:.3f} s")


if __name__ == "__main__":
    main()
