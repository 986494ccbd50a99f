"""Tests for gca_lab.stats: mean and std, paired differences by seed, verdicts, Spearman, log-log slopes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gca_lab import stats as S


def test_mean_std():
    assert S.mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert S.mean_std([5]) == (5.0, 0.0)
    assert S.mean_std(torch.tensor([1.0, 3.0])) == (2.0, pytest.approx(math.sqrt(2)))
    with pytest.raises(ValueError, match="values must not be empty"):
        S.mean_std([])
    with pytest.raises(ValueError, match=r"values\[1\] must be finite"):
        S.mean_std([1.0, float("nan")])


def test_paired_difference_and_verdict():
    # Differences 1, 2, 3, 4, 5: mean 3, sd sqrt(2.5), half width t_{0.975,4} sd / sqrt(5), t = 2.7764.
    a = [11.0, 12.0, 13.0, 14.0, 15.0]
    b = [10.0] * 5
    d = S.paired_difference(a, b)
    half = 2.7764451 * math.sqrt(2.5) / math.sqrt(5)
    assert (d.mean, d.n, d.seeds) == (3.0, 5, ())
    assert d.std == pytest.approx(math.sqrt(2.5))
    assert d.low == pytest.approx(3 - half, abs=1e-6) and d.high == pytest.approx(3 + half, abs=1e-6)
    assert S.detectable_effect(d) == pytest.approx(half, abs=1e-6) == d.half_width
    assert d.half_width < 3.0 and S.verdict(d, paper_effect=1.0) == "reproduced"
    one = S.paired_difference([2.0], [1.0])
    assert one.low == -math.inf and one.high == math.inf
    assert S.verdict(one, 5.0) == "inconclusive"  # one seed: no interval, whatever the mean
    assert S.detectable_effect(one) == math.inf
    assert set(S.VERDICTS) == {"reproduced", "not reproduced", "contradicted", "inconclusive", "no valid test here"}


def test_verdict_four_outcomes():
    b = {s: 10.0 for s in range(5)}
    up = S.judge("a ≥ b", "+1", a={s: 11.0 + 0.1 * s for s in range(5)}, b=b, paper_effect=1.0)
    down = S.judge("a ≥ b", "+1", a={s: 9.0 + 0.1 * s for s in range(5)}, b=b, paper_effect=1.0)
    # differences -0.2 .. +0.2: interval about ±0.2, narrower than the paper's 1 point -> not reproduced
    narrow = S.judge("a ≥ b", "+1", a={s: 9.8 + 0.1 * s for s in range(5)}, b=b, paper_effect=1.0)
    # differences -3 .. +3: interval far wider than the paper's effect -> inconclusive
    wide = S.judge("a ≥ b", "+1", a={0: 7.0, 1: 13.0, 2: 10.0, 3: 8.0, 4: 12.0}, b=b, paper_effect=1.0)
    assert (up.verdict, down.verdict, narrow.verdict, wide.verdict) == (
        "reproduced", "contradicted", "not reproduced", "inconclusive")
    assert up.low > 0 and down.high < 0
    assert narrow.low < 0 < narrow.high and narrow.detectable <= 1.0
    assert wide.low < 0 < wide.high and wide.detectable > 1.0
    assert narrow.detectable == pytest.approx((narrow.high - narrow.low) / 2)
    # the same narrow interval without a paper effect cannot be weighed: inconclusive
    assert S.judge("a ≥ b", "(not reported)", a={s: 9.8 + 0.1 * s for s in range(5)}, b=b).verdict == "inconclusive"


def test_negative_mean_containing_zero_is_not_by_itself_not_reproduced():
    b = {s: 10.0 for s in range(4)}
    c = S.judge("a ≥ b", "+0.5", a={0: 9.0, 1: 11.5, 2: 8.5, 3: 10.6}, b=b, paper_effect=0.5)
    assert c.mean < 0 < c.high and c.detectable > 0.5
    assert c.verdict == "inconclusive"


def test_judge_pairs_by_seed_when_one_seed_is_missing():
    # b lacks seed 1; pairing by position would give +10 for every pair, by seed the difference is 0.
    a = {0: 10.0, 1: 20.0, 2: 30.0}
    b = {0: 10.0, 2: 30.0}
    c = S.judge("a ≥ b", "+1", a=a, b=b, paper_effect=1.0)
    assert c.n == 2 and c.mean == 0.0 and c.low == 0.0 == c.high
    assert c.detectable == 0.0 and c.verdict == "not reproduced"
    assert c.ours == "+0.00 [+0.00, +0.00] (n=2)"
    # no common seed: nothing to compare
    none = S.judge("a ≥ b", "+1", a={0: 1.0}, b={1: 1.0}, paper_effect=1.0)
    assert (none.ours, none.verdict, none.n) == ("not run", "inconclusive", None)


def test_rule_claims():
    ok = S.judge("slope in [1.7, 2.3]", "O(B^2)", holds=True, ours="slope 2.0", rule="slope in [1.7, 2.3]")
    no = S.judge("ρ ≥ 0.8", "ρ = 0.9", holds=False, ours="ρ = 0.1", rule="ρ ≥ 0.8")
    opp = S.judge("ρ ≥ 0.8", "ρ = 0.9", holds=False, opposite=True, ours="ρ = -0.9", rule="ρ ≥ 0.8, ≤ -0.8 contradicted")
    na = S.judge("ρ ≥ 0.8", "ρ = 0.9", holds=None, ours="ρ undefined", rule="ρ ≥ 0.8")
    assert [c.verdict for c in (ok, no, opp, na)] == ["reproduced", "not reproduced", "contradicted", "inconclusive"]
    assert ok.detectable is None and ok.mean is None
    assert ok["verdict"] == "reproduced" and ok.get("missing", 1) == 1  # readable as a table row
    with pytest.raises(KeyError):
        ok["nope"]


def test_judge_rejects_bad_input():
    b = {0: 1.0, 1: 2.0}
    with pytest.raises(ValueError, match="paper_effect must be a finite number > 0"):
        S.judge("c", "p", a=b, b=b, paper_effect=-0.5)
    with pytest.raises(ValueError, match="paper_effect must be a finite number > 0"):
        S.judge("c", "p", a=b, b=b, paper_effect=float("nan"))
    with pytest.raises(TypeError, match="paper_effect must be a real number"):
        S.judge("c", "p", a=b, b=b, paper_effect="0.5")
    with pytest.raises(ValueError, match="not both"):
        S.judge("c", "p", a=b, b=b, holds=True)
    with pytest.raises(ValueError, match="needs a and b"):
        S.judge("c", "p")
    with pytest.raises(ValueError, match="an ordering claim needs both a and b"):
        S.judge("c", "p", a=b)
    with pytest.raises(TypeError, match="holds must be True, False or None"):
        S.judge("c", "p", holds=1, ours="x", rule="r")
    with pytest.raises(ValueError, match=r"a\[0\] must be finite"):
        S.judge("c", "p", a={0: float("nan"), 1: 1.0}, b=b)
    with pytest.raises(TypeError, match="claim must be a non-empty string"):
        S.judge("", "p", a=b, b=b)
    with pytest.raises(TypeError, match="diff must be a PairedDiff"):
        S.verdict((0.1, 0.2), 1.0)


def test_paired_difference_pairs_by_seed_not_by_position():
    # Seed 1 of a is missing: pairing by position would compare a's seed 2 with b's seed 1.
    a = {0: 10.0, 2: 30.0, 3: 40.0}
    b = {3: 39.0, 0: 9.0, 1: 100.0, 2: 29.0}
    d = S.paired_difference(a, b)
    assert d.seeds == (0, 2, 3) and d.n == 3
    assert d.mean == pytest.approx(1.0) and d.std == pytest.approx(0.0)
    positional = S.paired_difference([10.0, 30.0, 40.0], [9.0, 100.0, 29.0])
    assert positional.mean != pytest.approx(1.0)
    with pytest.raises(ValueError, match="share no seed"):
        S.paired_difference({0: 1.0}, {1: 1.0})
    with pytest.raises(TypeError, match="both be"):
        S.paired_difference({0: 1.0}, [1.0])


def test_paired_difference_bad_inputs():
    with pytest.raises(ValueError, match="same length"):
        S.paired_difference([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="a must not be empty"):
        S.paired_difference([], [])
    with pytest.raises(ValueError, match="confidence"):
        S.paired_difference([1.0, 2.0], [1.0, 2.0], confidence=1.0)
    with pytest.raises(TypeError, match=r"b\[0\]"):
        S.paired_difference([1.0], ["x"])
    with pytest.raises(ValueError, match=r"a\[0\] must be finite"):
        S.paired_difference({0: math.nan}, {0: 1.0})
    with pytest.raises(TypeError, match="diff"):
        S.verdict([0.0, 1.0], 1.0)
    with pytest.raises(TypeError, match="PairedDiff"):
        S.detectable_effect((0.0, 1.0))


def test_spearman_matches_ranks_and_handles_ties_and_missing():
    assert S.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert S.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # Monotone but non-linear: rank correlation is exactly 1.
    assert S.spearman([1, 2, 3, 4, 5], [1, 8, 27, 64, 1000]) == pytest.approx(1.0)
    # Ties get average ranks: ranks x = (1, 2.5, 2.5, 4), y = (1, 2, 3, 4); Pearson of ranks.
    rx, ry = np.array([1, 2.5, 2.5, 4]), np.array([1, 2, 3, 4])
    assert S.spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(np.corrcoef(rx, ry)[0, 1])
    # A missing (NaN) value drops its pair.
    assert S.spearman([1, 2, math.nan, 3, 4], [1, 2, 0, 3, 4]) == pytest.approx(1.0)
    assert math.isnan(S.spearman([1, 2], [2, 1]))  # too few pairs to rank
    assert math.isnan(S.spearman([1, 1, 1], [1, 2, 3]))  # constant: no ranks
    with pytest.raises(ValueError, match="same length"):
        S.spearman([1, 2, 3], [1, 2])


def test_loglog_slope_recovers_power_laws():
    x = [64, 128, 256, 512]
    assert S.loglog_slope(x, [3e-6 * v**2 for v in x])[0] == pytest.approx(2.0, abs=1e-9)
    slope, c = S.loglog_slope(x, [5.0 * v for v in x])
    assert slope == pytest.approx(1.0, abs=1e-9) and c == pytest.approx(math.log(5.0), abs=1e-9)
    # Missing timings (nan) and non-positive values are left out.
    assert S.loglog_slope([1, 2, 4, 8], [1, 4, math.nan, 0.0])[0] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="at least two"):
        S.loglog_slope([1.0], [1.0])
    with pytest.raises(ValueError, match="at least two"):
        S.loglog_slope([2.0, 2.0], [1.0, 3.0])


# --- power, MDE80, Holm, leave-one-seed-out ---------------------------------------------------------------

def _power_by_simulation(effect: float, n: int, sd: float, reps: int = 40000, seed: int = 0) -> float:
    """Rejection rate of scipy's own paired t-test on simulated normal differences: an oracle that never
    touches the noncentral t distribution."""
    from scipy.stats import ttest_1samp

    rng = np.random.default_rng(seed)
    d = rng.normal(effect, sd, size=(reps, n))
    return float(np.mean(ttest_1samp(d, 0.0, axis=1).pvalue < 0.05))


@pytest.mark.parametrize("n", [3, 8])
def test_power_matches_simulation_and_mde80_has_80_percent_power(n: int) -> None:
    sd = 1.3
    m = S.mde(n, sd)
    assert S.power(m, n, sd) == pytest.approx(0.8, abs=1e-8)
    # Monte Carlo standard error at 40,000 draws is about 0.002
    assert _power_by_simulation(m, n, sd) == pytest.approx(0.8, abs=0.01)
    assert _power_by_simulation(0.5 * m, n, sd) == pytest.approx(S.power(0.5 * m, n, sd), abs=0.01)
    assert S.power(0.0, n, sd) == pytest.approx(0.05, abs=1e-12)  # no effect: the test's level


def test_mde80_against_scipy_nct_and_the_half_width() -> None:
    from scipy.stats import nct
    from scipy.stats import t as student_t

    for n, sd in ((3, 1.0), (8, 0.75), (20, 2.0)):
        m = S.mde(n, sd)
        tc = student_t.ppf(0.975, n - 1)
        nc = m * math.sqrt(n) / sd
        assert nct.sf(tc, n - 1, nc) + nct.cdf(-tc, n - 1, nc) == pytest.approx(0.8, abs=1e-8)
    # the ratios to the interval's half-width the issue quotes: 1.38 at 8 seeds, 1.31 at 3
    half = lambda n: student_t.ppf(0.975, n - 1) / math.sqrt(n)  # noqa: E731
    assert S.mde(8, 1.0) / half(8) == pytest.approx(1.38, abs=0.005)
    assert S.mde(3, 1.0) / half(3) == pytest.approx(1.31, abs=0.005)
    assert S.mde(1, 1.0) == math.inf and S.mde(5, 0.0) == 0.0 and S.power(1.0, 1, 1.0) == 0.0
    with pytest.raises(ValueError, match="sd must be in"):
        S.mde(5, -1.0)
    with pytest.raises(ValueError, match="n must be >= 1"):
        S.power(1.0, 0, 1.0)


def test_seeds_needed_is_the_first_n_with_mde_below_the_effect() -> None:
    n = S.seeds_needed(0.6, 1.0)
    assert S.mde(n, 1.0) <= 0.6 < S.mde(n - 1, 1.0)
    assert S.seeds_needed(0.6, 0.0) == 2 and S.seeds_needed(1e-3, 1.0, max_n=50) is None
    with pytest.raises(ValueError, match="effect must be in"):
        S.seeds_needed(0.0, 1.0)


def test_holm_textbook_examples() -> None:
    # Holm (1979) step-down: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> monotone 0.06
    assert S.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # the example: GCA-UOT - INCE p = 0.048 is the smallest of three main claims -> 0.144
    assert S.holm([0.048, 0.13, 0.7]) == pytest.approx([0.144, 0.26, 0.7])
    assert S.holm([0.9, 0.8]) == [1.0, 1.0]  # 2 x 0.8 capped at 1, and monotone
    with pytest.raises(ValueError, match=r"p_values\[0\] must be in \[0, 1\]"):
        S.holm([1.5])


def test_p_value_matches_scipy_ttest() -> None:
    from scipy.stats import ttest_rel

    a, b = [1.0, 2.5, 0.3, 1.7, 2.2], [0.5, 1.0, 0.9, 0.1, 1.0]
    assert S.p_value(S.paired_difference(a, b)) == pytest.approx(ttest_rel(a, b).pvalue, rel=1e-10)


def test_verdict_rules_with_mde80_and_holm() -> None:
    b = {s: 10.0 for s in range(8)}
    # interval contains 0 and its upper bound is below the paper's effect, but MDE80 is above it: inconclusive
    diffs = [0.3, -0.5, 0.6, -0.2, 0.1, 0.4, -0.4, 0.05]
    c = S.judge("a ≥ b", "+", a={s: 10 + d for s, d in enumerate(diffs)}, b=b, paper_effect=0.42)
    assert c.low < 0 < c.high < 0.42 < c.mde80
    assert c.verdict == "inconclusive" and c.power < 0.8
    assert c.seeds_for_mde is not None and c.seeds_for_mde > 8
    bigger = S.judge("a ≥ b", "+", a={s: 10 + d for s, d in enumerate(diffs)}, b=b, paper_effect=c.mde80 + 0.01)
    assert bigger.verdict == "not reproduced" and bigger.power > 0.8
    # an interval that still holds the paper's effect is never "not reproduced"
    wide = S.judge("a ≥ b", "+", a={s: 10 + 3 * d for s, d in enumerate(diffs)}, b=b, paper_effect=1.0)
    assert wide.low < 0 < 1.0 < wide.high and wide.verdict == "inconclusive"
    # Holm: a main claim with p = 0.048 among three main claims is not reproduced after adjustment
    rng = np.random.default_rng(1)
    base = {s: 70.0 for s in range(8)}
    d = rng.normal(0, 1, 8)
    d = d - d.mean() + 0.63  # mean 0.63
    up = S.judge("u", "+", a={s: 70 + x for s, x in enumerate(d)}, b=base, paper_effect=0.6, main=True)
    other = S.judge("o", "+", a={s: 70 + x - 0.5 for s, x in enumerate(d)}, b=base, paper_effect=0.35, main=True)
    check = S.judge("chk", "-", a={s: 80.0 + 0.1 * s for s in range(8)}, b=base, kind="check")
    adj = S.holm_adjust([up, other, check])
    assert up.p < 0.05 and up.verdict == "reproduced"
    assert adj[0].p_holm == pytest.approx(min(1.0, 2 * up.p)) and adj[0].verdict != "reproduced"
    assert adj[2] is check  # not a main claim: untouched
    assert S.holm_adjust([up])[0].verdict == "reproduced"  # a family of one: p_holm = p


def test_leave_one_seed_out_and_share_of_error() -> None:
    b = {s: 78.0 for s in range(6)}
    a = {0: 78.1, 1: 78.2, 2: 78.15, 3: 78.12, 4: 78.18, 5: 78.14}  # every seed agrees
    assert S.leave_one_out(a, b) == (6, 6)
    # one far seed widens every interval that keeps it: only the one without it stays above 0
    carried = {**a, 5: 80.0}
    assert S.leave_one_out(carried, b) == (1, 6)
    fragile = {0: 77.9, 1: 78.6, 2: 78.4, 3: 78.5, 4: 78.7, 5: 78.3}
    k, n = S.leave_one_out(fragile, b)
    # by hand: drop each seed and recompute the interval
    kk = sum(S.paired_difference([fragile[s] for s in range(6) if s != i], [78.0] * 5).low > 0 for i in range(6))
    assert (k, n) == (kk, 6)
    with pytest.raises(ValueError, match="at least 3"):
        S.leave_one_out({0: 1.0, 1: 2.0}, {0: 0.0, 1: 0.0})
    c = S.judge("a ≥ b", "+0.60", a=a, b=b, paper_effect=0.6, paper_base=92.0)
    assert c.paper_share == pytest.approx(0.6 / 8.0) and c.ours_share == pytest.approx(c.mean / 22.0)
    assert c.loso == (6, 6)


def test_no_valid_test_keeps_the_numbers_and_gives_the_reason() -> None:
    b = {s: 10.0 for s in range(4)}
    c = S.judge("a ≥ b", "+1", a={s: 12.0 + 0.1 * s for s in range(4)}, b=b, paper_effect=1.0,
                no_test="pretraining stays below raw pixels")
    assert c.verdict == S.NO_TEST and c.rule == "pretraining stays below raw pixels" and c.low > 0
    r = S.judge("slope", "O(B^2)", holds=False, ours="0.9", rule="slope in [1.7, 2.3]", no_test="overhead dominates")
    assert (r.verdict, r.rule) == (S.NO_TEST, "overhead dominates")
    with pytest.raises(ValueError, match="kind must be one of"):
        S.judge("x", "p", holds=True, ours="o", rule="r", kind="claim")
