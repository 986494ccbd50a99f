"""Every viz function returns a figure with the expected panels/traces and finite data (Agg backend)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gca_lab import methods, viz  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _images(fig):
    return [im for ax in fig.axes for im in ax.get_images()]


def test_plan_heatmaps_shared_and_per_panel():
    rng = np.random.default_rng(0)
    mats = {name: rng.random((6, 6)) for name in ("kernel", "INCE", "GCA-INCE", "GCA-UOT")}
    fig = viz.plan_heatmaps(mats)
    ims = _images(fig)
    assert len(ims) == 4
    assert len({im.get_clim() for im in ims}) == 1  # one shared colour scale
    assert [ax.get_title() for ax in fig.axes[:4]] == list(mats)
    fig2 = viz.plan_heatmaps(mats, shared_scale=False, log10=True, ncols=2)
    ims2 = _images(fig2)
    assert len(ims2) == 4 and len({im.get_clim() for im in ims2}) == 4
    for im, m in zip(ims2, mats.values()):
        np.testing.assert_allclose(np.asarray(im.get_array()), np.log10(m))


def test_plan_heatmaps_accepts_tensors_and_rejects_bad_input():
    fig = viz.plan_heatmaps({"t": torch.eye(3)})
    assert np.isfinite(np.asarray(_images(fig)[0].get_array())).all()
    with pytest.raises(ValueError, match="2-D"):
        viz.plan_heatmaps({"bad": np.ones(3)})
    with pytest.raises(ValueError):
        viz.plan_heatmaps({})


def test_marginals_plot_draws_deviations_on_a_floored_log_axis():
    p = np.full((5, 5), 0.04)
    q = p.copy()
    q[0, 0] += 0.02  # row 0 and column 0 off by 50 %
    fig = viz.marginals_plot({"P": p, "Q": q}, np.full(5, 0.2), np.full(5, 0.2), highlight=np.array([1, 0, 0, 0, 1]))
    ax_r, ax_c = fig.axes
    assert ax_r.get_yscale() == "log" and ax_c.get_yscale() == "log"
    np.testing.assert_allclose(ax_r.get_lines()[0].get_ydata(), viz.DEVIATION_FLOOR)  # exact: on the floor
    np.testing.assert_allclose(ax_c.get_lines()[1].get_ydata(), [0.1, *[viz.DEVIATION_FLOOR] * 4])
    lo, hi = ax_r.get_ylim()
    assert lo < viz.DEVIATION_FLOOR and hi >= 1.0  # the axis never zooms into round-off
    legend = ax_c.get_legend()
    assert legend is not None and legend.get_bbox_to_anchor().x0 > ax_c.get_window_extent().x1 - 1  # outside


def test_marginals_plot_without_targets_draws_the_marginals():
    p = np.full((5, 5), 0.04)
    fig = viz.marginals_plot({"P": p})
    ax_r, ax_c = fig.axes
    assert ax_r.get_yscale() == "linear"
    np.testing.assert_allclose(ax_r.get_lines()[0].get_ydata(), p.sum(1))
    with pytest.raises(ValueError, match="row_target"):
        viz.marginals_plot({"P": p}, np.full(5, 0.2))


def test_floored_and_log_range():
    np.testing.assert_allclose(viz.floored([0.0, 1e-15, 0.5]), [1e-12, 1e-12, 0.5])
    assert np.isnan(viz.floored([np.nan])[0])
    assert viz.log_range([0.0, 1e-14]) == [-12.5, 0.5]  # at least up to a 100 % deviation
    assert viz.log_range([1e3]) == [-12.5, 3.5]


def test_convergence_plot_is_log_scale():
    fig = viz.convergence_plot({"a": [1.0, 0.1, 0.01], "b": torch.tensor([1.0, 0.5, 0.25])})
    (ax,) = fig.axes
    assert ax.get_yscale() == "log" and len(ax.get_lines()) == 2
    fig1 = viz.convergence_plot(np.array([1.0, 0.0]))  # zeros are dropped (nan), not -inf
    assert len(fig1.axes[0].get_lines()) == 1


@pytest.mark.parametrize("d", [2, 3])
def test_points_on_sphere(d):
    pts = np.random.default_rng(0).normal(size=(10, d))
    fig = viz.points_on_sphere({"a": pts, "b": 2 * pts}, colors=np.arange(10))
    assert len(fig.axes) == 2
    if d == 2:
        offsets = fig.axes[0].collections[0].get_offsets()
        np.testing.assert_allclose(np.linalg.norm(offsets, axis=1), 1.0)
    with pytest.raises(ValueError):
        viz.points_on_sphere({"a": np.ones((3, 4))})


def test_curves_view_pairs_scatter():
    fig = viz.curves_plot(np.arange(5), {"p1": {"x": np.arange(5.0), "y": np.ones(5)}, "p2": {"z": np.zeros(5)}})
    assert len(fig.axes) == 2 and len(fig.axes[0].get_lines()) == 2
    x = torch.rand(4, 1, 8, 8)
    fig = viz.view_pairs(x, x, k=3, marked=torch.tensor([True, False, False, False]))
    assert len(_images(fig)) == 6
    fig = viz.scatter_compare([1.0, 2.0], [0.5, 2.0], color=[0.0, 1.0])
    assert len(fig.axes) == 2  # axis + colorbar


def test_method_bars_ours_vs_paper():
    fig = viz.method_bars(["ince", "gca_ince", "gca_uot"], [90.1, 90.5, 91.0], [0.2, 0.3, 0.1],
                          paper=[91.0, None, 92.0])
    ax = fig.axes[0]
    assert len(ax.containers) >= 2
    ours, paper = [c for c in ax.containers if hasattr(c, "patches")][:2]
    np.testing.assert_allclose([r.get_height() for r in ours], [90.1, 90.5, 91.0])
    assert [r.get_visible() for r in paper] == [True, False, True]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["INCE", "GCA-INCE", "GCA-UOT"]  # registry labels
    legend = ax.get_legend()
    assert legend.get_bbox_to_anchor().x0 > ax.get_window_extent().x1 - 1  # outside the data
    with pytest.raises(ValueError):
        viz.method_bars(["a"], [1.0, 2.0])


def test_sweep_plot_band_and_twin():
    x = [0.1, 1.0, 10.0]
    fig = viz.sweep_plot(x, {"acc": (np.array([1.0, 2.0, 3.0]), np.array([0.1, 0.1, 0.2]))},
                         twin={"time": [3.0, 2.0, 1.0]}, logx=True)
    assert len(fig.axes) == 2
    left, right = fig.axes
    assert left.get_xscale() == "log" and len(left.collections) == 1  # the band
    np.testing.assert_allclose(right.get_lines()[0].get_ydata(), [3.0, 2.0, 1.0])


def test_loglog_timing_slope():
    n = np.array([64, 128, 256, 512])
    fig = viz.loglog_timing(n, {"quadratic": 1e-6 * n**2.0, "linear": (1e-4 * n, 1e-5 * n)})
    assert fig.slopes["quadratic"] == pytest.approx(2.0, abs=1e-9)
    assert fig.slopes["linear"] == pytest.approx(1.0, abs=1e-9)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert any("slope 2.00" in t.get_text() for t in ax.get_legend().get_texts())


def test_plotly_builders():
    rng = np.random.default_rng(0)
    fig = viz.plotly_heatmaps({"K": rng.random((4, 4)), "P": rng.random((4, 4)), "T": np.eye(4)})
    assert [t.type for t in fig.data] == ["heatmap"] * 3
    assert all(np.isfinite(np.asarray(t.z, dtype=float)).all() for t in fig.data)
    fig = viz.plotly_marginals(np.zeros(4), np.array([1e-3, 0.0, 2.0, 1e-20]))
    assert len(fig.data) == 2 and fig.layout.yaxis.type == "log"
    np.testing.assert_allclose(fig.data[1].y, [1e-3, 1e-12, 2.0, 1e-12])
    assert fig.layout.legend.y >= 1.0  # legend above the data
    fig = viz.plotly_convergence([1.0, 0.1])
    assert fig.layout.yaxis.type == "log" and len(fig.data) == 1
    fig = viz.plotly_bars({"ince": 1.0, "gca_uot": 2.0})
    assert list(fig.data[0].x) == ["ince", "gca_uot"]
    assert list(fig.data[0].marker.color) == [methods.color("ince"), methods.color("gca_uot")]  # the registry's
    fig = viz.plotly_points({"a": rng.normal(size=(5, 2)), "b": rng.normal(size=(5, 2))}, colors=np.arange(5))
    assert fig.layout.meta["point_traces"] == [1, 3] and len(fig.data) == 4
    fig = viz.plotly_points({"a": rng.normal(size=(5, 3))})
    assert fig.data[0].type == "scatter3d"
    fig = viz.plotly_curves(np.arange(3), {"p": {"a": [1, 2, 3]}, "q": {"a": [3, 2, 1]}}, marker_x=1.0)
    assert len(fig.data) == 2 and len(fig.layout.shapes) == 2


def test_plotly_heatmap_colour_bars_sit_in_the_gap_before_the_next_panel():
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 4):
        fig = viz.plotly_heatmaps({f"m{i}": rng.random((4, 4)) for i in range(n)})
        domains = [fig.layout[f"xaxis{i + 1 if i else ''}"].domain for i in range(n)]
        for i, trace in enumerate(fig.data):
            bar = trace.colorbar
            assert bar.xanchor == "left" and domains[i][1] <= bar.x
            if i + 1 < n:  # bar (10 px) plus tick labels: at least 8 % of the width before the next panel
                assert domains[i + 1][0] - bar.x >= 0.08


def test_to_numpy_and_setup():
    assert viz.to_numpy(torch.ones(2, requires_grad=True)).dtype == np.float64
    viz.setup_notebook()
    assert math.isclose(matplotlib.rcParams["figure.dpi"], 80)


def test_method_bars_axis_shows_the_whole_error_bars():
    fig = viz.method_bars(["ince", "gca_uot"], [0.5, -7.4], [4.0, 1.0], paper=[0.6, None])
    lo, hi = fig.axes[0].get_ylim()
    assert lo <= -8.4 and hi >= 4.5
