"""The experiment registry, runner and JSON cache (see the package docstring)."""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence
from typing import Any, Callable, Literal

from .. import __version__, _paths, quick_mode
from .. import datasets as _datasets
from .._env import env_flag
from .._io import atomic_write_json, file_lock
from .._validate import check_choice, check_int
from ..train import TrainConfig, config_hash, protocol, train

__all__ = [
    "EXPERIMENTS",
    "COMPUTATIONS",
    "Experiment",
    "ExperimentResult",
    "Run",
    "RunFailed",
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
    compute: list[dict[str, Any]] = field(default_factory=list)
    """The compute record of the cache (:func:`compute_records`): one entry per call that computed runs."""


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


def compute_path(path: Path) -> Path:
    """Where the compute record of the results file ``path`` lives: ``compute/<its name>`` beside it (a
    folder of its own, so the results files stay one per experiment and budget)."""
    return path.parent / "compute" / path.name


def compute_records(path: Path) -> list[dict[str, Any]]:
    """The compute record of the results file ``path``: one entry per call that computed runs, oldest
    first (``date``: UTC, when the call finished; ``runs_computed``, ``wall_s``, ``cpu_s`` of this process and its workers, user +
    system, None on a Dask cluster, ``jobs``, ``threads``, ``scheduler``, ``cpus`` of the machine); empty
    when none was recorded. A damaged record reads as empty (it holds measurements, never results)."""
    try:
        entries = json.loads(compute_path(path).read_text())
    except (OSError, ValueError):
        return []
    return entries if isinstance(entries, list) else []


def record_compute(path: Path, entry: dict[str, Any]) -> None:
    """Append ``entry`` to the compute record of the results file ``path`` (under the results file's lock,
    written atomically, so concurrent ``reproduce`` processes keep each other's entries)."""
    target = compute_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(path):
        atomic_write_json(target, compute_records(path) + [entry], indent=1, sort_keys=True)


def _cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished, waited-for children (the workers)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _load(path: Path, *, quiet: bool = False) -> dict[str, Any]:
    """The cache file's content, ``{}`` when absent or corrupted (warned about unless ``quiet``)."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not isinstance(data.get("runs"), dict):
            raise ValueError("missing 'runs'")
        return data
    except (ValueError, OSError) as exc:
        if not quiet:
            warnings.warn(f"cache file {path} is corrupted ({exc}); recomputing its results", RuntimeWarning,
                          stacklevel=3)
        return {}


def _save(path: Path, payload: dict[str, Any]) -> None:
    atomic_write_json(path, payload, indent=1, sort_keys=True, default=_json_default)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialize {type(obj).__name__} to JSON")


def _computation_of(r: Run) -> Callable[..., dict[str, Any]] | None:
    """The registered function a ``"compute"`` run calls (``None`` for a training run)."""
    if r.kind != "compute":
        return None
    fn = r.spec["fn"]
    if fn not in COMPUTATIONS:
        raise ValueError(f"run {r.key!r} names unknown computation {fn!r}; known: {sorted(COMPUTATIONS)}")
    return COMPUTATIONS[fn]


def _execute(r: Run, fn: Callable[..., dict[str, Any]] | None = None) -> dict[str, Any]:
    """Compute one run's result. ``fn`` is the computation of a ``"compute"`` run (looked up by name
    when not given): passed explicitly to a worker process, where it is pickled by reference, so
    computations registered by any importable module (a test's, a user's) run there too."""
    if r.kind == "train":
        res = train(dataclasses.replace(_config_of(r), progress=False))
        return {
            "metrics": res.metrics,
            "history": {"loss": res.history["loss"], "epoch_time": res.history["epoch_time"]},
            "wall_time": res.wall_time, "device": res.device, "versions": res.versions, "seed": res.seed,
        }
    fn = fn if fn is not None else _computation_of(r)
    spec = dict(r.spec)
    spec.pop("fn")
    start = time.perf_counter()
    out = fn(**spec)
    return {**out, "wall_time": time.perf_counter() - start}


def _work(r: Run, fn: Callable[..., dict[str, Any]] | None, threads: int | None) -> dict[str, Any]:
    """What a worker (a process of the pool or a Dask worker) runs: one run with ``threads`` torch threads."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    return _execute(r, fn)


class RunFailed(RuntimeError):
    """The worker process of a run of :func:`run` died (killed, out of memory); every run that
    finished before is in the cache. (A run's own exception propagates as it is.)"""


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
    recompute: bool | Sequence[str] | None = None,
    root: str | Path | None = None,
    progress: bool = True,
    jobs: int = 1,
    scheduler: str | None = None,
    threads: int | None = None,
    **overrides: Any,
) -> ExperimentResult:
    """Run (or load from the cache) experiment ``name`` and summarize it.

    Args:
        name: a registered experiment (:data:`EXPERIMENTS`).
        budget: ``"quick"`` or ``"full"``; default from ``GCA_LAB_QUICK``.
        recompute: ignore cached results: ``True`` for every run, or the keys of the runs to compute
            again (a change of code that no run hash covers, such as a loss formula that follows the
            authors' current code, makes those runs' cached values out of date); default from
            ``GCA_LAB_RECOMPUTE`` (all or nothing).
        root: cache folder; default: see :func:`_results_root` (``GCA_LAB_RESULTS``, the checkout's
            ``data/results``, or the user cache when installed from a wheel).
        progress: show a progress bar counting the plan's runs (cached ones included) across workers.
        jobs: how many runs at once. ``1`` (default) computes them one after the other in this
            process; ``N > 1`` in ``N`` worker processes (started with ``spawn``; the runs are
            independent, each fully seeded, so the results are those of ``jobs=1`` at the same
            thread count, bit for bit: ``jobs=1, threads=1`` caches what ``jobs=2`` caches. The
            thread count changes the order of float reductions: ``main_results`` quick at 2 threads
            against 1 gave losses that differ in the sixth digit and the same accuracies). With
            ``scheduler``, the most runs sent at once (default: all). On one GPU, ``N`` runs share it.
        scheduler: address of a running Dask distributed scheduler (``"tcp://host:8786"``): the runs
            go to its workers (``pip install 'gca_lab[dask]'``). A cluster on SLURM or PBS is one
            made by dask-jobqueue (``SLURMCluster(...).scheduler_address``); the workers need
            gca_lab and the datasets, and results come back here, where this process writes the cache.
        threads: torch threads per run in a worker; default 1 (runs side by side, each on one core,
            threads waiting passively: ``OMP_WAIT_POLICY=PASSIVE``, set by ``gca_lab``). With
            ``jobs=1`` and no scheduler: this process's thread count during the runs (default: unchanged).
        **overrides: :class:`gca_lab.train.TrainConfig` fields applied to every training run.

    Returns:
        :class:`ExperimentResult`. Each newly computed run is written to the cache as soon as it
        finishes, so an interrupted experiment resumes where it stopped. The plan never depends on
        the datasets installed: a run whose data is missing on this machine is loaded from the
        cache (even with ``recompute``) and listed in ``data_missing``.

    Concurrency: every write of the cache is a read-merge-write under :func:`gca_lab._io.file_lock`,
    written atomically, so two ``run`` (or ``reproduce``) processes on the same experiment keep each
    other's finished runs; without ``recompute`` each also takes the runs the other has finished
    instead of computing them again (the cache is re-read before each run is started).

    Raises:
        FileNotFoundError: a run's data is missing here and it has no valid cached result (the
            message names the dataset and how to get it); raised before anything is computed.
        RunFailed: a run's worker process died. The runs finished before are cached, those in
            flight are not; a run's own exception propagates as it is (with a note naming the run).
    """
    from tqdm.auto import tqdm

    start, cpu_start = time.perf_counter(), _cpu_seconds()
    experiment = get(name)
    budget = budget_from_env(budget)
    check_int("jobs", jobs, minimum=1)
    if threads is not None:
        check_int("threads", threads, minimum=1)
    if recompute is None:
        recompute = env_flag("GCA_LAB_RECOMPUTE")
    runs = plan(name, budget, **overrides)
    hashes = {r.key: run_hash(r) for r in runs}
    redo = _recompute_keys(recompute, runs)
    path = results_path(name, budget, overrides, Path(root) if root is not None else None)
    on_disk = _load(path).get("runs", {})
    data_missing = _use_cache_where_data_is_missing(name, runs, on_disk)  # before computing anything
    stored, todo = _cached_and_todo(name, runs, on_disk, data_missing, redo, hashes)
    fresh: set[str] = set()  # keys computed by this call

    def save() -> None:
        replace = fresh & redo  # a run not recomputed on purpose: the first one saved stays
        _merge_save(path, _payload(experiment, budget, overrides, runs, stored), hashes, replace)

    workers = "" if jobs == 1 and scheduler is None else f", {'Dask' if scheduler else jobs} workers"
    bar = tqdm(total=len(runs), initial=len(runs) - len(todo), desc=f"{name} ({budget}{workers})",
               disable=not progress)
    try:
        with _executor(jobs, scheduler, threads) as ex:
            width = len(todo) if scheduler is not None and jobs == 1 else jobs
            _compute(ex, todo, width, path, redo, hashes, stored, fresh, save, bar)
    finally:
        bar.close()
    if not path.exists():
        save()
    exp_hash = experiment_hash(runs)
    stored = {r.key: stored[r.key] for r in runs}
    # Through JSON, so fresh and cached results look alike (sorted keys, lists for tuples).
    results = json.loads(json.dumps({k: v["result"] for k, v in stored.items()}, sort_keys=True,
                                    default=_json_default))
    summary = experiment.summarize(results, budget)
    wall = time.perf_counter() - start
    if fresh:  # what re-running this budget costs, as measured (issue 18, item 8)
        import os
        from datetime import datetime, timezone

        record_compute(path, {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
                              "runs_computed": len(fresh), "wall_s": round(wall, 1),
                              "cpu_s": None if scheduler is not None else round(_cpu_seconds() - cpu_start, 1),
                              "jobs": jobs, "threads": threads, "scheduler": scheduler is not None,
                              "cpus": os.cpu_count()})
    return ExperimentResult(name, budget, dict(overrides), results, summary, path, exp_hash, len(fresh),
                            wall, data_missing, compute_records(path))

def _cached_and_todo(name: str, runs: list[Run], on_disk: dict[str, Any], data_missing: dict[str, str],
                     redo: set[str], hashes: dict[str, str]) -> tuple[dict[str, Any], list[Run]]:
    # run()'s split of the plan: the cached entries it keeps (every run whose data is missing here, in
    # every save whatever is recomputed, and every valid one not asked to recompute) and the runs to compute
    stored: dict[str, Any] = {k: on_disk[k] for k in data_missing}
    todo: list[Run] = []
    for r in runs:
        entry = on_disk.get(r.key) if (r.key in data_missing or r.key not in redo) else None
        if r.key in data_missing or _valid(entry, hashes[r.key]):
            stored[r.key] = entry
            continue
        if entry is not None:
            warnings.warn(f"{name}: cached result of {r.key!r} is stale (its spec changed); recomputing",
                          RuntimeWarning, stacklevel=3)
        todo.append(r)
    return stored, todo


def _compute(ex: Any, todo: list[Run], width: int, path: Path, redo: set[str], hashes: dict[str, str],
             stored: dict[str, Any], fresh: set[str], save: Any, bar: Any) -> None:
    # run()'s runs on the executor, ``width`` at a time: each result saved as it comes (``stored``,
    # ``fresh``); a run another process finished meanwhile is taken from the cache; a failure stops
    # the queue and is raised once nothing is in flight
    queue, pending = list(todo), {}
    failure: BaseException | None = None
    reread = False  # the file was just read
    while queue or pending:
        while queue and len(pending) < width and failure is None:
            r = queue.pop(0)
            if r.key not in redo and reread:  # another process may have finished it meanwhile
                entry = _load(path, quiet=True).get("runs", {}).get(r.key)
                if _valid(entry, hashes[r.key]):
                    stored[r.key] = entry
                    bar.update(1)
                    continue
            reread = True
            pending[ex.submit(r)] = r
        if not pending:
            break
        done = ex.wait(list(pending))
        for fut in done:
            r = pending.pop(fut)
            try:
                result = ex.result(fut)
            except Exception as exc:  # keep saving what finishes; raise once nothing is in flight
                failure = failure or _failed(r, exc)
                continue
            stored[r.key] = {"hash": hashes[r.key], "kind": r.kind, "spec": r.spec, "result": result}
            fresh.add(r.key)
            save()
            bar.update(1)
        if failure is not None:
            queue.clear()
    if failure is not None:
        raise failure


def _recompute_keys(recompute: bool | Sequence[str], runs: list[Run]) -> set[str]:
    """The keys of the runs ``recompute`` names: all of them (``True``), none (``False``), or the given keys,
    each of which must be a run of the plan (``ValueError`` naming the unknown keys otherwise)."""
    keys = [r.key for r in runs]
    if isinstance(recompute, bool):
        return set(keys) if recompute else set()
    if isinstance(recompute, str) or not all(isinstance(k, str) for k in recompute):
        raise TypeError(f"recompute must be a bool or a sequence of run keys, got {recompute!r}")
    unknown = sorted(set(recompute) - set(keys))
    if unknown:
        raise ValueError(f"recompute names runs that are not in the plan: {', '.join(unknown)}; "
                         f"its runs are: {', '.join(keys)}")
    return set(recompute)


def _valid(entry: Any, h: str) -> bool:
    return isinstance(entry, dict) and entry.get("hash") == h and "result" in entry


def _failed(r: Run, exc: BaseException) -> BaseException:
    """What :func:`run` raises for a run that failed in a worker: the run's own exception (as with
    ``jobs=1``), or :class:`RunFailed` when the worker process died."""
    if isinstance(exc, cf.process.BrokenProcessPool) or type(exc).__name__ == "KilledWorker":
        err = RunFailed(f"run {r.key!r} failed: its worker process died (killed, or out of memory); "
                        f"the runs finished before it are cached")
        err.__cause__ = exc
        return err
    if hasattr(exc, "add_note"):
        exc.add_note(f"in run {r.key!r}; the runs finished before it are cached")
    return exc


def _merge_save(path: Path, payload: dict[str, Any], hashes: dict[str, str], replace: set[str]) -> None:
    """Write ``payload`` to ``path`` merged with what another process wrote there since it was read.

    Under the file lock: the file's entries that are valid for this plan (key in ``hashes``, same
    hash) are kept, so a finished run that another process saved is never lost nor rewritten; this
    process's entries fill the keys the file lacks, and replace the file's only for the keys in
    ``replace`` (the runs recomputed on purpose, ``recompute=True``). Stale or foreign entries are dropped."""
    with file_lock(path):
        on_disk = _load(path, quiet=True).get("runs", {})
        merged = {k: v for k, v in on_disk.items() if k in hashes and _valid(v, hashes[k])}
        for k, v in payload["runs"].items():
            if k in replace or k not in merged:
                merged[k] = v
        _save(path, {**payload, "runs": merged})


class _Serial:
    """Runs computed here, one at a time (``jobs=1``)."""

    def __init__(self, threads: int | None) -> None:
        self.threads = threads

    def __enter__(self) -> "_Serial":
        import torch

        self._before = torch.get_num_threads()
        return self

    def __exit__(self, *exc: Any) -> None:
        import torch

        torch.set_num_threads(self._before)

    def submit(self, r: Run) -> cf.Future:
        fut: cf.Future = cf.Future()
        fut.set_result(_work(r, None, self.threads))  # an exception propagates as it is, as it always did
        return fut

    def wait(self, futures: list) -> set:
        return set(futures)

    def result(self, fut: Any) -> dict[str, Any]:
        return fut.result()


class _Pool:
    """Runs in ``jobs`` worker processes on this machine (``spawn``: no state inherited but the runs')."""

    def __init__(self, jobs: int, threads: int) -> None:
        import multiprocessing

        self.pool = cf.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"))
        self.threads = threads

    def __enter__(self) -> "_Pool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, r: Run) -> cf.Future:
        return self.pool.submit(_work, r, _computation_of(r), self.threads)

    def wait(self, futures: list) -> set:
        return cf.wait(futures, return_when=cf.FIRST_COMPLETED).done

    def result(self, fut: Any) -> dict[str, Any]:
        return fut.result()


class _Dask:
    """Runs on the workers of a running Dask distributed scheduler."""

    def __init__(self, address: str, threads: int) -> None:
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - depends on the installed extras
            raise ImportError("scheduler=... needs Dask distributed: pip install 'gca_lab[dask]'") from None
        self.client = Client(address, set_as_default=False)
        self.threads = threads

    def __enter__(self) -> "_Dask":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.client.close()

    def submit(self, r: Run) -> Any:
        # pure=False: two runs with equal arguments are still two tasks; the scheduler resubmits a
        # run whose worker dies (its allowed-failures setting).
        return self.client.submit(_work, r, _computation_of(r), self.threads, pure=False,
                                  key=f"gca_lab-{r.key}-{run_hash(r)}-{time.time_ns()}")

    def wait(self, futures: list) -> set:
        # polled: distributed.wait needs a default client, and this one must not become the user's default
        while not (done := {f for f in futures if f.done()}):
            time.sleep(0.05)
        return done

    def result(self, fut: Any) -> dict[str, Any]:
        return fut.result()


def _executor(jobs: int, scheduler: str | None, threads: int | None) -> _Serial | _Pool | _Dask:
    if scheduler is not None:
        return _Dask(scheduler, threads or 1)
    if jobs == 1:
        return _Serial(threads)
    return _Pool(jobs, threads or 1)


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
                            experiment_hash(runs), 0, data_missing=data_missing, compute=compute_records(path))
