"""Helpers shared by the figure experiments: seeds, per-method tables, paired claims (through
:func:`gca_lab.stats.judge`, the one verdict function)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from typing import Any, Sequence

from .. import methods as _methods
from ..stats import Claim, PerSeed, judge, mean_std
from ..train import TrainConfig
from ._core import Run, computation

__all__ = ["Summary", "run_key", "W1_FAMILY", "CONVENTION", "MNIST1D", "MNIST1D_SHORT", "MNIST1D_V2",
           "MNIST1D_V2_SHORT", "TUNED_EPS", "EPS_FROM", "tuned_eps", "with_tuned_eps", "EVAL_METRICS",
           "stated_convention", "seeds", "train_run", "raw_input_run", "evaluation_rows", "values", "values_by_seed", "seeds_with",
           "method_table", "claim", "best_claim", "regime_check"]


class Summary(Mapping):
    """Base of every experiment's summary: a frozen dataclass whose fields are what its notebook reads
    (``S.claims``, ``S.tables``), typed and documented in the subclass, and a read-only mapping over the
    fields that were computed (``S["claims"]``, ``S.get("slopes")``, ``"evaluation" in S``): a field left
    ``None`` (a part of the experiment not run in this budget) is absent from the mapping view."""

    def __getitem__(self, key: str) -> Any:
        if key not in self.__dataclass_fields__ or getattr(self, key) is None:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return (k for k in self.__dataclass_fields__ if getattr(self, k) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def run_key(template: str, **parts: Any) -> str:
    """A run key from a key template: fills the placeholders named in ``parts`` and leaves the others for a
    later call, e.g. ``run_key("{dataset}/{method}/seed{seed}", dataset="mnist1d")`` is
    ``"mnist1d/{method}/seed{seed}"``, what :func:`method_table` fills per method and seed. The one way a key is
    built (``str.format`` needs every placeholder at once); a part the template does not name is ignored, so
    one template can serve keys with and without it (a figure with a single method)."""
    return re.sub(r"\{(\w+)\}", lambda m: str(parts[m.group(1)]) if m.group(1) in parts else m.group(0), template)


def seeds(budget: str, full: int = 5, quick: int = 1) -> list[int]:
    """Seeds of a budget: ``0 .. full-1`` (``quick`` of them in quick mode)."""
    return list(range(quick if budget == "quick" else full))


W1_FAMILY = frozenset(_methods.names(w1=True))
"""Methods with a RINCE / W1 term (RINCE, GCA-RINCE, UOT, GCA-UOT): the ones whose values, gradients and
unbalanced plans depend on the cost and mass convention (:mod:`gca_lab.losses`, "Conventions")."""

CONVENTION = "gca"
"""The convention of the MNIST-1D runs: the library's default (cost ``1 - cos``, W1 masses ``1/n``), under
which the paper's ``lam``, ``q`` and ``rho`` weigh the terms as in the authors' runs; every W1-family
run states it in its spec."""

MNIST1D = {"dataset": "mnist1d", "model": "convnet", "epochs": 30}
"""The main MNIST-1D protocol: the run of ``python -m gca_lab train --dataset mnist1d --epochs 30``
(14,000 / 2,000 / 4,000 signals, :class:`gca_lab.models.ConvNet1d`, the standard
:class:`gca_lab.augment.SignalViews`, Adam 1e-3 with the cosine schedule, batch 256)."""

MNIST1D_SHORT = {"dataset": "mnist1d", "model": "convnet", "epochs": 10}
"""The same protocol at 10 epochs, for the figures with many runs (sweeps, strong views, ablations)."""

MNIST1D_V2: dict[str, Any] = {"dataset": "mnist1d", "model": "convnet", "epochs": 60, "batch_size": 128, "lr": 3e-3,
                              "data_options": {"n_train": 14_000, "n_val": 10_000, "n_test": 40_000},
                              "probe_solver": "torch", "eval_rows": 4_000}
"""The main MNIST-1D protocol since issue 18 (docs/baseline_recipe.md): the recipe chosen on validation
(batch 128, Adam 3e-3 with the cosine schedule, 60 epochs; INCE's frozen probe 88.3 % on test), one
generated pool split into 14,000 training, 10,000 validation and 40,000 test signals, evaluated with the
torch probe (the other metrics on 4,000 validation and test rows). Each method runs at its own eps
(:func:`tuned_eps`)."""

MNIST1D_V2_SHORT: dict[str, Any] = {**MNIST1D_V2, "epochs": 15}
""":data:`MNIST1D_V2` at 15 epochs (a quarter of the cost), for the figures with many runs (sweeps, strong
views, ablations); its cosine schedule anneals over the 15 epochs."""

TUNED_EPS: dict[str, float] = {"ince": 0.1, "gca_ince": 0.1, "gca_uot": 0.2}
"""eps of each searched method, chosen on validation at :data:`MNIST1D_V2` over one shared grid
(experiment ``baseline_eps``: its ``best_eps``; a test checks this record against the committed search)."""

EPS_FROM: dict[str, str] = {"simclr": "ince", "rince": "ince", "gca_rince": "gca_ince", "iot": "gca_ince",
                            "iot_uni": "gca_ince", "uot": "gca_uot"}
"""The searched method whose eps an unsearched method borrows: its one-step (INCE) or Sinkhorn (GCA-INCE)
balanced counterpart, or the unbalanced one (GCA-UOT). Searching all nine methods would cost 36 more
60-epoch runs; the borrowed eps is said in each notebook that ranks them."""


def tuned_eps(method: str) -> float | None:
    """The eps :data:`MNIST1D_V2` runs ``method`` at: its own (:data:`TUNED_EPS`), else the one it
    borrows (:data:`EPS_FROM`); None for a method without a temperature (BYOL)."""
    if method in TUNED_EPS:
        return TUNED_EPS[method]
    if method in EPS_FROM:
        return TUNED_EPS[EPS_FROM[method]]
    if "eps" in _methods.get(method).params:
        raise ValueError(f"method {method!r} has no tuned eps: add it to TUNED_EPS or EPS_FROM")
    return None


def with_tuned_eps(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with ``eps`` set to :func:`tuned_eps` of its method unless it states one."""
    eps = tuned_eps(fields.get("method", TrainConfig.method))
    return fields if eps is None or "eps" in fields else {**fields, "eps": eps}

EVAL_METRICS = ("probe_test_acc", "lowlabel10_test_acc", "lowlabel100_test_acc", "knn20_test_acc", "knn200_test_acc")
"""The evaluation protocol of every figure table: the frozen linear probe (all labels), the probe on 10
and 100 labels per class (mean of 5 draws) and weighted kNN (k = 20, T = 0.07; k = 200, T = 0.1)
(:func:`gca_lab.evaluate.protocol_metrics`)."""

_DATA_FIELDS = ("dataset", "data_seed", "image_size", "max_train", "max_test", "data_options")


_EVAL_FIELDS = ("probe_solver", "eval_rows")


@computation("raw_input")
def raw_input(*, seed: int = 0, **fields: Any) -> dict[str, Any]:
    """:data:`EVAL_METRICS` of the raw inputs of a config's dataset (``fields``: the TrainConfig data
    fields, and the evaluation fields ``probe_solver`` and ``eval_rows`` where the runs set them): the
    floor every encoder column sits on. With evaluation fields, the encoders' own protocol
    (:func:`gca_lab.train.evaluation.evaluate_features` on :meth:`gca_lab.evaluate.Splits.raw`);
    without, :func:`gca_lab.evaluate.raw_input_baseline` (the committed results)."""
    from ..evaluate import Splits, raw_input_baseline
    from ..train import load_dataset
    from ..train.evaluation import evaluate_features

    config = TrainConfig(**fields, seed=seed)
    ds = load_dataset(config)
    if not any(k in fields for k in _EVAL_FIELDS):
        return {"metrics": raw_input_baseline(ds, seed=seed, skip_infeasible=True)}
    metrics = evaluate_features(Splits.raw(ds), config)
    metrics.update(n_train=len(ds.train), n_val=len(ds.val), n_test=len(ds.test))
    return {"metrics": metrics}


def raw_input_run(key: str, **fields: Any) -> Run:
    """The :func:`raw_input` computation for the dataset and evaluation of TrainConfig ``fields`` (other
    fields ignored)."""
    keep = _DATA_FIELDS + _EVAL_FIELDS
    return Run(key, "compute", {"fn": "raw_input", **{k: v for k, v in fields.items() if k in keep}})


def evaluation_rows(results: dict[str, dict[str, Any]], key: str, methods: Sequence[str], seed_list: Sequence[int],
                    *, init_method: str | None = None, raw_key: str | None = None,
                    labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The evaluation table of a figure: one row per method (``key`` formatted with ``method`` and
    ``seed``), then the random-init encoder (the ``init_*`` metrics of ``init_method``'s runs, which
    train with ``probe_init``) and the raw input (``results[raw_key]``). Each row:
    ``{"encoder": label, "seeds": n, metric: {"mean", "std"} or None}`` for :data:`EVAL_METRICS`
    (in %); rendered by :func:`gca_lab.report.evaluation_table`."""
    labels = labels or {}
    rows = []

    def row(name: str, k: str, prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {"encoder": name, "seeds": 0}
        for metric in EVAL_METRICS:
            have = seeds_with(results, k, seed_list, prefix + metric)
            vals = list(values_by_seed(results, k, have, prefix + metric).values())
            out["seeds"] = max(out["seeds"], len(vals))
            out[metric] = dict(zip(("mean", "std"), mean_std(vals))) if vals else None
        return out

    for m in methods:
        rows.append(row(labels.get(m, m), run_key(key, method=m)))
    if init_method is not None:
        rows.append(row(f"random init ({labels.get(init_method, init_method)}'s seeds)",
                        run_key(key, method=init_method), "init_"))
    if raw_key is not None and raw_key in results:
        raw = results[raw_key]["metrics"]
        rows.append({"encoder": "raw input", "seeds": 1,
                     **{m: ({"mean": 100.0 * raw[m], "std": 0.0} if m in raw else None) for m in EVAL_METRICS}})
    return rows


def stated_convention(method: str, loss_options: dict[str, Any] | None = None,
                      convention: str = CONVENTION) -> dict[str, Any]:
    """``loss_options`` with ``convention`` merged in for a W1-family ``method`` (an explicit
    ``convention`` in ``loss_options`` wins); unchanged for the others, whose losses do not depend on it."""
    opts = dict(loss_options or {})
    if method in W1_FAMILY:
        opts.setdefault("convention", convention)
    return opts


def train_run(key: str, *, convention: str | None = None, **fields: Any) -> Run:
    """A training run with :class:`gca_lab.train.TrainConfig` ``fields``. With ``convention``, a W1-family
    method states it in ``loss_options`` (:func:`stated_convention`); the figure experiments pass
    :data:`CONVENTION`, so their committed results say which convention computed them."""
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


def seeds_with(results: dict[str, dict[str, Any]], key: str, seed_list: Sequence[int], metric: str) -> list[int]:
    """The seeds of ``seed_list`` whose run ``key.format(seed=s)`` exists and recorded ``metric`` (a metric
    only some runs measure, such as the ``init_*`` ones of ``probe_init`` runs)."""
    return [s for s in seed_list if metric in results.get(key.format(seed=s), {}).get("metrics", {})]


def method_table(results: dict[str, dict[str, Any]], key: str, methods: Sequence[str], seed_list: Sequence[int],
                 metric: str = "probe_test_acc") -> dict[str, dict[str, Any]]:
    """Per method: values (in seed order), ``by_seed`` (``{seed: value}``), mean and std of ``metric``;
    ``key`` is formatted with ``method`` and ``seed``; missing runs are left out."""
    table = {}
    for m in methods:
        by_seed = values_by_seed(results, run_key(key, method=m), seed_list, metric)
        vals = list(by_seed.values())
        mean, std = mean_std(vals) if vals else (float("nan"), float("nan"))
        table[m] = {"values": vals, "by_seed": by_seed, "mean": mean, "std": std}
    return table


def claim(label: str, a: PerSeed, b: PerSeed, paper: str, paper_effect: float | None, **kw: Any) -> Claim:
    """An ordering claim ``a >= b`` (per-seed ``{seed: value}``, paired on the seeds both have): the
    paired difference over seeds with its 95% interval, MDE80, the power at ``paper_effect`` and the
    verdict of :func:`gca_lab.stats.judge` (the paper's ``a - b``, same units; ``None`` if the paper
    reports none). ``kw`` goes to :func:`gca_lab.stats.judge` (``kind``, ``main``, ``no_test``,
    ``paper_base``)."""
    return judge(label, paper, a=a, b=b, paper_effect=paper_effect, **kw)


def best_claim(label: str, by_method: dict[str, dict[int, float]], means: dict[str, float], method: str,
               paper: str, paper_effect: float | None, **kw: Any) -> Claim:
    """"``method`` is the best": ``method`` against the strongest other method (by mean; the
    runner-up when ``method`` leads), paired by seed. Picking the opponent by its mean favours the
    opponent, so a ``reproduced`` here is not an artefact of the choice. ``kw`` as in :func:`claim`."""
    others = [m for m in means if m != method and by_method.get(m)]
    rival = max(others, key=lambda m: means[m])
    c = judge(label, paper, a=by_method[method], b=by_method[rival], paper_effect=paper_effect, **kw)
    return dataclasses.replace(c, ours=f"{c.ours} vs {rival}")


def regime_check(label: str, strong: PerSeed, weak: PerSeed) -> str | None:
    """``None`` when ``strong`` lies above ``weak`` (paired 95% interval above 0), else the reason a claim
    that needs that regime has "no valid test here": ``label`` completed with the paired difference. Used
    for a noisy setting that must lower accuracy and for pretraining that must beat the raw input."""
    from ..stats import paired_difference

    d = paired_difference(strong, weak)
    if d.n >= 2 and d.low > 0:
        return None
    return f"{label} ({d.mean:+.2f} [{d.low:+.2f}, {d.high:+.2f}], n={d.n})"
