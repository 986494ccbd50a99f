"""Datasets as tensors: digits (bundled default), MNIST-1D, Fashion-MNIST, CIFAR-10/100, SVHN, synthetic, multi-domain.

Every dataset is small enough to live on the training device as plain tensors, so there is no
``DataLoader``: a :class:`Dataset` holds three :class:`Split` objects (train / val / test) whose
images are ``float32`` in ``[0, 1]`` with shape ``(N, C, H, W)`` (or ``(N, D)`` for vector data,
``(N, C, L)`` for 1-D signals such as MNIST-1D),
labels ``int64`` of shape ``(N,)`` and optional domain indices ``int64`` of shape ``(N,)``.

Splits are fixed by a seed and drawn from a *local* ``numpy.random.Generator`` (the global RNGs are
never touched), stratified by class: the same ``seed`` gives the same split on every machine.

File-based datasets (Fashion-MNIST, CIFAR, SVHN) are read from the official file formats; nothing is
downloaded (the build machines are offline) and torchvision is not required. See ``data/README.md``
for where to put the files.

References: the paper trains on CIFAR-10/100 and ImageNet-100 (NeurIPS 2024 poster, panel 'Results 1.
Standard Setting'; the authors' code also runs SVHN, ``docs/reference_implementation.md``), with the
official splits; the multi-domain set stands in for PACS (arXiv 2502.20141, Sec. 6.2, Fig. 1).
"""

from __future__ import annotations

import gzip
import math
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from . import _paths
from . import datasets as _registry
from ._seeds import stream_seed
from ._validate import check_choice, check_int, check_interval, check_positive, check_tensor

__all__ = [
    "Split",
    "Dataset",
    "load",
    "multidomain",
    "available",
    "missing_files",
    "DATASETS",
    "MNIST1D_LENGTH",
    "MNIST1D_OPTIONS",
    "DOMAIN_NAMES",
    "SUBTLE_DOMAIN_NAMES",
    "SIGNAL_DOMAIN_NAMES",
    "FASHION_MNIST_FILES",
    "FASHION_MNIST_SYSTEM_DIR",
    "read_idx",
    "domain_transform",
    "signal_domain_transform",
]


# The Debian package `dataset-fashion-mnist` installs the four gzipped IDX files here.
FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
from .domains import (  # noqa: E402  (re-exported: the renderings multidomain() applies)
    DOMAIN_NAMES, SIGNAL_DOMAIN_NAMES, STYLES, SUBTLE_DOMAIN_NAMES, domain_transform, signal_domain_transform,
)


# --------------------------------------------------------------------------------------------------
# Containers
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """One split of a dataset, as tensors on one device.

    Attributes:
        x: inputs, ``(N, C, H, W)`` float32 in ``[0, 1]`` for images, ``(N, D)`` for vector data or
            ``(N, C, L)`` for 1-D signals (MNIST-1D: standardized, not bounded).
        y: class labels, ``(N,)`` int64 in ``[0, n_classes)``.
        domain: domain indices, ``(N,)`` int64, or ``None`` for single-domain data.
    """

    x: Tensor
    y: Tensor
    domain: Tensor | None = None

    def __post_init__(self) -> None:
        check_tensor("x", self.x, min_ndim=2)
        check_tensor("y", self.y, ndim=1)
        if self.y.dtype != torch.int64:
            raise TypeError(f"y must have dtype torch.int64, got {self.y.dtype}")
        if self.y.shape[0] != self.x.shape[0]:
            raise ValueError(f"y must have {self.x.shape[0]} entries (one per row of x), got {self.y.shape[0]}")
        if self.domain is not None:
            check_tensor("domain", self.domain, ndim=1)
            if self.domain.dtype != torch.int64:
                raise TypeError(f"domain must have dtype torch.int64, got {self.domain.dtype}")
            if self.domain.shape[0] != self.x.shape[0]:
                raise ValueError(
                    f"domain must have {self.x.shape[0]} entries (one per row of x), got {self.domain.shape[0]}"
                )

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def to(self, device: torch.device | str, *, non_blocking: bool = False) -> "Split":
        """A new :class:`Split` with every tensor moved to ``device``."""
        dom = None if self.domain is None else self.domain.to(device, non_blocking=non_blocking)
        return Split(self.x.to(device, non_blocking=non_blocking), self.y.to(device, non_blocking=non_blocking), dom)


@dataclass(frozen=True)
class Dataset:
    """A dataset with fixed train / val / test splits.

    Attributes:
        name: registry name (``"digits"``, ``"fashion_mnist"``, ...).
        train, val, test: the three :class:`Split` objects.
        n_classes: number of classes.
        n_domains: number of domains (1 for single-domain data).
        domain_names: one name per domain (``("all",)`` for single-domain data).
        class_names: one name per class.
    """

    name: str
    train: Split
    val: Split
    test: Split
    n_classes: int
    n_domains: int
    domain_names: tuple[str, ...]
    class_names: tuple[str, ...]

    def to(self, device: torch.device | str, *, non_blocking: bool = False) -> "Dataset":
        """A new :class:`Dataset` with every split moved to ``device``."""
        return Dataset(
            self.name,
            self.train.to(device, non_blocking=non_blocking),
            self.val.to(device, non_blocking=non_blocking),
            self.test.to(device, non_blocking=non_blocking),
            self.n_classes,
            self.n_domains,
            self.domain_names,
            self.class_names,
        )

    @property
    def image_shape(self) -> tuple[int, ...]:
        """Shape of one input: ``(C, H, W)`` for images, ``(D,)`` for vector data, ``(C, L)`` for signals."""
        return tuple(int(s) for s in self.train.x.shape[1:])

    @property
    def is_image(self) -> bool:
        """True for image data ``(C, H, W)``."""
        return len(self.image_shape) == 3

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, shape={self.image_shape}, train={len(self.train)}, val={len(self.val)}, "
            f"test={len(self.test)}, n_classes={self.n_classes}, n_domains={self.n_domains})"
        )


# --------------------------------------------------------------------------------------------------
# Seeded, stratified index helpers (numpy, local Generator)
# --------------------------------------------------------------------------------------------------


def _rng(seed: int, stream: int) -> np.random.Generator:
    # Independent streams per purpose, so changing e.g. max_train never changes the val/test split.
    return np.random.default_rng([seed, stream])


def _largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Integer counts proportional to ``weights`` summing to ``total``."""
    raw = weights / weights.sum() * total
    counts = np.floor(raw).astype(np.int64)
    rest = total - int(counts.sum())
    if rest > 0:
        order = np.argsort(-(raw - counts), kind="stable")
        counts[order[:rest]] += 1
    return counts


def _stratified_split(y: np.ndarray, fractions: tuple[float, ...], rng: np.random.Generator) -> list[np.ndarray]:
    """Split indices of ``y`` into len(fractions)+1 parts, stratified by class.

    Part k gets ``round(f_k N)`` samples in total, spread over classes in proportion to their sizes
    (largest remainder, so small classes do not accumulate rounding error); the last part takes the
    rest. Each part is returned shuffled.
    """
    classes, counts = np.unique(y, return_counts=True)
    left = counts.copy()
    per_part = []
    for frac in fractions:
        take = np.minimum(_largest_remainder(counts.astype(np.float64), int(round(frac * y.size))), left)
        left -= take
        per_part.append(take)
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fractions) + 1)]
    for ci, c in enumerate(classes):
        idx = rng.permutation(np.flatnonzero(y == c))
        start = 0
        for k in range(len(fractions)):
            n = int(per_part[k][ci])
            parts[k].append(idx[start : start + n])
            start += n
        parts[-1].append(idx[start:])
    return [rng.permutation(np.concatenate(p)) for p in parts]


def _stratified_subsample(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices of ``y`` with class proportions kept (largest remainder), shuffled."""
    if n >= y.size:
        return rng.permutation(y.size)
    classes, counts = np.unique(y, return_counts=True)
    take = np.minimum(_largest_remainder(counts.astype(np.float64), n), counts)
    chosen = [rng.permutation(np.flatnonzero(y == c))[:k] for c, k in zip(classes, take)]
    return rng.permutation(np.concatenate(chosen))


# --------------------------------------------------------------------------------------------------
# File readers
# --------------------------------------------------------------------------------------------------

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (the MNIST / Fashion-MNIST format), gzipped or not.

    The header is two zero bytes, a type code (0x08 = uint8, ..., 0x0E = float64), the number of
    dimensions, then one big-endian int32 per dimension, then the data in C order.

    Args:
        path: file path; gzip is detected from the magic bytes, not the extension.

    Returns:
        The array with its stored shape and a native-endian dtype.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path={str(path)!r} is not a file")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"path={str(path)!r} is not an IDX file (bad magic {raw[:4]!r})")
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}i", raw[4 : 4 + 4 * ndim])
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - offset != expected:
        raise ValueError(
            f"path={str(path)!r}: header says shape {shape} ({expected} bytes), file holds {len(raw) - offset}"
        )
    return np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


def _find_fashion_mnist(root: Path) -> dict[str, Path]:
    dirs = [root / "fashion_mnist", root, FASHION_MNIST_SYSTEM_DIR]
    report = []
    for d in dirs:
        found: dict[str, Path] = {}
        for base in FASHION_MNIST_FILES:
            for cand in (d / f"{base}.gz", d / base):
                if cand.is_file():
                    found[base] = cand
                    break
        if len(found) == len(FASHION_MNIST_FILES):
            return found
        missing = [b for b in FASHION_MNIST_FILES if b not in found]
        report.append(f"  {d}: missing {', '.join(m + '[.gz]' for m in missing)}")
    raise FileNotFoundError(
        "Fashion-MNIST IDX files not found. Need all four of "
        + ", ".join(f + "[.gz]" for f in FASHION_MNIST_FILES)
        + " in one of:\n"
        + "\n".join(report)
        + "\nGet them with `sudo apt-get install dataset-fashion-mnist` (installs into "
        f"{FASHION_MNIST_SYSTEM_DIR}/), or copy the four IDX files (from "
        "https://github.com/zalandoresearch/fashion-mnist, data/fashion/) into "
        f"{root / 'fashion_mnist'}/."
    )


def _unpickle(path: Path) -> dict:
    # The official CIFAR batches are Python pickles; only load files from a trusted source.
    with open(path, "rb") as f:
        return pickle.load(f, encoding="bytes")


def _find_dir(root: Path, names: tuple[str, ...], required: tuple[str, ...], what: str, how: str) -> Path:
    tried = []
    for name in names:
        d = root / name
        missing = [r for r in required if not (d / r).is_file()]
        if not missing:
            return d
        tried.append(f"  {d}: missing {', '.join(missing)}")
    raise FileNotFoundError(f"{what} files not found. Looked in:\n" + "\n".join(tried) + f"\n{how}")


def _cifar_images(data: np.ndarray) -> np.ndarray:
    return np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32)  # rows are R(1024) G(1024) B(1024)


# Raw loaders: return (x_pool uint8/float array, y_pool, x_test or None, y_test or None, class_names).
# x arrays are (N, C, H, W) uint8 (scaled later, after subsampling, to save memory) or float vectors.
RawData = tuple[np.ndarray, np.ndarray, "np.ndarray | None", "np.ndarray | None", tuple[str, ...]]


def _raw_digits(root: Path) -> RawData:
    from sklearn.datasets import load_digits

    d = load_digits()
    # Pixel values are 0..16; keep them as float32 and scale by 16 in _to_tensor.
    x = d.images.astype(np.float32)[:, None] / 16.0
    return x, d.target.astype(np.int64), None, None, tuple(str(i) for i in range(10))


def _raw_fashion_mnist(root: Path) -> RawData:
    files = _find_fashion_mnist(root)
    xtr = read_idx(files["train-images-idx3-ubyte"])[:, None]
    ytr = read_idx(files["train-labels-idx1-ubyte"]).astype(np.int64)
    xte = read_idx(files["t10k-images-idx3-ubyte"])[:, None]
    yte = read_idx(files["t10k-labels-idx1-ubyte"]).astype(np.int64)
    return xtr, ytr, xte, yte, FASHION_MNIST_CLASSES


# dataset: (folders tried under root, files each must hold, display name); see data/README.md.
_FILE_LAYOUTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "cifar10": (("cifar-10-batches-py", "cifar10/cifar-10-batches-py"),
                tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",), "CIFAR-10"),
    "cifar100": (("cifar-100-python", "cifar100/cifar-100-python"), ("train", "test"), "CIFAR-100"),
    "svhn": (("svhn", "."), ("train_32x32.mat", "test_32x32.mat"), "SVHN"),
}


def _raw_cifar10(root: Path) -> RawData:
    d = _find_dir(
        root,
        *_FILE_LAYOUTS["cifar10"],
        "Download the python version (cifar-10-python.tar.gz) from https://www.cs.toronto.edu/~kriz/cifar.html "
        f"and extract it into {root}/ so that {root}/cifar-10-batches-py/data_batch_1 exists.",
    )
    tr = [_unpickle(d / f"data_batch_{i}") for i in range(1, 6)]
    te = _unpickle(d / "test_batch")
    xtr = np.concatenate([_cifar_images(b[b"data"]) for b in tr])
    ytr = np.concatenate([np.asarray(b[b"labels"], dtype=np.int64) for b in tr])
    names = CIFAR10_CLASSES
    if (d / "batches.meta").is_file():
        meta = _unpickle(d / "batches.meta")
        if b"label_names" in meta:
            names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in meta[b"label_names"])
    return xtr, ytr, _cifar_images(te[b"data"]), np.asarray(te[b"labels"], dtype=np.int64), names


def _raw_cifar100(root: Path) -> RawData:
    d = _find_dir(
        root,
        *_FILE_LAYOUTS["cifar100"],
        "Download the python version (cifar-100-python.tar.gz) from https://www.cs.toronto.edu/~kriz/cifar.html "
        f"and extract it into {root}/ so that {root}/cifar-100-python/train exists.",
    )
    tr, te = _unpickle(d / "train"), _unpickle(d / "test")
    names = tuple(f"class_{i}" for i in range(100))
    if (d / "meta").is_file():
        meta = _unpickle(d / "meta")
        if b"fine_label_names" in meta:
            names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in meta[b"fine_label_names"])
    return (
        _cifar_images(tr[b"data"]),
        np.asarray(tr[b"fine_labels"], dtype=np.int64),
        _cifar_images(te[b"data"]),
        np.asarray(te[b"fine_labels"], dtype=np.int64),
        names,
    )


def _raw_svhn(root: Path) -> RawData:
    from scipy.io import loadmat

    d = _find_dir(
        root,
        *_FILE_LAYOUTS["svhn"],
        "Download train_32x32.mat and test_32x32.mat (format 2) from http://ufldl.stanford.edu/housenumbers/ "
        f"into {root}/svhn/.",
    )

    def read(name: str) -> tuple[np.ndarray, np.ndarray]:
        m = loadmat(str(d / name))
        x = np.ascontiguousarray(np.transpose(m["X"], (3, 2, 0, 1)))  # (32,32,3,N) -> (N,3,32,32)
        y = np.asarray(m["y"], dtype=np.int64).reshape(-1)
        y[y == 10] = 0  # SVHN stores digit 0 as label 10
        return x.astype(np.uint8), y

    xtr, ytr = read("train_32x32.mat")
    xte, yte = read("test_32x32.mat")
    return xtr, ytr, xte, yte, tuple(str(i) for i in range(10))


def _synthetic(
    seed: int, n_classes: int = 10, dim: int = 16, concentration: float = 20.0, n_per_class: int = 200
) -> RawData:
    n_classes = check_int("n_classes", n_classes, minimum=2)
    dim = check_int("dim", dim, minimum=2)
    concentration = check_positive("concentration", concentration)
    n_per_class = check_int("n_per_class", n_per_class, minimum=3)
    rng = _rng(seed, 7)
    centers = rng.standard_normal((n_classes, dim))
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    y = np.repeat(np.arange(n_classes, dtype=np.int64), n_per_class)
    # Projected Gaussian around each center: a cheap stand-in for a von Mises-Fisher cluster whose
    # angular spread shrinks like 1/sqrt(concentration).
    x = centers[y] + rng.standard_normal((y.size, dim)) / math.sqrt(concentration)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), y, None, None, tuple(f"cluster_{i}" for i in range(n_classes))


def _raw_synthetic(root: Path, **kwargs: Any) -> RawData:  # seed is injected by load()
    return _synthetic(**kwargs)


# --------------------------------------------------------------------------------------------------
# MNIST-1D (generated offline from the `mnist1d` package's templates)
# --------------------------------------------------------------------------------------------------

MNIST1D_LENGTH = 40
MNIST1D_OPTIONS = _registry.REGISTRY["mnist1d"].options
#: The split sizes as counts (:func:`_split_sizes`): options of the generated datasets that take them.
SPLIT_SIZE_OPTIONS = ("n_train", "n_val", "n_test")
_MNIST1D_CACHE_VERSION = 1


def _mnist1d_generate(n_samples: int, generation_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(x (N, 1, 40) float32, y (N,) int64)`` from ``mnist1d.data.make_dataset``, fully offline.

    ``make_dataset`` builds every signal from the ten hand-written templates of the package (no
    file, no network; its ``get_dataset`` would download a pickle instead, which is never called).
    It seeds Python's and NumPy's *global* RNGs, so their states are saved and restored around the
    call: loading MNIST-1D leaves the caller's global randomness untouched. The package's own 80/20
    split is a cut of one shuffled array, so both parts are pooled and re-split by :func:`load`.
    """
    import random

    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = n_samples
    args.seed = generation_seed
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        raw = make_dataset(args)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    x = np.concatenate([raw["x"], raw["x_test"]]).astype(np.float32)[:, None, :]
    y = np.concatenate([raw["y"], raw["y_test"]]).astype(np.int64)
    return np.ascontiguousarray(x), y


def _mnist1d_arrays(root: Path, n_samples: int, generation_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The generated pool, cached in ``root/cache/`` (written atomically; a failed write only skips the cache)."""
    import os

    path = root / "cache" / f"mnist1d-v{_MNIST1D_CACHE_VERSION}-n{n_samples}-s{generation_seed}.npz"
    if path.is_file():
        try:
            with np.load(path) as f:
                x, y = f["x"], f["y"]
            if x.shape == (y.shape[0], 1, MNIST1D_LENGTH) and x.dtype == np.float32 and y.dtype == np.int64:
                return x, y
        except (OSError, ValueError, KeyError):
            pass  # unreadable cache: regenerate (about 2 s per 10,000 signals) and overwrite it
    x, y = _mnist1d_generate(n_samples, generation_seed)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.tmp{os.getpid()}.npz")
        np.savez(tmp, x=x, y=y)
        os.replace(tmp, path)
    except OSError:
        pass  # read-only data folder: the data is rebuilt on every load instead
    return x, y


def _raw_mnist1d(root: Path, *, n_samples: int = 20_000, generation_seed: int = 42) -> RawData:
    n_samples = check_int("n_samples", n_samples, minimum=100)
    generation_seed = check_int("generation_seed", generation_seed, minimum=0)
    x, y = _mnist1d_arrays(root, n_samples, generation_seed)
    return x, y, None, None, tuple(str(i) for i in range(10))


DATASETS: dict[str, Callable[..., RawData]] = {
    "digits": _raw_digits,
    "fashion_mnist": _raw_fashion_mnist,
    "cifar10": _raw_cifar10,
    "cifar100": _raw_cifar100,
    "svhn": _raw_svhn,
    "synthetic": _raw_synthetic,
    "mnist1d": _raw_mnist1d,
}
"""Dataset name -> raw loader, one per name of the registry :data:`gca_lab.datasets.REGISTRY` (shapes, kinds,
options and domains live there). ``load`` also accepts ``"multidomain"`` and ``"multidomain_<base>"``."""
if set(DATASETS) != set(_registry.REGISTRY):  # pragma: no cover - a loader without a registry entry
    raise ImportError(f"gca_lab.data loaders {sorted(DATASETS)} and gca_lab.datasets.REGISTRY "
                      f"{sorted(_registry.REGISTRY)} must name the same datasets")


def available() -> list[str]:
    """Names accepted by :func:`load` (``"multidomain"`` included): :func:`gca_lab.datasets.names`."""
    return _registry.names()


def input_shape(name: str, size: int | None = None, **options: Any) -> tuple[int, ...]:
    """The shape of one sample of ``load(name, size=size, **options)`` (or of ``"multidomain_<base>"``),
    without loading anything (:func:`gca_lab.datasets.input_shape`): what a run's protocol is built from on
    machines that lack a dataset's files (see :func:`gca_lab.train.protocol`)."""
    return _registry.input_shape(name, size, **options)


def missing_files(name: str, root: str | Path | None = None) -> str | None:
    """Why ``name``'s files cannot be found under ``root`` (the loader's own message), or ``None``.

    Bundled and generated datasets (``digits``, ``synthetic``, ``mnist1d``) are never missing;
    ``multidomain_<base>`` and ``multidomain`` are missing when their base is. Only looks for the
    files (nothing is read), so experiments can tell which runs this machine can compute.

    Args:
        name: a name of :func:`available` or ``"multidomain_<base>"``.
        root: the data folder passed to :func:`load`. Default: :func:`gca_lab._paths.data_dir`.

    Returns:
        ``None`` when the files are present, else the ``FileNotFoundError`` message of the loader
        (which files, where it looked, how to get them).
    """
    base, _ = _registry.parse(name, param="name")
    if not base.files:
        return None
    name = base.name
    root = _paths.data_dir() if root is None else Path(root)
    try:
        if name == "fashion_mnist":
            _find_fashion_mnist(root)
        elif name in _FILE_LAYOUTS:
            _find_dir(root, *_FILE_LAYOUTS[name], "See data/README.md for where to get them.")
    except FileNotFoundError as exc:
        return str(exc)
    return None


# --------------------------------------------------------------------------------------------------
# load
# --------------------------------------------------------------------------------------------------


def _to_tensor(x: np.ndarray, idx: np.ndarray, size: int | None) -> Tensor:
    sub = x[idx]
    t = torch.from_numpy(np.ascontiguousarray(sub))
    if t.dtype == torch.uint8:
        t = t.to(torch.float32).div_(255.0)
    else:
        t = t.to(torch.float32)
    if size is not None and t.ndim == 4 and tuple(t.shape[-2:]) != (size, size):
        # Bilinear interpolation of [0,1] data stays in [0,1]; clamp only guards float round-off.
        t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False).clamp_(0.0, 1.0)
    return t.contiguous()


def _check_max(name: str, value: int | None) -> int | None:
    return None if value is None else check_int(name, value, minimum=1)


def _check_load_args(seed: int, val_fraction: float, test_fraction: float, size: int | None,
                     root: str | Path | None) -> tuple[int, float, float, int | None, Path]:
    """The split arguments of :func:`load`, checked; ``root`` resolved (default :func:`gca_lab._paths.data_dir`)."""
    seed = check_int("seed", seed, minimum=0)
    val_fraction = check_interval("val_fraction", val_fraction, 0.0, 1.0, high_open=True)
    test_fraction = check_interval("test_fraction", test_fraction, 0.0, 1.0, high_open=True)
    if size is not None:
        size = check_int("size", size, minimum=1)
    if root is None:
        root = _paths.data_dir()
    if not isinstance(root, (str, Path)):
        raise TypeError(f"root must be a str, pathlib.Path or None, got {type(root).__name__}")
    return seed, val_fraction, test_fraction, size, Path(root)


def load(
    name: str,
    root: str | Path | None = None,
    *,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    max_train: int | None = None,
    max_val: int | None = None,
    max_test: int | None = None,
    size: int | None = None,
    **kwargs: Any,
) -> Dataset:
    """Load a dataset as tensors with a fixed, seeded, stratified train / val / test split.

    Datasets without an official test split (``digits``, ``synthetic``, ``mnist1d``) are split per class into
    ``1 - val_fraction - test_fraction`` / ``val_fraction`` / ``test_fraction`` (70/10/20 by default).
    Datasets with an official split (``fashion_mnist``, ``cifar10``, ``cifar100``, ``svhn``) keep it;
    val is carved from the official train set (``val_fraction`` of it, per class) and ``test_fraction``
    is ignored. Then ``max_train`` / ``max_val`` / ``max_test`` cap each split by a stratified, seeded
    subsample. The split depends only on ``seed`` (a local ``numpy.random.Generator``, never the global
    state); the caps draw from separate streams, so changing ``max_train`` never changes val or test.

    Args:
        name: one of :func:`available` (the registry :data:`gca_lab.datasets.REGISTRY`, ``multidomain``)
            or ``multidomain_<base>``.
        root: folder holding the dataset files (see ``data/README.md``); default
            :func:`gca_lab._paths.data_dir` (the checkout's ``data/``, whatever the working directory).
        seed: split seed (also the data seed for ``synthetic``). Default 0.
        val_fraction: fraction of each class put in val, in ``[0, 1)``. Default 0.1.
        test_fraction: fraction of each class put in test, for data without an official test split.
            Default 0.2.
        max_train, max_val, max_test: optional caps (stratified subsample) on each split's size.
        size: resize images to ``size x size`` (bilinear; e.g. ``size=16`` for digits). Default: native
            (8 for digits, 28 for Fashion-MNIST, 32 for CIFAR/SVHN).
        **kwargs: the dataset's options (:attr:`gca_lab.datasets.DatasetInfo.options`). ``synthetic``:
            ``n_classes=10, dim=16, concentration=20.0, n_per_class=200`` (points on the unit sphere in
            ``R^dim``). ``mnist1d``: ``n_samples=20_000, generation_seed=42`` (MNIST-1D, Greydanus 2020,
            generated offline by ``mnist1d.data.make_dataset``, standardized over the pool, cached in
            ``root/cache/``; 20,000 rather than the package's 5,000: docs/measurements.md), or
            ``n_train, n_val, n_test`` (exact split sizes, together, instead of ``n_samples`` and the
            fractions: a pool of their sum, :func:`_split_sizes`).
            ``multidomain``: see :func:`multidomain`.

    Returns:
        A :class:`Dataset` on the CPU; images ``(N, C, H, W)`` float32 in ``[0, 1]``, vectors ``(N, D)``,
        signals ``(N, C, L)`` (``mnist1d``: ``(N, 1, 40)``, standardized, not in ``[0, 1]``).

    Raises:
        ValueError: unknown ``name`` (the message lists the known names) or a bad argument.
        FileNotFoundError: missing dataset files (the message says which and how to get them).
    """
    base, multi = _registry.parse(name, kwargs, param="name")
    if multi:
        kwargs.pop("base", None)
        return multidomain(
            base.name, root=root, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction,
            max_train=max_train, max_val=max_val, max_test=max_test, size=size, **kwargs,
        )
    seed, val_fraction, test_fraction, size, root = _check_load_args(seed, val_fraction, test_fraction, size, root)
    kwargs, val_fraction, test_fraction = _split_sizes(name, kwargs, val_fraction, test_fraction)
    caps = (_check_max("max_train", max_train), _check_max("max_val", max_val), _check_max("max_test", max_test))
    x_pool, y_pool, x_test, y_test, class_names = _read_raw(name, root, seed, size, kwargs)
    tr_idx, val_idx, te_idx = _split_indices(y_pool, y_test, seed, val_fraction, test_fraction, caps)
    if x_test is None:  # no official test split: test rows come from the pool
        x_test, y_test = x_pool, y_pool

    def split(x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> Split:
        return Split(_to_tensor(x, idx, size), torch.from_numpy(np.ascontiguousarray(y[idx])).to(torch.int64))

    n_classes = len(class_names)
    return Dataset(
        name=name,
        train=split(x_pool, y_pool, tr_idx),
        val=split(x_pool, y_pool, val_idx),
        test=split(x_test, y_test, te_idx),
        n_classes=n_classes,
        n_domains=1,
        domain_names=("all",),
        class_names=tuple(class_names),
    )


def _split_sizes(name: str, options: dict[str, Any], val_fraction: float, test_fraction: float
                 ) -> tuple[dict[str, Any], float, float]:
    """``(options, val_fraction, test_fraction)`` of :func:`load` once the split sizes are read.

    A generated dataset whose registry options hold :data:`SPLIT_SIZE_OPTIONS` (``mnist1d``) may be
    given its splits as counts, ``n_train``, ``n_val`` and ``n_test`` together: the pool is then
    ``n_samples = n_train + n_val + n_test`` signals and the fractions become ``n_val / n_samples`` and
    ``n_test / n_samples``, which :func:`_stratified_split` turns back into exactly ``n_val`` and
    ``n_test`` rows (each part gets ``round(f N)``), the rest, ``n_train``, to train. Without them,
    everything is returned unchanged (the committed protocol). ``ValueError`` names a missing size,
    a size below 1, or ``n_samples`` given beside them (the pool would be defined twice)."""
    info = _registry.REGISTRY.get(name)
    given = {k: options[k] for k in SPLIT_SIZE_OPTIONS if k in options}
    if info is None or not given or not set(SPLIT_SIZE_OPTIONS) <= set(info.options):
        return options, val_fraction, test_fraction
    missing = [k for k in SPLIT_SIZE_OPTIONS if k not in given]
    if missing:
        raise ValueError(f"split sizes {sorted(given)} given without {missing}: n_train, n_val and n_test "
                         f"go together (each an int >= 1), or none of them (the fractions then apply)")
    if "n_samples" in options:
        raise ValueError(f"n_samples={options['n_samples']!r} given with n_train, n_val, n_test: the pool is "
                         f"their sum; drop n_samples")
    sizes = {k: check_int(k, v, minimum=1) for k, v in given.items()}
    total = sum(sizes.values())
    rest = {k: v for k, v in options.items() if k not in SPLIT_SIZE_OPTIONS}
    return {**rest, "n_samples": total}, sizes["n_val"] / total, sizes["n_test"] / total


def _read_raw(name: str, root: Path, seed: int, size: int | None, options: dict[str, Any]) -> RawData:
    """The raw arrays of a registered dataset, after checking its options (generated datasets take the
    registry's ``options``; files on disk take none) and that ``size`` applies (images only)."""
    info = _registry.REGISTRY[name]
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown} for dataset {name!r}; "
                        + (f"allowed: {list(info.options)}" if info.options else "it takes none"))
    if size is not None and info.kind != "images":
        shape = "is vector data" if info.kind == "vectors" else f"signals have length {info.shape[-1]}"
        raise ValueError(f"size={size} applies to image data only; {name!r} {shape}")
    if name == "synthetic":
        return _raw_synthetic(root, seed=seed, **options)  # the split seed is also its data seed
    return DATASETS[name](root, **options)


def _split_indices(y_pool: np.ndarray, y_test: np.ndarray | None, seed: int, val_fraction: float,
                   test_fraction: float, caps: tuple[int | None, int | None, int | None]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(train, val, test)`` row indices of :func:`load`: a stratified split of the pool (val and, without
    an official test split ``y_test``, test), then each split capped by a stratified subsample. Each draw
    has its own stream of ``seed`` (0: the split, 1-3: the caps), so a cap never moves another split."""
    rng = _rng(seed, 0)
    if y_test is None:
        if val_fraction + test_fraction >= 1.0:
            raise ValueError(
                f"val_fraction + test_fraction must be < 1, got {val_fraction} + {test_fraction}"
            )
        val_idx, te_idx, tr_idx = _stratified_split(y_pool, (val_fraction, test_fraction), rng)
        y_test = y_pool
    else:
        val_idx, tr_idx = _stratified_split(y_pool, (val_fraction,), rng)
        te_idx = rng.permutation(y_test.size)
    max_train, max_val, max_test = caps
    if max_train is not None:
        tr_idx = tr_idx[_stratified_subsample(y_pool[tr_idx], max_train, _rng(seed, 1))]
    if max_val is not None:
        val_idx = val_idx[_stratified_subsample(y_pool[val_idx], max_val, _rng(seed, 2))]
    if max_test is not None:
        te_idx = te_idx[_stratified_subsample(y_test[te_idx], max_test, _rng(seed, 3))]
    return tr_idx, val_idx, te_idx


# --------------------------------------------------------------------------------------------------
# Multi-domain (PACS-like) datasets: the renderings themselves are gca_lab/domains.py
# --------------------------------------------------------------------------------------------------


def _assign_domains(y: Tensor, n_dom: int, rng: np.random.Generator) -> Tensor:
    """``(N,)`` int64 domain of each row: within each class (in increasing label order) a random permutation
    of its rows takes domains ``0, 1, ..., n_dom - 1`` in turn, the starting domain rotated by the rows of the
    classes before, so totals are balanced as well as per-class counts."""
    labels = y.numpy()
    dom = np.empty(labels.size, dtype=np.int64)
    offset = 0
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        dom[idx] = (np.arange(idx.size) + offset) % n_dom
        offset += idx.size
    return torch.from_numpy(dom)


def multidomain(
    base: str = "digits",
    root: str | Path | None = None,
    *,
    seed: int = 0,
    noise_std: float = 0.15,
    blur_sigma: float = 1.0,
    style: str = "default",
    strength: float = 1.0,
    **load_kwargs: Any,
) -> Dataset:
    """A PACS-like four-domain dataset rendered from ``base``'s images (arXiv 2502.20141, Sec. 6.2, Fig. 1).

    With ``base="mnist1d"`` the signals are rendered in the four texture domains of
    :func:`signal_domain_transform` (``("original", "ripple", "smooth", "quantized")``); the image
    options ``noise_std``, ``blur_sigma``, ``style`` and ``strength`` do not apply (``style`` must stay
    ``"default"``).

    Each base image is assigned to exactly ONE domain (:func:`_assign_domains`: balanced, independent of
    the class), so the domain cannot be read off the sample's identity. Domains: 0 ``original``, 1 ``inverted`` (``1 - x``), 2 ``sketch``
    (Sobel edge magnitude in ``[0, 1]``), 3 ``noisy-blurred`` (blur + noise, clipped); see
    :func:`domain_transform`. Sample order equals ``load(base, seed=seed, ...)``'s, so
    ``multidomain(...).train.x[i]`` is ``base.train.x[i]`` rendered in domain ``train.domain[i]``.

    Args:
        base: an image dataset name accepted by :func:`load`, or ``"mnist1d"`` (default ``"digits"``).
        root: data folder. Default: :func:`gca_lab._paths.data_dir`.
        seed: split, domain-assignment and noise seed. Default 0.
        noise_std, blur_sigma: domain-3 parameters. Defaults 0.15 and 1.0 pixel.
        style, strength: ``"default"`` or ``"subtle"`` domains (:data:`SUBTLE_DOMAIN_NAMES`) and the
            strength of the subtle ones (see :func:`domain_transform`). Default ``"default"``.
        **load_kwargs: passed to :func:`load` (``val_fraction``, ``test_fraction``, ``max_train``,
            ``size``, ...).

    Returns:
        A :class:`Dataset` named ``"multidomain_<base>"`` with ``n_domains=4``, ``domain`` set on every
        split and ``domain_names = ("original", "inverted", "sketch", "noisy-blurred")``
        (:data:`SUBTLE_DOMAIN_NAMES` with ``style="subtle"``, :data:`SIGNAL_DOMAIN_NAMES` for ``mnist1d``).
    """
    if not isinstance(base, str):
        raise TypeError(f"base must be a str, got {type(base).__name__}")
    check_choice("base", base, [n for n in sorted(DATASETS) if _registry.REGISTRY[n].has_domains])
    seed = check_int("seed", seed, minimum=0)
    noise_std = check_positive("noise_std", noise_std)
    blur_sigma = check_positive("blur_sigma", blur_sigma)
    style = check_choice("style", style, STYLES)
    strength = check_interval("strength", strength, 0.0, 1.0, low_open=True)
    signals = base == "mnist1d"
    if signals and style != "default":
        raise ValueError(f"style={style!r} applies to image bases only; base 'mnist1d' has one rendering "
                         f"(style='default', the domains {SIGNAL_DOMAIN_NAMES})")
    ds = load(base, root, seed=seed, **load_kwargs)
    n_dom = len(SIGNAL_DOMAIN_NAMES if signals else DOMAIN_NAMES)
    gen = torch.Generator().manual_seed(stream_seed(seed, 17))

    def render(split: Split, stream: int) -> Split:
        dom_t = _assign_domains(split.y, n_dom, _rng(seed, 10 + stream))
        x = split.x.clone()
        for d in range(1, n_dom):
            sel = dom_t == d
            if bool(sel.any()) and signals:
                x[sel] = signal_domain_transform(split.x[sel], d, generator=gen)
            elif bool(sel.any()):
                x[sel] = domain_transform(
                    split.x[sel], d, noise_std=noise_std, blur_sigma=blur_sigma, generator=gen,
                    style=style, strength=strength,
                )
        return Split(x, split.y.clone(), dom_t)

    return Dataset(
        name=f"multidomain_{base}",
        train=render(ds.train, 0),
        val=render(ds.val, 1),
        test=render(ds.test, 2),
        n_classes=ds.n_classes,
        n_domains=n_dom,
        domain_names=SIGNAL_DOMAIN_NAMES if signals else DOMAIN_NAMES if style == "default" else SUBTLE_DOMAIN_NAMES,
        class_names=ds.class_names,
    )
