"""Checkpoints of a run: where each rank keeps one (keyed by what changes the trained weights), and an
atomic save / load that continues a run bit-identically (model, optimizer, both generators, EMA, step).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .._io import atomic_save
from .config import TrainConfig, weights_key

if TYPE_CHECKING:
    from .loop import TrainState

__all__ = ["checkpoint_path", "save_checkpoint", "load_checkpoint"]


def checkpoint_path(config: TrainConfig, rank: int = 0, world: int = 1) -> Path | None:
    """Where rank ``rank`` of a ``world``-process run of ``config`` keeps its checkpoint (None without
    ``checkpoint_dir``). The key hashes every field that changes the trained weights, and ``world``."""
    if not config.checkpoint_dir:
        return None
    key = weights_key(config, world)
    return Path(config.checkpoint_dir) / f"ckpt-{key}-rank{rank}.pt"


def save_checkpoint(run: "TrainState", path: Path) -> None:
    """Write (atomically) everything :func:`load_checkpoint` needs to continue ``run`` bit-identically:
    the online network, optimizer, both generator states, the EMA target, history, epoch and step."""
    atomic_save({
        "online": run.online.state_dict(), "optimizer": run.optimizer.state_dict(),
        "gen_order": run.gen_order.get_state(), "gen_aug": run.gen_aug.get_state(),
        "ema": run.ema.state_dict() if run.ema is not None else None,
        "history": run.history, "epoch": run.epoch, "step": run.step, "config": run.config.to_dict(),
    }, path)


def load_checkpoint(run: "TrainState", path: Path) -> None:
    """Restore ``run`` from a checkpoint written by :func:`save_checkpoint` (the inverse, in place)."""
    state = torch.load(path, map_location=run.device, weights_only=False)
    run.online.load_state_dict(state["online"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.gen_order.set_state(state["gen_order"])
    run.gen_aug.set_state(state["gen_aug"])
    if run.ema is not None:
        run.ema.load_state_dict(state["ema"])
    run.history = state["history"]
    run.epoch, run.step = state["epoch"], state["step"]
