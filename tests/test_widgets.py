"""gca_lab.widgets: the explorer views driven headless (in-place updates, status messages, no NaN drawn)."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("anywidget", reason="plotly FigureWidget (plotly >= 6) needs anywidget")

from gca_lab import methods, viz  # noqa: E402
from gca_lab import widgets as W  # noqa: E402
from gca_lab.explore import plans as _plans  # noqa: E402
from gca_lab.explore.plans import PlanParams  # noqa: E402
from gca_lab.explore.sphere import compute_sphere_trajectories  # noqa: E402

N = 48  # small batches keep the suite fast


@pytest.fixture(scope="module")
def traj():
    return compute_sphere_trajectories(("ince", "gca_uot"), dim=2, n_points=16, steps=40, snapshot_every=10)


@pytest.fixture(scope="module")
def explorer():
    return W.PlanExplorer(PlanParams(n=N))


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
    explorer.controls["n_iters"].value = 25
    assert len(explorer.fig_convergence.data[0].y) == 25
    explorer.controls["n_iters"].value = 0
    assert len(explorer.fig_convergence.data[0].y) == 0 and "no projection" in explorer.status.value
    explorer.controls["n_iters"].value = 10


def test_plan_explorer_rho_marginals(explorer):
    explorer.controls["rho_b"].value = 0.01
    col = np.asarray(explorer.fig_marginals.data[1].y, dtype=float)
    np.testing.assert_allclose(col, viz.floored(explorer.state.col_deviation))
    assert col.max() > 1e-3  # relaxed: columns off target
    lo, hi = explorer.fig_marginals.layout.yaxis.range
    assert lo == pytest.approx(math.log10(viz.DEVIATION_FLOOR) - 0.5) and hi >= math.log10(col.max())
    explorer.controls["rho_b"].value = math.inf
    col = np.asarray(explorer.fig_marginals.data[1].y, dtype=float)
    np.testing.assert_allclose(col, viz.DEVIATION_FLOOR)  # exact to round-off: drawn on the floor
    assert explorer.fig_marginals.layout.yaxis.range[1] == pytest.approx(0.5)  # no autoscaling to noise


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
    for key, value in [("eps", 0.01), ("n_iters", 50), ("rho_a", 0.01), ("rho_b", 0.01), ("corrupt", 1.0)]:
        explorer.controls[key].value = value
        for i in range(3):
            assert np.isfinite(_z(explorer.fig_maps, i)).all()
    for key, value in [("eps", 0.5), ("n_iters", 10), ("rho_a", math.inf), ("rho_b", math.inf), ("corrupt", 0.0)]:
        explorer.controls[key].value = value


def test_plan_explorer_shows_library_errors_as_status(explorer, monkeypatch):
    before = _z(explorer.fig_maps, 1).copy()

    def boom(*args, **kwargs):
        raise ValueError("cost must not contain NaN")

    monkeypatch.setattr(_plans, "sinkhorn", boom)
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
    assert ex.controls["step"].label == "40"  # the slider reads the step the status line names
    assert [label for label, _ in ex.controls["step"].options] == [str(int(t)) for t in traj.steps]


def test_explorers_are_readable_before_and_after_the_kernel_runs(explorer, traj):
    from gca_lab.explore.playground import PlaygroundSettings

    views = [explorer, W.NoisyViewsExplorer(n=32, n_iters=20), W.SphereExplorer(traj),
             W.TrainingPlayground(PlaygroundSettings(method="ince", **PLAYGROUND))]
    for view in views:
        bundle = view._repr_mimebundle_()
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        assert data["text/markdown"] == W.PLACEHOLDER and "run the cell to start the explorer" in data["text/plain"]
        assert "application/vnd.jupyter.widget-view+json" in data  # the live view is still there
        for name, control in view.controls.items():
            if hasattr(control, "readout"):  # sliders: about 300 px of track
                assert control.layout.width == f"{W.CONTROL_PX}px", name
                assert control.style.description_width == f"{W.DESCRIPTION_PX}px", name
        for fig in (getattr(view, k) for k in ("fig_maps", "fig_marginals", "fig_convergence", "fig_losses",
                                               "fig_bars", "fig_points", "fig_curves", "fig") if hasattr(view, k)):
            assert viz.plotly_problems(fig) == [], (type(view).__name__, fig.layout.title.text)
    assert type(explorer.controls["eps"]).__name__ == "FloatLogSlider"
    assert type(views[3].controls["eps"]).__name__ == "FloatLogSlider"


def test_hold_redraws_once(explorer):
    n_before = len(explorer.redraw_ms)
    with explorer.hold():
        explorer.controls["eps"].value = 0.1
        explorer.controls["n_iters"].value = 20
    assert len(explorer.redraw_ms) == n_before + 1
    assert explorer.state.params.eps == pytest.approx(0.1) and explorer.state.params.n_iters == 20
    with explorer.hold():
        explorer.controls["eps"].value = 0.5
        explorer.controls["n_iters"].value = 10


# -- training playground (notebook 13) ------------------------------------------------------------------

PLAYGROUND = dict(epochs=2, n_samples=1000, device="cpu")  # 5 steps per epoch


def test_playground_trains_into_the_same_figure_and_keeps_runs():
    from gca_lab.explore.playground import PlaygroundSettings, compute_training_run

    pg = W.TrainingPlayground(PlaygroundSettings(method="ince", **PLAYGROUND))
    fig = pg.fig
    assert pg.controls["n_iters"].disabled and pg.controls["rho"].disabled  # INCE ignores both
    assert pg.stop_button.disabled and not pg.train_button.disabled
    pg.train(blocking=True)
    assert pg.fig is fig and len(fig.data) == 2 and not pg.running
    first = pg.runs[0]
    direct = compute_training_run(PlaygroundSettings(method="ince", **PLAYGROUND))
    assert first.loss == pytest.approx(direct.loss, rel=1e-6)  # the view draws the driver's numbers
    np.testing.assert_allclose(fig.data[0].x, [1, 2])
    np.testing.assert_allclose(fig.data[0].y, first.loss)
    np.testing.assert_allclose(fig.data[1].x, [0, 1, 2])  # epoch 0: the random-init encoder
    np.testing.assert_allclose(fig.data[1].y, [100 * a for a in (first.init_probe_acc, *first.probe_acc)])
    assert "finished 2 epochs" in pg.status.value and "1 run(s) on the axes" in pg.status.value
    assert len(pg.redraw_ms) == 3 and pg.last_redraw_ms > 0  # after setup and after each epoch

    pg.controls["method"].value = "gca_uot"
    assert not pg.controls["n_iters"].disabled and not pg.controls["rho"].disabled
    pg.train(blocking=True)
    assert len(fig.data) == 4 and len(pg.runs) == 2
    assert fig.data[0].name.startswith("#1 INCE") and fig.data[2].name.startswith("#2 GCA-UOT")
    assert fig.data[0].line.color == methods.color("ince") and fig.data[2].line.color == methods.color("gca_uot")
    np.testing.assert_allclose(fig.data[0].y, first.loss)  # the earlier run is untouched
    assert "2 run(s) on the axes" in pg.status.value
    pg.controls["epochs"].value = 1
    pg.train(blocking=True)  # a second GCA-UOT run: the method's colour, another dash
    assert fig.data[4].line.color == methods.color("gca_uot") and fig.data[4].line.dash != fig.data[2].line.dash
    pg.clear()
    assert len(fig.data) == 0 and pg.runs == []


def test_playground_stop_ends_a_background_run_after_its_epoch():
    import threading

    from gca_lab.explore.playground import PlaygroundSettings

    pg = W.TrainingPlayground(PlaygroundSettings(method="ince", **{**PLAYGROUND, "epochs": 5}))
    first_epoch = threading.Event()
    original = pg._show

    def show(i, run):  # press Stop as soon as the first epoch is drawn
        original(i, run)
        if run.n_epochs == 1:
            first_epoch.set()
            pg.stop()

    pg._show = show
    pg.train()  # background thread: train() returns at once
    assert pg.running and not pg.stop_button.disabled
    pg.train()  # a second click while running is ignored
    assert first_epoch.wait(120)
    pg.thread.join(120)
    run = pg.runs[0]
    assert run.stopped and run.n_epochs == 1 and len(pg.fig.data) == 2
    np.testing.assert_allclose(pg.fig.data[0].y, run.loss)  # the partial curve is kept
    assert "stopped after 1 of 5 epochs" in pg.status.value
    assert pg.fig.data[0].name.endswith("(stopped: 1 of 5 ep.)")  # the legend says what was trained
    assert pg.fig.data[1].name == pg.fig.data[0].name
    assert not pg.running and pg.stop_button.disabled and not pg.train_button.disabled


def test_playground_refuses_bad_settings_in_the_status_line():
    from gca_lab.explore.playground import PlaygroundSettings

    pg = W.TrainingPlayground(PlaygroundSettings(method="ince", **PLAYGROUND))
    assert "false_positives" in pg.controls
    pg.base = PlaygroundSettings(method="ince", n_samples=10)  # below the 200-signal minimum
    pg.train(blocking=True)
    assert "n_samples" in pg.status.value and "color:#b00020" in pg.status.value
    assert len(pg.fig.data) == 0 and not pg.running
    with pytest.raises(ValueError, match="eps"):
        W.TrainingPlayground(PlaygroundSettings(eps=-1.0))
