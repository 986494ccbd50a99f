r"""The transport plan of one batch at any setting, and every loss on it (the plan explorer, notebook 02).

:func:`compute_plan` takes every knob of :class:`PlanParams` (``eps``, Sinkhorn rounds, marginal penalties
``rho_a``, ``rho_b``, layout, view noise, corrupted pairs, domain-prior weights ``alpha``, ``beta``) and
returns the kernel, the plan, its marginals against their targets, the solver's convergence and the value
of every loss with a plan (:func:`gca_lab.methods.names`). :func:`compute_method_plans` returns the plan
each loss itself computes on a batch. Both build the kernel through the losses' own
:meth:`gca_lab.losses.GCALoss.similarity` and :meth:`~gca_lab.losses.GCALoss.log_kernel`, so there is one
cost convention: the cost handed to the solver is ``C = -eps log K``, as in
:meth:`gca_lab.losses.GCALoss.project`.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from .. import losses as _losses
from .. import methods as _methods
from .. import targets as _targets
from .. import train as _train
from .._validate import check_choice, check_int, check_nonnegative, check_positive
from ..ot import sinkhorn
from ._threads import one_thread, to_numpy
from .batches import two_view_batch

__all__ = ["LOSS_NAMES", "PlanParams", "PlanData", "compute_plan", "compute_method_plans", "relative_deviation"]

#: Every method with a transport plan, in registry order (:func:`gca_lab.methods.names`).
LOSS_NAMES: tuple[str, ...] = _methods.names(has_plan=True)

_TRAIN = _train.TrainConfig()  # the defaults the explorer shares with every training run


@dataclass(frozen=True)
class PlanParams:
    """Every knob of :func:`compute_plan` (and the controls of :class:`PlanExplorer`).

    Attributes:
        n: batch size ``B``. eps: entropic regularization (temperature), ``> 0``.
        n_iters: Sinkhorn rounds (each = one row and one column update, :func:`gca_lab.ot.sinkhorn`);
            the iterative losses of the loss table take ``max(1, n_iters)`` (the name of
            :attr:`gca_lab.train.TrainConfig.n_iters`, whose default it shares). ``0`` means *no
            projection*: the plan shown is the Gibbs kernel divided by its total mass.
        rho_a, rho_b: KL penalties on the row / column marginals (``inf`` = hard constraint).
        layout: ``"cross"`` (``B x B`` between the views) or ``"joint"`` (``2B x 2B``, self-pairs excluded).
        noise: extra pixel-noise std on both views. corrupt: fraction of corrupted pairs (view 2 -> noise).
        alpha, beta: domain-prior target weights (same-domain / cross-domain pairs; 0, 0 = identity).
        seed: batch seed. dataset: ``"multidomain"`` (4 synthetic domains, default) or ``"digits"``.

    The former keywords ``n_rounds`` and ``loss_n_iters`` still work for one release (a
    ``DeprecationWarning``; both mean ``n_iters``), and so does reading ``.n_rounds``.
    """

    n: int = 128
    eps: float = _TRAIN.eps
    n_iters: int = _TRAIN.n_iters
    rho_a: float = math.inf
    rho_b: float = math.inf
    layout: str = "cross"
    noise: float = 0.0
    corrupt: float = 0.0
    alpha: float = 0.0
    beta: float = 0.0
    seed: int = 0
    dataset: str = "multidomain"

    @property
    def n_rounds(self) -> int:
        """Deprecated name of :attr:`n_iters`."""
        warnings.warn("PlanParams.n_rounds is deprecated; use n_iters", DeprecationWarning, stacklevel=2)
        return self.n_iters


_PLAN_PARAMS_INIT = PlanParams.__init__


def _plan_params_init(self: PlanParams, *args: Any, n_rounds: int | None = None, loss_n_iters: int | None = None,
                      **kwargs: Any) -> None:
    # The former names of n_iters, accepted for one release. A former name wins over n_iters, because
    # dataclasses.replace(p, n_rounds=k) (and compute_plan(p, n_rounds=k)) also passes p's n_iters.
    for old, value in (("loss_n_iters", loss_n_iters), ("n_rounds", n_rounds)):
        if value is not None:
            warnings.warn(f"PlanParams({old}=...) is deprecated; use n_iters", DeprecationWarning, stacklevel=2)
            kwargs["n_iters"] = value
    _PLAN_PARAMS_INIT(self, *args, **kwargs)


PlanParams.__init__ = _plan_params_init  # type: ignore[method-assign]


@dataclass(frozen=True)
class PlanData:
    """What :func:`compute_plan` returns (numpy arrays; ``n = m = B`` or ``2B``).

    Attributes:
        params: the :class:`PlanParams` used.
        ok: False when the result could not be computed or is not finite; ``message`` says why.
        message: an explanation for the status line ("" when all is well).
        kernel: ``(n, m)`` ``K / max K`` (the Gibbs kernel ``exp(cos/eps)`` scaled to max 1; excluded pairs 0).
        plan: ``(n, m)`` the transport plan (total mass 1 for balanced marginals).
        target: ``(n, m)`` the target plan, each row scaled to the row marginal ``a_i = 1/n``.
        row_marginal, col_marginal: ``(n,)``, ``(m,)`` ``P1`` and ``P^T 1``.
        row_target, col_target: ``(n,)``, ``(m,)`` the marginals ``a``, ``b`` (uniform, ``1/n``).
        errors: ``(T,)`` Sinkhorn marginal error per iteration (empty for ``n_iters = 0``).
        losses: ``{name: value}`` of every loss in :data:`LOSS_NAMES` at these settings (``nan`` if it failed).
        corrupted: ``(B,)`` bool mask of corrupted pairs. seconds: compute time.
    """

    params: PlanParams
    ok: bool
    message: str
    kernel: np.ndarray
    plan: np.ndarray
    target: np.ndarray
    row_marginal: np.ndarray
    col_marginal: np.ndarray
    row_target: np.ndarray
    col_target: np.ndarray
    errors: np.ndarray
    losses: dict[str, float]
    corrupted: np.ndarray
    seconds: float = 0.0

    @property
    def diag_mass(self) -> float:
        """Total plan mass on the positive pairs (the target's support with weight 1)."""
        n = self.plan.shape[0]
        if self.params.layout == "joint":
            b = n // 2
            idx = np.arange(n)
            return float(self.plan[idx, (idx + b) % n].sum())
        return float(np.trace(self.plan))

    @property
    def checksum(self) -> float:
        """A scalar summary of the plan: ``sum_ij P_ij w_ij`` with ``w_ij = ((7 i + 13 j^2) mod 17) / 17``.

        The weights are not a sum of a row and a column term, so the summary is not fixed by the
        marginals: it changes when a balanced plan changes (``sum_ij P_ij (i + 2j)`` would not).
        """
        n, m = self.plan.shape
        i, j = np.arange(n)[:, None], np.arange(m)[None, :]
        w = ((7 * i + 13 * j**2) % 17) / 17.0
        return float((self.plan * w).sum())

    @classmethod
    def failure(cls, params: PlanParams, message: str, seconds: float = 0.0) -> PlanData:
        """A result with ``ok = False``: empty arrays, ``nan`` losses and the ``message`` saying why."""
        z, e = np.zeros((0, 0)), np.zeros(0)
        return cls(params, False, message, z, z, z, e, e, e, e, e, {k: math.nan for k in LOSS_NAMES},
                   e.astype(bool), seconds)

    @property
    def row_deviation(self) -> np.ndarray:
        """``(n,)`` ``|P1 - a| / a``: how far each row marginal is from its target, relative to it."""
        return relative_deviation(self.row_marginal, self.row_target)

    @property
    def col_deviation(self) -> np.ndarray:
        """``(m,)`` ``|P^T 1 - b| / b``."""
        return relative_deviation(self.col_marginal, self.col_target)


def relative_deviation(marginal: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``|marginal - target| / target`` elementwise (``(n,)`` arrays; the target is positive)."""
    return np.abs(marginal - target) / target


def _loss_kwargs(name: str, p: PlanParams) -> dict[str, Any]:
    method = _methods.get(name)
    kw: dict[str, Any] = {"eps": p.eps}
    if "layout" in method.params:
        kw["layout"] = p.layout
    if method.iterative:
        kw["n_iters"] = max(1, p.n_iters)
    if method.unbalanced:
        kw["rho_a"], kw["rho_b"] = p.rho_a, p.rho_b
    return kw


def _loss_table(p: PlanParams, z1: Tensor, z2: Tensor, domains: Tensor) -> tuple[dict[str, float], list[str]]:
    """The value of every loss of :data:`LOSS_NAMES` on the batch ``(z1, z2)`` with the domain-prior target
    of ``p`` (in each loss's own layout), and ``"name (why)"`` for each loss that refused or gave a
    non-finite value (its value is NaN)."""
    values: dict[str, float] = {}
    failed: list[str] = []
    for name in LOSS_NAMES:
        try:
            kw = _loss_kwargs(name, p)
            loss = _methods.make_loss(name, **kw)
            tgt = _targets.domain_prior(domains, p.alpha, p.beta, layout=kw.get("layout", "joint"),
                                        dtype=torch.float64)
            v = float(loss(z1, z2, tgt))
        except ValueError as exc:
            v = math.nan
            failed.append(f"{name} ({exc})")
        if not math.isfinite(v):
            if not failed or not failed[-1].startswith(name):
                failed.append(f"{name} (not finite)")
            v = math.nan
        values[name] = v
    return values, failed


@one_thread
def compute_plan(params: PlanParams | None = None, **overrides: Any) -> PlanData:
    r"""Kernel, transport plan, marginals, convergence and every loss for one setting (notebook 02).

    The plan solves entropic OT between the two views with uniform marginals ``a = b = 1/n`` (mass 1):
    ``min <P, C> + eps KL(P || a x b) + rho_a KL(P1 || a) + rho_b KL(P^T 1 || b)`` (arXiv 2502.20141,
    entropic OT and its unbalanced relaxation) by ``n_iters`` rounds of :func:`gca_lab.ot.sinkhorn`.
    The kernel is the losses' own, ``log K = loss.log_kernel(loss.similarity(z1, z2))`` of a
    :class:`gca_lab.losses.GCALoss` with this ``eps`` and layout (joint self-pairs excluded), and the cost
    is ``C = -eps log K``, exactly what the losses hand to the solver. Balanced plans do not depend on a
    constant shift of the cost; relaxed (finite ``rho``) plans do: a converged plan with
    ``rho_a = rho_b = rho`` scales by ``exp(-shift / (eps + 2 rho))``. With ``C = -cos`` that mass grows large
    at small ``eps`` and ``rho`` (above ``1e12`` at ``eps = rho = 0.01``, measured) but stays finite in float64 over
    the explorer's whole range (tested); the explorer's readout shows it.

    ``n_iters = 0`` shows the kernel normalized by its total mass (no projection at all). The target is
    :func:`gca_lab.targets.domain_prior` with ``alpha``, ``beta`` (the identity when both are 0), rows
    scaled to ``a``; every loss of :data:`LOSS_NAMES` is evaluated against it at the same ``eps``
    (iterative losses with ``max(1, n_iters)`` rounds; unbalanced losses with ``rho_a``, ``rho_b``).
    Computed in float64.

    Never raises for in-range parameters: a ``ValueError`` of the library or a non-finite result gives
    ``ok = False`` and a ``message``.

    Args:
        params: a :class:`PlanParams` (default: all defaults); ``**overrides`` replace its fields.
    """
    p = replace(params or PlanParams(), **overrides)
    t0 = time.perf_counter()
    try:
        check_int("n", p.n, minimum=2)
        check_positive("eps", p.eps)
        check_int("n_iters", p.n_iters, minimum=0)
        check_nonnegative("rho_a", p.rho_a, allow_inf=True)
        check_nonnegative("rho_b", p.rho_b, allow_inf=True)
        check_choice("layout", p.layout, ("cross", "joint"))
        batch = two_view_batch(p.n, dataset=p.dataset, noise=p.noise, corrupt=p.corrupt, seed=p.seed)
    except (ValueError, TypeError) as exc:
        return PlanData.failure(p, f"invalid setting: {exc}", time.perf_counter() - t0)
    z1, z2 = batch.z1, batch.z2
    with torch.no_grad():
        gibbs = _losses.GCALoss(eps=p.eps, layout=p.layout)
        log_k = gibbs.log_kernel(gibbs.similarity(z1, z2))  # (n, m); -inf on excluded pairs
        cost = -p.eps * log_k  # +inf on excluded pairs
        n, m = cost.shape
        a = torch.full((n,), 1.0 / n, dtype=torch.float64)
        b = torch.full((m,), 1.0 / m, dtype=torch.float64)
        kernel = (log_k - log_k.max()).exp()
        message = ""
        try:
            if p.n_iters == 0:
                log_plan = log_k - torch.logsumexp(log_k.reshape(-1), 0)
                errors = torch.zeros(0, dtype=torch.float64)
                message = "0 rounds: no projection; the plan shown is the kernel divided by its total mass."
            else:
                res = sinkhorn(cost, a, b, eps=p.eps, rho_a=p.rho_a, rho_b=p.rho_b, n_iters=p.n_iters)
                log_plan, errors = res.log_plan, res.errors.reshape(-1)
            plan = log_plan.exp()
            target = _targets.domain_prior(batch.domains, p.alpha, p.beta, layout=p.layout, dtype=torch.float64)
            target_rows = _targets.normalize_rows(target, a)
        except ValueError as exc:
            return PlanData.failure(p, f"the library refused these settings: {exc}", time.perf_counter() - t0)
        if not bool(torch.isfinite(plan).all()) or not bool(torch.isfinite(errors).all()):
            return PlanData.failure(p, f"no finite plan at eps={p.eps:g} with {p.n_iters} rounds "
                                       "(float64 under/overflow); try a larger eps.", time.perf_counter() - t0)
        values, failed = _loss_table(p, z1, z2, batch.domains)
        if failed:
            message = (message + " " if message else "") + "loss not available: " + "; ".join(failed)
    return PlanData(
        params=p, ok=True, message=message, kernel=to_numpy(kernel), plan=to_numpy(plan),
        target=to_numpy(target_rows), row_marginal=to_numpy(plan.sum(1)), col_marginal=to_numpy(plan.sum(0)),
        row_target=to_numpy(a), col_target=to_numpy(b), errors=to_numpy(errors), losses=values,
        corrupted=batch.corrupted.numpy().copy(), seconds=time.perf_counter() - t0,
    )


@one_thread
def compute_method_plans(
    z1: Tensor,
    z2: Tensor,
    *,
    eps: float = _TRAIN.eps,
    n_iters: int = _TRAIN.n_iters,
    rho: float = _TRAIN.rho,
    methods: Sequence[str] = ("ince", "gca_ince", "gca_uot"),
) -> dict[str, np.ndarray]:
    """The kernel and the plan of each method on one batch (NeurIPS 2024 poster, panels 'Our
    Method' and 'Variants': K | INCE | GCA-INCE | GCA-UOT).

    Plans are :attr:`gca_lab.losses.LossOutput.plan` of :func:`gca_lab.methods.make_loss` (cross layout,
    unit marginals: each row carries mass 1 after the last row step), with ``eps``, ``n_iters`` rounds for
    the iterative methods and ``rho`` for the unbalanced ones. Returns ``{"kernel": K, name: P, ...}``
    (``K`` the first loss's :attr:`~gca_lab.losses.LossOutput.kernel` divided by its maximum), each
    ``(B, B)`` for ``(B, d)`` embeddings.
    """
    out: dict[str, np.ndarray] = {}
    with torch.no_grad():
        for name in methods:
            method = _methods.get(name)
            kw: dict[str, Any] = {"eps": eps}
            if method.iterative:
                kw["n_iters"] = n_iters
            if method.unbalanced:
                kw["rho"] = rho
            det = method.loss(**kw).details(z1, z2)
            if "kernel" not in out:
                lk = det.log_kernel
                out["kernel"] = to_numpy((lk - lk.max()).exp())
            out[name] = to_numpy(det.plan)
    return out
