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
    r = M.linear_probe(M.Splits(xtr, ytr, xva, yva, xte, yte))
    assert r.test_acc > 0.95 and r.val_acc > 0.95
    assert set(r.val_accs) == {0.01, 0.1, 1.0, 10.0}
    assert r.best_C in r.val_accs and r.val_accs[r.best_C] == r.val_acc
    assert (r.n_train, r.n_val, r.n_test) == (200, 100, 100)


def test_probe_random_labels_near_chance():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(900, 32, generator=g)
    y = torch.randint(0, 4, (900,), generator=g)
    r = M.linear_probe(M.Splits(x[:500], y[:500], x[500:700], y[500:700], x[700:], y[700:]))
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

    r = M.linear_probe(M.Splits(xtr, ytr, xva, yva, xte, yte), Cs=(1e-5, 100.0))
    assert r.best_C == 1e-5
    assert r.val_accs[1e-5] == 1.0 and r.val_accs[100.0] < 0.1
    assert r.test_acc == pytest.approx(0.7)  # the val-chosen model's test accuracy, not the best one
    # The test-best C exists and is the other one: a probe choosing on test would report ~1.0.
    r_big = M.linear_probe(M.Splits(xtr, ytr, xva, yva, xte, yte), Cs=(100.0,))
    assert r_big.test_acc > 0.95


def test_probe_bad_inputs():
    x, y = clusters(10)
    ok = (x, y, x, y, x, y)
    with pytest.raises(ValueError, match="train_y must have length"):
        M.linear_probe(M.Splits(x, y[:-1], x, y, x, y))
    with pytest.raises(ValueError, match="val_feats must be finite"):
        xn = x.clone()
        xn[0, 0] = float("nan")
        M.linear_probe(M.Splits(x, y, xn, y, x, y))
    with pytest.raises(ValueError, match="test_feats"):
        M.linear_probe(M.Splits(x, y, x, y, x[:, :3], y))
    with pytest.raises(ValueError, match="train_feats"):
        M.linear_probe(M.Splits(x[:0], y[:0], x, y, x, y))
    with pytest.raises(TypeError, match="train_y"):
        M.linear_probe(M.Splits(x, y.float(), x, y, x, y))
    with pytest.raises(ValueError, match=r"Cs\[1\]"):
        M.linear_probe(M.Splits(*ok), Cs=(1.0, -1.0))
    with pytest.raises(ValueError, match="Cs"):
        M.linear_probe(M.Splits(*ok), Cs=())
    with pytest.raises(ValueError, match="max_iter"):
        M.linear_probe(M.Splits(*ok), max_iter=0)
    with pytest.raises(ValueError, match="train_y must contain at least 2 classes"):
        M.linear_probe(M.Splits(x, torch.zeros_like(y), x, y, x, y))


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


# ------------------------------------------------- kNN settings, low-label probe, protocol, raw input


def test_knn_accuracies_match_single_settings_and_separate_clusters():
    x, y = clusters(60, n_classes=4, seed=5)
    settings = [(20, 0.07), (150, 0.1)]
    # Separable clusters: both settings are perfect, even with k far above the 45 rows of a class.
    assert M.knn_accuracies(x[:180], y[:180], x[180:], y[180:], settings=settings) == [1.0, 1.0]
    # Overlapping clusters: one pass over several settings equals one call per setting, exactly.
    x, y = clusters(60, n_classes=4, spread=4.0, seed=6)
    many = M.knn_accuracies(x[:180], y[:180], x[180:], y[180:], settings=[(5, 0.07), (20, 0.1), (1, 1.0)],
                            chunk_size=13)
    one = [M.knn_accuracy(x[:180], y[:180], x[180:], y[180:], k=k, temperature=t)
           for k, t in [(5, 0.07), (20, 0.1), (1, 1.0)]]
    assert many == one
    assert 0.0 < min(many) and max(many) < 1.0  # the case really is not trivial


def test_knn_accuracies_weighted_vote_by_hand_and_ties():
    train = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    ytr = torch.tensor([1, 0, 0])
    test = torch.tensor([[0.9, 0.5]])
    # k = 1: the nearest row is class 1; k = 3 at T = 10: two votes of ~1 for class 0 beat one for class 1.
    assert M.knn_accuracies(train, ytr, test, torch.tensor([1]), settings=[(1, 0.1), (3, 10.0), (3, 0.1)]) == [
        1.0, 0.0, 1.0]
    # An exact tie (equal similarity, equal weight) goes to the smaller class index.
    tie_train = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    tie_test = torch.tensor([[1.0, 1.0]])
    assert M.knn_accuracies(tie_train, torch.tensor([2, 1]), tie_test, torch.tensor([1]), settings=[(2, 0.07)]) == [1.0]
    assert M.knn_accuracies(tie_train, torch.tensor([2, 1]), tie_test, torch.tensor([2]), settings=[(2, 0.07)]) == [0.0]


def test_knn_accuracies_bad_settings_name_the_parameter():
    x, y = clusters(5)
    with pytest.raises(ValueError, match="k must be <= 20"):
        M.knn_accuracies(x, y, x, y, settings=[(20, 0.07), (21, 0.1)])
    with pytest.raises(ValueError, match="k must be >= 1"):
        M.knn_accuracies(x, y, x, y, settings=[(0, 0.1)])
    with pytest.raises(ValueError, match=r"temperature must be in \(0, inf\), got -0.5"):
        M.knn_accuracies(x, y, x, y, settings=[(2, -0.5)])
    with pytest.raises(ValueError, match="temperature"):
        M.knn_accuracies(x, y, x, y, settings=[(2, float("nan"))])
    with pytest.raises(TypeError, match=r"settings\[1\] must be a \(k, temperature\) pair"):
        M.knn_accuracies(x, y, x, y, settings=[(2, 0.1), 3])
    with pytest.raises(ValueError, match="settings must hold at least one"):
        M.knn_accuracies(x, y, x, y, settings=[])


def test_stratified_draw_is_stratified_reproducible_and_seeded():
    y = torch.tensor([0] * 7 + [1] * 5 + [3] * 9)[torch.randperm(21, generator=torch.Generator().manual_seed(0))]
    idx = M.stratified_draw(y, 4, seed=11)
    assert idx.dtype == torch.int64 and idx.shape == (12,)
    assert torch.equal(idx, idx.sort().values) and idx.unique().numel() == 12  # sorted, no repeats
    assert torch.bincount(y[idx], minlength=4).tolist() == [4, 4, 0, 4]
    assert torch.equal(idx, M.stratified_draw(y, 4, seed=11))
    assert torch.equal(idx, M.stratified_draw(y.flip(0).flip(0).clone(), 4, seed=11))
    draws = {tuple(M.stratified_draw(y, 4, seed=s).tolist()) for s in range(6)}
    assert len(draws) > 1  # seeds change the draw
    # All rows of every class: the draw is every index.
    assert torch.equal(M.stratified_draw(torch.tensor([1, 0, 1, 0]), 2, seed=3), torch.arange(4))
    with pytest.raises(ValueError, match=r"per_class=6 is larger than class 1, which has only 5 rows"):
        M.stratified_draw(y, 6, seed=0)
    with pytest.raises(ValueError, match="per_class must be >= 1"):
        M.stratified_draw(y, 0, seed=0)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        M.stratified_draw(y, 2, seed=-1)


def test_low_label_probe_separable_reproducible_and_full_draw_equals_full_probe():
    x, y = clusters(30, n_classes=3, seed=2)
    tr, va, te = slice(0, 45), slice(45, 65), slice(65, 90)
    res = M.low_label_probe(M.Splits(x[tr], y[tr], x[va], y[va], x[te], y[te]), per_class=2, draws=3, seed=4)
    assert res.per_class == 2 and len(res.test_accs) == 3 and res.best_C in (0.01, 0.1, 1.0, 10.0)
    assert res.test_acc == 1.0 and res.test_std == 0.0
    again = M.low_label_probe(M.Splits(x[tr], y[tr], x[va], y[va], x[te], y[te]), per_class=2, draws=3, seed=4)
    assert again == res
    # Overlapping classes of equal size, every training row drawn: each draw is the full probe.
    x, y = clusters(40, n_classes=2, spread=5.0, seed=8)
    y = torch.arange(80) % 2  # exactly 20 of each class in the first 40 rows
    full = M.linear_probe(M.Splits(x[:40], y[:40], x[40:60], y[40:60], x[60:], y[60:]))
    low = M.low_label_probe(M.Splits(x[:40], y[:40], x[40:60], y[40:60], x[60:], y[60:]), per_class=20, draws=2)
    assert low.test_accs == (full.test_acc, full.test_acc) and low.best_C == full.best_C
    assert 0.0 < full.test_acc < 1.0


def test_low_label_probe_bad_inputs_name_the_parameter():
    x, y = clusters(10, n_classes=3)
    args = (x[:15], y[:15], x[15:22], y[15:22], x[22:], y[22:])
    smallest = int(torch.bincount(y[:15]).min())
    with pytest.raises(ValueError, match=f"per_class={smallest + 1} is larger than class"):
        M.low_label_probe(M.Splits(*args), per_class=smallest + 1)
    with pytest.raises(ValueError, match="per_class must be >= 1"):
        M.low_label_probe(M.Splits(*args), per_class=0)
    with pytest.raises(ValueError, match="draws must be >= 1"):
        M.low_label_probe(M.Splits(*args), per_class=1, draws=0)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        M.low_label_probe(M.Splits(*args), per_class=1, seed=-2)
    with pytest.raises(ValueError, match=r"Cs\[0\]"):
        M.low_label_probe(M.Splits(*args), per_class=1, Cs=(0.0,))
    with pytest.raises(ValueError, match="val_feats must have D"):
        M.low_label_probe(M.Splits(x[:15], y[:15], x[15:22, :3], y[15:22], x[22:], y[22:]), per_class=1)
    with pytest.raises(ValueError, match="train_y must contain at least 2 classes"):
        M.low_label_probe(M.Splits(x[:5], torch.zeros(5, dtype=torch.long), *args[2:]), per_class=1)


def test_protocol_metrics_keys_values_and_infeasible_settings():
    x, y = clusters(40, n_classes=4, seed=9)
    tr, va, te = slice(0, 100), slice(100, 130), slice(130, 160)
    out = M.protocol_metrics(M.Splits(x[tr], y[tr], x[va], y[va], x[te], y[te]), low_label=(1, 5), knn=((3, 0.07), (50, 0.1)))
    assert set(out) == {"probe_test_acc", "probe_val_acc", "probe_C", "lowlabel1_test_acc", "lowlabel5_test_acc",
                        "knn3_test_acc", "knn50_test_acc"}
    assert all(out[k] == 1.0 for k in out if k.endswith("_test_acc"))
    low = M.low_label_probe(M.Splits(x[tr], y[tr], x[va], y[va], x[te], y[te]), per_class=5, draws=5, seed=0)
    assert out["lowlabel5_test_acc"] == low.test_acc
    # Defaults (10 and 100 per class, k = 20 and 200) on 100 training rows: the infeasible ones raise...
    with pytest.raises(ValueError, match="per_class=100"):
        M.protocol_metrics(M.Splits(x[tr], y[tr], x[va], y[va], x[te], y[te]), full_probe=False)
    with pytest.raises(ValueError, match="k must be <= 100"):
        M.protocol_metrics(M.Splits(x[tr], y[tr], x[va], y[va], x[te], y[te]), full_probe=False, low_label=())
    # ... or are left out on request.
    small = M.protocol_metrics(M.Splits(x[tr], y[tr], x[va], y[va], x[te], y[te]), full_probe=False, skip_infeasible=True)
    assert set(small) == {"lowlabel10_test_acc", "knn20_test_acc"}
    with pytest.raises(ValueError, match="distinct k"):
        M.protocol_metrics(M.Splits(x[tr], y[tr], x[va], y[va], x[te], y[te]), knn=((3, 0.1), (3, 0.5)))


def test_raw_input_baseline_is_the_protocol_on_flattened_inputs():
    x, y = clusters(30, n_classes=3, d=8, spread=2.0, seed=1)
    x = x.reshape(-1, 2, 2, 2)  # image-shaped inputs (N, C, H, W)
    split = lambda s: SimpleNamespace(x=x[s], y=y[s], domain=None)  # noqa: E731
    ds = SimpleNamespace(train=split(slice(0, 50)), val=split(slice(50, 70)), test=split(slice(70, 90)))
    opts = dict(low_label=(2,), draws=2, knn=((5, 0.07),))
    raw = M.raw_input_baseline(ds, seed=3, **opts)
    flat = x.reshape(90, 8)
    ref = M.protocol_metrics(M.Splits(flat[:50], y[:50], flat[50:70], y[50:70], flat[70:], y[70:]), seed=3, **opts)
    assert raw == ref
    with pytest.raises(ValueError, match="target='domain'"):
        M.raw_input_baseline(ds, target="domain")
    with pytest.raises(ValueError, match="x must be finite"):
        M.raw_input_baseline(SimpleNamespace(train=SimpleNamespace(x=x[:50] * float("inf"), y=y[:50]),
                                             val=ds.val, test=ds.test))


def test_train_evaluate_adds_the_protocol_keys_and_keeps_the_old_ones():
    from gca_lab import train as T

    config = T.TrainConfig(dataset="digits", progress=False, seed=2)
    ds = T.load_dataset(config)
    torch.manual_seed(0)
    model = T.build_model(config, ds.image_shape)
    out = T.evaluate_run(model, ds, config, raw_input=True)
    f = {s: M.embed(model.features, getattr(ds, s).x) for s in ("train", "val", "test")}
    y = {s: getattr(ds, s).y for s in ("train", "val", "test")}
    args = (f["train"], y["train"], f["val"], y["val"], f["test"], y["test"])
    # Old keys, old meaning: the all-label probe and the k = 20, T = 0.1 kNN.
    assert out["probe_test_acc"] == M.linear_probe(M.Splits(*args), seed=2).test_acc
    assert out["knn_acc"] == M.knn_accuracy(f["train"], y["train"], f["test"], y["test"], k=20, temperature=0.1)
    new = M.protocol_metrics(M.Splits(*args), seed=2, full_probe=False)
    assert set(new) == {"lowlabel10_test_acc", "lowlabel100_test_acc", "knn20_test_acc", "knn200_test_acc"}
    assert {k: out[k] for k in new} == new
    raw = M.raw_input_baseline(ds, seed=2)
    assert {k: out[f"raw_{k}"] for k in raw} == raw
    assert "raw_probe_test_acc" not in T.evaluate_run(model, ds, config)


def test_splits_travel_together_and_the_former_six_tensors_still_work_with_a_warning():
    gen = torch.Generator().manual_seed(7)
    y = torch.arange(120) % 3
    x = torch.randn(120, 5, generator=gen) + 2 * torch.nn.functional.one_hot(y, 5).float()
    parts = (x[:60], y[:60], x[60:90], y[60:90], x[90:], y[90:])
    splits = M.Splits(*parts)
    new = M.linear_probe(splits, seed=1)
    with pytest.warns(DeprecationWarning, match="Splits"):
        old = M.linear_probe(*parts, seed=1)
    assert new == old
    with pytest.warns(DeprecationWarning):
        assert M.protocol_metrics(*parts, full_probe=False, low_label=(2,), knn=((3, 0.1),)) == \
            M.protocol_metrics(splits, full_probe=False, low_label=(2,), knn=((3, 0.1),))
    with pytest.raises(TypeError, match="Splits"):
        M.linear_probe(x[:60], y[:60])
    # one standardization for every probe: train mean 0 and std 1 per column, val/test on train's scale
    tr, va, te = M.standardize(splits)
    assert abs(tr.mean(0)).max() < 1e-10 and abs(tr.std(0) - 1).max() < 1e-10
    mean, std = x[:60].double().mean(0).numpy(), x[:60].double().std(0, unbiased=False).numpy()
    assert abs(te - (x[90:].double().numpy() - mean) / std).max() < 1e-10
    # a corrupted test set replaces the test features only
    other = splits.with_test(x[90:] + 1)
    assert other.train is splits.train and torch.equal(other.test_y, splits.test_y)


def test_knn_takes_the_splits_or_four_tensors_alike():
    gen = torch.Generator().manual_seed(3)
    y = torch.arange(90) % 3
    x = torch.randn(90, 4, generator=gen) + 3 * torch.nn.functional.one_hot(y, 4).float()
    splits = M.Splits(x[:50], y[:50], x[50:60], y[50:60], x[60:], y[60:])
    assert M.knn_accuracy(splits, k=5) == M.knn_accuracy(x[:50], y[:50], x[60:], y[60:], k=5)
    assert M.knn_accuracies(splits, settings=((3, 0.1), (7, 0.5))) == \
        M.knn_accuracies(x[:50], y[:50], x[60:], y[60:], settings=((3, 0.1), (7, 0.5)))
    with pytest.raises(TypeError, match="not both"):
        M.knn_accuracy(splits, y[:50])
    with pytest.raises(TypeError, match="required"):
        M.knn_accuracy(x[:50], y[:50])


def test_raw_input_computation_follows_the_runs_evaluation_fields():
    """The ``raw_input`` row of a figure table is scored like its encoders: with ``probe_solver`` / ``eval_rows``
    in the spec, the runs' own protocol (:func:`gca_lab.train.evaluation.evaluate_features`) on the flattened
    inputs; without them, :func:`gca_lab.evaluate.raw_input_baseline` (the committed results)."""
    from gca_lab.experiments import _common as C
    from gca_lab import train as T
    from gca_lab.train.evaluation import evaluate_features

    fields = dict(dataset="digits", max_train=600, probe_solver="torch", eval_rows=100)
    run = C.raw_input_run("raw", **fields, method="gca_uot", epochs=3)  # training fields are dropped
    assert run.spec == {"fn": "raw_input", **fields}
    out = C.raw_input(**fields)["metrics"]
    config = T.TrainConfig(**fields)
    ds = T.load_dataset(config)
    assert {k: out[k] for k in ("probe_test_acc", "knn20_test_acc")} == {
        k: evaluate_features(M.Splits.raw(ds), config)[k] for k in ("probe_test_acc", "knn20_test_acc")}
    assert (out["n_train"], out["n_val"], out["n_test"]) == (len(ds.train), len(ds.val), len(ds.test))
    # the first eval_rows test rows only, for everything but the full probe
    sub = M.Splits.raw(ds)
    sub = M.Splits(sub.train, sub.train_y, sub.val[:100], sub.val_y[:100], sub.test[:100], sub.test_y[:100])
    assert out["knn20_test_acc"] == M.protocol_metrics(sub, seed=0, full_probe=False, skip_infeasible=True)["knn20_test_acc"]
    old = C.raw_input(dataset="digits", max_train=600)["metrics"]
    assert old == M.raw_input_baseline(T.load_dataset(T.TrainConfig(dataset="digits", max_train=600)), seed=0,
                                       skip_infeasible=True)
