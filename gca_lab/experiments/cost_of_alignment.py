"""Poster "Time complexity" figure (NeurIPS 2024 poster, panel "Time complexity"): what do the Sinkhorn iterations cost?

Two measurements, each one compute run so that machine noise hits every method alike:

- ``epochs``: per-epoch training time of INCE, GCA-INCE, RINCE, GCA-RINCE, UOT and GCA-UOT on the
  MNIST-1D protocol (:data:`gca_lab.experiments._common.MNIST1D`: 14,000 training signals,
  ConvNet1d, the standard signal views, Adam) at ``B = 256``, the W1 family in the ``"gca"``
  convention. The methods are trained in *rounds*: every round trains each method for a few
  epochs (``train()``, no probe), in an order rotated from round to round; the first epoch of
  every call is dropped (allocator warm-up). Per round, the ratio of the median epoch time of a
  GCA method to that of its one-step base is one paired sample.
- ``loss``: time of one loss forward + backward on random embeddings against the batch size
  (interleaved over methods, median over repeats), with the log-log slope fitted over the sizes
  (the ``O(B^2)`` kernel and Sinkhorn steps predict ~2 once the batch is large enough that
  per-call overheads no longer dominate).

Timings depend on the machine and its load: the results record the host, the thread count and
the load average while they ran.

Budgets: ``full`` = 6 rounds x 6 methods x 3 epochs of MNIST-1D (the first of each call dropped) and
loss sizes 128-1024 x 3 repeats: 151 s (2.5 min) of recorded compute with two threads on the 2-core
machine, alone on it (load average 0.8 at the start); ``quick`` = 2 rounds x 2 epochs of the digits MLP and loss
sizes 64-256 (seconds).
"""

from __future__ import annotations

import dataclasses
import os
import platform
import statistics
import time
from typing import Any

import torch

from .. import methods as _methods
from ..stats import Claim, judge, loglog_slope, mean_std
from . import paper
from ._common import CONVENTION, MNIST1D, W1_FAMILY, Summary
from ._core import Experiment, Run, computation, register

METHODS = ("ince", "gca_ince", "rince", "gca_rince", "uot", "gca_uot")
PAIRS = (("gca_ince", "ince"), ("gca_rince", "rince"), ("gca_uot", "uot"))
OVERHEAD_BOUND = 0.10  # the poster's "about 1% more time", with a margin: <= 10% per-epoch overhead of 10-iteration GCA at B = 256

BUDGETS = {
    "quick": {"epochs": dict(dataset="digits", model="mlp", rounds=2, epochs=2, batch_size=256),
              "loss": dict(sizes=[64, 128, 256], repeats=2)},
    "full": {"epochs": dict(dataset=MNIST1D["dataset"], model=MNIST1D["model"], rounds=6, epochs=3, batch_size=256),
             "loss": dict(sizes=[128, 256, 512, 1024], repeats=3)},
}


def _machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {"host": platform.node(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "load_avg": list(load)}


@computation("cost_of_alignment.epoch_times")
def epoch_times(*, methods: list[str], rounds: int, epochs: int, model: str = "convnet", dataset: str = "digits",
                batch_size: int = 256, seed: int = 0, device: str = "cpu", convention: str = "gca") -> dict[str, Any]:
    """Per-epoch training times of ``methods``, trained in ``rounds`` with a rotating order; the W1-family
    methods with loss ``convention`` (:mod:`gca_lab.losses`, "Conventions").

    Returns ``{"epoch_times": {method: [[epoch times of round r] for r]}, "machine_start",
    "machine_end"}``; the first epoch of every ``train()`` call is dropped when ``epochs > 1``.
    """
    from ..train import TrainConfig, train

    start = _machine()
    out: dict[str, list[list[float]]] = {m: [] for m in methods}
    for r in range(rounds):
        order = list(methods[r % len(methods):]) + list(methods[: r % len(methods)])
        if r % 2:
            order.reverse()
        for m in order:
            res = train(TrainConfig(dataset=dataset, model=model, method=m, epochs=epochs, batch_size=batch_size,
                                    seed=seed, probe=False, progress=False, device=device,
                                    loss_options={"convention": convention} if m in W1_FAMILY else {}))
            times = res.history["epoch_time"]
            out[m].append(times[1:] if len(times) > 1 else times)
    return {"epoch_times": out, "machine_start": start, "machine_end": _machine(),
            "steps_per_epoch_note": f"{dataset}, {model}, B={batch_size}"}


@computation("cost_of_alignment.loss_times")
def loss_times(*, methods: list[str], sizes: list[int], repeats: int, dim: int = 64, seed: int = 0,
               convention: str = "gca") -> dict[str, Any]:
    """Median time (s) of one loss forward + backward on random ``(B, dim)`` embeddings per batch size.

    Methods are interleaved inside every repeat (rotating order), after one untimed warm-up call each.
    Losses use the library defaults (``eps = 0.5``, ``n_iters = 10``, symmetric cross layout).
    """
    gen = torch.Generator().manual_seed(seed)
    fns = {m: _methods.make_loss(m, symmetric=True, convention=convention) for m in methods}
    all_times: dict[str, list[list[float]]] = {m: [] for m in methods}
    for b in sizes:
        z1 = torch.randn(b, dim, generator=gen)
        z2 = z1 + 0.5 * torch.randn(b, dim, generator=gen)
        per: dict[str, list[float]] = {m: [] for m in methods}
        for rep in range(repeats + 1):
            order = list(methods[rep % len(methods):]) + list(methods[: rep % len(methods)])
            for m in order:
                a, c = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
                t0 = time.perf_counter()
                fns[m](a, c).backward()
                dt = time.perf_counter() - t0
                if rep > 0:  # the first pass is a warm-up
                    per[m].append(dt)
        for m in methods:
            all_times[m].append(per[m])
    medians = {m: [statistics.median(t) for t in all_times[m]] for m in methods}
    return {"sizes": list(sizes), "median": medians, "all": all_times, "machine": _machine()}


def _plan(budget: str) -> list[Run]:
    cfg = BUDGETS[budget]
    return [
        Run("epochs", "compute", {"fn": "cost_of_alignment.epoch_times", "methods": list(METHODS), **cfg["epochs"],
                                  "convention": CONVENTION}),
        Run("loss", "compute", {"fn": "cost_of_alignment.loss_times", "methods": list(METHODS), **cfg["loss"],
                                "convention": CONVENTION}),
    ]


PAPER_MODEL = "resnet18"
"""The encoder of the poster's timings: the epoch overhead of a loss is its share of an epoch, so it compares
with the poster's only on the same encoder."""

COMPUTE_BOUND_B = 2048
"""The smallest largest batch size at which a loss-time slope tests ``O(B^2)``: at ``B <= 1024`` per-call
overheads dominate a CPU loss call (the slopes at larger sizes are in ``benchmarks/README.md``)."""


def epoch_no_test(budget: str) -> str | None:
    """Why the epoch-overhead claims have no valid test in this budget (``None`` on the paper's encoder)."""
    model = BUDGETS[budget]["epochs"]["model"]
    if model == PAPER_MODEL:
        return None
    return (f"the {model} encoder of this budget is tiny next to the poster's ResNet-18, so the loss is a far larger "
            "share of an epoch: the overhead measured here is the loss's, not the method's cost in the paper's regime")


def slope_no_test(sizes: list[int]) -> str | None:
    """Why a loss-time slope over ``sizes`` cannot test ``O(B^2)`` (``None`` once it reaches
    :data:`COMPUTE_BOUND_B`)."""
    if max(sizes) >= COMPUTE_BOUND_B:
        return None
    return (f"B ≤ {max(sizes)}: fixed per-call overheads dominate the loss time at these sizes, so the slope says "
            "nothing about the O(B^2) term (benchmarks/README.md measures it at larger B)")


@dataclasses.dataclass(frozen=True)
class CostOfAlignmentSummary(Summary):
    """What notebook 08 reads (each timing part None when it did not run).

    Attributes:
        paper: the poster's epoch times (:data:`paper.TIME`).
        claims: the claims of the paper.
        epoch_table: ``{method: {"mean", "std", "median", "n"}}`` of epoch times (s).
        per_round: ``{method: [median epoch time per round]}``.
        overhead: ``{gca method: {"values", "mean", "low", "high"}}`` over its base (fractions).
        machine, loss_machine: the host and its load while the timings ran.
        slopes: ``{method: log-log slope of the loss time against B}``.
    """

    paper: dict[str, list[float]]
    claims: list[Claim]
    epoch_table: dict[str, dict[str, float]] | None = None
    per_round: dict[str, list[float]] | None = None
    overhead: dict[str, dict[str, Any]] | None = None
    machine: dict[str, Any] | None = None
    slopes: dict[str, float] | None = None
    loss_machine: dict[str, Any] | None = None


def _summarize(results: dict[str, dict[str, Any]], budget: str) -> CostOfAlignmentSummary:
    rows: list[dict[str, Any]] = []
    out: dict[str, Any] = {"paper": paper.TIME, "claims": rows}
    if "epochs" in results:
        et = results["epochs"]["epoch_times"]
        per_round = {m: [statistics.median(r) for r in et[m]] for m in et}
        flat = {m: [t for r in et[m] for t in r] for m in et}
        out["epoch_table"] = {m: dict(zip(("mean", "std"), mean_std(flat[m])), median=statistics.median(flat[m]),
                                      n=len(flat[m])) for m in et}
        out["per_round"] = per_round
        overhead = {}
        for gca, base in PAIRS:
            if gca not in per_round or base not in per_round:
                continue
            ratios = [g / b - 1.0 for g, b in zip(per_round[gca], per_round[base])]
            p_over = paper.TIME[gca][-1] / paper.TIME[base][-1] - 1.0
            # "overhead <= bound" as an ordering claim: the margin (bound - overhead), in %, paired over rounds
            c = judge(f"{paper.LABELS[gca]} epoch overhead vs {paper.LABELS[base]} <= {100 * OVERHEAD_BOUND:.0f}%",
                      f"{100 * p_over:+.1f}% (poster, epoch bin 40), {100 * (OVERHEAD_BOUND - p_over):.1f} points under the bound",
                      a=[100 * OVERHEAD_BOUND] * len(ratios), b=[100 * r for r in ratios],
                      paper_effect=round(100 * (OVERHEAD_BOUND - p_over), 2), units="%",
                      rule=f"margin {100 * OVERHEAD_BOUND:.0f}% − overhead per round, 95% t-interval over rounds: "
                           "above 0 reproduced, below 0 contradicted; containing 0: not reproduced if its upper "
                           "bound is below the paper's margin and MDE80 <= it, else inconclusive",
                      no_test=epoch_no_test(budget))
            # the overhead (fraction) and its interval, read back from the margin's
            ov = {"values": ratios, "mean": OVERHEAD_BOUND - c.mean / 100,
                  "low": OVERHEAD_BOUND - c.high / 100, "high": OVERHEAD_BOUND - c.low / 100}
            overhead[gca] = ov
            rows.append(dataclasses.replace(c, ours=f"overhead {100 * ov['mean']:+.1f}% [{100 * ov['low']:+.1f}, "
                                                    f"{100 * ov['high']:+.1f}] (rounds={len(ratios)})"))
        out["overhead"] = overhead
        for fast, p_note in (("rince", "poster"), ("uot", "poster")):
            if "ince" in per_round and fast in per_round:
                p_fast = 1.0 - paper.TIME[fast][-1] / paper.TIME["ince"][-1]
                rows.append(judge(f"{paper.LABELS[fast]} epoch faster than INCE (% of INCE's epoch time)",
                                  f"{100 * p_fast:.0f}% faster ({p_note}, epoch bin 40)",
                                  a=[100 * (1 - f / i) for f, i in zip(per_round[fast], per_round["ince"])],
                                  b=[0.0] * len(per_round["ince"]), paper_effect=round(100 * p_fast, 2), units="%"))
        out["machine"] = results["epochs"].get("machine_start")
    if "loss" in results:
        lt = results["loss"]
        sizes = lt["sizes"]
        slopes = {m: loglog_slope(sizes, lt["median"][m])[0] for m in lt["median"]}
        out["slopes"] = slopes
        for m in ("ince", "gca_ince", "gca_uot"):
            if m in slopes:
                s = slopes[m]
                rows.append(judge(f"{paper.LABELS[m]} loss time ~ B^2 (log-log slope in [1.7, 2.3])",
                                  "O(B^2) per Sinkhorn step (arXiv 2502.20141, complexity analysis)", holds=bool(1.7 <= s <= 2.3),
                                  ours=f"slope {s:.2f} over B = {sizes[0]}..{sizes[-1]}",
                                  rule="least-squares log-log slope of the median loss time in [1.7, 2.3]",
                                  no_test=slope_no_test(sizes)))
        out["loss_machine"] = lt.get("machine")
    return CostOfAlignmentSummary(**out)


register(Experiment(
    name="cost_of_alignment",
    figure="NeurIPS 2024 poster, panel 'Time complexity'",
    claim="The iterative GCA losses cost only ~1% more time per epoch than their one-step counterparts.",
    notebook="08_cost_of_alignment.ipynb",
    plan=_plan,
    summarize=_summarize,
))
