r"""The plan sharded across processes by rows: each process holds its rows of the kernel and plan.

With ``R`` processes, process ``r`` holds rows ``I_r`` of the ``n x m`` log kernel (its own views
against every gathered view). A row reduction ``rows(w)_i = log sum_j K_ij e^{w_j}`` needs only the
process's rows and the (replicated) column vector ``w``; a column reduction sums over every row, so
each process reduces its rows and the partial results are combined (SwAV's distributed Sinkhorn,
here differentiable):

.. math::

    \mathrm{cols}(z)_j = M_j + \log \sum_r \exp\big(c^{(r)}_j - M_j\big),\qquad
    c^{(r)}_j = \log \sum_{i \in I_r} K_{ij} e^{z_i},\quad M_j = \max_r c^{(r)}_j,

two all-reduces of ``m`` floats (a detached maximum, then a differentiable sum;
:mod:`gca_lab.collectives`). So per-process memory is ``O(n m / R)`` and each round sends ``O(m)`` floats.
The loop is :func:`gca_lab.projection.scaling_rounds` unchanged: ``f`` and ``z`` hold the process's
rows, ``g`` and ``w`` all columns.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .collectives import all_reduce_max, all_reduce_sum, world
from .projection import Reduction
from .reductions import DenseKernel, TiledKernel
from .scaling_grad import kernel_scaling_rounds, tiled_scaling_rounds

__all__ = ["ShardedReduction", "LocalKernelReduction", "ShardedKernel", "ShardedTiledKernel", "sharded_scaling_rounds",
           "sharded_tiled_scaling_rounds"]


class ShardedReduction:
    """A process's row block of a reduction (``local``: :mod:`gca_lab.reductions`), columns combined
    across processes (module docstring)."""

    def __init__(self, local: Reduction) -> None:
        self.local = local

    def rows(self, w: Tensor) -> Tensor:
        """``(..., m) -> (..., n_local)``: local, no communication."""
        return self.local.rows(w)

    def cols(self, z: Tensor) -> Tensor:
        """``(..., n_local) -> (..., m)``: the local column reduction, combined over processes."""
        part = self.local.cols(z)
        top = all_reduce_max(part)
        return all_reduce_sum((part - top).exp()).log() + top


class LocalKernelReduction:
    r"""``rows`` / ``cols`` of a process's stored kernel block ``K' = exp(log K - shift)`` ``(n_local, m)``,
    by max-shifted matrix-vector products (plain autograd: only vectors are saved per step).

    ``own``: ``(n_local,)`` the column of each row's excluded entry (joint layout: the row's own view,
    ``K'`` is 0 there), or ``None``. As :class:`gca_lab.reductions.KernelReduction` does for a square
    masked kernel, the one line whose excluded entry holds the maximum of the shifted vector is
    recomputed with the second largest as shift, so no reduction can underflow under the bound of
    :func:`gca_lab.ot.kernel_domain_bound_holds`: a row of this block when the maximum of ``w`` is at
    its own column, and the column of the row holding the maximum of ``z``.
    """

    def __init__(self, kernel: Tensor, sh: float, own: Tensor | None = None) -> None:
        self.kernel, self.sh, self.own = kernel, sh, own

    def rows(self, w: Tensor) -> Tensor:
        """``(m,) -> (n_local,)``."""
        if self.own is None:
            top = w.amax(-1, keepdim=True)
            return (self.kernel @ (w - top).exp()).log() + top + self.sh
        (first, second), star = w.topk(2).values, w.argmax()
        out = (self.kernel @ (w - first).exp()).log() + first + self.sh
        hit = self.own == star  # (n_local,): the row (at most one) whose excluded column holds max w
        line = self.kernel[hit.to(torch.int64).argmax()]  # (m,) that row (row 0 if none: unused)
        fixed = (line * (w - second).clamp(max=0).exp()).sum().log() + second + self.sh
        return torch.where(hit, fixed, out)

    def cols(self, z: Tensor) -> Tensor:
        """``(n_local,) -> (m,)``."""
        if self.own is None:
            top = z.amax(-1, keepdim=True)
            return ((z - top).exp() @ self.kernel).log() + top + self.sh
        (first, second), star = z.topk(2).values, z.argmax()
        out = ((z - first).exp() @ self.kernel).log() + first + self.sh
        col = self.own[star]  # the column excluded in the row of max z
        line = self.kernel[:, col]  # (n_local,)
        fixed = (line * (z - second).clamp(max=0).exp()).sum().log() + second + self.sh
        return out.scatter(0, col.reshape(1), fixed.reshape(1))


def _all_reduce(t: Tensor) -> Tensor:
    # a raw (non-autograd) sum over processes, for the custom backwards
    if world()[1] > 1:
        import torch.distributed as dist

        t = t.clone()
        dist.all_reduce(t)
    return t


class _AcrossProcesses:
    # column sums and column shifts over every process (raw collectives: the custom backwards call
    # them themselves); row products stay local
    def matvec(self, e: Tensor, dim: int) -> Tensor:
        out = super().matvec(e, dim)  # type: ignore[misc]
        return _all_reduce(out) if dim == -2 else out

    def vmax(self, w: Tensor, dim: int) -> Tensor:
        top = w.amax(-1, keepdim=True)
        return all_reduce_max(top) if dim == -2 else top


class ShardedKernel(_AcrossProcesses, DenseKernel):
    """A process's stored kernel block ``(n_local, m)`` whose column sums ``K^T e`` are all-reduced over
    every process (``m`` floats) and whose column reductions are shifted by the maximum over every
    process's rows (:class:`gca_lab.reductions.KernelReduction`)."""


class ShardedTiledKernel(_AcrossProcesses, TiledKernel):
    """A process's rows of a :class:`gca_lab.reductions.TiledKernel` (``x``: its anchors, ``y``: every
    view) with column sums and column shifts over every process, as :class:`ShardedKernel`."""


def sharded_scaling_rounds(
    x: Tensor, log_a: Tensor, log_b: Tensor, g_init: Tensor, *, eps: float, rho_a: float, rho_b: float,
    iters: int, scale: float, offset: float, shift: float, detach_rounds: bool = False,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""The rounds of :func:`gca_lab.scaling_grad.kernel_scaling_rounds` on this process's rows.

    ``x`` ``(n_local, m)``: this process's rows of ``(log K - offset) / scale`` (the cosines of its
    anchors with every view); ``log_a`` ``(n_local,)`` its rows' marginal; ``log_b``, ``g_init`` ``(m,)``
    the same on every process; ``shift``: an upper bound of ``log K`` known to every process (the
    kernel blocks must share it). Returns ``(f, g, r, errors)`` with ``f``, ``r`` for this process's rows
    and ``g`` for every column, equal on every process. The backward is the single-process one with
    the column sums all-reduced (one all-reduce of ``m`` floats per half-step) and the gradient of
    the shared ``g`` summed over processes; memory ``O(n_local m)``. No self-pairs may be excluded
    (the joint layout with masked self-pairs uses :class:`LocalKernelReduction`).
    """
    return kernel_scaling_rounds(x, log_a, log_b, g_init, eps=eps, rho_a=rho_a, rho_b=rho_b, iters=iters, scale=scale,
                                 offset=offset, shift=shift, detach_rounds=detach_rounds, kernel_class=ShardedKernel,
                                 shared_grad=_all_reduce)


def sharded_tiled_scaling_rounds(
    x: Tensor, y: Tensor, log_a: Tensor, log_b: Tensor, g_init: Tensor, *, eps: float, rho_a: float, rho_b: float,
    iters: int, scale: float, offset: float, shift: float, detach_rounds: bool = False, tile: int | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    r""":func:`sharded_scaling_rounds` on kernel blocks recomputed from ``x`` ``(n_local, d)`` (this process's
    anchors) and ``y`` ``(m, d)`` (every view, gathered with :func:`gca_lab.collectives.gather`, whose
    backward sums ``y``'s gradient over processes): memory ``O((n_local + m) d + tile m)`` per process.
    No self-pairs may be excluded (cross layout)."""
    return tiled_scaling_rounds(x, y, log_a, log_b, g_init, eps=eps, rho_a=rho_a, rho_b=rho_b, iters=iters,
                                scale=scale, offset=offset, shift=shift, masked=False, detach_rounds=detach_rounds,
                                tile=tile, kernel_class=ShardedTiledKernel, shared_grad=_all_reduce)
