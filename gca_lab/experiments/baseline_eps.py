"""eps chosen per method on validation, at the shared recipe of ``baseline_recipe`` (issue 18, item 4:
"tune eps per method on validation over one shared grid, so no method is compared at another's
optimum"; record: docs/baseline_recipe.md).

Protocol: :data:`gca_lab.experiments.baseline_recipe.PROTOCOL` (MNIST-1D, 14,000 / 10,000 / 40,000
signals, the torch probe) at the chosen recipe :data:`gca_lab.experiments.baseline_recipe.CHOSEN`
(batch, learning rate, epochs); the W1-family methods in the library's ``"gca"`` convention, stated in
their specs. Sequential halving on the frozen probe's VALIDATION accuracy only (no test accuracy enters
the choice):

1. each method of :data:`METHODS` at every eps of :data:`EPSILONS`, seed 0;
2. each method's two best eps of stage 1 (:data:`FINALISTS`, fixed here after stage 1 ran; the summary
   checks them against the stage-1 results) with seeds 1 and 2 as well.

A method's eps is its finalist with the best mean validation accuracy over the three seeds
(``summary["best_eps"]``; ``None`` until every finalist of the method has its seeds; the seed-0 leader
is ``summary["stage1_best"]``).

Budgets: ``full`` = 3 methods x 4 eps + 3 methods x 2 finalists x 2 seeds = 24 runs, one thread each;
``quick`` = 3 methods x 2 eps of a 1-epoch MLP on digits, no stage 2 (6 runs, seconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..stats import Claim, mean_std
from . import baseline_recipe as _recipe
from ._common import CONVENTION, Summary, train_run
from ._core import Experiment, Run, register

__all__ = ["METHODS", "EPSILONS", "QUICK_EPSILONS", "FINALISTS", "FINAL_SEEDS", "SEED", "key", "epsilons",
           "finalists"]

METHODS = ("ince", "gca_ince", "gca_uot")
"""The methods of the main claims: INCE (the baseline), GCA-INCE and GCA-UOT."""
EPSILONS = (0.1, 0.2, 0.35, 0.5)
"""The shared grid (issue 18, item 4: at least {0.1, 0.2, 0.35, 0.5})."""
QUICK_EPSILONS = (0.2, 0.5)
SEED = 0
FINAL_SEEDS = 3
FINALISTS: dict[str, tuple[float, ...]] = {"ince": (0.35, 0.1), "gca_ince": (0.1, 0.2), "gca_uot": (0.2, 0.35)}
"""Stage 2: each method's two best eps by seed-0 validation accuracy (set after stage 1 ran; the summary's
``finalists_lead_stage1`` checks them). A method with no finalists yet has not finished stage 1."""


def epsilons(budget: str) -> tuple[float, ...]:
    return QUICK_EPSILONS if budget == "quick" else EPSILONS


def finalists(budget: str) -> dict[str, tuple[float, ...]]:
    return {m: () for m in METHODS} if budget == "quick" else FINALISTS


def key(method: str, eps: float, seed: int = SEED) -> str:
    return f"{method}/eps{eps:g}/seed{seed}"


def _base(budget: str) -> dict[str, Any]:
    if budget == "quick":
        batch, lr, epochs = _recipe.QUICK_FINALISTS[0]
        return {**_recipe.QUICK_PROTOCOL, "batch_size": batch, "lr": lr, "epochs": epochs}
    batch, lr, epochs = _recipe.CHOSEN
    return {**_recipe.PROTOCOL, "batch_size": batch, "lr": lr, "epochs": epochs}


def _plan(budget: str) -> list[Run]:
    base = {k: v for k, v in _base(budget).items() if k != "method"}
    # stage 1 eps by eps, so an interrupted search leaves every method at the same grid points
    runs = [train_run(key(m, e), convention=CONVENTION, **base, method=m, eps=e, seed=SEED)
            for e in epsilons(budget) for m in METHODS]
    for m in METHODS:
        for e in finalists(budget)[m]:
            runs += [train_run(key(m, e, s), convention=CONVENTION, **base, method=m, eps=e, seed=s)
                     for s in range(1, FINAL_SEEDS)]
    return runs


@dataclass(frozen=True)
class BaselineEpsSummary(Summary):
    """What docs/baseline_recipe.md and the figure experiments read.

    Attributes:
        val_acc: ``{method: {eps: seed-0 frozen-probe validation accuracy (%)}}`` of the runs that exist.
        finalist_val: ``{method: {eps: {"val_acc": {seed: %}, "mean", "std"}}}`` of stage 2's finalists.
        stage1_best: ``{method: eps}`` with the best seed-0 validation accuracy.
        finalists_lead_stage1: ``{method: bool}``, whether the recorded finalists are its stage-1 leaders.
        best_eps: ``{method: eps}`` of the finalist with the best 3-seed mean (None until all have run).
        recipe: the shared recipe the grid ran at; epsilons: the grid.
        wall_time_s, n_runs: recorded compute.
        claims: none (a search records a choice, not a claim of the paper).
    """

    val_acc: dict[str, dict[str, float]]
    finalist_val: dict[str, dict[str, dict[str, Any]]]
    stage1_best: dict[str, str | None]
    finalists_lead_stage1: dict[str, bool]
    best_eps: dict[str, str | None]
    recipe: dict[str, Any]
    epsilons: list[float]
    wall_time_s: float
    n_runs: int
    claims: list[Claim] = field(default_factory=list)


def _summarize(results: dict[str, dict[str, Any]], budget: str) -> BaselineEpsSummary:
    val: dict[str, dict[str, float]] = {}
    fin: dict[str, dict[str, dict[str, Any]]] = {}
    lead: dict[str, bool] = {}
    best: dict[str, str | None] = {}
    for m in METHODS:
        val[m] = {f"{e:g}": 100.0 * results[k]["metrics"]["probe_val_acc"]
                  for e in epsilons(budget) if (k := key(m, e)) in results}
        ranked = sorted(val[m], key=lambda e: -val[m][e])
        lead[m] = set(ranked[:len(finalists(budget)[m])]) == {f"{e:g}" for e in finalists(budget)[m]}
        fin[m] = {}
        for e in finalists(budget)[m]:
            accs = {s: 100.0 * results[k]["metrics"]["probe_val_acc"]
                    for s in range(FINAL_SEEDS) if (k := key(m, e, s)) in results}
            mean, std = mean_std(list(accs.values())) if accs else (float("nan"), float("nan"))
            fin[m][f"{e:g}"] = {"val_acc": accs, "mean": mean, "std": std}
        complete = fin[m] and all(len(v["val_acc"]) == FINAL_SEEDS for v in fin[m].values())
        best[m] = max(fin[m], key=lambda e: fin[m][e]["mean"]) if complete else None
    wall = sum(float(r.get("wall_time", 0.0)) for r in results.values())
    return BaselineEpsSummary(val_acc=val, finalist_val=fin,
                              stage1_best={m: (max(v, key=v.get) if v else None) for m, v in val.items()},
                              finalists_lead_stage1=lead, best_eps=best, recipe=_base(budget),
                              epsilons=list(epsilons(budget)), wall_time_s=wall, n_runs=len(results))


register(Experiment(
    name="baseline_eps",
    figure="Issue 18, item 4: eps per method on validation at the shared recipe",
    claim="Each method is compared at its own best eps of one shared grid, chosen on validation.",
    notebook="../docs/baseline_recipe.md",  # no notebook: the record is a document (path from notebooks/)
    plan=_plan,
    summarize=_summarize,
))
