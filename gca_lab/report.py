"""What every figure notebook shows around its figures: the claims table, the findings block, error-bar
half-widths, image grids and the wall-time line (one template for notebooks 05-12).

Notebooks call these and narrate; the numbers come from :mod:`gca_lab.experiments` summaries and
the verdicts from :func:`gca_lab.stats.judge` only. A claims table has the columns

    claim | paper | paper effect | ours (95% interval) | detectable effect | verdict

where "detectable effect" is the half-width of our paired 95% interval: the smallest true
difference these seeds could tell from zero (:func:`gca_lab.stats.verdict`).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .stats import VERDICTS, Claim

__all__ = ["COLUMNS", "EVAL_COLUMNS", "claims_rows", "claims_table", "evaluation_table", "findings", "half_width", "image_grid", "wall_time_line",
           "verdict_counts"]

#: Columns of every claims table (notebooks and README).
COLUMNS = ("claim", "paper", "paper effect", "ours (95% interval)", "detectable effect", "verdict")


def _claims(claims: Iterable[Claim]) -> list[Claim]:
    out = list(claims)
    for i, c in enumerate(out):
        if not isinstance(c, Claim):
            raise TypeError(f"claims[{i}] must be a gca_lab.stats.Claim (built by stats.judge), got {type(c).__name__}")
    return out


def _number(x: float | None, units: str) -> str:
    if x is None:
        return "—"
    if not math.isfinite(x):
        return "∞ (one seed)"
    return f"{x:.2f} {units}"


def claims_rows(claims: Iterable[Claim]) -> list[dict[str, str]]:
    """Each claim as a row of :data:`COLUMNS` (strings): the paper's effect and our detectable effect in the
    claim's units (``—`` for rule claims, which state their rule in the ``paper`` / ``ours`` text)."""
    rows = []
    for c in _claims(claims):
        effect = _number(c.paper_effect, c.units) if c.paper_effect is not None else "—"
        rows.append(dict(zip(COLUMNS, (c.claim, c.paper, effect, c.ours, _number(c.detectable, c.units), c.verdict))))
    return rows


def claims_table(claims: Iterable[Claim]):
    """The claims table as a ``pandas.DataFrame`` with :data:`COLUMNS` (index: 1, 2, ...)."""
    import pandas as pd

    df = pd.DataFrame(claims_rows(claims), columns=list(COLUMNS))
    df.index = range(1, len(df) + 1)
    return df


#: Column titles of an evaluation table, by metric (:data:`gca_lab.experiments._common.EVAL_METRICS`).
EVAL_COLUMNS = {"probe_test_acc": "linear probe", "lowlabel10_test_acc": "10 labels/class",
                "lowlabel100_test_acc": "100 labels/class", "knn20_test_acc": "kNN k=20",
                "knn200_test_acc": "kNN k=200"}


def evaluation_table(rows: Iterable[Mapping[str, Any]]):
    """An evaluation table (rows of :func:`gca_lab.experiments._common.evaluation_rows`) as a
    ``pandas.DataFrame``: one row per encoder (methods, random init, raw input), one column per metric of
    :data:`EVAL_COLUMNS` as ``"mean ± std"`` in % (``—`` where not measured), and the seed count."""
    import pandas as pd

    table = []
    for r in rows:
        line = {"encoder": r["encoder"], "seeds": r["seeds"]}
        for metric, title in EVAL_COLUMNS.items():
            v = r.get(metric)
            line[title] = "—" if v is None else (f"{v['mean']:.2f}" if r["seeds"] <= 1 else f"{v['mean']:.2f} ± {v['std']:.2f}")
        table.append(line)
    return pd.DataFrame(table, columns=["encoder", *EVAL_COLUMNS.values(), "seeds"]).set_index("encoder")


def verdict_counts(claims: Iterable[Claim]) -> dict[str, int]:
    """``{verdict: count}`` in the order of :data:`gca_lab.stats.VERDICTS` (zeros left out)."""
    n = Counter(c.verdict for c in _claims(claims))
    return {v: n[v] for v in VERDICTS if n[v]}


def findings(claims: Iterable[Claim], *, budget: str, n_seeds: int | None = None):
    """The "What we found" block (an ``IPython.display.Markdown``): verdict counts, then one line per
    claim with our paired difference, its detectable effect and the paper's effect."""
    from IPython.display import Markdown

    cs = _claims(claims)
    counts = ", ".join(f"{n} × {v}" for v, n in verdict_counts(cs).items())
    seeds = f", {n_seeds} seed(s)" if n_seeds is not None else ""
    lines = []
    for c in cs:
        power = ""
        if c.detectable is not None:
            power = f"; detectable effect {_number(c.detectable, c.units)}"
            power += f" vs the paper's {_number(c.paper_effect, c.units)}" if c.paper_effect is not None else ""
        lines.append(f"- **{c.claim}**: {c.verdict} (ours {c.ours}{power}; paper {c.paper}).")
    return Markdown(f"**What we found** ({budget} budget{seeds}): {counts or 'no claims'}.\n\n" + "\n".join(lines))


def half_width(item: Claim | Mapping[str, Any] | Any) -> float:
    """Half-width of a claim's (or a ``PairedDiff``'s, or a ``{"low", "high"}`` row's) interval, for error
    bars: ``(high - low) / 2``, and 0.0 where there is no finite interval (one seed, a rule claim) so a bar
    draws without a whisker instead of failing."""
    if isinstance(item, Mapping):
        low, high = item.get("low"), item.get("high")
    else:
        low, high = getattr(item, "low", None), getattr(item, "high", None)
    if low is None or high is None:
        return 0.0
    w = (float(high) - float(low)) / 2
    return w if math.isfinite(w) else 0.0


def image_grid(rows: Mapping[str, Any], *, columns: Sequence[str] | None = None, title: str | None = None,
               cell: float = 0.8):
    """A grid of small images or 1-D signals, one labelled row per entry of ``rows``.

    Args:
        rows: ``{label: x}`` with ``x`` of shape ``(K, C, H, W)`` / ``(K, H, W)`` (images in [0, 1],
            grey or RGB) or ``(K, 1, L)`` / ``(K, L)`` (signals, drawn as curves); every row shows its
            ``K`` items (rows may differ in ``K``; empty cells are hidden).
        columns: optional column titles.
        title: optional figure title.
        cell: size of one cell in inches.

    Returns:
        the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    from .viz import to_numpy

    if not isinstance(rows, Mapping) or not rows:
        raise ValueError(f"rows must be a non-empty mapping {{label: images}}, got {type(rows).__name__}")
    arrs = {k: to_numpy(v) for k, v in rows.items()}
    k = max(a.shape[0] for a in arrs.values())
    for name, a in arrs.items():
        if a.ndim not in (2, 3, 4) or a.shape[0] == 0:
            raise ValueError(f"rows[{name!r}] must have shape (K, C, H, W), (K, H, W), (K, 1, L) or (K, L) with K >= 1, "
                             f"got {a.shape}")
    # (K, L) and (K, 1, L) are signals; (K, H, W) with H > 1 and (K, C, H, W) are images
    signals = {name: a.ndim == 2 or (a.ndim == 3 and a.shape[1] == 1) for name, a in arrs.items()}
    wide = any(signals.values())
    # one y-range for every signal panel, so an offset or a rescaling is visible from row to row
    sig = [np.asarray(a[:k], float) for name, a in arrs.items() if signals[name]]
    ylim = (min(float(a.min()) for a in sig), max(float(a.max()) for a in sig)) if sig else None
    fig, axes = plt.subplots(len(arrs), k, figsize=(k * cell * (2.0 if wide else 1.0), len(arrs) * cell * 1.05),
                             squeeze=False)
    for i, (name, a) in enumerate(arrs.items()):
        for j in range(k):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= a.shape[0]:
                ax.set_axis_off()
                continue
            x = a[j]
            if signals[name]:
                ax.plot(np.asarray(x).reshape(-1), lw=0.8, color="k")
                pad = 0.05 * (ylim[1] - ylim[0]) + 1e-9
                ax.set_ylim(ylim[0] - pad, ylim[1] + pad)
            else:
                img = x.transpose(1, 2, 0) if x.ndim == 3 else x
                img = img[..., 0] if img.ndim == 3 and img.shape[-1] == 1 else img
                ax.imshow(np.clip(img, 0, 1), cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
            if i == 0 and columns is not None and j < len(columns):
                ax.set_title(str(columns[j]), fontsize=8)
        axes[i, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def wall_time_line(result: Any) -> str:
    """One line on what a budget costs, from the wall times recorded in the cached results of an
    :class:`gca_lab.experiments.ExperimentResult`, and what this call computed."""
    runs = result.results
    total = sum(float(r.get("wall_time", 0.0)) for r in runs.values())
    missing = f"; {len(result.data_missing)} run(s) loaded from the cache (data missing here)" if result.data_missing else ""
    return (f"{result.name} [{result.budget}]: {len(runs)} runs, {total:.0f} s = {total / 60:.1f} min of recorded "
            f"compute; this call took {result.wall_time:.1f} s ({result.computed} run(s) computed now; cache "
            f"{result.path.name}){missing}")
