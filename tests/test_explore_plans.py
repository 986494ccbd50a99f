"""gca_lab.explore.plans: the plan explorer's computation (kernel, plan, marginals, every loss)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from gca_lab import methods
from gca_lab.explore import plans as P
from gca_lab.explore.batches import two_view_batch
from gca_lab.losses import GCALoss

N = 48


def _plan(**kw):
    return P.compute_plan(P.PlanParams(n=N, **kw))


def test_loss_names_are_the_registry_methods_with_a_plan():
    assert P.LOSS_NAMES == methods.names(has_plan=True) and "byol" not in P.LOSS_NAMES


def test_compute_plan_balanced_marginals_and_losses():
    d = _plan(n_iters=30, eps=0.5)
    assert d.ok and d.message == ""
    assert d.plan.shape == (N, N) and np.isfinite(d.plan).all()
    np.testing.assert_allclose(d.col_marginal, 1.0 / N, atol=1e-12)  # ends on a column update
    np.testing.assert_allclose(d.plan.sum(), 1.0, atol=1e-9)
    assert set(d.losses) == set(P.LOSS_NAMES) and all(math.isfinite(v) for v in d.losses.values())
    assert d.errors.shape == (30,) and d.kernel.max() == pytest.approx(1.0)
    np.testing.assert_allclose(d.target.sum(1), 1.0 / N)
    assert (d.col_deviation < 1e-10).all() and d.row_deviation.shape == (N,)
    np.testing.assert_allclose(d.row_deviation, np.abs(d.row_marginal - 1.0 / N) * N)


def test_kernel_is_the_losses_kernel():
    d = _plan(n_iters=5, eps=0.3, dataset="multidomain")
    batch = two_view_batch(N, dataset="multidomain")
    loss = GCALoss(eps=0.3)
    log_k = loss.log_kernel(loss.similarity(batch.z1, batch.z2))
    np.testing.assert_allclose(d.kernel, (log_k - log_k.max()).exp().numpy(), rtol=1e-12)


def test_more_rounds_reduce_marginal_error():
    few, many = _plan(n_iters=2, eps=0.1), _plan(n_iters=40, eps=0.1)
    assert many.row_deviation.sum() < few.row_deviation.sum()
    assert many.errors[-1] < many.errors[0]


def test_larger_rho_brings_marginals_closer_to_target():
    errs = []
    for rho in (0.01, 0.1, 1.0, 100.0, math.inf):
        d = _plan(n_iters=50, eps=0.1, rho_a=rho, rho_b=rho)
        assert d.ok
        errs.append(d.row_deviation.sum())
    assert all(a > b for a, b in zip(errs, errs[1:]))


def test_rounds_zero_is_the_normalized_kernel():
    d = _plan(n_iters=0, eps=0.5)
    assert d.ok and "no projection" in d.message and d.errors.size == 0
    np.testing.assert_allclose(d.plan / d.plan.max(), d.kernel, rtol=1e-12)
    np.testing.assert_allclose(d.plan.sum(), 1.0)
    assert d.losses["gca_ince"] == pytest.approx(d.losses["ince"])  # one round = InfoNCE


def test_joint_layout_and_domain_prior():
    d = P.compute_plan(P.PlanParams(n=N, layout="joint", alpha=0.5, beta=0.1))
    assert d.ok and d.plan.shape == (2 * N, 2 * N)
    assert np.all(np.diag(d.plan) == 0.0)  # self-pairs excluded
    assert d.target.shape == (2 * N, 2 * N) and (d.target > 0).sum() > 2 * N
    plain = P.compute_plan(P.PlanParams(n=N, layout="joint"))
    assert d.losses["ince"] != pytest.approx(plain.losses["ince"])  # the target prior changes the loss


@pytest.mark.parametrize(
    "kw",
    [dict(eps=0.01, n_iters=50), dict(rho_a=0.01, rho_b=0.01), dict(corrupt=1.0),
     dict(eps=0.01, n_iters=50, rho_a=0.01, rho_b=0.01, corrupt=1.0, layout="joint"), dict(noise=0.5)],
)
def test_extreme_values_are_finite_or_explained(kw):
    d = _plan(**kw)
    if d.ok:
        assert np.isfinite(d.plan).all() and np.isfinite(d.kernel).all() and np.isfinite(d.errors).all()
        assert np.isfinite(d.row_marginal).all() and np.isfinite(d.row_deviation).all()
    else:
        assert d.message


def test_invalid_settings_give_a_message_not_an_exception():
    d = _plan(eps=-1.0)
    assert not d.ok and "eps" in d.message
    d = _plan(n_iters=-3)
    assert not d.ok and "n_iters" in d.message
    failed = P.PlanData.failure(P.PlanParams(), "why")
    assert not failed.ok and failed.message == "why" and set(failed.losses) == set(P.LOSS_NAMES)


def test_compute_method_plans():
    batch = two_view_batch(N, seed=1, sort=False)
    plans = P.compute_method_plans(batch.z1, batch.z2, eps=0.5)
    assert list(plans) == ["kernel", "ince", "gca_ince", "gca_uot"]
    np.testing.assert_allclose(plans["ince"].sum(1), 1.0, atol=1e-9)
    # GCA-INCE ends on a row step after 9 rounds: columns close to 1, unlike InfoNCE's
    col_err = lambda p: np.abs(p.sum(0) - 1).sum()  # noqa: E731
    assert col_err(plans["gca_ince"]) < col_err(plans["ince"])
    assert plans["kernel"].max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="method"):
        P.compute_method_plans(batch.z1, batch.z2, methods=("nope",))


def test_checksum_changes_with_a_balanced_plan():
    # both plans have the same marginals, so a marginal-determined summary would not move
    a, b = _plan(eps=0.5, n_iters=30), _plan(eps=2.0, n_iters=30)
    assert abs(a.checksum - b.checksum) > 1e-4


def test_the_former_names_of_n_iters_still_work_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match="n_rounds"):
        old = P.PlanParams(n_rounds=7)
    assert old == P.PlanParams(n_iters=7)
    with pytest.warns(DeprecationWarning, match="n_rounds"):
        assert old.n_rounds == 7
    with pytest.warns(DeprecationWarning, match="loss_n_iters"):
        assert P.PlanParams(loss_n_iters=3).n_iters == 3
    with pytest.warns(DeprecationWarning):  # replace() passes n_iters along: the former name wins
        assert replace(P.PlanParams(n_iters=4), n_rounds=3).n_iters == 3
    with pytest.warns(DeprecationWarning):
        assert P.compute_plan(P.PlanParams(n=16), n_rounds=2).params.n_iters == 2
    # the explorer shares the training defaults (one home for eps and the rounds)
    from gca_lab.train import TrainConfig

    assert (P.PlanParams().eps, P.PlanParams().n_iters) == (TrainConfig().eps, TrainConfig().n_iters)
