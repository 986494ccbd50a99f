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

from .collectives import all_reduce_max, all_reduce_sum
from .projection import Reduction

__all__ = ["ShardedReduction", "LocalKernelReduction"]


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
