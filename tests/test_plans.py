"""Tests for gca_lab.plans: block ratio by class and marginal errors of transport plans."""

from __future__ import annotations

import math

import pytest
import torch

from gca_lab import plans as M


# ----------------------------------------------------------------------------- plan diagnostics


def test_plan_block_ratio():
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    same = labels[:, None] == labels[None, :]
    block = torch.where(same, 1.0, 0.01) / 6
    assert M.plan_block_ratio(block, labels) == pytest.approx(100.0)
    assert M.plan_block_ratio(torch.full((6, 6), 1 / 36), labels) == pytest.approx(1.0)
    assert M.plan_block_ratio(torch.where(same, 1.0, 0.0), labels) == math.inf
    # The diagonal (positives) is excluded by default: a pure identity plan shows no block structure.
    ident = torch.eye(6) + 0.1
    assert M.plan_block_ratio(ident, labels) == pytest.approx(1.0)
    assert M.plan_block_ratio(ident, labels, exclude_diagonal=False) > 1
    # Batched and rectangular.
    assert M.plan_block_ratio(block.expand(3, 6, 6), labels) == pytest.approx(100.0)
    rect = torch.tensor([[1.0, 0.2], [0.2, 1.0], [1.0, 0.2]])
    r = M.plan_block_ratio(rect, row_labels=torch.tensor([0, 1, 0]), col_labels=torch.tensor([0, 1]))
    assert r == pytest.approx(5.0)


def test_plan_block_ratio_bad_inputs():
    labels = torch.tensor([0, 1])
    with pytest.raises(ValueError, match="plan must be nonnegative"):
        M.plan_block_ratio(-torch.ones(2, 2), labels)
    with pytest.raises(ValueError, match="plan must be finite"):
        M.plan_block_ratio(torch.full((2, 2), float("nan")), labels)
    with pytest.raises(ValueError, match="labels must have length"):
        M.plan_block_ratio(torch.ones(2, 2), torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match="no same-class"):
        M.plan_block_ratio(torch.ones(2, 2), labels)
    with pytest.raises(ValueError, match="no different-class"):
        M.plan_block_ratio(torch.ones(2, 2), torch.tensor([1, 1]))
    with pytest.raises(ValueError, match="labels"):
        M.plan_block_ratio(torch.ones(2, 2))


def test_marginal_errors():
    p = torch.full((3, 4), 1 / 12)
    a, b = torch.full((3,), 1 / 3), torch.full((4,), 1 / 4)
    row, col = M.marginal_errors(p, a, b)
    assert row == pytest.approx(0.0, abs=1e-6) and col == pytest.approx(0.0, abs=1e-6)  # float32 sums
    q = p.clone()
    q[0, 0] += 0.1
    row, col = M.marginal_errors(torch.stack([p, q]), a, b)  # worst of the batch
    assert row == pytest.approx(0.1) and col == pytest.approx(0.1)
    with pytest.raises(ValueError, match="a must have 3 entries"):
        M.marginal_errors(p, b, b)
    with pytest.raises(ValueError, match="b must have 4 entries"):
        M.marginal_errors(p, a, a)
