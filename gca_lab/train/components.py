"""The parts a run is built from, each from its config: the dataset, the model (and the one it starts
from), the optimizer, and the target plans of a prior."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor, nn

from .. import data as _data
from .. import models as _models
from .. import targets as _targets
from .config import TrainConfig

__all__ = ["load_dataset", "build_model", "initial_model", "make_optimizer", "prior_target_fn"]


def load_dataset(config: TrainConfig) -> _data.Dataset:
    """The dataset of a config (:func:`gca_lab.data.load`; ``multidomain_<base>`` renders the four-domain
    set from ``base``)."""
    kwargs: dict[str, Any] = {"seed": config.data_seed, "root": config.data_root}
    if config.image_size is not None:
        kwargs["size"] = config.image_size
    if config.max_train is not None:
        kwargs["max_train"] = config.max_train
    if config.max_test is not None:
        kwargs["max_test"] = config.max_test
    kwargs.update(config.data_options)  # extra dataset options, e.g. style="subtle" for multidomain_<base>
    return _data.load(config.dataset, **kwargs)


def build_model(config: TrainConfig, image_shape: tuple[int, ...]) -> _models.ContrastiveModel:
    """Encoder + projection head of a config (seeded by the caller)."""
    encoder = _models.make_encoder(config.model, image_shape)
    return _models.ContrastiveModel(encoder, proj_hidden=config.proj_hidden, proj_out=config.proj_out)


def initial_model(config: TrainConfig, image_shape: tuple[int, ...]) -> _models.ContrastiveModel:
    """The model :func:`train` starts from: :func:`build_model` after ``torch.manual_seed(config.seed)``
    (the random-init encoder that ``probe_init`` and the baselines of the experiments read)."""
    torch.manual_seed(config.seed)
    return build_model(config, image_shape)


def make_optimizer(config: TrainConfig, params: list[nn.Parameter]) -> torch.optim.Optimizer:
    """``config.optimizer`` over ``params``: Adam, or SGD with Nesterov momentum; ``config.weight_decay``."""
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, nesterov=True,
                           weight_decay=config.weight_decay)


def prior_target_fn(config: TrainConfig, dataset: _data.Dataset, layout: str) -> Callable[[Tensor, Tensor | None], Tensor]:
    """``target_fn(labels, domains) -> (n, m)`` target plan of ``config.target_prior`` for each batch:
    ``"class"`` (:func:`gca_lab.targets.class_prior`), ``"domain"`` (:func:`gca_lab.targets.domain_prior`
    with ``prior_alpha`` / ``prior_beta``) or ``"domain_mass"`` (:func:`gca_lab.targets.domain_prior_mass` with
    ``prior_same_mass`` / ``prior_other_mass``), in ``layout``: the built loss's own (``loss.layout``; simclr and
    ``convention="reference"`` fix ``"joint"``). ``ValueError`` for a domain prior on data without domains."""
    if config.target_prior in ("domain", "domain_mass") and dataset.train.domain is None:
        raise ValueError(f"target_prior={config.target_prior!r} needs a dataset with domain labels "
                         f"(multidomain_<base>), got {config.dataset!r}")

    def target_fn(labels: Tensor, domains: Tensor | None) -> Tensor:
        if config.target_prior == "class":
            return _targets.class_prior(labels, layout=layout)
        assert domains is not None
        if config.target_prior == "domain_mass":
            return _targets.domain_prior_mass(domains, config.prior_same_mass, config.prior_other_mass, layout=layout)
        return _targets.domain_prior(domains, config.prior_alpha, config.prior_beta, layout=layout)

    return target_fn
