r"""The GCA loss family: a contrastive loss is a divergence to a target plan (paper §2-§3).

Every loss here is one composition, visible in :meth:`GCALoss.details`::

    similarity  s_ij = cos(z_i, z'_j)                      (B x B "cross" or 2B x 2B "joint")
    log kernel  log K_ij = s_ij / eps                       (K = exp(-C/eps) with cost C = -s)
    projection  P = Prox_B(K)                               (one row step, t Sinkhorn rounds, or
                                                             KL-relaxed steps for UOT)
    divergence  d_M(P_tgt || P)                             (KL, the RINCE/W1 form, or both)

and the classes only fix those choices:

==============  ===========================  =====================  ==========================
class           projection                   constraint set         divergence
==============  ===========================  =====================  ==========================
InfoNCE         one row step                 C1 (rows)              KL        (paper T1)
NTXent          one row step, joint layout   C1                     KL        (SimCLR)
GCAInfoNCE      t rounds, ends on a row      C1 ∩ C2                KL        (T2)
RINCE           one row step                 C1                     W1/RINCE  (T3, Chuang 2022)
GCARINCE        t rounds, ends on a row      C1 ∩ C2                W1/RINCE  (poster formula)
UOT             one relaxed row step         KL penalty rho         KL + w * W1
GCAUOT          t relaxed rounds             KL penalties rho       KL + w * W1  (§2.9)
IOT             t rounds, ends on a column   C1 ∩ C2                generalized KL (Shi 2023)
IOTUni          as IOT                       C1 ∩ C2                + uniformity KL
==============  ===========================  =====================  ==========================

"t rounds" means ``t`` row projections interleaved with ``t - 1`` column projections, the
paper's iterate ``P^(2t-1) = diag(u^(t)) K diag(v^(t-1))``; so ``t = 1`` is exactly InfoNCE /
RINCE, and ``KL(I || P^(2t-1))`` is non-increasing in ``t`` (paper T5, tested).

Divergences (``T`` is the target with each row scaled to the row marginal ``a_i``):

- ``kl``: the per-anchor KL between the target row and the plan row, both normalized,
  averaged over anchors: ``mean_i KL(T_i/|T_i| || P_i/|P_i|)``. Whenever the plan ends on an
  exact row step (rows carry mass ``a_i``) this *is* the generalized ``KL(T || P) / |T|``, and
  with ``T = I`` it is the softmax cross-entropy of InfoNCE. For relaxed (UOT) plans it is the
  cross-entropy of the row-normalized plan, as in the reference code.
- ``w1`` (the poster's GCA-RINCE formula on the last row step, §2.7):
  ``mean_i [ -(1/q) (sum_j Tn_ij K_ij v_j)^q + (1/q) (lam a_i / u_i)^q ]`` with ``Tn`` the
  row-normalized target. At ``t = 1`` with unit marginals this is RINCE exactly:
  ``-(1/q) e^{q s_ii} + (1/q) (lam sum_j e^{s_ij})^q``.

The reference implementation's defects (paper.md §7) are not repeated: self-pairs of the joint
layout are masked (``self_pairs="max_cost"`` reproduces the reference), cosines are not clamped
(``clamp_similarity=True`` reproduces it), RINCE is the true RINCE (``lam`` and ``q`` matter),
column projections normalize columns, and the unbalanced solver is the stable log-domain one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import targets as _targets
from ._validate import check_choice, check_int, check_interval, check_nonnegative, check_positive, check_tensor
from .ot import SinkhornResult, kernel_domain_bound_holds, relaxation_exponent, sinkhorn

__all__ = [
    "LossOutput",
    "GCALoss",
    "InfoNCE",
    "NTXent",
    "GCAInfoNCE",
    "RINCE",
    "GCARINCE",
    "UOT",
    "GCAUOT",
    "IOT",
    "IOTUni",
    "BYOLLoss",
    "LOSSES",
    "make_loss",
]

Layout = Literal["cross", "joint"]


@dataclass(frozen=True)
class LossOutput:
    """Everything a loss computed for one batch (what the notebooks plot).

    Attributes:
        loss: ``()`` the scalar loss (averaged over both directions when ``symmetric``).
        sim: ``(n, m)`` cosine similarities of the first direction (``n = m = B`` for ``cross``,
            ``2B`` for ``joint``).
        log_kernel: ``(n, m)`` ``s / eps``; excluded self-pairs are ``-inf``.
        log_plan: ``(n, m)`` log of the projected plan ``P = diag(u) K diag(v)``.
        log_u, log_v: ``(n,)``, ``(m,)`` log scalings of the last row / column step.
        target: ``(n, m)`` the target with each row scaled to the row marginal.
        solver: the Sinkhorn result of the first ``t - 1`` rounds (``None`` for one-step losses).
        terms: the unweighted divergence terms (``{"kl": ..., "w1": ...}``), first direction.
    """

    loss: Tensor
    sim: Tensor
    log_kernel: Tensor
    log_plan: Tensor
    log_u: Tensor
    log_v: Tensor
    target: Tensor
    solver: SinkhornResult | None
    terms: dict[str, Tensor] = field(default_factory=dict)

    @property
    def plan(self) -> Tensor:
        """``(n, m)`` the projected plan."""
        return self.log_plan.exp()

    @property
    def kernel(self) -> Tensor:
        """``(n, m)`` the Gibbs kernel ``exp(s / eps)``."""
        return self.log_kernel.exp()


def _check_embeddings(z1: Tensor, z2: Tensor) -> None:
    check_tensor("z1", z1, ndim=2)
    check_tensor("z2", z2, ndim=2)
    if z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must have the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}")
    if z1.shape[0] < 2:
        raise ValueError(f"batch size must be >= 2 (negatives are needed), got {z1.shape[0]}")
    if not z1.is_floating_point():
        raise TypeError(f"z1 must be a floating tensor, got dtype {z1.dtype}")
    finite = torch.stack([torch.isfinite(z1).all(), torch.isfinite(z2).all()]).tolist()  # one sync
    if not finite[0]:
        raise ValueError("z1 contains NaN or inf embeddings")
    if not finite[1]:
        raise ValueError("z2 contains NaN or inf embeddings")


class _GatherWithGrad(torch.autograd.Function):
    """All-gather along dim 0 whose backward sums the incoming gradients across processes.

    Every process computes the loss of the whole gathered batch; the summed gradient is then
    ``world_size`` times the single-process one, which DDP's gradient averaging cancels, so the
    model's parameter gradients equal those of one process on the concatenated batch.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:  # type: ignore[override]
        import torch.distributed as dist

        ctx.rank, ctx.world = dist.get_rank(), dist.get_world_size()
        ctx.n = x.shape[0]
        parts = [torch.empty_like(x) for _ in range(ctx.world)]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts, 0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:  # type: ignore[override]
        import torch.distributed as dist

        grad = grad.contiguous()
        dist.all_reduce(grad)
        return grad[ctx.rank * ctx.n : (ctx.rank + 1) * ctx.n]


def gather(z: Tensor) -> Tensor:
    """Concatenate ``z`` from every torch.distributed process (identity when not distributed)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return z
    return _GatherWithGrad.apply(z)


class GCALoss(nn.Module):
    r"""Generalized contrastive alignment: ``d_M(P_tgt || Prox_B(K_theta))`` (paper §2.3).

    The public subclasses fix the projection and the divergence; this class exposes every knob
    for ablations (``make_loss`` builds the named ones).

    Args:
        eps: entropic regularization = temperature, ``> 0``. Default 0.5 (reference configs).
        n_iters: number of row projections ``t`` (``t - 1`` column projections in between);
            ``1`` = one step. Default 1.
        rho_a, rho_b: KL penalties on the row / column marginals in ``[0, inf]``; ``inf`` = hard
            constraint (balanced). Finite values give the unbalanced (UOT) projections.
        divergence: ``"kl"``, ``"w1"`` (RINCE form) or ``"kl+w1"`` (``kl_weight * kl + w1_weight * w1``).
        lam: RINCE's density weight ``lam > 0`` (default 0.01, reference configs).
        q: RINCE's exponent in ``(0, 1]`` (default 0.6, reference README).
        kl_weight, w1_weight: weights of ``"kl+w1"`` (reference README: ``r1 = 1``, ``r2 = 0.2``).
        layout: ``"cross"`` (``B x B`` between the views; the paper's formulation) or ``"joint"``
            (``2B x 2B`` over all views, SimCLR's).
        symmetric: for ``cross``, average the loss of both directions (view 1 -> 2 and 2 -> 1).
        marginals: ``"one"`` (``a_i = b_j = 1``: each anchor carries mass 1, as InfoNCE; default) or
            ``"uniform"`` (``1/n``, the reference's GCA-RINCE/UOT scale). Balanced KL losses do not
            depend on it; the RINCE/W1 and unbalanced ones do.
        self_pairs: ``"mask"`` (joint layout: exclude ``i = i`` pairs; default) or ``"max_cost"``
            (give them the lowest similarity, as the reference code does).
        clamp_similarity: clamp cosines at ``1e-7`` from below, as the reference code does (default off).
        end: ``"row"`` (default) ends the projections on a row step; ``"col"`` runs ``n_iters`` full
            rounds ending on a column step (IOT).
        kl_form: ``"conditional"`` (default; row-normalized plan) or ``"generalized"`` (the plan as is,
            with mass terms; IOT).
        grad: Sinkhorn gradient mode, ``"unroll"`` or ``"last_step"`` (see :func:`gca_lab.ot.sinkhorn`).
        gather_distributed: all-gather embeddings across ``torch.distributed`` processes so that
            negatives and transport span every GPU (see :class:`_GatherWithGrad` for the gradients).
    """

    name = "gca"

    def __init__(
        self,
        *,
        eps: float = 0.5,
        n_iters: int = 1,
        rho_a: float = math.inf,
        rho_b: float = math.inf,
        divergence: Literal["kl", "w1", "kl+w1"] = "kl",
        lam: float = 0.01,
        q: float = 0.6,
        kl_weight: float = 1.0,
        w1_weight: float = 0.2,
        layout: Layout = "cross",
        symmetric: bool = False,
        marginals: Literal["one", "uniform"] = "one",
        self_pairs: Literal["mask", "max_cost"] = "mask",
        clamp_similarity: bool = False,
        end: Literal["row", "col"] = "row",
        kl_form: Literal["conditional", "generalized"] = "conditional",
        grad: Literal["unroll", "last_step"] = "unroll",
        gather_distributed: bool = False,
    ) -> None:
        super().__init__()
        self.eps = check_positive("eps", eps)
        self.n_iters = check_int("n_iters", n_iters, minimum=1)
        self.rho_a = check_nonnegative("rho_a", rho_a, allow_inf=True)
        self.rho_b = check_nonnegative("rho_b", rho_b, allow_inf=True)
        self.divergence = check_choice("divergence", divergence, ("kl", "w1", "kl+w1"))
        self.lam = check_positive("lam", lam)
        self.q = check_interval("q", q, 0.0, 1.0, low_open=True)
        self.kl_weight = check_nonnegative("kl_weight", kl_weight)
        self.w1_weight = check_nonnegative("w1_weight", w1_weight)
        self.layout = check_choice("layout", layout, ("cross", "joint"))
        self.symmetric = bool(symmetric)
        self.marginals = check_choice("marginals", marginals, ("one", "uniform"))
        self.self_pairs = check_choice("self_pairs", self_pairs, ("mask", "max_cost"))
        self.clamp_similarity = bool(clamp_similarity)
        self.end = check_choice("end", end, ("row", "col"))
        self.kl_form = check_choice("kl_form", kl_form, ("conditional", "generalized"))
        self.grad = check_choice("grad", grad, ("unroll", "last_step"))
        self.gather_distributed = bool(gather_distributed)

    def extra_repr(self) -> str:
        rho = "" if math.isinf(self.rho_a) and math.isinf(self.rho_b) else f", rho=({self.rho_a}, {self.rho_b})"
        return f"eps={self.eps}, n_iters={self.n_iters}{rho}, divergence={self.divergence!r}, layout={self.layout!r}"

    # -- the composition ---------------------------------------------------------------------

    def similarity(self, z1: Tensor, z2: Tensor) -> Tensor:
        """``(n, m)`` cosine similarities of the layout; joint self-pairs are handled by :meth:`log_kernel`."""
        z1, z2 = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
        if self.layout == "joint":
            z = torch.cat([z1, z2], 0)  # (2B, d), views stacked in blocks
            sim = z @ z.T
        else:
            sim = z1 @ z2.T  # (B, B)
        return sim.clamp(min=1e-7) if self.clamp_similarity else sim

    def log_kernel(self, sim: Tensor) -> Tensor:
        """``(n, m)`` ``log K = s / eps``; joint self-pairs ``-inf`` (masked) or the minimum similarity."""
        log_k = sim / self.eps
        if self.layout == "joint":
            diag = torch.eye(sim.shape[0], dtype=torch.bool, device=sim.device)
            fill = torch.tensor(-math.inf, dtype=sim.dtype, device=sim.device)
            if self.self_pairs == "max_cost":
                fill = sim.detach().min() / self.eps
            log_k = torch.where(diag, fill, log_k)
        return log_k

    def default_target(self, n: int, like: Tensor) -> Tensor:
        """The positive-pair target of the layout (identity, or the joint partner permutation)."""
        if self.layout == "joint":
            return _targets.joint_pairs(n // 2, dtype=like.dtype, device=like.device)
        return _targets.pairs(n, dtype=like.dtype, device=like.device)

    def _marginal(self, size: int, like: Tensor) -> Tensor:
        value = 1.0 if self.marginals == "one" else 1.0 / size
        return torch.full((size,), value, dtype=like.dtype, device=like.device)

    def project(self, log_k: Tensor, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor, SinkhornResult | None]:
        """Project the kernel: returns ``(log_u, log_v, solver)`` with ``P = diag(u) K diag(v)``.

        ``t - 1`` Sinkhorn rounds (reference measure ``a (x) b``, so ``P^(0) = K`` for unit
        marginals), then the final row step, relaxed by ``rho_a`` if finite (``end="row"``); or
        ``t`` full rounds (``end="col"``).
        """
        log_a, log_b = a.log(), b.log()
        rounds = self.n_iters - 1 if self.end == "row" else self.n_iters
        solver = None
        g = torch.zeros_like(log_b)
        f = torch.zeros_like(log_a)
        if rounds > 0:
            solver = sinkhorn(
                -log_k * self.eps, a, b, eps=self.eps, rho_a=self.rho_a, rho_b=self.rho_b,
                n_iters=rounds, grad=self.grad, domain=self._domain(log_k), validate=False,
            )
            f, g = solver.f, solver.g
        if self.end == "row":
            phi = relaxation_exponent(self.rho_a, self.eps)
            f = -phi * self.eps * torch.logsumexp(log_k + (log_b + g / self.eps).unsqueeze(-2), dim=-1)
        return log_a + f / self.eps, log_b + g / self.eps, solver

    def _domain(self, log_k: Tensor) -> str:
        # Cosines lie in [-1, 1], so range(log K) <= 2/eps is known without a host sync; with full
        # support (no masked self-pairs) and uniform marginals the kernel-domain steps cannot
        # underflow when 2 * 2/eps is below the dtype's limit (gca_lab.ot.kernel_domain_is_safe).
        full_support = self.layout == "cross" or self.self_pairs == "max_cost"
        return "kernel" if full_support and kernel_domain_bound_holds(2.0 / self.eps, 0.0, log_k.dtype) else "log"

    def kl_term(self, log_plan: Tensor, target: Tensor) -> Tensor:
        """``()`` KL divergence between the target and the plan, averaged over anchors (module doc)."""
        if self.kl_form == "conditional":
            log_p = log_plan - torch.logsumexp(log_plan, -1, keepdim=True)
            t = target / target.sum(-1, keepdim=True)
            # sum_j t log(t / p) with 0 log 0 = 0; masked (-inf) plan entries have t = 0 there.
            return (torch.xlogy(t, t) - torch.where(t > 0, t * log_p, torch.zeros_like(t))).sum(-1).mean()
        plan = log_plan.exp()
        cross = torch.where(target > 0, target * log_plan, torch.zeros_like(target))
        return (torch.xlogy(target, target) - cross - target + plan).sum(-1).mean()

    def w1_term(self, log_k: Tensor, log_u: Tensor, log_v: Tensor, a: Tensor, target: Tensor) -> Tensor:
        """``()`` the RINCE/W1 form ``mean_i[-(1/q) pos_i^q + (1/q) (lam a_i / u_i)^q]`` (module doc)."""
        t = target / target.sum(-1, keepdim=True)
        log_t = torch.where(t > 0, t.log(), torch.full_like(t, -math.inf))
        log_pos = torch.logsumexp(log_t + log_k + log_v.unsqueeze(-2), dim=-1)  # (n,) log sum_j t_ij K_ij v_j
        log_neg = math.log(self.lam) + a.log() - log_u  # (n,)
        q = self.q
        return (-torch.exp(q * log_pos) / q + torch.exp(q * log_neg) / q).mean()

    def _direction(self, z1: Tensor, z2: Tensor, target: Tensor | None) -> LossOutput:
        sim = self.similarity(z1, z2)
        log_k = self.log_kernel(sim)
        n, m = log_k.shape
        a, b = self._marginal(n, sim), self._marginal(m, sim)
        if target is None:
            # The positive-pair targets have one unit entry per row: scaling needs no check (and no sync).
            target = self.default_target(n, sim) * a.unsqueeze(-1)
        else:
            check_tensor("target", target, ndim=2)
            if tuple(target.shape) != (n, m):
                raise ValueError(f"target must have shape {(n, m)} for layout {self.layout!r}, got {tuple(target.shape)}")
            target = _targets.normalize_rows(target.to(dtype=sim.dtype, device=sim.device), a)
        log_u, log_v, solver = self.project(log_k, a, b)
        log_plan = log_k + log_u.unsqueeze(-1) + log_v.unsqueeze(-2)
        terms: dict[str, Tensor] = {}
        loss = sim.new_zeros(())
        if self.divergence in ("kl", "kl+w1"):
            terms["kl"] = self.kl_term(log_plan, target)
            loss = loss + (self.kl_weight if self.divergence == "kl+w1" else 1.0) * terms["kl"]
        if self.divergence in ("w1", "kl+w1"):
            terms["w1"] = self.w1_term(log_k, log_u, log_v, a, target)
            loss = loss + (self.w1_weight if self.divergence == "kl+w1" else 1.0) * terms["w1"]
        loss = loss + self.extra_terms(log_plan, target, terms)
        return LossOutput(loss, sim, log_k, log_plan, log_u, log_v, target, solver, terms)

    def extra_terms(self, log_plan: Tensor, target: Tensor, terms: dict[str, Tensor]) -> Tensor:
        """Additional regularizers of a subclass (IOT-uni); records them in ``terms``."""
        return log_plan.new_zeros(())

    def details(self, z1: Tensor, z2: Tensor, target: Tensor | None = None) -> LossOutput:
        """Compute the loss and everything behind it: similarities, kernel, plan, target, solver.

        Args:
            z1, z2: ``(B, d)`` embeddings of the two views (normalized inside).
            target: optional ``(n, m)`` target plan (:mod:`gca_lab.targets`); default positive pairs.
                With ``gather_distributed`` it must cover the gathered batch.

        This is the only code path: :meth:`forward` returns ``details(...).loss``.
        """
        _check_embeddings(z1, z2)
        if self.gather_distributed:
            z1, z2 = gather(z1), gather(z2)
        out = self._direction(z1, z2, target)
        if self.symmetric and self.layout == "cross":
            back = self._direction(z2, z1, None if target is None else target.T)
            out = LossOutput(
                (out.loss + back.loss) / 2, out.sim, out.log_kernel, out.log_plan, out.log_u, out.log_v,
                out.target, out.solver, out.terms,
            )
        return out

    def forward(self, z1: Tensor, z2: Tensor, target: Tensor | None = None) -> Tensor:
        """``()`` the loss for embeddings ``z1``, ``z2`` of shape ``(B, d)`` (see :meth:`details`)."""
        return self.details(z1, z2, target).loss


def _fixed(kwargs: dict[str, Any], cls: str, **fixed: Any) -> dict[str, Any]:
    for key in fixed:
        if key in kwargs:
            raise TypeError(f"{cls} fixes {key}={fixed[key]!r}; use GCALoss to change it")
    return {**kwargs, **fixed}


class InfoNCE(GCALoss):
    r"""InfoNCE = ``KL(I || Prox^KL_{C1}(K))``: one row projection of the Gibbs kernel (paper T1, §2.5).

    ``L = mean_i -log( e^{s_ii} / sum_j e^{s_ij} )`` with ``s = cos / eps``. Defaults: ``eps = 0.5``,
    ``layout = "cross"`` (all :class:`GCALoss` keywords except the fixed ones are accepted).
    """

    name = "ince"

    def __init__(self, eps: float = 0.5, **kwargs: Any) -> None:
        super().__init__(eps=eps, **_fixed(kwargs, "InfoNCE", n_iters=1, divergence="kl", rho_a=math.inf))


class NTXent(InfoNCE):
    r"""SimCLR's NT-Xent: InfoNCE on the ``2B x 2B`` joint layout with self-pairs masked.

    ``L = mean_i -log( e^{s_{i,p(i)}} / sum_{k != i} e^{s_ik} )`` over all ``2B`` views.
    """

    name = "simclr"

    def __init__(self, eps: float = 0.5, **kwargs: Any) -> None:
        super().__init__(eps=eps, **_fixed(kwargs, "NTXent", layout="joint"))


class GCAInfoNCE(GCALoss):
    r"""GCA-INCE = ``KL(I || Prox^KL_{C1 ∩ C2}(K))`` approximated by ``n_iters`` row projections
    interleaved with column projections (paper T2, §2.6). Default ``n_iters = 10`` (reference).
    """

    name = "gca_ince"

    def __init__(self, eps: float = 0.5, n_iters: int = 10, **kwargs: Any) -> None:
        super().__init__(eps=eps, n_iters=n_iters, **_fixed(kwargs, "GCAInfoNCE", divergence="kl"))


class RINCE(GCALoss):
    r"""Robust InfoNCE (Chuang et al., CVPR 2022) = W1 alignment after one row projection (paper T3).

    ``L = mean_i [ -(1/q) e^{q s_ii} + (1/q) (lam sum_j e^{s_ij})^q ]``; ``lam`` (default 0.01) and
    ``q`` in ``(0, 1]`` (default 0.6) both matter. As ``q -> 0`` it tends to
    ``InfoNCE + log(lam)`` (the ``-1/q`` and ``+1/q`` of the two terms cancel; tested).
    """

    name = "rince"

    def __init__(self, eps: float = 0.5, lam: float = 0.01, q: float = 0.6, **kwargs: Any) -> None:
        super().__init__(eps=eps, lam=lam, q=q, **_fixed(kwargs, "RINCE", n_iters=1, divergence="w1"))


class GCARINCE(GCALoss):
    r"""GCA-RINCE: the poster's formula on the ``t``-th row iterate (§2.7):

    ``-(1/q) (diag(P^(2t-1)) / u^(t))^q + (1/q) (lam P_tgt 1 / u^(t))^q``. Default ``n_iters = 10``.
    """

    name = "gca_rince"

    def __init__(self, eps: float = 0.5, n_iters: int = 10, lam: float = 0.01, q: float = 0.6, **kwargs: Any) -> None:
        super().__init__(eps=eps, n_iters=n_iters, lam=lam, q=q, **_fixed(kwargs, "GCARINCE", divergence="w1"))


class GCAUOT(GCALoss):
    r"""GCA-UOT: unbalanced entropic OT with KL-relaxed marginals (paper §2.9), the best variant.

    ``P`` = ``n_iters`` rounds of the KL-relaxed scaling ``u <- (a / K v)^{rho/(rho+eps)}``,
    ``v <- (b / K^T u)^{rho/(rho+eps)}`` (ending on a row step; at convergence this is the plan
    of :func:`gca_lab.ot.sinkhorn` with the same ``rho``). Loss ``kl_weight * KL + w1_weight * W1``.

    Defaults (reference configs / README): ``eps = 0.5``, ``n_iters = 10``, ``rho = 0.2`` on both
    sides (``relax_item``), ``kl_weight = 1`` (r1), ``w1_weight = 0.2`` (r2), ``lam = 0.01``, ``q = 0.6``.
    """

    name = "gca_uot"

    def __init__(
        self,
        eps: float = 0.5,
        n_iters: int = 10,
        rho: float = 0.2,
        lam: float = 0.01,
        q: float = 0.6,
        kl_weight: float = 1.0,
        w1_weight: float = 0.2,
        **kwargs: Any,
    ) -> None:
        rho = check_nonnegative("rho", rho, allow_inf=True)
        kwargs.setdefault("rho_a", rho)
        kwargs.setdefault("rho_b", rho)
        super().__init__(
            eps=eps, n_iters=n_iters, lam=lam, q=q, kl_weight=kl_weight, w1_weight=w1_weight,
            **_fixed(kwargs, type(self).__name__, divergence="kl+w1"),
        )


class UOT(GCAUOT):
    """UOT: a single KL-relaxed row step (the non-iterative baseline of the poster's time figure)."""

    name = "uot"

    def __init__(self, eps: float = 0.5, rho: float = 0.2, **kwargs: Any) -> None:
        if "n_iters" in kwargs:
            raise TypeError("UOT fixes n_iters=1; use GCAUOT for several rounds")
        super().__init__(eps=eps, n_iters=1, rho=rho, **kwargs)


class IOT(GCALoss):
    r"""Inverse-OT contrastive loss (Shi et al., ICML 2023), as in the reference (paper.md §3.8).

    ``P`` = ``n_iters`` full Sinkhorn rounds (ending on a column step) of the kernel with unit
    marginals; loss = generalized ``KL(T || P)`` per anchor (``-log P_{i,p(i)}`` plus mass terms).
    Positives are paired by the layout's target (the reference pairs CIFAR views wrongly).
    """

    name = "iot"

    def __init__(self, eps: float = 0.5, n_iters: int = 10, **kwargs: Any) -> None:
        super().__init__(
            eps=eps, n_iters=n_iters,
            **_fixed(kwargs, type(self).__name__, divergence="kl", end="col", kl_form="generalized"),
        )


class IOTUni(IOT):
    r"""IOT with a uniformity term: ``+ lam_uniform * KL(Q || P)`` per anchor (paper.md §3.8).

    ``Q`` is the (detached) plan with every off-diagonal entry replaced by the mean off-diagonal
    value, so the term spreads plan mass evenly over the negatives. Default ``lam_uniform = 0.2``.
    """

    name = "iot_uni"

    def __init__(self, eps: float = 0.5, n_iters: int = 10, lam_uniform: float = 0.2, **kwargs: Any) -> None:
        super().__init__(eps=eps, n_iters=n_iters, **kwargs)
        self.lam_uniform = check_nonnegative("lam_uniform", lam_uniform)

    def extra_terms(self, log_plan: Tensor, target: Tensor, terms: dict[str, Tensor]) -> Tensor:
        plan = log_plan.exp()
        pos = target > 0
        finite = torch.isfinite(log_plan) & ~pos
        off_mean = (plan.detach() * finite).sum() / finite.sum().clamp_min(1)
        q = torch.where(pos, plan.detach(), torch.where(finite, off_mean, torch.zeros_like(plan)))
        cross = torch.where(q > 0, q * log_plan, torch.zeros_like(q))
        terms["uniform"] = (torch.xlogy(q, q) - cross - q + plan).sum(-1).mean()
        return self.lam_uniform * terms["uniform"]


class BYOLLoss(nn.Module):
    r"""BYOL's normalized L2 regression: ``mean_i || p_i/|p_i| - z_i/|z_i| ||^2 = mean_i (2 - 2 cos(p_i, z_i))``.

    GCA reading (paper T4): ``d_M = KL``, ``d_Gamma = L2``, no marginal constraint. ``forward(p, z)``
    takes the online prediction ``p`` and the target projection ``z`` (detached here); the
    predictor and the momentum network live in :mod:`gca_lab.models`.
    """

    name = "byol"

    def forward(self, p: Tensor, z: Tensor, target: Tensor | None = None) -> Tensor:
        _check_embeddings(p, z)
        if target is not None:
            raise ValueError("BYOLLoss takes no target plan (it has no negatives); got target")
        return (2 - 2 * F.cosine_similarity(p, z.detach(), dim=-1)).mean()


LOSSES: dict[str, type[nn.Module]] = {
    "ince": InfoNCE,
    "simclr": NTXent,
    "rince": RINCE,
    "gca_ince": GCAInfoNCE,
    "gca_rince": GCARINCE,
    "uot": UOT,
    "gca_uot": GCAUOT,
    "iot": IOT,
    "iot_uni": IOTUni,
    "byol": BYOLLoss,
}


def make_loss(name: str, **kwargs: Any) -> nn.Module:
    """Build a loss by the paper's name: ``ince, simclr, rince, gca_ince, gca_rince, uot, gca_uot,
    iot, iot_uni, byol``. Keyword arguments go to the class (see each class for defaults)."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss name {name!r}; choose one of {', '.join(LOSSES)}")
    return LOSSES[name](**kwargs)
