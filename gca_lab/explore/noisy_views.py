r"""Noisy views: where the transport plan sends mass when some positive pairs are corrupted (notebook 03).

A balanced plan must route mass ``1/B`` through every column, including a corrupted view that resembles
nothing; an unbalanced plan (KL-relaxed marginals, GCA-UOT of arXiv 2502.20141) can let it go.
:func:`compute_corrupted_mass` measures that mass for one penalty ``rho``; :func:`compute_noisy_views`
sweeps ``rho`` and also compares each loss's gradient on corrupted and clean pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from .. import losses as _losses
from .. import methods as _methods
from .._validate import check_interval, check_nonnegative
from ..ot import sinkhorn
from ._threads import one_thread, to_numpy
from .batches import two_view_batch

__all__ = ["CorruptedMass", "compute_corrupted_mass", "NoisyViews", "compute_noisy_views"]


@dataclass(frozen=True)
class CorruptedMass:
    """Mass of a plan on corrupted vs clean pairs (:func:`compute_corrupted_mass`).

    Masses are relative to the plan's own average: in units of ``|P| / B`` (``|P|`` the total mass), so
    a balanced plan has row and column mass 1 and a relaxed plan's masses average 1. This makes them
    independent of the cost convention: a constant shift ``c`` of the cost scales a converged relaxed
    plan uniformly, by ``exp(-c / (eps + 2 rho))`` (its optimality conditions with ``rho_a = rho_b = rho``).

    Attributes:
        rho: the marginal penalty (``inf`` = balanced). plan: ``(B, B)`` ``B P / |P|``.
        total_mass: ``|P|`` (1 for a balanced plan).
        corrupted: ``(B,)`` bool mask.
        col_mass_corrupted, col_mass_clean: mean column mass ``B (P^T 1)_j / |P|`` over corrupted / clean ``j``.
        row_mass_corrupted, row_mass_clean: the same for rows.
        pos_mass_corrupted, pos_mass_clean: mean ``B P_ii / |P|`` (the positive pair's own entry).
    """

    rho: float
    plan: np.ndarray
    total_mass: float
    corrupted: np.ndarray
    col_mass_corrupted: float
    col_mass_clean: float
    row_mass_corrupted: float
    row_mass_clean: float
    pos_mass_corrupted: float
    pos_mass_clean: float


@one_thread
def compute_corrupted_mass(
    fraction: float = 0.25,
    rho: float = 0.1,
    *,
    n: int = 96,
    eps: float = 0.1,
    n_iters: int = 100,
    corruption: str = "noise",
    seed: int = 0,
) -> CorruptedMass:
    r"""Where the plan sends mass when a fraction of positive pairs is corrupted (arXiv 2502.20141, GCA-UOT).

    Corrupts ``round(fraction n)`` pairs of a digit batch (:func:`two_view_batch`), then solves entropic
    OT between the views with uniform marginals and penalty ``rho`` on both sides (``inf`` = balanced)
    by :func:`gca_lab.ot.sinkhorn`, with the losses' own cost ``C = -eps log K`` (``K`` from
    :meth:`gca_lab.losses.GCALoss.log_kernel`). A balanced plan must route the same share of its mass
    through every column, including a corrupted view that resembles nothing; the unbalanced plan can let
    it go. Masses are measured relative to the plan's total (see :class:`CorruptedMass`), which a
    constant shift of the cost does not change.
    """
    fraction = check_interval("fraction", fraction, 0.0, 1.0)
    rho = check_nonnegative("rho", rho, allow_inf=True)
    batch = two_view_batch(n, dataset="digits", corrupt=fraction, corruption=corruption, seed=seed)
    bad = batch.corrupted
    with torch.no_grad():
        gibbs = _losses.GCALoss(eps=eps)
        cost = -eps * gibbs.log_kernel(gibbs.similarity(batch.z1, batch.z2))  # (B, B), the losses' cost
        res = sinkhorn(cost, eps=eps, rho_a=rho, rho_b=rho, n_iters=n_iters)
        total = res.plan.sum()
        plan = res.plan * (n / total)  # (B, B), rows/cols average 1
    if not bool(torch.isfinite(plan).all()) or not float(total) > 0:
        raise ValueError(f"no finite plan at eps={eps}, rho={rho}; increase eps")
    rows, cols, diag = plan.sum(1), plan.sum(0), torch.diagonal(plan)

    def mean(x: Tensor, mask: Tensor) -> float:
        return float(x[mask].mean()) if bool(mask.any()) else math.nan

    return CorruptedMass(
        rho=rho, plan=to_numpy(plan), total_mass=float(total), corrupted=bad.numpy().copy(),
        col_mass_corrupted=mean(cols, bad), col_mass_clean=mean(cols, ~bad),
        row_mass_corrupted=mean(rows, bad), row_mass_clean=mean(rows, ~bad),
        pos_mass_corrupted=mean(diag, bad), pos_mass_clean=mean(diag, ~bad),
    )


@dataclass(frozen=True)
class NoisyViews:
    """Result of :func:`compute_noisy_views`.

    Attributes:
        rhos: ``(R,)`` the swept penalties (the last is ``inf``, the balanced plan).
        col_mass_corrupted, col_mass_clean, pos_mass_corrupted, pos_mass_clean: ``(R,)`` (see :class:`CorruptedMass`).
        methods: loss names. grad_corrupted, grad_clean: ``{method: float}`` mean per-pair gradient norm
        ``sqrt(||dL/dz1_i||^2 + ||dL/dz2_i||^2)`` over corrupted / clean pairs; grad_ratio = corrupted / clean.
        fraction, eps: the settings.
    """

    rhos: np.ndarray
    col_mass_corrupted: np.ndarray
    col_mass_clean: np.ndarray
    pos_mass_corrupted: np.ndarray
    pos_mass_clean: np.ndarray
    methods: tuple[str, ...]
    grad_corrupted: dict[str, float]
    grad_clean: dict[str, float]
    grad_ratio: dict[str, float]
    fraction: float
    eps: float


@one_thread
def compute_noisy_views(
    fraction: float = 0.25,
    rhos: Sequence[float] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0),
    *,
    n: int = 96,
    eps: float = 0.1,
    n_iters: int = 100,
    methods: Sequence[str] = ("ince", "gca_ince", "gca_uot", "rince"),
    loss_eps: float = 0.5,
    loss_kwargs: dict[str, dict[str, Any]] | None = None,
    corruption: str = "noise",
    seed: int = 0,
) -> NoisyViews:
    r"""Mass on corrupted vs clean pairs against ``rho``, and each loss's gradient on corrupted vs clean pairs.

    The mass part sweeps :func:`compute_corrupted_mass` over ``rhos`` (plus ``inf``). The gradient part
    evaluates each loss of ``methods`` (:func:`gca_lab.methods.make_loss` with ``eps = loss_eps`` and the
    library defaults, overridable by ``loss_kwargs[name]``) on the embeddings of the same batch, and
    differentiates it by autograd with respect to both views' embeddings ``z1``, ``z2``.
    """
    rs = [check_nonnegative("rho", r, allow_inf=True) for r in rhos]
    if not rs or not math.isinf(rs[-1]):
        rs.append(math.inf)
    rows = [compute_corrupted_mass(fraction, r, n=n, eps=eps, n_iters=n_iters, corruption=corruption, seed=seed)
            for r in rs]
    batch = two_view_batch(n, dataset="digits", corrupt=fraction, corruption=corruption, seed=seed)
    bad = batch.corrupted
    g_bad, g_clean, ratio = {}, {}, {}
    for name in methods:
        kw = {"eps": loss_eps, **((loss_kwargs or {}).get(name, {}))}
        loss = _methods.make_loss(name, **kw)
        z1 = batch.z1.clone().requires_grad_(True)
        z2 = batch.z2.clone().requires_grad_(True)
        value = loss(z1, z2)
        g1, g2 = torch.autograd.grad(value, (z1, z2))
        per_pair = (g1.pow(2).sum(1) + g2.pow(2).sum(1)).sqrt()  # (B,)
        gb = float(per_pair[bad].mean()) if bool(bad.any()) else math.nan
        gc = float(per_pair[~bad].mean()) if bool((~bad).any()) else math.nan
        g_bad[name], g_clean[name] = gb, gc
        ratio[name] = gb / gc if gc > 0 else math.nan
    return NoisyViews(
        rhos=np.array(rs), col_mass_corrupted=np.array([r.col_mass_corrupted for r in rows]),
        col_mass_clean=np.array([r.col_mass_clean for r in rows]),
        pos_mass_corrupted=np.array([r.pos_mass_corrupted for r in rows]),
        pos_mass_clean=np.array([r.pos_mass_clean for r in rows]),
        methods=tuple(methods), grad_corrupted=g_bad, grad_clean=g_clean, grad_ratio=ratio,
        fraction=float(fraction), eps=float(eps),
    )
