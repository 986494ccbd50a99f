"""Autograd-aware collectives of ``torch.distributed`` for losses split across processes.

Semantics (as ``torch.distributed.nn``): the processes form one computation whose outputs are every
rank's loss; each rank backpropagates its own. A sum over ranks therefore sends back the sum of the
ranks' incoming gradients, and a gather sends back to each rank the sum of the gradients of its slice.
When every rank backpropagates the same all-reduced loss ``L``, each input receives ``world_size``
times ``dL/dinput``, which DDP's gradient averaging cancels (``tests/test_distributed.py``; lightly
issues 1528 and 1977 are what goes wrong otherwise). Written here rather than taken from
``torch.distributed.nn.functional``, which torch 2.13 deprecates.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["world", "gather", "all_reduce_sum", "all_reduce_max"]


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of the default process group; ``(0, 1)`` when not distributed."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return 0, 1
    return dist.get_rank(), dist.get_world_size()


class _GatherWithGrad(torch.autograd.Function):
    """All-gather along dim 0 whose backward sums the incoming gradients across processes."""

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


class _AllReduceSum(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:  # type: ignore[override]
        import torch.distributed as dist

        out = x.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:  # type: ignore[override]
        import torch.distributed as dist

        grad = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(grad)
        return grad


def gather(z: Tensor) -> Tensor:
    """``(R * B, ...)`` ``z`` of every process concatenated in rank order (identity when not distributed).

    The backward gives each rank the sum over ranks of its slice's gradient.
    """
    if world()[1] == 1:
        return z
    return _GatherWithGrad.apply(z)


def all_reduce_sum(x: Tensor) -> Tensor:
    """``sum_ranks x`` on every rank, differentiable (backward: the sum of the ranks' gradients)."""
    if world()[1] == 1:
        return x
    return _AllReduceSum.apply(x)


def all_reduce_max(x: Tensor) -> Tensor:
    """``max_ranks x`` on every rank, detached (a shift that does not change the value it guards)."""
    if world()[1] == 1:
        return x.detach()
    import torch.distributed as dist

    out = x.detach().clone(memory_format=torch.contiguous_format)
    dist.all_reduce(out, op=dist.ReduceOp.MAX)
    return out
