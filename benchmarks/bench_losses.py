"""Forward + backward time of every contrastive loss of :mod:`gca_lab.losses` (CPU, float32).

Usage::

    python benchmarks/bench_losses.py            # 2B in {256, 1024, 4096}, ~3-5 minutes
    python benchmarks/bench_losses.py --quick    # 2B in {256, 1024}, fewer repeats

Every loss runs on the ``joint`` layout, so its plan is ``2B x 2B`` (``B`` samples per view,
``2B`` views). Embeddings are ``(B, 128)`` per view, leaves with ``requires_grad``; one timed call is
``loss(z1, z2).backward()``. Reported: the median of the repeats (seconds), the ratio to
``NTXent`` (= ``simclr``) at the same size, and the least-squares slope of ``log time`` against
``log 2B`` (2 = quadratic in the batch).

``dense GCA-INCE`` is GCA-INCE written the way many public implementations write it:
``K = exp(sim / eps)`` (self-pairs zeroed), ``u = 1 / (K v)``, ``v = 1 / (K^T u)`` and the plan formed
with explicit ``torch.diag(u) @ K @ torch.diag(v)`` products at every iteration (10 iterations), then
the cross-entropy to the partner. Those two dense ``n x n x n`` products per iteration make it
``O(n^3)``; ours is ``O(n^2)`` per iteration in the log domain. It is skipped at ``2B = 4096``
(it would take minutes); its value is checked against ours before timing.

Speed is measured here, never asserted in tests (design §6). CPU contention from other processes
on the machine inflates the absolute times; compare ratios within one run.
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

# Idle OpenMP threads sleep instead of spinning: on a shared, oversubscribed CPU spinning makes
# two-thread runs 10-20x slower and erratic (measured here). Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gca_lab.losses import NTXent, make_loss  # noqa: E402
from gca_lab.stats import loglog_slope  # noqa: E402

EPS = 0.5
N_ITERS = 10
DIM = 128
NAMES = ["ince", "rince", "gca_ince", "gca_rince", "uot", "gca_uot", "iot", "iot_uni"]


LAYOUT = "joint"  # set by --layout


def dense_gca_ince(z1: torch.Tensor, z2: torch.Tensor, eps: float = EPS, n_iters: int = N_ITERS) -> torch.Tensor:
    """GCA-INCE as in many public implementations: dense diagonal products every iteration."""
    if LAYOUT == "cross":
        a, b = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
        K = torch.exp(a @ b.T / eps)  # (B, B) between the views
        n = K.shape[0]
        u = torch.ones(n, dtype=K.dtype)
        v = torch.ones(n, dtype=K.dtype)
        for t in range(n_iters):
            u = 1.0 / (K @ v)
            P = torch.diag(u) @ K @ torch.diag(v)
            if t < n_iters - 1:
                v = 1.0 / (K.T @ u)
        logp = torch.log(P / P.sum(1, keepdim=True))
        return -logp.diagonal().mean()
    z = F.normalize(torch.cat([z1, z2], 0), dim=-1)  # (2B, d)
    n = z.shape[0]
    eye = torch.eye(n, dtype=z.dtype)
    K = torch.exp(z @ z.T / eps) * (1 - eye)  # (2B, 2B), self-pairs excluded
    u = torch.ones(n, dtype=z.dtype)
    v = torch.ones(n, dtype=z.dtype)
    P = K
    for t in range(n_iters):  # t + 1 row steps and t column steps: the iterate P^(2t+1) of GCAInfoNCE
        u = 1.0 / (K @ v)
        P = torch.diag(u) @ K @ torch.diag(v)
        if t < n_iters - 1:
            v = 1.0 / (K.T @ u)
    partner = (torch.arange(n) + n // 2) % n
    logp = torch.log(P / P.sum(1, keepdim=True))
    return -logp[torch.arange(n), partner].mean()


def build(name: str):
    if name == "simclr":
        return NTXent(eps=EPS)
    if name == "dense":
        return dense_gca_ince
    kwargs = dict(eps=EPS, layout=LAYOUT)
    if name in ("gca_ince", "gca_rince", "gca_uot", "iot", "iot_uni"):
        kwargs["n_iters"] = N_ITERS
    return make_loss(name, **kwargs)


def time_once(loss, z1: torch.Tensor, z2: torch.Tensor) -> float:
    z1.grad = None
    z2.grad = None
    t0 = time.perf_counter()
    loss(z1, z2).backward()
    return time.perf_counter() - t0


def bench(loss, b: int, repeats: int, seed: int = 0, budget_s: float = 6.0) -> float:
    """Median forward+backward seconds over up to ``repeats`` calls (fewer if one call is slow)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, DIM, generator=g)
    z1 = (x + 0.5 * torch.randn(b, DIM, generator=g)).requires_grad_()  # correlated views
    z2 = (x + 0.5 * torch.randn(b, DIM, generator=g)).requires_grad_()
    first = time_once(loss, z1, z2)  # warm-up; also sizes the number of repeats to the budget
    repeats = max(1, min(repeats, int(budget_s / first)))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2B in {256, 1024} only, fewer repeats")
    parser.add_argument("--layout", choices=("joint", "cross"), default="joint",
                        help="joint: plan 2B x 2B over all views (self-pairs masked, log domain); cross: plan "
                             "n x n between the views with n = the size column (the kernel-domain fast path)")
    args = parser.parse_args()
    global LAYOUT
    LAYOUT = args.layout
    torch.set_num_threads(2)
    torch.manual_seed(0)

    sizes = [256, 1024] if args.quick else [256, 1024, 4096]  # 2B: the plan is 2B x 2B
    repeats = {256: 5, 1024: 3, 4096: 2} if args.quick else {256: 15, 1024: 7, 4096: 3}
    names = ["simclr", *NAMES, "dense"]
    dense_max = 1024

    # sanity: the dense reference computes the same value as ours
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(64, DIM, generator=g, dtype=torch.float64), torch.randn(64, DIM, generator=g, dtype=torch.float64)
    ours = make_loss("gca_ince", eps=EPS, n_iters=N_ITERS, layout=LAYOUT)(z1, z2)
    ref = dense_gca_ince(z1, z2)
    assert abs(ours.item() - ref.item()) < 1e-9, (ours.item(), ref.item())

    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    start = time.perf_counter()
    results: dict[str, dict[int, float]] = {n: {} for n in names}
    for size in sizes:
        b = size // 2 if LAYOUT == "joint" else size
        for name in names:
            if name == "dense" and size > dense_max:
                continue
            results[name][size] = bench(build(name), b, repeats[size])
            print(f"  2B={size:5d} {name:10s} {results[name][size]*1e3:10.1f} ms", file=sys.stderr, flush=True)
    total = time.perf_counter() - start
    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    label = {"dense": "dense GCA-INCE (diag products)", "simclr": "simclr (NTXent)"}
    head = "| loss | " + " | ".join(f"2B={s} (ms)" for s in sizes) + " | " + " | ".join(
        f"ratio @{s}" for s in sizes) + " | slope |"
    print(f"date: {_dt.datetime.now().isoformat(timespec='minutes')}")
    print(f"machine: {machine()}; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    plan = "plan 2B x 2B" if LAYOUT == "joint" else "plan n x n between views, n = the size column; simclr stays joint"
    print(f"layout: {LAYOUT} ({plan}), d={DIM}, eps={EPS}, n_iters={N_ITERS}, float32, forward+backward,"
          f" median of up to {repeats} repeats (fewer when a call exceeds a 6 s budget); total {total:.0f} s;"
          f" 1-min load average {load_before:.1f} at start, {load_after:.1f} at end\n")
    print(head)
    print("|" + "---|" * (2 + 2 * len(sizes)))
    for name in names:
        r = results[name]
        cells = [f"{r[s]*1e3:.1f}" if s in r else "-" for s in sizes]
        ratios = [f"{r[s]/results['simclr'][s]:.2f}" if s in r else "-" for s in sizes]
        got = [s for s in sizes if s in r]
        sl = f"{loglog_slope(got, [r[s] for s in got])[0]:.2f}" if len(got) >= 2 else "-"
        print(f"| {label.get(name, name)} | " + " | ".join(cells) + " | " + " | ".join(ratios) + f" | {sl} |")
    if 1024 in results["dense"]:
        speedup = results["dense"][1024] / results["gca_ince"][1024]
        print(f"\nours (gca_ince) vs dense diagonal-product GCA-INCE at 2B=1024: {speedup:.1f}x faster"
              f" (goal >= 5x: {'met' if speedup >= 5 else 'NOT met'})")


if __name__ == "__main__":
    main()
