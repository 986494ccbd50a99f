r"""Plots for the notebooks: matplotlib for static figures, plotly for interactive ones.

Every function *returns* a figure (``matplotlib.figure.Figure`` or ``plotly.graph_objects.Figure``)
and never calls ``plt.show()``; the notebook decides how to display it. Inputs are numpy arrays or
torch tensors (converted with :func:`to_numpy`). Nothing here computes a loss or trains: the data
come from :mod:`gca_lab.explore` ``compute_*`` functions, :mod:`gca_lab.losses` or experiments.
Method colours come from the registry (:func:`gca_lab.methods.color`).

Static (matplotlib):

- :func:`plan_heatmaps` kernel | INCE plan | GCA-INCE plan | GCA-UOT plan side by side (NeurIPS
  2024 poster, panels 'Our Method' and 'Variants'), shared or per-panel colour scale.
- :func:`marginals_plot` row and column marginals of plans: their relative deviation from the targets
  (log axis, floored at :data:`DEVIATION_FLOOR`), or the marginals themselves without targets.
- :func:`convergence_plot` marginal error per Sinkhorn iteration, log scale.
- :func:`points_on_sphere` embeddings on the circle (2-D) or sphere (3-D), one panel per method.
- :func:`curves_plot` metric curves over steps (alignment/uniformity over training).
- Generic helpers for the figure notebooks: :func:`method_bars` (ours vs paper, error bars),
  :func:`sweep_plot` (mean +- band over a swept parameter, optional twin axis),
  :func:`loglog_timing` (log-log timing with fitted slope annotation; :func:`gca_lab.stats.loglog_slope`).

Interactive (plotly; :mod:`gca_lab.widgets` wraps them in ``FigureWidget``):

- :func:`plotly_heatmaps`, :func:`plotly_marginals`, :func:`plotly_convergence`, :func:`plotly_bars`,
  :func:`plotly_points`, :func:`plotly_curves`; :func:`floored` and :func:`log_range` for the
  deviation panels.

:func:`setup_notebook` sets PNG inline figures and a fixed style (nbval-friendly).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from . import methods as _methods
from . import stats as _stats

__all__ = [
    "to_numpy",
    "setup_notebook",
    "plan_heatmaps",
    "marginals_plot",
    "convergence_plot",
    "points_on_sphere",
    "curves_plot",
    "view_pairs",
    "scatter_compare",
    "method_bars",
    "sweep_plot",
    "loglog_timing",
    "plotly_heatmaps",
    "plotly_marginals",
    "plotly_convergence",
    "plotly_bars",
    "plotly_points",
    "plotly_curves",
    "DEVIATION_FLOOR",
    "floored",
    "log_range",
]

_CYCLE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

#: Entries drawn below the data: the marginal panels clip deviations to this floor (a plan exact to
#: float64 round-off sits on it instead of showing ``1e-16`` noise as fluctuation).
DEVIATION_FLOOR = 1e-12


def _color(name: str, i: int) -> str:
    """The method's registry colour (:func:`gca_lab.methods.color`), else the ``i``-th cycle colour."""
    return _methods.color(str(name), _CYCLE[i % len(_CYCLE)])  # type: ignore[return-value]


def _legend_outside(ax: Any, handles: Any = None, labels: Any = None, *, x: float = 1.02) -> Any:
    """The legend right of the axes (outside the data), top-aligned."""
    args = () if handles is None else (handles, labels)
    return ax.legend(*args, fontsize=8, loc="upper left", bbox_to_anchor=(x, 1.0), borderaxespad=0.0)


def to_numpy(x: Any) -> np.ndarray:
    """``x`` (tensor, array, list, number) as a float64 numpy array (detached, on the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def _plt():
    import matplotlib.pyplot as plt

    return plt


def setup_notebook(dpi: int = 80) -> None:
    """Notebook defaults: inline figures as PNG only (no SVG/PDF, nbval skips PNG), fixed style.

    Safe outside IPython (then only the rcParams change).
    """
    import matplotlib as mpl

    mpl.rcParams.update({"figure.dpi": dpi, "savefig.dpi": dpi, "figure.figsize": (7.0, 4.0),
                         "axes.grid": False, "font.size": 10, "image.cmap": "viridis"})
    try:
        from IPython import get_ipython

        if get_ipython() is not None:
            from matplotlib_inline.backend_inline import set_matplotlib_formats

            set_matplotlib_formats("png")
    except Exception:  # pragma: no cover - outside a kernel, or an old matplotlib-inline
        pass


# --------------------------------------------------------------------------------------------------
# matplotlib: plans, marginals, convergence
# --------------------------------------------------------------------------------------------------


def plan_heatmaps(
    mats: Mapping[str, Any],
    *,
    shared_scale: bool = True,
    log10: bool = False,
    cmap: str = "viridis",
    ncols: int | None = None,
    panel_size: float = 3.0,
    suptitle: str | None = None,
):
    """Heatmaps of matrices side by side (e.g. kernel | INCE plan | GCA-INCE plan | GCA-UOT plan).

    Args:
        mats: ``{title: (n, m) matrix}``, drawn in order.
        shared_scale: one colour scale for all panels (one colorbar) or one per panel.
        log10: draw ``log10`` of the entries (zeros/negatives masked); useful for plans, whose
            entries span decades at small ``eps``.
        ncols: panels per row (default: all in one row).
        panel_size: inches per panel.
        suptitle: optional figure title.

    Returns:
        A matplotlib Figure with ``len(mats)`` image axes (``fig.axes`` also holds colorbars).
    """
    plt = _plt()
    if not mats:
        raise ValueError("mats must hold at least one matrix")
    arrays = {}
    for k, v in mats.items():
        a = to_numpy(v)
        if a.ndim != 2:
            raise ValueError(f"mats[{k!r}] must be 2-D, got shape {a.shape}")
        if log10:
            with np.errstate(divide="ignore", invalid="ignore"):
                a = np.where(a > 0, np.log10(np.where(a > 0, a, 1.0)), np.nan)
        arrays[k] = a
    n = len(arrays)
    ncols = n if ncols is None else max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size * ncols + 0.8, panel_size * nrows), squeeze=False)
    finite = [a[np.isfinite(a)] for a in arrays.values()]
    vmin = min((f.min() for f in finite if f.size), default=0.0)
    vmax = max((f.max() for f in finite if f.size), default=1.0)
    images = []
    for ax, (title, a) in zip(axes.flat, arrays.items()):
        kw = {"vmin": vmin, "vmax": vmax} if shared_scale else {}
        im = ax.imshow(a, cmap=cmap, interpolation="nearest", **kw)
        images.append(im)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        if not shared_scale:
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    if shared_scale:
        fig.colorbar(images[0], ax=[ax for ax in axes.flat][:n], fraction=0.02, pad=0.02,
                     label="log10 value" if log10 else "value")
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def marginals_plot(
    plans: Mapping[str, Any],
    row_target: Any | None = None,
    col_target: Any | None = None,
    *,
    highlight: Any | None = None,
    floor: float = DEVIATION_FLOOR,
):
    """Row marginals ``P 1`` (left) and column marginals ``P^T 1`` (right) of plans, against their targets.

    With targets, each panel draws the relative deviation ``|P1 - a| / a`` (``|P^T 1 - b| / b``) on a
    log axis, clipped at ``floor`` (dotted line: exact to round-off), so a marginal exact to ``1e-9``
    reads as exact and not as fluctuation; without targets, the marginals themselves (linear axis).

    Args:
        plans: ``{label: (n, m) plan}``.
        row_target, col_target: ``(n,)`` / ``(m,)`` target marginals, optional (both or neither).
        highlight: optional ``(n,)`` boolean mask of indices to mark (e.g. corrupted pairs).
        floor: the smallest deviation drawn.

    Returns:
        A Figure with two axes; one line per plan on each; the legend right of the panels.
    """
    plt = _plt()
    if (row_target is None) != (col_target is None):
        raise ValueError("give both row_target and col_target, or neither")
    deviation = row_target is not None
    fig, (ax_r, ax_c) = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
    for i, (label, p) in enumerate(plans.items()):
        p = to_numpy(p)
        rows, cols = p.sum(1), p.sum(0)
        if deviation:
            rt, ct = to_numpy(row_target), to_numpy(col_target)
            rows, cols = floored(np.abs(rows - rt) / rt, floor), floored(np.abs(cols - ct) / ct, floor)
        ax_r.plot(rows, lw=1.2, color=_color(label, i), label=label)
        ax_c.plot(cols, lw=1.2, color=_color(label, i), label=label)
    for ax in (ax_r, ax_c):
        if deviation:
            ax.set_yscale("log")
            ax.axhline(floor, color="0.5", ls=":", lw=1.0, label=f"floor {floor:.0e} (exact)" if ax is ax_c else None)
        if highlight is not None:
            for j in np.flatnonzero(to_numpy(highlight) > 0):
                ax.axvline(j, color="0.85", lw=0.8, zorder=0)
    if deviation:
        lo, hi = log_range(np.concatenate([line.get_ydata() for line in ax_r.lines + ax_c.lines]), floor)
        ax_r.set_ylim(10**lo, 10**hi)
    ax_r.set_title("row marginals: |P 1 - a| / a" if deviation else "row marginals  P 1")
    ax_c.set_title("column marginals: |P$^T$ 1 - b| / b" if deviation else "column marginals  P$^T$ 1")
    ax_r.set_xlabel("row i")
    ax_c.set_xlabel("column j")
    ax_r.set_ylabel("relative deviation" if deviation else "mass")
    _legend_outside(ax_c)
    fig.tight_layout()
    return fig


def convergence_plot(errors: Mapping[str, Any] | Any, *, ylabel: str = "marginal error  ||P1 - a||_1"):
    """Marginal error per Sinkhorn iteration on a log scale (``SinkhornResult.errors``).

    Args:
        errors: one ``(T,)`` array, or ``{label: (T,) array}`` for several runs.

    Returns:
        A Figure with one axis and one line per run.
    """
    plt = _plt()
    if not isinstance(errors, Mapping):
        errors = {"sinkhorn": errors}
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for i, (label, e) in enumerate(errors.items()):
        e = to_numpy(e).reshape(-1)
        e = np.where(e > 0, e, np.nan)
        ax.plot(np.arange(1, e.size + 1), e, marker="o", ms=2.5, lw=1.2, color=_color(label, i), label=label)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    _legend_outside(ax)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def points_on_sphere(
    points: Mapping[str, Any],
    *,
    colors: Any | None = None,
    panel_size: float = 3.2,
    suptitle: str | None = None,
):
    """Embeddings on the unit circle (``d = 2``) or sphere (``d = 3``), one panel per entry.

    Args:
        points: ``{title: (N, d) points}`` with ``d`` in ``{2, 3}`` (normalized inside).
        colors: optional ``(N,)`` values for the colour map (e.g. class labels).

    Returns:
        A Figure with ``len(points)`` axes (3-D axes when ``d = 3``).
    """
    plt = _plt()
    arrays = {k: to_numpy(v) for k, v in points.items()}
    dims = {a.shape[1] for a in arrays.values()}
    if len(dims) != 1 or not dims <= {2, 3}:
        raise ValueError(f"points must all be (N, 2) or all (N, 3), got dims {sorted(dims)}")
    d = dims.pop()
    n = len(arrays)
    fig = plt.figure(figsize=(panel_size * n, panel_size))
    c = None if colors is None else to_numpy(colors)
    for i, (title, a) in enumerate(arrays.items()):
        a = a / np.linalg.norm(a, axis=1, keepdims=True).clip(1e-12)
        if d == 2:
            ax = fig.add_subplot(1, n, i + 1)
            t = np.linspace(0, 2 * np.pi, 200)
            ax.plot(np.cos(t), np.sin(t), color="0.8", lw=1)
            ax.scatter(a[:, 0], a[:, 1], c=c, s=14, cmap="tab10", vmin=0, vmax=9)
            ax.set_aspect("equal")
            ax.set_xlim(-1.15, 1.15)
            ax.set_ylim(-1.15, 1.15)
            ax.axis("off")
        else:
            ax = fig.add_subplot(1, n, i + 1, projection="3d")
            u, v = np.mgrid[0 : 2 * np.pi : 24j, 0 : np.pi : 12j]
            ax.plot_wireframe(np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v), color="0.85", lw=0.4)
            ax.scatter(a[:, 0], a[:, 1], a[:, 2], c=c, s=10, cmap="tab10", vmin=0, vmax=9)
            ax.set_box_aspect((1, 1, 1))
            ax.set_axis_off()
        ax.set_title(title, fontsize=10)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def curves_plot(
    x: Any,
    panels: Mapping[str, Mapping[str, Any]],
    *,
    xlabel: str = "step",
    logx: bool = False,
):
    """Several metrics over a common x axis: one axis per panel, one line per series.

    Args:
        x: ``(T,)`` x values (e.g. training steps).
        panels: ``{panel title: {series label: (T,) values}}``.

    Returns:
        A Figure with ``len(panels)`` axes.
    """
    plt = _plt()
    xs = to_numpy(x)
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.2), squeeze=False)
    for ax, (title, series) in zip(axes[0], panels.items()):
        for i, (label, y) in enumerate(series.items()):
            ax.plot(xs, to_numpy(y), lw=1.5, color=_color(label, i), label=label)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        if logx:
            ax.set_xscale("log")
        ax.grid(True, alpha=0.3)
    _legend_outside(axes[0][-1], *axes[0][0].get_legend_handles_labels())
    fig.tight_layout()
    return fig


def view_pairs(x1: Any, x2: Any, k: int = 8, *, marked: Any | None = None):
    """The first ``k`` image pairs: view 1 on the top row, view 2 below (``(B, C, H, W)`` in [0, 1]).

    ``marked``: optional ``(B,)`` bool mask; marked pairs get a red title (e.g. corrupted pairs).
    Returns a Figure with ``2 k`` image axes.
    """
    plt = _plt()
    a, b = to_numpy(x1), to_numpy(x2)
    k = max(1, min(k, a.shape[0]))
    fig, axes = plt.subplots(2, k, figsize=(1.1 * k, 2.4), squeeze=False)
    m = None if marked is None else to_numpy(marked) > 0
    for i in range(k):
        for r, x in enumerate((a, b)):
            img = x[i].transpose(1, 2, 0) if x[i].ndim == 3 else x[i]
            img = img[..., 0] if img.ndim == 3 and img.shape[-1] == 1 else img
            axes[r, i].imshow(np.clip(img, 0, 1), cmap="gray_r" if img.ndim == 2 else None, vmin=0, vmax=1)
            axes[r, i].set_xticks([])
            axes[r, i].set_yticks([])
        axes[0, i].set_title(f"{i}", fontsize=8, color="red" if m is not None and m[i] else "black")
    axes[0, 0].set_ylabel("view 1", fontsize=8)
    axes[1, 0].set_ylabel("view 2", fontsize=8)
    fig.tight_layout()
    return fig


def scatter_compare(x: Any, y: Any, *, xlabel: str = "x", ylabel: str = "y", color: Any | None = None,
                    color_label: str | None = None, diagonal: bool = True, log: bool = False):
    """Scatter ``y`` against ``x`` with the line ``y = x`` (points below it have ``y < x``).

    Returns a Figure with one axis (plus a colorbar when ``color`` is given).
    """
    plt = _plt()
    xs, ys = to_numpy(x), to_numpy(y)
    fig, ax = plt.subplots(figsize=(4.6, 4.0))
    sc = ax.scatter(xs, ys, s=8, c=None if color is None else to_numpy(color), cmap="viridis", alpha=0.8)
    if color is not None:
        fig.colorbar(sc, ax=ax, label=color_label or "")
    if diagonal:
        lo, hi = float(min(xs.min(), ys.min())), float(max(xs.max(), ys.max()))
        ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="y = x")
        ax.legend(fontsize=8, loc="upper left")  # points of a <= comparison lie below the diagonal
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------------
# matplotlib: generic helpers for the figure notebooks
# --------------------------------------------------------------------------------------------------


def method_bars(
    methods: Sequence[str],
    ours: Sequence[float],
    ours_err: Sequence[float] | None = None,
    paper: Sequence[float | None] | None = None,
    paper_err: Sequence[float | None] | None = None,
    *,
    ylabel: str = "accuracy (%)",
    title: str | None = None,
    labels: tuple[str, str] = ("ours", "paper"),
    annotate: bool = True,
    ylim: tuple[float, float] | None = None,
):
    """Grouped bars per method: ours (mean, error bar) next to the paper's number.

    Args:
        methods: method names (x axis, shown by their registry labels, :func:`gca_lab.methods.label`).
        ours, ours_err: our means and error bars (e.g. std over seeds).
        paper, paper_err: the paper's values (``None`` where it reports none; the bar is omitted).
        annotate: print each value above its bar.

    Returns:
        A Figure with one axis and one ``BarContainer`` per source (``ax.containers``).
    """
    plt = _plt()
    k = len(methods)
    if len(ours) != k:
        raise ValueError(f"ours must have one value per method ({k}), got {len(ours)}")
    x = np.arange(k)
    width = 0.38 if paper is not None else 0.6
    fig, ax = plt.subplots(figsize=(max(5.5, 1.1 * k + 2.5), 3.5))
    err = None if ours_err is None else np.asarray(ours_err, dtype=float)
    off = -width / 2 if paper is not None else 0.0
    b1 = ax.bar(x + off, ours, width, yerr=err, capsize=3, label=labels[0],
                color=[_color(m, i) for i, m in enumerate(methods)], edgecolor="black", lw=0.5)
    containers = [b1]
    if paper is not None:
        if len(paper) != k:
            raise ValueError(f"paper must have one value per method ({k}), got {len(paper)}")
        pv = np.array([np.nan if v is None else float(v) for v in paper])
        pe = None if paper_err is None else np.array([0.0 if v is None else float(v) for v in paper_err])
        b2 = ax.bar(x + width / 2, np.nan_to_num(pv), width, yerr=pe, capsize=3, label=labels[1],
                    color="white", edgecolor="black", hatch="//", lw=0.5)
        for rect, v in zip(b2, pv):
            if np.isnan(v):
                rect.set_visible(False)
        containers.append(b2)
    if annotate:
        for cont in containers:
            for rect in cont:
                if rect.get_visible():
                    ax.annotate(f"{rect.get_height():.1f}", (rect.get_x() + rect.get_width() / 2, rect.get_height()),
                                ha="center", va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(x)
    ax.set_xticklabels([_methods.label(m) for m in methods], rotation=20)
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    else:
        o = np.asarray(ours, float)
        e = np.zeros_like(o) if err is None else np.nan_to_num(err)
        # the whiskers are part of the data: an axis that cuts them hides how uncertain a bar is
        vals = np.concatenate([o - e, o + e, [] if paper is None else [v for v in paper if v is not None]])
        lo, hi = float(np.nanmin(vals)), float(np.nanmax(vals))
        pad = max(1e-9, 0.15 * (hi - lo) if hi > lo else 0.05 * abs(hi) + 1e-3)
        ax.set_ylim(lo - 3 * pad if lo > 0 and (lo - 3 * pad) > 0 else min(0.0, lo - pad), hi + 2 * pad)
    if title:
        ax.set_title(title)
    _legend_outside(ax)
    fig.tight_layout()
    return fig


def sweep_plot(
    x: Sequence[float],
    series: Mapping[str, tuple[Any, Any] | Any],
    *,
    twin: Mapping[str, tuple[Any, Any] | Any] | None = None,
    xlabel: str = "parameter",
    ylabel: str = "value",
    twin_ylabel: str = "value (right)",
    logx: bool = False,
    title: str | None = None,
):
    """Lines with error bands over a swept parameter, optionally with a second y axis.

    Args:
        x: ``(K,)`` swept values.
        series: ``{label: (mean, std)}`` or ``{label: mean}`` on the left axis (band = mean +- std).
        twin: same format, drawn dashed on a right-hand twin axis (e.g. time next to accuracy).
        logx: log-scale x axis (e.g. ``eps`` or ``rho`` sweeps).

    Returns:
        A Figure; ``fig.axes`` is ``[left]`` or ``[left, right]``.
    """
    plt = _plt()
    xs = to_numpy(x)
    fig, ax = plt.subplots(figsize=(7.6, 3.6))  # the legend sits right of the axes

    def draw(axis, data, style, offset):
        for i, (label, val) in enumerate(data.items()):
            if isinstance(val, tuple) and len(val) == 2:
                mean, std = to_numpy(val[0]), to_numpy(val[1])
            else:
                mean, std = to_numpy(val), None
            c = _color(label, i + offset)
            axis.plot(xs, mean, style, marker="o", ms=3, lw=1.5, color=c, label=label)
            if std is not None:
                axis.fill_between(xs, mean - std, mean + std, color=c, alpha=0.2, lw=0)

    draw(ax, series, "-", 0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logx:
        ax.set_xscale("log")
    ax.grid(True, alpha=0.3)
    handles, lab = ax.get_legend_handles_labels()
    if twin:
        ax2 = ax.twinx()
        draw(ax2, twin, "--", len(series))
        ax2.set_ylabel(twin_ylabel)
        h2, l2 = ax2.get_legend_handles_labels()
        handles, lab = handles + h2, lab + l2
    _legend_outside(ax, handles, lab, x=1.15 if twin else 1.02)  # past the twin axis labels
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def loglog_timing(
    sizes: Any,
    times: Mapping[str, Any],
    *,
    xlabel: str = "batch size",
    ylabel: str = "time (s)",
    fit: bool = True,
    title: str | None = None,
):
    """Log-log timing plot, one line per method, each annotated with its fitted slope.

    Args:
        sizes: ``(K,)`` problem sizes.
        times: ``{label: (K,) times}`` (or ``(mean, std)`` pairs; the band is drawn).
        fit: draw the fitted power law (dotted) and write ``slope = ...`` in the legend.

    Returns:
        A Figure with one log-log axis; ``fig.slopes`` holds ``{label: slope}``.
    """
    plt = _plt()
    xs = to_numpy(sizes)
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    slopes: dict[str, float] = {}
    for i, (label, t) in enumerate(times.items()):
        std = None
        if isinstance(t, tuple) and len(t) == 2:
            t, std = t
            std = to_numpy(std)
        t = to_numpy(t)
        c = _color(label, i)
        name = label
        if fit:
            s, b = _stats.loglog_slope(xs, t)
            slopes[label] = s
            name = f"{label} (slope {s:.2f})"
            ax.plot(xs, np.exp(b) * xs**s, ":", color=c, lw=1)
        ax.plot(xs, t, "o-", ms=3.5, color=c, lw=1.3, label=name)
        if std is not None:
            ax.fill_between(xs, np.clip(t - std, 1e-12, None), t + std, color=c, alpha=0.2, lw=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    _legend_outside(ax)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.slopes = slopes  # type: ignore[attr-defined]
    return fig


# --------------------------------------------------------------------------------------------------
# plotly builders (wrapped in FigureWidget by gca_lab.widgets; traces are updated in place there)
# --------------------------------------------------------------------------------------------------


def floored(values: Any, floor: float = DEVIATION_FLOOR) -> np.ndarray:
    """``max(values, floor)`` elementwise (non-finite entries stay as they are): what a log axis draws."""
    v = to_numpy(values)
    return np.where(np.isfinite(v), np.maximum(v, floor), v)


def log_range(values: Any, floor: float = DEVIATION_FLOOR) -> list[float]:
    """A ``log10`` axis range ``[lo, hi]`` from ``floor`` to at least ``1`` (a 100 % deviation), or the data's maximum.

    Fixed at the bottom, so a plan exact to round-off sits on the floor line instead of the axis
    autoscaling to ``1e-16`` noise.
    """
    v = to_numpy(values)
    v = v[np.isfinite(v)]
    top = float(np.log10(max(float(v.max()), floor))) if v.size else 0.0
    return [math.log10(floor) - 0.5, max(0.0, top) + 0.5]


def plotly_heatmaps(mats: Mapping[str, Any], *, height: int = 330, colorscale: str = "Viridis"):
    """One row of plotly heatmaps, one per ``{title: (n, m) matrix}``, each with its own colour bar.

    Each colour bar sits just right of its own panel, in the gap before the next one (never over it).
    Rows are drawn top to bottom (``autorange='reversed'``) like ``imshow``. Returns a
    ``plotly.graph_objects.Figure`` with ``len(mats)`` Heatmap traces.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    n = len(mats)
    if n == 0:
        raise ValueError("mats must hold at least one matrix")
    # the gap between panels holds the colour bar (10 px) and its tick labels (about 45 px)
    fig = make_subplots(rows=1, cols=n, subplot_titles=list(mats), horizontal_spacing=min(0.3, 0.3 / n + 0.03))
    for i, (title, m) in enumerate(mats.items()):
        domain = fig.layout[f"xaxis{i + 1 if i else ''}"].domain
        fig.add_trace(
            go.Heatmap(z=to_numpy(m), colorscale=colorscale, name=title,
                       colorbar=dict(x=domain[1] + 0.005, xanchor="left", xpad=0, len=0.85, thickness=10,
                                     tickformat=".2g", tickfont=dict(size=10))),
            row=1, col=i + 1,
        )
        fig.update_yaxes(autorange="reversed", row=1, col=i + 1, showticklabels=False)
        fig.update_xaxes(showticklabels=False, row=1, col=i + 1)
    fig.update_layout(height=height, margin=dict(l=10, r=60, t=40, b=10))
    return fig


def plotly_marginals(row_deviation: Any, col_deviation: Any, *, floor: float = DEVIATION_FLOOR, height: int = 280):
    """How far the plan's marginals are from their targets: ``|P1 - a| / a`` and ``|P^T 1 - b| / b``.

    One log-scaled panel, two Scatter traces (rows, then columns), values clipped at ``floor`` (a
    dotted line: exact to round-off), y range from :func:`log_range`. The legend sits above the
    panel, outside the data.
    """
    import plotly.graph_objects as go

    r, c = floored(row_deviation, floor), floored(col_deviation, floor)
    fig = go.Figure([
        go.Scatter(y=r, mode="lines+markers", marker=dict(size=3), name="rows  |P1 - a| / a",
                   line=dict(color="#1f77b4")),
        go.Scatter(y=c, mode="lines+markers", marker=dict(size=3), name="columns  |Pᵀ1 - b| / b",
                   line=dict(color="#ff7f0e")),
    ])
    fig.add_hline(y=floor, line=dict(color="gray", dash="dot", width=1))
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=60, b=10), title=dict(text="marginal deviation from target", y=0.97),
        xaxis_title="index", yaxis_title=f"relative (floor {floor:.0e} = exact)",
        yaxis=dict(type="log", range=log_range(np.concatenate([r, c]), floor), exponentformat="power", dtick=2),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0.0, font=dict(size=10)),
    )
    return fig


def plotly_convergence(errors: Any, *, height: int = 260):
    """Marginal error per iteration (log y axis): one Scatter trace."""
    import plotly.graph_objects as go

    e = to_numpy(errors).reshape(-1)
    fig = go.Figure(go.Scatter(x=np.arange(1, e.size + 1), y=e, mode="lines+markers", name="marginal error"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), title="Sinkhorn convergence",
                      xaxis_title="iteration", yaxis_title="||P1 - a||₁", yaxis_type="log",
                      yaxis_exponentformat="power")
    return fig


def plotly_bars(values: Mapping[str, float], *, title: str = "loss of every method", height: int = 260):
    """One Bar trace of ``{name: value}`` with the values written on the bars."""
    import plotly.graph_objects as go

    names = list(values)
    vals = [float(values[k]) for k in names]
    fig = go.Figure(go.Bar(x=names, y=vals, text=[f"{v:.3g}" for v in vals], textposition="outside",
                           marker_color=[_color(k, i) for i, k in enumerate(names)]))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), title=title)
    return fig


def plotly_points(points: Mapping[str, Any], *, colors: Any | None = None, height: int = 340):
    """Points on the circle (2-D: Scatter per panel plus a circle outline) or sphere (3-D: Scatter3d).

    Trace order: for ``d = 2`` each panel holds ``[circle, points]`` (so points are traces 1, 3, 5...);
    for ``d = 3`` one Scatter3d per panel (traces 0, 1, 2...). ``fig.layout.meta["point_traces"]`` lists them.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    arrays = {k: to_numpy(v) for k, v in points.items()}
    d = next(iter(arrays.values())).shape[1]
    n = len(arrays)
    c = None if colors is None else to_numpy(colors)
    marker = dict(size=5 if d == 2 else 3, color=c, colorscale="Turbo", cmin=None if c is None else float(c.min()),
                  cmax=None if c is None else float(c.max()))
    if d == 2:
        fig = make_subplots(rows=1, cols=n, subplot_titles=list(arrays))
        t = np.linspace(0, 2 * np.pi, 120)
        idx = []
        for i, (title, a) in enumerate(arrays.items()):
            fig.add_trace(go.Scatter(x=np.cos(t), y=np.sin(t), mode="lines", line=dict(color="lightgray"),
                                     showlegend=False, hoverinfo="skip"), row=1, col=i + 1)
            fig.add_trace(go.Scatter(x=a[:, 0], y=a[:, 1], mode="markers", marker=marker, name=title,
                                     showlegend=False), row=1, col=i + 1)
            idx.append(2 * i + 1)
            fig.update_xaxes(range=[-1.2, 1.2], visible=False, row=1, col=i + 1)
            fig.update_yaxes(range=[-1.2, 1.2], visible=False, scaleanchor=f"x{i + 1 if i else ''}", row=1, col=i + 1)
    elif d == 3:
        fig = make_subplots(rows=1, cols=n, subplot_titles=list(arrays), specs=[[{"type": "scene"}] * n])
        idx = []
        for i, (title, a) in enumerate(arrays.items()):
            fig.add_trace(go.Scatter3d(x=a[:, 0], y=a[:, 1], z=a[:, 2], mode="markers", marker=marker, name=title,
                                       showlegend=False), row=1, col=i + 1)
            idx.append(i)
        rng = dict(range=[-1.1, 1.1], visible=False)
        fig.update_scenes(xaxis=rng, yaxis=rng, zaxis=rng, aspectmode="cube")
    else:
        raise ValueError(f"points must be (N, 2) or (N, 3), got dimension {d}")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10))
    fig.update_layout(meta={"point_traces": idx})
    return fig


def plotly_curves(x: Any, panels: Mapping[str, Mapping[str, Any]], *, height: int = 260, marker_x: float | None = None):
    """Curves over steps, one subplot per panel; an optional vertical marker line (a shape per panel)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    xs = to_numpy(x)
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=list(panels))
    for p, (title, series) in enumerate(panels.items()):
        for i, (label, y) in enumerate(series.items()):
            fig.add_trace(go.Scatter(x=xs, y=to_numpy(y), mode="lines", name=label, legendgroup=label,
                                     showlegend=p == 0, line=dict(color=_color(label, i))), row=1, col=p + 1)
        if marker_x is not None:
            fig.add_vline(x=marker_x, line=dict(color="gray", dash="dot"), row=1, col=p + 1)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10))
    return fig


# --------------------------------------------------------------------------------------------------
# figure notebooks: poster-style bar panels (added for notebooks 05-06)
# --------------------------------------------------------------------------------------------------


def bar_panels(
    panels: Mapping[str, Mapping[str, Any]],
    *,
    order: Sequence[str] | None = None,
    names: Mapping[str, str] | None = None,
    hatched: Sequence[str] = (),
    ylabel: str = "accuracy (%)",
    ncols: int | None = None,
    digits: int = 2,
    title: str | None = None,
):
    """One bar panel per dataset, methods in a fixed order, values printed on the bars (poster layout).

    Each panel gets its own zoomed y range (as on the poster, where bars start well above 0), so
    panels on different scales (ours on digits next to the paper's CIFAR numbers) stay readable.

    Args:
        panels: ``{panel title: {method: value or (mean, std)}}``; a missing method leaves a gap.
        order: method order on the x axis (default: the first panel's keys).
        names: display names of the methods (default: the registry labels, :func:`gca_lab.methods.label`).
        hatched: titles of panels drawn hatched (e.g. the paper's numbers, to tell them from ours).
        ncols: panels per row (default: all in one row).
        digits: decimals of the printed values.

    Returns:
        A Figure with one axis per panel (``fig.axes[:len(panels)]``), one ``BarContainer`` each.
    """
    plt = _plt()
    if not panels:
        raise ValueError("panels must hold at least one panel, got an empty mapping")
    order = list(order) if order is not None else list(next(iter(panels.values())))
    names = dict(names or {})
    n = len(panels)
    ncols = n if ncols is None else max(1, min(int(ncols), n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(max(3.2, 0.42 * len(order) + 1.0) * ncols, 3.3 * nrows),
                             squeeze=False)
    for ax, (ptitle, vals) in zip(axes.flat, panels.items()):
        means, errs = [], []
        for m in order:
            v = vals.get(m)
            if isinstance(v, (tuple, list)) and len(v) == 2:
                means.append(np.nan if v[0] is None else float(v[0]))
                errs.append(0.0 if v[1] is None or not np.isfinite(float(v[1])) else float(v[1]))
            else:
                means.append(np.nan if v is None else float(v))
                errs.append(0.0)
        mv, ev = np.asarray(means), np.asarray(errs)
        x = np.arange(len(order))
        bars = ax.bar(x, np.nan_to_num(mv), 0.75, yerr=ev if ev.any() else None, capsize=2,
                      color=[_color(m, i) for i, m in enumerate(order)], edgecolor="black", lw=0.5,
                      hatch="//" if ptitle in hatched else None, alpha=0.55 if ptitle in hatched else 1.0)
        for rect, v, e in zip(bars, mv, ev):
            if np.isnan(v):
                rect.set_visible(False)
                continue
            ax.annotate(f"{v:.{digits}f}", (rect.get_x() + rect.get_width() / 2, v + e), ha="center", va="bottom",
                        fontsize=6, rotation=90, xytext=(0, 2), textcoords="offset points")
        ok = ~np.isnan(mv)
        if ok.any():
            lo, hi = float(np.min(mv[ok] - ev[ok])), float(np.max(mv[ok] + ev[ok]))
            pad = max(0.5 * (hi - lo), 0.05 * abs(hi), 1e-3)
            ax.set_ylim(max(0.0, lo - pad), hi + 1.2 * pad)
        ax.set_xticks(x)
        ax.set_xticklabels([names.get(m, _methods.label(m)) for m in order], rotation=60, ha="right", fontsize=7)
        ax.set_title(ptitle, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=8)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


__all__.append("bar_panels")


def paired_effects(effects: Mapping[str, _stats.Claim], *, colors: Mapping[str, str] | None = None,
                   paper: Mapping[str, float] | None = None, paper_label: str = "paper (CIFAR-10)", title: str | None = None,
                   xlabel: str = "difference to INCE (percentage points)", width: float = 7.5):
    """The main figure of a method comparison: each method's paired difference to the baseline with its 95%
    interval (ours: filled circle and whisker) beside the paper's difference (hollow diamond), one row per
    comparison, the zero line marked.

    Args:
        effects: ``{row label: Claim}``, ordering claims of :func:`gca_lab.stats.judge` (``mean``, ``low``,
            ``high`` of ``a − b`` in points; ``paper_effect`` the paper's, or None where it reports none).
            Rows are drawn top to bottom in the mapping's order; a claim without a paired difference (not
            run, a rule claim) shows only the paper's marker.
        colors: optional ``{row label: colour}`` (e.g. :func:`gca_lab.methods.color` of the row's method);
            grey by default.
        paper: optional ``{row label: the paper's difference}`` in points, any sign (a claim's
            ``paper_effect`` is only set for positive effects); rows not in it use ``paper_effect``.
        paper_label, xlabel, title: legend entry of the paper's markers, axis label, figure title.
        width: figure width in inches at dpi 100 (at most 8.5, a JupyterLab cell at 100 % zoom).

    Returns:
        the matplotlib Figure (text at least 9 pt; one legend entry for ours and one for the paper).
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    if not isinstance(effects, Mapping) or not effects:
        raise ValueError(f"effects must be a non-empty mapping {{label: Claim}}, got {type(effects).__name__}")
    for k, c in effects.items():
        if not isinstance(c, _stats.Claim):
            raise TypeError(f"effects[{k!r}] must be a gca_lab.stats.Claim, got {type(c).__name__}")
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not 3.0 <= width <= 8.5:
        raise ValueError(f"width must be in [3, 8.5] inches (a notebook cell at dpi 100), got {width!r}")
    colors, paper = dict(colors or {}), dict(paper or {})
    labels = list(effects)
    n = len(labels)
    fig, ax = plt.subplots(figsize=(float(width), 1.3 + 0.55 * n), dpi=100)
    ys = np.arange(n)[::-1].astype(float)
    span = [0.0]
    for y, label in zip(ys, labels):
        c, col = effects[label], colors.get(label, "0.35")
        finite = c.mean is not None and c.low is not None and math.isfinite(c.low) and math.isfinite(c.high)
        if finite:
            ax.errorbar(c.mean, y + 0.12, xerr=[[c.mean - c.low], [c.high - c.mean]], fmt="o", color=col, ms=7,
                        capsize=4, lw=1.6)
            span += [c.low, c.high]
        elif c.mean is not None:
            ax.plot(c.mean, y + 0.12, "o", color=col, ms=7)
            span.append(c.mean)
        theirs = paper.get(label, c.paper_effect)
        if theirs is not None:
            ax.plot(theirs, y - 0.12, "D", mfc="white", mec=col, mew=1.8, ms=7)
            span.append(theirs)
    lo, hi = min(span), max(span)
    pad = 0.1 * (hi - lo) if hi > lo else 0.5
    ax.set_xlim(lo - pad, hi + pad)
    ax.axvline(0.0, color="black", lw=1.0, zorder=0)
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=10)
    ax.set_ylim(-0.7, n - 0.3)
    ax.tick_params(axis="x", labelsize=10)
    ax.set_xlabel(xlabel, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    handles = [Line2D([], [], marker="o", color="0.35", lw=1.6, ms=7, label="ours (paired mean, 95% interval)"),
               Line2D([], [], marker="D", ls="none", mfc="white", mec="0.35", mew=1.8, ms=7, label=paper_label)]
    ax.legend(handles=handles, fontsize=9, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


__all__.append("paired_effects")
