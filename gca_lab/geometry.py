"""Geometry of embeddings on the hypersphere: alignment and uniformity (Wang & Isola, ICML 2020) and
class compactness (a proxy for the compactness that arXiv 2502.20141 plots against eps and iterations).

:func:`alignment` and :func:`uniformity` return 0-d tensors, so they can be logged without a host
sync or used as differentiable regularizers; the class measures return floats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ._validate import check_features, check_labels, check_positive

__all__ = ["alignment", "uniformity", "ClassGeometry", "class_geometry", "compactness"]


def alignment(z1: Tensor, z2: Tensor, alpha: float = 2.0) -> Tensor:
    """Alignment of positive pairs (Wang & Isola 2020): ``E_i ||f(x_i) - f(y_i)||_2^alpha``.

    Rows are L2-normalized inside (``f = z / ||z||``), as in the definition on the hypersphere, so
    the value lies in [0, 2^alpha]; lower is better aligned.

    Args:
        z1, z2: ``(N, D)`` embeddings of the two views; row i of each is a positive pair.
        alpha: exponent > 0 (default 2).

    Returns:
        0-d tensor on the inputs' device, differentiable (usable as a regularizer); call
        ``float()`` to log it.
    """
    check_features("z1", z1)
    check_features("z2", z2)
    if z1.shape != z2.shape:
        raise ValueError(f"z2 must have the shape of z1 {tuple(z1.shape)}, got {tuple(z2.shape)}")
    alpha = check_positive("alpha", alpha)
    z1 = nn.functional.normalize(z1, dim=1)
    z2 = nn.functional.normalize(z2, dim=1)
    return (z1 - z2).norm(dim=1).pow(alpha).mean()


def uniformity(z: Tensor, t: float = 2.0) -> Tensor:
    """Uniformity (Wang & Isola 2020): ``log mean_{i<j} exp(-t ||f(x_i) - f(x_j)||_2^2)``.

    Rows are L2-normalized inside. The mean runs over all N(N-1)/2 distinct pairs and is evaluated
    as ``logsumexp - log(#pairs)``; squared distances use ``2 - 2 <f_i, f_j>`` (clamped at 0),
    which keeps the gradient finite for coincident points. Lower (more negative) is more uniform;
    the minimum over two points is ``-4t`` (antipodal). Memory is O(N^2).

    Args:
        z: ``(N, D)`` embeddings, N >= 2.
        t: scale > 0 (default 2).

    Returns:
        0-d differentiable tensor on ``z``'s device.
    """
    check_features("z", z, min_rows=2)
    t = check_positive("t", t)
    z = nn.functional.normalize(z, dim=1)
    n = z.shape[0]
    i, j = torch.triu_indices(n, n, offset=1, device=z.device)  # (P,), (P,)
    sq = (2.0 - 2.0 * (z @ z.T)[i, j]).clamp_min(0.0)  # (P,)
    return torch.logsumexp(-t * sq, dim=0) - math.log(sq.numel())


@dataclass(frozen=True)
class ClassGeometry:
    """Class spread of L2-normalized features (see :func:`class_geometry`).

    Attributes:
        within: mean over classes of the mean distance of a class's points to its centroid.
        between: mean distance between distinct class centroids.
        ratio: ``within / between`` (the compactness proxy; lower = more compact).
        n_classes: classes present.
    """

    within: float
    between: float
    ratio: float
    n_classes: int


def class_geometry(feats: Tensor, labels: Tensor) -> ClassGeometry:
    """Within-class and between-class spread of L2-normalized features.

    With ``h_i = f_i / ||f_i||``, class centroids ``mu_c = mean_{i: y_i = c} h_i`` (not
    renormalized), ``within = mean_c mean_{i: y_i = c} ||h_i - mu_c||`` (classes weighted equally,
    so a large class does not dominate), ``between = mean_{c < c'} ||mu_c - mu_c'||`` and
    ``ratio = within / between``.

    Args:
        feats: ``(N, D)`` features; labels: ``(N,)`` integer labels with >= 2 distinct classes.

    Returns:
        :class:`ClassGeometry`.
    """
    check_features("feats", feats, min_rows=2)
    check_labels("labels", labels, feats.shape[0], "feats")
    h = nn.functional.normalize(feats.detach().double(), dim=1)  # (N, D)
    classes, inv = torch.unique(labels.to(h.device), return_inverse=True)
    c = classes.numel()
    if c < 2:
        raise ValueError(f"labels must contain at least 2 classes, got {classes.tolist()}")
    counts = torch.bincount(inv, minlength=c).to(h.dtype)  # (C,)
    mu = torch.zeros(c, h.shape[1], dtype=h.dtype, device=h.device).index_add_(0, inv, h) / counts[:, None]
    dist = (h - mu[inv]).norm(dim=1)  # (N,)
    within = (torch.zeros(c, dtype=h.dtype, device=h.device).index_add_(0, inv, dist) / counts).mean()
    i, j = torch.triu_indices(c, c, offset=1, device=h.device)
    between = (mu[i] - mu[j]).norm(dim=1).mean()
    between_f = float(between)
    if between_f == 0.0:
        raise ValueError("feats have identical class centroids (between-class distance 0); ratio undefined")
    return ClassGeometry(float(within), between_f, float(within) / between_f, int(c))


def compactness(feats: Tensor, labels: Tensor) -> float:
    """Compactness **proxy**: mean within-class distance to the centroid / mean between-centroid distance.

    The paper's compactness (NeurIPS 2024 poster, panel 'Compactness and accuracy for GCA-INCE as we
    vary epsilon and the number of iterations'; values ~140-270) has no recovered definition; this is
    our proxy, computed on L2-normalized features by :func:`class_geometry` (``ratio``). Lower = tighter classes relative to their separation. Scale-free, so its values are
    not comparable with the poster's numbers, only its trend is.

    Args:
        feats: ``(N, D)``; labels: ``(N,)`` integer labels, >= 2 classes.

    Returns:
        the ratio, a float >= 0.
    """
    return class_geometry(feats, labels).ratio
