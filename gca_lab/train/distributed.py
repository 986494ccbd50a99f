"""The distributed pieces of a run (DDP under ``torchrun``): rank and world size, the process group,
buffers and labels shared across ranks. With one process every function is the identity or a no-op.
"""

from __future__ import annotations

import os

import torch
from torch import Tensor, nn

__all__ = ["world", "init_distributed", "sync_buffers", "gather_labels"]


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of this process: ``(0, 1)`` outside an initialized process group."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_distributed(device: torch.device) -> bool:
    """Join the torchrun process group if launched by torchrun; True if we created it."""
    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend)
    return True


def sync_buffers(module: nn.Module, world: int) -> None:
    """Make every rank hold rank 0's buffers (BatchNorm running statistics are per-rank under DDP)."""
    if world == 1:
        return
    import torch.distributed as dist

    for buf in module.buffers():
        dist.broadcast(buf, 0)


def gather_labels(labels: Tensor, world: int) -> Tensor:
    """Labels of the global batch, rank-major: ``cat`` of every rank's ``labels`` (all-gather), so that a
    target plan built from them lines up with the loss's gathered embeddings. Identity for ``world == 1``."""
    if world == 1:
        return labels
    import torch.distributed as dist

    parts = [torch.empty_like(labels) for _ in range(world)]
    dist.all_gather(parts, labels.contiguous())
    return torch.cat(parts)
