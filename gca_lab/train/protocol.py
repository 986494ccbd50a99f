"""The protocol of a run: everything that determines its result apart from the library's code, hashed to
key cached experiment results (:func:`gca_lab.experiments.run_hash`)."""

from __future__ import annotations

import functools
from typing import Any

import torch

from .. import augment as _augment
from .. import data as _data
from .components import build_model
from .config import TrainConfig, resolved_loss_options, result_fields

__all__ = ["protocol"]


def protocol(config: TrainConfig) -> dict[str, Any]:
    """Everything that determines a run's result apart from the library's code: every field of
    ``config`` with its defaults resolved (:func:`gca_lab.train.config.result_fields`), and what its names
    resolve to outside :class:`TrainConfig`: the loss's options with its defaults
    (:func:`gca_lab.train.config.resolved_loss_options`), the views' parameters (``describe()`` of
    :class:`gca_lab.augment.TwoViews` / :class:`gca_lab.augment.SignalViews`) and the model's layers
    (``repr`` of :func:`build_model`). Built from :func:`gca_lab.data.input_shape`, so it needs no data.

    Returns ``{"config": ..., "loss": ..., "views": ..., "model": ...}``. Cached experiment results are
    keyed on it (:func:`gca_lab.experiments.run_hash`): changing a default view parameter, an encoder
    width or a loss default marks the affected results stale.
    """
    fields = result_fields(config)
    options = {k: v for k, v in config.data_options.items() if k in ("dim", "base")}
    shape = _data.input_shape(config.dataset, config.image_size, **options)
    views = _augment.TwoViews.for_input(config.dataset, shape, config.augment, config.strong).describe()
    model = _model_repr(config.model, shape, config.proj_hidden, config.proj_out)
    return {"config": fields, "loss": resolved_loss_options(config), "views": views, "model": model}


@functools.lru_cache(maxsize=64)
def _model_repr(model: str, shape: tuple[int, ...], proj_hidden: int, proj_out: int) -> str:
    with torch.device("meta"):  # no weights allocated, no random numbers drawn
        net = build_model(TrainConfig(model=model, proj_hidden=proj_hidden, proj_out=proj_out), shape)
    return repr(net)
