"""Command line: ``python -m gca_lab {train, reproduce, list}``.

- ``train``: one training run; every :class:`gca_lab.train.TrainConfig` field is a flag
  (``--dataset digits --method gca_uot --epochs 20``). Prints the frozen-probe accuracy of the
  trained encoder and, in the same run, of the same encoder at random initialization.
- ``reproduce NAME [--full]``: run (or load from ``data/results/``) a named experiment, with
  progress bars, and print its claims table. Extra ``--dataset``, ``--model``, ``--epochs`` ...
  override every training run (e.g. ``--dataset cifar10 --model resnet18`` on a GPU).
  ``--jobs N`` computes N runs at once in worker processes (one torch thread each: ``--threads``);
  ``--scheduler tcp://HOST:8786`` sends them to a running Dask distributed scheduler (a SLURM or PBS
  cluster made by dask-jobqueue, say). Two ``reproduce`` processes may share a cache file.
- ``list``: the named experiments.

Under ``torchrun --nproc_per_node N -m gca_lab train ...`` the run uses DDP.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import typing
from typing import Any, Sequence

from . import datasets as _datasets
from ._env import parse_bool
from .methods import METHODS
from .train import TrainConfig, available_devices, resolve_device

_HELP = {
    "dataset": ", ".join(n for n in _datasets.names() if n != "multidomain") + " or multidomain_<base>",
    "method": "the loss: " + ", ".join(f"{n} ({m.label})" for n, m in METHODS.items()),
    "model": "mlp, convnet or resnet18 (CIFAR stem)",
    "eps": "entropic regularization = temperature (> 0)",
    "n_iters": "Sinkhorn rounds (row projections) of the GCA losses",
    "rho": "KL marginal relaxation of the UOT losses (inf = balanced)",
    "layout": "cross (B x B between views) or joint (2B x 2B over all views)",
    "strong": "strong augmentation: large_erase, strong_crop or brightness",
    "false_positives": "fraction p in [0, 1) of pairs whose second view is a view of another sample",
    "false_positive_mode": "persistent (a fixed wrong partner per sample) or fresh (redrawn every step)",
    "corruptions": "held-out test corruptions to evaluate (gaussian_noise, speckle_noise, snow)",
    "loss_options": "extra loss keywords as JSON, e.g. '{\"marginals\": \"uniform\"}'",
    "data_options": "extra dataset keywords as JSON, e.g. '{\"style\": \"subtle\"}' for multidomain_digits",
    "device": "auto (the best here) or one of this machine's devices: " + ", ".join(available_devices()),
    "mixed_precision": "auto (bf16 on CUDA), bf16 or none",
    "checkpoint_every": "write an atomic checkpoint every k epochs (needs --checkpoint-dir); reruns resume",
    "probe_solver": "the frozen linear probe's solver: sklearn or torch (same objective, its cost flat in the test size)",
    "eval_rows": "val and test rows of every metric but the full linear probe (default: all)",
    "probe_init": "also probe the encoder at random initialization (default on for this command)",
}


def _bool(text: str) -> bool:
    try:
        return parse_bool(text, "the flag")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _optional(kind: type) -> Any:
    def parse(text: str) -> Any:
        return None if text.strip().lower() in {"none", "null", ""} else kind(text)

    return parse


def _add_config_flags(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    hints = typing.get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        hint = hints[f.name]
        default = (f.default if f.default is not dataclasses.MISSING else f.default_factory()) if defaults else None
        help_text = _HELP.get(f.name, "")
        kwargs: dict[str, Any] = {"dest": f.name, "default": default if defaults else argparse.SUPPRESS}
        if hint is bool:
            kwargs["type"] = _bool
        elif hint in (int, float, str):
            kwargs["type"] = hint
            if f.name == "method":
                kwargs["choices"] = tuple(METHODS)
        elif hint == (int | None):
            kwargs["type"] = _optional(int)
        elif hint == (str | None):
            kwargs["type"] = _optional(str)
        elif f.name == "corruptions":
            kwargs["nargs"] = "*"
        elif f.name in ("loss_options", "data_options"):
            kwargs["type"] = json.loads
        else:  # pragma: no cover - every field type is handled above
            raise TypeError(f"no command-line parser for field {f.name} of type {hint}")
        if defaults:
            help_text = f"{help_text} (default: {default})".strip()
        parser.add_argument(flag, help=help_text or None, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m gca_lab`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m gca_lab", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="train one encoder and report frozen-probe accuracy")
    _add_config_flags(p_train, defaults=True)
    p_train.set_defaults(probe_init=True)
    p_train.add_argument("--json", dest="json_out", default=None, help="also write the result as JSON here")
    p_rep = sub.add_parser("reproduce", help="run or load a named experiment (paper figure/table)")
    p_rep.add_argument("name", help="experiment name (see `list`)")
    p_rep.add_argument("--full", action="store_true", help="the full budget (default: quick, or GCA_LAB_QUICK)")
    p_rep.add_argument("--quick", action="store_true", help="the quick budget")
    p_rep.add_argument("--recompute", nargs="*", default=None, metavar="KEY",
                       help="ignore cached results: of every run, or of the runs KEY ... only")
    p_rep.add_argument("--jobs", type=int, default=1,
                       help="runs computed at once, each in its own worker process (default: 1, in this process)")
    p_rep.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="send the runs to this Dask distributed scheduler, e.g. tcp://host:8786 "
                            "(needs pip install 'gca_lab[dask]')")
    p_rep.add_argument("--threads", type=int, default=None,
                       help="torch threads per run (default: 1 in workers; unchanged with --jobs 1)")
    _add_config_flags(p_rep, defaults=False)
    sub.add_parser("list", help="list the named experiments")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = vars(build_parser().parse_args(argv))
    command = args.pop("command")
    if command == "list":
        from . import experiments

        for exp in experiments.EXPERIMENTS.values():
            print(f"{exp.name:24s} {exp.figure}  ->  notebooks/{exp.notebook}")
        return 0
    if command == "train":
        from .train import train

        json_out = args.pop("json_out")
        args["corruptions"] = tuple(args.get("corruptions") or ())
        try:
            config = TrainConfig(**args)
            result = train(config)
        except (ValueError, TypeError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        m = result.metrics
        print(f"{config.method} on {config.dataset} ({config.model}, {config.epochs} epochs, seed {config.seed}, "
              f"{result.device}): {result.wall_time:.1f} s")
        if "probe_test_acc" in m:
            print(f"  frozen linear probe, test accuracy: {100 * m['probe_test_acc']:.2f}%")
        if "init_probe_test_acc" in m:
            print(f"  same encoder at random init:        {100 * m['init_probe_test_acc']:.2f}%")
        if "knn_acc" in m:
            print(f"  weighted kNN accuracy:              {100 * m['knn_acc']:.2f}%")
        if json_out:
            with open(json_out, "w") as fh:
                json.dump(result.to_dict(), fh, indent=1, default=str)
        return 0
    # reproduce
    from . import experiments

    name = args.pop("name")
    budget = "full" if args.pop("full") else ("quick" if args.pop("quick") else None)
    args.pop("quick", None)
    keys = args.pop("recompute")
    recompute = None if keys is None else (keys or True)  # a bare --recompute: every run
    parallel = {k: args.pop(k) for k in ("jobs", "scheduler", "threads")}
    if "corruptions" in args:
        args["corruptions"] = tuple(args["corruptions"])
    try:
        if "device" in args:  # before any progress bar: a device this machine lacks is a one-line error
            resolve_device(args["device"])
        result = experiments.run(name, budget, recompute=recompute, **parallel, **args)
    except (ValueError, TypeError, FileNotFoundError, experiments.RunFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{name} ({result.budget}): {result.computed} runs computed, results in {result.path}")
    for row in result.summary.get("claims", []):
        print(f"  {row['claim']:45s} paper {row['paper']:45s} ours {row['ours']:35s} {row['verdict']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
