"""Cost of the evaluation protocol (``gca_lab.evaluate.protocol_metrics``) next to the probe that was there before,
and the torch probe (``gca_lab.probe.torch_linear_probe``) next to scikit-learn's.

``python benchmarks/bench_evaluate.py --probe ince gca_uot [--repeats N] [--cache-dir DIR]`` trains (or loads
from ``--cache-dir``) one encoder per method on the main MNIST-1D protocol (30 epochs, seed 0), then on the same
features times scikit-learn's probe (``evaluate.linear_probe``) and the torch probe in float32 and float64,
interleaved, median of ``--repeats`` (default 3), and prints their accuracies and chosen ``C``. Then the same
encoders on MNIST-1D with a 42,000-signal test split (``data_options`` ``n_samples=60000, val_fraction=1/15,
test_fraction=0.7``: 14,000 / 4,000 / 42,000): the time of each part of a run's evaluation (embedding,
all-label probe, the low-label probes, kNN). Table in ``benchmarks/README.md``, "Probe in torch".

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
from gca_lab.probe import torch_linear_probe  # noqa: E402

LARGE_TEST = {"n_samples": 60_000, "val_fraction": 1 / 15, "test_fraction": 0.7}
"""MNIST-1D with 14,000 / 4,000 / 42,000 signals, through ``data.load``'s existing options."""


def _time(fn, repeats: int) -> float:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def _encoder(method: str, cache_dir: str):
    """The main-protocol MNIST-1D encoder of ``method`` (seed 0), trained once and cached as a state dict."""
    config = T.TrainConfig(dataset="mnist1d", model="convnet", epochs=30, method=method, seed=0, progress=False)
    path = os.path.join(cache_dir, f"encoder-{method}.pt")
    ds = T.load_dataset(config)
    model = T.build_model(config, ds.image_shape)
    if os.path.exists(path):
        saved = torch.load(path)
    else:
        res = T.train(config)
        saved = {"state": res.model.state_dict(), "probe_test_acc": res.metrics["probe_test_acc"]}
        os.makedirs(cache_dir, exist_ok=True)
        torch.save(saved, path)
    model.load_state_dict(saved["state"])
    return model, config, saved.get("probe_test_acc")


def _features(model, ds) -> tuple[dict, dict]:
    f = {s: E.embed(model.features, getattr(ds, s).x) for s in ("train", "val", "test")}
    return f, {s: getattr(ds, s).y for s in ("train", "val", "test")}


def probe_main(methods: list[str], repeats: int, cache_dir: str) -> None:
    """Both probes on the same trained encoders' features, then a run's evaluation with a 42,000-signal test set."""
    import dataclasses

    probes = {
        "sklearn": lambda *a: E.linear_probe(E.Splits(*a)),
        "torch f32": lambda *a: torch_linear_probe(*a, dtype=torch.float32),
        "torch f64": lambda *a: torch_linear_probe(*a, dtype=torch.float64),
    }
    print("| encoder (main protocol) | probe | test acc % | val acc % | C | converged | time s (median) | / sklearn |")
    print("|---|---|---|---|---|---|---|---|")
    encoders = {}
    for method in methods:
        model, config, acc = _encoder(method, cache_dir)
        encoders[method] = (model, config)
        f, y = _features(model, T.load_dataset(config))
        args6 = (f["train"], y["train"], f["val"], y["val"], f["test"], y["test"])
        times: dict[str, list[float]] = {k: [] for k in probes}
        results = {}
        for _ in range(repeats):  # interleaved: the machine's load hits every probe alike
            for name, fn in probes.items():
                t0 = time.perf_counter()
                results[name] = fn(*args6)
                times[name].append(time.perf_counter() - t0)
        base = statistics.median(times["sklearn"])
        for name, r in results.items():
            t = statistics.median(times[name])
            print(f"| {method} | {name} | {100 * r.test_acc:.2f} | {100 * r.val_acc:.2f} | {r.best_C:g} "
                  f"| {r.converged} | {t:.2f} | {t / base:.2f} |", flush=True)
    print()
    print("| encoder | N train/val/test | embed 3 splits | probe sklearn | probe torch f32 | low-label 10 + 100 | "
          "kNN 20 + 200 | evaluation with torch probe | with sklearn probe |")
    print("|---|---|---|---|---|---|---|---|---|")
    for method, (model, config) in encoders.items():
        ds = T.load_dataset(dataclasses.replace(config, data_options=LARGE_TEST))
        t0 = time.perf_counter()
        f, y = _features(model, ds)
        t_embed = time.perf_counter() - t0
        args6 = (f["train"], y["train"], f["val"], y["val"], f["test"], y["test"])
        splits = E.Splits(*args6)
        t_sk = _time(lambda: E.linear_probe(splits), 1)
        t_torch = _time(lambda: torch_linear_probe(*args6), 1)
        t_low = _time(lambda: E.protocol_metrics(splits, full_probe=False, knn=()), 1)
        t_knn = _time(lambda: E.protocol_metrics(splits, full_probe=False, low_label=()), 1)
        sizes = "/".join(str(len(getattr(ds, s))) for s in ("train", "val", "test"))
        rest = t_embed + t_low + t_knn
        print(f"| {method} | {sizes} | {t_embed:.2f} | {t_sk:.2f} | {t_torch:.2f} | {t_low:.2f} | {t_knn:.2f} | "
              f"{rest + t_torch:.2f} | {rest + t_sk:.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist1d"])
    parser.add_argument("--probe", nargs="+", metavar="METHOD", default=None,
                        help="compare the probes on these methods' main-protocol encoders instead")
    parser.add_argument("--cache-dir", default=os.path.join("data", "cache", "bench_evaluate"),
                        help="where the trained encoders are kept between runs")
    args = parser.parse_args()
    if args.probe:
        print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
        probe_main(args.probe, args.repeats, args.cache_dir)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
        return
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
        splits = E.Splits(f["train"], y["train"], f["val"], y["val"], f["test"], y["test"])

        def before() -> None:
            E.linear_probe(splits)
            E.knn_accuracy(f["train"], y["train"], f["test"], y["test"])

        t_before = _time(before, args.repeats)
        t_low = _time(lambda: E.protocol_metrics(splits, full_probe=False, knn=(), skip_infeasible=True), args.repeats)
        t_knn = _time(lambda: E.protocol_metrics(splits, full_probe=False, low_label=(), skip_infeasible=True),
                      args.repeats)
        t_raw = _time(lambda: E.raw_input_baseline(ds, skip_infeasible=True), args.repeats)
        sizes = "/".join(str(len(getattr(ds, s))) for s in ("train", "val", "test"))
        print(f"| {name} | {sizes} | {f['train'].shape[1]} | {t_before:.2f} | {t_low:.2f} | {t_knn:.2f} | "
              f"{(t_low + t_knn) / t_before:.2f} | {t_raw:.2f} |", flush=True)


if __name__ == "__main__":
    main()
