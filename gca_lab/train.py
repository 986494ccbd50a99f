"""One training loop for every method: contrastive (any :func:`gca_lab.losses.make_loss` name) and BYOL.

``train(TrainConfig(...)) -> TrainResult``. The same code runs on a laptop CPU (digits in seconds),
on one GPU (bf16 autocast, channels_last, data kept on the device) and on several GPUs under
``torchrun`` (DDP; the training set is sharded per rank from one shared permutation, and the
losses all-gather embeddings so that negatives and transport span every GPU).

Reproducibility: all randomness of a run comes from ``config.seed`` through two explicit
``torch.Generator`` objects (batch order, shared by all ranks; augmentation, one per rank) and
the model's seeded initialization. Checkpoints hold both generator states, the model, the
optimizer and the step, and are written atomically; a resumed CPU run reaches bit-identical
weights.

Evaluation is a *frozen* linear probe (:mod:`gca_lab.metrics`): never the reference code's
fine-tuned "linear" evaluation with test-set model selection (paper.md §7, items 25-26).
"""

from __future__ import annotations

import dataclasses
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
from . import losses as _losses
from . import metrics as _metrics
from . import models as _models
from ._validate import check_choice, check_int, check_nonnegative, check_positive

__all__ = ["TrainConfig", "TrainResult", "train", "build_loss", "evaluate", "config_hash", "METHOD_PARAMS"]

# Which loss hyperparameters each method takes (the others are ignored, and say so in the config).
METHOD_PARAMS: dict[str, tuple[str, ...]] = {
    "ince": ("eps", "layout", "symmetric"),
    "simclr": ("eps",),
    "rince": ("eps", "layout", "symmetric", "lam", "q"),
    "gca_ince": ("eps", "layout", "symmetric", "n_iters"),
    "gca_rince": ("eps", "layout", "symmetric", "n_iters", "lam", "q"),
    "uot": ("eps", "layout", "symmetric", "lam", "q", "rho", "kl_weight", "w1_weight"),
    "gca_uot": ("eps", "layout", "symmetric", "n_iters", "lam", "q", "rho", "kl_weight", "w1_weight"),
    "iot": ("eps", "layout", "symmetric", "n_iters"),
    "iot_uni": ("eps", "layout", "symmetric", "n_iters"),
    "byol": (),
}


@dataclass
class TrainConfig:
    """Everything that defines a training run (every field is a ``python -m gca_lab train`` flag).

    Loss defaults follow the paper's reference configs (paper.md §6): ``eps = 0.5``,
    ``n_iters = 10``, ``lam = 0.01``, ``q = 0.6``, ``rho = 0.2``, ``kl_weight = 1``,
    ``w1_weight = 0.2``. Model and optimizer defaults are sized for digits on a CPU.
    """

    # data
    dataset: str = "digits"
    data_root: str = "data"
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
        check_choice("mixed_precision", self.mixed_precision, ("auto", "bf16", "none"))
        if self.strong is not None:
            check_choice("strong", self.strong, tuple(_augment.STRONG))
        for name in self.corruptions:
            check_choice("corruptions", name, tuple(_augment.CORRUPTIONS))
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
            if self.method == "byol":
                raise ValueError("target_prior needs a contrastive method; byol has no target plan")
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


def build_loss(config: TrainConfig) -> nn.Module:
    """The loss module of ``config.method`` with the hyperparameters that method takes."""
    kwargs = {k: getattr(config, k) for k in METHOD_PARAMS[config.method]}
    kwargs.update(config.loss_options)
    if config.method != "byol":
        kwargs["gather_distributed"] = _world()[1] > 1
    return _losses.make_loss(config.method, **kwargs)


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


def _init_distributed(device: torch.device) -> bool:
    """Join the torchrun process group if launched by torchrun; True if we created it."""
    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend)
    return True


def _resolve_device(name: str) -> torch.device:
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


def _lr_factor(config: TrainConfig, step: int, total: int, steps_per_epoch: int) -> float:
    # Per-step schedule (the reference stepped a per-step cosine once per epoch; paper.md §7 item 19).
    warm = config.warmup_epochs * steps_per_epoch
    if step < warm:
        return (step + 1) / warm
    if config.schedule == "constant":
        return 1.0
    progress = (step - warm) / max(1, total - warm)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def evaluate(model: _models.ContrastiveModel, dataset: _data.Dataset, config: TrainConfig) -> dict[str, float]:
    """Frozen-probe evaluation of a model (encoder features ``h``), plus geometry metrics.

    - ``probe_test_acc`` / ``probe_val_acc``: linear probe on clean images (C chosen on val).
    - ``knn_acc``: weighted 20-NN on the same features.
    - ``alignment`` / ``uniformity`` (Wang & Isola) of the projections of two test views, and
      ``compactness`` (a documented proxy, :func:`gca_lab.metrics.compactness`) of test features.
    - with ``config.strong``: ``strong_probe_test_acc``, the probe with the strong augmentation applied
      to the train, val and test images (the paper's noisy protocol, paper.md §5.2).
    - for each held-out corruption: ``corrupt/<name>``, the clean-trained probe on corrupted test images.
    - on multi-domain data: ``domain_probe_test_acc``.
    """
    fn = model.features
    feats = {s: _metrics.embed(fn, getattr(dataset, s).x) for s in ("train", "val", "test")}
    ys = {s: getattr(dataset, s).y.cpu() for s in ("train", "val", "test")}
    probe = _metrics.linear_probe(feats["train"], ys["train"], feats["val"], ys["val"], feats["test"], ys["test"],
                                  seed=config.seed)
    out = {"probe_test_acc": probe.test_acc, "probe_val_acc": probe.val_acc, "probe_C": probe.best_C}
    out["knn_acc"] = _metrics.knn_accuracy(feats["train"], ys["train"], feats["test"], ys["test"])
    out["compactness"] = _metrics.compactness(feats["test"], ys["test"])
    gen = torch.Generator().manual_seed(10_000 + config.seed)
    views = _augment.TwoViews.for_dataset(dataset, config.augment, config.strong)
    x1, x2 = views(dataset.test.x, gen)
    z1, z2 = _metrics.embed(model, x1), _metrics.embed(model, x2)
    out["alignment"] = float(_metrics.alignment(z1, z2))
    out["uniformity"] = float(_metrics.uniformity(z1))
    if config.strong is not None:
        strong = {s: _metrics.embed(fn, _augment.apply_strong(getattr(dataset, s).x, config.strong, generator=gen))
                  for s in ("train", "val", "test")}
        res = _metrics.linear_probe(strong["train"], ys["train"], strong["val"], ys["val"], strong["test"], ys["test"],
                                    seed=config.seed)
        out["strong_probe_test_acc"] = res.test_acc
    for name in config.corruptions:
        xc = _augment.corrupt(dataset.test.x, name, 3, generator=gen)
        res = _metrics.linear_probe(feats["train"], ys["train"], feats["val"], ys["val"], _metrics.embed(fn, xc),
                                    ys["test"], seed=config.seed)
        out[f"corrupt/{name}"] = res.test_acc
    if dataset.test.domain is not None:
        doms = {s: getattr(dataset, s).domain.cpu() for s in ("train", "val", "test")}
        res = _metrics.linear_probe(feats["train"], doms["train"], feats["val"], doms["val"], feats["test"],
                                    doms["test"], seed=config.seed)
        out["domain_probe_test_acc"] = res.test_acc
    return out


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
    from tqdm.auto import tqdm

    config.validate()
    start = time.perf_counter()
    device = _resolve_device(config.device)
    created_group = _init_distributed(device)
    rank, world = _world()
    try:
        dataset = load_dataset(config).to(device)
        n_train = len(dataset.train)
        per_rank = config.batch_size // world
        if config.batch_size % world:
            raise ValueError(f"batch_size={config.batch_size} must be divisible by the number of processes ({world})")
        if per_rank * world > n_train:
            raise ValueError(f"batch_size={config.batch_size} is larger than the training set ({n_train} samples "
                             f"of {config.dataset}); lower --batch-size or raise --max-train")
        steps_per_epoch = n_train // config.batch_size
        total_steps = steps_per_epoch * config.epochs

        torch.manual_seed(config.seed)
        model = build_model(config, dataset.image_shape).to(device)
        use_bf16 = device.type == "cuda" and config.mixed_precision in ("auto", "bf16")
        if device.type == "cuda" and len(dataset.image_shape) == 3:
            model = model.to(memory_format=torch.channels_last)
        init_metrics: dict[str, float] = {}
        if config.probe and config.probe_init and rank == 0:
            init_metrics = {f"init_{k}": v for k, v in evaluate(model, dataset, config).items()
                            if k in ("probe_test_acc", "knn_acc")}
        is_byol = config.method == "byol"
        predictor = _models.Predictor(config.proj_out, config.proj_hidden).to(device) if is_byol else None
        loss_fn = build_loss(config).to(device)
        online = _Online(model, predictor)
        ema = _models.EMA(model, config.byol_tau) if is_byol else None
        trained: nn.Module = online
        if world > 1:
            if device.type == "cuda":  # batch statistics over the global batch, as one big-batch process
                online = nn.SyncBatchNorm.convert_sync_batchnorm(online)
                model = online.model
            trained = nn.parallel.DistributedDataParallel(online, device_ids=[device.index] if device.type == "cuda" else None)
        params = [p for p in online.parameters() if p.requires_grad]
        if config.optimizer == "adam":
            opt: torch.optim.Optimizer = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
        else:
            opt = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, nesterov=True,
                                  weight_decay=config.weight_decay)
        views = _augment.TwoViews.for_dataset(dataset, config.augment, config.strong)
        if target_fn is None and config.target_prior is not None:
            target_fn = _prior_target_fn(config, dataset)
        gen_order = torch.Generator().manual_seed(config.seed)
        gen_aug = torch.Generator().manual_seed(config.seed * 1_000_003 + rank + 1)
        history: dict[str, list[float]] = {"loss": [], "step_loss": [], "epoch_time": []}
        first_epoch, step = 0, 0

        ckpt_dir = Path(config.checkpoint_dir) if config.checkpoint_dir else None
        key = config_hash({**config.to_dict(), "progress": None, "probe": None, "probe_init": None,
                           "checkpoint_every": None, "world": world})
        ckpt_path = ckpt_dir / f"ckpt-{key}-rank{rank}.pt" if ckpt_dir else None
        if ckpt_path is not None and resume and ckpt_path.exists():
            state = torch.load(ckpt_path, map_location=device, weights_only=False)
            online.load_state_dict(state["online"])
            opt.load_state_dict(state["optimizer"])
            gen_order.set_state(state["gen_order"])
            gen_aug.set_state(state["gen_aug"])
            if ema is not None:
                ema.load_state_dict(state["ema"])
            history = state["history"]
            first_epoch, step = state["epoch"], state["step"]

        epochs = tqdm(range(first_epoch, config.epochs), desc=f"{config.method} on {config.dataset}",
                      disable=not config.progress or rank != 0, initial=first_epoch, total=config.epochs)
        for epoch in epochs:
            t0 = time.perf_counter()
            online.train()
            perm = torch.randperm(n_train, generator=gen_order)
            step_losses: list[Tensor] = []
            for it in range(steps_per_epoch):
                idx = perm[it * config.batch_size : (it + 1) * config.batch_size][rank * per_rank : (rank + 1) * per_rank]
                idx = idx.to(device)
                x = dataset.train.x[idx]
                for group in opt.param_groups:
                    group["lr"] = config.lr * _lr_factor(config, step, total_steps, steps_per_epoch)
                x1, x2 = views(x, gen_aug)
                if device.type == "cuda" and x1.ndim == 4:
                    x1 = x1.contiguous(memory_format=torch.channels_last)
                    x2 = x2.contiguous(memory_format=torch.channels_last)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
                    both = torch.cat([x1, x2])  # (2B, ...): one forward for both views
                    z, p = trained(both)
                    if ema is not None:
                        with torch.no_grad():
                            t = ema(both)
                b = x1.shape[0]
                if is_byol:
                    p, t = p.float(), t.float()
                    loss = loss_fn(p[:b], t[b:]) + loss_fn(p[b:], t[:b])
                else:
                    z = z.float()
                    target = None
                    if target_fn is not None:
                        dom = dataset.train.domain[idx] if dataset.train.domain is not None else None
                        target = target_fn(_gather_labels(dataset.train.y[idx], world),
                                           None if dom is None else _gather_labels(dom, world))
                    loss = loss_fn(z[:b], z[b:], target)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if ema is not None:
                    tau = 1 - (1 - config.byol_tau) * (math.cos(math.pi * step / max(1, total_steps)) + 1) / 2
                    ema.update(model, tau)
                step_losses.append(loss.detach())
                step += 1
            if world > 1:  # BN running statistics are per-rank; make every rank hold rank 0's
                import torch.distributed as dist

                for buf in online.buffers():
                    dist.broadcast(buf, 0)
            losses = torch.stack(step_losses).float().cpu()  # one host sync per epoch
            if not bool(torch.isfinite(losses).all()):
                raise FloatingPointError(
                    f"loss became non-finite in epoch {epoch + 1} of {config.method}; lower --lr "
                    f"(now {config.lr}) or raise --eps (now {config.eps})")
            history["step_loss"] += losses.tolist()
            history["loss"].append(float(losses.mean()))
            history["epoch_time"].append(time.perf_counter() - t0)
            epochs.set_postfix(loss=f"{history['loss'][-1]:.4f}")
            if ckpt_path is not None and config.checkpoint_every and (epoch + 1) % config.checkpoint_every == 0:
                ckpt_dir.mkdir(parents=True, exist_ok=True)
                _atomic_save({
                    "online": online.state_dict(), "optimizer": opt.state_dict(),
                    "gen_order": gen_order.get_state(), "gen_aug": gen_aug.get_state(),
                    "ema": ema.state_dict() if ema is not None else None,
                    "history": history, "epoch": epoch + 1, "step": step, "config": config.to_dict(),
                }, ckpt_path)
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1, {"history": history, "model": model, "step": step})

        metrics: dict[str, float] = dict(init_metrics)
        if config.probe and rank == 0:
            metrics.update(evaluate(model, dataset, config))
        return TrainResult(
            config=config.to_dict(), history=history, metrics=metrics, seed=config.seed, versions=versions(),
            device=str(device), wall_time=time.perf_counter() - start, model=model,
        )
    finally:
        if created_group:
            import torch.distributed as dist

            dist.destroy_process_group()


class _Online(nn.Module):
    """The trained network as one module, so that DDP sees every forward: ``x -> (z, p or None)``."""

    def __init__(self, model: nn.Module, predictor: nn.Module | None) -> None:
        super().__init__()
        self.model = model
        self.predictor = predictor

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        z = self.model(x)
        return z, (self.predictor(z) if self.predictor is not None else None)


def _prior_target_fn(config: TrainConfig, dataset: _data.Dataset) -> Callable[[Tensor, Tensor | None], Tensor]:
    from . import targets as _targets

    layout = "joint" if config.method == "simclr" else config.layout
    if config.target_prior == "domain" and dataset.train.domain is None:
        raise ValueError(f"target_prior='domain' needs a dataset with domain labels (multidomain_<base>), "
                         f"got {config.dataset!r}")

    def target_fn(labels: Tensor, domains: Tensor | None) -> Tensor:
        if config.target_prior == "class":
            return _targets.class_prior(labels, layout=layout)
        assert domains is not None
        return _targets.domain_prior(domains, config.prior_alpha, config.prior_beta, layout=layout)

    return target_fn


def _gather_labels(labels: Tensor, world: int) -> Tensor:
    if world == 1:
        return labels
    import torch.distributed as dist

    parts = [torch.empty_like(labels) for _ in range(world)]
    dist.all_gather(parts, labels.contiguous())
    return torch.cat(parts)
