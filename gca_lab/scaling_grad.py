r"""Kernel-domain Sinkhorn rounds with a custom backward that never builds an ``n x m`` tensor per step.

The forward is the one loop (:func:`gca_lab.projection.scaling_rounds`) on a
:class:`~gca_lab.reductions.KernelReduction` that records the max-shifted factors of every
reduction; only ``O(iters (n + m))`` vectors are kept.

Backward: the gradient of a half-step ``r_i = log sum_j K_ij e^{w_j}`` with respect to ``log K`` is
``diag(r_bar) S`` with ``S = diag(e^{-r}) K diag(e^{w})``, i.e. ``K`` times the rank-one matrix
``alpha beta^T``. Summed over the ``2 iters + 1`` half-steps the gradient is ``K * (A @ B^T)`` with ``A``
``(n x (2 iters + 1))``, ``B`` ``(m x (2 iters + 1))``: one matrix product instead of one ``n x m`` tensor
per half-step (and their storage) of unrolled autograd. The vector-Jacobian products chaining the
half-steps are matrix-vector products with ``K``. Every factor is max-shifted; for a masked diagonal
the line of the maximum is handled as a separate rank-one term.

Two entry points share that backward (arXiv 2502.20141: Sinkhorn, and its KL-relaxed form in GCA-UOT):

- :func:`kernel_scaling_rounds`: the kernel is stored, ``log K = scale * x + offset`` for an
  ``(..., n, m)`` input ``x`` (cosines, or ``log K`` itself); gradients flow to ``x``.
- :func:`tiled_scaling_rounds`: the kernel is recomputed block by block from embeddings,
  ``log K_ij = scale <x_i, y_j> + offset`` (:class:`~gca_lab.reductions.TiledKernel`); gradients flow
  to ``x`` ``(..., n, d)`` and ``y`` ``(..., m, d)``; memory ``O((n + m) d + tile m)``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .projection import marginal_error, relaxation_exponent, scaling_rounds
from .reductions import DenseKernel, KernelReduction, TiledKernel

__all__ = ["kernel_scaling_rounds", "tiled_scaling_rounds"]


def _record_rounds(ctx: Any, op: DenseKernel | TiledKernel, sh: Tensor, add_shift: bool, log_a: Tensor, log_b: Tensor,
             g0: Tensor, phi_a: float, phi_b: float, eps: float, rho_a: float, iters: int, masked: bool,
             detach_rounds: bool) -> tuple[tuple[Tensor, Tensor, Tensor, Tensor], list[Tensor]]:
    """The forward of the custom functions: the one loop on a recording :class:`KernelReduction` over
    ``op``; returns ``((f, g, r, errors), the tensors the backward needs)`` and sets ``ctx``'s fields."""
    record: list[tuple[Tensor, ...]] = []
    reduce = KernelReduction(op, sh, masked=masked, add_shift=add_shift, record=record)
    history: list[tuple[Tensor, Tensor]] = []
    f, g, r, _, _ = scaling_rounds(reduce, log_a, log_b, g0, eps=eps, phi_a=phi_a, phi_b=phi_b, iters=iters,
                                   errors=False, history=history)
    if history:  # every round's error at once
        fs, rs = (torch.stack(t) for t in zip(*history))
        errors = marginal_error(log_a, fs, rs, eps, rho_a)
    else:
        errors = log_a.new_zeros((0, *log_a.shape[:-1]))
    if not iters:
        g = g0.clone()  # an output must not be the input itself
    # record = [r_0, c_1, r_1, ..., c_t, r_t]: round k is (r_{k-1}, c_k); r_t belongs to the returned r
    steps = [] if detach_rounds else [(*record[2 * k], *record[2 * k + 1]) for k in range(iters)]
    ctx.phi = (phi_a, phi_b)
    ctx.eps, ctx.iters, ctx.masked = eps, len(steps), masked
    ctx.mark_non_differentiable(errors)
    if detach_rounds:
        ctx.mark_non_differentiable(f, g)
    return (f, g, r, errors), [t for step in steps for t in step] + list(record[-1])


def _backward_factors(ctx: Any, op: DenseKernel | TiledKernel, flat: tuple[Tensor, ...], f_bar: Tensor | None,
              g_bar: Tensor | None, r_bar: Tensor | None) -> tuple[Tensor, Tensor] | None:
    """The factors ``(A, B)`` of the gradient ``K * (A @ B^T)`` w.r.t. ``log K`` (module docstring), ``None``
    when nothing flows back; every product with the kernel goes through ``op``."""
    phi_a, phi_b = ctx.phi
    eps, masked = ctx.eps, ctx.masked
    per = 6 if masked else 2  # tensors kept per reduction
    steps = [flat[2 * per * k: 2 * per * (k + 1)] for k in range(ctx.iters)]
    keep_last = flat[-per:]
    alphas: list[Tensor] = []
    betas: list[Tensor] = []

    def half_step(keep: tuple[Tensor, ...], out_bar: Tensor, dim: int) -> tuple[Tensor | None, Tensor, Tensor]:
        # out = log sum K e^{x} along dim. Returns (extra x_bar, factor on out's side, factor on
        # x's side): the gradient w.r.t. log K is K * (out_side x_side^T) (transposed for columns).
        if not masked:
            e, s = keep
            return None, out_bar / s, e
        # masked: the row (column) of index argmax x was summed apart, shifted by the second
        # largest x: one more rank-one term (one-hot on out's side), so the gradient stays K * (A @ B^T)
        e, s, star, line, e2, s_star = keep
        out_side = (out_bar / s).scatter(-1, star, 0.0)
        x_side = (out_bar.gather(-1, star) / s_star) * e2
        one_hot = torch.zeros_like(out_bar).scatter_(-1, star, 1.0)
        if dim == -1:
            alphas.append(one_hot)
            betas.append(x_side)
        else:
            alphas.append(x_side)
            betas.append(one_hot)
        return x_side * line, out_side, e

    z_bar = eps * f_bar if f_bar is not None else None  # dL/dz of the last row update (z = log a + f/eps)
    w_bar = eps * g_bar if g_bar is not None else None
    if r_bar is not None:  # the last row reduction r = rows(w_last)
        extra, alpha, beta = half_step(keep_last, r_bar, -1)
        alphas.append(alpha)
        betas.append(beta)
        if steps:
            more = beta * op.matvec(alpha, -2)
            if extra is not None:
                more = more + extra
            w_bar = more if w_bar is None else w_bar + more
    for step in reversed(steps):
        if w_bar is not None:
            # column update c_j = log sum_i K_ij e^{z_i}, then w = log b - phi_b c (via g)
            extra, beta, alpha = half_step(step[per:], -phi_b * w_bar, -2)
            more = alpha * op.matvec(beta, -1)
            if extra is not None:
                more = more + extra
            z_bar = more if z_bar is None else z_bar + more
            alphas.append(alpha)
            betas.append(beta)
        if z_bar is None:
            continue
        # row update r_i = log sum_j K_ij e^{w_j}, then z = log a - phi_a r (via f)
        extra, alpha, beta = half_step(step[:per], -phi_a * z_bar, -1)
        w_bar = beta * op.matvec(alpha, -2)
        if extra is not None:
            w_bar = w_bar + extra
        alphas.append(alpha)
        betas.append(beta)
        z_bar = None
    if not alphas:
        return None
    return torch.stack(alphas, -1), torch.stack(betas, -1)


class _KernelScaling(torch.autograd.Function):
    """The rounds on a stored kernel ``exp(scale * x + offset - shift)``; gradients to ``x`` (module doc).

    ``kernel_class``: :class:`DenseKernel` or a subclass (the sharded one of :mod:`gca_lab.sharding`);
    ``shared_grad``: applied to the gradient of ``g`` before the backward (``None``: identity).
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, log_a: Tensor, log_b: Tensor, g0: Tensor,  # type: ignore[override]
                phi_a: float, phi_b: float, eps: float, rho_a: float, iters: int, masked: bool,
                scale: float = 1.0, offset: float = 0.0, shift: float | None = None,
                detach_rounds: bool = False, kernel_class: type = DenseKernel,
                shared_grad: Any = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        ctx.set_materialize_grads(False)
        ctx.kernel_class, ctx.shared_grad = kernel_class, shared_grad
        if shift is None:
            shift_t = x.amax((-1, -2), keepdim=True) * scale + offset  # (..., 1, 1)
        else:
            shift_t = x.new_full((*x.shape[:-2], 1, 1), shift)
        if scale == 1.0 and offset == 0.0:
            kernel = torch.exp(x - shift_t)  # (..., n, m), entries in [0, 1]
        else:  # one allocation, in-place passes
            kernel = torch.mul(x, scale).add_(offset - shift if shift is not None else offset)
            kernel = (kernel.exp_() if shift is not None else kernel.sub_(shift_t).exp_())
        if masked:
            kernel.diagonal(dim1=-2, dim2=-1).zero_()
        outs, keep = _record_rounds(ctx, kernel_class(kernel), shift_t[..., 0], shift is None or shift != 0.0, log_a,
                              log_b, g0, phi_a, phi_b, eps, rho_a, iters, masked, detach_rounds)
        ctx.save_for_backward(kernel, *keep)
        ctx.scale = scale
        return outs

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, f_bar: Tensor | None, g_bar: Tensor | None, r_bar: Tensor | None,  # type: ignore[override]
                 _errors_bar: Tensor | None):
        kernel, *flat = ctx.saved_tensors
        op = ctx.kernel_class(kernel)
        if g_bar is not None and ctx.shared_grad is not None:
            g_bar = ctx.shared_grad(g_bar)
        factors = _backward_factors(ctx, op, tuple(flat), f_bar, g_bar, r_bar)
        if factors is None:
            return (torch.zeros_like(kernel),) + (None,) * 15
        # the chain rule through x (log K = scale x + offset) scales the out-side factors
        return (op.weighted(factors[0] * ctx.scale, factors[1]),) + (None,) * 15


class _TiledScaling(torch.autograd.Function):
    """The rounds on a kernel recomputed from embeddings (:class:`TiledKernel`); gradients to ``x``, ``y``.

    ``kernel_class``: :class:`TiledKernel` or a subclass (the sharded one of :mod:`gca_lab.sharding`);
    ``shared_grad``: applied to the gradient of ``g`` before the backward (``None``: identity).
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, y: Tensor, log_a: Tensor, log_b: Tensor, g0: Tensor,  # type: ignore[override]
                phi_a: float, phi_b: float, eps: float, rho_a: float, iters: int, masked: bool,
                scale: float, offset: float, shift: float, detach_rounds: bool,
                tile: int | None, kernel_class: type = TiledKernel,
                shared_grad: Any = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        ctx.set_materialize_grads(False)
        ctx.kernel_class, ctx.shared_grad = kernel_class, shared_grad
        op = kernel_class(x, y, scale=scale, offset=offset, shift=shift, masked=masked, tile=tile)
        sh = x.new_full((*x.shape[:-2], 1), shift)
        outs, keep = _record_rounds(ctx, op, sh, shift != 0.0, log_a, log_b, g0, phi_a, phi_b, eps, rho_a, iters,
                              masked, detach_rounds)
        ctx.save_for_backward(x, y, *keep)
        ctx.kernel_args = dict(scale=scale, offset=offset, shift=shift, masked=masked, tile=tile)
        return outs

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, f_bar: Tensor | None, g_bar: Tensor | None, r_bar: Tensor | None,  # type: ignore[override]
                 _errors_bar: Tensor | None):
        x, y, *flat = ctx.saved_tensors
        op = ctx.kernel_class(x, y, **ctx.kernel_args)
        if g_bar is not None and ctx.shared_grad is not None:
            g_bar = ctx.shared_grad(g_bar)
        factors = _backward_factors(ctx, op, tuple(flat), f_bar, g_bar, r_bar)
        if factors is None:
            return (torch.zeros_like(x), torch.zeros_like(y)) + (None,) * 16
        return op.grads(*factors) + (None,) * 16


def kernel_scaling_rounds(
    x: Tensor, log_a: Tensor, log_b: Tensor, g_init: Tensor, *, eps: float, rho_a: float, rho_b: float,
    iters: int, masked: bool = False, scale: float = 1.0, offset: float = 0.0, shift: float | None = None,
    detach_rounds: bool = False, kernel_class: type = DenseKernel, shared_grad: Any = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""``iters`` kernel-domain Sinkhorn rounds on ``log K = scale * x + offset``, then one row reduction.

    The loop of :func:`gca_lab.ot.sinkhorn` (``domain="kernel"``, ``tol=None``) without its ``n x m``
    outputs: returns ``(f, g, r, errors)`` with the potentials ``f`` ``(..., n)``, ``g`` ``(..., m)`` after
    ``iters`` rounds started from ``g_init``, ``r_i = log sum_j K_ij b_j e^{g_j/eps}`` ``(..., n)`` (the
    row normalizer of the plan ``K diag(v)``: the next row update is ``f = -phi_a eps r``) and the
    marginal errors ``(iters, ...)`` (detached). ``f``, ``g`` and ``r`` are differentiable w.r.t. ``x`` (the
    backward is one ``(n x 2t) @ (2t x m)`` product, module docstring); ``detach_rounds`` makes ``f``, ``g``
    constants and differentiates ``r`` alone.

    The caller vouches for the kernel-domain bound (:func:`gca_lab.ot.kernel_domain_bound_holds`) and,
    with ``shift``, for ``scale * x + offset <= shift`` (``None``: measured, one pass). ``masked``: ``x``
    is square and its diagonal is excluded (set to zero in the kernel). ``kernel_class`` and
    ``shared_grad``: the sharded plan's (:func:`gca_lab.sharding.sharded_scaling_rounds`).
    """
    phi_a, phi_b = relaxation_exponent(rho_a, eps), relaxation_exponent(rho_b, eps)
    return _KernelScaling.apply(x, log_a, log_b, g_init, phi_a, phi_b, eps, rho_a, iters, masked, scale, offset,
                                shift, detach_rounds, kernel_class, shared_grad)


def tiled_scaling_rounds(
    x: Tensor, y: Tensor, log_a: Tensor, log_b: Tensor, g_init: Tensor, *, eps: float, rho_a: float,
    rho_b: float, iters: int, scale: float, offset: float, shift: float, masked: bool = False,
    detach_rounds: bool = False, tile: int | None = None, kernel_class: type = TiledKernel,
    shared_grad: Any = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    r""":func:`kernel_scaling_rounds` on ``log K_ij = scale <x_i, y_j> + offset`` without storing ``K``.

    Args:
        x: ``(..., n, d)``, y: ``(..., m, d)`` embeddings (the same tensor for a joint layout; its
            gradient is then the sum of both).
        shift: an upper bound of ``log K`` (the losses: 0 for the cost ``1 - cos``, ``1/eps`` for ``-cos``).
        tile: rows of the kernel computed at once (default ``2^22 / m``).
        kernel_class, shared_grad: the sharded plan's kernel and the reduction of the shared ``g``'s
            gradient over processes (:func:`gca_lab.sharding.sharded_tiled_scaling_rounds`).

    Returns ``(f, g, r, errors)`` as :func:`kernel_scaling_rounds`, equal to it up to the rounding of
    the blocked inner products (tests: 1e-10 in float64); memory ``O((n + m) d + tile m)`` in forward
    and backward, each pass recomputing the kernel blocks (Inf-CL's scheme, arXiv 2410.17243).
    """
    phi_a, phi_b = relaxation_exponent(rho_a, eps), relaxation_exponent(rho_b, eps)
    return _TiledScaling.apply(x, y, log_a, log_b, g_init, phi_a, phi_b, eps, rho_a, iters, masked, scale, offset,
                               shift, detach_rounds, tile, kernel_class, shared_grad)
