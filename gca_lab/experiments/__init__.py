"""Named experiments, one per paper figure or table, with quick and full budgets and a JSON cache.

``run(name, budget=None, **overrides) -> ExperimentResult``. Each experiment (a module of this
package) declares its runs up front (:class:`Run`: a training config, or a named computation with
its parameters) and how to summarize them; the runner executes what is missing, caches each
result as soon as it exists (atomic JSON writes), and reuses cached results whose run hash still
matches: the run's spec, the library version and its protocol (:func:`gca_lab.train.protocol`:
every TrainConfig field with defaults resolved, the views' parameters, the model's layers), so a
changed default view parameter or encoder width marks the affected results stale. The cache is ``data/results/`` of a source
checkout (where the full-budget results are committed), ``~/.cache/gca_lab/results`` when installed
from a wheel, or ``GCA_LAB_RESULTS``.

- ``budget``: ``"quick"`` (CI, tests) or ``"full"`` (the committed figures); ``None`` picks
  ``"quick"`` when ``GCA_LAB_QUICK=1`` and ``"full"`` otherwise.
- ``GCA_LAB_RECOMPUTE=1`` (or ``recompute=True``) ignores the cache.
- overrides (``dataset="cifar10", model="resnet18", epochs=...``) change every training config of
  the experiment and are cached in a file of their own.

A corrupted cache file or a stale entry is recomputed with a warning, never trusted.

- ``jobs=N`` computes N runs at once in worker processes, ``scheduler="tcp://..."`` on a Dask
  distributed cluster; every cache write is a locked read-merge-write, so concurrent runs of the
  same experiment (other processes, a killed worker) never lose a finished run.
"""

from __future__ import annotations

from ._core import (
    EXPERIMENTS,
    Experiment,
    ExperimentResult,
    Run,
    RunFailed,
    budget_from_env,
    experiment_hash,
    get,
    load,
    plan,
    register,
    results_path,
    run,
    run_hash,
)


def _register_all() -> None:
    # Every public module of this package defines one experiment; importing it registers it.
    import importlib
    import pkgutil

    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_") and info.name != "paper":
            importlib.import_module(f"{__name__}.{info.name}")


_register_all()

__all__ = [
    "EXPERIMENTS",
    "Experiment",
    "ExperimentResult",
    "Run",
    "RunFailed",
    "budget_from_env",
    "experiment_hash",
    "get",
    "load",
    "plan",
    "register",
    "results_path",
    "run",
    "run_hash",
]
