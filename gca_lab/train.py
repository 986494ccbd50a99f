"""One training loop for every method: contrastive (any :func:`gca_lab.methods.make_loss` name) and BYOL.

``train(TrainConfig(...)) -> TrainResult`` is a short composition of parts that other loops reuse
(the sphere toy in :mod:`gca_lab.explore.sphere`, the reference evaluation of the implementation_choices
experiment): :func:`setup` (device, dataset, model, loss, optimizer, views, generators, DDP wrapper)
builds a :class:`TrainState`; :func:`fit` runs the epoch loop (:func:`run_epoch` -> :func:`train_step`
-> one step per family, :func:`contrastive_step` or :func:`byol_step`) with :func:`save_checkpoint` /
:func:`load_checkpoint`; :func:`evaluate` scores the result. The same code runs on a laptop CPU
(digits in seconds), on one GPU (bf16 autocast, channels_last, data kept on the device) and on several
GPUs under ``torchrun`` (DDP; the training set is sharded per rank from one shared permutation, and the
losses all-gather embeddings so that negatives and transport span every GPU).

Reproducibility: all randomness of a run comes from ``config.seed`` through two explicit
``torch.Generator`` objects (batch order, shared by all ranks; augmentation, one per rank) and
the model's seeded initialization. Checkpoints hold both generator states, the model, the
optimizer and the step, and are written atomically; a resumed CPU run reaches bit-identical
weights.

Evaluation is a *frozen* linear probe (:mod:`gca_lab.evaluate`): never the reference code's
fine-tuned "linear" evaluation with test-set model selection (the reference code's
``linear_evaluation.py``; kept only as the measured counter-example of the implementation_choices experiment).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor, nn

from . import __version__
from . import augment as _augment
from . import data as _data
from . import evaluate as _evaluate
from . import geometry as _geometry
from . import methods as _methods
from . import models as _models
from ._io import atomic_save
from ._validate import check_choice, check_int, check_nonnegative, check_positive

__all__ = [
    "TrainConfig", "TrainResult", "train", "build_loss", "build_model", "initial_model", "load_dataset", "evaluate",
    "config_hash", "protocol", "METHOD_PARAMS",
    # the parts train() composes
    "TrainState", "setup", "fit", "run_epoch", "train_step", "contrastive_step", "byol_step", "optimizer_step",
    "epoch_batches",
    "record_epoch", "save_checkpoint", "load_checkpoint", "checkpoint_path", "lr_factor", "set_lr", "byol_tau",
    "make_optimizer", "resolve_device", "init_distributed", "sync_buffers", "gather_labels",
    "FalsePositives", "FALSE_POSITIVE_MODES", "check_false_positives",
]

# Datasets whose inputs are not images, so that the held-out image corruptions cannot apply.
_NOT_IMAGES = {"mnist1d": "1-D signals (N, 1, 40)", "synthetic": "vectors (N, dim)"}

# Which loss hyperparameters each method takes (the others are ignored): read off the registry.
METHOD_PARAMS: dict[str, tuple[str, ...]] = {name: m.params for name, m in _methods.METHODS.items()}


@dataclass
class TrainConfig:
    """Everything that defines a training run (every field is a ``python -m gca_lab train`` flag).

    Loss defaults follow the authors' CIFAR configs (github.com/nerdslab/gca): ``eps = 0.5``,
    ``n_iters = 10``, ``lam = 0.01``, ``q = 0.6``, ``rho = 0.2``, ``kl_weight = 1``,
    ``w1_weight = 0.2``. Model and optimizer defaults are sized for digits on a CPU.

    ``false_positives = p`` (with ``false_positive_mode``) pairs a fraction ``p`` of the samples with a
    view of another sample (:class:`FalsePositives`); the default 0 changes nothing.
    """

    # data
    dataset: str = "digits"
    data_root: str | None = None
    data_seed: int = 0
    image_size: int | None = None
    max_train: int | None = None
    max_test: int | None = None
    data_options: dict = field(default_factory=dict)
    # model
    model: str = "convnet"
    proj_hidden: int = 256
    proj_out: int = 64
    # method and loss
    method: str = "gca_uot"
    eps: float = 0.5
    n_iters: int = 10
    lam: float = 0.01
    q: float = 0.6
    rho: float = 0.2
    kl_weight: float = 1.0
    w1_weight: float = 0.2
    layout: str = "cross"
    symmetric: bool = True
    loss_options: dict = field(default_factory=dict)
    target_prior: str | None = None
    prior_alpha: float = 0.0
    prior_beta: float = 0.0
    byol_tau: float = 0.99
    # optimization
    batch_size: int = 256
    epochs: int = 20
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 1e-6
    momentum: float = 0.9
    schedule: str = "cosine"
    warmup_epochs: int = 0
    # augmentation
    augment: str = "standard"
    strong: str | None = None
    false_positives: float = 0.0
    false_positive_mode: str = "persistent"
    # runtime
    seed: int = 0
    device: str = "auto"
    mixed_precision: str = "auto"
    checkpoint_dir: str | None = None
    checkpoint_every: int = 0
    # evaluation
    probe: bool = True
    probe_init: bool = False
    corruptions: tuple[str, ...] = ()
    progress: bool = True

    def validate(self) -> "TrainConfig":
        """Check every field; raises ``ValueError`` naming the field and how to fix it."""
        known = _data.available()
        if self.dataset not in known and not self.dataset.startswith("multidomain_"):
            raise ValueError(f"dataset={self.dataset!r} is unknown; choose one of {', '.join(known)} "
                             "or multidomain_<base>")
        check_choice("method", self.method, tuple(METHOD_PARAMS))
        check_choice("model", self.model, tuple(_models.ENCODERS))
        check_choice("layout", self.layout, ("cross", "joint"))
        check_choice("optimizer", self.optimizer, ("adam", "sgd"))
        check_choice("schedule", self.schedule, ("cosine", "constant"))
        check_choice("augment", self.augment, _augment.KINDS)
        check_false_positives(self.false_positives, self.false_positive_mode)
        check_choice("mixed_precision", self.mixed_precision, ("auto", "bf16", "none"))
        if self.strong is not None:
            check_choice("strong", self.strong, tuple(_augment.STRONG))
        for name in self.corruptions:
            check_choice("corruptions", name, tuple(_augment.CORRUPTIONS))
        if self.corruptions and self.dataset in _NOT_IMAGES:
            # checked here, not after training: the corruptions are image operations (B, C, H, W) in [0, 1]
            raise ValueError(f"corruptions={tuple(self.corruptions)} apply to images only; dataset="
                             f"{self.dataset!r} holds {_NOT_IMAGES[self.dataset]}. Use an image dataset "
                             "(digits, fashion_mnist, cifar10, cifar100, svhn) or no corruptions")
        check_int("batch_size", self.batch_size, minimum=2)
        check_int("epochs", self.epochs, minimum=1)
        check_int("warmup_epochs", self.warmup_epochs, minimum=0)
        check_int("checkpoint_every", self.checkpoint_every, minimum=0)
        check_int("proj_out", self.proj_out, minimum=1)
        check_int("proj_hidden", self.proj_hidden, minimum=1)
        check_positive("lr", self.lr)
        check_nonnegative("weight_decay", self.weight_decay)
        check_nonnegative("momentum", self.momentum)
        if self.checkpoint_every and not self.checkpoint_dir:
            raise ValueError("checkpoint_every > 0 needs checkpoint_dir (where to write checkpoints)")
        if self.target_prior is not None:
            check_choice("target_prior", self.target_prior, ("class", "domain"))
            if not _methods.get(self.method).has_plan:
                raise ValueError(f"target_prior needs a method with a transport plan; {self.method} has "
                                 "no target plan")
        check_nonnegative("prior_alpha", self.prior_alpha)
        check_nonnegative("prior_beta", self.prior_beta)
        if not isinstance(self.data_options, dict):
            raise TypeError(f"data_options must be a dict, got {type(self.data_options).__name__}")
        if not isinstance(self.loss_options, dict):
            raise TypeError(f"loss_options must be a dict, got {type(self.loss_options).__name__}")
        build_loss(self)  # validates every loss hyperparameter through the loss's own checks
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict of all fields."""
        out = dataclasses.asdict(self)
        out["corruptions"] = list(self.corruptions)
        return out


def config_hash(payload: dict[str, Any]) -> str:
    """Short stable hash of a JSON-serializable dict (sorted keys), used to key checkpoints and caches."""
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


RESULT_NEUTRAL_FIELDS = ("progress", "device", "data_root", "checkpoint_dir", "checkpoint_every")
"""TrainConfig fields that do not change what a run computes (where it runs, where files are, what it shows)."""


def protocol(config: TrainConfig) -> dict[str, Any]:
    """Everything that determines a run's result apart from the library's code: every field of
    ``config`` with its defaults resolved (less :data:`RESULT_NEUTRAL_FIELDS`), and what its names
    resolve to outside :class:`TrainConfig`: the views' parameters (``describe()`` of
    :class:`gca_lab.augment.TwoViews` / :class:`gca_lab.augment.SignalViews`) and the model's layers
    (``repr`` of :func:`build_model`). Built from :func:`gca_lab.data.input_shape`, so it needs no data.

    Cached experiment results are keyed on it (:func:`gca_lab.experiments.run_hash`): changing a
    default view parameter or an encoder width marks the affected results stale.
    """
    fields = {k: v for k, v in dataclasses.asdict(config).items() if k not in RESULT_NEUTRAL_FIELDS}
    options = {k: v for k, v in config.data_options.items() if k in ("dim", "base")}
    shape = _data.input_shape(config.dataset, config.image_size, **options)
    views = _augment.TwoViews.for_input(config.dataset, shape, config.augment, config.strong).describe()
    return {"config": fields, "views": views, "model": _model_repr(config.model, shape, config.proj_hidden, config.proj_out)}


@functools.lru_cache(maxsize=64)
def _model_repr(model: str, shape: tuple[int, ...], proj_hidden: int, proj_out: int) -> str:
    with torch.device("meta"):  # no weights allocated, no random numbers drawn
        net = build_model(TrainConfig(model=model, proj_hidden=proj_hidden, proj_out=proj_out), shape)
    return repr(net)


def build_loss(config: TrainConfig) -> nn.Module:
    """The loss module of ``config.method`` with the hyperparameters that method takes."""
    kwargs = {k: getattr(config, k) for k in METHOD_PARAMS[config.method]}
    kwargs.update(config.loss_options)
    if _methods.get(config.method).has_plan:  # negatives to gather across processes
        kwargs["gather_distributed"] = _world()[1] > 1
    return _methods.make_loss(config.method, **kwargs)


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


def _world() -> tuple[int, int]:
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


def resolve_device(name: str) -> torch.device:
    """``"auto"`` (the best available device), or a torch device name; under torchrun on CUDA, this
    process's GPU (``LOCAL_RANK``)."""
    if name == "auto":
        from . import device as best_device

        dev = best_device()
    else:
        dev = torch.device(name)
    if dev.type == "cuda" and "LOCAL_RANK" in os.environ:
        dev = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(dev)
    return dev


def load_dataset(config: TrainConfig) -> _data.Dataset:
    """The dataset of a config (``multidomain_<base>`` renders the four-domain set from ``base``)."""
    kwargs: dict[str, Any] = {"seed": config.data_seed, "root": config.data_root}
    if config.image_size is not None:
        kwargs["size"] = config.image_size
    if config.max_train is not None:
        kwargs["max_train"] = config.max_train
    if config.max_test is not None:
        kwargs["max_test"] = config.max_test
    kwargs.update(config.data_options)  # extra dataset options, e.g. style="subtle" for multidomain_<base>
    if config.dataset.startswith("multidomain_"):
        return _data.multidomain(config.dataset[len("multidomain_"):], **kwargs)
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


def lr_factor(step: int, total: int, *, warmup_steps: int = 0, schedule: str = "cosine") -> float:
    """Learning-rate multiplier at optimizer step ``step`` of ``total`` (stepped per batch).

    Linear warmup ``(step + 1) / warmup_steps`` for ``step < warmup_steps``, then ``1`` (``"constant"``)
    or the cosine ``0.5 (1 + cos(pi (step - warmup_steps) / (total - warmup_steps)))``. The authors'
    code (github.com/nerdslab/gca) stepped a per-step cosine once per epoch; here it is stepped per batch.
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


def make_optimizer(config: TrainConfig, params: list[nn.Parameter]) -> torch.optim.Optimizer:
    """``config.optimizer`` over ``params``: Adam, or SGD with Nesterov momentum; ``config.weight_decay``."""
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, nesterov=True,
                           weight_decay=config.weight_decay)


# The metrics of the random-init encoder kept as ``init_<key>`` when ``config.probe_init`` is on.
_INIT_KEYS = ("probe_test_acc", "knn_acc", "lowlabel10_test_acc", "lowlabel100_test_acc", "knn20_test_acc",
              "knn200_test_acc")


def evaluate(model: _models.ContrastiveModel, dataset: _data.Dataset, config: TrainConfig, *,
             raw_input: bool = False, protocol_only: bool = False) -> dict[str, float]:
    """Frozen-probe evaluation of a model (encoder features ``h``), plus geometry metrics.

    - ``probe_test_acc`` / ``probe_val_acc``: linear probe on clean images (C chosen on val).
    - ``knn_acc``: weighted 20-NN on the same features (``T = 0.1``; kept for the committed results).
    - ``lowlabel10_test_acc`` / ``lowlabel100_test_acc``: the probe fitted on 10 / 100 labels per class,
      mean over 5 stratified draws seeded by ``config.seed``; ``knn20_test_acc`` (``k = 20, T = 0.07``) and
      ``knn200_test_acc`` (``k = 200, T = 0.1``): :func:`gca_lab.evaluate.protocol_metrics`. A size larger
      than the smallest training class, or a ``k`` above the training rows, is left out (tiny datasets).
    - with ``raw_input``: the same protocol on the flattened inputs, as ``raw_<key>``
      (:func:`gca_lab.evaluate.raw_input_baseline`; it depends on the data only, so ask for it once).
    - with ``protocol_only``: only the keys above (the random-init evaluation of :func:`train` keeps no
      more); otherwise also:
    - ``alignment`` / ``uniformity`` (Wang & Isola) of the projections of two test views, and
      ``compactness`` (a documented proxy, :func:`gca_lab.geometry.compactness`) of test features.
    - with ``config.strong``: ``strong_probe_test_acc``, the probe with the strong augmentation applied
      to the train, val and test images (the noisy protocol of the authors' code, github.com/nerdslab/gca).
    - for each held-out corruption: ``corrupt/<name>``, the clean-trained probe on corrupted test images.
    - on multi-domain data: ``domain_probe_test_acc``.
    """
    fn = model.features
    feats = {s: _evaluate.embed(fn, getattr(dataset, s).x) for s in ("train", "val", "test")}
    ys = {s: getattr(dataset, s).y.cpu() for s in ("train", "val", "test")}
    probe = _evaluate.linear_probe(feats["train"], ys["train"], feats["val"], ys["val"], feats["test"], ys["test"],
                                  seed=config.seed)
    out = {"probe_test_acc": probe.test_acc, "probe_val_acc": probe.val_acc, "probe_C": probe.best_C}
    out["knn_acc"] = _evaluate.knn_accuracy(feats["train"], ys["train"], feats["test"], ys["test"])
    out.update(_evaluate.protocol_metrics(feats["train"], ys["train"], feats["val"], ys["val"], feats["test"],
                                          ys["test"], seed=config.seed, full_probe=False, skip_infeasible=True))
    if raw_input:
        raw = _evaluate.raw_input_baseline(dataset, seed=config.seed, skip_infeasible=True)
        out.update({f"raw_{k}": v for k, v in raw.items()})
    if protocol_only:
        return out
    out["compactness"] = _geometry.compactness(feats["test"], ys["test"])
    gen = torch.Generator().manual_seed(10_000 + config.seed)
    views = _augment.TwoViews.for_dataset(dataset, config.augment, config.strong)
    x1, x2 = views(dataset.test.x, gen)
    z1, z2 = _evaluate.embed(model, x1), _evaluate.embed(model, x2)
    out["alignment"] = float(_geometry.alignment(z1, z2))
    out["uniformity"] = float(_geometry.uniformity(z1))
    if config.strong is not None:
        strong = {s: _evaluate.embed(fn, _augment.apply_strong(getattr(dataset, s).x, config.strong, generator=gen))
                  for s in ("train", "val", "test")}
        res = _evaluate.linear_probe(strong["train"], ys["train"], strong["val"], ys["val"], strong["test"], ys["test"],
                                     seed=config.seed)
        out["strong_probe_test_acc"] = res.test_acc
    for name in config.corruptions:
        xc = _augment.corrupt(dataset.test.x, name, 3, generator=gen)
        res = _evaluate.linear_probe(feats["train"], ys["train"], feats["val"], ys["val"], _evaluate.embed(fn, xc),
                                     ys["test"], seed=config.seed)
        out[f"corrupt/{name}"] = res.test_acc
    if dataset.test.domain is not None:
        doms = {s: getattr(dataset, s).domain.cpu() for s in ("train", "val", "test")}
        res = _evaluate.linear_probe(feats["train"], doms["train"], feats["val"], doms["val"], feats["test"],
                                     doms["test"], seed=config.seed)
        out["domain_probe_test_acc"] = res.test_acc
    return out


# --------------------------------------------------------------------------------------------------
# Parts of a run: setup, one step per family, the epoch loop, checkpoints. ``train`` composes them.
# --------------------------------------------------------------------------------------------------


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
    false_positives: "FalsePositives | None" = None


def checkpoint_path(config: TrainConfig, rank: int = 0, world: int = 1) -> Path | None:
    """Where rank ``rank`` of a ``world``-process run of ``config`` keeps its checkpoint (None without
    ``checkpoint_dir``). The key hashes every field that changes the trained weights, and ``world``."""
    if not config.checkpoint_dir:
        return None
    key = config_hash({**config.to_dict(), "progress": None, "probe": None, "probe_init": None,
                       "checkpoint_every": None, "world": world})
    return Path(config.checkpoint_dir) / f"ckpt-{key}-rank{rank}.pt"


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
    loss_fn = build_loss(config).to(device)
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
        target_fn = _prior_target_fn(config, dataset)
    return TrainState(
        config=config, device=device, rank=rank, world=world, dataset=dataset, model=model, online=online,
        trained=trained, ema=ema, loss_fn=loss_fn, optimizer=optimizer,
        views=_augment.TwoViews.for_dataset(dataset, config.augment, config.strong), target_fn=target_fn,
        gen_order=torch.Generator().manual_seed(config.seed),
        gen_aug=torch.Generator().manual_seed(config.seed * 1_000_003 + rank + 1),
        use_bf16=device.type == "cuda" and config.mixed_precision in ("auto", "bf16"),
        per_rank=per_rank, steps_per_epoch=steps_per_epoch, total_steps=steps_per_epoch * config.epochs,
        checkpoint_path=checkpoint_path(config, rank, world),
        false_positives=FalsePositives.for_run(config, n_train),
    )


def epoch_batches(
    n: int, batch_size: int, generator: torch.Generator, *, rank: int = 0, world: int = 1, steps: int | None = None
) -> list[Tensor]:
    """One epoch's batch indices: ``perm = randperm(n, generator)`` cut into ``steps`` (default
    ``n // batch_size``; the last partial batch is dropped) global batches of ``batch_size``, of which
    rank ``rank`` of ``world`` takes the ``rank``-th of ``world`` equal slices. Every rank draws the same
    permutation from its own copy of the generator, so the ranks' slices partition each global batch.

    Returns ``steps`` index tensors of shape ``(batch_size // world,)`` on the CPU (shorter if the
    permutation runs out, e.g. ``n < batch_size`` with ``steps = 1``).
    """
    perm = torch.randperm(n, generator=generator)
    per_rank = batch_size // world
    steps = n // batch_size if steps is None else steps
    return [perm[it * batch_size : (it + 1) * batch_size][rank * per_rank : (rank + 1) * per_rank]
            for it in range(steps)]


def optimizer_step(optimizer: torch.optim.Optimizer, loss: Tensor) -> Tensor:
    """``zero_grad`` (to None), ``loss.backward()``, ``optimizer.step()``; returns the detached loss."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def contrastive_step(
    forward: Callable[[Tensor], Tensor],
    loss_fn: Callable[..., Tensor],
    optimizer: torch.optim.Optimizer,
    x1: Tensor,
    x2: Tensor,
    target: Tensor | None = None,
    *,
    bf16: bool = False,
) -> Tensor:
    """One optimizer step of a contrastive loss: ``z = forward(cat([x1, x2]))`` (one forward for both
    views, under bf16 autocast if ``bf16``), ``loss = loss_fn(z[:B], z[B:], target)`` in float32,
    backward, ``optimizer.step()``.

    Args:
        forward: ``(2B, ...) -> (2B, d)`` embeddings (the model, or the identity for free embeddings).
        loss_fn: a :func:`gca_lab.methods.make_loss` module, ``loss_fn(z1, z2, target)``.
        x1, x2: the two views, ``(B, ...)`` each.
        target: optional ``(n, m)`` target plan (:mod:`gca_lab.targets`), passed to the loss.

    Returns:
        The detached scalar loss (no host sync).
    """
    with torch.autocast(x1.device.type, dtype=torch.bfloat16, enabled=bf16):
        z = forward(torch.cat([x1, x2]))  # (2B, d)
    b = x1.shape[0]
    z = z.float()
    return optimizer_step(optimizer, loss_fn(z[:b], z[b:], target))


def byol_step(
    online: nn.Module,
    ema: _models.EMA,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    optimizer: torch.optim.Optimizer,
    x1: Tensor,
    x2: Tensor,
    *,
    tau: float,
    model: nn.Module,
    bf16: bool = False,
) -> Tensor:
    """One BYOL step: ``(z, p) = online(cat([x1, x2]))``, target ``t = ema(cat([x1, x2]))`` (no grad),
    the symmetrized loss ``loss_fn(p_1, t_2) + loss_fn(p_2, t_1)``, an optimizer step, then the EMA
    update of the target towards ``model`` with decay ``tau`` (:func:`byol_tau`).

    Returns:
        The detached scalar loss.
    """
    with torch.autocast(x1.device.type, dtype=torch.bfloat16, enabled=bf16):
        both = torch.cat([x1, x2])  # (2B, ...)
        _, p = online(both)
        with torch.no_grad():
            t = ema(both)
    b = x1.shape[0]
    p, t = p.float(), t.float()
    loss = optimizer_step(optimizer, loss_fn(p[:b], t[b:]) + loss_fn(p[b:], t[:b]))
    ema.update(model, tau)
    return loss


FALSE_POSITIVE_MODES = ("persistent", "fresh")


def check_false_positives(p: Any, mode: Any) -> float:
    """Validate the false-positive option: ``p`` a real number in ``[0, 1)``, ``mode`` one of
    :data:`FALSE_POSITIVE_MODES`. Returns ``p`` as a float; raises ``ValueError`` / ``TypeError``."""
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"false_positives must be a real number in [0, 1), got {p!r} ({type(p).__name__})")
    if not 0.0 <= float(p) < 1.0:  # also rejects NaN
        raise ValueError(f"false_positives must be in [0, 1) (the fraction of pairs made wrong), got {p!r}")
    check_choice("false_positive_mode", mode, FALSE_POSITIVE_MODES)
    return float(p)


@dataclass(frozen=True)
class FalsePositives:
    """Controlled false-positive pairs: the second view of a fraction ``p`` of the samples is replaced by
    a view of another sample, so the loss's positive pair ``(i, i)`` joins two different signals: the
    noisy-view setting of NeurIPS 2024 poster, panel 'Results 2. Noisy setting', with the noise known.

    - ``persistent``: once per run, ``round(p N)`` of the ``N`` training samples are marked (uniformly
      without replacement) and each gets a fixed wrong partner ``partner[n] = (n + 1 + r) mod N``,
      ``r ~ U{0, ..., N - 2}`` (never ``n`` itself; it may share ``n``'s class, as in real noise,
      about one time in ten on ten balanced classes). A marked sample meets the same wrong partner in
      every epoch, so each batch holds a fraction ``p`` of them on average. The map comes from a
      generator seeded by ``config.seed`` alone, the same on every rank, and is drawn again
      identically on resume (nothing to checkpoint).
    - ``fresh``: at every step exactly ``round(p B)`` positions of the batch's ``B`` rows are drawn,
      each with a partner drawn as above, from the run's augmentation generator (checkpointed, so a
      resumed run stays bit-identical).

    Indices are drawn on the CPU (the batch indices live there), so no step waits on the device.
    ``p = 0`` builds nothing and draws nothing: the run is bit-identical to one without the option.

    Attributes:
        p: fraction in ``(0, 1)``; mode: ``"persistent"`` or ``"fresh"``; n_train: ``N``.
        marked: ``(N,)`` bool, the samples with a wrong partner (persistent; None for fresh).
        partner: ``(N,)`` long, each sample's wrong partner (persistent; None for fresh).
    """

    p: float
    mode: str
    n_train: int
    marked: Tensor | None = None
    partner: Tensor | None = None

    @classmethod
    def for_run(cls, config: "TrainConfig", n_train: int) -> "FalsePositives | None":
        """The false positives of ``config`` on ``n_train`` samples, or None when ``false_positives = 0``."""
        p = check_false_positives(config.false_positives, config.false_positive_mode)
        if p == 0.0:
            return None
        if n_train < 2:
            raise ValueError(f"false_positives={p} needs at least 2 training samples, got {n_train}")
        if config.false_positive_mode == "fresh":
            return cls(p, "fresh", n_train)
        # Its own stream, so gen_order / gen_aug run as without false positives (same batch order).
        gen = torch.Generator().manual_seed(config.seed * 1_000_003 + 999_983)
        marked = torch.zeros(n_train, dtype=torch.bool)
        marked[torch.randperm(n_train, generator=gen)[: round(p * n_train)]] = True
        partner = _other_rows(torch.arange(n_train), n_train, gen)
        return cls(p, "persistent", n_train, marked, partner)

    def draw(self, rows: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Which of the batch's ``rows`` (``(B,)`` training indices, CPU) get a wrong partner.

        Returns:
            ``(pos, partner)``: ``(k,)`` positions into ``rows`` and ``(k,)`` the partners' training
            indices (CPU, long). ``fresh`` draws from ``generator``; ``persistent`` draws nothing.
        """
        rows = rows.cpu()
        if self.mode == "persistent":
            assert self.marked is not None and self.partner is not None
            pos = self.marked[rows].nonzero().flatten()  # a CPU tensor: no device sync
            return pos, self.partner[rows[pos]]
        pos = torch.randperm(rows.shape[0], generator=generator)[: round(self.p * rows.shape[0])]
        return pos, _other_rows(rows[pos], self.n_train, generator)

    def views(self, views: Callable[..., tuple[Tensor, Tensor]], x: Tensor, rows: Tensor,
              generator: torch.Generator, *, drawn: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """The two views of ``x[rows]`` with the false positives in the second: ``x1 = view_1(x[rows])``
        and ``x2[i] = view_2(x[partner_i])`` at the drawn positions, ``view_2(x[rows_i])`` elsewhere.

        One pass of ``views`` over ``cat([x[rows], x[partners]])`` (``(B + k, ...)``); the partners'
        first views are discarded. ``drawn``: a ``(pos, partner)`` from :meth:`draw` to use instead
        of drawing (a caller that also needs the positions). Returns ``(x1, x2)``, ``(B, ...)`` each,
        on ``x``'s device.
        """
        pos, partner = self.draw(rows, generator) if drawn is None else drawn
        b = rows.shape[0]
        both = torch.cat([rows.cpu(), partner]).to(x.device)
        x1, x2 = views(x[both], generator)  # (B + k, ...) each
        return x1[:b], x2[:b].index_copy(0, pos.to(x.device), x2[b:])


def _other_rows(rows: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """For each row index ``r`` a uniform index in ``{0, ..., n - 1} \\ {r}``: ``(r + 1 + U{0..n-2}) mod n``."""
    return (rows + 1 + torch.randint(n - 1, rows.shape, generator=generator)) % n


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
            train = run.dataset.train
            dom = None if train.domain is None else gather_labels(train.domain[idx], run.world)
            target = run.target_fn(gather_labels(train.y[idx], run.world), dom)
        loss = contrastive_step(lambda both: run.trained(both)[0], run.loss_fn, run.optimizer, x1, x2, target,
                                bf16=run.use_bf16)
    run.step += 1
    return loss


def sync_buffers(module: nn.Module, world: int) -> None:
    """Make every rank hold rank 0's buffers (BatchNorm running statistics are per-rank under DDP)."""
    if world == 1:
        return
    import torch.distributed as dist

    for buf in module.buffers():
        dist.broadcast(buf, 0)


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


def save_checkpoint(run: TrainState, path: Path) -> None:
    """Write (atomically) everything :func:`load_checkpoint` needs to continue ``run`` bit-identically:
    the online network, optimizer, both generator states, the EMA target, history, epoch and step."""
    atomic_save({
        "online": run.online.state_dict(), "optimizer": run.optimizer.state_dict(),
        "gen_order": run.gen_order.get_state(), "gen_aug": run.gen_aug.get_state(),
        "ema": run.ema.state_dict() if run.ema is not None else None,
        "history": run.history, "epoch": run.epoch, "step": run.step, "config": run.config.to_dict(),
    }, path)


def load_checkpoint(run: TrainState, path: Path) -> None:
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
            ``"domain"``: :func:`gca_lab.targets.domain_prior` with ``prior_alpha`` / ``prior_beta``), or
            the loss's positive pairs when that is ``None``.

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
            metrics = {f"init_{k}": v for k, v in evaluate(run.model, run.dataset, config, protocol_only=True).items()
                       if k in _INIT_KEYS}
        if resume and run.checkpoint_path is not None and run.checkpoint_path.exists():
            load_checkpoint(run, run.checkpoint_path)
        fit(run, on_epoch_end)
        if config.probe and run.rank == 0:
            metrics.update(evaluate(run.model, run.dataset, config))
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


def _prior_target_fn(config: TrainConfig, dataset: _data.Dataset) -> Callable[[Tensor, Tensor | None], Tensor]:
    from . import targets as _targets

    layout = build_loss(config).layout  # the loss's own: simclr and convention="reference" fix "joint"
    if config.target_prior == "domain" and dataset.train.domain is None:
        raise ValueError(f"target_prior='domain' needs a dataset with domain labels (multidomain_<base>), "
                         f"got {config.dataset!r}")

    def target_fn(labels: Tensor, domains: Tensor | None) -> Tensor:
        if config.target_prior == "class":
            return _targets.class_prior(labels, layout=layout)
        assert domains is not None
        return _targets.domain_prior(domains, config.prior_alpha, config.prior_beta, layout=layout)

    return target_fn


def gather_labels(labels: Tensor, world: int) -> Tensor:
    """Labels of the global batch, rank-major: ``cat`` of every rank's ``labels`` (all-gather), so that a
    target plan built from them lines up with the loss's gathered embeddings. Identity for ``world == 1``."""
    if world == 1:
        return labels
    import torch.distributed as dist

    parts = [torch.empty_like(labels) for _ in range(world)]
    dist.all_gather(parts, labels.contiguous())
    return torch.cat(parts)
