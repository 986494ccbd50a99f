"""Tests for ``gca_lab.targets``: the target plans (arXiv 2502.20141: the GCA objective's target; the
domain prior of Sec. 6.2) and their use as loss targets."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gca_lab import targets
from gca_lab.losses import GCAInfoNCE

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")


def test_pairs_and_joint_pairs():
    assert torch.equal(targets.pairs(4), torch.eye(4))
    j = targets.joint_pairs(3, dtype=F64)
    assert j.shape == (6, 6) and j.dtype == F64
    want = torch.zeros(6, 6, dtype=F64)
    for i in range(3):
        want[i, i + 3] = want[i + 3, i] = 1.0  # view 1 of sample i <-> view 2 of sample i
    assert torch.equal(j, want)
    with pytest.raises(ValueError, match="n"):
        targets.pairs(0)
    with pytest.raises(TypeError, match="n"):
        targets.joint_pairs(2.0)


def test_domain_prior_block_matrix():
    """T = I + alpha 1(same domain, i != j) + beta 1(other domain, i != j) (arXiv 2502.20141, Sec. 6.2, Fig. 1A)."""
    d = torch.tensor([0, 0, 1, 1, 1, 2])
    a, b = 0.5, 0.1
    got = targets.domain_prior(d, a, b, dtype=F64)
    want = torch.tensor(
        [
            [1, a, b, b, b, b],
            [a, 1, b, b, b, b],
            [b, b, 1, a, a, b],
            [b, b, a, 1, a, b],
            [b, b, a, a, 1, b],
            [b, b, b, b, b, 1],
        ],
        dtype=F64,
    )
    assert torch.equal(got, want)
    assert torch.equal(targets.domain_prior(d, 0.0, 0.0), torch.eye(6))  # alpha = beta = 0: pairs
    # row-normalized, row i puts 1 / (1 + alpha (n_same - 1) + beta n_other) on the positive
    norm = targets.normalize_rows(got)
    assert torch.allclose(norm[0, 0], torch.tensor(1 / (1 + a * 1 + b * 4), dtype=F64))
    assert torch.allclose(norm[2, 2], torch.tensor(1 / (1 + a * 2 + b * 3), dtype=F64))


def test_domain_prior_joint_layout():
    d = torch.tensor([0, 1, 1])
    a, b = 0.3, 0.05
    cross = targets.domain_prior(d, a, b, dtype=F64)
    joint = targets.domain_prior(d, a, b, layout="joint", dtype=F64)
    n = 3
    assert joint.shape == (2 * n, 2 * n)
    assert torch.all(joint.diag() == 0)  # self-pairs excluded
    for i in range(2 * n):
        assert joint[i, (i + n) % (2 * n)] == 1.0  # the partner view is the positive
    # every view block carries the sample-level prior (off the self-pair diagonal)
    off = ~torch.eye(n, dtype=torch.bool)
    for bi in range(2):
        for bj in range(2):
            block = joint[bi * n:(bi + 1) * n, bj * n:(bj + 1) * n]
            assert torch.equal(block[off], cross[off])
    assert torch.equal(joint[:n, n:].diag(), torch.ones(n, dtype=F64))


def test_domain_prior_validation():
    d = torch.tensor([0, 1])
    with pytest.raises(ValueError, match="alpha"):
        targets.domain_prior(d, -0.1, 0.0)
    with pytest.raises(ValueError, match="beta"):
        targets.domain_prior(d, 0.1, -1.0)
    with pytest.raises(TypeError, match="domains"):
        targets.domain_prior(torch.tensor([0.0, 1.0]), 0.1, 0.1)
    with pytest.raises(ValueError, match="domains"):
        targets.domain_prior(torch.tensor([[0, 1]]), 0.1, 0.1)
    with pytest.raises(ValueError, match="layout"):
        targets.domain_prior(d, 0.1, 0.1, layout="block")


def test_class_prior():
    y = torch.tensor([2, 0, 2, 1])
    cross = targets.class_prior(y)
    assert torch.equal(cross, (y[:, None] == y[None, :]).float())
    joint = targets.class_prior(y, layout="joint")
    assert joint.shape == (8, 8) and torch.all(joint.diag() == 0)
    assert joint[0, 2] == joint[0, 6] == joint[0, 4] == 1 and joint[0, 1] == 0
    with pytest.raises(TypeError, match="labels"):
        targets.class_prior(torch.tensor([0.5, 1.0]))
    with pytest.raises(ValueError, match="labels"):
        targets.class_prior(torch.tensor([], dtype=torch.long))


def test_expand_joint_and_normalize_rows():
    c = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    j = targets.expand_joint(c)
    assert torch.equal(j, torch.tensor([[0.0, 2, 1, 2], [3, 0, 3, 4], [1, 2, 0, 2], [3, 4, 3, 0]]))
    with pytest.raises(ValueError, match="square"):
        targets.expand_joint(torch.ones(2, 3))
    n = targets.normalize_rows(c, torch.tensor([1.0, 2.0]))
    assert torch.allclose(n.sum(1), torch.tensor([1.0, 2.0]))
    assert torch.allclose(n[1], torch.tensor([3.0, 4.0]) / 7 * 2)
    with pytest.raises(ValueError, match="zero mass"):
        targets.normalize_rows(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="nonnegative"):
        targets.normalize_rows(torch.tensor([[1.0, -1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="finite"):
        targets.normalize_rows(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]))


def _same_class_cosine(z: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean cosine over distinct samples of one class, over both views."""
    zn = F.normalize(z, dim=1)
    y = torch.cat([labels, labels])
    same = (y[:, None] == y[None, :]) & ~torch.eye(len(y), dtype=torch.bool)
    n = len(labels)
    same[torch.arange(n), torch.arange(n) + n] = False  # exclude the two views of one sample
    same[torch.arange(n) + n, torch.arange(n)] = False
    return (zn @ zn.T)[same].mean().item()


def _train(target: torch.Tensor | None, labels: torch.Tensor, steps: int = 300) -> float:
    torch.manual_seed(0)
    n, d = len(labels), 16
    z1 = nn.Parameter(torch.randn(n, d))
    z2 = nn.Parameter(z1.detach() + 0.1 * torch.randn(n, d))
    opt = torch.optim.Adam([z1, z2], lr=0.05)
    loss_fn = GCAInfoNCE(eps=0.5, n_iters=5)
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(z1, z2, target).backward()
        opt.step()
    return _same_class_cosine(torch.cat([z1, z2]).detach(), labels)


def test_class_prior_pulls_same_class_together():
    """Free embeddings (2 views of 4 classes x 8 samples): the class prior clusters the classes."""
    labels = torch.arange(4).repeat_interleave(8)
    with_prior = _train(targets.class_prior(labels), labels)
    with_identity = _train(None, labels)
    assert with_prior > 0.8, with_prior
    assert with_prior > with_identity + 0.5, (with_prior, with_identity)


def test_domain_mass_prior_pulls_same_domain_together():
    """Free embeddings (2 views of 4 domains x 8 samples) under GCA-INCE: half of each row's mass on the other
    samples of its domain (:func:`gca_lab.targets.domain_prior_mass`) clusters the domains."""
    domains = torch.arange(4).repeat(8)
    with_prior = _train(targets.domain_prior_mass(domains, 0.5, 0.0), domains)
    with_identity = _train(None, domains)
    assert with_prior > with_identity + 0.3, (with_prior, with_identity)
