r"""The GCA loss family: a contrastive loss is a divergence to a target plan (arXiv 2502.20141, the GCA objective).

Every loss here is one composition, visible in :meth:`GCALoss.details`::

    similarity  s_ij = cos(z_i, z'_j)                      (B x B "cross" or 2B x 2B "joint")
    log kernel  log K_ij = -C_ij / eps,  C = 1 - s          (COST_CONVENTION; C = -s: "chuang")
    projection  P = Prox_B(K)                               (one row step, t Sinkhorn rounds, or
                                                             KL-relaxed steps for UOT)
    divergence  d_M(P_tgt || P)                             (KL, the RINCE/W1 form, or both)

and the classes only fix those choices:

==============  ===========================  =====================  ==========================
class           projection                   constraint set         divergence
==============  ===========================  =====================  ==========================
InfoNCE         one row step                 C1 (rows)              KL        (Table 1)
NTXent          one row step, joint layout   C1                     KL        (SimCLR)
GCAInfoNCE      t rounds, ends on a row      C1 ∩ C2                KL        (Table 1)
RINCE           one row step                 C1                     W1/RINCE  (Table 1; Chuang 2022)
GCARINCE        t rounds, ends on a row      C1 ∩ C2                W1/RINCE  (poster)
UOT             one relaxed row step         KL penalty rho         KL + w * W1
GCAUOT          t relaxed rounds             KL penalties rho       KL + w * W1  (GCA-UOT)
IOT             t rounds, ends on a column   C1 ∩ C2                generalized KL (Shi 2023)
IOTUni          as IOT                       C1 ∩ C2                + uniformity KL
==============  ===========================  =====================  ==========================

"t rounds" means ``t`` row projections interleaved with ``t - 1`` column projections, the
paper's iterate ``P^(2t-1) = diag(u^(t)) K diag(v^(t-1))``; so ``t = 1`` is exactly InfoNCE /
RINCE, and ``KL(I || P^(2t-1))`` is non-increasing in ``t`` (the NeurIPS 2024 poster's
"better uniformity after multiple iterations"; tested). The scalings follow
the paper's update ``u <- (a / K v)^phi``, ``v <- (b / K^T u)^phi``, ``phi = rho / (rho + eps)``
(1 when balanced), from ``v = b`` (:meth:`GCALoss.project`).

Divergences (``T`` is the target with each row scaled to the row marginal ``a_i``):

- ``kl``: the per-anchor KL between the target row and the plan row, both normalized,
  averaged over anchors: ``mean_i KL(T_i/|T_i| || P_i/|P_i|)``. Whenever the plan ends on an
  exact row step (rows carry mass ``a_i``) this *is* the generalized ``KL(T || P) / |T|``, and
  with ``T = I`` it is the softmax cross-entropy of InfoNCE. For relaxed (UOT) plans it is the
  cross-entropy of the row-normalized plan, as in the authors' code.
- ``w1`` (the GCA-RINCE formula of the NeurIPS 2024 poster, on the last row step):
  ``mean_i [ -(1/q) (sum_j Tn_ij K_ij v_j)^q + (1/q) (lam a_i / u_i)^q ]`` with ``Tn`` the
  row-normalized target. At ``t = 1`` with unit marginals and ``C = -s`` this is RINCE exactly:
  ``-(1/q) e^{q s_ii/eps} + (1/q) (lam sum_j e^{s_ij/eps})^q``.

Conventions (``convention=`` on every loss and :func:`gca_lab.methods.make_loss`)
---------------------------------------------------------------------------------

KL terms do not depend on the cost offset or on uniform marginal masses (the row normalization
cancels them); the RINCE/W1 terms and the unbalanced plans do. Three conventions, each a set of
defaults for ``cost``, ``marginals``, ``self_pairs``, ``clamp_similarity``, ``layout`` and ``end``
(a knob passed explicitly always wins):

``"gca"`` (default)
    Cost ``1 - cos`` (so ``K <= 1``), masses ``1/n`` for the W1 family (RINCE, GCA-RINCE, UOT,
    GCA-UOT; unit masses otherwise), self-pairs masked, no clamp, cross layout. This is the
    authors' scale, so the paper's hyperparameters (``lam``, ``q``, ``rho``, ``w1_weight = r2 = 0.2``)
    weigh the terms as in their runs; the authors' defects are not repeated. Consequences:
    RINCE is ``n^{-q} e^{-q/eps}`` times Chuang et al.'s RINCE (same ``lam``, ``q``; tested), and
    nothing overflows at any ``eps``.
``"reference"``
    The values of nerdslab/gca on the same embeddings (tested against its formulas in float64,
    1e-6): joint layout, cosines clamped at 1e-7, self-pairs at the maximum cost, and per class:
    InfoNCE = ``hs_ince``, NTXent = ``NT_Xent``, GCAInfoNCE = ``gca_ince`` (masses 1; its ``T``
    rounds end on a column update: ``end="col"``), UOT/GCAUOT = ``gca_uot`` (masses ``1/2N``,
    ``end="col"``; UOT is its ``T = 1``; its W1 term reads the target with unit entries,
    ``(lam / u_i)^q``, as the current code, commit 81a2137, does), all from ``gca_loss_cifar.py``; RINCE = ``rince`` of
    ``gca_loss_imagenet.py`` (Chuang's RINCE on ``exp(cos/eps)``, self-pairs masked, no clamp);
    IOT = ``iot``'s cost (no clamp, maximum-cost self-pairs; its transposing loop and the CIFAR
    file's block-ordered positives on an interleaved batch are not reproduced, and IOT is not
    tested against it). What is *not* reproduced, and why:

    - ``(P_tgt / u).sum(axis=1)`` (``gca_uot``, ``hs_rince``) divides by ``u`` of the partner
      instead of the anchor. The partner map is a permutation, so the batch mean is unchanged:
      measured difference 0 (< 1e-12, tested); the corrected per-anchor form is used.
    - GCA-RINCE: the CIFAR ``gca_rince`` returns ``CE^q / q`` (``lam`` has no effect) and the
      ImageNet one divides rows by column sums (its plan is not a Sinkhorn iterate: row sums
      0.98-1.02 after 10 rounds) and raises each negative to the power ``q`` separately. Neither is
      a version of the poster's loss; "reference" GCA-RINCE is the CIFAR ``gca_rince`` plan
      (masses ``1/2N``, ``T`` rounds) with the W1 term of its ``gca_uot``. Measured on a random batch
      (2N = 256, d = 128, eps = 0.5): -0.0136 here vs -0.137 for the ImageNet code.
    - Gradients: the authors' maximum-cost diagonal passes gradient to the arg-max pair; here the
      fill is detached (values equal).
``"chuang"``
    Cost ``-cos`` (``K = exp(cos/eps)``), unit masses, self-pairs masked: Chuang et al.'s exact
    RINCE, and the convention of this library before the ``convention`` option. Its W1 terms
    grow like ``(lam n e^{1/eps})^q`` and overflow float32 for small ``eps``:
    :meth:`GCALoss.check_range` refuses them (``ValueError`` naming ``eps``, the dtype and
    :meth:`GCALoss.smallest_safe_eps`, about 0.0074 at ``n = 256``) without a host sync.

What the convention does to the weight of GCA-UOT's W1 term (the gradient-norm ratio
``|grad(0.2 W1)| / |grad(KL)|`` at the paper's ``r2 = 0.2``, ``lam``, ``q``, ``rho``) is measured by
``benchmarks/bench_losses.py`` and tabulated in ``benchmarks/README.md`` ("GCA-UOT: |grad of 0.2 * W1| /
|grad of KL|"): under ``"chuang"`` the term weighs several times (up to hundreds of times at small ``eps``)
what the paper's ``r2`` meant, while ``"gca"`` stays close to the authors' code in the joint layout.

Gradient modes (``grad=``)
--------------------------

``"unroll"`` (default): exact gradients through every scaling update. In the kernel domain
(``eps`` above the underflow bound, about 0.05 in float32; masked self-pairs included) with the
default positive-pair target, a loss call is: the cosines, one ``exp`` of them (the kernel), one
matrix-vector product per half-step (the last row update's is the KL's softmax normalizer), the
positives as row dot products; its backward is ``2t - 1`` matrix-vector products, one
``(n x 2t) @ (2t x n)`` product times the kernel (:func:`gca_lab.ot.kernel_scaling_rounds`) and the
cosines' matrix products. No ``n x n`` log kernel, plan or log-sum-exp is formed unless
:meth:`GCALoss.details` readers ask for it (tested equal to the log-domain composition with unrolled
autograd in float64). ``"detached"``: the ``t - 1`` rounds run without autograd and only
the last row update is differentiated (one rank-one term); for balanced losses with a permutation
target the dropped term is proportional to the column-marginal error, which
:attr:`LossOutput.marginal_error` reports for every mode. ``"last_step"``: one differentiable round
after detached ones (:func:`gca_lab.ot.sinkhorn`).

Backends and processes (``backend=``, ``gather_distributed=``)
---------------------------------------------------------------

:meth:`GCALoss._backend` picks the reduction a direction runs on (:mod:`gca_lab.reductions`): the log
kernel, the stored kernel (above), or the **tiled** kernel, recomputed ``tile`` rows at a time from
the unit embeddings in forward and backward (:func:`gca_lab.scaling_grad.tiled_scaling_rounds`), so no
``n x n`` tensor is held: memory ``O(n d + tile n)`` (2N = 32,768 GCA-INCE forward + backward at 408 MB
peak resident memory; ``benchmarks/README.md``). ``backend="auto"`` tiles above
:data:`AUTO_TILED_ENTRIES`; tiled and dense agree to 1e-10 in float64 (tested). With
``gather_distributed=True`` each process computes only its rows of the plan (:mod:`gca_lab.sharding`):
its stored or tiled kernel block, column sums all-reduced; the loss is the whole batch's on every
rank and DDP's averaged gradients equal one process's (gloo tests at 2 and 4 processes).

Numerics
--------

Half-precision inputs (bf16/fp16, autocast) are computed in float32 and the loss is float32.
Rows are normalized after dividing by their largest entry (norms 1e-30 or 1e30 give the cosines of
norm 1). ``check_inputs=True`` (default) costs one host sync per call and refuses NaN/inf and
all-zero rows; ``check_inputs=False`` (training) syncs never, and an all-zero row then has cosine 0
with every row. With the default target every divergence reads the positives with a gather (or row
dot products): the KL of a row-ending plan reuses the last row update's normalizer, so InfoNCE/NT-Xent
cost one softmax.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import targets as _targets
from ._validate import check_choice, check_int, check_interval, check_nonnegative, check_positive, check_tensor
from .ot import SinkhornResult, kernel_domain_bound_holds, kernel_scaling_rounds, relaxation_exponent, sinkhorn
from .collectives import all_reduce_max, all_reduce_sum, gather, world
from .projection import scaling_rounds
from .reductions import LogReduction
from .scaling_grad import tiled_scaling_rounds
from .sharding import LocalKernelReduction, ShardedReduction, sharded_scaling_rounds, sharded_tiled_scaling_rounds

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
    "COST_CONVENTION",
    "CONVENTIONS",
    "DEFAULT_CONVENTION",
]

Layout = Literal["cross", "joint"]
Convention = Literal["gca", "reference", "chuang"]

#: The cost every loss, the explorer and the notebooks use: ``C = 1 - cos`` (the authors' code),
#: so ``K = exp(-(1 - cos)/eps)`` lies in ``(0, 1]``. :meth:`GCALoss.log_kernel` applies it.
COST_CONVENTION = "1-cos"

#: ``convention`` values (module docstring, "Conventions"); the default keeps the paper's
#: hyperparameters meaningful for the W1 family.
CONVENTIONS = ("gca", "reference", "chuang")
DEFAULT_CONVENTION: Convention = "gca"

#: ``backend="auto"`` tiles a loss whose kernel has more entries than this (2N = 8,192 joint is the
#: largest dense one: its forward + backward peaks near 1 GB; benchmarks/README.md).
AUTO_TILED_ENTRIES = 1 << 26

# What nerdslab/gca computes (gca_loss_cifar.py): the 2N x 2N joint layout, cosines clamped at
# 1e-7, cost 1 - cos, self-pairs given the maximum cost. Classes override single entries.
_REFERENCE: dict[str, Any] = {
    "layout": "joint", "cost": "1-cos", "self_pairs": "max_cost", "clamp_similarity": True, "end": "row",
}


@dataclass(frozen=True)
class LossOutput:
    """Everything a loss computed for one batch (what the notebooks plot).

    Attributes:
        loss: ``()`` the scalar loss (averaged over both directions when ``symmetric``).
        sim: ``(n, m)`` cosine similarities of the first direction (``n = m = B`` for ``cross``,
            ``2B`` for ``joint``).
        log_kernel: ``(n, m)`` ``-C / eps`` (:data:`COST_CONVENTION`); excluded self-pairs are ``-inf``.
        log_plan: ``(n, m)`` log of the projected plan ``P = diag(u) K diag(v)``.
        log_u, log_v: ``(n,)``, ``(m,)`` log scalings of the last row / column step.
        target: ``(n, m)`` the target with each row scaled to the row marginal.
        solver: the Sinkhorn result of the first ``t - 1`` rounds (``None`` for one-step losses).
        terms: the unweighted divergence terms (``{"kl": ..., "w1": ...}``), first direction.
        marginal_error: ``()`` (detached) ``||P^T 1 - b||_1 / ||b||_1`` for a plan ending on a row
            update (``||P 1 - a||_1 / ||a||_1`` ending on a column): the constraint the last update
            did not enforce. For balanced losses it is the error of detached scalings
            (``grad="detached"``); for relaxed (UOT) plans it measures the relaxation too.
    """

    loss: Tensor
    terms: dict[str, Tensor]
    # Tensors, or zero-argument functions computing them on first access: forward() never pays
    # for the n x n log kernel, plan, target or marginal error that only details() readers look at.
    parts: dict[str, Any] = field(repr=False, default_factory=dict)

    def _part(self, name: str) -> Any:
        return _computed(self.parts, name)

    @property
    def sim(self) -> Tensor:
        """``(n, m)`` cosine similarities of the first direction (computed on access by the tiled backend)."""
        return self._part("sim")

    @property
    def log_kernel(self) -> Tensor:
        """``(n, m)`` ``-C / eps`` (:data:`COST_CONVENTION`); excluded self-pairs are ``-inf``."""
        return self._part("log_kernel")

    @property
    def solver(self) -> SinkhornResult | None:
        """The Sinkhorn result of the first ``t - 1`` rounds (``None`` for one-step losses)."""
        return self._part("solver")

    @property
    def log_u(self) -> Tensor:
        """``(n,)`` log row scaling of the last row step."""
        return self._part("log_u")

    @property
    def log_v(self) -> Tensor:
        """``(m,)`` log column scaling."""
        return self._part("log_v")

    @property
    def log_plan(self) -> Tensor:
        """``(n, m)`` log of the projected plan ``P = diag(u) K diag(v)``."""
        return self._part("log_plan")

    @property
    def target(self) -> Tensor:
        """``(n, m)`` the target with each row scaled to the row marginal."""
        return self._part("target")

    @property
    def marginal_error(self) -> Tensor:
        """``()`` detached relative error of the marginal the last update did not enforce."""
        return self._part("marginal_error")

    @property
    def plan(self) -> Tensor:
        """``(n, m)`` the projected plan."""
        return self.log_plan.exp()

    @property
    def kernel(self) -> Tensor:
        """``(n, m)`` the Gibbs kernel ``exp(-C / eps)``."""
        return self.log_kernel.exp()


def _check_embeddings(z1: Tensor, z2: Tensor, *, finite: bool = True) -> None:
    """Shapes and dtype (free); with ``finite`` also NaN/inf and all-zero rows (one host sync)."""
    check_tensor("z1", z1, ndim=2)
    check_tensor("z2", z2, ndim=2)
    if z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must have the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}")
    if z1.shape[0] < 2:
        raise ValueError(f"batch size must be >= 2 (negatives are needed), got {z1.shape[0]}")
    if not z1.is_floating_point() or not z2.is_floating_point():
        raise TypeError(f"z1 and z2 must be floating tensors, got dtypes {z1.dtype} and {z2.dtype}")
    if not finite:
        return
    flags = torch.stack([
        torch.isfinite(z1).all(), torch.isfinite(z2).all(),
        (z1 != 0).any(-1).all(), (z2 != 0).any(-1).all(),
    ]).tolist()  # one sync
    for ok, name in zip(flags[:2], ("z1", "z2")):
        if not ok:
            raise ValueError(f"{name} contains NaN or inf embeddings")
    for ok, name in zip(flags[2:], ("z1", "z2")):
        if not ok:
            raise ValueError(
                f"{name} has an all-zero row: its cosine with anything is undefined (a collapsed "
                f"encoder?). With check_inputs=False such rows get cosine 0 with every row."
            )


def _unit_rows(z: Tensor) -> Tensor:
    # Dividing by the (detached) largest |entry| first keeps the squared norm away from float
    # underflow/overflow; normalize() is scale invariant, so values and gradients are unchanged.
    scale = z.detach().abs().amax(-1, keepdim=True)
    return F.normalize(z / torch.where(scale > 0, scale, torch.ones_like(scale)), dim=-1)


def _marginal_error(log_plan: Tensor, marginal: Tensor, end: str) -> Tensor:
    with torch.no_grad():
        sums = torch.logsumexp(log_plan, dim=-2 if end == "row" else -1).exp()
        return (sums - marginal).abs().sum() / marginal.abs().sum()


def _computed(parts: dict[str, Any], name: str) -> Any:
    # the part ``name``, computed on first access when stored as a maker, and kept
    value = parts[name]
    if callable(value):
        value = parts[name] = value()
    return value


def _log_max(dtype: torch.dtype) -> float:
    return math.log(torch.finfo(dtype).max)


class GCALoss(nn.Module):
    r"""Generalized contrastive alignment: ``d_M(P_tgt || Prox_B(K_theta))`` (arXiv 2502.20141, the GCA objective).

    The public subclasses fix the projection and the divergence; this class exposes every knob
    for ablations (:func:`gca_lab.methods.make_loss` builds the named ones).

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
        convention: ``"gca"`` (default), ``"reference"`` (the authors' code) or ``"chuang"`` (cost
            ``-cos``, unit masses: Chuang et al.'s RINCE): the defaults of the knobs below that are
            left at ``None`` (module docstring, "Conventions"). A ``TrainConfig`` passes it through
            ``loss_options={"convention": ...}``.
        layout: ``"cross"`` (``B x B`` between the views; the paper's formulation) or ``"joint"``
            (``2B x 2B`` over all views, SimCLR's). ``None``: the convention's.
        symmetric: for ``cross``, average the loss of both directions (view 1 -> 2 and 2 -> 1).
        marginals: ``"one"`` (``a_i = b_j = 1``: each anchor carries mass 1, as InfoNCE) or
            ``"uniform"`` (``1/n``, the authors' GCA-RINCE/UOT scale). Balanced KL losses do not
            depend on it; the RINCE/W1 and unbalanced ones do. ``None``: the convention's.
        cost: ``"1-cos"`` (``K = exp(-(1 - s)/eps)``) or ``"-cos"`` (``K = exp(s/eps)``). ``None``: the
            convention's.
        self_pairs: ``"mask"`` (joint layout: exclude ``i = i`` pairs) or ``"max_cost"`` (give them
            the maximum cost, as the authors' code does). ``None``: the convention's.
        clamp_similarity: clamp cosines at ``1e-7`` from below, as the authors' code does.
            ``None``: the convention's.
        end: ``"row"`` ends the projections on a row step; ``"col"`` runs ``n_iters`` full rounds
            ending on a column step (IOT; the authors' loops). ``None``: the convention's.
        kl_form: ``"conditional"`` (default; row-normalized plan) or ``"generalized"`` (the plan as is,
            with mass terms; IOT).
        grad: ``"unroll"`` (exact), ``"detached"`` (scalings detached, error reported as
            :attr:`LossOutput.marginal_error`) or ``"last_step"`` (module docstring, "Gradient modes").
        check_inputs: check for NaN/inf and all-zero embedding rows (one host sync per call). Turn
            off in training loops to avoid the sync; zero rows then get cosine 0 with every row.
        gather_distributed: negatives and transport span the views of every ``torch.distributed``
            process. Each process computes only its rows of the plan (:mod:`gca_lab.sharding`: column
            reductions and the loss combined by autograd-aware all-reduces, :mod:`gca_lab.collectives`),
            so the loss is the whole batch's on every rank, and the gradient reaching a rank's
            embeddings is ``world_size`` times the single-process one, which DDP's averaging cancels.
            Losses the sharded plan does not cover (a target plan, extra terms, ``kl_form="generalized"``,
            ``grad="last_step"``) gather the embeddings and compute the whole plan on every rank.
        backend: ``"dense"`` holds the ``n x m`` similarities and kernel; ``"tiled"`` recomputes
            kernel blocks of ``tile`` rows from the embeddings in forward and backward and never
            holds an ``n x m`` tensor (memory ``O(n d + tile m)``; :func:`gca_lab.scaling_grad.tiled_scaling_rounds`).
            ``"auto"`` (default) is tiled above :data:`AUTO_TILED_ENTRIES` kernel entries, when the
            loss allows it: the default target, ``grad`` ``"unroll"`` or ``"detached"``, no clamp, masked
            self-pairs, a conditional KL without extra terms, and ``eps`` above the kernel-domain bound
            (:meth:`tiled_supported`). :meth:`details` computes the ``n x m`` parts on access.
        tile: rows of a kernel block for the tiled backend (default ``2^22 / m``).
    """

    name = "gca"
    #: What the class computes, read by :mod:`gca_lab.methods` (never restated there): several
    #: Sinkhorn rounds (``n_iters``), KL-relaxed marginals (``rho``), a RINCE / W1 term (``lam``, ``q``),
    #: a transport plan (negatives to gather across processes), and the training step it takes.
    iterative: ClassVar[bool] = False
    unbalanced: ClassVar[bool] = False
    w1: ClassVar[bool] = False
    has_plan: ClassVar[bool] = True
    family: ClassVar[str] = "contrastive"

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
        convention: Convention = DEFAULT_CONVENTION,
        layout: Layout | None = None,
        symmetric: bool = False,
        marginals: Literal["one", "uniform"] | None = None,
        cost: Literal["1-cos", "-cos"] | None = None,
        self_pairs: Literal["mask", "max_cost"] | None = None,
        clamp_similarity: bool | None = None,
        end: Literal["row", "col"] | None = None,
        kl_form: Literal["conditional", "generalized"] = "conditional",
        grad: Literal["unroll", "detached", "last_step"] = "unroll",
        check_inputs: bool = True,
        gather_distributed: bool = False,
        backend: Literal["auto", "dense", "tiled"] = "auto",
        tile: int | None = None,
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
        self.convention = check_choice("convention", convention, CONVENTIONS)
        # Knobs left at None take the convention's value (module docstring, "Conventions").
        chosen = self._convention_defaults(self.convention)
        pick = lambda name, value: chosen[name] if value is None else value  # noqa: E731
        self.layout = check_choice("layout", pick("layout", layout), ("cross", "joint"))
        self.symmetric = bool(symmetric)
        self.marginals = check_choice("marginals", pick("marginals", marginals), ("one", "uniform"))
        self.cost = check_choice("cost", pick("cost", cost), ("1-cos", "-cos"))
        self.self_pairs = check_choice("self_pairs", pick("self_pairs", self_pairs), ("mask", "max_cost"))
        self.clamp_similarity = bool(pick("clamp_similarity", clamp_similarity))
        self.end = check_choice("end", pick("end", end), ("row", "col"))
        self.kl_form = check_choice("kl_form", kl_form, ("conditional", "generalized"))
        self.grad = check_choice("grad", grad, ("unroll", "detached", "last_step"))
        self.check_inputs = bool(check_inputs)
        self.gather_distributed = bool(gather_distributed)
        self.backend = check_choice("backend", backend, ("auto", "dense", "tiled"))
        self.tile = None if tile is None else check_int("tile", tile, minimum=1)

    # Per-class departures of ``convention="reference"`` from :data:`_REFERENCE` (which file of
    # nerdslab/gca each class reproduces is said in its docstring).
    _reference_overrides: dict[str, Any] = {}

    def _convention_defaults(self, convention: str) -> dict[str, Any]:
        w1_family = self.divergence != "kl" or not (math.isinf(self.rho_a) and math.isinf(self.rho_b))
        base = {"layout": "cross", "self_pairs": "mask", "clamp_similarity": False, "end": "row"}
        if convention == "chuang":
            return {**base, "cost": "-cos", "marginals": "one"}
        masses = "uniform" if w1_family else "one"
        if convention == "gca":
            return {**base, "cost": "1-cos", "marginals": masses}
        return {**_REFERENCE, "marginals": masses, **type(self)._reference_overrides}

    def extra_repr(self) -> str:
        rho = "" if math.isinf(self.rho_a) and math.isinf(self.rho_b) else f", rho=({self.rho_a}, {self.rho_b})"
        return (f"eps={self.eps}, n_iters={self.n_iters}{rho}, divergence={self.divergence!r}, "
                f"layout={self.layout!r}, convention={self.convention!r}")

    # -- the composition ---------------------------------------------------------------------

    def similarity(self, z1: Tensor, z2: Tensor) -> Tensor:
        """``(n, m)`` cosine similarities of the layout; joint self-pairs are handled by :meth:`log_kernel`.

        Rows are normalized after dividing by their largest entry, so norms of 1e-30 or 1e30 in
        float32 give the same cosines as norm 1 (plain ``F.normalize`` squares them into 0 or inf).
        A zero row (allowed only with ``check_inputs=False``) has cosine 0 with every row.
        """
        x, y = self._unit_views(z1, z2)
        return self._clamp(x @ y.T)

    def _unit_views(self, z1: Tensor, z2: Tensor) -> tuple[Tensor, Tensor]:
        # (x, y) with sim = x @ y.T: the two views (cross), or both stacked in blocks twice (joint)
        z1, z2 = _unit_rows(z1), _unit_rows(z2)
        if self.layout == "joint":
            z = torch.cat([z1, z2], 0)  # (2B, d)
            return z, z
        return z1, z2

    def _clamp(self, sim: Tensor) -> Tensor:
        return sim.clamp(min=1e-7) if self.clamp_similarity else sim

    def _log_kernel_values(self, sim: Tensor) -> Tensor:
        # -C / eps for the convention's cost, entrywise (no self-pair handling)
        return (sim - 1.0) / self.eps if self.cost == "1-cos" else sim / self.eps

    def log_kernel(self, sim: Tensor) -> Tensor:
        """``(n, m)`` ``log K = -C / eps`` with the convention's cost ``C = 1 - s`` or ``C = -s``.

        Joint self-pairs are ``-inf`` (masked) or get the maximum cost (``self_pairs="max_cost"``).
        """
        log_k = self._log_kernel_values(sim)
        if self.layout == "joint":
            # in place on a fresh tensor: no n x n mask, and the self-pairs get no gradient
            if self.self_pairs == "max_cost":
                log_k.diagonal().copy_(log_k.detach().min().expand(log_k.shape[0]))
            else:
                log_k.diagonal().fill_(-math.inf)
        return log_k

    def default_target(self, n: int, like: Tensor) -> Tensor:
        """The positive-pair target of the layout (identity, or the joint partner permutation)."""
        if self.layout == "joint":
            return _targets.joint_pairs(n // 2, dtype=like.dtype, device=like.device)
        return _targets.pairs(n, dtype=like.dtype, device=like.device)

    def _partner(self, n: int, device: torch.device) -> Tensor:
        # (n,) column of the single positive of each row of default_target
        idx = torch.arange(n, device=device)
        return (idx + n // 2) % n if self.layout == "joint" else idx

    def _marginal(self, size: int, like: Tensor) -> Tensor:
        value = 1.0 if self.marginals == "one" else 1.0 / size
        return torch.full((size,), value, dtype=like.dtype, device=like.device)

    def project(self, log_k: Tensor, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor, SinkhornResult | None]:
        """Project the kernel: returns ``(log_u, log_v, solver)`` with ``P = diag(u) K diag(v)``.

        The scalings follow the paper's update (arXiv 2502.20141: Sinkhorn's scalings, KL-relaxed as
        in GCA-UOT), started from ``v = b``::

            u <- (a / K v)^phi_a,   v <- (b / K^T u)^phi_b,   phi = rho / (rho + eps)

        ``t - 1`` such rounds then one row update (``end="row"``), or ``t`` rounds (``end="col"``).
        The rounds run in :func:`gca_lab.ot.sinkhorn`, whose update is ``u <- a' (K v)^(-phi)``: it
        is the same iteration with the reference masses ``a' = a^phi_a``, ``b' = b^phi_b`` and the
        initial column potential that makes ``v = b``; ``solver.log_a`` / ``solver.log_b`` are those
        ``a'``, ``b'`` (for unit marginals or hard constraints they are ``a``, ``b``).
        """
        log_u, log_v, solver, _ = self._project(log_k, a, b)
        return log_u, log_v, solver

    def _project(self, log_k: Tensor, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor, SinkhornResult | None, Tensor | None]:
        # Also returns log sum_j K_ij v_j of the last row update (the softmax normalizer the KL reuses).
        phi_a, phi_b = relaxation_exponent(self.rho_a, self.eps), relaxation_exponent(self.rho_b, self.eps)
        log_a, log_b = a.log(), b.log()
        rounds = self.n_iters - 1 if self.end == "row" else self.n_iters
        solver = None
        log_u, log_v = log_a, log_b
        if rounds > 0:
            log_a_ref, log_b_ref = phi_a * log_a, phi_b * log_b
            g_init = self.eps * (log_b - log_b_ref)  # v = b' exp(g/eps) = b at the start
            detached = self.grad == "detached"
            lk = log_k.detach() if detached else log_k
            with torch.no_grad() if detached else contextlib.nullcontext():
                solver = sinkhorn(
                    lk * (-self.eps), log_a_ref.exp(), log_b_ref.exp(), eps=self.eps, rho_a=self.rho_a,
                    rho_b=self.rho_b, n_iters=rounds, grad="unroll" if detached else self.grad,
                    domain=self._domain(log_k), validate=False, g_init=g_init,
                    masked_diagonal=self.layout == "joint" and self.self_pairs == "mask",
                )
            log_u, log_v = log_a_ref + solver.f / self.eps, log_b_ref + solver.g / self.eps
        row_lse = None
        if self.end == "row":
            if rounds == 0:  # v = b is constant: log sum_j K_ij b_j = lse_j(log K_ij) + log b
                row_lse = torch.logsumexp(log_k, dim=-1) + log_b[..., :1]
            else:
                row_lse = torch.logsumexp(log_k + log_v.unsqueeze(-2), dim=-1)  # (n,)
            log_u = phi_a * (log_a - row_lse)
        return log_u, log_v, solver, row_lse

    def _domain(self, log_k: Tensor) -> str:
        # Cosines lie in [-1, 1], so range(log K) <= 2/eps over the finite entries is known without
        # a host sync; the kernel-domain steps cannot underflow when 2 * 2/eps is below the dtype's
        # limit (gca_lab.ot.kernel_domain_bound_holds), masked self-pairs included (gca_lab.reductions.KernelReduction).
        return "kernel" if kernel_domain_bound_holds(2.0 / self.eps, 0.0, log_k.dtype) else "log"

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
        """``()`` the RINCE/W1 form ``mean_i[-(1/q) pos_i^q + (1/q) (lam a_i / u_i)^q]`` (module doc;
        ``a_i`` is 1 under ``convention="reference"``)."""
        t = target / target.sum(-1, keepdim=True)
        log_t = torch.where(t > 0, t.log(), torch.full_like(t, -math.inf))
        log_pos = torch.logsumexp(log_t + log_k + log_v.unsqueeze(-2), dim=-1)  # (n,) log sum_j t_ij K_ij v_j
        return self._w1_from_logs(log_pos, self._w1_log_negative(a, log_u))

    def _w1_log_negative(self, a: Tensor, log_u: Tensor) -> Tensor:
        # log(lam m_i / u_i) with m_i the target's row mass: the row marginal a_i, or 1 under
        # convention="reference" (nerdslab/gca 81a2137 builds gca_uot's target with unit entries;
        # docs/reference_implementation.md, item 31)
        if self.convention == "reference":
            return math.log(self.lam) - log_u
        return math.log(self.lam) + a.log() - log_u

    def _w1_from_logs(self, log_pos: Tensor, log_neg: Tensor) -> Tensor:
        return self._w1_values(log_pos, log_neg).mean(-1)

    def _w1_values(self, log_pos: Tensor, log_neg: Tensor) -> Tensor:
        # each row's W1 term -(K_ip v_p)^q / q + (lam m_i / u_i)^q / q, from their logs
        q = self.q
        return -torch.exp(q * log_pos) / q + torch.exp(q * log_neg) / q

    def check_range(self, n: int, dtype: torch.dtype) -> None:
        """Refuse a problem whose W1 term cannot be represented in ``dtype`` (no host sync).

        Only the ``-cos`` cost needs it: there ``K <= e^{1/eps}`` and the RINCE/W1 terms grow like
        ``(lam n e^{1/eps})^q``, which overflows float32 (NaN, or values like -4e24) below
        :meth:`smallest_safe_eps`. With the ``1 - cos`` cost ``K <= 1`` and nothing overflows;
        KL terms are computed in the log domain for every ``eps``.
        """
        if self.divergence == "kl" or self.cost == "1-cos":
            return
        if self._w1_log_magnitude(self.eps, n) >= _log_max(dtype):
            raise ValueError(
                f"eps={self.eps} is too small for the {self.divergence!r} term with cost '-cos' in {dtype} "
                f"(batch {n}, q={self.q}, lam={self.lam}): its values reach exp(q/eps) and overflow. "
                f"Use eps >= {self.smallest_safe_eps(n, dtype):.4g}, float64, or cost='1-cos' "
                f"(convention='gca', the default)."
            )

    def _w1_log_magnitude(self, eps: float, n: int) -> float:
        # log of the largest W1 value or gradient entry: (lam n e^{1/eps})^q, times 1/eps for the gradient
        return self.q * (1.0 / eps + max(0.0, math.log(self.lam * n))) + math.log(max(1.0, 1.0 / eps)) + 2.0

    def smallest_safe_eps(self, n: int, dtype: torch.dtype) -> float:
        """The smallest ``eps`` that :meth:`check_range` accepts for batch ``n`` in ``dtype``."""
        if self.divergence == "kl" or self.cost == "1-cos":
            return 0.0
        lo, hi = 1e-8, 1e3
        for _ in range(100):  # bisection on a monotone function of eps
            mid = math.sqrt(lo * hi)
            lo, hi = (mid, hi) if self._w1_log_magnitude(mid, n) >= _log_max(dtype) else (lo, mid)
        return hi

    def tiled_supported(self, dtype: torch.dtype) -> str | None:
        """Why the tiled backend cannot compute this loss in ``dtype`` (``None`` when it can)."""
        if not self._plain():
            return "its divergence reads the whole plan (extra terms or kl_form='generalized')"
        if self.grad not in ("unroll", "detached"):
            return f"grad={self.grad!r} (use 'unroll' or 'detached')"
        if self.clamp_similarity or (self.layout == "joint" and self.self_pairs == "max_cost"):
            return "clamped cosines or maximum-cost self-pairs (convention='reference') need the dense kernel"
        if self._domain(torch.empty(0, dtype=dtype)) != "kernel":
            return (f"eps={self.eps} is below the kernel-domain bound in {dtype} "
                    f"(4/eps must be < {80 if dtype == torch.float32 else 700})")
        return None

    def _tiled(self, n: int, m: int, dtype: torch.dtype, custom_target: bool) -> bool:
        # whether this direction runs on the tiled backend (constructor, "backend")
        if self.backend == "dense":
            return False
        why = "a target plan was given (the tiled backend uses the positive pairs)" if custom_target \
            else self.tiled_supported(dtype)
        if self.backend == "tiled":
            if why is not None:
                raise ValueError(f"backend='tiled' cannot compute {type(self).__name__} here: {why}")
            return True
        return why is None and n * m > AUTO_TILED_ENTRIES

    def _kernel_path(self, like: Tensor) -> bool:
        # whether the default-target loss takes the kernel-domain path of _direction
        one_step = self.divergence == "kl" and self.n_iters == 1 and self.end == "row"
        return self._plain() and not one_step and self.grad in ("unroll", "detached") and self._domain(like) == "kernel"

    def _backend(self, n: int, m: int, like: Tensor, custom_target: bool) -> str:
        """The reduction a direction runs on (:mod:`gca_lab.reductions`): ``"tiled"`` (kernel blocks
        recomputed from the embeddings), ``"kernel"`` (the stored kernel; both with the custom backward of
        :mod:`gca_lab.scaling_grad`) or ``"log"`` (the log kernel, :func:`gca_lab.ot.sinkhorn`)."""
        if self._tiled(n, m, like.dtype, custom_target):
            return "tiled"
        return "kernel" if not custom_target and self._kernel_path(like) else "log"

    def _direction(self, z1: Tensor, z2: Tensor, target: Tensor | None, both: bool = False) -> LossOutput:
        # One composition: similarity -> reduction (backend) -> projection -> divergence.
        # both: the symmetric cross layout's two directions as one batch of two problems (kernel
        # backends only); the LossOutput then shows the first direction and the loss averages both.
        x, y = self._unit_views(z1, z2)
        if both:
            x, y = torch.stack([x, y]), torch.stack([y, x])  # (2, B, d)
        first = (lambda t: t[0]) if both else (lambda t: t)  # noqa: E731
        n, m = x.shape[-2], y.shape[-2]
        backend = self._backend(n, m, x, target is not None)
        self.check_range(n, x.dtype)
        a, b = self._marginal(n, x), self._marginal(m, x)
        idx, get_target = self._direction_target(n, m, x, a, target)
        # The n x m parts: formed here on the log backend; computed on access by details() readers
        # on the kernel backends (which never hold a log kernel), and the tiled one (no cosines either).
        parts: dict[str, Any] = {"target": get_target}
        get = functools.partial(_computed, parts)  # shared with the LossOutput: a part is computed once
        sim = None
        if backend == "tiled":
            parts["sim"] = lambda: first(self._clamp(x @ y.transpose(-1, -2)))
        else:
            sim = self._clamp(x @ y.transpose(-1, -2))
            parts["sim"] = first(sim)
        parts["log_kernel"] = self.log_kernel(sim) if backend == "log" else (lambda: self.log_kernel(get("sim")))
        one_softmax = (backend == "log" and idx is not None and self.divergence == "kl" and self.n_iters == 1
                       and self.end == "row" and self._plain())
        log_u, log_v, row_lse = self._direction_project(backend, one_softmax, sim, a, b, get, both, (x, y), parts)
        log_pos = self._positive_logs(backend, one_softmax, idx, x, y, log_v, get)
        parts.update(log_u=log_u if one_softmax else first(log_u), log_v=first(log_v))
        parts["log_plan"] = lambda: get("log_kernel") + get("log_u").unsqueeze(-1) + get("log_v").unsqueeze(-2)
        loss, terms = self._direction_loss(x, a, idx, log_pos, row_lse, log_u, log_v, one_softmax, both, first, get)
        parts["marginal_error"] = lambda: _marginal_error(get("log_plan"), b if self.end == "row" else a, self.end)
        return LossOutput(loss, terms, parts)

    def _direction_target(self, n: int, m: int, x: Tensor, a: Tensor,
                          target: Tensor | None) -> tuple[Tensor | None, Any]:
        # The partner indices (default target) or None, and the row-normalized target plan (or its maker)
        if target is None:
            # The positive-pair targets have one unit entry per row: no check (and no sync), and
            # the divergences read the positives with a gather instead of n x n sums.
            idx = self._partner(n, x.device)
            return idx, lambda: self.default_target(n, x) * a.unsqueeze(-1)
        check_tensor("target", target, ndim=2)
        if tuple(target.shape) != (n, m):
            raise ValueError(f"target must have shape {(n, m)} for layout {self.layout!r}, got {tuple(target.shape)}")
        return None, _targets.normalize_rows(target.to(dtype=x.dtype, device=x.device), a)

    def _direction_project(self, backend: str, one_softmax: bool, sim: Tensor | None, a: Tensor, b: Tensor,
                           get: Any, both: bool, views: tuple[Tensor, Tensor],
                           parts: dict[str, Any]) -> tuple[Any, Tensor, Tensor | None]:
        # log_u (or its maker), log_v and the last row normalizer on the chosen backend; records the solver
        if one_softmax:
            # InfoNCE / NT-Xent: the plan is one row step of K (v = b constant) and the KL its softmax
            # cross-entropy, computed fused; the scalings only if details() readers ask for them.
            log_k = get("log_kernel")
            log_u, log_v, row_lse = (lambda: self._project(log_k, a, b)[0]), b.log(), None
            parts["solver"] = None
        elif backend == "log":
            log_u, log_v, parts["solver"], row_lse = self._project(get("log_kernel"), a, b)
        else:
            log_u, log_v, row_lse, parts["solver"] = self._kernel_project(
                sim if backend == "kernel" else None, a, b, get, both, views)
        return log_u, log_v, row_lse

    def _positive_logs(self, backend: str, one_softmax: bool, idx: Tensor | None, x: Tensor, y: Tensor,
                       log_v: Tensor, get: Any) -> Tensor | None:
        # (..., n) log K_ip v_p at the positive pairs (default target only; the fused softmax reads none)
        if idx is not None and backend != "log":
            pos = self._clamp((x * y[..., idx, :]).sum(-1))  # (..., n) cos(x_i, y_p(i)), as sim[i, p(i)]
            return self._log_kernel_values(pos) + log_v[..., idx]
        if idx is not None and not one_softmax:
            return get("log_kernel").gather(-1, idx.unsqueeze(-1)).squeeze(-1) + log_v[idx]  # (n,)
        return None

    def _direction_loss(self, x: Tensor, a: Tensor, idx: Tensor | None, log_pos: Tensor | None,
                        row_lse: Tensor | None, log_u: Any, log_v: Tensor, one_softmax: bool, both: bool,
                        first: Any, get: Any) -> tuple[Tensor, dict[str, Tensor]]:
        # The divergence of the plan from the target: the weighted KL and W1 terms and any extra terms
        terms: dict[str, Tensor] = {}
        loss = x.new_zeros(())
        if self.divergence in ("kl", "kl+w1"):
            if one_softmax:
                kl = F.cross_entropy(get("log_kernel"), idx)
            elif log_pos is not None and self.kl_form == "conditional":
                # One softmax: the row-normalized plan is softmax(log K + log v) (u cancels), whose
                # normalizer a row-ending plan's last row update already computed.
                if row_lse is None:
                    row_lse = torch.logsumexp(get("log_kernel") + log_v.unsqueeze(-2), dim=-1)
                kl = (row_lse - log_pos).mean(-1)  # (2,) with both directions
            else:
                kl = self.kl_term(get("log_plan"), get("target"))
            terms["kl"] = first(kl)
            loss = loss + self._term_weight("kl") * (kl.mean() if both else kl)
        if self.divergence in ("w1", "kl+w1"):
            if log_pos is not None:
                w1 = self._w1_from_logs(log_pos, self._w1_log_negative(a, log_u))
            else:
                w1 = self.w1_term(get("log_kernel"), log_u, log_v, a, get("target"))
            terms["w1"] = first(w1)
            loss = loss + self._term_weight("w1") * (w1.mean() if both else w1)
        if type(self).extra_terms is not GCALoss.extra_terms:
            loss = loss + self.extra_terms(get("log_plan"), get("target"), terms)
        return (loss if not one_softmax else kl), terms

    def _term_weight(self, term: str) -> float:
        # a term's weight in the loss: its own under divergence="kl+w1", else 1
        if self.divergence != "kl+w1":
            return 1.0
        return self.kl_weight if term == "kl" else self.w1_weight

    def _plain(self) -> bool:
        # the divergence reads only the positives and the row normalizers (no extra terms, conditional KL)
        return type(self).extra_terms is GCALoss.extra_terms and self.kl_form == "conditional"

    def _scaling_start(self, a: Tensor, b: Tensor) -> tuple[float, float, Tensor, Tensor, Tensor, int]:
        # The scaling rounds' start, shared by the kernel and sharded paths: the relaxation exponents,
        # the reference marginals a^phi and b^phi (logs), the column potential g with v = b, and the
        # number of full rounds before the last projection.
        eps = self.eps
        phi_a, phi_b = relaxation_exponent(self.rho_a, eps), relaxation_exponent(self.rho_b, eps)
        log_a, log_b = a.log(), b.log()
        log_a_ref, log_b_ref = phi_a * log_a, phi_b * log_b
        g_init = eps * (log_b - log_b_ref)  # v = b' exp(g/eps) = b at the start
        rounds = self.n_iters - 1 if self.end == "row" else self.n_iters
        return phi_a, phi_b, log_a_ref, log_b_ref, g_init, rounds

    def _scalings(self, f: Tensor, g: Tensor, row_lse: Tensor, a: Tensor, b: Tensor, phi_a: float,
                  log_a_ref: Tensor, log_b_ref: Tensor, rounds: int, batch: tuple[int, ...]) -> tuple[Tensor, Tensor]:
        # log_u, log_v after the rounds: the last projection ends on the rows (u from the row normalizer)
        # or on the columns (both from the potentials)
        log_v = log_b_ref + g / self.eps if rounds > 0 else b.log().expand(*batch, -1)
        log_u = phi_a * (a.log() - row_lse) if self.end == "row" else log_a_ref + f / self.eps
        return log_u, log_v

    def _kernel_affine(self) -> tuple[float, float]:
        # log K = scale * s + offset with scale 1/eps: offset -1/eps for the 1 - cos cost; shift, an
        # upper bound of log K (s <= 1): 1/eps for the -cos cost
        eps = self.eps
        return (-1.0 / eps, 0.0) if self.cost == "1-cos" else (0.0, 1.0 / eps)

    def _kernel_project(self, sim: Tensor | None, a: Tensor, b: Tensor, get: Any,
                        both: bool = False, views: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor, Tensor, Any]:
        # project() in the kernel domain from the cosines (gca_lab.ot.kernel_scaling_rounds): returns
        # log_u, log_v, the last row normalizer log sum_j K_ij v_j, and the solver result, built
        # only when read.
        eps = self.eps
        phi_a, _, log_a_ref, log_b_ref, g_init, rounds = self._scaling_start(a, b)
        joint = self.layout == "joint"
        if joint and self.self_pairs == "max_cost":  # the self-pairs' fill needs the log kernel
            x, scale, offset, shift, masked = get("log_kernel"), 1.0, 0.0, None, False
        else:  # log K = (s - 1)/eps or s/eps, bounded above by 0 or 1/eps since s <= 1
            x, scale, masked = sim, 1.0 / eps, joint
            offset, shift = self._kernel_affine()
        rounds_kw = dict(eps=eps, rho_a=self.rho_a, rho_b=self.rho_b, iters=rounds, masked=masked, scale=scale,
                         offset=offset, shift=shift, detach_rounds=self.grad == "detached")
        batch = views[0].shape[:-2] if sim is None else sim.shape[:-2]
        start = (log_a_ref.expand(*batch, -1), log_b_ref.expand(*batch, -1), g_init.expand(*batch, -1))
        if sim is None:  # tiled: the same rounds on kernel blocks recomputed from the unit views
            f, g, row_lse, errors = tiled_scaling_rounds(*views, *start, tile=self.tile, **rounds_kw)
        else:
            f, g, row_lse, errors = kernel_scaling_rounds(x, *start, **rounds_kw)
        log_u, log_v = self._scalings(f, g, row_lse, a, b, phi_a, log_a_ref, log_b_ref, rounds, batch)

        def solver() -> SinkhornResult | None:
            if rounds == 0:
                return None
            log_k = get("log_kernel")
            f1, g1, err1 = (f[0], g[0], errors[:, 0]) if both else (f, g, errors)
            log_plan = log_k + (log_a_ref + f1 / eps).unsqueeze(-1) + (log_b_ref + g1 / eps).unsqueeze(-2)
            return SinkhornResult(
                log_plan=log_plan, f=f1, g=g1, errors=err1, n_iters=rounds, converged=err1[-1].detach() <= 1e-6,
                eps=eps, rho_a=self.rho_a, rho_b=self.rho_b, cost=log_k * (-eps), log_a=log_a_ref, log_b=log_b_ref,
            )

        return log_u, log_v, row_lse, solver

    # -- the plan sharded across processes (gather_distributed) ------------------------------------

    def _shardable(self, target: Tensor | None) -> bool:
        return target is None and self._plain() and self.grad in ("unroll", "detached")

    def _sharded(self, z1: Tensor, z2: Tensor) -> LossOutput:
        # This process's rows of the plan against every process's views (gca_lab.sharding).
        rank, _ = world()
        u1, u2 = _unit_rows(z1), _unit_rows(z2)
        local = torch.arange(u1.shape[0], device=u1.device) + rank * u1.shape[0]  # global anchor indices
        all1, all2 = gather(u1), gather(u2)
        if self.layout == "joint":
            return self._sharded_direction(torch.cat([u1, u2]), torch.cat([all1, all2]),
                                           torch.cat([local, local + all1.shape[0]]), joint=True)
        out = self._sharded_direction(u1, all2, local, joint=False)
        if self.symmetric:
            back = self._sharded_direction(u2, all1, local, joint=False)
            out = dataclasses.replace(out, loss=(out.loss + back.loss) / 2)
        return out

    def _sharded_direction(self, x: Tensor, y: Tensor, rows: Tensor, joint: bool) -> LossOutput:
        # x: (n_local, d) this process's anchors with global row indices ``rows``; y: (n, d) every view.
        n = y.shape[0]
        self.check_range(n, x.dtype)
        partner = (rows + n // 2) % n if joint else rows
        a, b = self._marginal(n, x)[: len(rows)], self._marginal(n, x)
        start = self._scaling_start(a, b)
        phi_a, _, log_a_ref, log_b_ref, _, rounds = start
        log_kernel = self._sharded_log_kernel(x, y, rows, joint)
        f, g, r = self._sharded_rounds(x, y, rows, joint, log_kernel, start)
        log_u, log_v = self._scalings(f, g, r, a, b, phi_a, log_a_ref, log_b_ref, rounds, ())
        pos = self._clamp((x * y[partner]).sum(-1))  # (n_local,) cos(x_i, y_p(i)): no n x n gather
        log_pos = self._log_kernel_values(pos) + log_v[partner]  # (n_local,) log K_ip v_p
        terms: dict[str, Tensor] = {}
        loss = x.new_zeros(())
        if self.divergence in ("kl", "kl+w1"):
            # r = log sum_j K_ij v_j normalizes the plan's rows (as in _direction); sums over ranks
            terms["kl"] = all_reduce_sum((r - log_pos).sum() / n)
            loss = loss + self._term_weight("kl") * terms["kl"]
        if self.divergence in ("w1", "kl+w1"):
            terms["w1"] = all_reduce_sum(self._w1_values(log_pos, self._w1_log_negative(a, log_u)).sum() / n)
            loss = loss + self._term_weight("w1") * terms["w1"]
        # details(): this process's rows only, computed on access
        parts: dict[str, Any] = {"sim": lambda: self._clamp(x @ y.T), "log_kernel": log_kernel, "log_u": log_u,
                                 "log_v": log_v, "solver": None}
        parts["log_plan"] = lambda: log_kernel() + log_u.unsqueeze(-1) + log_v.unsqueeze(-2)
        return LossOutput(loss, terms, parts)

    def _sharded_log_kernel(self, x: Tensor, y: Tensor, rows: Tensor, joint: bool) -> Any:
        # The maker of this process's rows of log K, (n_local, n); the maximum-cost fill is all-reduced
        # once and reused by later calls (details() readers).
        fills: list[Tensor] = []
        local_rows = torch.arange(len(rows), device=x.device)

        def log_kernel() -> Tensor:
            log_k = self._log_kernel_values(self._clamp(x @ y.T))
            if joint:  # the self-pairs: excluded, or the maximum cost of the whole (gathered) kernel
                if self.self_pairs == "max_cost" and not fills:
                    fills.append(-all_reduce_max(-log_k.detach().amin()))
                fill = fills[0] if fills else torch.as_tensor(-math.inf, dtype=x.dtype, device=x.device)
                log_k = log_k.index_put((local_rows, rows), fill.to(x.dtype))
            return log_k

        return log_kernel

    def _sharded_rounds(self, x: Tensor, y: Tensor, rows: Tensor, joint: bool, log_kernel: Any,
                        start: tuple[float, float, Tensor, Tensor, Tensor, int]) -> tuple[Tensor, Tensor, Tensor]:
        # The scaling rounds on this process's rows (f, g, last row normalizer), on the tiled, kernel or
        # log reduction (gca_lab.sharding)
        eps, n = self.eps, y.shape[0]
        phi_a, phi_b, log_a_ref, log_b_ref, g0, rounds = start
        masked = joint and self.self_pairs == "mask"
        kernel_domain = self._domain(x) == "kernel"
        offset, shift = self._kernel_affine()  # shift: an upper bound of log K (cos <= 1), shared
        detach = self.grad == "detached"
        why = "the joint layout's self-pairs are not one diagonal of a process's rows" if joint \
            else self.tiled_supported(x.dtype)
        if self.backend == "tiled" and why is not None:
            raise ValueError(f"backend='tiled' cannot compute {type(self).__name__} sharded: {why}")
        if why is None and (self.backend == "tiled" or (self.backend == "auto" and len(rows) * n > AUTO_TILED_ENTRIES)):
            # kernel blocks recomputed from the embeddings: memory O(n d) per process (gca_lab.sharding)
            f, g, r, _ = sharded_tiled_scaling_rounds(
                x, y, log_a_ref, log_b_ref, g0, eps=eps, rho_a=self.rho_a, rho_b=self.rho_b, iters=rounds,
                scale=1.0 / eps, offset=offset, shift=shift, detach_rounds=detach, tile=self.tile)
            return f, g, r
        if kernel_domain and not masked:
            # the custom backward on this process's kernel block (memory O(n_local n), gca_lab.sharding)
            if joint:  # maximum-cost self-pairs: the fill needs the log kernel
                src, scale, offset = log_kernel(), 1.0, 0.0
            else:
                src, scale = self._clamp(x @ y.T), 1.0 / eps
            f, g, r, _ = sharded_scaling_rounds(src, log_a_ref, log_b_ref, g0, eps=eps, rho_a=self.rho_a,
                                                rho_b=self.rho_b, iters=rounds, scale=scale, offset=offset,
                                                shift=shift, detach_rounds=detach)
            return f, g, r
        # plain autograd through this process's rows: its stored kernel block where its products
        # cannot underflow, else its log kernel
        log_k = log_kernel()
        local: Any = LocalKernelReduction(torch.exp(log_k - shift), shift, rows if masked else None) \
            if kernel_domain else LogReduction(log_k)
        del log_k
        reduce = ShardedReduction(local)
        loop = dict(eps=eps, phi_a=phi_a, phi_b=phi_b, rho_a=self.rho_a, errors=False)
        if detach:
            with torch.no_grad():
                f, g, _, _, _ = scaling_rounds(reduce, log_a_ref, log_b_ref, g0, iters=rounds, **loop)
            return f, g, reduce.rows(log_b_ref + g / eps)
        f, g, r, _, _ = scaling_rounds(reduce, log_a_ref, log_b_ref, g0, iters=rounds, **loop)
        return f, g, r

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
        _check_embeddings(z1, z2, finite=self.check_inputs)
        # Half-precision embeddings (autocast) are computed in float32: bf16 has 8 mantissa bits,
        # too few for exp/log-sum-exp of s/eps (bf16 InfoNCE rounds a 2.4e-4 loss to 0).
        dtype = torch.promote_types(z1.dtype, torch.float32)
        with torch.autocast(z1.device.type, enabled=False):
            z1, z2 = z1.to(dtype), z2.to(dtype)
            if self.gather_distributed and world()[1] > 1 and self._shardable(target):
                return self._sharded(z1, z2)
            if self.gather_distributed:
                z1, z2 = gather(z1), gather(z2)
            if self.symmetric and self.layout == "cross" and target is None and self._kernel_path(z1):
                return self._direction(z1, z2, None, both=True)  # both directions in one batch
            out = self._direction(z1, z2, target)
            if self.symmetric and self.layout == "cross":
                back = self._direction(z2, z1, None if target is None else target.T)
                out = dataclasses.replace(out, loss=(out.loss + back.loss) / 2)
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
    r"""InfoNCE = ``KL(I || Prox^KL_{C1}(K))``: one row projection of the Gibbs kernel (arXiv 2502.20141, Table 1).

    ``L = mean_i -log( e^{s_ii} / sum_j e^{s_ij} )`` with ``s = cos / eps``. Defaults: ``eps = 0.5``,
    ``layout = "cross"`` (all :class:`GCALoss` keywords except the fixed ones are accepted).
    """

    name = "ince"
    iterative, unbalanced, w1 = False, False, False
    # convention="reference": hs_ince of gca_loss_cifar.py (joint, clamped, max-cost self-pairs)

    def __init__(self, eps: float = 0.5, **kwargs: Any) -> None:
        super().__init__(eps=eps, **_fixed(kwargs, "InfoNCE", n_iters=1, divergence="kl", rho_a=math.inf))


class NTXent(InfoNCE):
    r"""SimCLR's NT-Xent: InfoNCE on the ``2B x 2B`` joint layout with self-pairs masked.

    ``L = mean_i -log( e^{s_{i,p(i)}} / sum_{k != i} e^{s_ik} )`` over all ``2B`` views.
    """

    name = "simclr"
    iterative, unbalanced, w1 = False, False, False
    # convention="reference": NT_Xent of gca_loss_cifar.py (clamped; its -1e5 self-pair logit is a mask)
    _reference_overrides = {"self_pairs": "mask"}

    def __init__(self, eps: float = 0.5, **kwargs: Any) -> None:
        super().__init__(eps=eps, **_fixed(kwargs, "NTXent", layout="joint"))


class GCAInfoNCE(GCALoss):
    r"""GCA-INCE = ``KL(I || Prox^KL_{C1 ∩ C2}(K))`` approximated by ``n_iters`` row projections
    interleaved with column projections (arXiv 2502.20141, Table 1). Default ``n_iters = 10`` (reference).
    """

    name = "gca_ince"
    iterative, unbalanced, w1 = True, False, False
    # convention="reference": gca_ince of gca_loss_cifar.py, whose T rounds end on a column update
    _reference_overrides = {"end": "col"}

    def __init__(self, eps: float = 0.5, n_iters: int = 10, **kwargs: Any) -> None:
        super().__init__(eps=eps, n_iters=n_iters, **_fixed(kwargs, "GCAInfoNCE", divergence="kl"))


class RINCE(GCALoss):
    r"""Robust InfoNCE (Chuang et al., CVPR 2022) = W1 alignment after one row projection (arXiv 2502.20141, Table 1).

    With ``convention="chuang"`` (``s = cos / eps``):
    ``L = mean_i [ -(1/q) e^{q s_ii} + (1/q) (lam sum_j e^{s_ij})^q ]``; ``lam`` (default 0.01) and
    ``q`` in ``(0, 1]`` (default 0.6) both matter. As ``q -> 0`` it tends to
    ``InfoNCE + log(lam)`` (the ``-1/q`` and ``+1/q`` of the two terms cancel; tested). The default
    convention computes ``n^{-q} e^{-q/eps} L`` (cost ``1 - cos``, masses ``1/n``: the authors' scale).
    """

    name = "rince"
    iterative, unbalanced, w1 = False, False, True
    # convention="reference": rince of gca_loss_imagenet.py = Chuang et al.'s RINCE on exp(cos/eps)
    _reference_overrides = {"cost": "-cos", "self_pairs": "mask", "clamp_similarity": False, "marginals": "one"}

    def __init__(self, eps: float = 0.5, lam: float = 0.01, q: float = 0.6, **kwargs: Any) -> None:
        super().__init__(eps=eps, lam=lam, q=q, **_fixed(kwargs, "RINCE", n_iters=1, divergence="w1"))


class GCARINCE(GCALoss):
    r"""GCA-RINCE: the NeurIPS 2024 poster's formula on the ``t``-th row iterate (arXiv 2502.20141, Table 1):

    ``-(1/q) (diag(P^(2t-1)) / u^(t))^q + (1/q) (lam P_tgt 1 / u^(t))^q``. Default ``n_iters = 10``.
    """

    name = "gca_rince"
    iterative, unbalanced, w1 = True, False, True
    # convention="reference": the Sinkhorn plan of gca_rince in gca_loss_cifar.py (masses 1/2N,
    # T rounds ending on a column) with the W1 term of its gca_uot (module docstring)
    _reference_overrides = {"end": "col"}

    def __init__(self, eps: float = 0.5, n_iters: int = 10, lam: float = 0.01, q: float = 0.6, **kwargs: Any) -> None:
        super().__init__(eps=eps, n_iters=n_iters, lam=lam, q=q, **_fixed(kwargs, "GCARINCE", divergence="w1"))


class GCAUOT(GCALoss):
    r"""GCA-UOT: unbalanced entropic OT with KL-relaxed marginals (arXiv 2502.20141, GCA-UOT), the best variant.

    ``P`` = ``n_iters`` rounds of the KL-relaxed scaling ``u <- (a / K v)^{rho/(rho+eps)}``,
    ``v <- (b / K^T u)^{rho/(rho+eps)}`` from ``v = b`` (ending on a row step; with unit masses and at
    convergence this is the plan of :func:`gca_lab.ot.sinkhorn` with the same ``rho``; for masses
    ``1/n``, the default, see :meth:`GCALoss.project`). Loss ``kl_weight * KL + w1_weight * W1``.

    Defaults (reference configs / README): ``eps = 0.5``, ``n_iters = 10``, ``rho = 0.2`` on both
    sides (``relax_item``), ``kl_weight = 1`` (r1), ``w1_weight = 0.2`` (r2), ``lam = 0.01``, ``q = 0.6``.
    """

    name = "gca_uot"
    iterative, unbalanced, w1 = True, True, True
    # convention="reference": gca_uot of gca_loss_cifar.py (masses 1/2N, T rounds ending on a column)
    _reference_overrides = {"end": "col"}

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
    """UOT: a single KL-relaxed row step (the non-iterative baseline of the NeurIPS 2024 poster,
    panel 'Time complexity')."""

    name = "uot"
    iterative, unbalanced, w1 = False, True, True

    def __init__(self, eps: float = 0.5, rho: float = 0.2, **kwargs: Any) -> None:
        if "n_iters" in kwargs:
            raise TypeError("UOT fixes n_iters=1; use GCAUOT for several rounds")
        super().__init__(eps=eps, n_iters=1, rho=rho, **kwargs)


class IOT(GCALoss):
    r"""Inverse-OT contrastive loss (Shi et al., ICML 2023), as in the authors' code (nerdslab/gca, iot).

    ``P`` = ``n_iters`` full Sinkhorn rounds (ending on a column step) of the kernel with unit
    marginals; loss = generalized ``KL(T || P)`` per anchor (``-log P_{i,p(i)}`` plus mass terms).
    Positives are paired by the layout's target (the reference pairs CIFAR views wrongly).
    """

    name = "iot"
    iterative, unbalanced, w1 = True, False, False
    # convention="reference": iot of gca_loss_cifar.py (unclamped cosines, max-cost self-pairs)
    _reference_overrides = {"clamp_similarity": False}

    def __init__(self, eps: float = 0.5, n_iters: int = 10, **kwargs: Any) -> None:
        super().__init__(
            eps=eps, n_iters=n_iters,
            **_fixed(kwargs, type(self).__name__, divergence="kl", end="col", kl_form="generalized"),
        )


class IOTUni(IOT):
    r"""IOT with a uniformity term: ``+ lam_uniform * KL(Q || P)`` per anchor (nerdslab/gca, iot_uni).

    ``Q`` is the (detached) plan with every off-diagonal entry replaced by the mean off-diagonal
    value, so the term spreads plan mass evenly over the negatives. Default ``lam_uniform = 0.2``.
    """

    name = "iot_uni"
    iterative, unbalanced, w1 = True, False, False

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

    GCA reading (arXiv 2502.20141, Table 1): ``d_M = KL``, ``d_Gamma = L2``, no marginal constraint. ``forward(p, z)``
    takes the online prediction ``p`` and the target projection ``z`` (detached here); the
    predictor and the momentum network live in :mod:`gca_lab.models`.
    """

    name = "byol"
    iterative, unbalanced, w1 = False, False, False
    has_plan: ClassVar[bool] = False
    family: ClassVar[str] = "byol"

    def __init__(self, convention: Convention = DEFAULT_CONVENTION) -> None:
        super().__init__()
        # BYOL has no kernel: every convention gives the same loss (accepted so that one set of
        # keyword arguments builds every method).
        self.convention = check_choice("convention", convention, CONVENTIONS)

    def forward(self, p: Tensor, z: Tensor, target: Tensor | None = None) -> Tensor:
        _check_embeddings(p, z)
        if target is not None:
            raise ValueError("BYOLLoss takes no target plan (it has no negatives); got target")
        dtype = torch.promote_types(p.dtype, torch.float32)
        with torch.autocast(p.device.type, enabled=False):
            cos = (_unit_rows(p.to(dtype)) * _unit_rows(z.detach().to(dtype))).sum(-1)
        return (2 - 2 * cos).mean()
