"""viz.paired_effects: the paired difference to INCE with its interval, ours beside the paper's (Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from gca_lab import methods, stats, viz  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _effects() -> dict[str, stats.Claim]:
    b = {s: 78.0 + 0.3 * s for s in range(8)}
    return {
        "GCA-UOT − INCE": stats.judge("u", "+0.60", a={s: v + 0.6 + 0.2 * (s % 3) for s, v in b.items()}, b=b,
                                      paper_effect=0.6),
        "GCA-INCE − INCE": stats.judge("g", "+0.35", a={s: v - 0.1 * (s % 2) for s, v in b.items()}, b=b,
                                       paper_effect=0.35),
        "SimCLR − INCE": stats.judge("s", "", a={s: v - 1.5 for s, v in b.items()}, b=b),  # the paper's gap < 0
    }


def _visible_text(fig):
    return [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()]


def test_paired_effects_draws_ours_and_the_papers_with_intervals() -> None:
    eff = _effects()
    fig = viz.paired_effects(eff, colors={"GCA-UOT − INCE": methods.color("gca_uot")}, title="main")
    ax = fig.axes[0]
    # display size: at most 8.5 in at dpi 100 (850 px) and every text at least 9 pt
    assert fig.get_dpi() == 100 and fig.get_size_inches()[0] <= 8.5
    assert all(t.get_fontsize() >= 9 for t in _visible_text(fig))
    assert [t.get_text() for t in ax.get_yticklabels()] == list(eff)
    assert "percentage points" in ax.get_xlabel()
    assert any(list(l.get_xdata()) == [0.0, 0.0] for l in ax.get_lines())  # the zero line
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["ours (paired mean, 95% interval)", "paper (CIFAR-10)"]
    # ours: one marker at each paired mean, whiskers to the interval; the paper's markers where it reports one
    ours = [l for l in ax.get_lines() if l.get_marker() == "o"]
    assert sorted(round(float(l.get_xdata()[0]), 6) for l in ours) == sorted(round(c.mean, 6) for c in eff.values())
    paper = [l for l in ax.get_lines() if l.get_marker() == "D"]
    assert sorted(float(l.get_xdata()[0]) for l in paper) == [0.35, 0.6]
    lo, hi = ax.get_xlim()
    assert all(lo <= c.low and c.high <= hi for c in eff.values())
    fig.canvas.draw()  # renders without error
    # a negative paper difference (SimCLR below INCE on CIFAR-10) is drawn from ``paper``
    fig2 = viz.paired_effects(eff, paper={"SimCLR − INCE": 0.15 - 0.3})
    xs = sorted(float(l.get_xdata()[0]) for l in fig2.axes[0].get_lines() if l.get_marker() == "D")
    assert xs == pytest.approx([-0.15, 0.35, 0.6])


def test_paired_effects_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="effects must be a non-empty mapping"):
        viz.paired_effects({})
    with pytest.raises(TypeError, match=r"effects\['x'\] must be a gca_lab.stats.Claim"):
        viz.paired_effects({"x": (0.1, 0.2)})
    with pytest.raises(ValueError, match=r"width must be in \[3, 8.5\]"):
        viz.paired_effects(_effects(), width=12)


def test_paired_effects_text_does_not_overlap() -> None:
    fig = viz.paired_effects(_effects(), title="main")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in _visible_text(fig)]
    for i, (a, ba) in enumerate(boxes):
        for b, bb in boxes[i + 1:]:
            assert not ba.overlaps(bb), (a, b)
