"""Training, by concept: one module per job, every public name re-exported here (``from gca_lab.train
import TrainConfig, train``).

==================  ==================================================================================
module              what it holds
==================  ==================================================================================
``config``          :class:`TrainConfig`, the one list of result-neutral fields, the route to a loss
``protocol``        :func:`protocol`: what a run's result depends on, hashed by the experiment cache
``components``      the dataset, model, optimizer and prior target plans a run is built from
``devices``         :func:`resolve_device`: the device a config names, checked against this machine
``distributed``     rank and world, the process group, buffers and labels across ranks (DDP)
``schedules``       learning rate and BYOL target decay per step
``steps``           one optimizer step per family (contrastive, BYOL), the batches of an epoch
``state``           :class:`TrainState` and :func:`setup`
``checkpoints``     atomic save / load, the checkpoint key
``loop``            :func:`train_step`, :func:`run_epoch`, :func:`fit`, :func:`train`, :class:`TrainResult`
``evaluation``      :func:`evaluate_run`: the frozen-probe evaluation of a trained run
==================  ==================================================================================

The same code runs on a laptop CPU, on one GPU (bf16 autocast, channels_last, data on the device) and on
several GPUs under ``torchrun`` (DDP; the training set is sharded per rank from one shared permutation,
and the losses all-gather embeddings so that negatives and transport span every GPU). Evaluation is a
*frozen* linear probe (:mod:`gca_lab.evaluate`), never the authors' fine-tuned "linear" evaluation with
test-set model selection (docs/reference_implementation.md; kept only as the measured counter-example of
the implementation_choices experiment).
"""

from __future__ import annotations

import warnings
from typing import Any

from ..false_positives import FALSE_POSITIVE_MODES, FalsePositives, check_false_positives
from .checkpoints import checkpoint_path, load_checkpoint, save_checkpoint
from .components import build_model, initial_model, load_dataset, make_optimizer, prior_target_fn
from .config import (
    EVALUATION_FIELDS, LOSS_FIELDS, LOSS_NEUTRAL_OPTIONS, METHOD_PARAMS, RESULT_NEUTRAL_FIELDS, TrainConfig,
    build_loss, config_hash, loss_kwargs, resolved_loss_options, result_fields, weights_key,
)
from .devices import available_devices, resolve_device
from .distributed import gather_labels, init_distributed, sync_buffers, world
from .evaluation import INIT_KEYS, evaluate_run
from .loop import TrainResult, fit, record_epoch, run_epoch, train, train_step, versions
from .protocol import _model_repr, protocol
from .schedules import byol_tau, lr_factor, set_lr
from .state import TrainState, setup
from .steps import byol_step, contrastive_step, epoch_batches, optimizer_step

__all__ = [
    "TrainConfig", "TrainResult", "train", "build_loss", "build_model", "initial_model", "load_dataset",
    "evaluate_run", "config_hash", "protocol", "METHOD_PARAMS", "LOSS_FIELDS", "RESULT_NEUTRAL_FIELDS",
    "EVALUATION_FIELDS", "LOSS_NEUTRAL_OPTIONS", "result_fields", "weights_key", "loss_kwargs",
    "resolved_loss_options", "INIT_KEYS", "versions",
    # the parts train() composes
    "TrainState", "setup", "fit", "run_epoch", "train_step", "contrastive_step", "byol_step", "optimizer_step",
    "epoch_batches", "record_epoch", "save_checkpoint", "load_checkpoint", "checkpoint_path", "lr_factor",
    "set_lr", "byol_tau", "make_optimizer", "prior_target_fn", "resolve_device", "available_devices",
    "init_distributed", "world", "sync_buffers", "gather_labels",
    "FalsePositives", "FALSE_POSITIVE_MODES", "check_false_positives",
]


def __getattr__(name: str) -> Any:
    # ``evaluate`` was renamed ``evaluate_run`` (it shadowed the module gca_lab.evaluate); kept one release.
    if name == "evaluate":
        warnings.warn("gca_lab.train.evaluate is deprecated; use gca_lab.train.evaluate_run",
                      DeprecationWarning, stacklevel=2)
        return evaluate_run
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
