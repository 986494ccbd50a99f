"""The configuration of a training run, what of it changes a result, and the one route from it to a loss.

- :class:`TrainConfig`: every knob of a run (each is a ``python -m gca_lab train`` flag), validated
  before anything is built.
- :data:`RESULT_NEUTRAL_FIELDS` / :data:`EVALUATION_FIELDS`: the one list of fields that do not change
  what a run computes, and those that change only its evaluation; :func:`result_fields` (the protocol
  hash, :func:`gca_lab.train.protocol`) and :func:`weights_key` (the checkpoint key) both read them.
- The loss route: each loss knob has one home, a named field (``eps``, ``n_iters``, ``rho`` ...) or a
  ``loss_options`` key that no field names (:func:`loss_kwargs` rejects a conflict or an unknown key,
  naming it); :func:`resolved_loss_options` is what the loss will use, defaults included (hashed);
  :func:`build_loss` builds it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from .. import augment as _augment
from .. import datasets as _datasets
from .. import methods as _methods
from .. import models as _models
from .._validate import check_choice, check_int, check_nonnegative, check_positive
from ..false_positives import check_false_positives
from ..targets import check_prior_masses

__all__ = [
    "TrainConfig", "METHOD_PARAMS", "LOSS_FIELDS", "RESULT_NEUTRAL_FIELDS", "EVALUATION_FIELDS", "HASHED_IF_SET",
    "PROBE_SOLVERS", "TARGET_PRIORS",
    "LOSS_NEUTRAL_OPTIONS", "config_hash", "result_fields", "weights_key", "loss_kwargs",
    "resolved_loss_options", "build_loss",
]

#: Which loss hyperparameters each method takes (the others are ignored): read off the registry.
METHOD_PARAMS: dict[str, tuple[str, ...]] = {name: m.params for name, m in _methods.METHODS.items()}

#: The TrainConfig fields that are loss knobs (the union of every method's ``params``).
LOSS_FIELDS: tuple[str, ...] = tuple(dict.fromkeys(p for params in METHOD_PARAMS.values() for p in params))

RESULT_NEUTRAL_FIELDS = ("progress", "device", "data_root", "checkpoint_dir", "checkpoint_every")
"""TrainConfig fields that do not change what a run computes (where it runs, where files are, what it shows)."""

EVALUATION_FIELDS = ("probe", "probe_init", "probe_solver", "eval_rows", "corruptions")
"""TrainConfig fields that change only the evaluation after training, never the trained weights."""

HASHED_IF_SET = {"probe_solver": "sklearn", "eval_rows": None, "prior_same_mass": 0.0, "prior_other_mass": 0.0}
"""Fields added after results were committed -> their default: :func:`result_fields` leaves such a field out
at its default, so every committed run keeps its hash, and hashes it once it is set to anything else."""

TARGET_PRIORS = ("class", "domain", "domain_mass")
"""The priors a run's target plan can carry (:func:`gca_lab.train.components.prior_target_fn`): the class
prior, the domain prior by weights (``prior_alpha`` / ``prior_beta``) or by row-mass fractions
(``prior_same_mass`` / ``prior_other_mass``)."""

PROBE_SOLVERS = ("sklearn", "torch")
"""The frozen linear probe's solver: scikit-learn (:func:`gca_lab.evaluate.linear_probe`, the committed
results) or torch (:func:`gca_lab.probe.torch_linear_probe`, same objective, its cost flat in the test size)."""

LOSS_NEUTRAL_OPTIONS = ("gather_distributed", "check_inputs", "backend", "tile")
"""Loss keywords that change how a loss is computed (processes, input checks, memory layout), not its value:
left out of :func:`resolved_loss_options`; ``gather_distributed`` is set by the run, never by a config."""


@dataclass
class TrainConfig:
    """Everything that defines a training run (every field is a ``python -m gca_lab train`` flag).

    Loss defaults follow the authors' CIFAR configs (docs/reference_implementation.md, items 10 and 12):
    ``eps = 0.5``, ``n_iters = 10`` (Sinkhorn rounds), ``lam = 0.01``, ``q = 0.6``,
    ``rho = 0.2``, ``kl_weight = 1``, ``w1_weight = 0.2``. Any other loss keyword goes in
    ``loss_options`` (e.g. ``{"convention": "gca"}``); a key that a field names is an error.
    Model and optimizer defaults are sized for digits on a CPU.

    ``target_prior`` (:data:`TARGET_PRIORS`) puts a prior in the target plan: ``"domain"`` weighs the
    pairs by ``prior_alpha`` / ``prior_beta`` (:func:`gca_lab.targets.domain_prior`), ``"domain_mass"``
    gives each row the fractions ``prior_same_mass`` / ``prior_other_mass`` of its mass
    (:func:`gca_lab.targets.domain_prior_mass`, the same at every batch size); the fractions are left
    out of the run hash at 0 (:data:`HASHED_IF_SET`).

    ``false_positives = p`` (with ``false_positive_mode``) pairs a fraction ``p`` of the samples with a
    view of another sample (:class:`gca_lab.false_positives.FalsePositives`); the default 0 changes nothing.

    ``probe_solver`` (:data:`PROBE_SOLVERS`) and ``eval_rows`` (the val and test rows of every metric but the
    full probe; ``None``: all) change only the evaluation (:func:`gca_lab.train.evaluate_run`); at their
    defaults they are left out of the run hash (:data:`HASHED_IF_SET`).
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
    prior_same_mass: float = 0.0
    prior_other_mass: float = 0.0
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
    probe_solver: str = "sklearn"
    eval_rows: int | None = None
    corruptions: tuple[str, ...] = ()
    progress: bool = True

    def validate(self) -> "TrainConfig":
        """Check every field; raises ``ValueError`` / ``TypeError`` naming the field and how to fix it."""
        _check_data_and_views(self)
        _check_method_and_loss(self)
        _check_optimization(self)
        check_choice("probe_solver", self.probe_solver, PROBE_SOLVERS)
        if self.eval_rows is not None:
            check_int("eval_rows", self.eval_rows, minimum=1)
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict of all fields."""
        out = dataclasses.asdict(self)
        out["corruptions"] = list(self.corruptions)
        return out


def _check_data_and_views(config: TrainConfig) -> None:
    base, _ = _datasets.parse(config.dataset, config.data_options if isinstance(config.data_options, dict) else {})
    check_choice("model", config.model, tuple(_models.ENCODERS))
    check_choice("augment", config.augment, _augment.KINDS)
    check_false_positives(config.false_positives, config.false_positive_mode)
    if config.strong is not None:
        check_choice("strong", config.strong, tuple(_augment.STRONG))
    for name in config.corruptions:
        check_choice("corruptions", name, tuple(_augment.CORRUPTIONS))
    if config.corruptions and base.kind != "images":
        # checked here, not after training: the corruptions are image operations (B, C, H, W) in [0, 1]
        images = ", ".join(n for n, d in _datasets.REGISTRY.items() if d.kind == "images")
        raise ValueError(f"corruptions={tuple(config.corruptions)} apply to images only; dataset="
                         f"{config.dataset!r} holds {base.kind} {base.shape}. Use an image dataset "
                         f"({images}) or no corruptions")
    if not isinstance(config.data_options, dict):
        raise TypeError(f"data_options must be a dict, got {type(config.data_options).__name__}")


def _check_method_and_loss(config: TrainConfig) -> None:
    check_choice("method", config.method, tuple(METHOD_PARAMS))
    check_choice("layout", config.layout, ("cross", "joint"))
    if config.target_prior is not None:
        check_choice("target_prior", config.target_prior, TARGET_PRIORS)
        if not _methods.get(config.method).has_plan:
            raise ValueError(f"target_prior needs a method with a transport plan; {config.method} has "
                             "no target plan")
    _check_prior_weights(config)


def _check_prior_weights(config: TrainConfig) -> None:
    """Each domain prior reads its own pair of fields; the other pair must stay 0 (one home per knob)."""
    check_nonnegative("prior_alpha", config.prior_alpha)
    check_nonnegative("prior_beta", config.prior_beta)
    check_prior_masses(config.prior_same_mass, config.prior_other_mass, names=("prior_same_mass", "prior_other_mass"))
    if config.target_prior == "domain_mass":
        for name in ("prior_alpha", "prior_beta"):
            if getattr(config, name) != 0.0:
                raise ValueError(f"{name}={getattr(config, name)!r} applies to target_prior='domain'; "
                                 f"target_prior='domain_mass' reads prior_same_mass and prior_other_mass")
        return
    for name in ("prior_same_mass", "prior_other_mass"):
        if getattr(config, name) != 0.0:
            raise ValueError(f"{name}={getattr(config, name)!r} applies to target_prior='domain_mass', got "
                             f"target_prior={config.target_prior!r}")
    # every loss hyperparameter through the loss's own checks; no process group is queried
    _methods.make_loss(config.method, **loss_kwargs(config))


def _check_optimization(config: TrainConfig) -> None:
    check_choice("optimizer", config.optimizer, ("adam", "sgd"))
    check_choice("schedule", config.schedule, ("cosine", "constant"))
    check_choice("mixed_precision", config.mixed_precision, ("auto", "bf16", "none"))
    check_int("batch_size", config.batch_size, minimum=2)
    check_int("epochs", config.epochs, minimum=1)
    check_int("warmup_epochs", config.warmup_epochs, minimum=0)
    check_int("checkpoint_every", config.checkpoint_every, minimum=0)
    check_int("proj_out", config.proj_out, minimum=1)
    check_int("proj_hidden", config.proj_hidden, minimum=1)
    check_positive("lr", config.lr)
    check_nonnegative("weight_decay", config.weight_decay)
    check_nonnegative("momentum", config.momentum)
    if config.checkpoint_every and not config.checkpoint_dir:
        raise ValueError("checkpoint_every > 0 needs checkpoint_dir (where to write checkpoints)")


def config_hash(payload: dict[str, Any]) -> str:
    """Short stable hash of a JSON-serializable dict (sorted keys), used to key checkpoints and caches."""
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def result_fields(config: TrainConfig) -> dict[str, Any]:
    """Every field of ``config`` that can change a run's result: all but :data:`RESULT_NEUTRAL_FIELDS`, and
    those of :data:`HASHED_IF_SET` at their default."""
    return {k: v for k, v in dataclasses.asdict(config).items()
            if k not in RESULT_NEUTRAL_FIELDS and not (k in HASHED_IF_SET and v == HASHED_IF_SET[k])}


def weights_key(config: TrainConfig, world: int = 1) -> str:
    """The checkpoint key of a ``world``-process run of ``config``: :func:`config_hash` of what changes the
    trained weights (:func:`result_fields` less :data:`EVALUATION_FIELDS`, the resolved loss options) and
    ``world``."""
    fields = {k: v for k, v in result_fields(config).items() if k not in EVALUATION_FIELDS}
    return config_hash({"config": fields, "loss": resolved_loss_options(config), "world": world})


def loss_kwargs(config: TrainConfig) -> dict[str, Any]:
    """The keywords ``config`` gives its method's loss: the named fields the method takes
    (:data:`METHOD_PARAMS`), then ``config.loss_options``.

    Raises ``ValueError`` naming the key when ``loss_options`` sets a TrainConfig field (a knob has one
    home: ``{"layout": "joint"}`` is ``layout="joint"``), sets ``gather_distributed`` (the run decides it),
    or is not a keyword of the method's loss (the message lists the ones it takes);
    ``TypeError`` when ``loss_options`` is not a dict.
    """
    options = config.loss_options
    if not isinstance(options, dict):
        raise TypeError(f"loss_options must be a dict, got {type(options).__name__}")
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    for key in options:
        if key in fields:
            raise ValueError(f"loss_options key {key!r} conflicts with the TrainConfig field {key!r}: set the "
                             f"field instead (--{key.replace('_', '-')}), not loss_options[{key!r}]")
        if key == "gather_distributed":
            raise ValueError("loss_options key 'gather_distributed' is set by the run (on when it has more "
                             "than one process), not by a config")
    taken = _loss_signature(config.method)
    unknown = sorted(set(options) - set(taken))
    if unknown:
        others = sorted(set(taken) - fields - set(LOSS_NEUTRAL_OPTIONS))
        raise ValueError(f"loss_options key {unknown[0]!r} is not an option of the {config.method} loss; "
                         f"its options: {', '.join(others) or 'none'}")
    return {**{k: getattr(config, k) for k in METHOD_PARAMS[config.method]}, **options}


def _loss_signature(method: str) -> dict[str, Any]:
    """Keyword -> default of every ``__init__`` along the method's loss class MRO (subclass first: the
    defaults a caller gets; a keyword without a default maps to ``inspect.Parameter.empty``)."""
    out: dict[str, Any] = {}
    for cls in _methods.get(method).loss.__mro__:
        if cls is nn.Module or "__init__" not in vars(cls):
            continue
        for p in inspect.signature(vars(cls)["__init__"]).parameters.values():
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                out.setdefault(p.name, p.default)
    return out


def resolved_loss_options(config: TrainConfig) -> dict[str, Any]:
    """What the loss of ``config`` is built with, defaults included: the defaults of its class's keywords
    (:func:`_loss_signature`) updated with :func:`loss_kwargs`, less :data:`LOSS_NEUTRAL_OPTIONS`.

    Hashed into the protocol (:func:`gca_lab.train.protocol`), so changing a loss default (the
    convention, say) marks every cached result that relied on it stale.
    """
    resolved = {**_loss_signature(config.method), **loss_kwargs(config)}
    return {k: v for k, v in sorted(resolved.items())
            if k not in LOSS_NEUTRAL_OPTIONS and v is not inspect.Parameter.empty}


def build_loss(config: TrainConfig, *, gather_distributed: bool = False) -> nn.Module:
    """The loss module of ``config.method`` with :func:`loss_kwargs`; a method with a plan also gets
    ``gather_distributed`` (negatives gathered across processes: the run sets it when its world > 1)."""
    kwargs = loss_kwargs(config)
    if _methods.get(config.method).has_plan:
        kwargs["gather_distributed"] = gather_distributed
    return _methods.make_loss(config.method, **kwargs)
