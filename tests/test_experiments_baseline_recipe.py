"""The baseline_recipe experiment (docs/baseline_recipe.md): its plan (the new MNIST-1D protocol, the
sequential-halving grid) and its summary on fabricated results."""

from __future__ import annotations

import pytest

from gca_lab import experiments as X
from gca_lab.experiments import baseline_recipe as BR
from gca_lab.train import TrainConfig, protocol
from tests.fakes import train_result


def test_full_plan_is_the_grid_then_the_finalists_on_the_new_protocol() -> None:
    runs = X.plan("baseline_recipe", "full")
    assert all(r.kind == "train" for r in runs) and len({r.key for r in runs}) == len(runs)
    assert len(runs) == len(BR.GRID) + (BR.FINAL_SEEDS - 1) * len(BR.FINALISTS)
    for r in runs:
        assert {k: r.spec[k] for k in BR.PROTOCOL} == BR.PROTOCOL
        TrainConfig(**r.spec).validate()
    assert r.spec["data_options"] == {"n_train": 14_000, "n_val": 10_000, "n_test": 40_000}
    assert r.spec["method"] == "ince" and r.spec["probe_solver"] == "torch"
    stage1 = [(r.spec["batch_size"], r.spec["lr"], r.spec["epochs"]) for r in runs if r.spec["seed"] == 0]
    assert stage1 == list(BR.GRID) and len(set(BR.GRID)) == len(BR.GRID)
    later = {(r.spec["batch_size"], r.spec["lr"], r.spec["epochs"], r.spec["seed"]) for r in runs if r.spec["seed"]}
    assert later == {(*p, s) for p in BR.FINALISTS for s in range(1, BR.FINAL_SEEDS)}
    assert set(BR.FINALISTS) <= set(BR.GRID) and BR.CHOSEN in BR.FINALISTS
    # today's recipe is a grid point, so the search can only move up from it
    assert (256, 1e-3, 30) in BR.GRID


def test_the_new_protocol_enters_the_run_hash() -> None:
    base = TrainConfig(dataset="mnist1d", model="convnet", method="ince")
    new = TrainConfig(**BR.PROTOCOL)
    assert protocol(new)["config"]["data_options"] == BR.SPLITS
    assert protocol(new)["config"]["probe_solver"] == "torch" and protocol(new)["config"]["eval_rows"] == 4_000
    # the committed protocol's hash does not see the new evaluation fields at their defaults
    assert "probe_solver" not in protocol(base)["config"] and "eval_rows" not in protocol(base)["config"]


def test_quick_plan_stays_tiny() -> None:
    runs = X.plan("baseline_recipe", "quick")
    assert len(runs) <= 4 and {r.spec["dataset"] for r in runs} == {"digits"}
    assert max(r.spec["epochs"] for r in runs) <= 1


def _results(val: dict, test: dict, seeds: int = BR.FINAL_SEEDS) -> dict:
    """Fabricated runs: ``val[point]`` / ``test[point]`` accuracies (fractions), seed s adds 0.001 s."""
    out = {}
    for p, v in val.items():
        for s in range(seeds if p in test else 1):
            out[BR.point_key(p, s)] = train_result(probe_val_acc=v + 0.001 * s, probe_test_acc=test.get(p, v) + 0.001 * s,
                                                   n_train=14_000, n_val=10_000, n_test=40_000)
    return out


def test_summary_chooses_the_finalist_with_the_best_mean_validation_and_reports_only_its_test() -> None:
    grid = ((256, 1e-3, 30), (128, 3e-3, 30), (256, 1e-3, 60))
    val = {grid[0]: 0.80, grid[1]: 0.84, grid[2]: 0.86}
    # the finalists' test accuracies order them the other way round: the choice must not look at test
    test = {grid[1]: 0.90, grid[2]: 0.85}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(BR, "GRID", grid)
        mp.setattr(BR, "FINALISTS", (grid[2], grid[1]))
        s = BR._summarize(_results(val, test), "full")
    assert s["stage1_order"] == [BR.label(grid[2]), BR.label(grid[1]), BR.label(grid[0])]
    assert s["finalists_lead_stage1"] is True
    chosen = s["chosen"]
    assert (chosen["batch_size"], chosen["lr"], chosen["epochs"]) == grid[2]
    assert chosen["val_mean"] == pytest.approx(86.1)
    assert chosen["test_mean"] == pytest.approx(85.1) and chosen["test_std"] == pytest.approx(0.1)
    assert chosen["meets_target"] and chosen["above_reference"]
    assert chosen["matches_record"] == (grid[2] == BR.CHOSEN)
    assert chosen["splits"] == {"n_train": 14_000, "n_val": 10_000, "n_test": 40_000}
    rows = {r["point"]: r for r in s["grid"]}
    assert rows[BR.label(grid[0])]["seeds"] == 1 and rows[BR.label(grid[2])]["seeds"] == 3
    assert not rows[BR.label(grid[0])]["finalist"] and rows[BR.label(grid[1])]["finalist"]


def test_summary_flags_finalists_that_do_not_lead_stage1_and_waits_for_their_seeds() -> None:
    grid = ((256, 1e-3, 30), (128, 3e-3, 30))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(BR, "GRID", grid)
        mp.setattr(BR, "FINALISTS", (grid[0],))
        s = BR._summarize(_results({grid[0]: 0.80, grid[1]: 0.84}, {}), "full")
    assert s["finalists_lead_stage1"] is False
    assert s.chosen is None and "chosen" not in s  # the finalist has one seed of three: nothing is chosen yet


def test_quick_budget_runs_end_to_end(tmp_path) -> None:
    res = X.run("baseline_recipe", "quick", root=tmp_path, progress=False)
    assert res.computed == len(X.plan("baseline_recipe", "quick"))
    chosen = res.summary["chosen"]
    assert chosen is not None and chosen["batch_size"] == 64 and len(chosen["test_acc"]) == BR.FINAL_SEEDS
    assert chosen["matches_record"]
    assert all(r["metrics"]["n_train"] > 0 and "n_test" in r["metrics"] for r in res.results.values())
