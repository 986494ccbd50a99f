r"""The reduction of a Sinkhorn half-step, ``log sum_j K_ij e^{w_j}``, computed three ways.

Every projection of arXiv 2502.20141 (the row and column KL projections of GCA-INCE's Sinkhorn and
GCA-UOT's relaxed scalings) needs one operation of the Gibbs kernel ``K = exp(log K)``:

.. math::

    \mathrm{rows}(w)_i = \log \sum_j K_{ij} e^{w_j}, \qquad
    \mathrm{cols}(z)_j = \log \sum_i K_{ij} e^{z_i}.

The one loop (:func:`gca_lab.projection.scaling_rounds`) takes the reduction as a parameter:

- :class:`LogReduction`: ``torch.logsumexp`` over ``log K + w`` (dense, always safe);
- :class:`KernelReduction` over :class:`DenseKernel`: one matrix-vector product with the stored
  ``exp(log K - shift)`` and a max-shifted ``exp(w)``, exact while no product underflows
  (:func:`gca_lab.ot.kernel_domain_bound_holds`);
- :class:`KernelReduction` over :class:`TiledKernel`: the same products with the kernel recomputed
  block by block from the embeddings, ``log K = scale <x_i, y_j> + offset``, so no ``n x m`` tensor is
  ever held (memory ``O((n + m) d + tile m)``; the online scheme of Inf-CL, arXiv 2410.17243, applied
  to every half-step).

Shapes are batched first: ``log K`` ``(..., n, m)``, ``w`` ``(..., m)``, ``z`` ``(..., n)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["LogReduction", "DenseKernel", "TiledKernel", "KernelReduction", "matvec", "default_tile"]

#: Kernel entries a tiled block holds at most by default (float32: 16 MiB per block).
TILE_ENTRIES = 1 << 22


def default_tile(m: int) -> int:
    """Rows per block of a :class:`TiledKernel` with ``m`` columns: ``TILE_ENTRIES / m``, at least 1."""
    return max(1, TILE_ENTRIES // max(1, m))


def matvec(kernel: Tensor, e: Tensor, dim: int) -> Tensor:
    """``K @ e`` (``dim=-1``: sums along rows) or ``e @ K`` (``dim=-2``); ``torch.mv`` when unbatched."""
    if kernel.dim() == 2:
        return torch.mv(kernel, e) if dim == -1 else torch.mv(kernel.T, e)
    return (kernel @ e.unsqueeze(-1)).squeeze(-1) if dim == -1 else (e.unsqueeze(-2) @ kernel).squeeze(-2)


class LogReduction:
    """``rows`` / ``cols`` by ``torch.logsumexp`` over the dense ``log K`` ``(..., n, m)`` (differentiable)."""

    def __init__(self, log_k: Tensor) -> None:
        self.log_k = log_k

    def rows(self, w: Tensor) -> Tensor:
        """``(..., m) -> (..., n)``."""
        return torch.logsumexp(self.log_k + w.unsqueeze(-2), dim=-1)

    def cols(self, z: Tensor) -> Tensor:
        """``(..., n) -> (..., m)``."""
        return torch.logsumexp(self.log_k + z.unsqueeze(-1), dim=-2)


def _vmax(w: Tensor, dim: int) -> Tensor:
    # the shift of a reduction of ``w`` (the sharded kernels take it over every process)
    return w.amax(-1, keepdim=True)


class DenseKernel:
    """The stored kernel ``exp(log K - shift)`` ``(..., n, m)``, entries in ``[0, 1]``."""

    vmax = staticmethod(_vmax)

    def __init__(self, kernel: Tensor) -> None:
        self.kernel = kernel

    def matvec(self, e: Tensor, dim: int) -> Tensor:
        """``K e`` (``dim=-1``) or ``K^T e`` (``dim=-2``)."""
        return matvec(self.kernel, e, dim)

    def line(self, index: Tensor, dim: int) -> Tensor:
        """Row ``index`` (``dim=-1``, ``(..., m)``) or column ``index`` (``dim=-2``, ``(..., n)``); ``index``: ``(..., 1)``."""
        k = self.kernel
        if dim == -1:
            return k.gather(-2, index.unsqueeze(-1).expand(*index.shape[:-1], 1, k.shape[-1])).squeeze(-2)
        return k.gather(-1, index.unsqueeze(-2).expand(*index.shape[:-1], k.shape[-2], 1)).squeeze(-1)

    def weighted(self, left: Tensor, right: Tensor) -> Tensor:
        """``K * (left @ right^T)`` ``(..., n, m)`` for ``left`` ``(..., n, k)`` and ``right`` ``(..., m, k)``."""
        return (left @ right.transpose(-1, -2)).mul_(self.kernel)


class TiledKernel:
    r"""``K_ij = exp(scale <x_i, y_j> + offset - shift)`` recomputed ``tile`` rows at a time.

    Args:
        x: ``(..., n, d)`` row embeddings; y: ``(..., m, d)`` column embeddings (the same tensor for a
            joint layout).
        scale, offset: the affine map from the inner product to ``log K`` (the losses: ``1/eps`` and
            ``-1/eps`` for the cost ``1 - cos``).
        shift: an upper bound of ``log K`` (entries then lie in ``[0, 1]``).
        masked: square kernel whose diagonal is excluded (zero).
        tile: rows per block (:func:`default_tile` when ``None``).

    Every product is computed from blocks of ``tile x m`` entries, so memory is
    ``O((n + m) d + tile m)`` whatever ``n``.
    """

    vmax = staticmethod(_vmax)

    def __init__(self, x: Tensor, y: Tensor, *, scale: float, offset: float, shift: float, masked: bool,
                 tile: int | None = None) -> None:
        self.x, self.y = x, y
        self.scale, self.add = scale, offset - shift
        self.masked = masked
        self.n, self.m = x.shape[-2], y.shape[-2]
        self.tile = min(tile if tile is not None else default_tile(self.m), self.n)
        self._buffers: dict[int, Tensor] = {}
        self._add = x.new_full((1, 1), self.add)

    def _blocks(self):
        for i0 in range(0, self.n, self.tile):
            yield i0, min(i0 + self.tile, self.n)

    def _log_values(self, s: Tensor) -> Tensor:
        # in place on a fresh product: the same operations as the dense kernel of the losses
        return s.mul_(self.scale).add_(self.add).exp_()

    def _buffer(self, slot: int, rows: int) -> Tensor | None:
        # Blocks are written into two reused buffers: a fresh tile x m allocation per block makes
        # the allocator's heap grow (measured: peak RSS 838 MB instead of 318 MB at 2N = 8,192).
        if self.x.dim() != 2:
            return None
        buf = self._buffers.get(slot)
        if buf is None:
            buf = self._buffers[slot] = self.x.new_empty((self.tile * self.m,))
        return buf[: rows * self.m].view(rows, self.m)

    def block(self, i0: int, i1: int) -> Tensor:
        """``(..., i1 - i0, m)`` rows ``i0:i1`` of the kernel (valid until the next call)."""
        out = self._buffer(0, i1 - i0)
        if out is not None:  # the affine map fused into the product: one pass less over the block
            k = torch.addmm(self._add, self.x[i0:i1], self.y.T, alpha=self.scale, out=out).exp_()
        else:
            k = self._log_values(self.x[..., i0:i1, :] @ self.y.transpose(-1, -2))
        if self.masked:
            k.diagonal(offset=i0, dim1=-2, dim2=-1).zero_()
        return k

    def matvec(self, e: Tensor, dim: int) -> Tensor:
        """``K e`` (``dim=-1``, ``(..., m) -> (..., n)``) or ``K^T e`` (``dim=-2``, ``(..., n) -> (..., m)``)."""
        if dim == -1:
            return torch.cat([matvec(self.block(i0, i1), e, -1) for i0, i1 in self._blocks()], -1)
        out = None
        for i0, i1 in self._blocks():
            part = matvec(self.block(i0, i1), e[..., i0:i1], -2)
            out = part if out is None else out.add_(part)
        return out

    def line(self, index: Tensor, dim: int) -> Tensor:
        """Row ``index`` (``dim=-1``) or column ``index`` (``dim=-2``) of the kernel; ``index``: ``(..., 1)``."""
        mine, other = (self.x, self.y) if dim == -1 else (self.y, self.x)
        pick = mine.gather(-2, index.unsqueeze(-1).expand(*index.shape[:-1], 1, mine.shape[-1]))  # (..., 1, d)
        k = self._log_values(pick @ other.transpose(-1, -2)).squeeze(-2)  # (..., n or m)
        if self.masked:
            k = k.scatter(-1, index, 0.0)
        return k

    def grads(self, left: Tensor, right: Tensor) -> tuple[Tensor, Tensor]:
        """``(G y, G^T x)`` for ``G = scale * K * (left @ right^T)``: the gradients w.r.t. ``x`` and ``y`` of
        ``sum_ij Kbar_ij log K_ij`` with ``Kbar = K * (left @ right^T)``, block by block."""
        gx = torch.empty_like(self.x)
        gy = torch.zeros_like(self.y)
        right_t = right.transpose(-1, -2) * self.scale
        for i0, i1 in self._blocks():
            weights = self._buffer(1, i1 - i0)
            if weights is None:
                weights = left[..., i0:i1, :] @ right_t
            else:
                torch.mm(left[i0:i1], right_t, out=weights)
            g = self.block(i0, i1).mul_(weights)  # (..., b, m)
            if gx.dim() == 2:
                torch.mm(g, self.y, out=gx[i0:i1])
                gy.addmm_(g.T, self.x[i0:i1])
            else:
                gx[..., i0:i1, :] = g @ self.y
                gy.add_(g.transpose(-1, -2) @ self.x[..., i0:i1, :])
        return gx, gy


class KernelReduction:
    r"""``rows`` / ``cols`` as one max-shifted product with a kernel operator (dense or tiled).

    ``log sum_j K_ij e^{w_j} = log (K' e)_i + max w + shift`` with ``K' = exp(log K - shift)`` and
    ``e = exp(w - max w)``. ``masked``: the kernel is square with its diagonal excluded; the one row
    (column) whose own index holds ``max w`` then lacks the ``e^0`` term, so it is recomputed alone,
    shifted by the second largest ``w``: every reduction keeps a term ``>= e^{-range(log K)}`` and the
    bound of :func:`gca_lab.ot.kernel_domain_bound_holds` covers masked kernels too.

    Args:
        op: :class:`DenseKernel` or :class:`TiledKernel`.
        sh: ``(..., 1)`` the shift, added back to every result (skipped when ``add_shift`` is false:
            a shift known to be 0).
        masked: see above.
        record: a list that receives, per reduction, the factors its backward needs
            (``(e, s)``, or ``(e, s, star, line, e2, s_star)`` masked; :mod:`gca_lab.scaling_grad`).
    """

    def __init__(self, op: DenseKernel | TiledKernel, sh: Tensor, *, masked: bool = False, add_shift: bool = True,
                 record: list[tuple[Tensor, ...]] | None = None) -> None:
        self.op, self.sh, self.masked, self.add_shift, self.record = op, sh, masked, add_shift, record

    def _lse(self, w: Tensor, dim: int) -> Tensor:
        if self.masked:
            top, arg = w.topk(2, dim=-1)  # (..., 2)
            first, second, star = top[..., :1], top[..., 1:], arg[..., :1]
            e = torch.exp(w - first)
            s = self.op.matvec(e, dim)
            line = self.op.line(star, dim)  # the line of index argmax w; its own entry is 0
            e2 = torch.exp((w - second).clamp(max=0))
            s_star = (line * e2).sum(-1, keepdim=True)
            out = (s.log() + first + self.sh).scatter(-1, star, s_star.log() + second + self.sh)
            if self.record is not None:
                self.record.append((e, s, star, line, e2, s_star))
            return out
        w_max = self.op.vmax(w, dim)  # (..., 1)
        e = (w - w_max).exp_()  # in place on fresh tensors: fewer allocations in the hot loop
        s = self.op.matvec(e, dim)
        out = torch.log(s).add_(w_max)
        if self.add_shift:
            out = out.add_(self.sh)
        if self.record is not None:
            self.record.append((e, s))
        return out

    def rows(self, w: Tensor) -> Tensor:
        """``(..., m) -> (..., n)``."""
        return self._lse(w, -1)

    def cols(self, z: Tensor) -> Tensor:
        """``(..., n) -> (..., m)``."""
        return self._lse(z, -2)

