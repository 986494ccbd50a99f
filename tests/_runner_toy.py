"""Toy experiments for the parallel runner's tests (tests/test_parallel_runs.py).

A module of its own, not a test file, so that worker processes (spawned by the pool, Dask workers,
``reproduce`` subprocesses) can import it: a computation runs in a worker by reference to this module.

- ``_runner_toy``: ``TOY_RUNS`` (default 6) computations ``x -> x * x`` that sleep ``delay`` seconds
  (``TOY_DELAY``, in the spec) plus ``TOY_EXTRA_SLEEP`` (not in the spec: it slows one process down
  without changing the runs), and two tiny training runs on digits. Each computation writes
  ``<TOY_DIR>/start-<x>-<pid>`` when it starts; with ``TOY_HANG=<x>`` the run ``x`` sleeps for two
  minutes (a worker to be killed mid-run).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from gca_lab.experiments import _core

NAME = "_runner_toy"


@_core.computation("_runner_toy.slow_square")
def slow_square(x: int, delay: float) -> dict:
    """``x * x`` after ``delay`` seconds, with the process id that computed it."""
    folder = os.environ.get("TOY_DIR")
    if folder:
        Path(folder, f"start-{x}-{os.getpid()}").touch()
    if os.environ.get("TOY_HANG") == str(x):
        time.sleep(120)
    time.sleep(delay + float(os.environ.get("TOY_EXTRA_SLEEP", "0")))
    return {"value": x * x, "pid": os.getpid()}


def _plan(budget: str) -> list[_core.Run]:
    delay = float(os.environ.get("TOY_DELAY", "0"))
    runs = [_core.Run(f"square/{x}", "compute", {"fn": "_runner_toy.slow_square", "x": x, "delay": delay})
            for x in range(int(os.environ.get("TOY_RUNS", "6")))]
    if os.environ.get("TOY_TRAIN", "1") == "1":
        runs += [_core.Run(f"digits/{m}", "train", {"dataset": "digits", "model": "mlp", "method": m, "epochs": 1,
                                                     "max_train": 300, "batch_size": 64, "probe": True})
                 for m in ("ince", "gca_uot")]
    return runs


def _summarize(results: dict, budget: str) -> dict:
    return {"total": sum(r["value"] for k, r in results.items() if k.startswith("square/"))}


def experiment() -> _core.Experiment:
    """The toy experiment (not registered on import: the registry's own tests list every experiment)."""
    return _core.Experiment(NAME, "toy", "squares add up", "none.ipynb", _plan, _summarize)


def reproduce(argv: list[str]) -> int:
    """``python -m gca_lab reproduce`` with the toy registered (what a subprocess of the tests runs)."""
    from gca_lab.__main__ import main

    _core.register(experiment())
    return main(["reproduce", NAME, *argv])
