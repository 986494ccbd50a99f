"""gca_lab.explore.projections: InfoNCE as one KL projection, the Sinkhorn iterates, the theorem check."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gca_lab.explore.batches import two_view_batch
from gca_lab.explore import projections as P
from gca_lab.losses import InfoNCE

N = 48


@pytest.fixture(scope="module")
def batch():
    return two_view_batch(N, seed=1, sort=False)


def test_gibbs_log_kernel_is_the_losses_kernel(batch):
    det = InfoNCE(eps=0.3).details(batch.z1, batch.z2)
    torch.testing.assert_close(P.gibbs_log_kernel(batch.z1, batch.z2, 0.3), det.log_kernel)


def test_ince_identity(batch):
    out = P.compute_ince_identity(batch.z1, batch.z2, eps=0.3)
    assert out["holds"] and out["abs_diff"] < 1e-9
    assert out["ince"] == pytest.approx(float(InfoNCE(eps=0.3)(batch.z1, batch.z2)))
    with pytest.raises(ValueError, match="eps"):
        P.compute_ince_identity(batch.z1, batch.z2, eps=0.0)


def test_sinkhorn_iterates_marginals_and_monotone_kl(batch):
    it = P.compute_sinkhorn_iterates(batch.z1[:16], batch.z2[:16], eps=0.2, n_steps=8)
    assert it.plans.shape == (9, 16, 16) and it.labels[1] == "P(1) rows" and it.labels[2] == "P(2) cols"
    np.testing.assert_allclose(it.row_marginals[1], 1.0, atol=1e-12)  # row steps fix rows
    np.testing.assert_allclose(it.col_marginals[2], 1.0, atol=1e-12)  # column steps fix columns
    assert (np.diff(it.kl[1:]) <= 1e-12).all()  # KL(I || P(t)) non-increasing
    assert it.row_error[8] < it.row_error[2]  # after column steps: more rounds, smaller row error


def test_theorem_check_has_no_violations():
    res = P.compute_theorem_check(12, n_iters=20, seed=3)
    assert res.n_batches == 12 and res.violations == 0 and res.monotone_violations == 0
    assert (res.klinf <= res.kl1 + 1e-9).all() and res.max_ratio <= 1.0 + 1e-9
