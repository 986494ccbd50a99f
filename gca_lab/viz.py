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

:func:`setup_notebook` sets PNG inline figures and the one style: :data:`DPI`, at most
:data:`MAX_WIDTH_IN` wide, text of at least :data:`MIN_FONT_PT` as displayed, one colour per method
(:func:`gca_lab.methods.color`) and :data:`OTHER_COLORS` / :func:`level_colors` for everything else.

The figure check (issue 17): :func:`figure_problems` / :func:`check_figure` report a figure wider than
a JupyterLab cell, text under 9 pt as displayed, overlapping labels and legend entries whose series
cannot be seen; :func:`plotly_problems` the font sizes and axis titles of plotly figures;
:func:`enable_figure_check` (on under ``GCA_LAB_FIGURE_CHECK=1``) fails every notebook cell that
shows a figure the check refuses.
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
    "DPI",
    "MAX_WIDTH_IN",
    "MIN_FONT_PT",
    "OTHER_COLORS",
    "level_colors",
    "figure_problems",
    "check_figure",
    "plotly_problems",
    "enable_figure_check",
    "FigureStyleError",
    "floored",
    "log_range",
]

#: The one figure style (arXiv 2502.20141 notebooks, issue 17): every figure is drawn at :data:`DPI`, at most
#: :data:`MAX_WIDTH_IN` wide (850 px: a JupyterLab cell at 1400 px shows it unshrunk), with text of at
#: least :data:`MIN_FONT_PT` as displayed (a browser shows 96 CSS px per inch). :func:`figure_problems`
#: checks a figure against these numbers.
DPI = 100
MAX_WIDTH_IN = 8.5
#: The widest figure the builders draw: the cell less the notebook's 0.1 in padding on each side of the
#: saved PNG (``savefig.pad_inches``) and a little room for labels that reach past the axes.
FIG_WIDTH_IN = 8.1
MIN_FONT_PT = 9.0
FONT_PT = 10.0
SMALL_PT = 9.0

#: Colours of series that are not methods (conditions, levels, references): none is a method colour of
#: :data:`gca_lab.methods.METHODS`, so a condition never reads as a method (p = 0.2 is not INCE).
OTHER_COLORS = ("#222222", "#7f7f7f", "#bcbd22", "#8c6d31", "#e7ba52", "#637939", "#393b79", "#ad494a")

#: Entries drawn below the data: the marginal panels clip deviations to this floor (a plan exact to
#: float64 round-off sits on it instead of showing ``1e-16`` noise as fluctuation).
DEVIATION_FLOOR = 1e-12


def _color(name: str, i: int) -> str:
    """The method's registry colour (:func:`gca_lab.methods.color`) for a method's name or label, also
    when settings follow it (``"GCA-UOT eps=0.5 rho=0.2"``), else the ``i``-th of :data:`OTHER_COLORS`."""
    words = str(name).split()
    found = _methods.color(str(name)) or (_methods.color(words[0].rstrip(",:")) if words else None)
    return found or OTHER_COLORS[i % len(OTHER_COLORS)]


def level_colors(n: int, cmap: str = "cividis") -> list[str]:
    """``n`` colours of an ordered quantity (a noise level ``p``, a budget), dark to light on one
    sequential map, so levels read as an order and never as methods. Returns hex strings."""
    import matplotlib as mpl

    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    cm = mpl.colormaps[cmap]
    return [mpl.colors.to_hex(cm(t)) for t in np.linspace(0.0, 0.85, n)]


def _legend_outside(ax: Any, handles: Any = None, labels: Any = None, *, x: float = 1.02) -> Any:
    """The legend right of the axes (outside the data), top-aligned."""
    args = () if handles is None else (handles, labels)
    return ax.legend(*args, fontsize=SMALL_PT, loc="upper left", bbox_to_anchor=(x, 1.0), borderaxespad=0.0)


def _legend_below(ax: Any, handles: Any = None, labels: Any = None, *, ncol: int = 3, y: float = -0.22) -> Any:
    """The legend under the axes (outside the data), for figures whose width is taken by their panels."""
    args = () if handles is None else (handles, labels)
    return ax.legend(*args, fontsize=SMALL_PT, loc="upper left", bbox_to_anchor=(0.0, y), borderaxespad=0.0,
                     ncol=ncol, frameon=False)


def _figure_legend_below(fig: Any, handles: Any, labels: Any, *, ncol: int = 3) -> None:
    """One legend for all panels, centred under them; ``tight_layout`` keeps a strip free for it."""
    rows = math.ceil(len(labels) / max(1, ncol))
    strip = (0.28 * rows + 0.15) / fig.get_size_inches()[1]
    fig.tight_layout(rect=(0.0, strip, 1.0, 1.0))
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=ncol, frameon=False,
               fontsize=SMALL_PT)


def _point_colors(c: np.ndarray | None) -> dict[str, Any]:
    """Scatter colours: class labels (integers 0-9) on ``tab10``, any other quantity (an angle) on a
    cyclic map over its own range."""
    if c is None:
        return {}
    if np.all(np.mod(c, 1) == 0) and c.min() >= 0 and c.max() <= 9:
        return dict(c=c, cmap="tab10", vmin=0, vmax=9)
    return dict(c=c, cmap="twilight", vmin=float(c.min()), vmax=float(c.max()))


def _finish_grid(fig: Any, axes: Any, n: int, title: str | None, *, tight: bool = True) -> Any:
    """A grid of panels done: the cells past the ``n``-th hidden, the figure title, the layout."""
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    if tight:
        fig.tight_layout()
    return fig


def _width(per_panel: float, n: int, extra: float = 0.0) -> float:
    """A figure width for ``n`` panels of ``per_panel`` inches, capped at :data:`FIG_WIDTH_IN` minus ``extra``
    (room for an outside legend or colour bar)."""
    return min(per_panel * n, FIG_WIDTH_IN - extra)


def to_numpy(x: Any) -> np.ndarray:
    """``x`` (tensor, array, list, number) as a float64 numpy array (detached, on the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def _plt():
    import matplotlib.pyplot as plt

    return plt


def setup_notebook(dpi: int = DPI) -> None:
    """Notebook defaults: inline figures as PNG only (no SVG/PDF, nbval skips PNG), the one style.

    Figures at ``dpi`` (default :data:`DPI`), text at :data:`FONT_PT` (ticks and legends at
    :data:`SMALL_PT`), which :func:`figure_problems` accepts. With ``GCA_LAB_FIGURE_CHECK=1`` in the
    environment (the root ``conftest.py`` sets it for nbval) every figure a later cell shows is checked
    (:func:`enable_figure_check`). Safe outside IPython (then only the rcParams change).
    """
    import matplotlib as mpl

    from ._env import env_flag

    mpl.rcParams.update({"figure.dpi": dpi, "savefig.dpi": dpi, "figure.figsize": (6.4, 3.6),
                         "axes.grid": False, "font.size": FONT_PT, "axes.titlesize": FONT_PT,
                         "axes.labelsize": FONT_PT, "xtick.labelsize": SMALL_PT, "ytick.labelsize": SMALL_PT,
                         "legend.fontsize": SMALL_PT, "figure.titlesize": FONT_PT + 1, "image.cmap": "viridis"})
    try:
        from IPython import get_ipython

        if get_ipython() is not None:
            from matplotlib_inline.backend_inline import set_matplotlib_formats

            set_matplotlib_formats("png")
    except Exception:  # pragma: no cover - outside a kernel, or an old matplotlib-inline
        pass
    if env_flag("GCA_LAB_FIGURE_CHECK"):
        enable_figure_check()


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
    xlabel: str = "column j (view 2)",
    ylabel: str = "row i (view 1)",
    colorbar_label: str | None = None,
):
    """Heatmaps of matrices side by side (e.g. kernel | INCE plan | GCA-INCE plan | GCA-UOT plan).

    Args:
        mats: ``{title: (n, m) matrix}``, drawn in order.
        shared_scale: one colour scale for all panels (one colorbar) or one per panel.
        log10: draw ``log10`` of the entries (zeros/negatives masked); useful for plans, whose
            entries span decades at small ``eps``.
        ncols: panels per row (default: all in one row).
        panel_size: inches per panel at most (the figure stays within :data:`FIG_WIDTH_IN`).
        suptitle: optional figure title.
        xlabel, ylabel: what the columns and rows index (on the bottom row and the left column).
        colorbar_label: the colour bar's label (default ``"value"`` or ``"log10 value"``); with one colour bar
            per panel it joins each panel's title instead (default ``"log10"`` with ``log10``, else nothing).

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
    bar_in = 0.9 if shared_scale else 0.75 * ncols  # colour bars and their tick labels
    panel = min(float(panel_size), (FIG_WIDTH_IN - 0.6 - bar_in) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel * ncols + bar_in + 0.6, (panel + 0.45) * nrows + 0.3),
                             squeeze=False, layout="constrained")
    finite = [a[np.isfinite(a)] for a in arrays.values()]
    vmin = min((f.min() for f in finite if f.size), default=0.0)
    vmax = max((f.max() for f in finite if f.size), default=1.0)
    images = []
    for ax, (title, a) in zip(axes.flat, arrays.items()):
        kw = {"vmin": vmin, "vmax": vmax} if shared_scale else {}
        im = ax.imshow(a, cmap=cmap, interpolation="nearest", **kw)
        images.append(im)
        # one colour bar per panel has no room for a label: the panel's title says what its colours count
        unit = colorbar_label or ("log10" if log10 else None)
        ax.set_title(title if shared_scale or unit is None else f"{title} ({unit})")
        ax.set_xticks([])
        ax.set_yticks([])
        k = len(images) - 1
        if k % ncols == 0:
            ax.set_ylabel(ylabel)
        if k + ncols >= n:
            ax.set_xlabel(xlabel)
        if not shared_scale:
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if shared_scale:
        fig.colorbar(images[0], ax=[ax for ax in axes.flat][:n], fraction=0.02, pad=0.02,
                     label=colorbar_label or ("log10 value" if log10 else "value"))
    return _finish_grid(fig, axes, n, suptitle, tight=False)  # constrained layout places the colour bars


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
    fig, (ax_r, ax_c) = plt.subplots(1, 2, figsize=(FIG_WIDTH_IN, 3.4), sharey=True)
    styles = ("-", "--", ":", "-.")
    for i, (label, p) in enumerate(plans.items()):
        p = to_numpy(p)
        rows, cols = p.sum(1), p.sum(0)
        if deviation:
            rt, ct = to_numpy(row_target), to_numpy(col_target)
            rows, cols = floored(np.abs(rows - rt) / rt, floor), floored(np.abs(cols - ct) / ct, floor)
        # plans exact on the same marginal coincide on the floor: later ones dashed and thinner
        kw = dict(lw=2.4 - 0.6 * min(i, 2), color=_color(label, i), label=label, ls=styles[i % len(styles)])
        ax_r.plot(rows, **kw)
        ax_c.plot(cols, **kw)
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
    ax_r.set_title("rows: |P 1 - a| / a" if deviation else "row marginals  P 1")
    ax_c.set_title("columns: |P$^T$ 1 - b| / b" if deviation else "column marginals  P$^T$ 1")
    ax_r.set_xlabel("row i")
    ax_c.set_xlabel("column j")
    ax_r.set_ylabel("relative deviation (log)" if deviation else "mass")
    _legend_below(ax_r, *ax_c.get_legend_handles_labels(), ncol=4, y=-0.25)
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
    fig, ax = plt.subplots(figsize=(5.0, 3.2))
    for i, (label, e) in enumerate(errors.items()):
        e = to_numpy(e).reshape(-1)
        e = np.where(e > 0, e, np.nan)
        ax.plot(np.arange(1, e.size + 1), e, marker="o", ms=2.5, lw=1.2, color=_color(label, i), label=label)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    _legend_outside(ax)
    ax.grid(True, which="major", alpha=0.3)
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
    side = min(float(panel_size), FIG_WIDTH_IN / n)
    fig = plt.figure(figsize=(side * n, side + 0.3))
    c = None if colors is None else to_numpy(colors)
    for i, (title, a) in enumerate(arrays.items()):
        a = a / np.linalg.norm(a, axis=1, keepdims=True).clip(1e-12)
        if d == 2:
            ax = fig.add_subplot(1, n, i + 1)
            t = np.linspace(0, 2 * np.pi, 200)
            ax.plot(np.cos(t), np.sin(t), color="0.8", lw=1)
            ax.scatter(a[:, 0], a[:, 1], s=14, **_point_colors(c))
            ax.set_aspect("equal")
            ax.set_xlim(-1.15, 1.15)
            ax.set_ylim(-1.15, 1.15)
            ax.axis("off")
        else:
            ax = fig.add_subplot(1, n, i + 1, projection="3d")
            u, v = np.mgrid[0 : 2 * np.pi : 24j, 0 : np.pi : 12j]
            ax.plot_wireframe(np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v), color="0.85", lw=0.4)
            ax.scatter(a[:, 0], a[:, 1], a[:, 2], s=10, **_point_colors(c))
            ax.set_box_aspect((1, 1, 1))
            ax.set_axis_off()
        ax.set_title(title)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def curves_plot(
    x: Any,
    panels: Mapping[str, Mapping[str, Any]],
    *,
    xlabel: str = "step",
    logx: bool = False,
    ylabels: Mapping[str, str] | None = None,
):
    """Several metrics over a common x axis: one axis per panel, one line per series.

    The first series of a panel is solid, the next dashed and dotted (thinner), so equal curves do
    not hide each other; one legend under the first panel.

    Args:
        x: ``(T,)`` x values (e.g. training steps).
        panels: ``{panel title: {series label: (T,) values}}``.
        ylabels: ``{panel title: y axis label with units}`` (default ``"value"``).

    Returns:
        A Figure with ``len(panels)`` axes.
    """
    plt = _plt()
    xs = to_numpy(x)
    n = len(panels)
    fig, axes = plt.subplots(1, n, figsize=(_width(3.2, n) if n > 1 else 4.8, 3.3), squeeze=False)
    styles = ("-", "--", ":", "-.")
    for ax, (title, series) in zip(axes[0], panels.items()):
        for i, (label, y) in enumerate(series.items()):
            # series that coincide (two methods with equal curves) stay visible: later ones dashed, thinner
            ax.plot(xs, to_numpy(y), styles[i % len(styles)], lw=2.2 - 0.5 * min(i, 2), color=_color(label, i),
                    label=label, marker="o" if xs.size <= 30 else None, ms=3.5 - 0.5 * min(i, 2))
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabels.get(title, "value") if ylabels else "value")
        if logx:
            ax.set_xscale("log")
        ax.grid(True, alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    _figure_legend_below(fig, handles, labels, ncol=min(3, len(labels)) if n > 1 else 1)
    return fig


def view_pairs(x1: Any, x2: Any, k: int = 8, *, marked: Any | None = None):
    """The first ``k`` image pairs: view 1 on the top row, view 2 below (``(B, C, H, W)`` in [0, 1]).

    ``marked``: optional ``(B,)`` bool mask; marked pairs get a red title (e.g. corrupted pairs).
    Returns a Figure with ``2 k`` image axes.
    """
    plt = _plt()
    a, b = to_numpy(x1), to_numpy(x2)
    k = max(1, min(k, a.shape[0]))
    fig, axes = plt.subplots(2, k, figsize=(min(0.75 * k + 0.5, FIG_WIDTH_IN), 2.1), squeeze=False)
    m = None if marked is None else to_numpy(marked) > 0
    for i in range(k):
        for r, x in enumerate((a, b)):
            img = x[i].transpose(1, 2, 0) if x[i].ndim == 3 else x[i]
            img = img[..., 0] if img.ndim == 3 and img.shape[-1] == 1 else img
            axes[r, i].imshow(np.clip(img, 0, 1), cmap="gray_r" if img.ndim == 2 else None, vmin=0, vmax=1)
            axes[r, i].set_xticks([])
            axes[r, i].set_yticks([])
        axes[0, i].set_title(f"{i}", fontsize=SMALL_PT, color="red" if m is not None and m[i] else "black")
    axes[0, 0].set_ylabel("view 1", fontsize=SMALL_PT)
    axes[1, 0].set_ylabel("view 2", fontsize=SMALL_PT)
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
        ax.legend(fontsize=SMALL_PT, loc="upper left")  # points of a <= comparison lie below the diagonal
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


def value_digits(values: Sequence[float], *, least: int = 1, most: int = 4) -> int:
    """The fewest decimals (``least`` to ``most``) at which every difference between two values reads
    right: the printed difference within 10 % of the true one (0.930 and 0.937 need three; at two
    they read 0.93 and 0.94, a difference of 0.01 for 0.007)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    pairs = [(i, j) for i in range(v.size) for j in range(i + 1, v.size) if abs(v[i] - v[j]) > 10.0**-most]
    for d in range(least, most + 1):
        r = np.round(v, d)
        if all(abs((r[i] - r[j]) - (v[i] - v[j])) <= 0.1 * abs(v[i] - v[j]) for i, j in pairs):
            return d
    return most


def _label_bars(ax: Any, bars: Any, values: np.ndarray, errs: np.ndarray, digits: int, *, rotate: bool) -> None:
    """Each value beside its bar, past the end of its error bar (never on the whisker)."""
    for rect, v, e in zip(bars, values, errs):
        if not rect.get_visible() or not np.isfinite(v):
            continue
        up = v >= 0
        end = v + e if up else v - e
        ax.annotate(f"{v:.{digits}f}", (rect.get_x() + rect.get_width() / 2, end), ha="center",
                    va="bottom" if up else "top", fontsize=SMALL_PT, rotation=90 if rotate else 0,
                    xytext=(0, 3 if up else -3), textcoords="offset points")


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
    digits: int | None = None,
):
    """Grouped bars per method: ours (mean, error bar) next to the paper's number.

    Our bars take each method's registry colour; the paper's are white and hatched. The legend shows
    one swatch per source (grey for ours, hatched for the paper). Value labels sit past the end of the
    error bars, with :func:`value_digits` decimals unless ``digits`` is given.

    Args:
        methods: method names (x axis, shown by their registry labels, :func:`gca_lab.methods.label`).
        ours, ours_err: our means and error bars (e.g. std over seeds).
        paper, paper_err: the paper's values (``None`` where it reports none; the bar is omitted).
        annotate: print each value beside its bar.
        ylim: the y range (default: every bar, whisker and label inside).
        digits: decimals of the value labels.

    Returns:
        A Figure with one axis and one ``BarContainer`` per source (``ax.containers``).
    """
    plt = _plt()
    from matplotlib.patches import Patch

    k = len(methods)
    if len(ours) != k:
        raise ValueError(f"ours must have one value per method ({k}), got {len(ours)}")
    x = np.arange(k)
    width = 0.38 if paper is not None else 0.6
    fig, ax = plt.subplots(figsize=(min(FIG_WIDTH_IN, max(4.2, (1.2 if paper is not None else 1.1) * k + 1.4)),
                                    3.6))
    o = np.asarray(ours, dtype=float)
    err = np.zeros(k) if ours_err is None else np.nan_to_num(np.asarray(ours_err, dtype=float))
    off = -width / 2 if paper is not None else 0.0
    b1 = ax.bar(x + off, o, width, yerr=err if err.any() else None, capsize=3, label=labels[0],
                color=[_color(m, i) for i, m in enumerate(methods)], edgecolor="black", lw=0.5)
    containers = [(b1, o, err)]
    pv = np.full(k, np.nan)
    pe = np.zeros(k)
    if paper is not None:
        if len(paper) != k:
            raise ValueError(f"paper must have one value per method ({k}), got {len(paper)}")
        pv = np.array([np.nan if v is None else float(v) for v in paper])
        pe = np.zeros(k) if paper_err is None else np.array([0.0 if v is None else float(v) for v in paper_err])
        b2 = ax.bar(x + width / 2, np.nan_to_num(pv), width, yerr=pe if pe.any() else None, capsize=3,
                    label=labels[1], color="white", edgecolor="black", hatch="//", lw=0.5)
        for rect, v in zip(b2, pv):
            if np.isnan(v):
                rect.set_visible(False)
        containers.append((b2, pv, pe))
    rotate = paper is not None or k > 6
    if annotate:
        d = digits if digits is not None else value_digits([*o, *pv[np.isfinite(pv)]])
        for bars, vals, errs in containers:
            _label_bars(ax, bars, vals, errs, d, rotate=rotate)
    ax.set_xticks(x)
    ax.set_xticklabels([_methods.label(m) for m in methods], rotation=30 if k > 5 else 0,
                       ha="right" if k > 5 else "center")
    ax.set_ylabel(ylabel)
    ax.axhline(0.0, color="0.3", lw=0.6)
    if ylim is not None:
        ax.set_ylim(*ylim)
    else:
        # whiskers and value labels are part of the data: an axis that cuts them hides how uncertain a bar is
        vals = np.concatenate([o - err, o + err, (pv - pe)[np.isfinite(pv)], (pv + pe)[np.isfinite(pv)]])
        lo, hi = float(np.nanmin(vals)), float(np.nanmax(vals))
        pad = max(1e-9, 0.15 * (hi - lo) if hi > lo else 0.05 * abs(hi) + 1e-3)
        bottom = lo - 3 * pad if lo > 0 and (lo - 3 * pad) > 0 else min(0.0, lo - pad)  # zoomed, as the poster
        room = (0.45 if rotate else 0.15) * (max(hi, 0.0) - bottom)  # the value labels
        ax.set_ylim(bottom - (room if lo < 0 else 0.0), hi + room)
    if title:
        ax.set_title(title)
    if paper is not None:  # one source needs no legend: the x axis names the methods
        handles = [Patch(facecolor="0.6", edgecolor="black", lw=0.5, label=f"{labels[0]} (colour = method)"),
                   Patch(facecolor="white", edgecolor="black", hatch="//", lw=0.5, label=labels[1])]
        # under the axes: the labels of the sources can be long, and the bars keep the whole width
        _legend_below(ax, handles, [h.get_label() for h in handles], ncol=2, y=-0.3 if k > 5 else -0.15)
    fig.tight_layout()
    return fig


def _mean_std(val: Any) -> tuple[np.ndarray, np.ndarray | None]:
    if isinstance(val, tuple) and len(val) == 2:
        return to_numpy(val[0]), to_numpy(val[1])
    return to_numpy(val), None


#: Line styles :func:`sweep_plot` accepts in its ``styles`` mapping.
LINE_STYLES = ("-", "--", ":", "-.")


def _sweep_options(data: Mapping[str, Any], twin_data: Mapping[str, Any], styles: Any, panels: Any, behind: Any,
                   points: Any) -> None:
    """ValueErrors for :func:`sweep_plot`'s per-series options that name no series or an unknown style
    (``colors`` may hold more labels: one palette can serve several figures)."""
    from ._validate import check_choice

    known = set(data) | set(twin_data)
    for name, opt, allowed in (("styles", styles, known), ("panels", panels, set(data)), ("behind", behind, set(data)),
                               ("points", points, set(data))):
        for label in opt or ():
            if label not in allowed:
                raise ValueError(f"{name} names {label!r}, which is not a series; series: {sorted(allowed)}")
    for label, style in (styles or {}).items():
        check_choice(f"styles[{label!r}]", style, LINE_STYLES)


def _draw_band(ax: Any, xs: np.ndarray, mean: Any, std: Any, color: str, style: str, *, label: str | None = None,
               lw: float = 1.5, alpha: float = 0.2) -> None:
    """One series: its mean as a line with markers, ``mean +- std`` as a band of its colour."""
    ax.plot(xs, mean, style, marker="o", ms=3, lw=lw, color=color, label=label if label is not None else "_nolegend_")
    if std is not None:
        ax.fill_between(xs, mean - std, mean + std, color=color, alpha=alpha, lw=0)


def _draw_extras(ax: Any, xs: np.ndarray, labels: Sequence[str], hlines: Mapping[str, float],
                 points: Mapping[str, Any], col: Mapping[str, str], points_label: str) -> None:
    """The reference lines (over the swept range, in data coordinates so the figure check sees where they
    are) and the separately measured points of ``labels`` on one axis."""
    for name, y in hlines.items():
        ax.plot([float(np.min(xs)), float(np.max(xs))], [float(y)] * 2, color="k", ls=":", lw=1, label=name)
    for label in labels:
        if label in points:
            px, pm, ps = (np.atleast_1d(to_numpy(v)).astype(float) for v in points[label])
            ax.errorbar(px, pm, ps, marker="s", mfc="white", ms=6, capsize=3, ls="none", color=col[label],
                        label=f"{label}, {points_label}")


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
    colors: Mapping[str, str] | None = None,
    styles: Mapping[str, str] | None = None,
    max_bands: int = 3,
    panels: Mapping[str, str] | None = None,
    behind: Sequence[str] = (),
    hlines: Mapping[str, float] | None = None,
    points: Mapping[str, tuple[Any, Any, Any]] | None = None,
    points_label: str = "separate runs",
):
    """Lines with error bands over a swept parameter, optionally with a second y axis.

    More than ``max_bands`` banded series are drawn as small multiples (one panel each, shared axes,
    the other series as thin grey lines behind, those in ``behind`` in their own colour), since
    overlapping bands merge into one; ``panels`` groups the series into named panels instead. On a
    twin axis the left series are solid and the right ones dashed, and each axis label says so.
    Everything a figure shows is passed here (a notebook never restyles the lines afterwards), in the
    one figure style of this module (issue 17 of this repository).

    Args:
        x: ``(K,)`` swept values.
        series: ``{label: (mean, std)}`` or ``{label: mean}`` on the left axis (band = mean +- std).
        twin: same format, drawn dashed on a right-hand twin axis (e.g. time next to accuracy).
        logx: log-scale x axis (e.g. ``eps`` or ``rho`` sweeps).
        colors: ``{label: colour}``; default: the method's colour, else :data:`OTHER_COLORS`
            (for ordered levels pass :func:`level_colors`).
        styles: ``{label: line style}``, one of :data:`LINE_STYLES` (default solid; a twin series
            dashed), e.g. dashed for a reference method.
        max_bands: the most banded series drawn on one axis.
        panels: ``{label: panel title}``: small multiples with the series of one title together (each
            series named in a figure legend below); series not named get a panel of their own.
        behind: labels drawn thin, in their own colour and style, behind every other panel of the
            small multiples (the comparison a reader needs at a glance, e.g. INCE).
        hlines: ``{label: y}`` dotted black reference lines on every axis (e.g. the random-init
            encoder's accuracy, a ratio of 1).
        points: ``{series label: (x, mean, std)}`` separately measured points, open squares with error
            bars in the series' colour, on the series' axis; the legend calls them
            ``"<label>, <points_label>"``.
        points_label: what the ``points`` are (e.g. ``"fresh"``).

    Returns:
        A Figure; ``fig.axes`` is ``[left]`` or ``[left, right]``, or one axis per panel.
    """
    plt = _plt()
    xs = to_numpy(x)
    colors = dict(colors or {})
    data = {label: _mean_std(val) for label, val in series.items()}
    tdata = {label: _mean_std(val) for label, val in (twin or {}).items()}
    _sweep_options(data, tdata, styles, panels, behind, points)
    if twin and panels is not None:
        raise ValueError("panels and twin cannot be combined: a twin axis belongs to a single panel")
    col = {label: colors.get(label, _color(label, i)) for i, label in enumerate(data)}
    sty = {label: (styles or {}).get(label, "-") for label in data}
    hl, pts = dict(hlines or {}), dict(points or {})
    banded = sum(std is not None for _, std in data.values())
    if panels is not None or (banded > max_bands and not twin):
        return _sweep_small_multiples(xs, data, col, sty, panels, behind, hl, pts, points_label,
                                      logx=logx, xlabel=xlabel, ylabel=ylabel, title=title)
    fig, ax = plt.subplots(figsize=(5.6 if twin else 5.9, 3.6))  # the legend sits right of the axes
    for label, (mean, std) in data.items():
        _draw_band(ax, xs, mean, std, col[label], sty[label], label=label)
    _draw_extras(ax, xs, list(data), hl, pts, col, points_label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{ylabel} (solid)" if twin else ylabel)
    if logx:
        ax.set_xscale("log")
    ax.grid(True, alpha=0.3)
    handles, lab = ax.get_legend_handles_labels()
    if twin:
        h2, l2 = _draw_twin(ax, xs, tdata, colors, styles, len(data), twin_ylabel)
        handles, lab = handles + h2, lab + l2
        _legend_below(ax, handles, lab, ncol=2, y=-0.2)
    else:
        _legend_outside(ax, handles, lab)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def _draw_twin(ax: Any, xs: np.ndarray, tdata: dict[str, Any], colors: dict[str, str],
               styles: Mapping[str, str] | None, offset: int, twin_ylabel: str) -> tuple[list, list]:
    # sweep_plot's right-hand axis: the twin series dashed (colours after the left ones'); returns
    # its legend handles and labels
    tcol = {label: colors.get(label, _color(label, i + offset)) for i, label in enumerate(tdata)}
    ax2 = ax.twinx()
    for label, (mean, std) in tdata.items():
        _draw_band(ax2, xs, mean, std, tcol[label], (styles or {}).get(label, "--"), label=label)
    ax2.set_ylabel(f"{twin_ylabel} (dashed)")
    return ax2.get_legend_handles_labels()


def _sweep_small_multiples(xs: np.ndarray, data: dict[str, Any], col: dict[str, str], sty: dict[str, str],
                           panels: Mapping[str, str] | None, behind: Sequence[str], hl: dict[str, float],
                           pts: dict[str, Any], points_label: str, *, logx: bool, xlabel: str, ylabel: str,
                           title: str | None):
    # sweep_plot's small multiples: one panel per group of series (panels) or per series, shared axes,
    # a figure legend below for what the panel titles do not name
    plt = _plt()
    groups: dict[str, list[str]] = {}
    for label in data:
        groups.setdefault((panels or {}).get(label, label), []).append(label)
    named = panels is not None  # a panel of several series names them in the legend, else its title does
    n = len(groups)
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    # a figure legend (what the panel titles do not name) takes a strip under the panels
    strip = 0.8 if named or behind or hl or pts else 0.0
    fig, axes = plt.subplots(nrows, ncols, figsize=(FIG_WIDTH_IN, 2.5 * nrows + 0.5 + strip), sharex=True,
                             sharey=True, squeeze=False)
    for k, (ax, (name, members)) in enumerate(zip(axes.flat, groups.items())):
        _draw_sweep_panel(ax, xs, data, members, col, sty, behind, named)
        _draw_extras(ax, xs, members, hl, pts, col, points_label)
        ax.set_title(_methods.label(name))
        if logx:
            ax.set_xscale("log")
        ax.grid(True, alpha=0.3)
        if k + ncols >= n:
            ax.xaxis.set_tick_params(labelbottom=True)
    # the panels share their axes: one label each, which a long label needs (it outgrows one panel)
    fig.supxlabel(xlabel, fontsize=FONT_PT)
    fig.supylabel(ylabel, fontsize=FONT_PT)
    legend: dict[str, Any] = {}
    for ax in axes.flat[:n]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(lab, h)
    _finish_grid(fig, axes, n, title, tight=not legend)
    if legend:  # its tight layout keeps a strip free for the legend (and the title above)
        _figure_legend_below(fig, list(legend.values()), list(legend), ncol=min(3, len(legend)))
        # the x label sits on the legend, not under it (where the strip begins)
        top = fig.legends[-1].get_window_extent(fig.canvas.get_renderer()).y1 / fig.bbox.height
        fig.supxlabel(xlabel, fontsize=FONT_PT, y=top, va="bottom")
    return fig


def _draw_sweep_panel(ax: Any, xs: np.ndarray, data: dict[str, Any], members: list[str], col: dict[str, str],
                      sty: dict[str, str], behind: Sequence[str], named: bool) -> None:
    # one small multiple: the other series thin behind (grey, or in their colour when in ``behind``;
    # none in named panels), then this panel's series with their bands
    for other, (m2, _) in data.items():
        if other in members:
            continue
        if other in behind:
            ax.plot(xs, m2, sty[other], color=col[other], lw=1.0, label=other)
        elif not named:
            ax.plot(xs, m2, color="0.8", lw=0.8)
    for label in members:
        _draw_band(ax, xs, *data[label], col[label], sty[label], label=label if named or label in behind
                   else None, lw=1.6, alpha=0.25)

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
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
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


#: Plotly text size in CSS px (12 px = 9 pt, :data:`MIN_FONT_PT`).
PLOTLY_FONT_PX = 12


def plotly_heatmaps(mats: Mapping[str, Any], *, height: int = 350, colorscale: str = "Viridis",
                    xlabel: str = "column j (view 2)", ylabel: str = "row i (view 1)"):
    """One row of plotly heatmaps, one per ``{title: (n, m) matrix}``, each with its own colour bar.

    Axes are titled ``xlabel`` (every panel) and ``ylabel`` (the first panel).

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
                                     tickformat=".2g", tickfont=dict(size=PLOTLY_FONT_PX))),
            row=1, col=i + 1,
        )
        fig.update_yaxes(autorange="reversed", row=1, col=i + 1, showticklabels=False,
                         title_text=ylabel if i == 0 else " ")
        fig.update_xaxes(showticklabels=False, row=1, col=i + 1, title_text=xlabel)
    fig.update_layout(height=height, margin=dict(l=30, r=60, t=40, b=40), font=dict(size=PLOTLY_FONT_PX))
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
                   line=dict(color=OTHER_COLORS[0])),
        go.Scatter(y=c, mode="lines+markers", marker=dict(size=3), name="columns  |Pᵀ1 - b| / b",
                   line=dict(color=OTHER_COLORS[2], dash="dash")),  # on the floor with the rows, both stay visible
    ])
    fig.add_hline(y=floor, line=dict(color="gray", dash="dot", width=1))
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=60, b=10), title=dict(text="marginal deviation from target", y=0.97),
        xaxis_title="index", yaxis_title=f"relative (floor {floor:.0e} = exact)",
        yaxis=dict(type="log", range=log_range(np.concatenate([r, c]), floor), exponentformat="power", dtick=2),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0.0, font=dict(size=PLOTLY_FONT_PX)),
        font=dict(size=PLOTLY_FONT_PX),
    )
    return fig


def plotly_convergence(errors: Any, *, height: int = 260):
    """Marginal error per iteration (log y axis): one Scatter trace."""
    import plotly.graph_objects as go

    e = to_numpy(errors).reshape(-1)
    fig = go.Figure(go.Scatter(x=np.arange(1, e.size + 1), y=e, mode="lines+markers", name="marginal error",
                               line=dict(color=OTHER_COLORS[0])))  # not a method: no method colour
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), title="Sinkhorn convergence",
                      font=dict(size=PLOTLY_FONT_PX),
                      xaxis_title="iteration", yaxis_title="||P1 - a||₁", yaxis_type="log",
                      yaxis_exponentformat="power")
    return fig


def plotly_bars(values: Mapping[str, float], *, title: str = "loss of every method", height: int = 280,
                ylabel: str = "loss (nats per sample)"):
    """One Bar trace of ``{name: value}`` with the values written on the bars (4 significant digits,
    so values near 0, as RINCE's, still read as numbers)."""
    import plotly.graph_objects as go

    names = list(values)
    vals = [float(values[k]) for k in names]
    fig = go.Figure(go.Bar(x=names, y=vals, text=[f"{v:.4g}" for v in vals], textposition="outside",
                           cliponaxis=False, marker_color=[_color(k, i) for i, k in enumerate(names)]))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=50, b=10), title=title, font=dict(size=PLOTLY_FONT_PX),
                      xaxis_title="method", yaxis_title=ylabel)
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
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), font=dict(size=PLOTLY_FONT_PX))
    fig.update_layout(meta={"point_traces": idx})
    return fig


def plotly_curves(x: Any, panels: Mapping[str, Mapping[str, Any]], *, height: int = 280, marker_x: float | None = None,
                  xlabel: str = "step", ylabels: Mapping[str, str] | None = None):
    """Curves over steps, one subplot per panel; an optional vertical marker line (a shape per panel).

    Axes are titled ``xlabel`` and ``ylabels[panel]`` (default: the panel's title)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    xs = to_numpy(x)
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=list(panels), horizontal_spacing=0.14)
    dashes = ("solid", "dash", "dot", "dashdot")  # equal curves (two methods alike) do not hide each other
    for p, (title, series) in enumerate(panels.items()):
        for i, (label, y) in enumerate(series.items()):
            fig.add_trace(go.Scatter(x=xs, y=to_numpy(y), mode="lines", name=label, legendgroup=label,
                                     showlegend=p == 0, line=dict(color=_color(label, i), dash=dashes[i % 4],
                                                                  width=3 - 0.6 * min(i, 2))),
                          row=1, col=p + 1)
        if marker_x is not None:
            fig.add_vline(x=marker_x, line=dict(color="gray", dash="dot"), row=1, col=p + 1)
        fig.update_xaxes(title_text=xlabel, row=1, col=p + 1)
        fig.update_yaxes(title_text=(ylabels or {}).get(title, title.split(" (")[0]), row=1, col=p + 1)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), font=dict(size=PLOTLY_FONT_PX))
    return fig


# --------------------------------------------------------------------------------------------------
# the figure check: what a reader would not see (tests, and notebooks under GCA_LAB_FIGURE_CHECK=1)
# --------------------------------------------------------------------------------------------------


class FigureStyleError(AssertionError):
    """A figure breaks the notebook style (:func:`figure_problems` lists how)."""


def _drawn_texts(fig: Any) -> list[tuple[Any, str, float]]:
    """Every text the renderer draws, as ``(Text artist or None, string, size in points)``.

    Recorded from the renderer itself, so texts that exist but are not drawn (tick labels outside
    the axis range, invisible artists) are not counted.
    """
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    drawn: list[tuple[Any, str, float]] = []
    original = renderer.draw_text

    def record(gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if str(s).strip():
            drawn.append((mtext, str(s), float(prop.get_size_in_points())))
        return original(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    renderer.draw_text = record
    try:
        fig.draw(renderer)
    finally:
        del renderer.draw_text  # back to the class's method
    return drawn


def _text_box(t: Any, renderer: Any) -> tuple[np.ndarray, np.ndarray, float] | None:
    """A drawn text as a rotated rectangle: centre (px), half sizes (px), angle (rad)."""
    box = t.get_window_extent(renderer)
    if box.width <= 0 or box.height <= 0:
        return None
    angle = math.radians(t.get_rotation() % 180.0)
    if abs(math.sin(angle)) > 1e-6:  # the unrotated size of a rotated label
        rot = t.get_rotation()
        t.set_rotation(0)
        flat = t.get_window_extent(renderer)
        t.set_rotation(rot)
        w, h = flat.width, flat.height
    else:
        w, h = box.width, box.height
    return np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2]), np.array([w / 2, h / 2]), angle


def _boxes_overlap(a: tuple, b: tuple, margin: float = 1.0) -> bool:
    """Separating-axis test of two rotated rectangles, each shrunk by ``margin`` px (touching is fine)."""
    (ca, ha, ta), (cb, hb, tb) = a, b
    ha, hb = np.maximum(ha - margin, 0.0), np.maximum(hb - margin, 0.0)
    axes_a = [np.array([math.cos(ta), math.sin(ta)]), np.array([-math.sin(ta), math.cos(ta)])]
    axes_b = [np.array([math.cos(tb), math.sin(tb)]), np.array([-math.sin(tb), math.cos(tb)])]
    d = cb - ca
    for axis in axes_a + axes_b:
        ra = ha[0] * abs(axes_a[0] @ axis) + ha[1] * abs(axes_a[1] @ axis)
        rb = hb[0] * abs(axes_b[0] @ axis) + hb[1] * abs(axes_b[1] @ axis)
        if abs(d @ axis) >= ra + rb:
            return False
    return True


def _legends(fig: Any) -> list[Any]:
    out = list(fig.legends)
    out += [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return out


def _series_by_label(fig: Any) -> dict[str, list[Any]]:
    """The labelled artists of every axes (lines, collections, bar containers), by label."""
    found: dict[str, list[Any]] = {}
    for ax in fig.axes:
        for artist in [*ax.lines, *ax.collections, *ax.containers, *ax.patches]:
            lab = artist.get_label() if hasattr(artist, "get_label") else None
            if lab and not str(lab).startswith("_"):
                found.setdefault(str(lab), []).append((ax, artist))
    return found


def _line_hidden(ax: Any, line: Any) -> str | None:
    """Why a line of ``ax`` cannot be seen (no finite point in view, or another line drawn exactly
    over it), or None."""
    if not line.get_visible() or (line.get_alpha() is not None and line.get_alpha() == 0):
        return "is invisible"
    xy = np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])
    ok = np.isfinite(xy).all(axis=1)
    (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    inside = ok & (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    if not inside.any():
        return "has no point inside the axes"
    if inside.sum() < 2 and line.get_marker() in (None, "None", "", " ") and line.get_linestyle() not in ("None", ""):
        return "draws nothing (one point and no marker)"
    px = ax.transData.transform(xy[inside])
    later = ax.lines[ax.lines.index(line) + 1:]
    for other in later:
        if (not other.get_visible() or other.get_linestyle() not in ("-", "solid")
                or other.get_linewidth() < 0.8 * line.get_linewidth()):
            continue
        oxy = np.column_stack([np.asarray(other.get_xdata(), float), np.asarray(other.get_ydata(), float)])
        if oxy.shape != xy.shape:
            continue
        opx = ax.transData.transform(oxy[inside])
        if np.all(np.isfinite(opx)) and np.max(np.abs(opx - px)) < max(1.0, line.get_linewidth()):
            return f"is drawn over by {other.get_label()!r}"
    return None


def _series_hidden(ax: Any, artist: Any) -> str | None:
    from matplotlib.container import BarContainer
    from matplotlib.lines import Line2D

    if isinstance(artist, Line2D):
        return _line_hidden(ax, artist)
    if isinstance(artist, BarContainer):
        shown = [r for r in artist.patches if r.get_visible() and np.isfinite(r.get_height()) and r.get_height() != 0]
        return None if shown else "has no visible bar"
    if hasattr(artist, "get_visible") and not artist.get_visible():
        return "is invisible"
    return None


def figure_problems(fig: Any, *, max_width_in: float = MAX_WIDTH_IN, min_pt: float = MIN_FONT_PT) -> list[str]:
    """What a reader of ``fig`` in a JupyterLab cell would not see; an empty list when nothing.

    The figure is drawn as the notebook saves it (tight bounding box at ``fig.dpi``) and shown at one CSS
    pixel per PNG pixel, shrunk to the cell when wider than ``max_width_in`` at :data:`DPI` (850 px).
    A text of ``s`` points is then displayed at ``s * fig.dpi / 96 * shrink`` points. Reported:

    - a figure wider than the cell (the browser shrinks it: every text gets smaller);
    - a drawn text under ``min_pt`` points as displayed;
    - two drawn texts whose boxes (rotated rectangles) overlap by more than a pixel;
    - a legend entry whose series cannot be seen: invisible, no point inside the axes, no visible
      bar, or a line drawn exactly under another solid line.

    Args:
        fig: a matplotlib Figure (an Agg canvas; ``plt.subplots`` figures have one).
        max_width_in: the cell width in inches at :data:`DPI`.
        min_pt: the smallest legible text size as displayed, in points.

    Returns:
        One sentence per problem.
    """
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    problems: list[str] = []
    drawn = _drawn_texts(fig)
    renderer = fig.canvas.get_renderer()
    tight = fig.get_tightbbox(renderer)
    import matplotlib as mpl

    pad = mpl.rcParams["savefig.pad_inches"]  # the inline backend saves bbox_inches="tight" with this pad
    width_px = (tight.width + 2 * (pad if isinstance(pad, (int, float)) else 0.1)) * fig.dpi
    cell_px = max_width_in * DPI
    shrink = min(1.0, cell_px / width_px) if width_px > 0 else 1.0
    if shrink < 0.995:
        problems.append(f"figure is {width_px:.0f} px wide, the cell {cell_px:.0f} px: shown at {100 * shrink:.0f} %")
    small = sorted({(round(size * fig.dpi / 96.0 * shrink, 1), s[:40]) for _, s, size in drawn
                    if size * fig.dpi / 96.0 * shrink < min_pt - 1e-6})
    for shown, s in small:
        problems.append(f"text {s!r} is {shown:g} pt as displayed (< {min_pt:g} pt)")
    artists = []
    for t, s, _ in drawn:
        if t is not None and all(t is not a for a, _ in artists):
            box = _text_box(t, renderer)
            if box is not None:
                artists.append((t, box))
    for i, (ta, ba) in enumerate(artists):
        for tb, bb in artists[i + 1:]:
            if _boxes_overlap(ba, bb):
                problems.append(f"texts {ta.get_text()[:40]!r} and {tb.get_text()[:40]!r} overlap")
    series = _series_by_label(fig)
    for legend in _legends(fig):
        for text in legend.get_texts():
            for ax, artist in series.get(text.get_text(), []):
                why = _series_hidden(ax, artist)
                if why:
                    problems.append(f"legend entry {text.get_text()!r} {why}")
    return problems


def check_figure(fig: Any, **kwargs: Any) -> Any:
    """``fig`` unchanged when :func:`figure_problems` finds nothing; :class:`FigureStyleError` listing the
    problems otherwise (``kwargs`` go to :func:`figure_problems`)."""
    problems = figure_problems(fig, **kwargs)
    if problems:
        title = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
        axes_titles = [ax.get_title() for ax in fig.axes if ax.get_title()][:3]
        name = title or " | ".join(axes_titles) or f"figure {getattr(fig, 'number', '?')}"
        raise FigureStyleError(f"{name}: " + "; ".join(problems))
    return fig


def _plotly_font_sizes(node: Any, path: str = "") -> list[tuple[str, float]]:
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else key
            if key in ("font", "tickfont", "titlefont", "textfont") and isinstance(value, dict) and "size" in value:
                sizes = value["size"] if isinstance(value["size"], (list, tuple)) else [value["size"]]
                out += [(here, float(v)) for v in sizes if v is not None]
            out += _plotly_font_sizes(value, here)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            out += _plotly_font_sizes(value, f"{path}[{i}]")
    return out


def plotly_problems(fig: Any, *, min_pt: float = MIN_FONT_PT) -> list[str]:
    """What a reader of a plotly figure (an explorer's ``FigureWidget``) would miss; empty when nothing.

    Plotly sizes text in CSS pixels (12 px = 9 pt). Reported: any font size (layout, legend, axes,
    colour bars, traces, annotations) under ``min_pt``, and a shown 2-D axis (``visible`` not False)
    without a title.
    """
    spec = fig.to_plotly_json()
    problems = []
    min_px = min_pt * 96.0 / 72.0
    for where, px in _plotly_font_sizes(spec):
        if px < min_px - 1e-9:
            problems.append(f"{where}.size is {px:g} px (< {min_px:g} px = {min_pt:g} pt)")
    layout = spec.get("layout", {})
    used = set()
    for trace in spec.get("data", []):
        if trace.get("type", "scatter") in ("scatter3d", "pie"):
            continue
        used.add("xaxis" + str(trace.get("xaxis", "x"))[1:])
        used.add("yaxis" + str(trace.get("yaxis", "y"))[1:])
    for name in sorted(used):
        axis = layout.get(name, {})
        if axis.get("visible") is False:
            continue
        title = axis.get("title")
        text = title.get("text") if isinstance(title, dict) else title
        if not text:
            problems.append(f"{name} has no title")
    return problems


_CHECKED_PNGS: list[str] = []


def _checked_png_printer(printer: Any) -> Any:
    """A PNG formatter that checks each figure before drawing it, recording problems for the cell's end."""

    def print_png(fig: Any) -> Any:
        try:
            check_figure(fig)
        except FigureStyleError as exc:
            _CHECKED_PNGS.append(str(exc))
        return printer(fig)

    return print_png


def _end_of_cell(value: Any = None) -> Any:
    """Called after every cell's code (the AST transformer of :func:`enable_figure_check`): raises
    :class:`FigureStyleError` for the figures shown during the cell and those still open, else returns
    ``value`` (the cell's last expression, displayed as usual)."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    found = list(_CHECKED_PNGS)
    _CHECKED_PNGS.clear()
    figures = [plt.figure(n) for n in plt.get_fignums()]
    if isinstance(value, Figure) and value not in figures:
        figures.append(value)
    for fig in figures:
        try:
            check_figure(fig)
        except FigureStyleError as exc:
            found.append(str(exc))
    if found:
        plt.close("all")  # a failing figure is not shown as if it passed
        raise FigureStyleError("figure check (GCA_LAB_FIGURE_CHECK=1): " + " || ".join(dict.fromkeys(found)))
    return value


def enable_figure_check(shell: Any | None = None) -> bool:
    """Make every figure a cell shows pass :func:`check_figure`, failing the cell otherwise.

    Two hooks in the running IPython ``shell``: the PNG formatter checks each figure it draws
    (``plt.show()``, ``display(fig)``, a figure as the last expression) and an AST transformer
    ends every cell with a call that raises :class:`FigureStyleError` for what the formatter found
    and for figures still open (the ones the inline backend would show after the cell). The error
    is raised inside the cell, so nbval and ``nbclient`` see a failing cell. Returns False outside
    IPython. Called by :func:`setup_notebook` when ``GCA_LAB_FIGURE_CHECK=1`` (root ``conftest.py``).
    """
    import ast

    from matplotlib.figure import Figure

    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython is a dependency of jupyterlab
            return False
        shell = get_ipython()
    if shell is None:
        return False
    formatter = shell.display_formatter.formatters["image/png"]
    printer = formatter.lookup_by_type(Figure) if Figure in formatter.type_printers else None
    if printer is not None and not getattr(printer, "_gca_checked", False):
        wrapped = _checked_png_printer(printer)
        wrapped._gca_checked = True  # type: ignore[attr-defined]
        formatter.for_type(Figure, wrapped)

    class _EndOfCell(ast.NodeTransformer):
        _gca_figure_check = True

        def visit_Module(self, node: ast.Module) -> ast.Module:
            call = ast.Attribute(ast.Call(ast.Name("__import__", ast.Load()), [ast.Constant("gca_lab.viz")], []),
                                 "viz", ast.Load())
            end = ast.Attribute(call, "_end_of_cell", ast.Load())
            if node.body and isinstance(node.body[-1], ast.Expr):
                node.body[-1].value = ast.Call(end, [node.body[-1].value], [])
            else:
                node.body.append(ast.Expr(ast.Call(end, [ast.Constant(None)], [])))
            return ast.fix_missing_locations(node)

    if not any(getattr(t, "_gca_figure_check", False) for t in shell.ast_transformers):
        shell.ast_transformers.append(_EndOfCell())
    return True


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
    digits: int | None = None,
    title: str | None = None,
):
    """One bar panel per dataset, methods in a fixed order, values printed on the bars (poster layout).

    Each panel gets its own zoomed y range (as on the poster, where bars start well above 0), so
    panels on different scales (ours on digits next to the paper's CIFAR numbers) stay readable.

    Args:
        panels: ``{panel title: {method: value or (mean, std)}}``; a panel shows only the methods it
            has (no empty slots).
        order: method order on the x axis (default: the first panel's keys).
        names: display names of the methods (default: the registry labels, :func:`gca_lab.methods.label`).
        hatched: titles of panels drawn hatched (e.g. the paper's numbers, to tell them from ours).
        ncols: panels per row (default: as many columns as fit :data:`FIG_WIDTH_IN`, each as wide as
            the widest panel needs).
        digits: decimals of the printed values (default: :func:`value_digits` per panel).

    Returns:
        A Figure with one axis per panel (``fig.axes[:len(panels)]``), one ``BarContainer`` each.
    """
    plt = _plt()
    if not panels:
        raise ValueError("panels must hold at least one panel, got an empty mapping")
    order = list(order) if order is not None else list(next(iter(panels.values())))
    names = dict(names or {})
    present = {t: [m for m in order if vals.get(m) is not None] for t, vals in panels.items()}
    n = len(panels)
    widths = [max(2.0, 0.36 * len(ms) + 1.0) for ms in present.values()]
    if ncols is None:  # as many columns as fit the cell, each as wide as the widest panel needs
        ncols = int(FIG_WIDTH_IN // max(widths))
    ncols = max(1, min(int(ncols), n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(min(FIG_WIDTH_IN, max(widths) * ncols), 3.6 * nrows),
                             squeeze=False)
    for ax, (ptitle, vals) in zip(axes.flat, panels.items()):
        shown = present[ptitle]  # no empty slot for a method the panel does not report
        means, errs = [], []
        for m in shown:
            v = vals.get(m)
            if isinstance(v, (tuple, list)) and len(v) == 2:
                means.append(np.nan if v[0] is None else float(v[0]))
                errs.append(0.0 if v[1] is None or not np.isfinite(float(v[1])) else float(v[1]))
            else:
                means.append(float(v))
                errs.append(0.0)
        mv, ev = np.asarray(means, dtype=float), np.asarray(errs, dtype=float)
        x = np.arange(len(shown))
        bars = ax.bar(x, np.nan_to_num(mv), 0.75, yerr=ev if ev.any() else None, capsize=2,
                      color=[_color(m, i) for i, m in enumerate(shown)], edgecolor="black", lw=0.5,
                      hatch="//" if ptitle in hatched else None, alpha=0.55 if ptitle in hatched else 1.0)
        for rect, v in zip(bars, mv):
            if np.isnan(v):
                rect.set_visible(False)
        _label_bars(ax, bars, mv, ev, value_digits(mv) if digits is None else digits, rotate=True)
        ok = ~np.isnan(mv)
        if ok.any():
            lo, hi = float(np.min(mv[ok] - ev[ok])), float(np.max(mv[ok] + ev[ok]))
            pad = max(0.5 * (hi - lo), 0.05 * abs(hi), 1e-3)
            bottom = max(0.0, lo - pad)
            ax.set_ylim(bottom, hi + 0.5 * (hi - bottom) + pad)  # room for the vertical value labels
        ax.set_xticks(x)
        ax.set_xticklabels([names.get(m, _methods.label(m)) for m in shown], rotation=45, ha="right",
                           rotation_mode="anchor")
        ax.set_title(ptitle)
        ax.set_ylabel(ylabel)
    return _finish_grid(fig, axes, n, title)


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
