"""Diagnostics of transport plans: block structure by class and marginal errors.

They read any plan (the losses' :meth:`gca_lab.losses.GCALoss.details`, :func:`gca_lab.ot.sinkhorn`)
and return floats for tables and claims; the solvers themselves live in :mod:`gca_lab.ot`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ._validate import check_finite, check_labels, check_tensor

__all__ = ["plan_block_ratio", "marginal_errors", "pair_mass"]


def _check_plan(plan: Any) -> Tensor:
    check_tensor("plan", plan, min_ndim=2)
    if not plan.is_floating_point():
        raise TypeError(f"plan must be a floating tensor, got dtype {plan.dtype}")
    if plan.shape[-1] < 1 or plan.shape[-2] < 1:
        raise ValueError(f"plan must have shape (..., n, m) with n, m >= 1, got {tuple(plan.shape)}")
    check_finite("plan", plan)
    if bool((plan < 0).any()):
        raise ValueError(f"plan must be nonnegative, got minimum {float(plan.min())!r}")
    return plan


def plan_block_ratio(
    plan: Tensor,
    labels: Tensor | None = None,
    *,
    row_labels: Tensor | None = None,
    col_labels: Tensor | None = None,
    exclude_diagonal: bool | None = None,
) -> float:
    """Block contrast of a transport plan: mean within-class mass / mean between-class mass.

        ratio = mean_{(i,j) in S} P_ij / mean_{(i,j) in D} P_ij,
        S = {y_i = y'_j, i != j},  D = {y_i != y'_j}

    A ratio > 1 means the plan puts more mass on same-class pairs than on different-class pairs
    (the block-diagonal transport of arXiv 2502.20141, Sec. 6.2); a uniform plan gives exactly 1. The diagonal
    ``i = j`` holds the positive pairs, whose large mass would swamp the class signal, so it is
    left out of S by default for square plans.

    Args:
        plan: ``(..., n, m)`` nonnegative plan; means run over all leading dims too.
        labels: ``(n,)`` labels of rows and columns (square plans); or give both
        row_labels: ``(n,)`` and col_labels: ``(m,)``.
        exclude_diagonal: drop ``i = j`` from S; default True when n == m, else False.

    Returns:
        the ratio (``inf`` if all between-class mass is 0 while within-class mass is positive).
    """
    _check_plan(plan)
    n, m = plan.shape[-2], plan.shape[-1]
    if labels is not None:
        if row_labels is not None or col_labels is not None:
            raise ValueError("give either labels or row_labels/col_labels, not both")
        row_labels = col_labels = labels
    elif row_labels is None or col_labels is None:
        raise ValueError("labels (or both row_labels and col_labels) must be given, got None")
    check_labels("row_labels" if labels is None else "labels", row_labels, n, "plan (dim -2)")
    check_labels("col_labels" if labels is None else "labels", col_labels, m, "plan (dim -1)")
    if exclude_diagonal is None:
        exclude_diagonal = n == m
    elif not isinstance(exclude_diagonal, bool):
        raise TypeError(f"exclude_diagonal must be a bool or None, got {exclude_diagonal!r}")
    if exclude_diagonal and n != m:
        raise ValueError(f"exclude_diagonal=True needs a square plan, got n={n}, m={m}")

    p = plan.detach().double()
    same = row_labels.to(p.device)[:, None] == col_labels.to(p.device)[None, :]  # (n, m)
    within = same.clone()
    if exclude_diagonal:
        within.fill_diagonal_(False)
    between = ~same
    if not bool(within.any()):
        raise ValueError("labels give no same-class pairs (off the diagonal); ratio undefined")
    if not bool(between.any()):
        raise ValueError("labels give no different-class pairs; ratio undefined")
    w = float(p[..., within].mean())
    b = float(p[..., between].mean())
    if b == 0.0:
        if w == 0.0:
            raise ValueError("plan has zero mass on both within- and between-class pairs; ratio undefined")
        return math.inf
    return w / b


def marginal_errors(plan: Tensor, a: Tensor, b: Tensor) -> tuple[float, float]:
    """L1 marginal errors of a plan: ``(||P 1 - a||_1, ||P^T 1 - b||_1)``.

    Args:
        plan: ``(..., n, m)``; a: ``(..., n)`` row marginal; b: ``(..., m)`` column marginal
            (broadcast against the plan's leading dims; give the scale you solved for).

    Returns:
        ``(row_err, col_err)`` as floats; for a batch of plans, the largest error over the batch.
    """
    _check_plan(plan)
    check_tensor("a", a, min_ndim=1)
    check_tensor("b", b, min_ndim=1)
    if a.shape[-1] != plan.shape[-2]:
        raise ValueError(f"a must have {plan.shape[-2]} entries (plan rows), got shape {tuple(a.shape)}")
    if b.shape[-1] != plan.shape[-1]:
        raise ValueError(f"b must have {plan.shape[-1]} entries (plan columns), got shape {tuple(b.shape)}")
    check_finite("a", a)
    check_finite("b", b)
    p = plan.detach().double()
    row = (p.sum(-1) - a.detach().to(p)).abs().sum(-1)  # (...)
    col = (p.sum(-2) - b.detach().to(p)).abs().sum(-1)  # (...)
    return float(row.max()), float(col.max())


def pair_mass(plan: Tensor, marked: Tensor) -> dict[str, float | None]:
    """Where a square plan puts its mass on the designated positive pairs ``(i, i)``, split by a mask of
    marked rows (the false-positive pairs of :class:`gca_lab.train.FalsePositives`) and clean rows.

    With row masses ``r_i = sum_j P_ij``, total ``M = sum_i r_i`` and ``G`` the marked (or clean) rows:

        pair_share[G] = mean_{i in G} P_ii / r_i          (the share of its row's mass a pair keeps)
        row_mass[G]   = mean_{i in G} n r_i / M           (1 = a row of average mass)
        pair_mass[G]  = mean_{i in G} n P_ii / M          (the pair's mass, 1 = an average row's mass)
        marked_ratio  = pair_mass[marked] / pair_mass[clean]

    A balanced plan keeps every ``r_i = M / n``, so only ``pair_share`` can move; an unbalanced plan
    (KL-relaxed marginals, arXiv 2502.20141, Table 1: GCA-UOT) can also shed a row's mass, which is how
    it can down-weight a pair it does not trust.

    Args:
        plan: ``(n, n)`` nonnegative plan with positive row masses.
        marked: ``(n,)`` bool, the rows whose pair ``(i, i)`` is a false positive.

    Returns:
        ``{"pair_share_marked", "pair_share_clean", "row_mass_marked", "row_mass_clean", "pair_mass_marked",
        "pair_mass_clean", "marked_ratio", "n_marked"}`` as floats; the marked (clean) entries are None when
        no row is marked (clean), and ``marked_ratio`` when either side is empty.
    """
    _check_plan(plan)
    n = plan.shape[-1]
    if plan.ndim != 2 or plan.shape[-2] != n:
        raise ValueError(f"plan must be square (n, n), got shape {tuple(plan.shape)}")
    check_tensor("marked", marked, ndim=1)
    if marked.dtype != torch.bool or marked.shape[0] != n:
        raise ValueError(f"marked must be a bool tensor of shape ({n},), got dtype {marked.dtype}, "
                         f"shape {tuple(marked.shape)}")
    p = plan.detach().double()
    rows = p.sum(-1)  # (n,)
    if bool((rows <= 0).any()):
        raise ValueError("plan has a row with zero mass; pair shares are undefined")
    total = rows.sum()
    diag = p.diagonal()  # (n,)
    marked = marked.to(p.device)
    out: dict[str, float | None] = {"n_marked": float(marked.sum())}
    for name, group in (("marked", marked), ("clean", ~marked)):
        if not bool(group.any()):
            out.update({f"pair_share_{name}": None, f"row_mass_{name}": None, f"pair_mass_{name}": None})
            continue
        out[f"pair_share_{name}"] = float((diag[group] / rows[group]).mean())
        out[f"row_mass_{name}"] = float(n * rows[group].mean() / total)
        out[f"pair_mass_{name}"] = float(n * diag[group].mean() / total)
    pm, pc = out["pair_mass_marked"], out["pair_mass_clean"]
    out["marked_ratio"] = None if pm is None or pc is None or pc == 0 else pm / pc
    return out
