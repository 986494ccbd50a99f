"""Tests for gca_lab.report: the claims table, findings, half-widths, image grids, the wall-time line."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import pytest
import torch

from gca_lab import report, stats


def _claims() -> list[stats.Claim]:
    b = {s: 10.0 for s in range(5)}
    return [
        stats.judge("a ≥ b", "+1.00 (C10)", a={s: 11.0 + 0.1 * s for s in range(5)}, b=b, paper_effect=1.0),
        stats.judge("c ≥ b", "+1.00 (C10)", a={s: 9.8 + 0.1 * s for s in range(5)}, b=b, paper_effect=1.0),
        stats.judge("slope ~ 2", "O(B^2)", holds=True, ours="slope 2.01", rule="slope in [1.7, 2.3]"),
        stats.judge("one seed", "+1", a={0: 2.0}, b={0: 1.0}, paper_effect=1.0),
    ]


def test_claims_table_has_the_template_columns_and_the_verdicts() -> None:
    df = report.claims_table(_claims())
    assert tuple(df.columns) == report.COLUMNS
    assert report.COLUMNS == ("claim", "paper effect (abs, share of error)", "ours (paired difference, 95% interval)",
                              "MDE80", "power at the paper's effect", "verdict")
    assert list(df.index) == [1, 2, 3, 4]
    assert list(df["verdict"]) == ["reproduced", "not reproduced", "reproduced", "inconclusive"]
    assert df.loc[1, "paper effect (abs, share of error)"] == "+1.00 points (paper: +1.00 (C10))"
    c = _claims()[1]
    assert df.loc[2, "MDE80"] == f"{c.mde80:.2f} points" and c.mde80 < 1
    assert df.loc[2, "power at the paper's effect"] == f"{c.power:.2f}"
    assert df.loc[3, "paper effect (abs, share of error)"] == "O(B^2)" and df.loc[3, "MDE80"] == "—"
    assert df.loc[4, "MDE80"] == "∞ (one seed)"
    assert "leave one seed out: 5 of 5 intervals stay above 0" in df.loc[1, "ours (paired difference, 95% interval)"]
    assert report.verdict_counts(_claims()) == {"reproduced": 2, "not reproduced": 1, "inconclusive": 1}


def test_claims_split_by_kind_share_of_error_and_no_valid_test() -> None:
    b = {s: 78.0 for s in range(4)}
    cs = [stats.judge("m ≥ b", "+0.60 (C10)", a={s: 78.5 + 0.1 * s for s in range(4)}, b=b, paper_effect=0.6,
                      paper_base=92.0),
          stats.judge("pretraining beats raw", "(not reported)", a={s: 80.0 + s for s in range(4)}, b=b, kind="check"),
          stats.judge("n ≥ b", "+1", a={s: 78.0 + s for s in range(4)}, b=b, paper_effect=1.0,
                      no_test="brightness does not lower accuracy")]
    paper = report.claims_table(cs, kind="paper")
    check = report.claims_table(cs, kind="check")
    assert list(paper["claim"]) == ["m ≥ b", "n ≥ b"] and list(check["claim"]) == ["pretraining beats raw"]
    assert paper.loc[1, "paper effect (abs, share of error)"].startswith("+0.60 points, 7.5% of error")
    assert "% of error)" in paper.loc[1, "ours (paired difference, 95% interval)"]
    assert paper.loc[2, "verdict"] == "no valid test here: brightness does not lower accuracy"
    md = report.findings(cs, budget="full").data
    assert "**Claims of the paper** (2): 1 × reproduced, 1 × no valid test here." in md
    assert "**Checks of the code and protocol** (1): 1 × reproduced." in md
    tables = report.claims_tables(cs)
    assert [t.caption for t in tables] == ["Claims of the paper (2: 1 × reproduced, 1 × no valid test here)",
                                           "Checks of the code and protocol (1: 1 × reproduced)"]
    assert "no valid test here: brightness does not lower accuracy" in tables[0]._repr_html_()
    plan = report.seed_plan(cs).data
    assert "m ≥ b: 4 seeds" in plan and "n ≥ b" not in plan  # no valid test: more seeds would not help
    with pytest.raises(ValueError, match="kind must be one of"):
        report.claims_table(cs, kind="claims")


def test_table_shows_full_text_wrapped() -> None:
    import pandas as pd

    long = "pretraining beats the random-init encoder (INCE, mnist1d) " * 4
    df = pd.DataFrame({"claim": [long, long + "x"], "verdict": ["reproduced", "inconclusive"]})
    t = report.table(df, caption="Claims of the paper")
    h = t._repr_html_()
    assert long.strip() in h and "..." not in h and "…" not in h
    assert "white-space: normal" in h and "<b>Claims of the paper</b>" in h
    assert long.strip() in repr(t) and "..." not in repr(t)
    full = report.table(report.claims_table(_claims()))._repr_html_()
    assert "..." not in full
    with pytest.raises(TypeError, match="df must be a pandas.DataFrame"):
        report.table([1, 2])


def test_findings_and_half_width() -> None:
    md = report.findings(_claims(), budget="full", n_seeds=5).data
    assert md.startswith("**What we found** (full budget, 5 seed(s)).")
    assert "**Claims of the paper** (4): 2 × reproduced, 1 × not reproduced, 1 × inconclusive." in md
    assert "MDE80" in md and "vs the paper's 1.00 points (power" in md
    c = _claims()
    assert report.half_width(c[1]) == pytest.approx(c[1].detectable)
    assert report.half_width(c[2]) == 0.0 and report.half_width(c[3]) == 0.0  # rule claim, one seed
    assert report.half_width({"low": 1.0, "high": 3.0}) == 1.0
    d = stats.paired_difference([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    assert report.half_width(d) == pytest.approx(d.half_width)
    assert report.fmt_pm([1.0, 3.0]) == "2.00 ± 1.41 (n=2)" and report.fmt_pm([]) == "n/a"


def test_table_rejects_rows_that_are_not_claims() -> None:
    with pytest.raises(TypeError, match=r"claims\[0\] must be a gca_lab.stats.Claim"):
        report.claims_table([{"claim": "x", "verdict": "reproduced"}])


def test_image_grid_draws_images_and_signals() -> None:
    fig = report.image_grid({"clean": torch.rand(4, 1, 8, 8), "rgb": torch.rand(3, 3, 8, 8)}, columns=list("abcd"),
                            title="t")
    axes = fig.axes
    assert len(axes) == 8 and len(axes[0].images) == 1 and not axes[7].axison  # row 2 has 3 images, cell 4 hidden
    sig = report.image_grid({"signal": torch.randn(5, 1, 40), "flat": torch.randn(5, 40)})
    assert len(sig.axes) == 10 and len(sig.axes[0].lines) == 1
    with pytest.raises(ValueError, match="rows must be a non-empty mapping"):
        report.image_grid({})
    with pytest.raises(ValueError, match=r"rows\['bad'\] must have shape"):
        report.image_grid({"bad": torch.rand(4)})


def test_wall_time_line() -> None:
    res = SimpleNamespace(name="main_results", budget="full", results={"a": {"wall_time": 60.0}, "b": {"wall_time": 30.0}},
                          wall_time=0.5, computed=0, path=Path("x/main_results-full.json"), data_missing={"a": "why"})
    line = report.wall_time_line(res)
    assert line.startswith("main_results [full]: 2 runs, 90 s = 1.5 min of recorded compute")
    assert "0 run(s) computed now" in line and "1 run(s) loaded from the cache" in line


def test_image_grid_signal_panels_share_one_y_range() -> None:
    base = torch.sin(torch.linspace(0, 6, 40)).reshape(1, 1, 40).repeat(2, 1, 1)
    fig = report.image_grid({"clean": base, "offset": base + 3.0})
    lims = {ax.get_ylim() for ax in fig.axes if ax.lines}
    assert len(lims) == 1  # an offset shows as a shift, not as an identical-looking curve
    lo, hi = lims.pop()
    assert lo < -0.9 and hi > 3.9


def test_scale_note_computes_its_numbers() -> None:
    b = {s: 78.0 + 0.1 * s for s in range(4)}
    c = stats.judge("GCA-UOT ≥ INCE", "+0.60", a={s: v + 0.5 for s, v in b.items()}, b=b, paper_effect=0.6,
                    paper_base=92.0)
    note = report.scale_note(c)
    assert "+0.60 points at 92.0% accuracy remove 7.5% of the error" in note
    assert f"at our {sum(b.values()) / 4:.1f}% the same share would be {0.075 * (100 - sum(b.values()) / 4):.2f} points" in note
    with pytest.raises(ValueError, match="paper_base"):
        report.scale_note(_claims()[0])


def test_committed_verdicts_follow_the_rules() -> None:
    """Every committed claim obeys the verdict rules of issue 18: no "not reproduced" with MDE80 above the
    paper's effect or an interval that still holds it; every reproduced main claim survives Holm."""
    from gca_lab import experiments as E

    seen = 0
    for name in E.EXPERIMENTS:
        for c in E.load(name, "full").summary["claims"]:
            seen += 1
            assert c.kind in stats.KINDS
            if c.verdict == "not reproduced" and c.paired:
                assert c.mde80 <= c.paper_effect and c.high < c.paper_effect, c.claim
            if c.verdict == "reproduced" and c.main:
                assert c.p_holm < 0.05 and c.low > 0, c.claim
            if c.verdict == stats.NO_TEST:
                assert c.rule, c.claim
            if c.paired and c.n >= 2:
                assert c.mde80 > c.detectable  # MDE80 is always above the half-width
    assert seen > 50


def test_image_grid_fits_the_cell_with_legible_unoverlapping_labels() -> None:
    from gca_lab import viz

    viz.setup_notebook()
    titles = [f"#{i} false: view of #{i + 3}" if i % 2 else f"#{i} clean" for i in range(8)]
    fig = report.image_grid({"signal": torch.randn(8, 1, 40), "view 1": torch.randn(8, 40),
                             "view 2": torch.randn(8, 40)}, columns=titles, cell=1.1, title="eight pairs")
    assert fig.get_size_inches()[0] <= viz.FIG_WIDTH_IN + 1e-9  # wider cells shrink instead of the figure
    assert viz.figure_problems(fig) == []
    assert min(t.get_fontsize() for ax in fig.axes for t in (ax.title, ax.yaxis.label) if t.get_text()) >= viz.MIN_FONT_PT
    many = {name: torch.rand(6, 1, 8, 8) for name in ("clean", "large_erase", "strong_crop", "gaussian_noise")}
    assert viz.figure_problems(report.image_grid(many)) == []
    with pytest.raises(ValueError, match="cell must be a positive size"):
        report.image_grid(many, cell=0)
