"""The explorers: pure compute_* functions (real properties) and headless widget driving (in-place updates)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

pytest.importorskip("ipywidgets")
pytest.importorskip("anywidget", reason="plotly FigureWidget (plotly >= 6) needs anywidget")

from gca_lab import widgets as W  # noqa: E402
from gca_lab.losses import InfoNCE  # noqa: E402

N = 48  # small batches keep the suite fast


@pytest.fixture(scope="module")
def batch():
    return W.two_view_batch(N, seed=1, sort=False)


# ------------------------------------------------------------------------------------------ batch


def test_two_view_batch_is_real_and_cached(batch):
    assert batch.x1.shape == (N, 1, 8, 8) and batch.z1.shape == (N, 64)
    assert batch.z1.dtype == torch.float64 and torch.isfinite(batch.z1).all()
    assert not torch.equal(batch.x1, batch.x2)  # two different augmentations
    assert W.two_view_batch(N, seed=1, sort=False) is batch
    c = W.two_view_batch(N, seed=1, corrupt=0.25, sort=False)
    assert int(c.corrupted.sum()) == 12
    assert torch.equal(c.x1, batch.x1)  # view 1 untouched by the corruption
    s = W.two_view_batch(N, seed=1, corrupt=1.0, corruption="swap")
    assert bool(s.corrupted.all()) and torch.isfinite(s.z2).all()
    md = W.two_view_batch(N, dataset="multidomain", seed=1)
    assert set(md.domains.tolist()) == {0, 1, 2, 3}
    assert (torch.diff(md.domains) >= 0).all()  # sorted by domain
    with pytest.raises(ValueError, match="corrupt"):
        W.two_view_batch(N, corrupt=1.5)
    with pytest.raises(ValueError, match="dataset"):
        W.two_view_batch(N, dataset="nope")


# ------------------------------------------------------------------------------------------ notebook 01


def test_ince_identity(batch):
    out = W.compute_ince_identity(batch.z1, batch.z2, eps=0.3)
    assert out["holds"] and out["abs_diff"] < 1e-9
    assert out["ince"] == pytest.approx(float(InfoNCE(eps=0.3)(batch.z1, batch.z2)))


def test_sinkhorn_iterates_marginals_and_monotone_kl(batch):
    it = W.compute_sinkhorn_iterates(batch.z1[:16], batch.z2[:16], eps=0.2, n_steps=8)
    assert it.plans.shape == (9, 16, 16) and it.labels[1] == "P(1) rows" and it.labels[2] == "P(2) cols"
    np.testing.assert_allclose(it.row_marginals[1], 1.0, atol=1e-12)  # row steps fix rows
    np.testing.assert_allclose(it.col_marginals[2], 1.0, atol=1e-12)  # column steps fix columns
    assert (np.diff(it.kl[1:]) <= 1e-12).all()  # KL(I || P(t)) non-increasing
    assert it.row_error[8] < it.row_error[2]  # after column steps: more rounds, smaller row error


def test_theorem_check_has_no_violations():
    res = W.compute_theorem_check(12, n_iters=20, seed=3)
    assert res.n_batches == 12 and res.violations == 0 and res.monotone_violations == 0
    assert (res.klinf <= res.kl1 + 1e-9).all() and res.max_ratio <= 1.0 + 1e-9


# ------------------------------------------------------------------------------------------ notebook 02


def _plan(**kw):
    return W.compute_plan(W.PlanParams(n=N, **kw))


def test_compute_plan_balanced_marginals_and_losses():
    d = _plan(n_rounds=30, eps=0.5)
    assert d.ok and d.message == ""
    assert d.plan.shape == (N, N) and np.isfinite(d.plan).all()
    np.testing.assert_allclose(d.col_marginal, 1.0 / N, atol=1e-12)  # ends on a column update
    np.testing.assert_allclose(d.plan.sum(), 1.0, atol=1e-9)
    assert set(d.losses) == set(W.LOSS_NAMES) and all(math.isfinite(v) for v in d.losses.values())
    assert d.errors.shape == (30,) and d.kernel.max() == pytest.approx(1.0)
    np.testing.assert_allclose(d.target.sum(1), 1.0 / N)


def test_more_rounds_reduce_marginal_error():
    few, many = _plan(n_rounds=2, eps=0.1), _plan(n_rounds=40, eps=0.1)
    err = lambda d: np.abs(d.row_marginal - d.row_target).sum()  # noqa: E731
    assert err(many) < err(few)
    assert many.errors[-1] < many.errors[0]


def test_larger_rho_brings_marginals_closer_to_target():
    errs = []
    for rho in (0.01, 0.1, 1.0, 100.0, math.inf):
        d = _plan(n_rounds=50, eps=0.1, rho_a=rho, rho_b=rho)
        assert d.ok
        errs.append(np.abs(d.row_marginal - d.row_target).sum())
    assert all(a > b for a, b in zip(errs, errs[1:]))


def test_rounds_zero_is_the_normalized_kernel():
    d = _plan(n_rounds=0, eps=0.5)
    assert d.ok and "no projection" in d.message and d.errors.size == 0
    np.testing.assert_allclose(d.plan / d.plan.max(), d.kernel, rtol=1e-12)
    np.testing.assert_allclose(d.plan.sum(), 1.0)
    assert d.losses["gca_ince"] == pytest.approx(d.losses["ince"])  # one round = InfoNCE


def test_joint_layout_and_domain_prior():
    d = W.compute_plan(W.PlanParams(n=N, layout="joint", alpha=0.5, beta=0.1))
    assert d.ok and d.plan.shape == (2 * N, 2 * N)
    assert np.all(np.diag(d.plan) == 0.0)  # self-pairs excluded
    assert d.target.shape == (2 * N, 2 * N) and (d.target > 0).sum() > 2 * N
    plain = W.compute_plan(W.PlanParams(n=N, layout="joint"))
    assert d.losses["ince"] != pytest.approx(plain.losses["ince"])  # the target prior changes the loss


@pytest.mark.parametrize(
    "kw",
    [dict(eps=0.01, n_rounds=50), dict(rho_a=0.01, rho_b=0.01), dict(corrupt=1.0),
     dict(eps=0.01, n_rounds=50, rho_a=0.01, rho_b=0.01, corrupt=1.0, layout="joint"), dict(noise=0.5)],
)
def test_extreme_values_are_finite_or_explained(kw):
    d = _plan(**kw)
    if d.ok:
        assert np.isfinite(d.plan).all() and np.isfinite(d.kernel).all() and np.isfinite(d.errors).all()
        assert np.isfinite(d.row_marginal).all()
    else:
        assert d.message


def test_invalid_settings_give_a_message_not_an_exception():
    d = _plan(eps=-1.0)
    assert not d.ok and "eps" in d.message
    d = _plan(n_rounds=-3)
    assert not d.ok and "n_rounds" in d.message


def test_compute_method_plans(batch):
    plans = W.compute_method_plans(batch.z1, batch.z2, eps=0.5)
    assert list(plans) == ["kernel", "ince", "gca_ince", "gca_uot"]
    np.testing.assert_allclose(plans["ince"].sum(1), 1.0, atol=1e-9)
    # GCA-INCE ends on a row step after 9 rounds: columns close to 1, unlike InfoNCE's
    col_err = lambda p: np.abs(p.sum(0) - 1).sum()  # noqa: E731
    assert col_err(plans["gca_ince"]) < col_err(plans["ince"])


# ------------------------------------------------------------------------------------------ notebook 03


def test_corrupted_mass_uot_below_balanced():
    bal = W.compute_corrupted_mass(0.25, math.inf, n=N, n_iters=100)
    uot = W.compute_corrupted_mass(0.25, 0.1, n=N, n_iters=100)
    assert bal.col_mass_corrupted == pytest.approx(1.0, abs=1e-9)
    assert bal.col_mass_clean == pytest.approx(1.0, abs=1e-9)
    assert uot.col_mass_corrupted < bal.col_mass_corrupted
    assert uot.col_mass_corrupted < uot.col_mass_clean  # corrupted columns lose more
    assert uot.pos_mass_corrupted < uot.pos_mass_clean


def test_noisy_views_sweep_and_gradients():
    nv = W.compute_noisy_views(0.25, [0.01, 0.1, 1.0], n=N, n_iters=60, methods=("ince", "rince"))
    assert math.isinf(nv.rhos[-1]) and nv.rhos.shape == (4,)
    assert (np.diff(nv.col_mass_corrupted) > 0).all()  # more rho, more mass forced through
    assert (nv.col_mass_corrupted[:-1] < nv.col_mass_clean[:-1]).all()
    for m in ("ince", "rince"):
        assert math.isfinite(nv.grad_ratio[m]) and nv.grad_corrupted[m] > 0
    assert nv.grad_ratio["rince"] < nv.grad_ratio["ince"]  # RINCE pushes less on corrupted pairs


# ------------------------------------------------------------------------------------------ notebook 04


@pytest.fixture(scope="module")
def traj():
    return W.compute_sphere_trajectories(("ince", "gca_uot"), dim=2, n_points=16, steps=40, snapshot_every=10)


def test_sphere_trajectories(traj):
    assert list(traj.steps) == [0, 10, 20, 30, 40]
    for m in traj.methods:
        pts = traj.points[m]
        assert pts.shape == (5, 16, 2)
        np.testing.assert_allclose(np.linalg.norm(pts, axis=-1), 1.0, atol=1e-6)
        assert traj.uniformity[m][-1] < traj.uniformity[m][0]  # points spread out
        assert np.isfinite(traj.alignment[m]).all() and np.isfinite(traj.loss[m][1:]).all()
    np.testing.assert_allclose(traj.points["ince"][0], traj.points["gca_uot"][0])  # same start
    t3 = W.compute_sphere_trajectories(("ince",), dim=3, n_points=8, steps=5, snapshot_every=5)
    assert t3.points["ince"].shape == (2, 8, 3)
    with pytest.raises(ValueError, match="dim"):
        W.compute_sphere_trajectories(dim=4)


# ------------------------------------------------------------------------------------------ widgets, headless


@pytest.fixture(scope="module")
def explorer():
    return W.PlanExplorer(W.PlanParams(n=N))


def _z(fig, i):
    return np.asarray(fig.data[i].z, dtype=float)


def test_plan_explorer_eps_updates_heatmap_in_place(explorer):
    fig, trace = explorer.fig_maps, explorer.fig_maps.data[1]
    before = _z(fig, 1).copy()
    readout = explorer.readout.value
    explorer.controls["eps"].value = 0.05
    assert explorer.fig_maps is fig and explorer.fig_maps.data[1] is trace  # same objects
    after = _z(fig, 1)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, explorer.state.plan)
    assert explorer.state.params.eps == pytest.approx(0.05)
    assert np.trace(after) > np.trace(before)  # colder plan: more mass on positives
    assert explorer.readout.value != readout and "plan checksum" in explorer.readout.value
    assert explorer.last_redraw_ms > 0
    explorer.controls["eps"].value = 0.5


def test_plan_explorer_rounds_and_convergence(explorer):
    explorer.controls["n_rounds"].value = 25
    assert len(explorer.fig_convergence.data[0].y) == 25
    explorer.controls["n_rounds"].value = 0
    assert len(explorer.fig_convergence.data[0].y) == 0 and "no projection" in explorer.status.value
    explorer.controls["n_rounds"].value = 10


def test_plan_explorer_rho_marginals(explorer):
    explorer.controls["rho_b"].value = 0.01
    col = np.asarray(explorer.fig_marginals.data[2].y, dtype=float)
    np.testing.assert_allclose(col, explorer.state.col_marginal)
    assert np.abs(col - 1.0 / N).sum() > 1e-3  # relaxed: columns off target
    explorer.controls["rho_b"].value = math.inf
    col = np.asarray(explorer.fig_marginals.data[2].y, dtype=float)
    np.testing.assert_allclose(col, 1.0 / N, atol=1e-9)


def test_plan_explorer_other_controls(explorer):
    losses_before = list(explorer.fig_losses.data[0].y)
    explorer.controls["alpha"].value = 0.5
    target = _z(explorer.fig_maps, 2)
    assert (target > 0).sum() > N  # the domain prior fills blocks
    assert list(explorer.fig_losses.data[0].y) != losses_before
    explorer.controls["alpha"].value = 0.0
    explorer.controls["layout"].value = "joint"
    assert _z(explorer.fig_maps, 1).shape == (2 * N, 2 * N)
    explorer.controls["layout"].value = "cross"
    explorer.controls["scale"].value = "log10"
    z = _z(explorer.fig_maps, 1)
    np.testing.assert_allclose(z, np.log10(explorer.state.plan))
    explorer.controls["scale"].value = "linear"
    explorer.controls["corrupt"].value = 1.0
    assert explorer.state.corrupted.all()
    explorer.controls["noise"].value = 0.3
    assert explorer.state.params.noise == pytest.approx(0.3)
    explorer.controls["corrupt"].value = 0.0
    explorer.controls["noise"].value = 0.0


def test_plan_explorer_extremes_never_draw_nan(explorer):
    for key, value in [("eps", 0.01), ("n_rounds", 50), ("rho_a", 0.01), ("rho_b", 0.01), ("corrupt", 1.0)]:
        explorer.controls[key].value = value
        for i in range(3):
            assert np.isfinite(_z(explorer.fig_maps, i)).all()
    for key, value in [("eps", 0.5), ("n_rounds", 10), ("rho_a", math.inf), ("rho_b", math.inf), ("corrupt", 0.0)]:
        explorer.controls[key].value = value


def test_plan_explorer_shows_library_errors_as_status(explorer, monkeypatch):
    before = _z(explorer.fig_maps, 1).copy()

    def boom(*args, **kwargs):
        raise ValueError("cost must not contain NaN")

    monkeypatch.setattr(W, "sinkhorn", boom)
    explorer.controls["eps"].value = 0.2
    assert "cost must not contain NaN" in explorer.status.value
    np.testing.assert_allclose(_z(explorer.fig_maps, 1), before)  # last valid figure kept
    monkeypatch.undo()
    explorer.controls["eps"].value = 0.5
    assert "NaN" not in explorer.status.value


def test_noisy_views_explorer():
    ex = W.NoisyViewsExplorer(0.25, 1.0, n=N, n_iters=60)
    fig = ex.fig_maps
    before = _z(fig, 1).copy()
    bars = list(ex.fig_bars.data[1].y)
    ex.controls["rho"].value = 0.01
    assert ex.fig_maps is fig and not np.allclose(_z(fig, 1), before)
    after = list(ex.fig_bars.data[1].y)
    assert after[0] < bars[0]  # less mass on corrupted columns at smaller rho
    np.testing.assert_allclose(ex.fig_bars.data[0].y, [1.0, 1.0], atol=1e-9)  # balanced
    ex.controls["fraction"].value = 0.0
    assert "nothing corrupted" in ex.status.value


def test_sphere_explorer_step_slider(traj):
    ex = W.SphereExplorer(traj)
    i = ex._idx[0]
    fig, trace = ex.fig_points, ex.fig_points.data[i]
    x0 = np.asarray(trace.x, dtype=float).copy()
    ex.controls["step"].value = 4
    assert ex.fig_points is fig and ex.fig_points.data[i] is trace
    np.testing.assert_allclose(np.asarray(trace.x, dtype=float), traj.points["ince"][4][:, 0])
    assert not np.allclose(x0, np.asarray(trace.x, dtype=float))
    assert all(s.x0 == traj.steps[4] for s in ex.fig_curves.layout.shapes)
    assert ex.state == 4 and "step 40" in ex.status.value


def test_hold_redraws_once(explorer):
    n_before = len(explorer.redraw_ms)
    with explorer.hold():
        explorer.controls["eps"].value = 0.1
        explorer.controls["n_rounds"].value = 20
    assert len(explorer.redraw_ms) == n_before + 1
    assert explorer.state.params.eps == pytest.approx(0.1) and explorer.state.params.n_rounds == 20
    with explorer.hold():
        explorer.controls["eps"].value = 0.5
        explorer.controls["n_rounds"].value = 10
