r"""Target plans ``P_tgt``: what "aligned" means for a batch (arXiv 2502.20141: the
target of the GCA objective; the domain prior of Sec. 6.2).

A contrastive loss in the GCA view is a divergence ``d_M(P_tgt || P_theta)``. The target encodes
which pairs should carry transport mass:

- :func:`pairs`: the cross-view identity (view 1 of sample k matches view 2 of sample k), the
  target of the paper's ``B x B`` formulation (``layout="cross"``).
- :func:`joint_pairs`: SimCLR's ``2B x 2B`` all-views layout (``layout="joint"``), rows and
  columns ordered ``[view 1 of samples 0..B-1, view 2 of samples 0..B-1]``; row ``i`` matches its
  partner ``(i + B) mod 2B``; self-pairs are excluded (zero).
- :func:`class_prior`: every pair of samples sharing a label is a positive (supervised
  contrastive learning).
- :func:`domain_prior`: ``P_tgt = I + alpha 1(same domain, i != j) + beta 1(other domain, i != j)``.

Targets are returned unnormalized (entries as in the formulas). Every loss of
:mod:`gca_lab.losses` normalizes each target row to the row mass of the plan it is compared with
(see :func:`normalize_rows`); so only the ratios within a row matter, and a target row must have
positive mass.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from ._validate import check_choice, check_int, check_nonnegative, check_tensor

__all__ = ["pairs", "joint_pairs", "class_prior", "domain_prior", "normalize_rows", "expand_joint"]

Layout = Literal["cross", "joint"]


def pairs(n: int, *, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> Tensor:
    """``(n, n)`` identity: view 1 of sample ``k`` is transported to view 2 of sample ``k``."""
    n = check_int("n", n, minimum=1)
    return torch.eye(n, dtype=dtype, device=device)


def joint_pairs(n: int, *, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> Tensor:
    """``(2n, 2n)`` partner permutation of the all-views layout: ``T[i, (i + n) mod 2n] = 1``."""
    n = check_int("n", n, minimum=1)
    idx = torch.arange(2 * n, device=device)
    target = torch.zeros(2 * n, 2 * n, dtype=dtype, device=device)
    target[idx, (idx + n) % (2 * n)] = 1.0
    return target


def expand_joint(cross: Tensor) -> Tensor:
    """Lift a ``(n, n)`` sample-level target to the ``(2n, 2n)`` all-views layout.

    Every one of the four view blocks gets ``cross``; the diagonal (self-pairs, excluded by the
    joint losses) is zeroed. The partner of ``i`` inherits ``cross[k, k]`` (the positive weight).
    """
    check_tensor("cross", cross, ndim=2)
    if cross.shape[0] != cross.shape[1]:
        raise ValueError(f"cross must be square, got shape {tuple(cross.shape)}")
    joint = cross.repeat(2, 2)
    joint.fill_diagonal_(0.0)
    return joint


def _labels(name: str, labels: Tensor) -> Tensor:
    check_tensor(name, labels, ndim=1)
    if labels.is_floating_point() or labels.is_complex():
        raise TypeError(f"{name} must be an integer tensor, got dtype {labels.dtype}")
    if labels.numel() < 1:
        raise ValueError(f"{name} must not be empty")
    return labels


def class_prior(labels: Tensor, *, layout: Layout = "cross", dtype: torch.dtype = torch.float32) -> Tensor:
    """Positives shared by samples of one class: ``T_ij = 1(y_i = y_j)`` (supervised contrastive).

    Args:
        labels: ``(n,)`` integer class labels of the batch's samples.
        layout: ``"cross"`` gives ``(n, n)`` (diagonal 1: a sample's own other view);
            ``"joint"`` gives ``(2n, 2n)`` with self-pairs zeroed.
    """
    labels = _labels("labels", labels)
    check_choice("layout", layout, ("cross", "joint"))
    cross = (labels[:, None] == labels[None, :]).to(dtype)
    return cross if layout == "cross" else expand_joint(cross)


def domain_prior(
    domains: Tensor, alpha: float, beta: float, *, layout: Layout = "cross", dtype: torch.dtype = torch.float32
) -> Tensor:
    r"""The paper's block target (arXiv 2502.20141, Sec. 6.2, Fig. 1A): ``T = I + alpha 1(D_i = D_j, i != j) + beta 1(D_i != D_j, i != j)``.

    Diagonal 1 (a sample's own other view), same-domain pairs ``alpha``, cross-domain pairs ``beta``.
    Larger ``alpha - beta`` asks the representation to keep domain information.

    Args:
        domains: ``(n,)`` integer domain labels.
        alpha, beta: nonnegative weights (``alpha = beta = 0`` is :func:`pairs`).
        layout: ``"cross"`` ``(n, n)`` or ``"joint"`` ``(2n, 2n)`` (self-pairs zeroed).

    The losses compare row-normalized targets (:func:`normalize_rows`): row ``i`` puts weight
    ``1 / (1 + alpha (n_same - 1) + beta n_other)`` on the positive.
    """
    domains = _labels("domains", domains)
    alpha = check_nonnegative("alpha", alpha)
    beta = check_nonnegative("beta", beta)
    check_choice("layout", layout, ("cross", "joint"))
    same = (domains[:, None] == domains[None, :]).to(dtype)
    cross = alpha * same + beta * (1.0 - same)
    cross.fill_diagonal_(1.0)
    return cross if layout == "cross" else expand_joint(cross)


def normalize_rows(target: Tensor, row_mass: Tensor | None = None) -> Tensor:
    """Scale each row of ``target`` to mass ``row_mass`` (default 1): ``T_ij * m_i / sum_j T_ij``.

    Raises ``ValueError`` if a row has zero mass or an entry is negative or non-finite.
    """
    check_tensor("target", target, min_ndim=2)
    bad = torch.stack([(~torch.isfinite(target)).any(), (target < 0).any(), ~(target.sum(-1) > 0).all()]).tolist()
    if bad[0] or bad[1]:
        raise ValueError("target must be finite and nonnegative")
    if bad[2]:
        raise ValueError("target has a row with zero mass: every anchor needs at least one positive")
    out = target / target.sum(-1, keepdim=True)
    return out if row_mass is None else out * row_mass.unsqueeze(-1)
