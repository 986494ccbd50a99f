"""Results 1 (standard setting): linear-probe accuracy of every method (NeurIPS 2024 poster, panel "Results 1. Standard Setting").

Protocol: each method trains the same compact encoder on the same data with the same
augmentations and optimizer (Adam, cosine schedule, batch 256, ``eps = 0.5``, ``n_iters = 10``,
``lam = 0.01``, ``q = 0.6``, ``rho = 0.2``); the frozen linear probe (``C`` chosen on validation)
reports test accuracy; five seeds per method (seed = model init, batch order and augmentation; the
data split is fixed). Datasets: digits (ConvNet, 20 epochs, bundled) and Fashion-MNIST (MLP, 5 epochs,
on a 5k-image training subset and a 2k-image test subset; where the Debian files are missing, its
runs are loaded from the committed cache and marked so). GCA methods use the paper's ``B x B`` cross-view formulation (symmetrized); SimCLR is the joint
``2B x 2B`` NT-Xent. The INCE runs also probe their *random-init* encoder (``probe_init``): digits
is nearly linearly separable from pixels, so the gain over an untrained encoder is the honest
yardstick of what pretraining adds.

Budgets: ``full`` = 9 methods x 5 seeds x 2 datasets = 90 runs; ``quick`` = 3 methods x 2 seeds of a
2-epoch MLP on digits (6 runs, seconds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import data as _data
from . import paper
from ._common import COMMITTED_CONVENTION, best_claim, claim, method_table, seeds, train_run
from ._core import Experiment, Run, register

DATASETS = {
    # dataset: (model, epochs, extra TrainConfig fields)
    "digits": ("convnet", 20, {}),
    "fashion_mnist": ("mlp", 5, {"max_train": 5000, "max_test": 2000}),
}
QUICK_METHODS = ("ince", "gca_ince", "gca_uot")
QUICK = {"dataset": "digits", "model": "mlp", "epochs": 2}
BASELINE_METHOD = "ince"  # its runs also probe the random-init encoder (probe_init=True)
KEY = "{dataset}/{method}/seed{seed}"
PAPER_EFFECT_FROM = "CIFAR-10"  # the paper column whose gaps are the effects verdicts weigh (the smallest images)


def dataset_available(name: str, root: str | Path | None = None) -> bool:
    """Whether ``name``'s files can be found (digits is bundled; Fashion-MNIST needs its IDX files)."""
    return _data.missing_files(name, root) is None


def datasets(budget: str) -> list[str]:
    """The datasets of a budget, whether or not their files are on this machine: the plan (and so
    the committed results' hash) must be the same everywhere; runs whose data is missing here are
    loaded from the committed cache (see :func:`gca_lab.experiments.run`)."""
    return [QUICK["dataset"]] if budget == "quick" else list(DATASETS)


def skipped(budget: str) -> dict[str, str]:
    """Datasets of the budget whose files are missing here, with what that means for their runs."""
    return {d: "data missing here: results loaded from the committed cache (see data/README.md; "
               "`apt-get install dataset-fashion-mnist` to recompute them)"
            for d in datasets(budget) if not dataset_available(d)}


def methods(budget: str) -> tuple[str, ...]:
    """The methods of a budget, in the poster's bar order."""
    return QUICK_METHODS if budget == "quick" else paper.METHODS


def seed_list(budget: str) -> list[int]:
    return seeds(budget, full=5, quick=2)


def _plan(budget: str) -> list[Run]:
    runs = []
    for dataset in datasets(budget):
        if budget == "quick":
            model, epochs, extra = QUICK["model"], QUICK["epochs"], {}
        else:
            model, epochs, extra = DATASETS[dataset]
        for method in methods(budget):
            for seed in seed_list(budget):
                fields = dict(dataset=dataset, model=model, method=method, epochs=epochs, seed=seed, **extra)
                if method == BASELINE_METHOD:
                    fields["probe_init"] = True
                runs.append(train_run(KEY.format(dataset=dataset, method=method, seed=seed),
                                      convention=COMMITTED_CONVENTION, **fields))
    return runs


def _present(results: dict[str, dict[str, Any]], budget: str) -> list[str]:
    names = [QUICK["dataset"]] if budget == "quick" else list(DATASETS)
    return [d for d in names if any(k.startswith(f"{d}/") for k in results)]


def _summarize(results: dict[str, dict[str, Any]], budget: str) -> dict[str, Any]:
    ds = _present(results, budget)
    ms = methods(budget)
    sl = seed_list(budget)
    tables = {d: method_table(results, KEY.replace("{dataset}", d), ms, sl) for d in ds}
    init = {}
    for d in ds:
        keys = [KEY.format(dataset=d, method=BASELINE_METHOD, seed=s) for s in sl]
        keys = [k for k in keys if k in results and "init_probe_test_acc" in results[k].get("metrics", {})]
        init[d] = method_table(results, KEY.replace("{dataset}", d), [BASELINE_METHOD], sl,
                               metric="init_probe_test_acc")[BASELINE_METHOD] if keys else None
    rows = []
    gains: dict[str, dict[str, dict[str, Any]]] = {}
    for d in ds:
        t = tables[d]
        keyed = {m: t[m]["by_seed"] for m in ms}
        gap = lambda a, b: paper.gap(paper.STANDARD, a, b)[PAPER_EFFECT_FROM]  # noqa: E731
        rows.append(claim(f"GCA-UOT ≥ INCE ({d})", keyed["gca_uot"], keyed["ince"],
                          "+0.60 / +2.76 / +1.08 (C10 / C100 / IN100)", gap("gca_uot", "ince")))
        rows.append(claim(f"GCA-INCE ≥ INCE ({d})", keyed["gca_ince"], keyed["ince"],
                          "+0.35 / +1.16 / +0.03", gap("gca_ince", "ince")))
        if "rince" in keyed:
            rows.append(claim(f"GCA-RINCE ≥ RINCE ({d})", keyed["gca_rince"], keyed["rince"],
                              "+1.04 / +0.18 / +1.53", gap("gca_rince", "rince")))
        if init.get(d) is not None:
            rows.append(claim(f"pretraining beats the random-init encoder (INCE, {d})", keyed["ince"],
                              init[d]["by_seed"], "(not reported)", None))
        if len(ms) > 3:
            means = {m: t[m]["mean"] for m in ms}
            c10 = paper.STANDARD[PAPER_EFFECT_FROM]
            runner_up = max((m for m in c10 if m != "gca_uot"), key=lambda m: c10[m])
            rows.append(best_claim(f"GCA-UOT is the best method ({d})", keyed, means, "gca_uot",
                                   f"best on all 3 datasets (C10: +{c10['gca_uot'] - c10[runner_up]:.2f} over "
                                   f"{paper.LABELS[runner_up]})", round(c10["gca_uot"] - c10[runner_up], 2)))
        # Gain of every method over INCE, paired by seed (a scale-free comparison with the paper's gaps).
        gains[d] = {m: claim(f"{m} − INCE", keyed[m], keyed["ince"], "",
                             gap(m, "ince") if gap(m, "ince") > 0 else None) for m in ms if m != "ince"}
    wall = sum(float(r.get("wall_time", 0.0)) for r in results.values())
    return {
        "tables": tables, "claims": rows, "paper": paper.STANDARD, "datasets": ds, "methods": list(ms),
        "seeds": sl, "init_baseline": init, "gains_vs_ince": gains, "skipped": skipped(budget),
        "wall_time_s": wall, "n_runs": len(results),
    }


register(Experiment(
    name="main_results",
    figure="Results 1 (standard setting)",
    claim="GCA-UOT gives the best linear-readout accuracy; GCA versions beat their one-step counterparts.",
    notebook="05_main_results.ipynb",
    plan=_plan,
    summarize=_summarize,
))

__all__ = ["DATASETS", "KEY", "dataset_available", "datasets", "methods", "seed_list", "skipped"]
