"""Tests for gca_lab.metrics: frozen probe, kNN, alignment/uniformity, compactness, plans, statistics."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from gca_lab import metrics as M


def _clusters(n_per: int, n_classes: int = 4, d: int = 16, spread: float = 0.1, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(n_classes, d, generator=g) * 3
    y = torch.arange(n_classes).repeat_interleave(n_per)
    x = centers[y] + spread * torch.randn(len(y), d, generator=g)
    perm = torch.randperm(len(y), generator=g)
    return x[perm], y[perm]


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(4 * 8 * 8, 6)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(torch.relu(self.bn(self.conv(x)))).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ------------------------------------------------------------------------------------------ embed


def test_embed_leaves_params_and_bn_buffers_bit_identical_and_restores_modes():
    torch.manual_seed(0)
    net = _Net().train()
    net.drop.eval()  # a caller's deliberate per-submodule choice must survive too
    before = _snapshot(net)
    modes = {name: m.training for name, m in net.named_modules()}
    x = torch.randn(50, 1, 8, 8) * 3 + 1

    feats = M.embed(net, x, batch_size=16)
    assert feats.shape == (50, 6) and feats.dtype == torch.float32 and feats.device.type == "cpu"
    feats2 = M.embed(net.features, x, batch_size=7)  # bound method: module found via __self__
    assert feats2.shape == (50, 4 * 8 * 8)

    after = net.state_dict()
    assert set(after) == set(before)
    assert {"bn.running_mean", "bn.running_var", "bn.num_batches_tracked"} <= set(after)
    for k, v in before.items():
        assert torch.equal(after[k], v), k
    assert {name: m.training for name, m in net.named_modules()} == modes
    assert all(p.requires_grad for p in net.parameters())
    assert all(p.grad is None for p in net.parameters())


def test_embed_is_eval_mode_and_batch_independent():
    torch.manual_seed(0)
    net = _Net().train()
    x = torch.randn(20, 1, 8, 8)
    a = M.embed(net, x, batch_size=20)
    b = M.embed(net, x, batch_size=3)
    torch.testing.assert_close(a, b)  # eval-mode BN: a row's features do not depend on its batch
    net.eval()
    with torch.no_grad():
        torch.testing.assert_close(a, net(x))


def test_embed_restores_mode_on_error_and_accepts_plain_callable():
    net = _Net().train()

    def boom(x):
        net(x)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        M.embed(boom, torch.randn(4, 1, 8, 8))
    with pytest.raises(RuntimeError):
        M.embed(net, torch.randn(4, 2, 8, 8))  # wrong channel count fails inside forward
    assert net.training and net.bn.training
    out = M.embed(lambda t: t * 2, torch.ones(3, 2))
    assert torch.equal(out, torch.full((3, 2), 2.0))


def test_embed_transform_applied():
    out = M.embed(nn.Identity(), torch.ones(5, 3), transform=lambda t: t - 1, batch_size=2)
    assert torch.equal(out, torch.zeros(5, 3))


def test_embed_bad_inputs():
    with pytest.raises(TypeError, match="encoder"):
        M.embed(3, torch.ones(2, 2))
    with pytest.raises(TypeError, match="x"):
        M.embed(nn.Identity(), [[1.0]])
    with pytest.raises(ValueError, match="x"):
        M.embed(nn.Identity(), torch.ones(0, 2))
    with pytest.raises(ValueError, match="x must be finite"):
        M.embed(nn.Identity(), torch.tensor([[1.0, float("nan")]]))
    with pytest.raises(ValueError, match="batch_size"):
        M.embed(nn.Identity(), torch.ones(2, 2), batch_size=0)
    with pytest.raises(ValueError, match="encoder features must be finite"):
        M.embed(lambda t: t / 0 * 0, torch.ones(2, 2))


# ---------------------------------------------------------------------------------- linear probe


def test_probe_separable_clusters_high_accuracy():
    x, y = _clusters(100, seed=1)
    xtr, ytr, xva, yva, xte, yte = x[:200], y[:200], x[200:300], y[200:300], x[300:], y[300:]
    r = M.linear_probe(xtr, ytr, xva, yva, xte, yte)
    assert r.test_acc > 0.95 and r.val_acc > 0.95
    assert set(r.val_accs) == {0.01, 0.1, 1.0, 10.0}
    assert r.best_C in r.val_accs and r.val_accs[r.best_C] == r.val_acc
    assert (r.n_train, r.n_val, r.n_test) == (200, 100, 100)


def test_probe_random_labels_near_chance():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(900, 32, generator=g)
    y = torch.randint(0, 4, (900,), generator=g)
    r = M.linear_probe(x[:500], y[:500], x[500:700], y[500:700], x[700:], y[700:])
    assert abs(r.test_acc - 0.25) < 0.1


def test_probe_selects_C_on_validation_not_test():
    # Train: 70/30 imbalanced, separable on feature 0. A tiny C shrinks the weights to ~0, so that
    # model predicts the majority class (the intercept is not penalized); a large C separates.
    g = torch.Generator().manual_seed(0)
    ytr = torch.tensor([0] * 140 + [1] * 60)
    xtr = torch.randn(200, 2, generator=g) * 0.3
    xtr[:, 0] += torch.where(ytr == 1, 2.0, -2.0)
    # Validation: class-0 labels on class-1-looking inputs -> the majority model wins validation.
    xva = torch.randn(50, 2, generator=g) * 0.3
    xva[:, 0] += 2.0
    yva = torch.zeros(50, dtype=torch.long)
    # Test: like train -> the large-C model would win test.
    yte = torch.tensor([0] * 70 + [1] * 30)
    xte = torch.randn(100, 2, generator=g) * 0.3
    xte[:, 0] += torch.where(yte == 1, 2.0, -2.0)

    r = M.linear_probe(xtr, ytr, xva, yva, xte, yte, Cs=(1e-5, 100.0))
    assert r.best_C == 1e-5
    assert r.val_accs[1e-5] == 1.0 and r.val_accs[100.0] < 0.1
    assert r.test_acc == pytest.approx(0.7)  # the val-chosen model's test accuracy, not the best one
    # The test-best C exists and is the other one: a probe choosing on test would report ~1.0.
    r_big = M.linear_probe(xtr, ytr, xva, yva, xte, yte, Cs=(100.0,))
    assert r_big.test_acc > 0.95


def test_probe_bad_inputs():
    x, y = _clusters(10)
    ok = (x, y, x, y, x, y)
    with pytest.raises(ValueError, match="train_y must have length"):
        M.linear_probe(x, y[:-1], x, y, x, y)
    with pytest.raises(ValueError, match="val_feats must be finite"):
        xn = x.clone()
        xn[0, 0] = float("nan")
        M.linear_probe(x, y, xn, y, x, y)
    with pytest.raises(ValueError, match="test_feats"):
        M.linear_probe(x, y, x, y, x[:, :3], y)
    with pytest.raises(ValueError, match="train_feats"):
        M.linear_probe(x[:0], y[:0], x, y, x, y)
    with pytest.raises(TypeError, match="train_y"):
        M.linear_probe(x, y.float(), x, y, x, y)
    with pytest.raises(ValueError, match=r"Cs\[1\]"):
        M.linear_probe(*ok, Cs=(1.0, -1.0))
    with pytest.raises(ValueError, match="Cs"):
        M.linear_probe(*ok, Cs=())
    with pytest.raises(ValueError, match="max_iter"):
        M.linear_probe(*ok, max_iter=0)
    with pytest.raises(ValueError, match="train_y must contain at least 2 classes"):
        M.linear_probe(x, torch.zeros_like(y), x, y, x, y)


def _dataset(with_domain: bool):
    def split(seed):
        x, y = _clusters(30, n_classes=3, d=8, seed=seed)
        x = x.reshape(-1, 1, 2, 4)
        dom = (y % 2) if with_domain else None
        return SimpleNamespace(x=x, y=y, domain=dom)

    return SimpleNamespace(train=split(0), val=split(0), test=split(0))


def test_probe_encoder_class_domain_and_transform():
    net = nn.Sequential(nn.Flatten(), nn.BatchNorm1d(8)).train()
    before = _snapshot(net)
    ds = _dataset(with_domain=True)
    r = M.probe_encoder(net, ds)
    assert r.test_acc > 0.95 and r.n_train == 90
    rd = M.probe_encoder(net, ds, target="domain")
    assert rd.test_acc > 0.95
    calls = []

    def corrupt(t):
        calls.append(t.shape[0])
        return torch.zeros_like(t)  # erase everything -> the probe can only guess

    rc = M.probe_encoder(net, ds, transform=corrupt, batch_size=50)
    assert sum(calls) == 270  # all three splits went through the transform
    assert rc.test_acc < 0.5
    assert net.training and all(torch.equal(net.state_dict()[k], v) for k, v in before.items())


def test_probe_encoder_errors():
    with pytest.raises(ValueError, match="target='domain'.*domain is None"):
        M.probe_encoder(nn.Flatten(), _dataset(with_domain=False), target="domain")
    with pytest.raises(ValueError, match="target"):
        M.probe_encoder(nn.Flatten(), _dataset(True), target="label")
    with pytest.raises(TypeError, match="val"):
        M.probe_encoder(nn.Flatten(), SimpleNamespace(train=_dataset(True).train))
    empty = _dataset(True)
    empty.val = SimpleNamespace(x=empty.val.x[:0], y=empty.val.y[:0], domain=None)
    with pytest.raises(ValueError, match="dataset.val must hold at least one example"):
        M.probe_encoder(nn.Flatten(), empty)


# -------------------------------------------------------------------------------------------- kNN


def test_knn_separable_and_chunking():
    x, y = _clusters(50, n_classes=5, seed=3)
    acc = M.knn_accuracy(x[:150], y[:150], x[150:], y[150:], k=10)
    assert acc == 1.0
    assert M.knn_accuracy(x[:150], y[:150], x[150:], y[150:], k=10, chunk_size=7, temperature=0.001) == 1.0


def test_knn_weighting_matches_hand_computation():
    # One test point; 3 neighbours: two weak votes for class 0, one strong vote for class 1.
    train = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    test = torch.tensor([[0.9, 0.5]])
    ytr = torch.tensor([1, 0, 0])
    # sims: 0.874, 0.486, 0.486. T = 0.1: exp(8.74) > 2 exp(4.86) -> class 1; T = 10: ~1 vs ~2 -> 0.
    assert M.knn_accuracy(train, ytr, test, torch.tensor([1]), k=3, temperature=0.1) == 1.0
    assert M.knn_accuracy(train, ytr, test, torch.tensor([0]), k=3, temperature=10.0) == 1.0


def test_knn_bad_inputs():
    x, y = _clusters(5)
    with pytest.raises(ValueError, match="k must be >= 1"):
        M.knn_accuracy(x, y, x, y, k=0)
    with pytest.raises(ValueError, match="k must be <="):
        M.knn_accuracy(x, y, x, y, k=len(y) + 1)
    with pytest.raises(ValueError, match="temperature"):
        M.knn_accuracy(x, y, x, y, temperature=0.0)
    with pytest.raises(ValueError, match="test_y must have length"):
        M.knn_accuracy(x, y, x, y[:3], k=2)
    with pytest.raises(ValueError, match="train_feats must be finite"):
        M.knn_accuracy(x * float("nan"), y, x, y, k=2)
    with pytest.raises(ValueError, match="train_y must hold labels >= 0"):
        M.knn_accuracy(x, y - 1, x, y, k=2)
    with pytest.raises(ValueError, match="n_classes"):
        M.knn_accuracy(x, y, x, y, k=2, n_classes=2)


# --------------------------------------------------------------------- alignment, uniformity


def test_alignment_values():
    z = torch.randn(10, 5)
    assert float(M.alignment(z, 3 * z)) == pytest.approx(0.0, abs=1e-6)  # normalized inside
    # Orthogonal unit pairs: ||e1 - e2|| = sqrt(2); alpha = 2 -> 2, alpha = 1 -> sqrt(2).
    z1 = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    z2 = torch.tensor([[0.0, 5.0], [-1.0, 0.0]])
    assert float(M.alignment(z1, z2)) == pytest.approx(2.0)
    assert float(M.alignment(z1, z2, alpha=1)) == pytest.approx(math.sqrt(2))
    # Mixed: antipodal pair (distance 2) and identical pair -> mean of 4 and 0.
    out = M.alignment(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[-1.0, 0.0], [0.0, 1.0]]))
    assert out.ndim == 0 and float(out) == pytest.approx(2.0)


def test_uniformity_values_and_gradient():
    two = torch.tensor([[1.0, 0.0], [-3.0, 0.0]])
    assert float(M.uniformity(two)) == pytest.approx(-8.0)  # -t * ||x - y||^2 = -2 * 4
    assert float(M.uniformity(two, t=0.5)) == pytest.approx(-2.0)
    # Three points: two identical, one antipodal -> log((1 + 2 e^{-8}) / 3).
    three = torch.tensor([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
    assert float(M.uniformity(three)) == pytest.approx(math.log((1 + 2 * math.exp(-8)) / 3), rel=1e-5)
    z = three.clone().requires_grad_(True)
    M.uniformity(z).backward()
    assert torch.isfinite(z.grad).all()


def test_alignment_uniformity_bad_inputs():
    with pytest.raises(ValueError, match="z2 must have the shape"):
        M.alignment(torch.ones(3, 2), torch.ones(2, 2))
    with pytest.raises(ValueError, match="alpha"):
        M.alignment(torch.ones(3, 2), torch.ones(3, 2), alpha=0)
    with pytest.raises(ValueError, match="z must have shape"):
        M.uniformity(torch.ones(1, 2))
    with pytest.raises(ValueError, match="z must be finite"):
        M.uniformity(torch.tensor([[1.0, float("nan")], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="t must be"):
        M.uniformity(torch.randn(3, 2), t=-1)


# --------------------------------------------------------------------------------- compactness


def test_compactness_lower_for_tighter_clusters():
    tight = M.compactness(*_clusters(40, spread=0.1, seed=5))
    loose = M.compactness(*_clusters(40, spread=2.0, seed=5))
    assert 0 <= tight < loose


def test_class_geometry_closed_form():
    # Class 0 at +-45 deg around e1, class 1 at +-45 deg around -e1 (after normalization).
    f = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    g = M.class_geometry(f, torch.tensor([0, 0, 1, 1]))
    s = 1 / math.sqrt(2)
    assert g.within == pytest.approx(s) and g.between == pytest.approx(2 * s)
    assert g.ratio == pytest.approx(0.5)
    assert g.n_classes == 2


def test_compactness_bad_inputs():
    with pytest.raises(ValueError, match="at least 2 classes"):
        M.compactness(torch.randn(4, 2), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="labels must have length"):
        M.compactness(torch.randn(4, 2), torch.zeros(3, dtype=torch.long))


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


# ----------------------------------------------------------------------------------- statistics


def test_mean_std():
    assert M.mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert M.mean_std([5]) == (5.0, 0.0)
    assert M.mean_std(torch.tensor([1.0, 3.0])) == (2.0, pytest.approx(math.sqrt(2)))
    with pytest.raises(ValueError, match="values must not be empty"):
        M.mean_std([])
    with pytest.raises(ValueError, match=r"values\[1\] must be finite"):
        M.mean_std([1.0, float("nan")])


def test_paired_difference_and_verdict():
    # Differences 1, 2, 3, 4, 5: mean 3, sd sqrt(2.5), half width t_{0.975,4} sd / sqrt(5).
    a = [11.0, 12.0, 13.0, 14.0, 15.0]
    b = [10.0] * 5
    d = M.paired_difference(a, b)
    half = 2.776 * math.sqrt(2.5) / math.sqrt(5)
    assert (d.mean, d.n) == (3.0, 5)
    assert d.std == pytest.approx(math.sqrt(2.5))
    assert d.low == pytest.approx(3 - half, abs=1e-3) and d.high == pytest.approx(3 + half, abs=1e-3)
    assert M.verdict(d) == "reproduced"
    # Differences -1, 0, 1, 2, 3: mean 1, interval contains 0.
    d2 = M.paired_difference([9.0, 10.0, 11.0, 12.0, 13.0], b)
    assert d2.low < 0 < d2.high and M.verdict(d2) == "consistent"
    # Mean below 0 -> not reproduced, whatever the interval.
    d3 = M.paired_difference([9.0, 10.0, 10.0, 10.5, 10.0], b)
    assert d3.mean < 0 < d3.high and M.verdict(d3) == "not reproduced"
    assert M.verdict((0.5, 1.5)) == "reproduced"
    assert M.verdict((-1.0, 0.5)) == "not reproduced"
    assert M.verdict((-0.5, 1.0)) == "consistent"
    one = M.paired_difference([2.0], [1.0])
    assert one.low == -math.inf and one.high == math.inf and M.verdict(one) == "consistent"


def test_paired_difference_bad_inputs():
    with pytest.raises(ValueError, match="same length"):
        M.paired_difference([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="a must not be empty"):
        M.paired_difference([], [])
    with pytest.raises(ValueError, match="confidence"):
        M.paired_difference([1.0, 2.0], [1.0, 2.0], confidence=1.0)
    with pytest.raises(TypeError, match=r"b\[0\]"):
        M.paired_difference([1.0], ["x"])
    with pytest.raises(ValueError, match="low <= high"):
        M.verdict((1.0, 0.0))
    with pytest.raises(TypeError, match="diff"):
        M.verdict([0.0, 1.0])
