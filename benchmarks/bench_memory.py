"""Peak memory and time of a loss's forward + backward for each backend, one fresh process per size.

    python benchmarks/bench_memory.py [--sizes 1024 4096 16384 32768 65536] [--rounds 3] [--threads 2]
    python benchmarks/bench_memory.py --sharded [--sizes 4096] [--world 1 2 4]

Each measurement runs in its own process (``--one``), so the peak resident memory the operating
system reports (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is that of one loss step, with the
interpreter and torch baseline printed beside it. The loss is GCA-INCE in the joint layout (2N views,
self-pairs masked), d = 128, float32, ``n_iters`` rounds with unrolled gradients; ``dense`` holds the
2N x 2N kernel, ``tiled`` recomputes blocks of it (issue 15, item 5). A size whose dense run would
not fit (estimated 3 (2N)^2 floats above ``--max-gb``) is skipped and reported as such.

``--sharded``: GCA-INCE with ``gather_distributed=True`` on R gloo processes (R = ``--world``), each
holding 2N / R views (``--layout``: ``cross``, the N x N plan, runs the custom backward on each process's
kernel block; ``joint`` with masked self-pairs runs plain autograd on it); per-process peak memory and
time of one step. At R = 1 nothing is sharded: the single-process loss.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _one(backend: str, views: int, rounds: int, d: int, threads: int, name: str) -> dict:
    import gca_lab  # noqa: F401  (sets the OpenMP wait policy before torch loads)
    import torch

    from gca_lab.methods import make_loss

    torch.set_num_threads(threads)
    base = _rss_mb()
    g = torch.Generator().manual_seed(0)
    z = torch.randn(views, d, generator=g)
    kw = {"n_iters": rounds} if name != "simclr" else {}
    layout = {} if name == "simclr" else {"layout": "joint"}
    loss_fn = make_loss(name, backend=backend, check_inputs=False, **layout, **kw)
    z1 = z[: views // 2].clone().requires_grad_()
    z2 = z[views // 2:].clone().requires_grad_()
    t0 = time.perf_counter()
    loss = loss_fn(z1, z2)
    loss.backward()
    seconds = time.perf_counter() - t0
    return {"backend": backend, "views": views, "rounds": rounds, "loss": name, "seconds": seconds,
            "peak_mb": _rss_mb(), "baseline_mb": base, "value": float(loss.detach())}


def _shard_worker(rank: int, world: int, port: int, views: int, rounds: int, d: int, backend: str, out: str,
                  layout: str) -> None:
    import gca_lab  # noqa: F401
    import torch
    import torch.distributed as dist

    from gca_lab.methods import make_loss

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    base = _rss_mb()
    g = torch.Generator().manual_seed(0)
    z = torch.randn(views, d, generator=g)
    per = views // 2 // world
    z1 = z[: views // 2][rank * per:(rank + 1) * per].clone().requires_grad_()
    z2 = z[views // 2:][rank * per:(rank + 1) * per].clone().requires_grad_()
    loss_fn = make_loss("gca_ince", n_iters=rounds, layout=layout, backend=backend, check_inputs=False,
                        gather_distributed=True)
    dist.barrier()
    t0 = time.perf_counter()
    loss = loss_fn(z1, z2)
    loss.backward()
    seconds = time.perf_counter() - t0
    dist.barrier()
    with open(f"{out}.{rank}", "w") as fh:
        json.dump({"rank": rank, "seconds": seconds, "peak_mb": _rss_mb(), "baseline_mb": base,
                   "value": float(loss.detach())}, fh)
    dist.barrier()
    dist.destroy_process_group()


def _run_child(args: list[str]) -> dict | None:
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1], "rc": proc.returncode}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096, 8192, 16384, 32768, 65536])
    p.add_argument("--backends", nargs="+", default=["dense", "tiled"])
    p.add_argument("--loss", default="gca_ince")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--d", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-gb", type=float, default=12.0, help="skip dense sizes estimated above this")
    p.add_argument("--sharded", action="store_true")
    p.add_argument("--world", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--layout", default="cross", choices=("cross", "joint"), help="layout of --sharded")
    p.add_argument("--one", nargs=2, metavar=("BACKEND", "VIEWS"), help=argparse.SUPPRESS)
    p.add_argument("--shard", nargs=5, metavar=("RANK", "WORLD", "PORT", "VIEWS", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(_one(args.one[0], int(args.one[1]), args.rounds, args.d, args.threads, args.loss)))
        return
    if args.shard:
        rank, world, port, views, out = args.shard
        _shard_worker(int(rank), int(world), int(port), int(views), args.rounds, args.d, args.backends[0], out,
                      args.layout)
        return
    if args.sharded:
        print(f"gca_ince, {args.layout} layout, d = {args.d}, {args.rounds} rounds, float32, forward + backward, "
              "1 thread per process; one set of processes per row")
        print("| backend | 2N | R | per-process peak MB (max over ranks) | baseline MB | seconds (max) | loss |")
        print("|---|---|---|---|---|---|---|")
        for views in args.sizes:
            for backend in args.backends:
                for world in args.world:
                    with socket.socket() as s:
                        s.bind(("127.0.0.1", 0))
                        port = s.getsockname()[1]
                    out = f"/tmp/bench_memory_{os.getpid()}_{world}"
                    procs = [subprocess.Popen([sys.executable, __file__, "--shard", str(r), str(world), str(port),
                                               str(views), out, "--rounds", str(args.rounds), "--d", str(args.d),
                                               "--backends", backend, "--layout", args.layout])
                             for r in range(world)]
                    codes = [q.wait() for q in procs]
                    if any(codes):
                        print(f"| {backend} | {views} | {world} | failed {codes} | | | |")
                        continue
                    rows = [json.load(open(f"{out}.{r}")) for r in range(world)]
                    for r in range(world):
                        os.remove(f"{out}.{r}")
                    print(f"| {backend} | {views} | {world} | {max(x['peak_mb'] for x in rows):.0f} | "
                          f"{max(x['baseline_mb'] for x in rows):.0f} | {max(x['seconds'] for x in rows):.2f} | "
                          f"{rows[0]['value']:.6f} |", flush=True)
        return
    print(f"{args.loss}, joint, d = {args.d}, {args.rounds} rounds, float32, forward + backward, "
          f"{args.threads} threads; one process per row")
    print("| backend | 2N | peak RSS MB | baseline MB | seconds | loss |")
    print("|---|---|---|---|---|---|")
    for views in args.sizes:
        for backend in args.backends:
            if backend == "dense" and 3 * 4 * views * views / 1e9 > args.max_gb:
                print(f"| {backend} | {views} | skipped: about {3 * 4 * views * views / 1e9:.0f} GB | | | |")
                continue
            r = _run_child(["--one", backend, str(views), "--rounds", str(args.rounds), "--d", str(args.d),
                            "--threads", str(args.threads), "--loss", args.loss])
            if "error" in r:
                print(f"| {backend} | {views} | failed: {r['error']} | | | |", flush=True)
                continue
            print(f"| {backend} | {views} | {r['peak_mb']:.0f} | {r['baseline_mb']:.0f} | {r['seconds']:.2f} | "
                  f"{r['value']:.6f} |", flush=True)


if __name__ == "__main__":
    main()
