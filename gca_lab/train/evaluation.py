"""The evaluation of a trained run: the frozen-probe protocol of :mod:`gca_lab.evaluate` on the encoder's
features, plus the geometry of its projections and the probes under strong views, held-out corruptions
and domain labels that a config asks for."""

from __future__ import annotations

import torch

from .. import augment as _augment
from .. import data as _data
from .. import evaluate as _evaluate
from .. import geometry as _geometry
from .. import models as _models
from ..probe import torch_linear_probe as _torch_probe
from .config import TrainConfig

__all__ = ["INIT_KEYS", "evaluate_run", "evaluate_features"]

#: The metrics of the random-init encoder kept as ``init_<key>`` when ``config.probe_init`` is on.
INIT_KEYS = ("probe_test_acc", "knn_acc", "lowlabel10_test_acc", "lowlabel100_test_acc", "knn20_test_acc",
             "knn200_test_acc")


def evaluate_run(model: _models.ContrastiveModel, dataset: _data.Dataset, config: TrainConfig, *,
                 raw_input: bool = False, protocol_only: bool = False) -> dict[str, float]:
    """Frozen-probe evaluation of a model (encoder features ``h``), plus geometry metrics.

    - ``probe_test_acc`` / ``probe_val_acc`` / ``probe_C``: linear probe on clean inputs (C chosen on val),
      solved by ``config.probe_solver`` (:func:`_linear_probe`).
    - ``n_train`` / ``n_val`` / ``n_test``: the split sizes the metrics were measured on.
    - ``knn_acc``: weighted 20-NN on the same features (``T = 0.1``; kept for the committed results).
    - every metric but the full probe (``probe_*``) reads the first ``config.eval_rows`` val and test rows
      (all when ``None``): so that the evaluation does not grow with a large test set (kNN over 40,000 x
      14,000 similarities costs more than training's last epochs; uniformity's O(N^2) pairs would need
      13 GB of indices); the full probe, which the paired claims read, scores every row.
    - ``lowlabel10_test_acc`` / ``lowlabel100_test_acc``: the probe fitted on 10 / 100 labels per class,
      mean over 5 stratified draws seeded by ``config.seed``; ``knn20_test_acc`` (``k = 20, T = 0.07``) and
      ``knn200_test_acc`` (``k = 200, T = 0.1``): :func:`gca_lab.evaluate.protocol_metrics`. A size larger
      than the smallest training class, or a ``k`` above the training rows, is left out (tiny datasets).
    - with ``raw_input``: the same protocol on the flattened inputs, as ``raw_<key>``
      (:func:`gca_lab.evaluate.raw_input_baseline`; it depends on the data only, so ask for it once).
    - with ``protocol_only``: only the keys above (the random-init evaluation of :func:`gca_lab.train.train`
      keeps no more); otherwise also :func:`_extra_metrics`.

    Returns ``{metric: value}``, accuracies in [0, 1].
    """
    splits = _evaluate.Splits.embed(model.features, dataset)
    out = evaluate_features(splits, config)
    if raw_input:
        raw = _evaluate.raw_input_baseline(dataset, seed=config.seed, skip_infeasible=True)
        out.update({f"raw_{k}": v for k, v in raw.items()})
    if not protocol_only:
        out.update(_extra_metrics(model, dataset, config, splits))
    out.update(n_train=len(dataset.train), n_val=len(dataset.val), n_test=len(dataset.test))
    return out


def evaluate_features(splits: _evaluate.Splits, config: TrainConfig) -> dict[str, float]:
    """The evaluation protocol of :func:`evaluate_run` on given features (an encoder's, or the raw inputs'
    of :meth:`gca_lab.evaluate.Splits.raw`): the full probe of ``config.probe_solver`` on every row
    (``probe_test_acc``, ``probe_val_acc``, ``probe_C``), then :func:`gca_lab.evaluate.protocol_metrics`
    (low-label probes, kNN) and ``knn_acc`` on the first ``config.eval_rows`` val and test rows."""
    full = _linear_probe(splits, config)
    out = {"probe_test_acc": full.test_acc, "probe_val_acc": full.val_acc, "probe_C": full.best_C}
    rows = config.eval_rows  # None: every row (the committed results)
    sub = _evaluate.Splits(splits.train, splits.train_y, splits.val[:rows], splits.val_y[:rows],
                           splits.test[:rows], splits.test_y[:rows])
    out.update(_evaluate.protocol_metrics(sub, seed=config.seed, full_probe=False, skip_infeasible=True))
    out["knn_acc"] = _evaluate.knn_accuracy(sub)
    return out


def _linear_probe(splits: _evaluate.Splits, config: TrainConfig) -> _evaluate.ProbeResult:
    """The frozen linear probe of ``config.probe_solver`` (:data:`gca_lab.train.config.PROBE_SOLVERS`): one
    objective and one choice of ``C`` on val, solved by scikit-learn (:func:`gca_lab.evaluate.linear_probe`,
    the committed results) or torch (:func:`gca_lab.probe.torch_linear_probe`)."""
    if config.probe_solver == "torch":
        return _torch_probe(splits.train, splits.train_y, splits.val, splits.val_y, splits.test, splits.test_y,
                            seed=config.seed)
    return _evaluate.linear_probe(splits, seed=config.seed)


def _extra_metrics(model: _models.ContrastiveModel, dataset: _data.Dataset, config: TrainConfig,
                   splits: _evaluate.Splits) -> dict[str, float]:
    """The metrics beyond the protocol, on the features ``splits`` of ``dataset``:

    - ``alignment`` / ``uniformity`` (Wang & Isola 2020) of the projections of two test views, and
      ``compactness`` (a documented proxy, :func:`gca_lab.geometry.compactness`) of test features;
      alignment and uniformity on the first ``config.eval_rows`` test rows.
    - with ``config.strong``: ``strong_probe_test_acc``, the probe with the strong augmentation applied
      to the train, val and test inputs (the noisy protocol of the authors' code, docs/reference_implementation.md, item 27).
    - for each held-out corruption: ``corrupt/<name>``, the clean-trained probe on corrupted test images.
    - on multi-domain data: ``domain_probe_test_acc``.

    The random draws (views, strong augmentation, corruptions, in that order) come from one generator
    seeded ``10_000 + config.seed``.
    """
    fn = model.features
    out = {"compactness": _geometry.compactness(splits.test, splits.test_y)}
    gen = torch.Generator().manual_seed(10_000 + config.seed)
    views = _augment.TwoViews.for_dataset(dataset, config.augment, config.strong)
    x1, x2 = views(dataset.test.x[:config.eval_rows], gen)
    z1, z2 = _evaluate.embed(model, x1), _evaluate.embed(model, x2)
    out["alignment"] = float(_geometry.alignment(z1, z2))
    out["uniformity"] = float(_geometry.uniformity(z1))
    if config.strong is not None:
        strong = _evaluate.Splits.embed(fn, dataset, prepare=lambda x: _augment.apply_strong(
            x, config.strong, generator=gen))
        out["strong_probe_test_acc"] = _linear_probe(strong, config).test_acc
    for name in config.corruptions:
        xc = _augment.corrupt(dataset.test.x, name, 3, generator=gen)
        out[f"corrupt/{name}"] = _linear_probe(splits.with_test(_evaluate.embed(fn, xc)), config).test_acc
    if dataset.test.domain is not None:
        doms = splits.relabeled(dataset, "domain")
        out["domain_probe_test_acc"] = _linear_probe(doms, config).test_acc
    return out
