"""gca_lab.explore.noisy_views: plan mass and loss gradients on corrupted pairs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gca_lab.explore import noisy_views as V

N = 48


def test_corrupted_mass_uot_below_balanced():
    bal = V.compute_corrupted_mass(0.25, math.inf, n=N, n_iters=100)
    uot = V.compute_corrupted_mass(0.25, 0.1, n=N, n_iters=100)
    assert bal.col_mass_corrupted == pytest.approx(1.0, abs=1e-9)
    assert bal.col_mass_clean == pytest.approx(1.0, abs=1e-9)
    assert bal.total_mass == pytest.approx(1.0, abs=1e-9)
    assert uot.col_mass_corrupted < bal.col_mass_corrupted < uot.col_mass_clean  # corrupted columns lose
    assert uot.pos_mass_corrupted < uot.pos_mass_clean
    np.testing.assert_allclose(uot.plan.sum(), N)  # masses relative to the plan's own total
    with pytest.raises(ValueError, match="fraction"):
        V.compute_corrupted_mass(1.5)


def test_noisy_views_sweep_and_gradients():
    nv = V.compute_noisy_views(0.25, [0.01, 0.1, 1.0], n=N, n_iters=60, methods=("ince", "rince"))
    assert math.isinf(nv.rhos[-1]) and nv.rhos.shape == (4,)
    assert (np.diff(nv.col_mass_corrupted) > 0).all()  # more rho, more mass forced through
    assert (nv.col_mass_corrupted[:-1] < nv.col_mass_clean[:-1]).all()
    for m in ("ince", "rince"):
        assert math.isfinite(nv.grad_ratio[m]) and nv.grad_corrupted[m] > 0
    assert nv.grad_ratio["rince"] < nv.grad_ratio["ince"]  # RINCE pushes less on corrupted pairs
