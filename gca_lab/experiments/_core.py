"""The experiment registry, runner and JSON cache (see the package docstring)."""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

from .. import __version__, _paths, quick_mode
from .. import datasets as _datasets
from .._env import env_flag
from .._io import atomic_write_json
from .._validate import check_choice
from ..train import TrainConfig, config_hash, protocol, train

__all__ = [
    "EXPERIMENTS",
    "COMPUTATIONS",
    "Experiment",
    "ExperimentResult",
    "Run",
    "budget_from_env",
    "computation",
    "experiment_hash",
    "get",
    "load",
    "plan",
    "register",
    "results_path",
    "run",
    "run_hash",
]

Budget = Literal["quick", "full"]
BUDGETS = ("quick", "full")
TRAIN_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


@dataclass(frozen=True)
class Run:
    """One unit of work of an experiment.

    Attributes:
        key: its label within the experiment, e.g. ``"digits/gca_uot/seed0"``.
        kind: ``"train"`` (``spec`` holds :class:`gca_lab.train.TrainConfig` fields) or
            ``"compute"`` (``spec["fn"]`` names a function of :data:`COMPUTATIONS`, the rest are
            its keyword arguments).
        spec: everything that determines the result (hashed for the cache).
    """

    key: str
    kind: Literal["train", "compute"]
    spec: dict[str, Any]


@dataclass(frozen=True)
class Experiment:
    """A paper figure or table reproduced at compact scale.

    Attributes:
        name: registry name (``python -m gca_lab reproduce NAME``).
        figure: the paper's figure/table it reproduces.
        claim: the paper's claim, in one sentence.
        notebook: the notebook that shows it.
        plan: ``plan(budget) -> list[Run]``.
        summarize: ``summarize(results_by_key, budget) -> dict`` (tables, verdicts), computed from
            cached results only.
    """

    name: str
    figure: str
    claim: str
    notebook: str
    plan: Callable[[str], list[Run]]
    summarize: Callable[[dict[str, dict[str, Any]], str], dict[str, Any]]


@dataclass
class ExperimentResult:
    """What :func:`run` returns: every run's result, the summary, and where they are cached."""

    name: str
    budget: str
    overrides: dict[str, Any]
    results: dict[str, dict[str, Any]]
    summary: dict[str, Any]
    path: Path
    hash: str
    computed: int
    wall_time: float = field(default=0.0)
    data_missing: dict[str, str] = field(default_factory=dict)
    """Runs whose dataset files are missing on this machine -> ``"data missing here: loaded from cache ..."``."""


EXPERIMENTS: dict[str, Experiment] = {}
COMPUTATIONS: dict[str, Callable[..., dict[str, Any]]] = {}


def register(experiment: Experiment) -> Experiment:
    """Add an experiment to the registry (names are unique)."""
    if experiment.name in EXPERIMENTS:
        raise ValueError(f"experiment {experiment.name!r} is already registered")
    EXPERIMENTS[experiment.name] = experiment
    return experiment


def computation(name: str) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Register a non-training computation ``fn(**params) -> dict`` usable in ``Run(kind="compute")``."""

    def deco(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        COMPUTATIONS[name] = fn
        return fn

    return deco


def get(name: str) -> Experiment:
    """The registered experiment ``name``; ``ValueError`` lists the known names otherwise."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose one of {', '.join(sorted(EXPERIMENTS))}")
    return EXPERIMENTS[name]


def budget_from_env(budget: str | None = None) -> str:
    """``budget`` if given, else ``"quick"`` under ``GCA_LAB_QUICK=1`` and ``"full"`` otherwise."""
    if budget is None:
        return "quick" if quick_mode() else "full"
    return check_choice("budget", budget, BUDGETS)


def _apply_overrides(runs: list[Run], overrides: dict[str, Any]) -> list[Run]:
    if not overrides:
        return runs
    unknown = set(overrides) - TRAIN_FIELDS
    if unknown:
        raise ValueError(f"unknown override(s) {sorted(unknown)}; overrides must be TrainConfig fields "
                         f"such as dataset, model, epochs, batch_size, device")
    out = []
    for r, applies in zip(runs, _override_targets(runs, overrides)):
        if not applies:
            out.append(r)
        elif r.kind == "train":
            out.append(Run(r.key, r.kind, {**r.spec, **overrides}))
        else:
            out.append(Run(r.key, r.kind, {**r.spec, **{k: v for k, v in overrides.items() if k in r.spec}}))
    return out


def _run_dataset(r: Run) -> str | None:
    name = r.spec.get("dataset", "digits" if r.kind == "train" else None)
    return name if isinstance(name, str) else None


def _kind(name: str | None) -> str | None:
    try:
        return _datasets.info(name).kind if name is not None else None
    except ValueError:  # a computation's own option, not a dataset name
        return None


def _override_targets(runs: list[Run], overrides: dict[str, Any]) -> list[bool]:
    """Which runs the overrides replace. Without a ``dataset`` override, all. With one, the runs on the same
    kind of input (the registry's ``kind``, :data:`gca_lab.datasets.REGISTRY`) when the plan has any, so
    ``main_results --dataset cifar10`` turns the image column into CIFAR-10 and leaves the MNIST-1D signals
    column as it is; every run when it has none (``strong_augmentations --dataset cifar10``)."""
    if "dataset" not in overrides:
        return [True] * len(runs)
    kind = _kind(overrides["dataset"])
    same = [_kind(_run_dataset(r)) == kind for r in runs]
    return same if any(same) else [True] * len(runs)


def plan(name: str, budget: str | None = None, **overrides: Any) -> list[Run]:
    """The runs of experiment ``name`` at ``budget`` with ``overrides`` applied (nothing is computed)."""
    return _apply_overrides(get(name).plan(budget_from_env(budget)), overrides)


def run_hash(r: Run) -> str:
    """Hash of a run's kind, spec, protocol and the library version: a cached result is valid iff it matches.

    The protocol (:func:`gca_lab.train.protocol`) adds what the spec leaves to defaults: every
    TrainConfig field, the views' parameters and the model's layers. A training run always has one; a
    computation has the protocol of the TrainConfig its spec describes when the spec names a
    ``dataset`` or a ``model`` (the computations that train or embed), none otherwise."""
    payload: dict[str, Any] = {"kind": r.kind, "spec": r.spec, "version": __version__}
    config = _config_of(r)
    if config is not None:
        payload["protocol"] = protocol(config)
    return config_hash(payload)


def _config_of(r: Run) -> TrainConfig | None:
    if r.kind == "compute" and not ({"dataset", "model"} & set(r.spec)):
        return None
    # a training spec is a whole TrainConfig (an unknown field is an error); a computation's also holds its own options
    fields = dict(r.spec) if r.kind == "train" else {k: v for k, v in r.spec.items() if k in TRAIN_FIELDS}
    if "corruptions" in fields:
        fields["corruptions"] = tuple(fields["corruptions"])
    return TrainConfig(**fields)


def experiment_hash(runs: list[Run]) -> str:
    """Hash of an experiment's whole plan (its runs' keys and hashes)."""
    return config_hash({r.key: run_hash(r) for r in runs})


def _results_root() -> Path:
    """Where experiment results are cached: :func:`gca_lab._paths.results_dir` (``$GCA_LAB_RESULTS``;
    in a source checkout its ``data/results``, which holds the committed full-budget results, so
    notebooks and ``reproduce --full`` load them instead of retraining; else the user's cache)."""
    return _paths.results_dir()


def results_path(name: str, budget: str, overrides: dict[str, Any] | None = None, root: Path | None = None) -> Path:
    """Where the results of ``name`` at ``budget`` are cached (one file per set of overrides)."""
    root = Path(root) if root is not None else _results_root()
    suffix = f"-{config_hash(overrides)[:8]}" if overrides else ""
    return root / f"{name}-{budget}{suffix}.json"


def _load(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not isinstance(data.get("runs"), dict):
            raise ValueError("missing 'runs'")
        return data
    except (ValueError, OSError) as exc:
        warnings.warn(f"cache file {path} is corrupted ({exc}); recomputing its results", RuntimeWarning, stacklevel=3)
        return {}


def _save(path: Path, payload: dict[str, Any]) -> None:
    atomic_write_json(path, payload, indent=1, sort_keys=True, default=_json_default)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialize {type(obj).__name__} to JSON")


def _execute(r: Run) -> dict[str, Any]:
    if r.kind == "train":
        res = train(dataclasses.replace(_config_of(r), progress=False))
        return {
            "metrics": res.metrics,
            "history": {"loss": res.history["loss"], "epoch_time": res.history["epoch_time"]},
            "wall_time": res.wall_time, "device": res.device, "versions": res.versions, "seed": res.seed,
        }
    spec = dict(r.spec)
    fn = spec.pop("fn")
    if fn not in COMPUTATIONS:
        raise ValueError(f"run {r.key!r} names unknown computation {fn!r}; known: {sorted(COMPUTATIONS)}")
    start = time.perf_counter()
    out = COMPUTATIONS[fn](**spec)
    return {**out, "wall_time": time.perf_counter() - start}


def _data_missing_here(runs: list[Run]) -> dict[str, str]:
    """Run key -> why its dataset cannot be loaded on this machine, for the runs that need missing files."""
    from ..data import missing_files

    why: dict[str, str] = {}
    reasons: dict[tuple[str, str], str | None] = {}
    for r in runs:
        name = r.spec.get("dataset", "digits" if r.kind == "train" else None)
        if not isinstance(name, str):
            continue
        root = r.spec.get("data_root")
        if (name, root) not in reasons:
            try:
                reasons[(name, root)] = missing_files(name, root)
            except ValueError:  # not a dataset name (e.g. a computation's own option): nothing to check
                reasons[(name, root)] = None
        if reasons[(name, root)] is not None:
            why[r.key] = f"{name}: {reasons[(name, root)]}"
    return why


def _use_cache_where_data_is_missing(name: str, runs: list[Run], cached: dict[str, Any]) -> dict[str, str]:
    """Runs whose data is missing here, marked; raises if one of them has no valid cached result.

    A committed result of such a run is kept as it is (never dropped, recomputed or overwritten);
    one that is not cached cannot be computed here, and that is an error naming the dataset.
    """
    missing = _data_missing_here(runs)
    uncached = [r.key for r in runs if r.key in missing and cached.get(r.key, {}).get("hash") != run_hash(r)]
    if uncached:
        raise FileNotFoundError(
            f"{name}: {len(uncached)} run(s) need data that is missing on this machine and have no valid cached "
            f"result (e.g. {uncached[0]!r}).\n{missing[uncached[0]]}"
        )
    return _marks(missing)


def _marks(missing: dict[str, str]) -> dict[str, str]:
    return {k: f"data missing here: loaded from cache ({v.splitlines()[0]})" for k, v in missing.items()}


def run(
    name: str,
    budget: str | None = None,
    *,
    recompute: bool | None = None,
    root: str | Path | None = None,
    progress: bool = True,
    **overrides: Any,
) -> ExperimentResult:
    """Run (or load from the cache) experiment ``name`` and summarize it.

    Args:
        name: a registered experiment (:data:`EXPERIMENTS`).
        budget: ``"quick"`` or ``"full"``; default from ``GCA_LAB_QUICK``.
        recompute: ignore cached results; default from ``GCA_LAB_RECOMPUTE``.
        root: cache folder; default: see :func:`_results_root` (``GCA_LAB_RESULTS``, the checkout's
            ``data/results``, or the user cache when installed from a wheel).
        progress: show a progress bar over the runs.
        **overrides: :class:`gca_lab.train.TrainConfig` fields applied to every training run.

    Returns:
        :class:`ExperimentResult`. Each newly computed run is written to the cache as soon as it
        finishes, so an interrupted experiment resumes where it stopped. The plan never depends on
        the datasets installed: a run whose data is missing on this machine is loaded from the
        cache (even with ``recompute``) and listed in ``data_missing``.

    Raises:
        FileNotFoundError: a run's data is missing here and it has no valid cached result (the
            message names the dataset and how to get it); raised before anything is computed.
    """
    from tqdm.auto import tqdm

    start = time.perf_counter()
    experiment = get(name)
    budget = budget_from_env(budget)
    if recompute is None:
        recompute = env_flag("GCA_LAB_RECOMPUTE")
    runs = plan(name, budget, **overrides)
    path = results_path(name, budget, overrides, Path(root) if root is not None else None)
    on_disk = _load(path).get("runs", {})
    cached = {} if recompute else on_disk
    data_missing = _use_cache_where_data_is_missing(name, runs, on_disk)  # before computing anything
    stored: dict[str, Any] = {k: on_disk[k] for k in data_missing}  # in every save, whatever is recomputed
    computed = 0
    unsaved = False  # cached entries taken after the last save (they must reach the file too)
    for r in tqdm(runs, desc=f"{name} ({budget})", disable=not progress):
        h = run_hash(r)
        entry = on_disk.get(r.key) if r.key in data_missing else cached.get(r.key)
        if entry is not None and entry.get("hash") == h and "result" in entry:
            stored[r.key] = entry
            unsaved = True
            continue
        if entry is not None:
            warnings.warn(f"{name}: cached result of {r.key!r} is stale (its spec changed); recomputing",
                          RuntimeWarning, stacklevel=2)
        stored[r.key] = {"hash": h, "kind": r.kind, "spec": r.spec, "result": _execute(r)}
        computed += 1
        _save(path, _payload(experiment, budget, overrides, runs, stored))
        unsaved = False
    exp_hash = experiment_hash(runs)
    if (computed and unsaved) or not path.exists():
        _save(path, _payload(experiment, budget, overrides, runs, stored))
    # Through JSON, so fresh and cached results look alike (sorted keys, lists for tuples).
    results = json.loads(json.dumps({k: v["result"] for k, v in stored.items()}, sort_keys=True,
                                    default=_json_default))
    summary = experiment.summarize(results, budget)
    return ExperimentResult(name, budget, dict(overrides), results, summary, path, exp_hash, computed,
                            time.perf_counter() - start, data_missing)


def _payload(experiment: Experiment, budget: str, overrides: dict[str, Any], runs: list[Run],
             stored: dict[str, Any]) -> dict[str, Any]:
    return {
        "experiment": experiment.name, "figure": experiment.figure, "budget": budget, "overrides": overrides,
        "version": __version__, "hash": experiment_hash(runs), "runs": stored,
    }


def load(name: str, budget: str | None = None, *, root: str | Path | None = None, **overrides: Any) -> ExperimentResult:
    """The cached results of ``name`` at ``budget``, summarized, without computing anything.

    Raises ``FileNotFoundError`` if nothing is cached and ``ValueError`` if the cache is incomplete or
    stale (its experiment changed since): run :func:`run` (or ``python -m gca_lab reproduce``) first.
    """
    experiment = get(name)
    budget = budget_from_env(budget)
    runs = plan(name, budget, **overrides)
    path = results_path(name, budget, overrides, Path(root) if root is not None else None)
    if not path.exists():
        raise FileNotFoundError(f"no cached results for {name} ({budget}) at {path}; "
                                f"run `python -m gca_lab reproduce {name}{' --full' if budget == 'full' else ''}`")
    cached = _load(path).get("runs", {})
    missing = [r.key for r in runs if cached.get(r.key, {}).get("hash") != run_hash(r)]
    if missing:
        raise ValueError(f"cached results of {name} ({budget}) are incomplete or stale for {len(missing)} runs "
                         f"(e.g. {missing[0]!r}); re-run the experiment")
    results = {r.key: cached[r.key]["result"] for r in runs}
    data_missing = _marks(_data_missing_here(runs))
    return ExperimentResult(name, budget, dict(overrides), results, experiment.summarize(results, budget), path,
                            experiment_hash(runs), 0, data_missing=data_missing)
