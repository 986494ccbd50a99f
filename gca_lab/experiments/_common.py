"""Helpers shared by the figure experiments: seeds, per-method tables, paired claims (through
:func:`gca_lab.stats.judge`, the one verdict function)."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from .. import methods as _methods
from ..stats import Claim, PerSeed, judge, mean_std
from ..train import TrainConfig
from ._core import Run

__all__ = ["W1_FAMILY", "COMMITTED_CONVENTION", "stated_convention", "seeds", "train_run", "values", "values_by_seed", "method_table", "claim", "best_claim", "fmt_pm"]


def seeds(budget: str, full: int = 5, quick: int = 1) -> list[int]:
    """Seeds of a budget: ``0 .. full-1`` (``quick`` of them in quick mode)."""
    return list(range(quick if budget == "quick" else full))


W1_FAMILY = frozenset(_methods.names(w1=True))
"""Methods with a RINCE / W1 term (RINCE, GCA-RINCE, UOT, GCA-UOT): the ones whose values, gradients and
unbalanced plans depend on the cost and mass convention (:mod:`gca_lab.losses`, "Conventions")."""

COMMITTED_CONVENTION = "chuang"
"""The convention of the committed results of the figure experiments (cost ``-cos``, unit masses): they
were computed before the library's default became ``"gca"`` (cost ``1 - cos``, masses ``1/n``), so
their specs state it, and their cached results stay what their specs compute."""


def stated_convention(method: str, loss_options: dict[str, Any] | None = None,
                      convention: str = COMMITTED_CONVENTION) -> dict[str, Any]:
    """``loss_options`` with ``convention`` merged in for a W1-family ``method`` (an explicit
    ``convention`` in ``loss_options`` wins); unchanged for the others, whose losses do not depend on it."""
    opts = dict(loss_options or {})
    if method in W1_FAMILY:
        opts.setdefault("convention", convention)
    return opts


def train_run(key: str, *, convention: str | None = None, **fields: Any) -> Run:
    """A training run with :class:`gca_lab.train.TrainConfig` ``fields``. With ``convention``, a W1-family
    method states it in ``loss_options`` (:func:`stated_convention`); the figure experiments whose results
    are committed pass :data:`COMMITTED_CONVENTION`."""
    if convention is not None:
        opts = stated_convention(fields.get("method", TrainConfig.method), fields.get("loss_options"), convention)
        if opts:
            fields = {**fields, "loss_options": opts}
    return Run(key, "train", dict(fields))


def values(results: dict[str, dict[str, Any]], keys: Sequence[str], metric: str = "probe_test_acc") -> list[float]:
    """``metric`` of each run key (in %, for accuracies) in order; missing runs are skipped."""
    out = []
    for k in keys:
        if k in results:
            v = results[k]["metrics"][metric] if "metrics" in results[k] else results[k][metric]
            out.append(100.0 * v if metric.endswith("acc") or metric.startswith("corrupt/") else float(v))
    return out


def values_by_seed(results: dict[str, dict[str, Any]], key: str, seed_list: Sequence[int],
                   metric: str = "probe_test_acc") -> dict[int, float]:
    """``{seed: metric}`` of the runs ``key.format(seed=s)`` that exist (scaled as in :func:`values`):
    what :func:`claim` pairs on, so a missing run drops its seed from both sides."""
    out = {}
    for s in seed_list:
        v = values(results, [key.format(seed=s)], metric)
        if v:
            out[s] = v[0]
    return out


def fmt_pm(vals: Sequence[float], digits: int = 2) -> str:
    """``"mean +- std (n=..)"``."""
    if not vals:
        return "n/a"
    m, s = mean_std(list(vals))
    return f"{m:.{digits}f} ± {s:.{digits}f} (n={len(vals)})"


def method_table(results: dict[str, dict[str, Any]], key: str, methods: Sequence[str], seed_list: Sequence[int],
                 metric: str = "probe_test_acc") -> dict[str, dict[str, Any]]:
    """Per method: values (in seed order), ``by_seed`` (``{seed: value}``), mean and std of ``metric``;
    ``key`` is formatted with ``method`` and ``seed``; missing runs are left out."""
    table = {}
    for m in methods:
        by_seed = values_by_seed(results, key.replace("{method}", m), seed_list, metric)
        vals = list(by_seed.values())
        mean, std = mean_std(vals) if vals else (float("nan"), float("nan"))
        table[m] = {"values": vals, "by_seed": by_seed, "mean": mean, "std": std}
    return table


def claim(label: str, a: PerSeed, b: PerSeed, paper: str, paper_effect: float | None) -> Claim:
    """An ordering claim ``a >= b`` (per-seed ``{seed: value}``, paired on the seeds both have): the
    paired difference over seeds with its 95% interval, its detectable effect, and the verdict of
    :func:`gca_lab.stats.judge` against ``paper_effect`` (the paper's ``a - b``, same units; ``None``
    if the paper reports none)."""
    return judge(label, paper, a=a, b=b, paper_effect=paper_effect)


def best_claim(label: str, by_method: dict[str, dict[int, float]], means: dict[str, float], method: str,
               paper: str, paper_effect: float | None) -> Claim:
    """"``method`` is the best": ``method`` against the strongest other method (by mean; the
    runner-up when ``method`` leads), paired by seed. Picking the opponent by its mean favours the
    opponent, so a ``reproduced`` here is not an artefact of the choice."""
    others = [m for m in means if m != method and by_method.get(m)]
    rival = max(others, key=lambda m: means[m])
    c = judge(label, paper, a=by_method[method], b=by_method[rival], paper_effect=paper_effect)
    return dataclasses.replace(c, ours=f"{c.ours} vs {rival}")
