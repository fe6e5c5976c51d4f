"""Aalen-Johansen cumulative incidence of closure and of loss of the cooperative form."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.survival import cumulative_incidence, kaplan_meier

# (entry, stop, cause): 0 censored, 1 closure, 2 loss; case 4 enters late at 1.5.
CASES = np.array([(0, 1, 1), (0, 2, 2), (0, 3, 0), (1.5, 3, 1), (0, 4, 2), (0, 2, 0)], dtype=float)


def test_example_worked_by_hand() -> None:
    # t=1: 5 at risk (the late entrant is not), 1 closure: CIF_c = 1/5, S = 4/5
    # t=2: 5 at risk (late entrant in), 1 loss, 1 censored: CIF_l = 4/5 * 1/5, S = 16/25
    # t=3: 3 at risk, 1 closure: CIF_c = 1/5 + 16/25 * 1/3, S = 32/75
    # t=4: 1 at risk, 1 loss: CIF_l = 4/25 + 32/75
    result = cumulative_incidence(CASES[:, 0], CASES[:, 1], CASES[:, 2].astype(int))

    got = [(h.closure, h.loss, h.at_risk) for h in result.horizons]
    assert got[0] == pytest.approx((1 / 5, 0, 5))
    assert got[1] == pytest.approx((1 / 5, 4 / 25, 5))
    assert got[2] == pytest.approx((1 / 5 + 16 / 75, 4 / 25, 3))
    assert got[3] == pytest.approx((1 / 5 + 16 / 75, 4 / 25 + 32 / 75, 1))
    assert (got[4][0], got[4][1]) == (None, None)  # beyond follow-up
    assert (result.n, result.closures, result.losses) == (6, 2, 2)


def test_incidences_add_up_to_one_minus_km_of_every_exit() -> None:
    rng = np.random.default_rng(3)
    n = 500
    entry = np.where(rng.random(n) < 0.2, rng.integers(0, 8, n) / 4, 0.0)
    stop = entry + rng.integers(1, 40, n) / 4
    cause = rng.choice([0, 1, 2], n, p=[0.4, 0.4, 0.2])

    cif = cumulative_incidence(entry, stop, cause).steps
    km = kaplan_meier(entry, stop, cause > 0).steps

    assert np.array_equal(cif.time, km.time)
    assert cif.closure + cif.loss == pytest.approx(1 - km.survival, abs=1e-12)
