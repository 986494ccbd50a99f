"""The baseline_eps experiment (docs/baseline_recipe.md): one eps grid for every method at the chosen recipe,
each method's eps chosen on validation only."""

from __future__ import annotations

from gca_lab import experiments as X
from gca_lab.experiments import baseline_eps as BE
from gca_lab.experiments import baseline_recipe as BR
from gca_lab.train import TrainConfig
from tests.fakes import train_result


def test_full_plan_is_every_method_at_every_eps_of_one_grid_at_the_chosen_recipe() -> None:
    runs = X.plan("baseline_eps", "full")
    assert len(runs) == len(BE.METHODS) * len(BE.EPSILONS) == 8 and len({r.key for r in runs}) == len(runs)
    assert {0.1, 0.2, 0.35, 0.5} <= set(BE.EPSILONS)
    assert {(r.spec["method"], r.spec["eps"]) for r in runs} == {(m, e) for m in BE.METHODS for e in BE.EPSILONS}
    batch, lr, epochs = BR.CHOSEN
    for r in runs:
        assert (r.spec["batch_size"], r.spec["lr"], r.spec["epochs"]) == (batch, lr, epochs)
        assert r.spec["data_options"] == BR.SPLITS and r.spec["probe_solver"] == "torch"
        assert r.spec.get("loss_options", {}).get("convention") == ("gca" if r.spec["method"] == "gca_uot" else None)
        TrainConfig(**r.spec).validate()


def test_quick_plan_stays_tiny() -> None:
    runs = X.plan("baseline_eps", "quick")
    assert len(runs) <= 4 and {r.spec["dataset"] for r in runs} == {"digits"}
    assert max(r.spec["epochs"] for r in runs) <= 1


def test_summary_picks_each_methods_eps_on_validation() -> None:
    val = {("ince", 0.1): 0.80, ("ince", 0.2): 0.86, ("ince", 0.35): 0.85, ("ince", 0.5): 0.84,
           ("gca_uot", 0.1): 0.81, ("gca_uot", 0.2): 0.83, ("gca_uot", 0.35): 0.87, ("gca_uot", 0.5): 0.86}
    # test accuracies that would pick other eps: they must not enter the choice
    results = {BE.key(m, e): train_result(probe_val_acc=v, probe_test_acc=1.0 - v) for (m, e), v in val.items()}
    s = X.get("baseline_eps").summarize(results, "full")
    assert s["best_eps"] == {"ince": "0.2", "gca_uot": "0.35"}
    assert s["val_acc"]["gca_uot"]["0.35"] == 87.0 and s["n_runs"] == 8
    # a method without runs yet has no eps
    partial = X.get("baseline_eps").summarize({BE.key("ince", 0.1): train_result(probe_val_acc=0.8)}, "full")
    assert partial["best_eps"] == {"ince": "0.1", "gca_uot": None}
