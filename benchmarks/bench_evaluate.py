"""Cost of the evaluation protocol (``gca_lab.evaluate.protocol_metrics``) next to the probe that was there before.

``python benchmarks/bench_evaluate.py [--repeats N]`` embeds each dataset once with a random-init
encoder of the default model (features are what ``train.evaluate`` probes), then times, median of
``--repeats`` (default 3): the all-label probe plus the k=20 kNN (``train.evaluate``'s ``probe_test_acc``
and ``knn_acc`` before the protocol was added), the two low-label probes (10 and 100 labels per class,
5 draws each), the two kNN settings, and the raw-input baseline. Ratios are within this run.

Measured 2026-12-03 07:56 UTC (2 shared CPU cores, load average 3.4-4.3, torch 2 threads,
``--repeats 5``, the default ``ConvNet`` / ``ConvNet1d`` at random init), seconds:

| dataset | N train/val/test | D | probe + kNN(20) before | low-label 10 + 100 | kNN 20 + 200 | added / before | raw-input protocol |
|---|---|---|---|---|---|---|---|
| digits | 1258/180/359 | 64 | 0.07 | 0.24 | 0.01 | 3.46 | 0.34 |
| mnist1d | 14000/2000/4000 | 128 | 2.99 | 1.41 | 0.96 | 0.79 | 3.13 |

A training run evaluates twice with ``probe_init`` (random init, then trained), so the protocol adds
about 5 s to the 30-epoch MNIST-1D command (71 s CPU, 111 s wall at load 5) and about 0.5 s to a
digits run. The low-label probes choose ``C`` on the first draw only (``len(Cs) + draws - 1`` = 8
fits per size instead of 20).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from gca_lab import evaluate as E  # noqa: E402
from gca_lab import train as T  # noqa: E402


def _time(fn, repeats: int) -> float:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist1d"])
    args = parser.parse_args()
    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
    print("| dataset | N train/val/test | D | probe + kNN(20) before, s | low-label 10 + 100, s | kNN 20 + 200, s "
          "| added / before | raw-input protocol, s |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.datasets:
        config = T.TrainConfig(dataset=name, progress=False)
        ds = T.load_dataset(config)
        torch.manual_seed(0)
        model = T.build_model(config, ds.image_shape)
        f = {s: E.embed(model.features, getattr(ds, s).x) for s in ("train", "val", "test")}
        y = {s: getattr(ds, s).y for s in ("train", "val", "test")}
        args6 = (f["train"], y["train"], f["val"], y["val"], f["test"], y["test"])

        def before() -> None:
            E.linear_probe(*args6)
            E.knn_accuracy(f["train"], y["train"], f["test"], y["test"])

        t_before = _time(before, args.repeats)
        t_low = _time(lambda: E.protocol_metrics(*args6, full_probe=False, knn=(), skip_infeasible=True), args.repeats)
        t_knn = _time(lambda: E.protocol_metrics(*args6, full_probe=False, low_label=(), skip_infeasible=True),
                      args.repeats)
        t_raw = _time(lambda: E.raw_input_baseline(ds, skip_infeasible=True), args.repeats)
        sizes = "/".join(str(len(getattr(ds, s))) for s in ("train", "val", "test"))
        print(f"| {name} | {sizes} | {f['train'].shape[1]} | {t_before:.2f} | {t_low:.2f} | {t_knn:.2f} | "
              f"{(t_low + t_knn) / t_before:.2f} | {t_raw:.2f} |", flush=True)


if __name__ == "__main__":
    main()
