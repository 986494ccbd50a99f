"""Tests for gca_lab.evaluate: embeddings, the frozen linear probe and kNN."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from gca_lab import evaluate as M
from tests.fakes import clusters


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
    x, y = clusters(100, seed=1)
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
    x, y = clusters(10)
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
        x, y = clusters(30, n_classes=3, d=8, seed=seed)
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
    x, y = clusters(50, n_classes=5, seed=3)
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
    x, y = clusters(5)
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
