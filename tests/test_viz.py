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
    legend = ax_r.get_legend()  # one legend for both panels, under them (outside the data)
    fig.canvas.draw()
    assert legend is not None and legend.get_window_extent().y1 < ax_r.get_window_extent().y0
    assert [t.get_text() for t in legend.get_texts()][:2] == ["P", "Q"]


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
    fig.canvas.draw()
    assert legend.get_window_extent().y1 < ax.get_window_extent().y0  # under the axes, outside the data
    assert viz.method_bars(["ince"], [1.0]).axes[0].get_legend() is None  # one source: the x axis says it all
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
    assert math.isclose(matplotlib.rcParams["figure.dpi"], viz.DPI)


def test_method_bars_axis_shows_the_whole_error_bars():
    fig = viz.method_bars(["ince", "gca_uot"], [0.5, -7.4], [4.0, 1.0], paper=[0.6, None])
    lo, hi = fig.axes[0].get_ylim()
    assert lo <= -8.4 and hi >= 4.5


# --------------------------------------------------------------------------------------------------
# the figure check and the one style (issue 17, items 3 and 4)
# --------------------------------------------------------------------------------------------------


def _bad_small_text():
    fig, ax = plt.subplots(figsize=(4, 3), dpi=viz.DPI)
    ax.plot([0, 1], [0, 1], label="line")
    ax.set_xlabel("x (units)", fontsize=6)
    ax.set_ylabel("y (units)")
    return fig


def test_figure_check_fires_on_small_text_at_display_size():
    fig = _bad_small_text()
    problems = viz.figure_problems(fig)
    assert any("'x (units)'" in p and "pt as displayed" in p for p in problems), problems
    assert not any("'y (units)'" in p for p in problems)  # the default size passes
    with pytest.raises(viz.FigureStyleError, match="x \\(units\\)"):
        viz.check_figure(fig)
    # the same 10-pt text at dpi 60 displays at 6.25 pt: too small
    fig2, ax2 = plt.subplots(figsize=(4, 3), dpi=60)
    ax2.set_xlabel("x (units)")
    assert any("x (units)" in p for p in viz.figure_problems(fig2))


def test_figure_check_fires_on_a_figure_wider_than_the_cell():
    fig, ax = plt.subplots(figsize=(12, 3), dpi=viz.DPI)
    ax.set_xlabel("x (units)")
    problems = viz.figure_problems(fig)
    assert any("px wide" in p and "shown at" in p for p in problems), problems


def test_figure_check_fires_on_overlapping_labels_also_rotated():
    fig, ax = plt.subplots(figsize=(4, 3), dpi=viz.DPI)
    ax.text(0.5, 0.5, "first label", transform=ax.transAxes)
    ax.text(0.52, 0.51, "second label", transform=ax.transAxes)
    ax.text(0.1, 0.1, "far away", transform=ax.transAxes)
    problems = viz.figure_problems(fig)
    assert any("'first label' and 'second label' overlap" in p for p in problems), problems
    assert not any("far away" in p for p in problems)
    # rotated neighbours whose axis-aligned boxes overlap but whose glyph boxes do not: no problem
    fig2, ax2 = plt.subplots(figsize=(4, 3), dpi=viz.DPI)
    ax2.set_xticks(range(6))
    ax2.set_xticklabels([f"method {i}" for i in range(6)], rotation=45, ha="right", rotation_mode="anchor")
    assert not any("overlap" in p for p in viz.figure_problems(fig2))
    ax2.set_xticklabels([f"a very long method name {i}" for i in range(6)], rotation=10, ha="right")
    assert any("overlap" in p for p in viz.figure_problems(fig2))


def test_figure_check_fires_on_legend_entries_that_cannot_be_seen():
    fig, ax = plt.subplots(figsize=(5, 3), dpi=viz.DPI)
    ax.plot([0, 1, 2], [1, 2, 3], label="under")
    ax.plot([0, 1, 2], [1, 2, 3], label="over")  # exactly on top, solid, same width
    ax.plot([0, 1, 2], [1.5, 2.5, 3.5], label="beside")
    ax.plot([0, 1, 2], [50, 60, 70], label="outside")
    ax.set_ylim(0, 5)
    ax.set_xlabel("x (units)")
    ax.legend()
    problems = viz.figure_problems(fig)
    assert any("'under' is drawn over by 'over'" in p for p in problems), problems
    assert any("'outside' has no point inside the axes" in p for p in problems)
    assert not any("'beside'" in p or "'over' " in p for p in problems)
    fig2, ax2 = plt.subplots(figsize=(5, 3), dpi=viz.DPI)
    ax2.plot([0, 1, 2], [1, 2, 3], label="under")
    ax2.plot([0, 1, 2], [1, 2, 3], "--", lw=0.8, label="over, dashed")  # the one below shows through
    ax2.legend()
    assert not viz.figure_problems(fig2)


def _every_viz_figure():
    rng = np.random.default_rng(0)
    m4 = ["ince", "gca_ince", "gca_uot", "rince"]
    all9 = ["ince", "simclr", "rince", "gca_ince", "gca_rince", "uot", "gca_uot", "iot", "iot_uni"]
    steps = np.arange(0, 401, 10)
    x = torch.rand(14, 1, 8, 8)
    n = np.array([64, 128, 256, 512, 1024])
    return {
        "plan_heatmaps shared": viz.plan_heatmaps({f"P({i})": rng.random((24, 24)) for i in range(8)}, log10=True,
                                                  ncols=4, panel_size=2.6),
        "plan_heatmaps per panel": viz.plan_heatmaps({t: rng.random((128, 128)) for t in
                                                      ("kernel K / max K", "INCE P", "GCA-INCE P", "GCA-UOT P")},
                                                     shared_scale=False, log10=True),
        "marginals_plot": viz.marginals_plot({f"P({i})": np.full((6, 6), 1 / 6) for i in (2, 3, 4)},
                                             np.ones(6), np.ones(6)),
        "convergence_plot": viz.convergence_plot({"rows": np.logspace(0, -5, 6), "columns": np.logspace(0, -4, 6)}),
        "points_on_sphere 2d": viz.points_on_sphere({f"{m}, step 400": rng.normal(size=(48, 2))
                                                     for m in ["start", *m4[:3]]}, colors=np.arange(48)),
        "points_on_sphere 3d": viz.points_on_sphere({f"{m}, step 300": rng.normal(size=(48, 3)) for m in m4[:3]}),
        "curves_plot equal curves": viz.curves_plot(steps, {p: {m: np.exp(-steps / 100) for m in m4[:3]}
                                                            for p in ("alignment", "uniformity", "loss")}),
        "view_pairs": viz.view_pairs(x, x, k=14, marked=torch.arange(14) % 4 == 0),
        "scatter_compare": viz.scatter_compare(rng.random(50), rng.random(50), color=rng.random(50),
                                               color_label="log10 eps"),
        "method_bars": viz.method_bars(m4, [0.937, 0.948, 0.930, 0.552], ylim=(0, 1.2)),
        "method_bars paper": viz.method_bars(all9, 77 + rng.random(9), rng.random(9), paper=list(90 + rng.random(9))),
        "method_bars long sources": viz.method_bars(m4 + ["uot"], rng.normal(size=5), rng.random(5),
                                                    paper=list(rng.normal(size=5)), ylabel="gain over INCE (points)",
                                                    labels=("ours (digits), 95% CI", "paper (CIFAR-10)"),
                                                    title="Accuracy gain over INCE: digits"),
        "sweep_plot twin": viz.sweep_plot(n, {"a": (n, n / 10), "b": n / 2}, twin={"ratio": 1 / n}, logx=True,
                                          xlabel="rho", ylabel="mass", twin_ylabel="ratio"),
        "sweep_plot six bands": viz.sweep_plot([0, 0.2, 0.4, 0.6, 0.8], {m: (70 + rng.random(5), rng.random(5))
                                                                        for m in all9[:6]}),
        "sweep_plot small multiples with extras": viz.sweep_plot(
            [0, 0.2, 0.4, 0.6, 0.8], {methods.label(m): (70 - 10 * rng.random(5), rng.random(5))
                                      for m in ("ince", "rince", "gca_ince", "gca_rince", "uot", "gca_uot")},
            xlabel="fraction p of false positive pairs (persistent)", ylabel="frozen-probe test accuracy (%)",
            behind=["INCE", "GCA-UOT"], hlines={"random-init encoder": 50.0},
            points={"INCE": ([0.4], [65.0], [1.0]), "GCA-UOT": ([0.4], [66.0], [1.0])}, points_label="fresh",
            title="six methods"),
        "sweep_plot panels": viz.sweep_plot(np.arange(1, 11), {f"{m}: {w} rows": (1 + 0.01 * rng.random(10), np.full(10, 0.005))
                                                             for m in ("GCA-UOT", "INCE") for w in ("clean", "false")},
                                            panels={f"{m}: {w} rows": f"row mass, {w} rows" for m in ("GCA-UOT", "INCE")
                                                    for w in ("clean", "false")},
                                            styles={"INCE: clean rows": "--", "INCE: false rows": "--"}, xlabel="epoch"),
        "loglog_timing": viz.loglog_timing(n, {m: 1e-6 * n**2 * (i + 1) for i, m in enumerate(m4[:3])}),
        "bar_panels": viz.bar_panels({"MNIST-1D (ours)": {m: (77 + rng.random(), rng.random()) for m in all9},
                                      "Fashion-MNIST (ours)": {"ince": (78.4, 0.2), "gca_uot": (78.8, 0.3)},
                                      "CIFAR-10 (paper)": {m: 90 + rng.random() for m in all9}},
                                     hatched=["CIFAR-10 (paper)"]),
    }


def test_every_viz_figure_passes_the_figure_check():
    viz.setup_notebook()
    for name, fig in _every_viz_figure().items():
        assert viz.figure_problems(fig) == [], name


def test_method_bars_labels_sit_past_the_error_bars_with_enough_decimals():
    fig = viz.method_bars(["ince", "gca_uot"], [23.6, -7.4], [2.0, 1.5])
    ax = fig.axes[0]
    labels = {t.get_text(): t for t in ax.texts}
    assert set(labels) == {"23.6", "-7.4"}
    assert labels["23.6"].xy[1] == pytest.approx(25.6) and labels["-7.4"].xy[1] == pytest.approx(-8.9)
    fig = viz.method_bars(["ince", "gca_uot"], [0.937, 0.930])
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["0.930", "0.937"]
    assert viz.value_digits([0.937, 0.930]) == 3 and viz.value_digits([77.1, 78.4]) == 1


def test_method_bars_legend_swatches_name_the_source_not_a_method():
    fig = viz.method_bars(["gca_uot", "ince"], [1.0, 2.0], paper=[1.5, 2.5])
    handles = fig.axes[0].get_legend().legend_handles
    faces = [matplotlib.colors.to_hex(h.get_facecolor()) for h in handles]
    assert methods.color("gca_uot") not in faces and methods.color("ince") not in faces
    assert handles[1].get_hatch() == "//"


def test_bar_panels_leave_no_empty_slot_and_use_the_registry_colours():
    fig = viz.bar_panels({"A": {"ince": 1.0, "gca_uot": 2.0, "rince": 3.0}, "B": {"ince": 1.0, "gca_uot": 2.0}},
                         order=["ince", "rince", "gca_uot"])
    a, b = fig.axes[:2]
    assert [t.get_text() for t in b.get_xticklabels()] == ["INCE", "GCA-UOT"]
    assert len(b.containers[0].patches) == 2
    assert [matplotlib.colors.to_hex(r.get_facecolor()) for r in b.containers[0].patches] == \
        [methods.color("ince"), methods.color("gca_uot")]


def test_bar_panels_size_their_columns_by_the_widest_panel():
    # A row of narrow two-method panels must not squeeze a later nine-method panel into its column.
    viz.setup_notebook()
    all9 = list(methods.METHODS)[:9]
    narrow = {f"ours {k}": {"ince": 78.4 + k, "gca_uot": 78.8 + k} for k in range(4)}
    fig = viz.bar_panels({**narrow, "paper": {m: 90.0 + 0.1 * i for i, m in enumerate(all9)}}, order=all9)
    assert viz.figure_problems(fig) == []
    wide = fig.axes[4]
    assert len(wide.containers[0].patches) == 9


def test_other_colours_are_never_method_colours():
    method_colours = {m.color for m in methods.METHODS.values()}
    assert not set(viz.OTHER_COLORS) & method_colours
    assert not set(viz.level_colors(6)) & method_colours and len(set(viz.level_colors(6))) == 6
    fig = viz.sweep_plot([0, 1], {"p = 0.2": [1, 2], "p = 0.8": [2, 3]})
    assert {matplotlib.colors.to_hex(line.get_color()) for line in fig.axes[0].lines} <= set(viz.OTHER_COLORS)
    with pytest.raises(ValueError, match="n must be"):
        viz.level_colors(0)


def test_sweep_plot_draws_more_than_three_bands_as_small_multiples():
    fig = viz.sweep_plot([0, 1, 2], {f"s{i}": ([1, 2, 3], [0.1, 0.1, 0.1]) for i in range(5)})
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 5 and all(len(ax.collections) == 1 for ax in shown)
    fig = viz.sweep_plot([0, 1, 2], {"a": [1, 2, 3]}, twin={"b": [3, 2, 1]}, ylabel="acc (%)", twin_ylabel="s")
    left, right = fig.axes
    assert left.get_ylabel() == "acc (%) (solid)" and right.get_ylabel() == "s (dashed)"


def test_plotly_builders_pass_the_plotly_check_and_it_fires():
    rng = np.random.default_rng(0)
    figs = [viz.plotly_heatmaps({"K": rng.random((4, 4)), "P": rng.random((4, 4))}),
            viz.plotly_marginals(np.ones(4), np.ones(4)), viz.plotly_convergence([1.0, 0.1]),
            viz.plotly_bars({"ince": 1.0, "rince": -0.0311}),
            viz.plotly_points({"a": rng.normal(size=(5, 2))}), viz.plotly_points({"a": rng.normal(size=(5, 3))}),
            viz.plotly_curves(np.arange(3), {"alignment": {"a": [1, 2, 3]}})]
    for fig in figs:
        assert viz.plotly_problems(fig) == [], fig.layout.title
    assert "-0.0311" in list(figs[3].data[0].text)  # a loss near 0 still reads as a number
    bad = viz.plotly_convergence([1.0, 0.1])
    bad.update_layout(legend=dict(font=dict(size=9)), xaxis_title=None)
    problems = viz.plotly_problems(bad)
    assert any("legend.font.size is 9 px" in p for p in problems) and any("xaxis has no title" in p for p in problems)


def test_the_notebook_hook_fails_a_cell_that_shows_a_bad_figure(monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    monkeypatch.setenv("GCA_LAB_FIGURE_CHECK", "1")
    try:
        shell.run_cell("from gca_lab import viz; viz.setup_notebook()")
        assert any(getattr(t, "_gca_figure_check", False) for t in shell.ast_transformers)
        ok = shell.run_cell("import matplotlib.pyplot as plt\nfig = viz.convergence_plot([1.0, 0.1])\nfig")
        assert ok.success and ok.result is not None  # the last expression is still the cell's value
        bad = shell.run_cell("fig, ax = plt.subplots(figsize=(4, 3))\nax.set_xlabel('tiny', fontsize=5)")
        assert not bad.success and isinstance(bad.error_in_exec, viz.FigureStyleError)
        assert "tiny" in str(bad.error_in_exec) and plt.get_fignums() == []
        after = shell.run_cell("x = 1")
        assert after.success  # nothing carried over to the next cell
    finally:
        shell.ast_transformers[:] = [t for t in shell.ast_transformers if not getattr(t, "_gca_figure_check", False)]
        InteractiveShell.clear_instance()


def test_figure_check_fires_on_a_one_point_line_without_marker():
    fig, ax = plt.subplots(figsize=(4, 3), dpi=viz.DPI)
    ax.plot([1.0], [2.0], "-", label="one epoch")
    ax.plot([1.0], [3.0], "-o", label="one epoch, marked")
    ax.legend()
    problems = viz.figure_problems(fig)
    assert any("'one epoch' draws nothing" in p for p in problems) and not any("marked" in p for p in problems)
    fig2 = viz.curves_plot([1], {"loss": {"INCE": [4.8], "GCA-UOT": [3.1]}})
    assert viz.figure_problems(fig2) == []


def test_sweep_plot_takes_every_style_as_an_option():
    x = [0.0, 0.2, 0.4]
    series = {"GCA-UOT, p = 0.2": ([0.8, 0.7, 0.6], [0.05] * 3), "GCA-UOT, p = 0.4": ([0.9, 0.8, 0.7], [0.05] * 3),
              "GCA-UOT, p = 0.6": ([0.95, 0.9, 0.85], [0.05] * 3), "INCE, reference": ([0.8, 0.75, 0.7], [0.05] * 3)}
    levels = dict(zip(list(series)[:3], viz.level_colors(3)))
    fig = viz.sweep_plot(x, series, colors={**levels, "INCE, reference": methods.color("ince")},
                         styles={"INCE, reference": "--"}, behind=["INCE, reference"], hlines={"ratio 1": 1.0},
                         points={"GCA-UOT, p = 0.4": ([0.4], [0.75], [0.02])}, points_label="fresh")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 4  # four bands: small multiples
    first = panels[0]
    reference = [ln for ln in first.lines if ln.get_label() == "INCE, reference"]
    assert len(reference) == 1 and reference[0].get_linestyle() == "--"
    assert matplotlib.colors.to_hex(reference[0].get_color()) == methods.color("ince")
    assert matplotlib.colors.to_hex(first.collections[0].get_facecolor()[0]) == levels["GCA-UOT, p = 0.2"]
    assert all(any(ln.get_label() == "ratio 1" for ln in ax.lines) for ax in panels)
    fresh = [ax for ax in panels if any(c.get_label() == "GCA-UOT, p = 0.4, fresh" for c in ax.containers)]
    assert fresh == [panels[1]]  # a separately measured point sits on its own series' panel
    legend = {t.get_text() for t in fig.legends[0].get_texts()}
    assert legend == {"INCE, reference", "ratio 1", "GCA-UOT, p = 0.4, fresh"}
    viz.setup_notebook()
    assert viz.figure_problems(fig) == []


def test_sweep_plot_panels_group_series_and_name_them():
    fig = viz.sweep_plot([1, 2, 3], {"INCE: clean": ([1, 1, 1], [0.1] * 3), "INCE: false": [1, 1, 1],
                                     "GCA-UOT: clean": [1.1, 1.2, 1.3], "GCA-UOT: false": [0.9, 0.8, 0.7]},
                         panels={"INCE: clean": "clean rows", "GCA-UOT: clean": "clean rows",
                                 "INCE: false": "false rows", "GCA-UOT: false": "false rows"})
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["clean rows", "false rows"]
    clean = fig.axes[0]
    assert [matplotlib.colors.to_hex(ln.get_color()) for ln in clean.lines] == [methods.color("ince"),
                                                                               methods.color("gca_uot")]
    assert {t.get_text() for t in fig.legends[0].get_texts()} == {"INCE: clean", "INCE: false", "GCA-UOT: clean",
                                                                  "GCA-UOT: false"}


def test_sweep_plot_rejects_options_for_unknown_series():
    with pytest.raises(ValueError, match="styles names 'b', which is not a series"):
        viz.sweep_plot([0, 1], {"a": [1, 2]}, styles={"b": "--"})
    with pytest.raises(ValueError, match=r"styles\['a'\] must be one of"):
        viz.sweep_plot([0, 1], {"a": [1, 2]}, styles={"a": "dashed"})
    with pytest.raises(ValueError, match="points names 'b'"):
        viz.sweep_plot([0, 1], {"a": [1, 2]}, points={"b": ([0], [1], [0])})
    with pytest.raises(ValueError, match="panels and twin cannot be combined"):
        viz.sweep_plot([0, 1], {"a": [1, 2]}, twin={"t": [1, 2]}, panels={"a": "A"})
