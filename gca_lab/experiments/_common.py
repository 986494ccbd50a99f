"""Helpers shared by the figure experiments: seeds, per-method tables, claims with verdicts."""

from __future__ import annotations

from typing import Any, Sequence

from ..stats import PerSeed, mean_std, paired_difference, verdict
from ._core import Run

__all__ = ["seeds", "train_run", "values", "values_by_seed", "method_table", "claim", "fmt_pm"]


def seeds(budget: str, full: int = 5, quick: int = 1) -> list[int]:
    """Seeds of a budget: ``0 .. full-1`` (``quick`` of them in quick mode)."""
    return list(range(quick if budget == "quick" else full))


def train_run(key: str, **fields: Any) -> Run:
    """A training run with :class:`gca_lab.train.TrainConfig` ``fields``."""
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


def claim(label: str, a: PerSeed, b: PerSeed, paper: str) -> dict[str, Any]:
    """An ordering claim ``a >= b`` judged by the paired difference over seeds (95% t-interval,
    :func:`gca_lab.stats.paired_difference`).

    ``a`` and ``b`` are ``{seed: value}`` (paired on the seeds both have) or two sequences of the
    same length already aligned by seed (e.g. per-round timings of one interleaved run).
    Verdicts (:func:`gca_lab.stats.verdict`): ``reproduced`` (interval above 0), ``consistent``
    (interval contains 0), ``not reproduced`` (mean below 0). With a single seed (quick budget) no
    interval exists and the verdict says so.
    """
    common = set(a) & set(b) if isinstance(a, dict) and isinstance(b, dict) else None
    if not a or not b or common == set():
        return {"claim": label, "paper": paper, "ours": "n/a", "verdict": "not run"}
    diff = paired_difference(a, b)
    n = diff.n
    if n < 2:
        v = "single seed: no interval"
    else:
        v = verdict(diff)
    return {
        "claim": label, "paper": paper, "ours": f"{diff.mean:+.2f} [{diff.low:+.2f}, {diff.high:+.2f}] (n={n})",
        "verdict": v, "mean": diff.mean, "low": diff.low, "high": diff.high, "n": n,
    }
