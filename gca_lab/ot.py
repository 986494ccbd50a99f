r"""Entropic optimal transport in torch: balanced, semi-relaxed and unbalanced Sinkhorn.

One log-domain solver serves every projection of arXiv 2502.20141 (Chen et al., NeurIPS 2024): the
balanced one of GCA-INCE (Sinkhorn) and the KL-relaxed one of GCA-UOT, both instances of

.. math::

    \min_{P \ge 0}\ \langle P, C\rangle + \varepsilon\,\mathrm{KL}(P \,\|\, a \otimes b)
        + \rho_a\,\mathrm{KL}(P\mathbf 1 \,\|\, a) + \rho_b\,\mathrm{KL}(P^\top \mathbf 1 \,\|\, b)

with the generalized KL divergence ``KL(p||q) = sum p log(p/q) - p + q``. ``rho = inf`` turns a
penalty into the hard constraint (``rho_a = rho_b = inf``: balanced OT; one of them finite:
semi-relaxed; both finite: unbalanced OT, Chizat et al. 2018). The entropic reference measure is
``a (x) b``, as POT's ``reg_type='kl'``; in the balanced case any product reference gives the same plan.

Conventions (``docs/architecture.md``, "Conventions"): costs are batched first, ``(..., n, m)``; a single problem
is a batch of one. ``+inf`` cost entries are excluded pairs (for example self-pairs of a joint
contrastive batch): their plan entries are exactly zero. The rounds are the one projection loop of
:mod:`gca_lab.projection` on a reduction of :mod:`gca_lab.reductions`: the log domain
(``torch.logsumexp``, float32-safe down to very small ``eps``) or, where no product can underflow, the
stored kernel (matrix-vector products, with the custom backward of :mod:`gca_lab.scaling_grad`). The loop never
synchronizes with the host unless a tolerance is given, and then only every ``check_every``
iterations.

The single KL (Bregman) projections :func:`row_projection` and :func:`col_projection` are
public: InfoNCE is exactly one :func:`row_projection` of the Gibbs kernel (arXiv 2502.20141, Table 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import torch
from torch import Tensor

from ._validate import check_choice, check_int, check_nonnegative, check_positive, check_tensor
from .projection import marginal_error, relaxation_exponent, scaling_rounds
from .reductions import DenseKernel, KernelReduction, LogReduction
from .scaling_grad import kernel_scaling_rounds

__all__ = [
    "SinkhornResult",
    "sinkhorn",
    "row_projection",
    "col_projection",
    "generalized_kl",
    "relaxation_exponent",
    "kernel_scaling_rounds",
    "kernel_domain_bound_holds",
    "kernel_domain_is_safe",
    "rho_to_tau",
    "tau_to_rho",
]

GradMode = Literal["unroll", "last_step"]


def rho_to_tau(rho: float, eps: float) -> float:
    """OTT-JAX's marginal relaxation ``tau = rho / (rho + eps)`` in ``[0, 1]`` from our ``rho``.

    ``tau = 1`` is a hard constraint (``rho = inf``). (``tau`` is also POT's absorption threshold and
    the InfoNCE temperature elsewhere; gca_lab avoids the name in its own API.)
    """
    rho = check_nonnegative("rho", rho, allow_inf=True)
    eps = check_positive("eps", eps)
    return relaxation_exponent(rho, eps)


def tau_to_rho(tau: float, eps: float) -> float:
    """Our KL penalty ``rho = eps * tau / (1 - tau)`` from OTT-JAX's ``tau`` in ``[0, 1]``."""
    tau = check_nonnegative("tau", tau)
    if tau > 1:
        raise ValueError(f"tau must be in [0, 1], got {tau!r}")
    eps = check_positive("eps", eps)
    if tau == 1.0:
        return math.inf
    return eps * tau / (1.0 - tau)


def generalized_kl(p: Tensor, q: Tensor, dim: int | tuple[int, ...] = -1) -> Tensor:
    """Generalized KL divergence ``sum p log(p/q) - p + q`` over ``dim``.

    Defined for nonnegative measures of any mass; equals the usual KL when both have mass 1.
    Terms with ``p = 0`` contribute ``q`` (``0 log 0 = 0``); ``p > 0`` where ``q = 0`` gives ``inf``.
    """
    return (torch.xlogy(p, p) - torch.xlogy(p, q) - p + q).sum(dim)


def _log_marginal(x: Tensor | None, size: int, like: Tensor, name: str) -> Tensor:
    """Log of a marginal, broadcast to ``like.shape[:-1] + (size,)``; uniform (mass 1) by default."""
    batch = like.shape[:-2]
    if x is None:
        return torch.full((*batch, size), -math.log(size), dtype=like.dtype, device=like.device)
    check_tensor(name, x, min_ndim=1)
    if x.shape[-1] != size:
        raise ValueError(f"{name} must have last dimension {size} to match cost, got shape {tuple(x.shape)}")
    if torch.isnan(x).any() or (x < 0).any() or torch.isinf(x).any():
        raise ValueError(f"{name} must be finite and nonnegative, got min {x.min().item()!r}")
    if not (x.sum(-1) > 0).all():
        raise ValueError(f"{name} must have positive total mass")
    try:
        return torch.log(x.to(like.dtype)).expand(*batch, size)
    except RuntimeError as exc:
        raise ValueError(f"{name} of shape {tuple(x.shape)} does not broadcast to batch {tuple(batch)}") from exc


def _check_cost(cost: Tensor) -> None:
    check_tensor("cost", cost, min_ndim=2)
    if not cost.is_floating_point():
        raise TypeError(f"cost must be a floating tensor, got dtype {cost.dtype}")
    if cost.shape[-1] == 0 or cost.shape[-2] == 0:
        raise ValueError(f"cost must be non-empty, got shape {tuple(cost.shape)}")
    bad = torch.stack(
        [
            torch.isnan(cost).any(),
            (cost == -math.inf).any(),
            ~torch.isfinite(cost).any(-1).all(),
            ~torch.isfinite(cost).any(-2).all(),
        ]
    ).tolist()  # one host sync for all checks
    if bad[0]:
        raise ValueError("cost must not contain NaN")
    if bad[1]:
        raise ValueError("cost must not contain -inf (only +inf, meaning an excluded pair)")
    if bad[2] or bad[3]:
        raise ValueError("cost has a row or column whose entries are all +inf (excluded): no feasible plan")


def _check_log_kernel(name: str, log_kernel: Tensor) -> None:
    check_tensor(name, log_kernel, min_ndim=2)
    bad = torch.stack(
        [torch.isnan(log_kernel).any(), (log_kernel == math.inf).any(), ~(log_kernel > -math.inf).any(-1).all()]
    ).tolist()
    if bad[0]:
        raise ValueError(f"{name} must not contain NaN")
    if bad[1]:
        raise ValueError(f"{name} must not contain +inf")
    if bad[2]:
        raise ValueError(f"{name} has a row whose entries are all -inf (zero mass): cannot be normalized")


def _projection(log_plan: Tensor, log_target: Tensor, dim: int, phi: float) -> Tensor:
    # KL projection onto {P.sum(dim) = target}, relaxed by phi: scale each slice by (target / sum)^phi.
    log_sum = torch.logsumexp(log_plan, dim=dim, keepdim=True)
    return log_plan + phi * (log_target.unsqueeze(dim) - log_sum)


def row_projection(
    log_plan: Tensor, a: Tensor | None = None, *, eps: float = 1.0, rho: float = math.inf, validate: bool = True
) -> Tensor:
    r"""One KL (Bregman) projection onto the row-marginal set, in the log domain.

    ``Prox^KL_{C_1^a}(P) = argmin_{Q: Q1 = a} KL(Q||P) = diag(a / P1) P`` (the proximal step of the GCA
    objective, arXiv 2502.20141). With a
    finite ``rho`` the constraint becomes the penalty ``rho KL(Q1||a)`` of an entropic step of
    strength ``eps``: ``Q = diag((a / P1)^phi) P`` with ``phi = rho / (rho + eps)``.

    Args:
        log_plan: ``(..., n, m)`` log of a nonnegative matrix (a log Gibbs kernel ``-C/eps`` or a
            previous iterate); ``-inf`` marks zero entries.
        a: ``(..., n)`` or ``(n,)`` target row marginals; default uniform ``1/n`` (mass 1).
        eps: entropic strength; only matters when ``rho`` is finite.
        rho: KL penalty on the row marginals; ``inf`` (default) is the exact projection.
        validate: check the inputs (one host synchronization); losses that already validated
            their embeddings pass ``False``.

    Returns:
        ``(..., n, m)`` log of the projected matrix.

    InfoNCE is ``KL(I || P)`` for ``P = row_projection(s, a=ones)`` with ``s_ij = cos_ij/eps``.
    """
    return _project(log_plan, a, eps=eps, rho=rho, dim=-1, name="a", validate=validate)


def col_projection(
    log_plan: Tensor, b: Tensor | None = None, *, eps: float = 1.0, rho: float = math.inf, validate: bool = True
) -> Tensor:
    r"""One KL projection onto the column-marginal set: ``P diag(b / P^T 1)`` (or its relaxed form).

    The mirror of :func:`row_projection` (same arguments, with ``b`` of shape ``(..., m)``).
    """
    return _project(log_plan, b, eps=eps, rho=rho, dim=-2, name="b", validate=validate)


def _project(log_plan: Tensor, marginal: Tensor | None, *, eps: float, rho: float, dim: int, name: str,
             validate: bool) -> Tensor:
    eps = check_positive("eps", eps)
    rho = check_nonnegative("rho", rho, allow_inf=True)
    if validate:
        _check_log_kernel("log_plan", log_plan if dim == -1 else log_plan.transpose(-1, -2))
    size = log_plan.shape[-2 if dim == -1 else -1]  # rows are indexed by dim -2, columns by dim -1
    like = log_plan if dim == -1 else log_plan.transpose(-1, -2)
    log_target = _log_marginal(marginal, size, like, name)
    return _projection(log_plan, log_target, dim, relaxation_exponent(rho, eps))


_KERNEL_RANGE_LIMIT = {torch.float32: 80.0, torch.float64: 700.0}


def kernel_domain_bound_holds(log_range: float, marginal_range: float, dtype: torch.dtype) -> bool:
    """The no-underflow condition ``2 range(log K) + range(log marginals) < limit(dtype)`` (no sync).

    Callers that know the ranges in advance (the losses: cosines lie in ``[-1, 1]``) use this
    directly; :func:`kernel_domain_is_safe` measures them on the tensors.
    """
    limit = _KERNEL_RANGE_LIMIT.get(dtype)
    return limit is not None and 2 * log_range + marginal_range < limit


def kernel_domain_is_safe(log_k: Tensor, log_a: Tensor | None = None, log_b: Tensor | None = None) -> bool:
    """Whether kernel-domain Sinkhorn steps cannot underflow for this problem (one host sync).

    Every potential ``f/eps`` stays within ``range(log K)`` of its own row's others (a c-transform
    property), so every product ``K_ij exp(w_j - max w)`` is at least
    ``exp(-(2 range(log K) + range(log marginals)))``. The steps are exact when that bound stays
    above the dtype's smallest normal number with margin (80 nats in float32, 700 in float64).
    Problems with excluded (``-inf``) kernel entries always use the log domain: the bound needs
    full support.
    """
    if log_k.dtype not in _KERNEL_RANGE_LIMIT:
        return False
    spans = [log_k.amax() - log_k.amin()]
    for lm in (log_a, log_b):
        if lm is not None:
            finite = torch.where(torch.isfinite(lm), lm, torch.zeros_like(lm))
            spans.append(finite.amax() - finite.amin())
    values = torch.stack([torch.isfinite(log_k).all().to(log_k.dtype), *spans]).tolist()  # one sync
    if values[0] < 1:
        return False
    return kernel_domain_bound_holds(values[1], max(values[2:], default=0.0), log_k.dtype)


def _reduction(log_k: Tensor, domain: str, masked: bool, like: LogReduction | KernelReduction | None = None
               ) -> LogReduction | KernelReduction:
    # the reduction of a dense log kernel (gca_lab.reductions); with ``like``, the same kernel detached
    if domain == "log":
        return LogReduction(log_k)
    if like is not None:
        return KernelReduction(DenseKernel(like.op.kernel.detach()), like.sh.detach(), masked=masked)
    shift = log_k.amax((-1, -2), keepdim=True)  # (..., 1, 1)
    return KernelReduction(DenseKernel(torch.exp(log_k - shift)), shift[..., 0], masked=masked)


@dataclass(frozen=True)
class SinkhornResult:
    """What :func:`sinkhorn` found, with everything needed to plot convergence.

    Attributes:
        log_plan: ``(..., n, m)`` log of the plan ``P_ij = a_i b_j exp((f_i + g_j - C_ij)/eps)``.
        f: ``(..., n)`` row potential (dual variable); ``u = a * exp(f/eps)`` is the row scaling.
        g: ``(..., m)`` column potential; ``v = b * exp(g/eps)``.
        errors: ``(n_iters, ...)`` marginal error of each iterate (after its column update):
            ``||P1 - a exp(-f/rho_a)||_1`` (for ``rho_a = inf`` simply ``||P1 - a||_1``); the column
            residual is exactly zero after a column update, so this is the whole residual.
        n_iters: iterations performed (fewer than asked when ``tol`` stopped early).
        converged: ``(...)`` bool tensor, ``errors[-1] <= tol`` (``tol`` defaults to 1e-6 when none was
            given). A tensor, so reading it costs no host synchronization until you ask.
        eps, rho_a, rho_b: the problem's parameters.
        cost, log_a, log_b: the inputs (``log_a``, ``log_b`` broadcast to the batch).

    ``plan``, ``row_marginal``, ``col_marginal``, ``primal``, ``dual`` and ``gap`` are computed on
    first access.
    """

    log_plan: Tensor
    f: Tensor
    g: Tensor
    errors: Tensor
    n_iters: int
    converged: Tensor
    eps: float
    rho_a: float
    rho_b: float
    cost: Tensor = field(repr=False)
    log_a: Tensor = field(repr=False)
    log_b: Tensor = field(repr=False)

    @cached_property
    def plan(self) -> Tensor:
        """``(..., n, m)`` the transport plan ``exp(log_plan)``."""
        return self.log_plan.exp()

    @cached_property
    def row_marginal(self) -> Tensor:
        """``(..., n)`` ``P 1``."""
        return torch.logsumexp(self.log_plan, -1).exp()

    @cached_property
    def col_marginal(self) -> Tensor:
        """``(..., m)`` ``P^T 1``."""
        return torch.logsumexp(self.log_plan, -2).exp()

    @cached_property
    def primal(self) -> Tensor:
        r"""``(...)`` primal objective ``<P,C> + eps KL(P||a(x)b) + rho_a KL(P1||a) + rho_b KL(P^T1||b)``.

        Generalized KL with its mass terms; a penalty with ``rho = inf`` is a constraint and adds 0.
        """
        plan = self.plan
        a, b = self.log_a.exp(), self.log_b.exp()
        linear = torch.where(plan > 0, plan * self.cost, torch.zeros_like(plan)).sum((-1, -2))
        log_ref = self.log_a.unsqueeze(-1) + self.log_b.unsqueeze(-2)
        ent = (torch.where(plan > 0, plan * (self.log_plan - log_ref), torch.zeros_like(plan)) - plan).sum((-1, -2))
        ent = ent + a.sum(-1) * b.sum(-1)
        value = linear + self.eps * ent
        if not math.isinf(self.rho_a):
            value = value + self.rho_a * generalized_kl(self.row_marginal, a)
        if not math.isinf(self.rho_b):
            value = value + self.rho_b * generalized_kl(self.col_marginal, b)
        return value

    @cached_property
    def dual(self) -> Tensor:
        r"""``(...)`` dual objective at ``(f, g)``.

        ``F_a(f) + F_b(g) - eps (sum_ij P_ij - |a||b|)`` with ``F(f) = <a, f>`` for a hard constraint
        and ``F(f) = -rho <a, exp(-f/rho) - 1>`` for a KL penalty. Equals :attr:`primal` at the optimum.
        """
        a, b = self.log_a.exp(), self.log_b.exp()

        def side(pot: Tensor, mass: Tensor, rho: float) -> Tensor:
            if math.isinf(rho):
                return (mass * pot).sum(-1)
            return -rho * (mass * torch.expm1(-pot / rho)).sum(-1)

        mass = self.plan.sum((-1, -2))
        return side(self.f, a, self.rho_a) + side(self.g, b, self.rho_b) - self.eps * (mass - a.sum(-1) * b.sum(-1))

    @property
    def gap(self) -> Tensor:
        """``(...)`` relative duality gap ``|primal - dual| / max(1, |primal|)``."""
        return (self.primal - self.dual).abs() / self.primal.abs().clamp_min(1.0)


def sinkhorn(
    cost: Tensor,
    a: Tensor | None = None,
    b: Tensor | None = None,
    *,
    eps: float,
    rho_a: float = math.inf,
    rho_b: float = math.inf,
    n_iters: int = 100,
    tol: float | None = None,
    check_every: int = 10,
    grad: GradMode = "unroll",
    domain: Literal["auto", "log", "kernel"] = "auto",
    validate: bool = True,
    g_init: Tensor | None = None,
    masked_diagonal: bool = False,
    end: Literal["row", "col"] = "col",
) -> SinkhornResult:
    r"""Log-domain Sinkhorn for entropic OT with hard or KL-relaxed marginals (see module docstring).

    Each iteration updates the row potential then the column potential (block-coordinate ascent
    on the dual; Chizat et al. 2018 for the relaxed updates):

    .. math::

        f_i \leftarrow -\phi_a\,\varepsilon \log \sum_j b_j e^{(g_j - C_{ij})/\varepsilon},\qquad
        g_j \leftarrow -\phi_b\,\varepsilon \log \sum_i a_i e^{(f_i - C_{ij})/\varepsilon},

    with ``phi = rho / (rho + eps)`` (1 for a hard constraint). In scaling form these are the
    paper's ``u <- (a / K v)^phi_a``, ``v <- (b / K^T u)^phi_b`` (arXiv 2502.20141: Sinkhorn,
    and its KL-relaxed form in GCA-UOT).

    Args:
        cost: ``(..., n, m)`` cost matrices; ``+inf`` marks excluded pairs.
        a: ``(..., n)`` or ``(n,)`` row marginal, default uniform with mass 1.
        b: ``(..., m)`` or ``(m,)`` column marginal, default uniform with mass 1. Masses of ``a``
            and ``b`` may differ when a side is relaxed.
        eps: entropic regularization (> 0), in cost units. It is the contrastive temperature.
        rho_a, rho_b: KL penalties on the row / column marginals, in ``[0, inf]``; ``inf`` = hard.
        n_iters: maximum number of rounds; a round is a row projection followed by a column
            projection (``end="row"``: the last round drops its column projection).
        tol: stop once the marginal error (see :class:`SinkhornResult`) is ``<= tol`` for every
            problem of the batch; checked every ``check_every`` iterations (one host sync each).
            ``None`` runs exactly ``n_iters`` iterations with no host synchronization.
        check_every: how often to check ``tol``.
        grad: what autograd differentiates.
            ``"unroll"`` (default) backpropagates through every iteration: exact gradients of the
            returned plan and potentials as functions of the inputs, memory ``O(n_iters * n * m)``.
            ``"last_step"`` runs the loop without autograd and then one differentiable iteration
            from the detached potentials: memory ``O(n * m)``. At convergence the gradient of the
            ``dual`` value is exact (envelope theorem: d dual / d C = P); gradients of the *plan*
            ignore how the fixed point moves with the cost and are biased (tests measure it), so
            use ``"unroll"`` when a loss differentiates the plan.
        domain: how each half-step's ``log sum_j K_ij exp(w_j)`` is computed. ``"log"``:
            ``torch.logsumexp`` over the full matrix (always safe). ``"kernel"``: one matrix-vector
            product with the precomputed ``exp(-C/eps - shift)`` and a max-shifted ``exp(w)``, several
            times faster; it is exact in floating point as long as no kernel-times-scaling product
            underflows, which :func:`kernel_domain_is_safe` guarantees for costs without excluded
            pairs whose range satisfies ``2 * range(C)/eps + range(log a, log b) < 80`` (float32) or
            ``< 700`` (float64). ``"auto"`` (default) checks that condition once before the loop
            (one host sync) and picks ``"kernel"`` when it holds, ``"log"`` otherwise.
        validate: check inputs (one host sync); hot loops that validated upstream pass ``False``.
        masked_diagonal: the cost is square and its diagonal, and nothing else, is ``+inf`` (the joint
            contrastive layout). Lets ``domain="kernel"`` handle it (:class:`gca_lab.reductions.KernelReduction`); the
            caller vouches for the range bound on the finite entries.
        end: ``"col"`` (default) ends on a column projection; ``"row"`` ends on a row projection,
            as the losses' plans (then ``errors[-1]`` is the column residual
            ``||P^T 1 - b exp(-g/rho_b)||_1``, the constraint the last update did not enforce).
        g_init: ``(..., m)`` initial column potential (default 0, i.e. ``v = b``); the losses use it
            to start the paper's scaling iteration from ``v = b`` (:meth:`gca_lab.losses.GCALoss.project`).

    Returns:
        :class:`SinkhornResult`.

    Example:
        >>> x = torch.nn.functional.normalize(torch.randn(8, 4), dim=1)
        >>> res = sinkhorn(1 - x @ x.T, eps=0.1, n_iters=200)
        >>> torch.allclose(res.plan.sum(1), torch.full((8,), 1 / 8), atol=1e-5)
        True
    """
    eps, rho_a, rho_b, n_iters, check_every, tol = _check_sinkhorn_options(
        eps, rho_a, rho_b, n_iters, check_every, grad, domain, end, tol)
    log_a, log_b = _sinkhorn_marginals(cost, a, b, validate)
    phi_a, phi_b = relaxation_exponent(rho_a, eps), relaxation_exponent(rho_b, eps)
    rounds = n_iters - 1 if end == "row" else n_iters
    g0 = torch.zeros_like(log_b) if g_init is None else g_init.to(log_b.dtype).expand_as(log_b)
    loop = dict(eps=eps, phi_a=phi_a, phi_b=phi_b, rho_a=rho_a)

    log_k = cost / (-eps)  # (..., n, m); excluded pairs are -inf (one pass, bitwise -cost/eps)
    if domain == "auto":
        domain = "kernel" if kernel_domain_is_safe(log_k, log_a, log_b) else "log"
    masked = masked_diagonal and domain == "kernel"
    constants = not any(t is not None and t.requires_grad for t in (log_a, log_b, g_init))
    if grad == "unroll" and domain == "kernel" and tol is None and constants and log_k.requires_grad:
        # Same iterates, cheaper backward (gca_lab.scaling_grad); the errors are detached diagnostics.
        f, g, r, errors = kernel_scaling_rounds(log_k, log_a, log_b, g0, eps=eps, rho_a=rho_a, rho_b=rho_b,
                                                iters=rounds, masked=masked)
        errs, done = list(errors.unbind(0)), rounds
        reduce = None
    else:
        reduce = _reduction(log_k, domain, masked)
        f, g, r, errs, done = _autograd_rounds(reduce, log_k, log_a, log_b, g0, grad=grad, domain=domain,
                                               masked=masked, rounds=rounds, tol=tol, check_every=check_every,
                                               end=end, loop=loop)
    if end == "row":
        # the last row projection, without its column projection; its error is the column residual
        f = -phi_a * eps * r
        if reduce is None:
            reduce = _reduction(log_k, domain, masked)
        target = log_b if math.isinf(rho_b) else log_b - g / rho_b
        col = torch.exp(log_b + g / eps + reduce.cols(log_a + f / eps))
        errs, done = errs + [(col - torch.exp(target)).abs().sum(-1)], done + 1
    errors = torch.stack(errs)
    log_plan = log_k + (log_a + f / eps).unsqueeze(-1) + (log_b + g / eps).unsqueeze(-2)
    converged = errors[-1].detach() <= (tol if tol is not None else 1e-6)
    return SinkhornResult(
        log_plan=log_plan, f=f, g=g, errors=errors, n_iters=done, converged=converged,
        eps=eps, rho_a=rho_a, rho_b=rho_b, cost=cost, log_a=log_a, log_b=log_b,
    )


def _check_sinkhorn_options(eps: float, rho_a: float, rho_b: float, n_iters: int, check_every: int, grad: str,
                            domain: str, end: str, tol: float | None) -> tuple[float, float, float, int, int, float | None]:
    # sinkhorn()'s scalar options, checked (ValueError naming the option) and returned as used
    eps = check_positive("eps", eps)
    rho_a = check_nonnegative("rho_a", rho_a, allow_inf=True)
    rho_b = check_nonnegative("rho_b", rho_b, allow_inf=True)
    n_iters = check_int("n_iters", n_iters, minimum=1)
    check_every = check_int("check_every", check_every, minimum=1)
    check_choice("grad", grad, ("unroll", "last_step"))
    check_choice("domain", domain, ("auto", "log", "kernel"))
    check_choice("end", end, ("row", "col"))
    if tol is not None:
        tol = check_positive("tol", tol)
    return eps, rho_a, rho_b, n_iters, check_every, tol


def _sinkhorn_marginals(cost: Tensor, a: Tensor | None, b: Tensor | None, validate: bool) -> tuple[Tensor, Tensor]:
    # the cost checked (fully when validate) and the log marginals, (..., n) and (..., m)
    if validate:
        _check_cost(cost)
    else:
        check_tensor("cost", cost, min_ndim=2)
    n, m = cost.shape[-2:]
    log_a = _log_marginal(a, n, cost, "a") if (validate or a is None) else torch.log(a.to(cost.dtype)).expand(*cost.shape[:-2], n)
    log_b = _log_marginal(b, m, cost.transpose(-1, -2), "b") if (validate or b is None) else torch.log(b.to(cost.dtype)).expand(*cost.shape[:-2], m)
    return log_a, log_b


def _autograd_rounds(reduce: Any, log_k: Tensor, log_a: Tensor, log_b: Tensor, g0: Tensor, *, grad: str,
                     domain: str, masked: bool, rounds: int, tol: float | None, check_every: int, end: str,
                     loop: dict[str, Any]) -> tuple[Tensor | None, Tensor, Tensor, list[Tensor], int]:
    # sinkhorn()'s rounds differentiated by autograd: every round ("unroll"), or only the last one
    # from the detached potential ("last_step"); returns f, g, the last row normalizer, the errors
    # and the number of iterations run
    eps = loop["eps"]
    if grad == "unroll":
        history: list[tuple[Tensor, Tensor]] = []
        f, g, r, errs, done = scaling_rounds(reduce, log_a, log_b, g0, iters=rounds, tol=tol,
                                             check_every=check_every, errors=tol is not None,
                                             history=history, **loop)
        if tol is None and history:  # every round's error at once: fewer small ops per round
            fs, rs = (torch.stack(t) for t in zip(*history))
            errs = list(marginal_error(log_a, fs, rs, eps, loop["rho_a"]).unbind(0))
        return f, g, r, errs, done
    # the rounds without autograd, then one differentiable round from the detached potential
    with torch.no_grad():
        _, g_last, _, errs, done = scaling_rounds(
            _reduction(log_k.detach(), domain, masked, reduce), log_a.detach(), log_b.detach(),
            g0.detach(), iters=rounds - (end == "col"), tol=tol, check_every=check_every, **loop)
    if end == "col":
        f, g, r, last, _ = scaling_rounds(reduce, log_a, log_b, g_last, iters=1, **loop)
        return f, g, r, errs + last, done + 1
    # end="row": no f; the caller's last row projection computes it from this row normalizer
    return None, g_last, reduce.rows(log_b + g_last / eps), errs, done

