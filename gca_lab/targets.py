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
- :func:`domain_prior_mass`: the same block target at fixed row-mass fractions (``same`` to the other
  same-domain samples, ``other`` to the other-domain samples, the rest to the positive), so its strength
  does not depend on the batch size or the domain counts.

Targets are returned unnormalized (entries as in the formulas). Every loss of
:mod:`gca_lab.losses` normalizes each target row to the row mass of the plan it is compared with
(see :func:`normalize_rows`); so only the ratios within a row matter, and a target row must have
positive mass.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from ._validate import check_choice, check_int, check_interval, check_nonnegative, check_tensor

__all__ = ["pairs", "joint_pairs", "class_prior", "domain_prior", "domain_prior_mass", "check_prior_masses",
           "normalize_rows", "expand_joint"]

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


def check_prior_masses(same: float, other: float, *, names: tuple[str, str] = ("same", "other")) -> tuple[float, float]:
    """``(same, other)`` as floats if they are row-mass fractions of :func:`domain_prior_mass`: each in
    ``[0, 1)`` and ``same + other < 1`` (the positive keeps ``1 - same - other > 0``, so every row has a
    positive). ``names``: the caller's parameter names, used in the messages."""
    same = check_interval(names[0], same, 0.0, 1.0, high_open=True)
    other = check_interval(names[1], other, 0.0, 1.0, high_open=True)
    if same + other >= 1.0:
        raise ValueError(f"{names[0]} + {names[1]} must be < 1 (the positive keeps 1 - {names[0]} - {names[1]} "
                         f"of its row), got {same!r} + {other!r} = {same + other!r}")
    return same, other


def domain_prior_mass(
    domains: Tensor, same: float, other: float, *, layout: Layout = "cross", dtype: torch.dtype = torch.float32
) -> Tensor:
    r"""The domain prior of arXiv 2502.20141, Sec. 6.2 at fixed row-mass fractions: every row sums to 1.

    Row ``i`` (a sample of domain ``D_i``, with ``n_same(i)`` samples of its domain, itself included,
    and ``n_other(i) = n - n_same(i)`` of the others) gives

        T_ii = 1 - same - other                       (its positive: its own other view)
        T_ij = same / (n_same(i) - 1)                 (D_j = D_i, j != i)
        T_ij = other / n_other(i)                     (D_j != D_i)

    so the share of a row the prior takes is ``same + other`` whatever the batch size and the domain
    counts, where :func:`domain_prior`'s positive keeps ``1 / (1 + alpha (n_same - 1) + beta n_other)``
    (at ``B = 256`` and four balanced domains, ``1 / (1 + 63 alpha + 192 beta)``). A row without another
    sample of its domain (``n_same(i) = 1``) gives ``same`` to its positive, and one without a sample of
    another domain gives it ``other``: the row still sums to 1, and a batch of one domain is :func:`pairs`.

    Relation to ``(alpha, beta)``: for fixed counts it is the row-normalized :func:`domain_prior`
    (:func:`normalize_rows`, what every loss compares) with

        alpha = same / ((n_same - 1) (1 - same - other)),   beta = other / (n_other (1 - same - other)),

    one pair per row (rows of domains of different sizes map to different ``(alpha, beta)``).

    Args:
        domains: ``(n,)`` integer domain labels.
        same, other: the row-mass fractions, each in ``[0, 1)`` with ``same + other < 1``
            (:func:`check_prior_masses`); ``same = other = 0`` is :func:`pairs`.
        layout: ``"cross"`` gives ``(n, n)``; ``"joint"`` gives ``(2n, 2n)`` as :func:`expand_joint`
            lays :func:`domain_prior` out (rows and columns ``[view 1, view 2]``, self-pairs zero, the
            partner view ``(i + n) mod 2n`` is the positive), with ``same`` and ``other`` spread over both
            views of the other samples, so a joint row also sums to 1 and its positive keeps
            ``1 - same - other``.
        dtype: floating dtype of the result.

    Returns:
        ``(n, n)`` or ``(2n, 2n)`` nonnegative target, rows summing to 1, on ``domains``' device.
    """
    domains = _labels("domains", domains)
    same, other = check_prior_masses(same, other)
    check_choice("layout", layout, ("cross", "joint"))
    eq = domains[:, None] == domains[None, :]
    n_same = eq.sum(1, keepdim=True).to(dtype) - 1.0  # other samples of the row's domain
    n_other = domains.numel() - 1.0 - n_same
    # an empty block's mass goes to the positive (the clamp only avoids 0 / 0 there)
    per_same = torch.where(n_same > 0, same / n_same.clamp(min=1.0), 0.0)
    per_other = torch.where(n_other > 0, other / n_other.clamp(min=1.0), 0.0)
    cross = torch.where(eq, per_same, per_other)
    cross.diagonal().copy_(1.0 - (per_same * n_same + per_other * n_other).squeeze(1))
    if layout == "cross":
        return cross
    # both views of every other sample share its mass; the diagonal (the partner) keeps the positive's
    off = ~torch.eye(domains.numel(), dtype=torch.bool, device=domains.device)
    return expand_joint(torch.where(off, 0.5 * cross, cross))


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
