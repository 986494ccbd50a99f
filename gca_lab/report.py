"""What every figure notebook shows around its figures: the claims tables, the findings block, the seed
plan, error-bar half-widths, image grids and the wall-time line (one template for notebooks 05-12).

Notebooks call these and narrate; the numbers come from :mod:`gca_lab.experiments` summaries and
the verdicts from :func:`gca_lab.stats.judge` only. Claims are shown in two tables, claims of the
paper and checks of the code and protocol (:data:`gca_lab.stats.KINDS`), each with its own count and
the columns

    claim | paper effect (abs, share of error) | ours (paired difference, 95% interval) | MDE80 |
    power at the paper's effect | verdict

where MDE80 is the true difference the paired test detects 80% of the time at this many seeds and this
noise, and the power is the chance it detects the paper's effect (:func:`gca_lab.stats.mde`,
:func:`gca_lab.stats.power`). Every table goes to the notebook through :func:`table`, which shows every
cell's full text (wrapped, never cut with "...").
"""

from __future__ import annotations

import html
import math
from collections import Counter
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .stats import KINDS, NO_TEST, VERDICTS, Claim, fmt_pm

__all__ = ["COLUMNS", "EVAL_COLUMNS", "KIND_TITLES", "scale_note", "claims_rows", "claims_table", "claims_tables", "evaluation_table",
           "findings", "fmt_pm", "half_width", "image_grid", "seed_plan", "table", "wall_time_line", "verdict_counts"]

#: Columns of every claims table (notebooks and README).
COLUMNS = ("claim", "paper effect (abs, share of error)", "ours (paired difference, 95% interval)", "MDE80",
           "power at the paper's effect", "verdict")

#: The title of each kind of row (:data:`gca_lab.stats.KINDS`).
KIND_TITLES = {"paper": "Claims of the paper", "check": "Checks of the code and protocol"}

def scale_note(claim: Claim) -> str:
    """Why the verdicts weigh the paper's effect in absolute points rather than as a share of error, with the
    numbers of ``claim`` (an accuracy claim judged with ``paper_base``, e.g. GCA-UOT ≥ INCE): the one text the
    README and the figure notebooks show."""
    if not isinstance(claim, Claim) or claim.paper_share is None or claim.ours_base is None:
        raise ValueError("claim must be a Claim judged with paper_base (an accuracy claim with a paper effect), "
                         f"got {claim!r}")
    same = claim.paper_share * (100.0 - claim.ours_base)
    return (
        "**Which scale the verdicts use.** Each paper effect is shown in absolute points and as the share of the "
        f"baseline's error it removes: in *{claim.claim}* the paper's {claim.paper_effect:+.2f} points at "
        f"{claim.paper_base:.1f}% accuracy remove {100 * claim.paper_share:.1f}% of the error; at our "
        f"{claim.ours_base:.1f}% the same share would be {same:.2f} points. The verdicts weigh the **absolute "
        "points**: the paired test, its interval and MDE80 are in points, and where our baselines have more error "
        "than the paper's the absolute effect is the smaller target, so a 'not reproduced' on that scale also "
        "holds on the share-of-error scale, while the converse would assume that gains scale with the error, "
        "which nothing here tests.")


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


def _share(x: float | None) -> str:
    return "" if x is None else f", {100 * x:.1f}% of error"


def _effect_text(c: Claim) -> str:
    if c.paper_effect is None:
        return c.paper
    return f"{c.paper_effect:+.2f} {c.units}{_share(c.paper_share)} (paper: {c.paper})"


def _ours_text(c: Claim) -> str:
    text = c.ours + (f" ({100 * c.ours_share:+.1f}% of error)" if c.ours_share is not None else "")
    if c.p_holm is not None:
        text += f"; Holm-adjusted p = {c.p_holm:.3f} over the main claims (p = {c.p:.3f})"
    if c.loso is not None and c.verdict == "reproduced":
        text += f"; leave one seed out: {c.loso[0]} of {c.loso[1]} intervals stay above 0"
    return text


def _verdict_text(c: Claim) -> str:
    return f"{NO_TEST}: {c.rule}" if c.verdict == NO_TEST else c.verdict


def claims_rows(claims: Iterable[Claim]) -> list[dict[str, str]]:
    """Each claim as a row of :data:`COLUMNS` (strings): the paper's effect in the claim's units and as a
    share of the baseline's error, our paired difference with its interval (Holm-adjusted p for main claims,
    the leave-one-seed-out count for reproduced orderings), MDE80 and the power at the paper's effect
    (``—`` for rule claims, which state their rule in the ``paper`` / ``ours`` text), and the verdict
    (with the reason for "no valid test here")."""
    rows = []
    for c in _claims(claims):
        pw = "—" if c.power is None else f"{c.power:.2f}"
        rows.append(dict(zip(COLUMNS, (c.claim, _effect_text(c), _ours_text(c), _number(c.mde80, c.units), pw,
                                       _verdict_text(c)))))
    return rows


def claims_table(claims: Iterable[Claim], kind: str | None = None):
    """The claims table as a ``pandas.DataFrame`` with :data:`COLUMNS` (index: 1, 2, ...): every claim, or
    only those of ``kind`` (``"paper"`` or ``"check"``, :data:`gca_lab.stats.KINDS`). Show it with
    :func:`table`."""
    import pandas as pd

    cs = _claims(claims)
    if kind is not None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS} or None, got {kind!r}")
        cs = [c for c in cs if c.kind == kind]
    df = pd.DataFrame(claims_rows(cs), columns=list(COLUMNS))
    df.index = range(1, len(df) + 1)
    return df


class _Table:
    """A table shown as HTML with every cell's full text, wrapped (``_repr_html_``), and as plain text."""

    def __init__(self, df: Any, caption: str | None) -> None:
        self.df, self.caption = df, caption

    def _repr_html_(self) -> str:
        import pandas as pd

        with pd.option_context("display.max_colwidth", None):
            body = self.df.to_html(escape=True, border=0, classes="gca-table")
        cap = f"<p><b>{html.escape(self.caption)}</b></p>" if self.caption else ""
        style = ("<style>table.gca-table td, table.gca-table th {white-space: normal; word-break: normal; "
                 "overflow-wrap: anywhere; text-align: left; vertical-align: top; max-width: 32em}</style>")
        return cap + style + body

    def __repr__(self) -> str:
        import pandas as pd

        with pd.option_context("display.max_colwidth", None, "display.width", 10_000, "display.max_columns", None):
            text = self.df.to_string()
        return f"{self.caption}\n{text}" if self.caption else text


def table(df: Any, caption: str | None = None) -> _Table:
    """The one way a notebook shows a claims or evaluation table: a display object whose HTML shows every
    cell's full text, wrapping long cells instead of cutting them with "..." (pandas' default column width
    would), with an optional bold caption. ``display(report.table(df))``."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas.DataFrame, got {type(df).__name__}")
    if caption is not None and not isinstance(caption, str):
        raise TypeError(f"caption must be a string or None, got {type(caption).__name__}")
    return _Table(df, caption)


def claims_tables(claims: Iterable[Claim]) -> list[_Table]:
    """The two tables every figure notebook ends with, ready for ``display``: the claims of the paper, then the
    checks of the code and protocol, each captioned with its own verdict counts (a kind with no claim is left
    out)."""
    cs = _claims(claims)
    out = []
    for kind in KINDS:
        group = [c for c in cs if c.kind == kind]
        if group:
            out.append(table(claims_table(group), caption=f"{KIND_TITLES[kind]} ({len(group)}: {_counts_text(group)})"))
    return out


#: Column titles of an evaluation table, by metric (:data:`gca_lab.experiments._common.EVAL_METRICS`).
EVAL_COLUMNS = {"probe_test_acc": "linear probe", "lowlabel10_test_acc": "10 labels/class",
                "lowlabel100_test_acc": "100 labels/class", "knn20_test_acc": "kNN k=20",
                "knn200_test_acc": "kNN k=200"}


def evaluation_table(rows: Iterable[Mapping[str, Any]]):
    """An evaluation table (rows of :func:`gca_lab.experiments._common.evaluation_rows`) as a
    ``pandas.DataFrame``: one row per encoder (methods, random init, raw input), one column per metric of
    :data:`EVAL_COLUMNS` as ``"mean ± std"`` in % (``—`` where not measured), and the seed count. Show it
    with :func:`table`."""
    import pandas as pd

    out = []
    for r in rows:
        line = {"encoder": r["encoder"], "seeds": r["seeds"]}
        for metric, title in EVAL_COLUMNS.items():
            v = r.get(metric)
            line[title] = "—" if v is None else (f"{v['mean']:.2f}" if r["seeds"] <= 1 else f"{v['mean']:.2f} ± {v['std']:.2f}")
        out.append(line)
    return pd.DataFrame(out, columns=["encoder", *EVAL_COLUMNS.values(), "seeds"]).set_index("encoder")


def verdict_counts(claims: Iterable[Claim]) -> dict[str, int]:
    """``{verdict: count}`` in the order of :data:`gca_lab.stats.VERDICTS` (zeros left out)."""
    n = Counter(c.verdict for c in _claims(claims))
    return {v: n[v] for v in VERDICTS if n[v]}


def _counts_text(cs: Sequence[Claim]) -> str:
    return ", ".join(f"{n} × {v}" for v, n in verdict_counts(cs).items()) or "none"


def _finding(c: Claim) -> str:
    tail = ""
    if c.mde80 is not None:
        tail = f"; MDE80 {_number(c.mde80, c.units)}"
        if c.paper_effect is not None:
            tail += f" vs the paper's {_number(c.paper_effect, c.units)} (power {c.power:.2f})"
    verdict = f"{NO_TEST} ({c.rule})" if c.verdict == NO_TEST else c.verdict
    return f"- **{c.claim}**: {verdict} (ours {_ours_text(c)}{tail}; paper {c.paper})."


def findings(claims: Iterable[Claim], *, budget: str, n_seeds: int | None = None):
    """The "What we found" block (an ``IPython.display.Markdown``): the claims of the paper and the checks of
    the code and protocol, each with its own verdict counts, then one line per claim with our paired
    difference, MDE80 and the power at the paper's effect."""
    from IPython.display import Markdown

    cs = _claims(claims)
    seeds = f", {n_seeds} seed(s)" if n_seeds is not None else ""
    parts = [f"**What we found** ({budget} budget{seeds})."]
    for kind in KINDS:
        group = [c for c in cs if c.kind == kind]
        if group:
            parts.append(f"**{KIND_TITLES[kind]}** ({len(group)}): {_counts_text(group)}.\n\n"
                         + "\n".join(_finding(c) for c in group))
    return Markdown("\n\n".join(parts))


def seed_plan(claims: Iterable[Claim]):
    """The seed plan (an ``IPython.display.Markdown``): for each paired claim of the paper with a paper effect
    (the declared main claims first), the seeds it has, its MDE80 and how many seeds would bring MDE80 down to
    the paper's effect at the committed paired sd (:func:`gca_lab.stats.seeds_needed`): the plan for the next
    full run. Rows with no valid test are left out. Empty text when no claim qualifies."""
    from IPython.display import Markdown

    cs = [c for c in _claims(claims) if c.kind == "paper" and c.paired and c.paper_effect is not None
          and c.n is not None and c.n >= 2 and c.verdict != NO_TEST]  # more seeds cannot make a regime valid
    cs.sort(key=lambda c: not c.main)
    lines = []
    for c in cs:
        need = ("more than 1,000" if c.seeds_for_mde is None else str(c.seeds_for_mde))
        status = "reached" if c.mde80 <= c.paper_effect else f"needs {need} seeds"
        lines.append(f"- {'**main** ' if c.main else ''}{c.claim}: {c.n} seeds, paired sd {c.std:.2f} {c.units}, "
                     f"MDE80 {_number(c.mde80, c.units)} vs the paper's {_number(c.paper_effect, c.units)}: {status}.")
    head = ("**Seed plan** (from the committed paired variance; MDE80 <= the paper's effect is what a "
            "'not reproduced' needs):")
    return Markdown(head + "\n\n" + "\n".join(lines) if lines else "**Seed plan**: no paired claim with a paper effect.")


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

    Drawn in the one figure style of :mod:`gca_lab.viz` (issue 17): at most :data:`gca_lab.viz.FIG_WIDTH_IN`
    wide (cells shrink to fit), labels at :data:`gca_lab.viz.SMALL_PT`, column titles wrapped to their
    column so that neighbours never overlap.

    Args:
        rows: ``{label: x}`` with ``x`` of shape ``(K, C, H, W)`` / ``(K, H, W)`` (images in [0, 1],
            grey or RGB) or ``(K, 1, L)`` / ``(K, L)`` (signals, drawn as curves); every row shows its
            ``K`` items (rows may differ in ``K``; empty cells are hidden).
        columns: optional column titles.
        title: optional figure title.
        cell: height of one cell in inches (signal cells are twice as wide); at most this, less when
            the columns would not fit the figure width.

    Returns:
        the matplotlib Figure.
    """
    import textwrap

    import matplotlib.pyplot as plt

    from .viz import FIG_WIDTH_IN, FONT_PT, SMALL_PT, to_numpy

    if not isinstance(rows, Mapping) or not rows:
        raise ValueError(f"rows must be a non-empty mapping {{label: images}}, got {type(rows).__name__}")
    if not isinstance(cell, (int, float)) or not cell > 0:
        raise ValueError(f"cell must be a positive size in inches, got {cell!r}")
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
    # the row labels take a strip on the left (about 0.6 em per character); the cells share the rest
    label_in = max(len(str(name)) for name in arrs) * 0.6 * SMALL_PT / 72 + 0.2
    aspect = 2.0 if wide else 1.0
    width = min(float(cell) * aspect, (FIG_WIDTH_IN - label_in) / k)
    height = width / aspect
    # a title wider than its column wraps onto more lines instead of running into its neighbour
    chars = max(4, int(width * 72 / (0.6 * SMALL_PT)))
    titles = [textwrap.fill(str(c), chars) for c in columns] if columns is not None else []
    title_in = max((t.count("\n") + 1 for t in titles), default=0) * SMALL_PT * 1.3 / 72
    fig, axes = plt.subplots(len(arrs), k, figsize=(min(FIG_WIDTH_IN, k * width + label_in),
                                                    len(arrs) * height * 1.05 + title_in + (0.35 if title else 0.0)),
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
            if i == 0 and j < len(titles):
                ax.set_title(titles[j], fontsize=SMALL_PT)
        axes[i, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=SMALL_PT)
    if title:
        fig.suptitle(title, fontsize=FONT_PT)
    fig.tight_layout(w_pad=0.3, h_pad=0.3)
    return fig


def wall_time_line(result: Any) -> str:
    """One line on what a budget costs, from the wall times recorded in the cached results of an
    :class:`gca_lab.experiments.ExperimentResult`, and what this call computed."""
    runs = result.results
    total = sum(float(r.get("wall_time", 0.0)) for r in runs.values())
    missing = f"; {len(result.data_missing)} run(s) loaded from the cache (data missing here)" if result.data_missing else ""
    line = (f"{result.name} [{result.budget}]: {len(runs)} runs, {total:.0f} s = {total / 60:.1f} min of recorded "
            f"compute; this call took {result.wall_time:.1f} s ({result.computed} run(s) computed now; cache "
            f"{result.path.name}){missing}")
    return line + compute_line(getattr(result, "compute", []))


def compute_line(records: Sequence[Mapping[str, Any]]) -> str:
    """The measured cost of computing a budget, from its compute record (one entry per ``reproduce`` / ``run``
    call that computed runs, :func:`gca_lab.experiments._core.compute_records`): the CPU-hours and wall
    time summed per number of worker processes, e.g. ``"; measured: 54 runs in 52.3 min of wall time with
    --jobs 2, 1.62 CPU-hours"``. Empty text without a record (results computed before records were kept)."""
    if not records:
        return ""
    parts = []
    for jobs in sorted({int(r.get("jobs", 1)) for r in records}):
        rs = [r for r in records if int(r.get("jobs", 1)) == jobs]
        cpu = [r["cpu_s"] for r in rs if r.get("cpu_s") is not None]
        where = " on a Dask cluster" if any(r.get("scheduler") for r in rs) else ""
        parts.append(f"{sum(int(r['runs_computed']) for r in rs)} runs in {sum(r['wall_s'] for r in rs) / 60:.1f} min "
                     f"of wall time with --jobs {jobs}{where}"
                     + (f", {sum(cpu) / 3600:.2f} CPU-hours" if cpu else ""))
    return "; measured: " + "; ".join(parts)
