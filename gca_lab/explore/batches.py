r"""Two-view batches of real data, with optional view noise and corrupted pairs (notebooks 01-03).

The batches are *real* two-view batches of the bundled digits (8 x 8 pixels) from :mod:`gca_lab.data`,
augmented by :class:`gca_lab.augment.TwoViews`; the embedding of a view is its **raw pixel vector minus
the training-set mean pixel** (64-d, no encoder), so that cosine similarities are not all close to 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch
from torch import Tensor

from .. import data as _data
from .._validate import check_choice, check_int, check_interval, check_nonnegative
from ..augment import TwoViews
from ._threads import one_thread

__all__ = ["ViewBatch", "two_view_batch", "make_batch"]


@dataclass(frozen=True)
class ViewBatch:
    """Two augmented views of ``B`` digit images and their embeddings.

    Attributes:
        x1, x2: ``(B, 1, 8, 8)`` the two views (pixels; ``x2`` of corrupted samples replaced).
        z1, z2: ``(B, 64)`` float64 embeddings: flattened pixels minus the training-set mean pixel.
        labels: ``(B,)`` class labels; ``domains``: ``(B,)`` domain indices (0 for plain digits).
        corrupted: ``(B,)`` bool, True where view 2 was replaced (the pair is no longer a positive).
        embedding: a one-line description of the embedding.
    """

    x1: Tensor
    x2: Tensor
    z1: Tensor
    z2: Tensor
    labels: Tensor
    domains: Tensor
    corrupted: Tensor
    embedding: str = "raw pixels minus the training-set mean pixel (64-d, no encoder)"


@lru_cache(maxsize=4)
def _dataset(name: str) -> Any:
    return _data.load(name)


@lru_cache(maxsize=4)
def _views(name: str, kind: str) -> TwoViews:
    return TwoViews.for_dataset(_dataset(name), kind)


def make_batch(n: int, dataset: str, noise: float, corrupt: float, corruption: str, seed: int, kind: str,
               sort: bool) -> ViewBatch:
    """An uncached, unvalidated :func:`two_view_batch` (for loops over many fresh batches)."""
    ds = _dataset(dataset)
    train = ds.train
    g = torch.Generator().manual_seed(int(seed))
    if n > len(train):
        raise ValueError(f"n must be <= {len(train)} (the training split of {dataset!r}), got {n}")
    idx = torch.randperm(len(train), generator=g)[:n]
    labels = train.y[idx]
    domains = train.domain[idx] if train.domain is not None else torch.zeros_like(labels)
    if sort:  # group by domain then class, so block structure is visible in the heatmaps
        order = torch.argsort(domains * 100 + labels, stable=True)
        idx, labels, domains = idx[order], labels[order], domains[order]
    x = train.x[idx]
    x1, x2 = _views(dataset, kind)(x, g)
    if noise > 0:
        x1 = x1 + noise * torch.randn(x1.shape, generator=g)
        x2 = x2 + noise * torch.randn(x2.shape, generator=g)
    k = int(round(corrupt * n))
    corrupted = torch.zeros(n, dtype=torch.bool)
    if k > 0:
        bad = torch.sort(torch.randperm(n, generator=g)[:k]).values
        corrupted[bad] = True
        x2 = x2.clone()
        if corruption == "noise":
            x2[bad] = torch.rand((k, *x2.shape[1:]), generator=g)
        else:  # "swap": view 2 of another sample (a cyclic shift among all samples, never itself)
            src = (bad + 1 + torch.randint(0, n - 1, (k,), generator=g)) % n
            x2[bad] = x2[src].clone() if k < n else x2[torch.roll(torch.arange(n), 1)]
    mean = train.x.mean(0).reshape(1, -1).double()
    z1 = x1.reshape(n, -1).double() - mean
    z2 = x2.reshape(n, -1).double() - mean
    return ViewBatch(x1, x2, z1, z2, labels, domains, corrupted)


@one_thread
def two_view_batch(
    n: int = 128,
    *,
    dataset: str = "digits",
    noise: float = 0.0,
    corrupt: float = 0.0,
    corruption: str = "noise",
    seed: int = 0,
    kind: str = "light",
    sort: bool = True,
) -> ViewBatch:
    """A real batch of two augmented views of ``n`` digits, with optional view noise and corrupted pairs.

    Args:
        n: batch size ``B`` (>= 2).
        dataset: ``"digits"`` or ``"multidomain"`` (digits rendered in 4 synthetic domains: original,
            inverted, sketch, noisy-blurred; :func:`gca_lab.data.multidomain`).
        noise: std of extra Gaussian pixel noise added to both views (pixels are in [0, 1]).
        corrupt: fraction of samples whose view 2 is replaced (``round(corrupt * n)`` samples).
        corruption: ``"noise"`` (view 2 becomes uniform noise) or ``"swap"`` (view 2 of another sample).
        seed: seed of the sample choice, the augmentation, the noise and the corruption.
        kind: augmentation strength of :class:`gca_lab.augment.TwoViews` (``"light"``, ``"standard"``, ``"none"``).
        sort: order samples by (domain, class) so heatmaps show block structure.

    Returns:
        A :class:`ViewBatch` (cached: the same arguments return the same object; do not modify it).
    """
    n = check_int("n", n, minimum=2)
    check_choice("dataset", dataset, ("digits", "multidomain"))
    noise = check_nonnegative("noise", noise)
    corrupt = check_interval("corrupt", corrupt, 0.0, 1.0)
    check_choice("corruption", corruption, ("noise", "swap"))
    check_choice("kind", kind, ("light", "standard", "none"))
    return _cached_batch(n, dataset, float(noise), float(corrupt), corruption, int(seed), kind, bool(sort))


@lru_cache(maxsize=64)
def _cached_batch(*args: Any) -> ViewBatch:
    return make_batch(*args)
