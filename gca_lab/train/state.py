"""A training run's state (:class:`TrainState`) and how it is built from a config (:func:`setup`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn

from .. import augment as _augment
from .. import data as _data
from .. import methods as _methods
from .. import models as _models
from .._seeds import stream_seed
from ..false_positives import FalsePositives
from .checkpoints import checkpoint_path
from .components import initial_model, load_dataset, make_optimizer, prior_target_fn
from .config import TrainConfig, build_loss
from .distributed import world as _world

__all__ = ["TrainState", "setup"]


class _Online(nn.Module):
    """The trained network as one module, so that DDP sees every forward: ``x -> (z, p or None)``."""

    def __init__(self, model: nn.Module, predictor: nn.Module | None) -> None:
        super().__init__()
        self.model = model
        self.predictor = predictor

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        z = self.model(x)
        return z, (self.predictor(z) if self.predictor is not None else None)


@dataclass
class TrainState:
    """Everything one training run holds, built by :func:`setup` and advanced by :func:`fit`.

    ``model`` is the encoder + projection head that is evaluated; ``online`` adds BYOL's predictor
    (what the optimizer updates and checkpoints hold); ``trained`` is ``online`` or its DDP wrapper
    (what the forward pass calls). ``gen_order`` (batch order, the same on every rank) and ``gen_aug``
    (views, one stream per rank) are the run's only random sources after initialization.
    ``epoch`` and ``step`` count completed epochs and optimizer steps.
    """

    config: TrainConfig
    device: torch.device
    rank: int
    world: int
    dataset: _data.Dataset
    model: _models.ContrastiveModel
    online: _Online
    trained: nn.Module
    ema: _models.EMA | None
    loss_fn: nn.Module
    optimizer: torch.optim.Optimizer
    views: _augment.TwoViews
    target_fn: Callable[[Tensor, Tensor | None], Tensor] | None
    gen_order: torch.Generator
    gen_aug: torch.Generator
    use_bf16: bool
    per_rank: int
    steps_per_epoch: int
    total_steps: int
    checkpoint_path: Path | None
    history: dict[str, list[float]] = field(default_factory=lambda: {"loss": [], "step_loss": [], "epoch_time": []})
    epoch: int = 0
    step: int = 0
    false_positives: FalsePositives | None = None


def setup(
    config: TrainConfig,
    device: torch.device,
    *,
    target_fn: Callable[[Tensor, Tensor | None], Tensor] | None = None,
) -> TrainState:
    """Build a run of a validated ``config`` on ``device``: dataset (on the device), model (seeded by
    ``config.seed``; channels_last on CUDA), BYOL predictor and EMA target, loss, DDP wrapper when a
    process group of more than one rank is up, optimizer, views and the two generators.

    The order of the seeded constructions is part of the result (model, then predictor): do not reorder.
    """
    rank, world = _world()
    dataset = load_dataset(config).to(device)
    n_train = len(dataset.train)
    if config.batch_size % world:
        raise ValueError(f"batch_size={config.batch_size} must be divisible by the number of processes ({world})")
    per_rank = config.batch_size // world
    if per_rank * world > n_train:
        raise ValueError(f"batch_size={config.batch_size} is larger than the training set ({n_train} samples "
                         f"of {config.dataset}); lower --batch-size or raise --max-train")
    steps_per_epoch = n_train // config.batch_size

    model = initial_model(config, dataset.image_shape).to(device)
    if device.type == "cuda" and len(dataset.image_shape) == 3:
        model = model.to(memory_format=torch.channels_last)
    is_byol = _methods.get(config.method).family == "byol"
    predictor = _models.Predictor(config.proj_out, config.proj_hidden).to(device) if is_byol else None
    loss_fn = build_loss(config, gather_distributed=world > 1).to(device)
    online = _Online(model, predictor)
    ema = _models.EMA(model, config.byol_tau) if is_byol else None
    trained: nn.Module = online
    if world > 1:
        if device.type == "cuda":  # batch statistics over the global batch, as one big-batch process
            online = nn.SyncBatchNorm.convert_sync_batchnorm(online)
            model = online.model
        device_ids = [device.index] if device.type == "cuda" else None
        trained = nn.parallel.DistributedDataParallel(online, device_ids=device_ids)
    optimizer = make_optimizer(config, [p for p in online.parameters() if p.requires_grad])
    if target_fn is None and config.target_prior is not None:
        target_fn = prior_target_fn(config, dataset, loss_fn.layout)
    return TrainState(
        config=config, device=device, rank=rank, world=world, dataset=dataset, model=model, online=online,
        trained=trained, ema=ema, loss_fn=loss_fn, optimizer=optimizer,
        views=_augment.TwoViews.for_dataset(dataset, config.augment, config.strong), target_fn=target_fn,
        gen_order=torch.Generator().manual_seed(config.seed),
        gen_aug=torch.Generator().manual_seed(stream_seed(config.seed, rank + 1)),
        use_bf16=device.type == "cuda" and config.mixed_precision in ("auto", "bf16"),
        per_rank=per_rank, steps_per_epoch=steps_per_epoch, total_steps=steps_per_epoch * config.epochs,
        checkpoint_path=checkpoint_path(config, rank, world),
        false_positives=FalsePositives.for_run(config, n_train),
    )
