"""Tests for gca_lab.data: splits, file readers on tiny files in the official formats, multi-domain."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from gca_lab import data


def _write_idx(path: Path, arr: np.ndarray, *, compress: bool) -> None:
    codes = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C}
    header = bytes([0, 0, codes[arr.dtype], arr.ndim]) + struct.pack(f">{arr.ndim}i", *arr.shape)
    raw = header + arr.tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)


def _fake_fashion(root: Path, n_train: int = 60, n_test: int = 20, compress: bool = True) -> None:
    d = root / "fashion_mnist"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        y = (np.arange(n) % 10).astype(np.uint8)
        _write_idx(d / f"{prefix}-images-idx3-ubyte", x, compress=compress)
        _write_idx(d / f"{prefix}-labels-idx1-ubyte", y, compress=compress)


def _no_system_fashion(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(data, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "nowhere")


# ------------------------------------------------------------------ digits and splits


@pytest.fixture(scope="module")
def digits() -> data.Dataset:
    return data.load("digits")


def test_digits_shapes_dtypes(digits: data.Dataset) -> None:
    assert digits.image_shape == (1, 8, 8)
    assert digits.n_classes == 10 and digits.n_domains == 1
    for s in (digits.train, digits.val, digits.test):
        assert s.x.dtype == torch.float32 and s.y.dtype == torch.int64 and s.domain is None
        assert s.x.ndim == 4 and len(s) == s.y.shape[0]
        assert 0.0 <= float(s.x.min()) and float(s.x.max()) <= 1.0
    assert len(digits.train) + len(digits.val) + len(digits.test) == 1797
    assert float(digits.train.x.max()) == 1.0  # 16 / 16


def test_split_fractions_and_stratification(digits: data.Dataset) -> None:
    n = 1797
    assert abs(len(digits.val) - 0.1 * n) <= 10 and abs(len(digits.test) - 0.2 * n) <= 10
    for s, frac in ((digits.val, 0.1), (digits.test, 0.2)):
        counts = torch.bincount(s.y, minlength=10).float()
        full = torch.bincount(torch.cat([digits.train.y, digits.val.y, digits.test.y]), minlength=10).float()
        assert torch.all((counts - frac * full).abs() <= 1.0)


def test_split_no_overlap(digits: data.Dataset) -> None:
    rows = {}
    for name in ("train", "val", "test"):
        x = getattr(digits, name).x.flatten(1)
        rows[name] = {tuple(r.tolist()) for r in x}
    # Digits has a handful of exact duplicate images; allow for those, no more.
    assert len(rows["train"] & rows["test"]) <= 5 and len(rows["train"] & rows["val"]) <= 5


def test_split_indices_partition() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, size=500)
    parts = data._stratified_split(y, (0.1, 0.2), np.random.default_rng(3))
    allidx = np.concatenate(parts)
    assert np.array_equal(np.sort(allidx), np.arange(500))


def test_split_determinism_independent_of_global_rng() -> None:
    torch.manual_seed(123)
    np.random.seed(123)
    a = data.load("digits", seed=5)
    torch.manual_seed(999)
    np.random.seed(999)
    state = np.random.get_state()[1].copy()
    b = data.load("digits", seed=5)
    assert np.array_equal(state, np.random.get_state()[1])  # global numpy RNG untouched
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.test.y, b.test.y)
    c = data.load("digits", seed=6)
    assert not torch.equal(a.train.y, c.train.y)


def test_max_train_does_not_change_val_test() -> None:
    a = data.load("digits", seed=1)
    b = data.load("digits", seed=1, max_train=200)
    assert len(b.train) == 200
    assert torch.equal(a.val.x, b.val.x) and torch.equal(a.test.x, b.test.x)
    counts = torch.bincount(b.train.y, minlength=10)
    assert int(counts.min()) >= 18 and int(counts.max()) <= 22


def test_digits_size_upsample() -> None:
    d = data.load("digits", size=16)
    assert d.image_shape == (1, 16, 16)
    assert float(d.train.x.min()) >= 0.0 and float(d.train.x.max()) <= 1.0


def test_to_device_returns_new() -> None:
    d = data.load("synthetic", n_per_class=10, n_classes=3)
    e = d.to("cpu")
    assert isinstance(e, data.Dataset) and e is not d and e.train.x.device.type == "cpu"
    s = d.train.to(torch.device("cpu"))
    assert isinstance(s, data.Split) and len(s) == len(d.train)


def test_synthetic_on_sphere_and_seeded() -> None:
    d = data.load("synthetic", n_classes=4, dim=8, n_per_class=50, seed=2)
    assert d.image_shape == (8,) and d.n_classes == 4
    assert torch.allclose(d.train.x.norm(dim=1), torch.ones(len(d.train)), atol=1e-5)
    assert torch.equal(d.train.x, data.load("synthetic", n_classes=4, dim=8, n_per_class=50, seed=2).train.x)


def test_unknown_name_lists_known() -> None:
    with pytest.raises(ValueError, match="name") as e:
        data.load("mnist")
    for known in ("digits", "fashion_mnist", "cifar10", "svhn"):
        assert known in str(e.value)
    assert "digits" in data.available() and "multidomain" in data.available()


def test_bad_arguments_name_parameter() -> None:
    with pytest.raises(ValueError, match="val_fraction"):
        data.load("digits", val_fraction=1.5)
    with pytest.raises(ValueError, match="val_fraction"):
        data.load("digits", val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ValueError, match="max_train"):
        data.load("digits", max_train=0)
    with pytest.raises(TypeError, match="seed"):
        data.load("digits", seed=1.5)
    with pytest.raises(TypeError, match="bogus"):
        data.load("digits", bogus=1)
    with pytest.raises(TypeError, match="y must have dtype"):
        data.Split(torch.zeros(3, 2), torch.zeros(3))
    with pytest.raises(ValueError, match="y must have 3"):
        data.Split(torch.zeros(3, 2), torch.zeros(4, dtype=torch.int64))


# ------------------------------------------------------------------ IDX / Fashion-MNIST


@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_roundtrip(tmp_path: Path, compress: bool) -> None:
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "a-idx3-ubyte", arr, compress=compress)
    path = tmp_path / ("a-idx3-ubyte.gz" if compress else "a-idx3-ubyte")
    assert np.array_equal(data.read_idx(path), arr)
    arr32 = np.array([1, -2, 300], dtype=">i4")
    _write_idx(tmp_path / "b", arr32, compress=False)
    out = data.read_idx(tmp_path / "b")
    assert out.tolist() == [1, -2, 300] and out.dtype.byteorder in ("=", "<", "|")


def test_read_idx_rejects_garbage(tmp_path: Path) -> None:
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX"):
        data.read_idx(tmp_path / "bad")


@pytest.mark.parametrize("compress", [True, False])
def test_fashion_mnist_synthetic_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compress: bool) -> None:
    _no_system_fashion(monkeypatch, tmp_path)
    _fake_fashion(tmp_path, compress=compress)
    d = data.load("fashion_mnist", root=tmp_path, val_fraction=0.2)
    assert d.image_shape == (1, 28, 28)
    assert len(d.test) == 20 and len(d.val) == 12 and len(d.train) == 48
    assert d.class_names[0] == "T-shirt/top"
    d2 = data.load("fashion_mnist", root=tmp_path, val_fraction=0.2, max_train=20, max_test=10)
    assert len(d2.train) == 20 and len(d2.test) == 10
    assert torch.bincount(d2.train.y, minlength=10).tolist() == [2] * 10


def test_fashion_mnist_missing_files_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_system_fashion(monkeypatch, tmp_path)
    with pytest.raises(FileNotFoundError) as e:
        data.load("fashion_mnist", root=tmp_path)
    msg = str(e.value)
    assert "train-images-idx3-ubyte" in msg and "t10k-labels-idx1-ubyte" in msg
    assert "apt-get install dataset-fashion-mnist" in msg and "fashion_mnist" in msg


@pytest.mark.skipif(
    not (data.FASHION_MNIST_SYSTEM_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian package dataset-fashion-mnist not installed",
)
def test_fashion_mnist_real_files(tmp_path: Path) -> None:
    d = data.load("fashion_mnist", root=tmp_path, max_train=1000, max_val=100, max_test=500)
    assert d.image_shape == (1, 28, 28) and d.n_classes == 10
    assert len(d.train) == 1000 and len(d.val) == 100 and len(d.test) == 500
    assert torch.bincount(d.train.y, minlength=10).tolist() == [100] * 10
    assert 0.2 < float(d.train.x.mean()) < 0.4


# ------------------------------------------------------------------ CIFAR / SVHN


def _fake_cifar10(root: Path, n: int = 20) -> None:
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": list(np.arange(n) % 10)}
        (d / name).write_bytes(pickle.dumps(batch))
    (d / "batches.meta").write_bytes(pickle.dumps({b"label_names": [f"c{i}".encode() for i in range(10)]}))


def test_cifar10_reader(tmp_path: Path) -> None:
    _fake_cifar10(tmp_path)
    d = data.load("cifar10", root=tmp_path, val_fraction=0.1)
    assert d.image_shape == (3, 32, 32)
    assert len(d.train) + len(d.val) == 100 and len(d.test) == 20
    assert d.class_names[3] == "c3"
    # Channel layout: the first 1024 bytes of a row are the red plane.
    raw = pickle.loads((tmp_path / "cifar-10-batches-py" / "test_batch").read_bytes())[b"data"]
    test_rows = {tuple((np.round(r.numpy() * 255)).astype(np.uint8).reshape(-1)) for r in d.test.x}
    assert tuple(raw[0]) in test_rows


def test_cifar100_reader(tmp_path: Path) -> None:
    d = tmp_path / "cifar-100-python"
    d.mkdir()
    rng = np.random.default_rng(1)
    for name, n in (("train", 200), ("test", 100)):
        batch = {
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"fine_labels": list(np.arange(n) % 100),
            b"coarse_labels": list(np.arange(n) % 20),
        }
        (d / name).write_bytes(pickle.dumps(batch))
    ds = data.load("cifar100", root=tmp_path, val_fraction=0.5)
    assert ds.n_classes == 100 and len(ds.test) == 100 and len(ds.val) == 100
    assert int(ds.train.y.max()) == 99


def test_svhn_reader(tmp_path: Path) -> None:
    from scipy.io import loadmat, savemat

    d = tmp_path / "svhn"
    d.mkdir()
    rng = np.random.default_rng(2)
    for name, n in (("train_32x32.mat", 40), ("test_32x32.mat", 20)):
        x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        y = (np.arange(n) % 10 + 1).reshape(-1, 1).astype(np.uint8)  # 1..10, 10 = digit 0
        savemat(str(d / name), {"X": x, "y": y})
    ds = data.load("svhn", root=tmp_path, val_fraction=0.25)
    assert ds.image_shape == (3, 32, 32) and len(ds.test) == 20
    assert set(ds.test.y.tolist()) == set(range(10))
    # Pixel (row 0, col 1, channel 2) of the test images must come from X[0, 1, 2, :].
    m = loadmat(str(d / "test_32x32.mat"))
    vals = sorted(int(round(float(v) * 255)) for v in ds.test.x[:, 2, 0, 1])
    assert vals == sorted(int(v) for v in m["X"][0, 1, 2, :])


@pytest.mark.parametrize("name, needle", [("cifar10", "cifar-10-batches-py"), ("cifar100", "cifar-100-python"), ("svhn", "train_32x32.mat")])
def test_missing_files_helpful(tmp_path: Path, name: str, needle: str) -> None:
    with pytest.raises(FileNotFoundError) as e:
        data.load(name, root=tmp_path)
    assert needle in str(e.value) and str(tmp_path) in str(e.value)


# ------------------------------------------------------------------ multidomain


@pytest.fixture(scope="module")
def md() -> data.Dataset:
    return data.multidomain("digits", seed=0)


def test_multidomain_balanced(md: data.Dataset) -> None:
    assert md.n_domains == 4 and md.domain_names == ("original", "inverted", "sketch", "noisy-blurred")
    for s in (md.train, md.val, md.test):
        assert s.domain is not None and s.domain.dtype == torch.int64
        counts = torch.bincount(s.domain, minlength=4)
        assert int(counts.max() - counts.min()) <= 1
        for c in range(10):
            cc = torch.bincount(s.domain[s.y == c], minlength=4)
            assert int(cc.max() - cc.min()) <= 1  # domain independent of class
        assert float(s.x.min()) >= 0.0 and float(s.x.max()) <= 1.0


def test_multidomain_transformations(md: data.Dataset, digits: data.Dataset) -> None:
    base = digits.train  # same seed and same split, same order
    dom = md.train.domain
    assert torch.equal(md.train.y, base.y)
    assert torch.equal(md.train.x[dom == 0], base.x[dom == 0])
    assert torch.allclose(md.train.x[dom == 1], 1.0 - base.x[dom == 1])
    sk = md.train.x[dom == 2]
    assert torch.allclose(sk.amax(dim=(1, 2, 3)), torch.ones(sk.shape[0]))
    assert torch.allclose(sk, data.domain_transform(base.x[dom == 2], 2))
    nb = md.train.x[dom == 3]
    assert not torch.equal(nb, base.x[dom == 3])
    # Noise is zero-mean: the noisy-blurred image stays close to the blurred original.
    assert float((nb - base.x[dom == 3]).abs().mean()) < 0.25


def test_multidomain_seeded_and_via_load() -> None:
    a = data.multidomain("digits", seed=3, max_train=100)
    b = data.load("multidomain", base="digits", seed=3, max_train=100)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.train.domain, b.train.domain)


def test_sketch_of_step_edge() -> None:
    x = torch.zeros(1, 1, 8, 8)
    x[..., 4:] = 1.0
    s = data.domain_transform(x, 2)
    assert float(s[0, 0, :, 0].max()) == 0.0 and float(s[0, 0, :, 3:5].min()) == 1.0


def test_domain_transform_errors() -> None:
    with pytest.raises(ValueError, match="domain"):
        data.domain_transform(torch.zeros(1, 1, 4, 4), 4)
    with pytest.raises(ValueError, match="base"):
        data.multidomain("synthetic")


def test_subtle_multidomain_differs_in_the_intended_way() -> None:
    x = torch.rand(6, 1, 8, 8)
    gen = torch.Generator().manual_seed(0)
    d0 = data.domain_transform(x, 0, style="subtle")
    d1 = data.domain_transform(x, 1, style="subtle")
    d2 = data.domain_transform(x, 2, style="subtle")
    d3 = data.domain_transform(x, 3, style="subtle", generator=gen)
    assert torch.equal(d0, x)
    assert bool((d1 >= x - 1e-7).all()) and float((d1 - x).mean()) > 0.05  # gamma < 1 brightens mid-tones
    assert float((d1 - x).abs().max()) < 0.4  # ... but subtly, unlike inversion
    lap = lambda t: (t[..., 1:, :] - t[..., :-1, :]).abs().mean()  # noqa: E731
    assert lap(d2) < lap(x)  # softer edges
    assert 0.03 < float((d3 - x).std()) < 0.12  # light noise
    md = data.multidomain("digits", seed=0, style="subtle", max_train=200)
    assert md.domain_names == data.SUBTLE_DOMAIN_NAMES
    base = data.load("digits", seed=0, max_train=200)
    sel = md.train.domain == 1
    assert torch.allclose(md.train.x[sel], data.domain_transform(base.train.x[sel], 1, style="subtle"))
    assert torch.equal(md.train.x[md.train.domain == 0], base.train.x[md.train.domain == 0])
    # the default rendering is unchanged
    assert torch.equal(data.multidomain("digits", seed=0, max_train=50).train.x,
                       data.multidomain("digits", seed=0, max_train=50, style="default").train.x)
    with pytest.raises(ValueError, match="style"):
        data.multidomain("digits", style="loud")
    with pytest.raises(ValueError, match="strength"):
        data.domain_transform(x, 1, style="subtle", strength=0.0)


def test_trainconfig_data_options_reach_the_dataset() -> None:
    from gca_lab.train import TrainConfig, load_dataset

    cfg = TrainConfig(dataset="multidomain_digits", data_options={"style": "subtle"}, max_train=100)
    assert load_dataset(cfg.validate()).domain_names == data.SUBTLE_DOMAIN_NAMES
    with pytest.raises(TypeError, match="data_options"):
        TrainConfig(data_options=["style"]).validate()


# ------------------------------------------------------------------ MNIST-1D


def test_mnist1d_shapes_split_and_standardization(tmp_path: Path) -> None:
    d = data.load("mnist1d", root=tmp_path, n_samples=1000)
    assert "mnist1d" in data.available() and d.name == "mnist1d"
    assert (len(d.train), len(d.val), len(d.test)) == (700, 100, 200)
    assert d.image_shape == (1, data.MNIST1D_LENGTH) == (1, 40) and not d.is_image
    assert d.train.x.dtype == torch.float32 and d.train.y.dtype == torch.int64
    assert d.n_classes == 10 and d.class_names == tuple(str(i) for i in range(10))
    assert torch.equal(torch.bincount(d.train.y, minlength=10), torch.full((10,), 70))
    pool = torch.cat([d.train.x, d.val.x, d.test.x])
    assert abs(float(pool.mean())) < 1e-4 and abs(float(pool.std()) - 1.0) < 1e-3  # standardized by make_dataset


def test_mnist1d_deterministic_cached_and_leaves_global_rngs_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    import mnist1d.data

    random.seed(7)
    np.random.seed(7)
    torch.manual_seed(7)
    states = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state())
    a = data.load("mnist1d", root=tmp_path / "a", n_samples=500, seed=3)
    assert random.getstate() == states[0] and np.array_equal(np.random.get_state()[1], states[1])
    assert torch.equal(torch.get_rng_state(), states[2])
    cached = list((tmp_path / "a" / "cache").iterdir())
    assert [p.name for p in cached] == ["mnist1d-v1-n500-s42.npz"]  # atomic write: no temporary file left

    def no_generation(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached signals must be reused")

    monkeypatch.setattr(mnist1d.data, "make_dataset", no_generation)
    b = data.load("mnist1d", root=tmp_path / "a", n_samples=500, seed=3)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.test.y, b.test.y)
    monkeypatch.undo()
    c = data.load("mnist1d", root=tmp_path / "b", n_samples=500, seed=3)  # regenerated: the same signals
    assert torch.equal(a.train.x, c.train.x) and torch.equal(a.val.y, c.val.y)
    assert not torch.equal(a.train.x, data.load("mnist1d", root=tmp_path / "a", n_samples=500, seed=4).train.x)
    other = data.load("mnist1d", root=tmp_path / "a", n_samples=500, generation_seed=1, seed=3)
    assert not torch.equal(a.train.x, other.train.x)
    cached[0].write_bytes(b"torn write")  # an unreadable cache is regenerated, not trusted
    assert torch.equal(data.load("mnist1d", root=tmp_path / "a", n_samples=500, seed=3).train.x, a.train.x)


def test_mnist1d_is_generated_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket
    import urllib.request

    import mnist1d.data
    import requests

    calls = []
    make_dataset = mnist1d.data.make_dataset

    def spy(args: object = None, template: object = None) -> dict:
        calls.append(args)
        return make_dataset(args, template)

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("MNIST-1D must never touch the network")

    monkeypatch.setattr(mnist1d.data, "make_dataset", spy)
    monkeypatch.setattr(mnist1d.data, "get_dataset", no_network)
    monkeypatch.setattr(requests, "get", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    d = data.load("mnist1d", root=tmp_path, n_samples=200)
    assert len(calls) == 1 and calls[0].num_samples == 200 and calls[0].seed == 42
    assert calls[0].final_seq_length == 40 and calls[0].template_len == 12  # the package's default arguments
    assert len(d.train) + len(d.val) + len(d.test) == 200


def test_mnist1d_bad_arguments_name_the_parameter(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n_samples"):
        data.load("mnist1d", root=tmp_path, n_samples=10)
    with pytest.raises(TypeError, match="n_samples"):
        data.load("mnist1d", root=tmp_path, n_samples=1000.5)
    with pytest.raises(ValueError, match="generation_seed"):
        data.load("mnist1d", root=tmp_path, generation_seed=-1)
    with pytest.raises(TypeError, match=r"bogus.*n_samples"):
        data.load("mnist1d", root=tmp_path, bogus=1)
    with pytest.raises(ValueError, match="size=16"):
        data.load("mnist1d", root=tmp_path, size=16)
    with pytest.raises(ValueError, match="style='subtle'"):
        data.multidomain("mnist1d", root=tmp_path, style="subtle")


# ------------------------------------------------------------------ multidomain MNIST-1D


@pytest.fixture(scope="module")
def md1d() -> tuple[data.Dataset, data.Dataset]:
    return data.multidomain("mnist1d", seed=0, max_train=2000), data.load("mnist1d", seed=0, max_train=2000)


def test_multidomain_mnist1d_shapes_names_and_balance(md1d: tuple[data.Dataset, data.Dataset]) -> None:
    md, base = md1d
    assert md.name == "multidomain_mnist1d" and md.image_shape == (1, data.MNIST1D_LENGTH)
    assert md.n_domains == 4 and md.domain_names == data.SIGNAL_DOMAIN_NAMES == ("original", "ripple", "smooth",
                                                                                   "quantized")
    for s, b in ((md.train, base.train), (md.val, base.val), (md.test, base.test)):
        assert s.x.shape == b.x.shape and s.x.dtype == torch.float32 and torch.equal(s.y, b.y)
        assert s.domain is not None and s.domain.dtype == torch.int64
        assert int(torch.bincount(s.domain, minlength=4).max() - torch.bincount(s.domain, minlength=4).min()) <= 1
        for c in range(10):
            cc = torch.bincount(s.domain[s.y == c], minlength=4)
            assert int(cc.max() - cc.min()) <= 1  # domain independent of class
    again = data.load("multidomain", base="mnist1d", seed=0, max_train=2000)
    assert torch.equal(again.train.x, md.train.x) and torch.equal(again.test.domain, md.test.domain)
    other = data.multidomain("mnist1d", seed=1, max_train=2000)
    assert not torch.equal(other.train.domain, md.train.domain)


def test_multidomain_mnist1d_renders_each_domain_as_documented(md1d: tuple[data.Dataset, data.Dataset]) -> None:
    md, base = md1d
    x, x0, dom = md.train.x, base.train.x, md.train.domain
    assert torch.equal(x[dom == 0], x0[dom == 0])
    # ripple: the added residual is 0.5 sin(2 pi t / 4 + phi): period 4, sign flip every half period
    r = x[dom == 1] - x0[dom == 1]
    assert torch.allclose(r[..., 4:], r[..., :-4], atol=1e-5) and torch.allclose(r[..., 2:], -r[..., :-2], atol=1e-5)
    assert torch.allclose(r[..., 0] ** 2 + r[..., 1] ** 2, torch.full_like(r[..., 0], 0.25), atol=1e-5)
    phases = torch.atan2(r[:, 0, 0], r[:, 0, 1])  # phi, drawn per signal
    assert float(phases.std()) > 1.0
    # smooth: the 5-sample moving average (replicate padding): the high band is gone
    sm, raw = x[dom == 2], x0[dom == 2]
    assert torch.allclose(sm[..., 2:-2], raw.unfold(-1, 5, 1).mean(-1), atol=1e-5)
    assert float(sm.diff(dim=-1).pow(2).mean()) < 0.3 * float(raw.diff(dim=-1).pow(2).mean())
    # quantized: multiples of 0.6, each within half a step of the signal
    q, raw = x[dom == 3], x0[dom == 3]
    assert torch.allclose(q / 0.6, torch.round(q / 0.6), atol=1e-4) and float((q - raw).abs().max()) <= 0.3 + 1e-5
    assert torch.equal(data.signal_domain_transform(raw, 3), q)


def test_signal_domains_are_not_linearly_readable_from_the_raw_signal(md1d: tuple[data.Dataset, data.Dataset]) -> None:
    from gca_lab.evaluate import Splits, linear_probe

    md, _ = md1d
    flat = [s.x.reshape(len(s), -1) for s in (md.train, md.val, md.test)]
    acc = linear_probe(Splits(flat[0], md.train.domain, flat[1], md.val.domain, flat[2], md.test.domain),
                       Cs=(0.1, 1.0)).test_acc
    assert acc < 0.40  # chance 0.25: what an encoder decodes above this it computes, not reads off


def test_signal_domain_transform_errors() -> None:
    x = torch.randn(3, 1, 40)
    with pytest.raises(ValueError, match="domain"):
        data.signal_domain_transform(x, 4)
    with pytest.raises(ValueError, match="x"):
        data.signal_domain_transform(torch.randn(3, 1, 8, 8), 1)
    with pytest.raises(ValueError, match="length"):
        data.signal_domain_transform(torch.randn(3, 1, 4), 2)
    gen = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    assert torch.equal(data.signal_domain_transform(x, 1, generator=gen()), data.signal_domain_transform(x, 1, generator=gen()))


def test_missing_files_reports_only_what_is_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_system_fashion(monkeypatch, tmp_path)
    for name in ("digits", "synthetic", "mnist1d", "multidomain_digits", "multidomain_mnist1d", "multidomain"):
        assert data.missing_files(name, tmp_path) is None
    msg = data.missing_files("fashion_mnist", tmp_path)
    assert msg is not None and "apt-get install dataset-fashion-mnist" in msg
    assert data.missing_files("multidomain_fashion_mnist", tmp_path) == msg
    assert "CIFAR-10" in data.missing_files("cifar10", tmp_path) and "SVHN" in data.missing_files("svhn", tmp_path)
    _fake_fashion(tmp_path)
    assert data.missing_files("fashion_mnist", tmp_path) is None
    with pytest.raises(ValueError, match="name"):
        data.missing_files("mnist", tmp_path)


@pytest.mark.parametrize("name,options", [("digits", {}), ("mnist1d", {}), ("synthetic", {"dim": 8}),
                                          ("multidomain_digits", {}), ("multidomain_mnist1d", {})])
def test_input_shape_matches_the_loaded_data(name: str, options: dict) -> None:
    from gca_lab.train import TrainConfig, load_dataset

    ds = load_dataset(TrainConfig(dataset=name, data_options=options))
    assert data.input_shape(name, **options) == ds.image_shape
    assert data.input_shape("digits", size=16) == (1, 16, 16)
    with pytest.raises(ValueError, match="name"):
        data.input_shape("imagenet")
