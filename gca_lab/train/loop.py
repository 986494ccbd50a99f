"""One training loop for every method: contrastive (any :func:`gca_lab.methods.make_loss` name) and BYOL.

``train(TrainConfig(...)) -> TrainResult`` composes the parts: :func:`gca_lab.train.setup` builds a
:class:`~gca_lab.train.TrainState`; :func:`fit` runs the epochs (:func:`run_epoch` -> :func:`train_step` ->
the step of the method's family, :mod:`gca_lab.train.steps`) with checkpoints
(:mod:`gca_lab.train.checkpoints`); :func:`gca_lab.train.evaluate_run` scores the result.

Reproducibility: all randomness of a run comes from ``config.seed`` through two explicit
``torch.Generator`` objects (batch order, shared by all ranks; augmentation, one per rank) and the
model's seeded initialization; a resumed CPU run reaches bit-identical weights.
"""

from __future__ import annotations

import dataclasses
import platform
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor, nn

from .. import __version__
from .checkpoints import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .devices import resolve_device
from .distributed import gather_labels, init_distributed, sync_buffers
from .evaluation import INIT_KEYS, evaluate_run
from .schedules import byol_tau, lr_factor, set_lr
from .state import TrainState, setup
from .steps import byol_step, contrastive_step, epoch_batches

__all__ = ["TrainResult", "versions", "train_step", "run_epoch", "record_epoch", "fit", "train"]


@dataclass
class TrainResult:
    """What a run produced.

    Attributes:
        config: the config as a dict.
        history: ``loss`` (mean loss per epoch), ``step_loss`` (every step), ``epoch_time`` (s).
        metrics: final evaluation (``probe_test_acc``, ``probe_val_acc``, ``knn_acc``,
            ``alignment``, ``uniformity``, ``compactness``, ``init_probe_test_acc`` with
            ``probe_init``, ``strong_probe_test_acc`` with ``strong``, ``corrupt/<name>`` ...).
        seed, versions, device, wall_time: provenance.
        model: the trained :class:`gca_lab.models.ContrastiveModel` (not serialized).
    """

    config: dict[str, Any]
    history: dict[str, list[float]]
    metrics: dict[str, float]
    seed: int
    versions: dict[str, str]
    device: str
    wall_time: float
    model: nn.Module | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (without the model)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "model"}


def versions() -> dict[str, str]:
    """Library versions that matter for reproducing a number."""
    import sklearn

    return {
        "gca_lab": __version__, "torch": torch.__version__, "numpy": np.__version__,
        "sklearn": sklearn.__version__, "python": platform.python_version(),
    }


def train_step(run: TrainState, idx: Tensor) -> Tensor:
    """One step of ``run`` on the training rows ``idx`` (this rank's slice): learning rate, two views
    from ``run.gen_aug``, the step of the run's family. Advances ``run.step``; returns the loss."""
    config, device = run.config, run.device
    rows, idx = idx, idx.to(device)
    set_lr(run.optimizer, config.lr * lr_factor(run.step, run.total_steps, schedule=config.schedule,
                                                warmup_steps=config.warmup_epochs * run.steps_per_epoch))
    if run.false_positives is None:
        x1, x2 = run.views(run.dataset.train.x[idx], run.gen_aug)
    else:
        x1, x2 = run.false_positives.views(run.views, run.dataset.train.x, rows, run.gen_aug)
    if device.type == "cuda" and x1.ndim == 4:
        x1 = x1.contiguous(memory_format=torch.channels_last)
        x2 = x2.contiguous(memory_format=torch.channels_last)
    if run.ema is not None:
        loss = byol_step(run.trained, run.ema, run.loss_fn, run.optimizer, x1, x2, model=run.model,
                         tau=byol_tau(config.byol_tau, run.step, run.total_steps), bf16=run.use_bf16)
    else:
        target = None
        if run.target_fn is not None:
            split = run.dataset.train
            dom = None if split.domain is None else gather_labels(split.domain[idx], run.world)
            target = run.target_fn(gather_labels(split.y[idx], run.world), dom)
        loss = contrastive_step(lambda both: run.trained(both)[0], run.loss_fn, run.optimizer, x1, x2, target,
                                bf16=run.use_bf16)
    run.step += 1
    return loss


def run_epoch(run: TrainState) -> Tensor:
    """One epoch of ``run``: a fresh batch order from ``run.gen_order``, one :func:`train_step` per batch,
    then the buffer sync across ranks. Returns the ``(steps_per_epoch,)`` step losses (on the device)."""
    run.online.train()
    batches = epoch_batches(len(run.dataset.train), run.config.batch_size, run.gen_order,
                            rank=run.rank, world=run.world)
    losses = torch.stack([train_step(run, idx) for idx in batches])
    sync_buffers(run.online, run.world)
    return losses


def record_epoch(run: TrainState, losses: Tensor, seconds: float) -> None:
    """Append an epoch's losses to ``run.history`` (one host sync) and count it; a non-finite loss stops
    the run with a ``FloatingPointError`` that says which knob to turn."""
    config = run.config
    losses = losses.float().cpu()
    if not bool(torch.isfinite(losses).all()):
        raise FloatingPointError(
            f"loss became non-finite in epoch {run.epoch + 1} of {config.method}; lower --lr "
            f"(now {config.lr}) or raise --eps (now {config.eps})")
    run.history["step_loss"] += losses.tolist()
    run.history["loss"].append(float(losses.mean()))
    run.history["epoch_time"].append(seconds)
    run.epoch += 1


def fit(run: TrainState, on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None) -> TrainState:
    """Train ``run`` from ``run.epoch`` to ``config.epochs``: per epoch :func:`run_epoch`,
    :func:`record_epoch`, a checkpoint every ``config.checkpoint_every`` epochs, then
    ``on_epoch_end(epoch, {"history", "model", "step"})`` (raising from it interrupts the run)."""
    from tqdm.auto import tqdm

    config = run.config
    bar = tqdm(total=config.epochs, initial=run.epoch, desc=f"{config.method} on {config.dataset}",
               disable=not config.progress or run.rank != 0)
    with bar:
        while run.epoch < config.epochs:
            t0 = time.perf_counter()
            losses = run_epoch(run)
            record_epoch(run, losses, time.perf_counter() - t0)
            bar.update(1)
            bar.set_postfix(loss=f"{run.history['loss'][-1]:.4f}")
            if run.checkpoint_path is not None and config.checkpoint_every and run.epoch % config.checkpoint_every == 0:
                save_checkpoint(run, run.checkpoint_path)
            if on_epoch_end is not None:
                on_epoch_end(run.epoch, {"history": run.history, "model": run.model, "step": run.step})
    return run


def train(
    config: TrainConfig,
    *,
    resume: bool = True,
    on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None,
    target_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
) -> TrainResult:
    """Train an encoder with ``config.method`` and evaluate it with a frozen probe.

    Args:
        config: the run (validated first; bad values stop before any training).
        resume: continue from the newest checkpoint in ``config.checkpoint_dir`` made by the same
            config, if any.
        on_epoch_end: called as ``on_epoch_end(epoch, state)`` after each epoch (and after its
            checkpoint); raising from it interrupts the run (the tests use this).
        target_fn: optional ``target_fn(labels, domains) -> (n, m)`` target plan for each batch;
            default: built from ``config.target_prior`` (``"class"``: :func:`gca_lab.targets.class_prior`;
            ``"domain"``: :func:`gca_lab.targets.domain_prior` with ``prior_alpha`` / ``prior_beta``;
            ``"domain_mass"``: :func:`gca_lab.targets.domain_prior_mass` with ``prior_same_mass`` /
            ``prior_other_mass``), or the loss's positive pairs when that is ``None``.

    Returns:
        :class:`TrainResult`.
    """
    config.validate()
    start = time.perf_counter()
    device = resolve_device(config.device)
    created_group = init_distributed(device)
    try:
        run = setup(config, device, target_fn=target_fn)
        metrics: dict[str, float] = {}
        if config.probe and config.probe_init and run.rank == 0:
            init = evaluate_run(run.model, run.dataset, config, protocol_only=True)
            metrics = {f"init_{k}": v for k, v in init.items() if k in INIT_KEYS}
        if resume and run.checkpoint_path is not None and run.checkpoint_path.exists():
            load_checkpoint(run, run.checkpoint_path)
        fit(run, on_epoch_end)
        if config.probe and run.rank == 0:
            metrics.update(evaluate_run(run.model, run.dataset, config))
        if created_group:
            import torch.distributed as dist

            # Rank 0 hosts the rendezvous store: if it tears the group down while another rank is still
            # in its own teardown, that rank aborts ("terminate called without an active exception").
            dist.barrier()
        return TrainResult(config=config.to_dict(), history=run.history, metrics=metrics, seed=config.seed,
                           versions=versions(), device=str(device), wall_time=time.perf_counter() - start,
                           model=run.model)
    finally:
        if created_group:
            import torch.distributed as dist

            dist.destroy_process_group()
