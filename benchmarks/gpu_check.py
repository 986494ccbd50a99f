"""One-shot accelerator check: run it as one script when a session is lent a GPU.

    python benchmarks/gpu_check.py [--device cuda] [--quick] [--out DIR]

It checks, on the given device, what CPU tests cannot:
1. every loss of ``make_loss`` gives finite values and gradients in float32 at 2B in {1024, 4096}
   (and under bf16 autocast of the encoder), and the time of one forward + backward (CUDA events
   through ``torch.cuda.synchronize``), with the ratio to NT-Xent;
2. ``gca_lab.ot.sinkhorn`` in both domains against POT's torch backend when POT is installed;
3. the training loop for two epochs on digits (ConvNet) and a few steps of ResNet-18 on
   CIFAR-shaped synthetic files, with bf16 autocast and channels_last, and that the probe runs;
4. one ResNet-18 training step (SGD, bf16 autocast, CIFAR-shaped synthetic batch of 512 images, two
   views) with InfoNCE, GCA-INCE, UOT and GCA-UOT in the same run: the step-time overhead of each over
   InfoNCE, the number the poster's "about 1% epoch overhead" claim needs (``--only resnet`` runs
   just this; ``--quick`` shrinks it to a CPU smoke test);
5. the tiled backend (issue 15, item 5): GCA-INCE, joint layout, d = 128, 3 rounds, forward + backward
   at 2N = 131,072 (``--only tiled`` runs just this): peak memory allocated by the loss
   (``torch.cuda.max_memory_allocated`` minus the embeddings; goal: under 2 GB), time, finiteness, and
   the tiled / dense value and time ratios at 2N = 8,192 where both fit.

Prints a table and writes ``gpu_check.json`` into ``--out`` (default ``$OUT`` or the current folder).
Speed is reported as ratios within this one run, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gca_lab.methods import make_loss, names  # noqa: E402
from gca_lab.models import ProjectionHead, resnet18  # noqa: E402
from gca_lab.ot import sinkhorn  # noqa: E402
from gca_lab.train import TrainConfig, train  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn, device: torch.device, repeats: int) -> float:
    fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def check_losses(device: torch.device, sizes: list[int], repeats: int) -> list[dict]:
    rows = []
    for size in sizes:
        b = size // 2
        g = torch.Generator(device="cpu").manual_seed(0)
        x = torch.randn(b, 128, generator=g)
        z1 = (x + 0.5 * torch.randn(b, 128, generator=g)).to(device).requires_grad_()
        z2 = (x + 0.5 * torch.randn(b, 128, generator=g)).to(device).requires_grad_()
        base = None
        for name in ["simclr", *[n for n in names(has_plan=True) if n != "simclr"]]:
            loss_fn = make_loss(name)

            def step() -> torch.Tensor:
                z1.grad = z2.grad = None
                value = loss_fn(z1, z2)
                value.backward()
                return value

            value = step()
            finite = bool(torch.isfinite(value)) and bool(torch.isfinite(z1.grad).all())
            seconds = time_call(step, device, repeats)
            base = seconds if name == "simclr" else base
            rows.append({"check": "loss", "name": name, "2B": size, "ms": 1e3 * seconds,
                         "ratio_to_ntxent": seconds / base, "finite": finite})
    return rows


def check_sinkhorn(device: torch.device, n: int, repeats: int) -> list[dict]:
    x = torch.nn.functional.normalize(torch.randn(n, 128, device=device), dim=1)
    cost = 1 - x @ x.T
    rows = []
    ours = {}
    for domain in ("log", "kernel"):
        res = sinkhorn(cost, eps=0.1, n_iters=100, domain=domain)
        ours[domain] = res.plan
        seconds = time_call(lambda: sinkhorn(cost, eps=0.1, n_iters=100, domain=domain), device, repeats)
        rows.append({"check": "sinkhorn", "name": f"ours-{domain}", "n": n, "ms": 1e3 * seconds,
                     "finite": bool(torch.isfinite(res.plan).all())})
    rows.append({"check": "sinkhorn", "name": "log vs kernel max |dP|",
                 "value": float((ours["log"] - ours["kernel"]).abs().max())})
    try:
        import ot
    except ImportError:
        return rows
    a = torch.full((n,), 1.0 / n, device=device)
    for method in ("sinkhorn_log", "sinkhorn"):
        seconds = time_call(lambda: ot.sinkhorn(a, a, cost, 0.1, method=method, numItermax=100, stopThr=0),
                            device, repeats)
        rows.append({"check": "sinkhorn", "name": f"POT-{method}", "n": n, "ms": 1e3 * seconds})
    return rows


def _fake_cifar10(root: Path, n: int) -> None:
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": list(np.arange(n) % 10)}
        (d / name).write_bytes(pickle.dumps(batch))


def check_training(device: torch.device) -> list[dict]:
    rows = []
    res = train(TrainConfig(dataset="digits", model="convnet", method="gca_uot", epochs=2, device=str(device),
                            progress=False))
    rows.append({"check": "train", "name": "digits convnet gca_uot 2 epochs", "seconds": res.wall_time,
                 "probe_test_acc": res.metrics.get("probe_test_acc"), "device": res.device})
    with tempfile.TemporaryDirectory() as tmp:
        _fake_cifar10(Path(tmp), 256)
        res = train(TrainConfig(dataset="cifar10", data_root=tmp, model="resnet18", method="gca_uot", epochs=1,
                                batch_size=256, device=str(device), progress=False))
        rows.append({"check": "train", "name": "cifar10-format resnet18 gca_uot 1 epoch (bf16 on CUDA)",
                     "seconds": res.wall_time, "epoch_time": res.history["epoch_time"][0],
                     "finite": all(np.isfinite(res.history["step_loss"])), "device": res.device})
    return rows


RESNET_METHODS = ("ince", "gca_ince", "uot", "gca_uot")


def check_resnet_step(device: torch.device, batch: int, repeats: int, width: int = 64, size: int = 32) -> list[dict]:
    """Median time of one ResNet-18 SGD step (forward of two views, loss, backward, update) per method.

    bf16 autocast on CUDA (and on CPU, where it is merely functional); the losses compute in
    float32 inside (gca_lab.losses). Same model, data and optimizer for every method; the models
    are re-initialized from one seed so each method starts from the same weights.
    """
    g = torch.Generator().manual_seed(0)
    x1 = torch.rand(batch, 3, size, size, generator=g).to(device).contiguous(memory_format=torch.channels_last)
    x2 = torch.rand(batch, 3, size, size, generator=g).to(device).contiguous(memory_format=torch.channels_last)
    rows, base = [], None
    # The first method pays one-time costs (cuDNN / oneDNN algorithm selection, allocator growth):
    # a discarded warm-up round with INCE comes first.
    for round_, name in enumerate(("ince", *RESNET_METHODS)):
        torch.manual_seed(0)
        encoder = resnet18(3, width=width).to(device).to(memory_format=torch.channels_last)
        head = ProjectionHead(8 * width, 2048 if width == 64 else 64, 128).to(device)
        params = [*encoder.parameters(), *head.parameters()]
        opt = torch.optim.SGD(params, lr=0.05, momentum=0.9)
        loss_fn = make_loss(name, check_inputs=False)  # training: no host sync in the loss
        values: list[torch.Tensor] = []

        def step() -> None:
            opt.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=torch.bfloat16):
                z1, z2 = head(encoder(x1)), head(encoder(x2))
            value = loss_fn(z1, z2)
            value.backward()
            opt.step()
            values.append(value.detach())

        seconds = time_call(step, device, repeats)
        if round_ == 0:
            continue
        base = seconds if name == "ince" else base
        finite = bool(torch.isfinite(torch.stack(values)).all())
        rows.append({"check": "resnet18_step", "name": name, "batch": batch, "ms": 1e3 * seconds,
                     "overhead_vs_ince_pct": 100 * (seconds / base - 1), "finite": finite,
                     "loss_dtype": str(values[-1].dtype)})
    return rows


def check_tiled(device: torch.device, views: int, rounds: int = 3, d: int = 128, compare: int = 8192) -> list[dict]:
    rows = []
    for backend, size in (("tiled", compare), ("dense", compare), ("tiled", views)):
        z = torch.randn(size, d, generator=torch.Generator().manual_seed(size)).to(device)
        z1 = z[: size // 2].clone().requires_grad_()
        z2 = z[size // 2:].clone().requires_grad_()
        loss_fn = make_loss("gca_ince", n_iters=rounds, layout="joint", backend=backend, check_inputs=False)
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device) if device.type == "cuda" else 0
        _sync(device)
        start = time.perf_counter()
        value = loss_fn(z1, z2)
        value.backward()
        _sync(device)
        seconds = time.perf_counter() - start
        peak = (torch.cuda.max_memory_allocated(device) - base) / 2**30 if device.type == "cuda" else None
        finite = bool(torch.isfinite(value)) and bool(torch.isfinite(z1.grad).all() and torch.isfinite(z2.grad).all())
        rows.append({"check": "tiled", "backend": backend, "views": size, "rounds": rounds, "seconds": seconds,
                     "loss_peak_gb": peak, "value": float(value), "finite": finite})
    rows[1]["tiled_over_dense_time"] = rows[0]["seconds"] / rows[1]["seconds"]
    rows[1]["tiled_minus_dense_value"] = rows[0]["value"] - rows[1]["value"]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats")
    parser.add_argument("--out", default=os.environ.get("OUT", "."))
    parser.add_argument("--only", choices=("all", "resnet", "tiled"), default="all",
                        help="resnet: only the ResNet-18 step timing (item 4); tiled: only item 5")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # full float32 costs (ott #496)
    sizes = [256, 1024] if args.quick else [1024, 4096]
    repeats = 3 if args.quick else 10
    start = time.perf_counter()
    rows: list[dict] = []
    if args.only == "all":
        rows += check_losses(device, sizes, repeats)
        rows += check_sinkhorn(device, 512 if args.quick else 4096, repeats)
        rows += check_training(device)
    if args.only in ("all", "tiled"):
        rows += check_tiled(device, 2048 if args.quick else 131072, compare=512 if args.quick else 8192)
    if args.only != "tiled":
        if args.quick:  # CPU smoke test: tiny ResNet, tiny images
            rows += check_resnet_step(device, batch=16, repeats=2, width=8, size=16)
        else:
            rows += check_resnet_step(device, batch=512, repeats=repeats)
    info = {"device": str(device), "torch": torch.__version__, "seconds": time.perf_counter() - start,
            "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None}
    for row in rows:
        print(json.dumps(row))
    print(json.dumps(info))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.json").write_text(json.dumps({"info": info, "rows": rows}, indent=1))
    bad = [r for r in rows if r.get("finite") is False]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
