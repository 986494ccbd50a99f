r"""InfoNCE as one KL projection, the Sinkhorn iterates, and the monotonicity theorem (notebook 01).

Every function starts from the Gibbs kernel of the loss itself: ``log K = loss.log_kernel(loss.similarity(z1, z2))``
of :class:`gca_lab.losses.InfoNCE` (:class:`gca_lab.losses.GCALoss`), so the cost convention is the
losses' one (arXiv 2502.20141: ``K = exp(-C / eps)`` with the cost ``C`` of the similarities). Balanced
projections do not depend on a constant shift of the cost, so nothing here changes with that convention.

- :func:`compute_ince_identity`: InfoNCE equals ``KL(I || P^(1)) / B``, ``P^(1)`` the row projection of ``K``.
- :func:`compute_sinkhorn_iterates`: ``P^(0) = K``, ``P^(1)`` (rows), ``P^(2)`` (columns), ...
- :func:`compute_theorem_check`: ``KL(I || P^(inf)) <= KL(I || P^(1))`` on many real batches, and
  ``KL(I || P^(t))`` non-increasing at every half step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from .. import losses as _losses
from .._validate import check_int, check_positive
from ..ot import col_projection, generalized_kl, row_projection
from ._threads import one_thread, to_numpy
from .batches import make_batch

__all__ = [
    "gibbs_log_kernel",
    "compute_ince_identity",
    "SinkhornIterates",
    "compute_sinkhorn_iterates",
    "TheoremCheck",
    "compute_theorem_check",
]


def gibbs_log_kernel(z1: Tensor, z2: Tensor, eps: float) -> Tensor:
    """``(B, B)`` ``log K`` of InfoNCE at ``eps`` (cross layout): ``loss.log_kernel(loss.similarity(z1, z2))``."""
    loss = _losses.InfoNCE(eps=eps)
    return loss.log_kernel(loss.similarity(z1, z2))


@one_thread
def compute_ince_identity(z1: Tensor, z2: Tensor, eps: float = 0.5, *, rtol: float = 1e-6) -> dict[str, Any]:
    r"""InfoNCE versus ``KL(I || P^(1))`` on one batch (arXiv 2502.20141: InfoNCE is one KL projection).

    ``P^(1) = Prox^KL_{C_1}(K) = diag(1 / K1) K`` is one row projection (``a = 1``, :func:`gca_lab.ot.row_projection`)
    of the loss's Gibbs kernel ``K``. The library's :class:`gca_lab.losses.InfoNCE` (mean over anchors)
    must equal ``generalized_kl(I, P^(1)) / B``.

    Args:
        z1, z2: ``(B, d)`` embeddings of the two views (computed in float64).

    Returns:
        ``{"ince", "kl", "abs_diff", "holds", "eps", "B"}`` (floats, ``holds`` a bool: ``|diff| <= rtol (1 + |ince|)``).
    """
    eps = check_positive("eps", eps)
    z1, z2 = z1.double(), z2.double()
    b = z1.shape[0]
    ince = float(_losses.InfoNCE(eps=eps)(z1, z2))
    log_k = gibbs_log_kernel(z1, z2, eps)  # (B, B)
    p1 = row_projection(log_k, torch.ones(b, dtype=log_k.dtype)).exp()  # (B, B) rows sum to 1
    kl = float(generalized_kl(torch.eye(b, dtype=log_k.dtype), p1, dim=(-2, -1))) / b
    diff = abs(ince - kl)
    return {"ince": ince, "kl": kl, "abs_diff": diff, "holds": bool(diff <= rtol * (1 + abs(ince))), "eps": eps, "B": b}


@dataclass(frozen=True)
class SinkhornIterates:
    """The alternating KL projections ``P^(0) = K, P^(1) = row step, P^(2) = column step, ...``.

    Attributes:
        plans: ``(T + 1, B, B)`` the iterates (unit marginals ``a = b = 1``).
        labels: ``T + 1`` names (``"K"``, ``"P(1) rows"``, ``"P(2) cols"``, ...).
        row_marginals, col_marginals: ``(T + 1, B)`` ``P1`` and ``P^T 1`` of each iterate.
        kl: ``(T + 1,)`` generalized ``KL(I || P^(t))`` (``nan`` for ``t = 0``).
        row_error, col_error: ``(T + 1,)`` ``||P1 - 1||_1`` and ``||P^T 1 - 1||_1``.
    """

    plans: np.ndarray
    labels: list[str]
    row_marginals: np.ndarray
    col_marginals: np.ndarray
    kl: np.ndarray
    row_error: np.ndarray
    col_error: np.ndarray


@one_thread
def compute_sinkhorn_iterates(z1: Tensor, z2: Tensor, eps: float = 0.5, n_steps: int = 6) -> SinkhornIterates:
    """The first ``n_steps`` Bregman projections of the loss's Gibbs kernel ``K`` (arXiv 2502.20141, Sinkhorn).

    Odd steps are row projections (``diag(1 / P1) P``), even steps column projections. With unit
    marginals ``P^(1)`` is InfoNCE's plan and ``P^(inf)`` is GCA-INCE's (the entropic OT plan).

    Args:
        z1, z2: ``(B, d)`` embeddings (computed in float64). n_steps: ``T >= 1`` half steps.
    """
    eps = check_positive("eps", eps)
    n_steps = check_int("n_steps", n_steps, minimum=1)
    z1, z2 = z1.double(), z2.double()
    b = z1.shape[0]
    ones = torch.ones(b, dtype=torch.float64)
    eye = torch.eye(b, dtype=torch.float64)
    log_p = gibbs_log_kernel(z1, z2, eps)
    plans, labels, kls = [log_p.exp()], ["K"], [math.nan]
    for t in range(1, n_steps + 1):
        if t % 2:
            log_p = row_projection(log_p, ones)
            labels.append(f"P({t}) rows")
        else:
            log_p = col_projection(log_p, ones)
            labels.append(f"P({t}) cols")
        p = log_p.exp()
        plans.append(p)
        kls.append(float(generalized_kl(eye, p, dim=(-2, -1))))
    stack = torch.stack(plans)  # (T + 1, B, B)
    rows, cols = stack.sum(-1), stack.sum(-2)
    return SinkhornIterates(
        plans=to_numpy(stack), labels=labels, row_marginals=to_numpy(rows), col_marginals=to_numpy(cols),
        kl=np.array(kls), row_error=to_numpy((rows - 1).abs().sum(-1)), col_error=to_numpy((cols - 1).abs().sum(-1)),
    )


@dataclass(frozen=True)
class TheoremCheck:
    """Result of :func:`compute_theorem_check`.

    Attributes:
        n_batches: batches checked. violations: batches with ``KL(I||P^(inf)) > KL(I||P^(1))`` beyond
        the tolerance. monotone_violations: half-steps ``t`` where ``KL(I||P^(t+1)) > KL(I||P^(t))``.
        kl1, klinf: ``(n_batches,)`` the two KLs (per anchor). eps, sizes: ``(n_batches,)`` each
        batch's ``eps`` and size. max_ratio: ``max klinf / kl1``. tol: the tolerance used.
    """

    n_batches: int
    violations: int
    monotone_violations: int
    kl1: np.ndarray
    klinf: np.ndarray
    eps: np.ndarray
    sizes: np.ndarray
    max_ratio: float
    tol: float


@one_thread
def compute_theorem_check(
    n_batches: int = 1000,
    *,
    sizes: Sequence[int] = (8, 16, 32, 64),
    eps_range: tuple[float, float] = (0.05, 1.0),
    n_iters: int = 100,
    seed: int = 0,
    tol: float = 1e-9,
    progress: bool = True,
) -> TheoremCheck:
    r"""Check ``KL(I || P^(inf)) <= KL(I || P^(1))`` on many random two-view digit batches (arXiv 2502.20141).

    Each batch draws a size from ``sizes``, an ``eps`` log-uniformly from ``eps_range`` and a fresh
    ``standard`` augmentation; half of the batches also get random view noise. ``P^(1)`` is one row
    projection of ``K``; ``P^(inf)`` is approximated by ``n_iters`` alternating projections (balanced
    Sinkhorn with unit marginals, float64). Since ``I`` lies in both constraint sets, the Bregman
    Pythagorean identity makes ``KL(I || P^(t))`` non-increasing at *every* half step; both the end
    point and the monotonicity are counted. A violation is an increase larger than ``tol (1 + KL)``.
    ``progress`` shows a progress bar over the batches (the 1000 batches of notebook 01 take tens of
    seconds on a CPU).
    """
    n_batches = check_int("n_batches", n_batches, minimum=1)
    n_iters = check_int("n_iters", n_iters, minimum=1)
    rng = np.random.default_rng(seed)
    lo, hi = (check_positive("eps_range[0]", eps_range[0]), check_positive("eps_range[1]", eps_range[1]))
    kl1, klinf, epss, bs = [], [], [], []
    violations = monotone = 0
    from tqdm.auto import tqdm

    for k in tqdm(range(n_batches), desc="theorem check", unit="batch", disable=not progress, leave=False):
        b = int(rng.choice(sizes))
        eps = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        noise = float(rng.uniform(0, 0.3)) if k % 2 else 0.0
        batch = make_batch(b, "digits", noise, 0.0, "noise", seed * 100_003 + k, "standard", False)
        ones = torch.ones(b, dtype=torch.float64)
        eye = torch.eye(b, dtype=torch.float64)
        log_p = gibbs_log_kernel(batch.z1, batch.z2, eps)
        prev = math.inf
        first = None
        for t in range(1, 2 * n_iters + 1):
            log_p = row_projection(log_p, ones, validate=False) if t % 2 else col_projection(log_p, ones, validate=False)
            if t in (1, 2, 3, 4) or t % 20 == 0 or t == 2 * n_iters:
                kl = float(generalized_kl(eye, log_p.exp(), dim=(-2, -1))) / b
                if first is None:
                    first = kl
                if kl > prev + tol * (1 + abs(prev)):
                    monotone += 1
                prev = kl
        assert first is not None
        kl1.append(first)
        klinf.append(prev)
        epss.append(eps)
        bs.append(b)
        if prev > first + tol * (1 + abs(first)):
            violations += 1
    kl1_a, klinf_a = np.array(kl1), np.array(klinf)
    return TheoremCheck(n_batches, violations, monotone, kl1_a, klinf_a, np.array(epss), np.array(bs),
                        float(np.max(klinf_a / kl1_a)), tol)
