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

from torch import Tensor

from .collectives import all_reduce_max, all_reduce_sum
from .projection import Reduction

__all__ = ["ShardedReduction"]


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
