"""The evaluation options of a run (``probe_solver``, ``eval_rows``) and the split sizes in its metrics:
at their defaults nothing changes (nor the run hash), set they change only what they name."""

from __future__ import annotations

import pytest
import torch

from gca_lab import evaluate as E
from gca_lab.train import TrainConfig, evaluate_run, protocol, weights_key
from gca_lab.train.components import build_model, load_dataset


def _model_and_data(config: TrainConfig):
    ds = load_dataset(config)
    torch.manual_seed(0)
    return build_model(config, tuple(ds.train.x.shape[1:])).eval(), ds


def test_defaults_score_every_row_with_scikit_learn_and_record_the_split_sizes() -> None:
    config = TrainConfig(dataset="digits", model="mlp", progress=False)
    model, ds = _model_and_data(config)
    out = evaluate_run(model, ds, config)
    splits = E.Splits.embed(model.features, ds)
    assert out["probe_test_acc"] == E.linear_probe(splits, seed=0).test_acc
    assert out["knn20_test_acc"] == E.protocol_metrics(splits, full_probe=False, low_label=())["knn20_test_acc"]
    assert (out["n_train"], out["n_val"], out["n_test"]) == (len(ds.train), len(ds.val), len(ds.test))


def test_eval_rows_restricts_every_metric_but_the_full_probe() -> None:
    rows = 100
    config = TrainConfig(dataset="digits", model="mlp", progress=False, eval_rows=rows)
    model, ds = _model_and_data(config)
    out = evaluate_run(model, ds, config, protocol_only=True)
    full = evaluate_run(model, ds, TrainConfig(dataset="digits", model="mlp"), protocol_only=True)
    s = E.Splits.embed(model.features, ds)
    sub = E.Splits(s.train, s.train_y, s.val[:rows], s.val_y[:rows], s.test[:rows], s.test_y[:rows])
    assert out["knn20_test_acc"] == E.knn_accuracies(sub, settings=[(20, 0.07)])[0]
    assert out["probe_test_acc"] == full["probe_test_acc"]  # the full probe still reads every row
    assert out["n_test"] == len(ds.test) > rows
    # as many rows as the splits hold: the same metrics as the default
    same = evaluate_run(model, ds, TrainConfig(dataset="digits", model="mlp", eval_rows=len(ds.test)),
                        protocol_only=True)
    assert same == full


def test_torch_probe_solver_agrees_with_scikit_learn() -> None:
    config = TrainConfig(dataset="digits", model="mlp", probe_solver="torch")
    model, ds = _model_and_data(config)
    torch_out = evaluate_run(model, ds, config, protocol_only=True)
    sk_out = evaluate_run(model, ds, TrainConfig(dataset="digits", model="mlp"), protocol_only=True)
    assert abs(torch_out["probe_test_acc"] - sk_out["probe_test_acc"]) <= 0.01
    assert {k: v for k, v in torch_out.items() if not k.startswith("probe_")} == \
        {k: v for k, v in sk_out.items() if not k.startswith("probe_")}


def test_the_options_enter_the_hash_only_when_set() -> None:
    base = TrainConfig(dataset="digits")
    assert "probe_solver" not in protocol(base)["config"] and "eval_rows" not in protocol(base)["config"]
    for changed in (TrainConfig(dataset="digits", probe_solver="torch"), TrainConfig(dataset="digits", eval_rows=10)):
        assert protocol(changed) != protocol(base)
        assert weights_key(changed) == weights_key(base)  # evaluation only: the trained weights are shared


@pytest.mark.parametrize("field, value, match", [("probe_solver", "lbfgs", "probe_solver"), ("eval_rows", 0, "eval_rows")])
def test_bad_evaluation_options_name_the_field(field: str, value: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{field: value}).validate()
