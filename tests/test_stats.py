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
    assert S.verdict(d) == "reproduced"
    # Differences -1, 0, 1, 2, 3: mean 1, interval contains 0.
    d2 = S.paired_difference([9.0, 10.0, 11.0, 12.0, 13.0], b)
    assert d2.low < 0 < d2.high and S.verdict(d2) == "consistent"
    # Mean below 0 -> not reproduced, whatever the interval.
    d3 = S.paired_difference([9.0, 10.0, 10.0, 10.5, 10.0], b)
    assert d3.mean < 0 < d3.high and S.verdict(d3) == "not reproduced"
    assert S.verdict((0.5, 1.5)) == "reproduced"
    assert S.verdict((-1.0, 0.5)) == "not reproduced"
    assert S.verdict((-0.5, 1.0)) == "consistent"
    one = S.paired_difference([2.0], [1.0])
    assert one.low == -math.inf and one.high == math.inf and S.verdict(one) == "consistent"
    assert S.detectable_effect(one) == math.inf
    assert set(S.VERDICTS) == {"reproduced", "consistent", "not reproduced"}


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
    with pytest.raises(ValueError, match="low <= high"):
        S.verdict((1.0, 0.0))
    with pytest.raises(TypeError, match="diff"):
        S.verdict([0.0, 1.0])
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
