"""eps chosen per method on validation, at the shared recipe of ``baseline_recipe`` (issue 18, item 4:
"tune eps per method on validation over one shared grid, so no method is compared at another's
optimum"; record: docs/baseline_recipe.md).

Protocol: :data:`gca_lab.experiments.baseline_recipe.PROTOCOL` (MNIST-1D, 14,000 / 10,000 / 40,000
signals, the torch probe) at the chosen recipe :data:`gca_lab.experiments.baseline_recipe.CHOSEN`
(batch, learning rate, epochs), each method of :data:`METHODS` at every eps of :data:`EPSILONS`, seed 0;
the W1-family methods in the library's ``"gca"`` convention, stated in their specs. Each method's eps
is the one with the best frozen-probe VALIDATION accuracy (``summary["best_eps"]``); no test accuracy
enters the choice.

Budgets: ``full`` = 2 methods x 4 eps = 8 runs, one thread each; ``quick`` = 2 methods x 2 eps of a
1-epoch MLP on digits (4 runs, seconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..stats import Claim
from . import baseline_recipe as _recipe
from ._common import CONVENTION, Summary, train_run
from ._core import Experiment, Run, register

__all__ = ["METHODS", "EPSILONS", "QUICK_EPSILONS", "SEED", "key", "epsilons"]

METHODS = ("ince", "gca_uot")
"""INCE (the baseline) and GCA-UOT (the method of the main claims)."""
EPSILONS = (0.1, 0.2, 0.35, 0.5)
"""The shared grid (issue 18, item 4: at least {0.1, 0.2, 0.35, 0.5})."""
QUICK_EPSILONS = (0.2, 0.5)
SEED = 0


def epsilons(budget: str) -> tuple[float, ...]:
    return QUICK_EPSILONS if budget == "quick" else EPSILONS


def key(method: str, eps: float) -> str:
    return f"{method}/eps{eps:g}/seed{SEED}"


def _base(budget: str) -> dict[str, Any]:
    if budget == "quick":
        batch, lr, epochs = _recipe.QUICK_FINALISTS[0]
        return {**_recipe.QUICK_PROTOCOL, "batch_size": batch, "lr": lr, "epochs": epochs}
    batch, lr, epochs = _recipe.CHOSEN
    return {**_recipe.PROTOCOL, "batch_size": batch, "lr": lr, "epochs": epochs}


def _plan(budget: str) -> list[Run]:
    base = {k: v for k, v in _base(budget).items() if k != "method"}
    # eps by eps, so an interrupted search leaves every method at the same grid points
    return [train_run(key(m, e), convention=CONVENTION, **base, method=m, eps=e, seed=SEED)
            for e in epsilons(budget) for m in METHODS]


@dataclass(frozen=True)
class BaselineEpsSummary(Summary):
    """What docs/baseline_recipe.md reads.

    Attributes:
        val_acc: ``{method: {eps: frozen-probe validation accuracy (%)}}`` of the runs that exist.
        best_eps: ``{method: eps}`` with the best validation accuracy (None for a method with no run).
        recipe: the shared recipe the grid ran at; epsilons: the grid.
        wall_time_s, n_runs: recorded compute.
        claims: none (a search records a choice, not a claim of the paper).
    """

    val_acc: dict[str, dict[str, float]]
    best_eps: dict[str, str | None]
    recipe: dict[str, Any]
    epsilons: list[float]
    wall_time_s: float
    n_runs: int
    claims: list[Claim] = field(default_factory=list)


def _summarize(results: dict[str, dict[str, Any]], budget: str) -> BaselineEpsSummary:
    val: dict[str, dict[str, float]] = {}
    for m in METHODS:
        val[m] = {f"{e:g}": 100.0 * results[k]["metrics"]["probe_val_acc"]
                  for e in epsilons(budget) if (k := key(m, e)) in results}
    best = {m: (max(v, key=v.get) if v else None) for m, v in val.items()}
    wall = sum(float(r.get("wall_time", 0.0)) for r in results.values())
    return BaselineEpsSummary(val_acc=val, best_eps=best, recipe=_base(budget), epsilons=list(epsilons(budget)),
                              wall_time_s=wall, n_runs=len(results))


register(Experiment(
    name="baseline_eps",
    figure="Issue 18, item 4: eps per method on validation at the shared recipe",
    claim="Each method is compared at its own best eps of one shared grid, chosen on validation.",
    notebook="../docs/baseline_recipe.md",  # no notebook: the record is a document (path from notebooks/)
    plan=_plan,
    summarize=_summarize,
))
