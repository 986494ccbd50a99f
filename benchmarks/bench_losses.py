"""Forward + backward time of every loss of :mod:`gca_lab.losses` against a dense implementation of
the authors' algorithm (nerdslab/gca), on the joint and the cross layout (CPU, float32).

Usage::

    python benchmarks/bench_losses.py                 # 2N in {512, 1024, 2048, 4096}, both layouts
    python benchmarks/bench_losses.py --quick         # 2N in {256, 512}, a smoke run
    python benchmarks/bench_losses.py --epochs-dataset mnist1d [--epochs 2]   # + epoch time per method
    python benchmarks/bench_losses.py --goals 25      # only the issue's goal ratios at 2N = 1024, interleaved
    python benchmarks/bench_losses.py --tiled 7       # tiled vs dense ratios (issue 15, item 4), interleaved

A batch is ``N`` samples with two views each: ``z1``, ``z2`` of shape ``(N, 128)``, leaves with
``requires_grad``; one timed call is ``loss(z1, z2).backward()``. Layouts:

- ``joint``: the ``2N x 2N`` plan over all views (the authors' code, SimCLR's NT-Xent);
- ``cross``: the ``N x N`` plan between the two views (the paper's formulation) for the same batch.

Rows:

- ``ours``: the library's default (``convention="gca"``), ``check_inputs=False`` as in training (no
  host sync). In the joint layout its self-pairs are masked; ``ours, reference`` is
  ``convention="reference"`` (self-pairs at maximum cost, clamped cosines): the very values of the
  dense rows, computed by the same code path. ``detached`` rows use ``grad="detached"``.
- ``dense``: the authors' algorithm written here the way their code writes it: kernel
  ``exp(-(1 - clamp(cos))/eps)`` (self-pairs at the maximum cost in the joint layout), scalings
  ``u = (a / K v)^phi``, ``v = (b / K^T u)^phi`` (``phi = 1``: balanced), the plan formed as
  ``torch.diag(u) @ K @ torch.diag(v)``, ``F.cross_entropy(P.log(), partner)`` and the W1 term
  ``-(P_pos / u)^q / q + (lam / u)^q / q`` (the target with unit entries of nerdslab/gca 81a2137); RINCE is their ``gca_loss_imagenet.py`` RINCE on
  ``exp(cos/eps)``; the NT-Xent row is a plain ``F.cross_entropy`` NT-Xent. Before timing every dense
  value is checked against ``ours, reference`` in float64 (relative 1e-6).

Reported: medians (ms), ``x NT-Xent`` (joint) or ``x InfoNCE`` (cross) of our same-layout one-step
loss, ``dense / ours`` (the default ``ours`` row; > 1: ours faster), and the least-squares slope of ``log time`` against
``log 2N`` (2 = quadratic). Speed is measured here, never asserted in tests. CPU contention from
other processes inflates absolute times; compare ratios within one run (the load is printed).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

# Idle OpenMP threads sleep instead of spinning (must be set before torch loads).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gca_lab.methods import make_loss  # noqa: E402
from gca_lab.stats import loglog_slope  # noqa: E402

EPS = 0.5
N_ITERS = 10
DIM = 128
LAM, Q, RHO, R2 = 0.01, 0.6, 0.2, 0.2
METHODS = ["simclr", "ince", "rince", "gca_ince", "gca_rince", "uot", "gca_uot", "iot", "iot_uni"]
DENSE = ["simclr", "ince", "rince", "gca_ince", "gca_rince", "uot", "gca_uot"]
ITERS = {"gca_ince": N_ITERS, "gca_rince": N_ITERS, "gca_uot": N_ITERS, "iot": N_ITERS, "iot_uni": N_ITERS}


# -- the authors' algorithm, dense -------------------------------------------------------------


def _views_and_partner(z1, z2, layout):
    if layout == "joint":
        z = F.normalize(torch.cat([z1, z2]), dim=1)
        n = len(z)
        return z, z, (torch.arange(n, device=z.device) + n // 2) % n
    return F.normalize(z1, dim=1), F.normalize(z2, dim=1), torch.arange(len(z1), device=z1.device)


def dense_kernel(z1, z2, layout, eps=EPS):
    x, y, partner = _views_and_partner(z1, z2, layout)
    cost = 1 - (x @ y.T).clamp(min=1e-7)
    if layout == "joint":
        eye = torch.eye(len(x), dtype=torch.bool, device=x.device)
        cost = torch.where(eye, cost.max(), cost)
    return torch.exp(-cost / eps), partner


def dense_scalings(K, iters, masses, phi=1.0):
    n = len(K)
    a = K.new_full((n,), 1.0 if masses == "one" else 1.0 / n)
    u, v = a, a
    for _ in range(iters):
        u = (a / (K @ v)) ** phi
        v = (a / (K.T @ u)) ** phi
    return a, u, v


def dense_w1(P, u, a, partner, lam=LAM, q=Q):
    # the target has unit entries (nerdslab/gca 81a2137): the negative term is (lam / u)^q / q
    pos = P[torch.arange(len(P)), partner] / u
    return -(pos**q) / q + (lam / u) ** q / q


def dense(name: str, layout: str) -> Callable:
    """The authors' algorithm for ``name`` (dense diag products; see the module docstring)."""

    def loss(z1, z2):
        if name == "simclr":  # plain F.cross_entropy NT-Xent (always the joint layout)
            z = F.normalize(torch.cat([z1, z2]), dim=1)
            n = len(z)
            logits = (z @ z.T).clamp(min=1e-7) / EPS - 1e5 * torch.eye(n, device=z.device)
            return F.cross_entropy(logits, (torch.arange(n, device=z.device) + n // 2) % n)
        if name == "rince":  # gca_loss_imagenet.py rince: Chuang et al. on exp(cos / eps)
            x, y, partner = _views_and_partner(z1, z2, layout)
            sim = torch.exp(x @ y.T / EPS)
            if layout == "joint":
                sim = sim * (1 - torch.eye(len(x), device=x.device))
            pos = sim[torch.arange(len(sim)), partner]
            return (-(pos**Q) / Q).mean() + ((LAM * sim.sum(1)) ** Q / Q).mean()
        K, partner = dense_kernel(z1, z2, layout)
        if name == "ince":  # hs_ince: one row normalization
            P = torch.diag(1 / K.sum(1)) @ K
            return F.cross_entropy(P.log(), partner)
        iters = 1 if name == "uot" else N_ITERS
        masses = "one" if name == "gca_ince" else "uniform"
        phi = RHO / (RHO + EPS) if name in ("uot", "gca_uot") else 1.0
        a, u, v = dense_scalings(K, iters, masses, phi)
        P = torch.diag(u) @ K @ torch.diag(v)
        if name == "gca_ince":
            return F.cross_entropy(P.log(), partner)
        w1 = dense_w1(P, u, a, partner)
        if name == "gca_rince":
            return w1.mean()
        return (R2 * w1 + F.cross_entropy(P.log(), partner, reduction="none")).mean()

    return loss


# -- ours --------------------------------------------------------------------------------------


def ours(name: str, layout: str, convention: str = "gca", grad: str = "unroll"):
    kwargs = dict(eps=EPS, convention=convention, check_inputs=False)
    if name != "simclr":
        kwargs["layout"] = layout
    if name in ITERS:
        kwargs["n_iters"] = ITERS[name]
    if name in ("rince", "gca_rince", "uot", "gca_uot"):
        kwargs.update(lam=LAM, q=Q)
    if name in ("uot", "gca_uot"):
        kwargs["rho"] = RHO
    if grad != "unroll":
        kwargs["grad"] = grad
    return make_loss(name, **kwargs)


def check_values(layout: str) -> None:
    """Every dense row computes ours' ``convention="reference"`` value (float64, relative 1e-6)."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(48, DIM, generator=g, dtype=torch.float64)
    z1 = x + 0.5 * torch.randn(48, DIM, generator=g, dtype=torch.float64)
    z2 = x + 0.5 * torch.randn(48, DIM, generator=g, dtype=torch.float64)
    for name in DENSE:
        lay = "joint" if name == "simclr" else layout
        want, got = dense(name, lay)(z1, z2).item(), ours(name, lay, "reference")(z1, z2).item()
        assert abs(want - got) <= 1e-6 * max(1.0, abs(want)), (layout, name, want, got)


# -- timing ------------------------------------------------------------------------------------


def time_once(loss, z1, z2) -> float:
    z1.grad = None
    z2.grad = None
    t0 = time.perf_counter()
    loss(z1, z2).backward()
    return time.perf_counter() - t0


def bench(loss, n_views: int, repeats: int, budget_s: float) -> float:
    """Median forward+backward seconds over up to ``repeats`` calls (fewer if one call is slow)."""
    g = torch.Generator().manual_seed(0)
    b = n_views // 2
    x = torch.randn(b, DIM, generator=g)
    z1 = (x + 0.5 * torch.randn(b, DIM, generator=g)).requires_grad_()
    z2 = (x + 0.5 * torch.randn(b, DIM, generator=g)).requires_grad_()
    first = time_once(loss, z1, z2)  # warm-up; also sizes the number of repeats to the budget
    repeats = max(1, min(repeats, int(budget_s / max(first, 1e-6))))
    return statistics.median(time_once(loss, z1, z2) for _ in range(repeats))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, torch {torch.__version__} (threads={torch.get_num_threads()})"


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def rows_for(layout: str) -> list[tuple[str, str, Callable[[], Callable]]]:
    rows = [(m, "ours", lambda m=m: ours(m, layout)) for m in METHODS]
    rows += [(m, "ours, detached", lambda m=m: ours(m, layout, grad="detached")) for m in ("gca_ince", "gca_uot")]
    rows += [(m, "ours, reference", lambda m=m: ours(m, layout, "reference")) for m in ("gca_ince", "gca_uot")]
    rows += [(m, "dense", lambda m=m: dense(m, "joint" if m == "simclr" else layout)) for m in DENSE]
    return rows


def run_layout(layout: str, sizes: list[int], repeats: dict[int, int], budget: dict[int, float]) -> None:
    check_values(layout)
    load0, start = _load(), time.perf_counter()
    rows = rows_for(layout)
    res: dict[tuple[str, str], dict[int, float]] = {(m, k): {} for m, k, _ in rows}
    for size in sizes:
        for m, kind, make in rows:
            res[m, kind][size] = bench(make(), size, repeats[size], budget[size])
            print(f"  {layout} 2N={size:5d} {m:10s} {kind:16s} {res[m, kind][size] * 1e3:10.1f} ms",
                  file=sys.stderr, flush=True)
    total, load1 = time.perf_counter() - start, _load()
    base_name = "simclr" if layout == "joint" else "ince"
    base = res[base_name, "ours"]
    print(f"\n### {layout} layout ({'2N x 2N' if layout == 'joint' else 'N x N'} plan), "
          f"total {total:.0f} s, 1-min load average {load0:.1f} at start, {load1:.1f} at end\n")
    head = ("| loss | rows | " + " | ".join(f"2N={s} ms" for s in sizes) + " | "
            + " | ".join(f"x {'NT-Xent' if layout == 'joint' else 'InfoNCE'} @{s}" for s in sizes)
            + " | " + " | ".join(f"dense/ours @{s}" for s in sizes) + " | slope |")
    print(head)
    print("|" + "---|" * (3 + 3 * len(sizes)))
    for m, kind, _ in rows:
        r = res[m, kind]
        cells = [f"{r[s] * 1e3:.1f}" for s in sizes]
        ratios = [f"{r[s] / base[s]:.2f}" for s in sizes]
        if kind == "dense" and (m, "ours") in res:
            speed = [f"{r[s] / res[m, 'ours'][s]:.2f}" for s in sizes]
        else:
            speed = ["" for _ in sizes]
        print(f"| {m} | {kind} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " | "
              + " | ".join(speed) + f" | {loglog_slope(sizes, [r[s] for s in sizes])[0]:.2f} |")


GOALS = [  # (layout, label, row, baseline row, goal, "le": ratio at most / "ge": at least); issue 15, item 4
    ("joint", "GCA-INCE (10 rounds, unrolled) / NT-Xent", ("gca_ince", "ours"), ("simclr", "ours"), 1.5, "le"),
    ("joint", "GCA-INCE, detached scalings / NT-Xent", ("gca_ince", "ours, detached"), ("simclr", "ours"), None, "le"),
    ("joint", "dense GCA-INCE / ours (speed-up)", ("gca_ince", "dense"), ("gca_ince", "ours"), None, "ge"),
    ("joint", "GCA-UOT / NT-Xent", ("gca_uot", "ours"), ("simclr", "ours"), 1.6, "le"),
    ("joint", "GCA-UOT, detached / NT-Xent", ("gca_uot", "ours, detached"), ("simclr", "ours"), None, "le"),
    ("joint", "dense GCA-UOT / ours (speed-up)", ("gca_uot", "ours"), ("gca_uot", "dense"), 2.0, "inv"),
    ("joint", "NT-Xent / plain F.cross_entropy NT-Xent", ("simclr", "ours"), ("simclr", "dense"), 1.05, "le"),
    ("cross", "GCA-INCE / InfoNCE", ("gca_ince", "ours"), ("ince", "ours"), 1.8, "le"),
    ("cross", "GCA-INCE, detached / InfoNCE", ("gca_ince", "ours, detached"), ("ince", "ours"), None, "le"),
    ("cross", "GCA-UOT / InfoNCE", ("gca_uot", "ours"), ("ince", "ours"), None, "le"),
]


def goal_ratios(size: int, rounds: int) -> None:
    """The issue's goal ratios at ``2N = size``, robust to a shared machine: every round times each
    row once, in turn, so that a load change hits all of them; the ratio of two rows is taken
    within each round and the median (and quartiles) over rounds is reported."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(size // 2, DIM, generator=g)
    z1 = (x + 0.5 * torch.randn(size // 2, DIM, generator=g)).requires_grad_()
    z2 = (x + 0.5 * torch.randn(size // 2, DIM, generator=g)).requires_grad_()
    makers = {"ours": lambda m, lay: ours(m, lay), "ours, detached": lambda m, lay: ours(m, lay, grad="detached"),
              "dense": lambda m, lay: dense(m, "joint" if m == "simclr" else lay)}
    rows = sorted({(lay, *r) for lay, _, a, b, _, _ in GOALS for r in (a, b)})
    fns = {row: makers[row[2]](row[1], row[0]) for row in rows}
    times: dict[tuple, list[float]] = {row: [] for row in rows}
    load0, start = _load(), time.perf_counter()
    for fn in fns.values():
        time_once(fn, z1, z2)  # warm-up
    for _ in range(rounds):
        for row, fn in fns.items():
            times[row].append(time_once(fn, z1, z2))
    print(f"\n### Goal ratios at 2N = {size} ({rounds} interleaved rounds; total {time.perf_counter() - start:.0f} s, "
          f"1-min load average {load0:.1f} at start, {_load():.1f} at end)\n")
    print("| layout | ratio | median | quartiles | goal | met? |")
    print("|---|---|---|---|---|---|")
    for lay, label, a, b, goal, kind in GOALS:
        ta, tb = times[(lay, *a)], times[(lay, *b)]
        r = sorted((y / x if kind == "inv" else x / y) for x, y in zip(ta, tb))
        med, q1, q3 = statistics.median(r), r[len(r) // 4], r[(3 * len(r)) // 4]
        if goal is None:
            cell, met = "", ""
        elif kind == "le":
            cell, met = f"<= {goal}", "yes" if med <= goal else "**no**"
        else:
            cell, met = f">= {goal}", "yes" if med >= goal else "**no**"
        print(f"| {lay} | {label} | {med:.2f} | {q1:.2f}-{q3:.2f} | {cell} | {met} |", flush=True)


def tiled_ratios(rounds: int, sizes: tuple[int, ...] = (1024, 4096), pass_sizes: tuple[int, ...] = (4096, 8192)) -> None:
    """The tiled backend against the dense one (issue 15, item 4), interleaved rounds, medians of the
    per-round ratios: InfoNCE (cross) and NT-Xent (joint), GCA-INCE (joint) at 1, 3 and 10 rounds, and
    one tiled Sinkhorn half-step (``KernelReduction`` over ``TiledKernel``: blocks recomputed from the
    embeddings) against one dense similarity-plus-logsumexp pass over the same ``n^2`` entries."""
    from gca_lab.reductions import KernelReduction, TiledKernel

    def pair(name, layout, n_iters=None):
        kw = dict(eps=EPS, check_inputs=False)
        if name != "simclr":
            kw["layout"] = layout
        if n_iters is not None:
            kw["n_iters"] = n_iters
        return {b: make_loss(name, backend=b, **kw) for b in ("tiled", "dense")}

    cases = [("InfoNCE, cross", pair("ince", "cross"), 1.5), ("NT-Xent, joint", pair("simclr", "joint"), 1.5)]
    cases += [(f"GCA-INCE joint, {t} rounds", pair("gca_ince", "joint", t), None) for t in (1, 3, 10)]
    print(f"\n### Tiled / dense, forward + backward ({rounds} interleaved rounds, medians of per-round ratios; "
          f"1-min load average {_load():.1f} at start)\n")
    print("| loss | 2N | tiled ms | dense ms | tiled / dense | quartiles | goal | met? |")
    print("|---|---|---|---|---|---|---|---|")
    for size in sizes:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(size // 2, DIM, generator=g)
        z1 = (x + 0.5 * torch.randn(size // 2, DIM, generator=g)).requires_grad_()
        z2 = (x + 0.5 * torch.randn(size // 2, DIM, generator=g)).requires_grad_()
        for label, fns, goal in cases:
            for fn in fns.values():
                time_once(fn, z1, z2)
            t = {b: [] for b in fns}
            for _ in range(rounds):
                for b, fn in fns.items():
                    t[b].append(time_once(fn, z1, z2))
            r = sorted(a / b for a, b in zip(t["tiled"], t["dense"]))
            med = statistics.median(r)
            met = "" if goal is None else ("yes" if med <= goal else "**no**")
            print(f"| {label} | {size} | {statistics.median(t['tiled']) * 1e3:.1f} | "
                  f"{statistics.median(t['dense']) * 1e3:.1f} | {med:.2f} | {r[len(r) // 4]:.2f}-{r[(3 * len(r)) // 4]:.2f} | "
                  f"{'' if goal is None else f'<= {goal}'} | {met} |", flush=True)
    print("\n| n (rows = columns) | tiled half-step ms | similarity + logsumexp pass ms | ratio | goal | met? |")
    print("|---|---|---|---|---|---|")
    for n in pass_sizes:
        g = torch.Generator().manual_seed(1)
        x = F.normalize(torch.randn(n, DIM, generator=g), dim=1)
        w = torch.randn(n, generator=g) * 0.1
        reduce = KernelReduction(TiledKernel(x, x, scale=1 / EPS, offset=-1 / EPS, shift=0.0, masked=False),
                                 x.new_zeros(1), add_shift=False)
        fns = {"tiled": lambda: reduce.rows(w), "dense": lambda: torch.logsumexp((x @ x.T - 1) / EPS + w, dim=-1)}
        with torch.no_grad():
            for fn in fns.values():
                fn()
            t = {b: [] for b in fns}
            for _ in range(rounds):
                for b, fn in fns.items():
                    t0 = time.perf_counter()
                    fn()
                    t[b].append(time.perf_counter() - t0)
        r = sorted(a / b for a, b in zip(t["tiled"], t["dense"]))
        med = statistics.median(r)
        print(f"| {n} | {statistics.median(t['tiled']) * 1e3:.1f} | {statistics.median(t['dense']) * 1e3:.1f} | "
              f"{med:.2f} | <= 1.5 | {'yes' if med <= 1.5 else '**no**'} |", flush=True)


def gradient_ratio_table(b: int = 256) -> None:
    """Gradient-norm ratio ``|grad(w1_weight * W1)| / |grad(KL)|`` of GCA-UOT per convention."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(b, DIM, generator=g)
    z1 = x + 0.5 * torch.randn(b, DIM, generator=g)
    z2 = x + 0.5 * torch.randn(b, DIM, generator=g)
    print(f"\n### GCA-UOT: |grad of 0.2 * W1| / |grad of KL| (B = {b}, d = {DIM}, noise 0.5, rho = {RHO}, "
          f"lam = {LAM}, q = {Q}, 10 rounds, gradient w.r.t. z1)\n")
    print("| eps | gca (default), cross | gca, joint | reference (joint, the authors' code) | chuang, cross | chuang, joint |")
    print("|---|---|---|---|---|---|")
    for eps in (0.5, 0.1):
        cells = []
        for conv, layout in (("gca", "cross"), ("gca", "joint"), ("reference", "joint"), ("chuang", "cross"), ("chuang", "joint")):
            loss = make_loss("gca_uot", eps=eps, convention=conv, layout=layout, lam=LAM, q=Q, rho=RHO)
            a = z1.clone().requires_grad_()
            out = loss.details(a, z2)
            g_kl = torch.autograd.grad(loss.kl_weight * out.terms["kl"], a, retain_graph=True)[0]
            g_w1 = torch.autograd.grad(loss.w1_weight * out.terms["w1"], a)[0]
            cells.append(f"{(g_w1.norm() / g_kl.norm()).item():.3f}")
        print(f"| {eps} | " + " | ".join(cells) + " |")


def epoch_times(dataset: str, epochs: int, methods: list[str], rounds: int = 3) -> None:
    """Seconds per training epoch of each method (``gca_lab.train.train``, probe off) on the protocol
    of the false-positive experiment (``gca_lab.experiments.false_positive_pairs``: 8,000 training
    samples, the dataset's default model and views, batch 256, cross layout, symmetric). The methods
    run in turn, ``rounds`` times, so that load changes hit all of them; median over every epoch."""
    from gca_lab.train import TrainConfig, train

    got: dict[str, list[float]] = {m: [] for m in methods}
    load0, start = _load(), time.perf_counter()
    for _ in range(rounds):
        for m in methods:
            cfg = TrainConfig(dataset=dataset, method=m, epochs=epochs, max_train=8000, probe=False,
                              progress=False, device="cpu")
            got[m] += train(cfg, resume=False).history["epoch_time"]
    print(f"\n### Epoch time on {dataset} (8,000 samples, batch 256, {rounds} x {epochs} epochs per method, "
          f"interleaved; total {time.perf_counter() - start:.0f} s, 1-min load average {load0:.1f} at start, "
          f"{_load():.1f} at end)\n")
    print("| method | s / epoch (median) | min | x ince (medians) |")
    print("|---|---|---|---|")
    base = statistics.median(got[methods[0]])
    for m in methods:
        med = statistics.median(got[m])
        print(f"| {m} | {med:.2f} | {min(got[m]):.2f} | {med / base:.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2N in {256, 512}, fewer repeats (smoke run)")
    parser.add_argument("--layout", choices=("joint", "cross", "both"), default="both")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs-dataset", default=None,
                        help="also time training epochs of every method on this dataset (e.g. mnist1d)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per method and round for --epochs-dataset")
    parser.add_argument("--epochs-only", action="store_true", help="skip the loss tables (with --epochs-dataset)")
    parser.add_argument("--goals", type=int, default=0, metavar="ROUNDS",
                        help="only the issue's goal ratios at 2N = 1024 (--goal-size), ROUNDS interleaved rounds")
    parser.add_argument("--goal-size", type=int, default=1024)
    parser.add_argument("--tiled", type=int, default=0, metavar="ROUNDS",
                        help="only the tiled / dense ratios (issue 15, item 4), ROUNDS interleaved rounds")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    if args.quick:
        sizes, repeats, budget = [256, 512], {256: 3, 512: 3}, {256: 1.0, 512: 1.0}
    else:
        sizes = [512, 1024, 2048, 4096]
        repeats = {512: 7, 1024: 5, 2048: 3, 4096: 1}
        budget = {512: 2.0, 1024: 3.0, 2048: 3.0, 4096: 1.0}
    print(f"date: {_dt.datetime.now(_dt.timezone.utc).isoformat(timespec='minutes')}")
    print(f"machine: {machine()}; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    print(f"d={DIM}, eps={EPS}, n_iters={N_ITERS}, lam={LAM}, q={Q}, rho={RHO}, float32, forward+backward, "
          f"median of up to {repeats} repeats (fewer when a call exceeds the per-cell budget {budget} s)")
    if args.goals:
        goal_ratios(args.goal_size, args.goals)
        return
    if args.tiled:
        tiled_ratios(args.tiled)
        return
    if not args.epochs_only:
        for layout in (("joint", "cross") if args.layout == "both" else (args.layout,)):
            run_layout(layout, sizes, repeats, budget)
        gradient_ratio_table()
    if args.epochs_dataset:
        epoch_times(args.epochs_dataset, args.epochs, ["ince", "gca_ince", "uot", "gca_uot"])


if __name__ == "__main__":
    main()
