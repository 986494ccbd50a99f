"""Schedules of a run, stepped per batch: the learning rate (warmup, cosine) and BYOL's target decay."""

from __future__ import annotations

import math

import torch

__all__ = ["lr_factor", "set_lr", "byol_tau"]


def lr_factor(step: int, total: int, *, warmup_steps: int = 0, schedule: str = "cosine") -> float:
    """Learning-rate multiplier at optimizer step ``step`` of ``total`` (stepped per batch).

    Linear warmup ``(step + 1) / warmup_steps`` for ``step < warmup_steps``, then ``1`` (``"constant"``)
    or the cosine ``0.5 (1 + cos(pi (step - warmup_steps) / (total - warmup_steps)))``. The authors'
    code stepped a per-step cosine once per epoch (docs/reference_implementation.md, item 19); here it is
    stepped per batch.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    progress = (step - warmup_steps) / max(1, total - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the learning rate of every parameter group of ``optimizer`` to ``lr``."""
    for group in optimizer.param_groups:
        group["lr"] = lr


def byol_tau(base: float, step: int, total: int) -> float:
    """BYOL's target decay at step ``step``: ``1 - (1 - base) (cos(pi step / total) + 1) / 2``,
    rising from ``base`` to 1 over the run (Grill et al. 2020, Sec. 3.2)."""
    return 1 - (1 - base) * (math.cos(math.pi * step / max(1, total)) + 1) / 2
