"""Tests for ``gca_lab.targets.domain_prior_mass`` (arXiv 2502.20141, Sec. 6.2: the domain prior at fixed
row-mass fractions, issue 18 item 6) and its route through ``TrainConfig`` (``target_prior="domain_mass"``)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from gca_lab import targets
from gca_lab.losses import GCAInfoNCE
from gca_lab.train import TrainConfig, config_hash, protocol, result_fields, weights_key
from gca_lab.train.components import prior_target_fn

F64 = torch.float64

pytestmark = pytest.mark.usefixtures("one_thread")


def _balanced(n_domains: int, per_domain: int) -> torch.Tensor:
    return torch.arange(n_domains).repeat(per_domain)  # interleaved, as a shuffled batch would be


def test_rows_give_the_stated_masses() -> None:
    d = torch.tensor([0, 0, 1, 1, 1, 2])
    same, other = 0.3, 0.2
    t = targets.domain_prior_mass(d, same, other, dtype=F64)
    assert t.shape == (6, 6) and t.dtype == F64
    assert torch.allclose(t.sum(1), torch.ones(6, dtype=F64), atol=1e-15, rtol=0)
    assert torch.allclose(t.diag(), torch.tensor([0.5] * 5 + [0.8], dtype=F64), atol=1e-15, rtol=0)
    eq = d[:, None] == d[None, :]
    off = ~torch.eye(6, dtype=torch.bool)
    for i in range(6):
        same_mass, other_mass = t[i][eq[i] & off[i]].sum(), t[i][~eq[i]].sum()
        # sample 5 is alone in its domain: its `same` goes to the positive
        assert same_mass.item() == pytest.approx(same if i < 5 else 0.0, abs=1e-15)
        assert other_mass.item() == pytest.approx(other, abs=1e-15)
        # spread equally within each block
        assert torch.unique(t[i][eq[i] & off[i]]).numel() <= 1 and torch.unique(t[i][~eq[i]]).numel() == 1
    assert t[0, 1] == pytest.approx(0.3) and t[2, 3] == pytest.approx(0.15) and t[2, 0] == pytest.approx(0.2 / 3)


def test_zero_masses_and_one_domain_are_pairs() -> None:
    d = torch.tensor([3, 1, 3, 0])
    assert torch.equal(targets.domain_prior_mass(d, 0.0, 0.0), targets.pairs(4))
    one = targets.domain_prior_mass(torch.zeros(5, dtype=torch.long), 0.0, 0.4, dtype=F64)
    assert torch.equal(one, torch.eye(5, dtype=F64))  # no other-domain sample: `other` stays on the positive
    alone = targets.domain_prior_mass(torch.arange(4), 0.4, 0.0, dtype=F64)
    assert torch.equal(alone, torch.eye(4, dtype=F64))  # no same-domain partner: `same` stays on the positive


@pytest.mark.parametrize("same, other", [(0.3, 0.0), (0.0, 0.2), (0.25, 0.15)])
@pytest.mark.parametrize("layout", ["cross", "joint"])
def test_equals_the_row_normalized_alpha_beta_prior(same: float, other: float, layout: str) -> None:
    """For fixed counts the fractions are the paper's (alpha, beta) prior, row-normalized, with
    alpha = same / ((n_same - 1)(1 - same - other)) and beta = other / (n_other (1 - same - other))."""
    n_dom, per = 4, 5
    d = _balanced(n_dom, per)
    n_same, n_other = per, (n_dom - 1) * per
    keep = 1 - same - other
    alpha, beta = same / ((n_same - 1) * keep), other / (n_other * keep)
    if layout == "joint":  # both views of every other sample: twice the entries per block
        alpha, beta = alpha / 2, beta / 2
    want = targets.normalize_rows(targets.domain_prior(d, alpha, beta, layout=layout, dtype=F64))
    got = targets.domain_prior_mass(d, same, other, layout=layout, dtype=F64)
    assert torch.allclose(got, want, atol=1e-14, rtol=0)


def test_unbalanced_domains_match_alpha_beta_row_by_row() -> None:
    d = torch.tensor([0, 0, 0, 0, 1, 1, 2, 2, 2])
    same, other = 0.2, 0.3
    got = targets.domain_prior_mass(d, same, other, dtype=F64)
    for i in range(len(d)):
        n_same = int((d == d[i]).sum())
        n_other = len(d) - n_same
        alpha, beta = same / ((n_same - 1) * 0.5), other / (n_other * 0.5)
        row = targets.normalize_rows(targets.domain_prior(d, alpha, beta, dtype=F64))[i]
        assert torch.allclose(got[i], row, atol=1e-14, rtol=0), i


def test_joint_layout() -> None:
    d = torch.tensor([0, 1, 1, 0, 2])
    n = len(d)
    j = targets.domain_prior_mass(d, 0.3, 0.1, layout="joint", dtype=F64)
    cross = targets.domain_prior_mass(d, 0.3, 0.1, dtype=F64)
    assert j.shape == (2 * n, 2 * n)
    assert torch.all(j.diag() == 0)  # self-pairs excluded
    assert torch.allclose(j.sum(1), torch.ones(2 * n, dtype=F64), atol=1e-15, rtol=0)
    for i in range(2 * n):
        # the partner view keeps 1 - same - other (sample 4, alone in its domain, also keeps `same`)
        assert j[i, (i + n) % (2 * n)].item() == pytest.approx(0.9 if i % n == 4 else 0.6)
    off = ~torch.eye(n, dtype=torch.bool)
    for bi in range(2):
        for bj in range(2):  # every view block carries half the sample-level masses
            block = j[bi * n:(bi + 1) * n, bj * n:(bj + 1) * n]
            assert torch.allclose(block[off], cross[off] / 2)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_the_positive_share_does_not_depend_on_the_batch_size(dtype: torch.dtype) -> None:
    same, other = 0.2, 0.1
    for per_domain in (2, 8, 32, 64):
        d = _balanced(4, per_domain)
        t = targets.domain_prior_mass(d, same, other, dtype=dtype)
        assert t.dtype == dtype
        tol = 1e-5 if dtype == torch.float32 else 1e-12
        assert torch.allclose(t.diag(), torch.full((len(d),), 0.7, dtype=dtype), atol=tol, rtol=0)
        assert torch.allclose(t.sum(1), torch.ones(len(d), dtype=dtype), atol=tol, rtol=0)
    # the (alpha, beta) prior's positive shrinks with the batch: 1 / (1 + alpha (n_same - 1) + beta n_other)
    shares = [targets.normalize_rows(targets.domain_prior(_balanced(4, p), 0.1, 0.0, dtype=F64))[0, 0].item()
              for p in (8, 64)]
    assert shares[0] > 2 * shares[1]


@pytest.mark.parametrize("same, other, match", [
    (-0.1, 0.0, r"same must be in \[0.0, 1.0\), got -0.1"),
    (0.0, 1.0, r"other must be in \[0.0, 1.0\), got 1.0"),
    (0.6, 0.4, r"same \+ other must be < 1"),
    (0.7, 0.5, r"same \+ other must be < 1"),
])
def test_bad_masses_name_the_parameter(same: float, other: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        targets.domain_prior_mass(torch.tensor([0, 1]), same, other)


def test_bad_inputs() -> None:
    with pytest.raises(TypeError, match="same"):
        targets.domain_prior_mass(torch.tensor([0, 1]), "0.1", 0.0)
    with pytest.raises(TypeError, match="domains"):
        targets.domain_prior_mass(torch.tensor([0.0, 1.0]), 0.1, 0.1)
    with pytest.raises(ValueError, match="domains"):
        targets.domain_prior_mass(torch.tensor([[0, 1]]), 0.1, 0.1)
    with pytest.raises(ValueError, match="layout"):
        targets.domain_prior_mass(torch.tensor([0, 1]), 0.1, 0.1, layout="block")


def test_gca_ince_uses_the_target() -> None:
    """The loss reads the target: it equals the loss of the equivalent (alpha, beta) prior and differs from the
    identity target's (that training with it pulls same-domain samples together: tests/test_targets.py)."""
    torch.manual_seed(0)
    d = _balanced(4, 6)
    z1, z2 = torch.randn(24, 8, dtype=F64), torch.randn(24, 8, dtype=F64)
    loss = GCAInfoNCE(eps=0.5, n_iters=5)
    mass = targets.domain_prior_mass(d, 0.3, 0.0, dtype=F64)
    alpha = 0.3 / (5 * 0.7)
    assert loss(z1, z2, mass).item() == pytest.approx(loss(z1, z2, targets.domain_prior(d, alpha, 0.0, dtype=F64)).item(),
                                                       rel=1e-12)
    assert abs(loss(z1, z2, mass).item() - loss(z1, z2, None).item()) > 1e-3
    assert loss(z1, z2, targets.domain_prior_mass(d, 0.0, 0.0, dtype=F64)).item() == pytest.approx(
        loss(z1, z2, None).item(), rel=1e-12)


# The TrainConfig route: target_prior="domain_mass" with prior_same_mass / prior_other_mass


def test_config_route_builds_the_mass_target() -> None:
    config = TrainConfig(dataset="multidomain_digits", model="mlp", method="gca_ince", target_prior="domain_mass",
                         prior_same_mass=0.2, prior_other_mass=0.1).validate()
    dataset = type("D", (), {"train": type("S", (), {"domain": torch.tensor([0, 1])})()})()
    fn = prior_target_fn(config, dataset, "cross")
    d = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    assert torch.equal(fn(torch.zeros(8, dtype=torch.long), d), targets.domain_prior_mass(d, 0.2, 0.1))
    assert torch.equal(prior_target_fn(config, dataset, "joint")(torch.zeros(8, dtype=torch.long), d),
                       targets.domain_prior_mass(d, 0.2, 0.1, layout="joint"))


def test_old_configs_keep_their_hash() -> None:
    """The mass fields are hashed only when set (HASHED_IF_SET): a config that does not use them hashes as
    it did before they existed (the literals: the same calls at commit c4316d1), so every committed run keeps
    its hash."""
    old = TrainConfig(dataset="multidomain_mnist1d", method="gca_ince", target_prior="domain", prior_alpha=0.1)
    assert config_hash(result_fields(old)) == "cf053df4120c81bf"
    assert weights_key(old) == "6d0dea8bbcf07201"
    assert config_hash(protocol(old)) == "02ffc58004ebc768"
    assert config_hash(protocol(TrainConfig())) == "5d4b5f3b18d0975d"
    new = dataclasses.replace(old, target_prior="domain_mass", prior_alpha=0.0, prior_same_mass=0.1)
    assert result_fields(new)["prior_same_mass"] == 0.1 and "prior_other_mass" not in result_fields(new)
    assert weights_key(new) != weights_key(dataclasses.replace(new, prior_same_mass=0.2))


@pytest.mark.parametrize("fields, error, match", [
    ({"prior_same_mass": -0.1}, ValueError, r"prior_same_mass must be in \[0.0, 1.0\)"),
    ({"prior_other_mass": 1.0}, ValueError, r"prior_other_mass must be in \[0.0, 1.0\)"),
    ({"prior_same_mass": 0.5, "prior_other_mass": 0.5}, ValueError, r"prior_same_mass \+ prior_other_mass must be < 1"),
    ({"prior_same_mass": "0.1"}, TypeError, "prior_same_mass"),
    ({"prior_alpha": 0.1}, ValueError, "prior_alpha=0.1 applies to target_prior='domain'"),
])
def test_bad_mass_configs_name_the_field(fields: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        TrainConfig(dataset="multidomain_digits", model="mlp", method="gca_ince", target_prior="domain_mass",
                    **fields).validate()


@pytest.mark.parametrize("target_prior", [None, "domain", "class"])
def test_mass_fields_need_the_mass_prior(target_prior: str | None) -> None:
    with pytest.raises(ValueError, match="prior_same_mass=0.2 applies to target_prior='domain_mass'"):
        TrainConfig(dataset="multidomain_digits", model="mlp", method="gca_ince", target_prior=target_prior,
                    prior_same_mass=0.2).validate()
