"""The false_positive_pairs experiment (notebook 12): its plans, the plan-mass probe, and its claims on
fabricated results."""

from __future__ import annotations

import pytest
import torch

from gca_lab import experiments as X
from gca_lab.experiments import false_positive_pairs as FP
from gca_lab.experiments._common import MNIST1D_V2, tuned_eps
from gca_lab.train import TrainConfig, train
from tests.fakes import by_claim


def test_full_plan_sizes_and_specs() -> None:
    plan = X.plan("false_positive_pairs", "full")
    long = [r for r in plan if r.key.startswith("long/")]
    plan = [r for r in plan if not r.key.startswith("long/")]
    assert plan[-1].key == FP.RAW_KEY and plan[-1].spec == {"fn": "raw_input", "dataset": "mnist1d", "max_train": 8000}
    runs = plan[:-1]
    # the long-protocol pair: INCE and GCA-UOT at 40% persistent false pairs on MNIST1D_V2, tuned eps, seed by seed
    assert [(r.spec["method"], r.spec["seed"]) for r in long] == [(m, s) for s in range(FP.LONG_SEEDS)
                                                                  for m in FP.MAIN_METHODS]
    for r in long:
        assert {k: r.spec[k] for k in MNIST1D_V2} == MNIST1D_V2 and r.spec["eps"] == tuned_eps(r.spec["method"])
        assert (r.spec["false_positives"], r.spec["false_positive_mode"]) == (FP.LONG_P, "persistent")
        assert r.key == FP.long_key(r.spec["method"], r.spec["seed"])
    # persistent: 5 p x (INCE, GCA-UOT x 8 seeds + 4 methods x 3 seeds); fresh at 0.4: INCE, GCA-UOT x 8 seeds
    assert len(runs) == 5 * (2 * 8 + 4 * 3) + 2 * 8
    assert len({r.key for r in runs}) == len(runs)
    specs = [r.spec for r in runs]
    assert {s["method"] for s in specs} == set(FP.METHODS)
    assert {s["dataset"] for s in specs} == {"mnist1d"}
    assert {s.get("false_positives", 0.0) for s in specs} == set(FP.P_VALUES)
    fresh = [s for s in specs if s.get("false_positive_mode") == "fresh"]
    assert len(fresh) == 2 * 8 and {s["false_positives"] for s in fresh} == {0.4}
    assert {s["method"] for s in fresh} == {"ince", "gca_uot"}
    assert {s["seed"] for s in specs if s["method"] == "rince"} == {0, 1, 2}
    assert {s["seed"] for s in specs if s["method"] == "gca_uot"} == set(range(8))
    # p = 0 leaves the option out of the spec (so the run is a plain run), and only INCE probes its init
    for r in runs:
        if "/p0.0/" in r.key:
            assert "false_positives" not in r.spec and "false_positive_mode" not in r.spec
        assert r.spec.get("probe_init", False) == (r.key.startswith("persistent/p0.0/ince/"))
    # the main claims' runs come first, so an interrupted run leaves complete seeds of them
    first = {r.spec["method"] for r in runs[:60]}
    assert first == {"ince", "gca_uot"}


def test_quick_plan_is_small() -> None:
    runs = X.plan("false_positive_pairs", "quick")
    assert len(runs) == 4 + 1 and runs[-1].key == FP.RAW_KEY  # + the raw-input baseline
    assert all(r.spec["epochs"] == 1 and r.spec["max_train"] <= 1000 for r in runs[:-1])


def _mass(ratio: float, epochs: int = 3) -> dict:
    return {"epoch": list(range(1, epochs + 1)), "pair_mass_clean": [1.0] * epochs,
            "pair_mass_marked": [ratio] * epochs, "marked_ratio": [ratio] * epochs,
            "pair_share_marked": [0.01] * epochs, "pair_share_clean": [0.02] * epochs,
            "row_mass_marked": [0.9] * epochs, "row_mass_clean": [1.1] * epochs, "n_marked": [100.0] * epochs}


def _results(gain: dict[float, float], seeds=range(4)) -> dict:
    """Accuracy 0.70 - 0.2 p (+ gain[p] for GCA-UOT, + 0.001 on odd seeds), and a plan-mass record."""
    out = {}
    for mode, ps in (("persistent", FP.P_VALUES), ("fresh", FP.FRESH_P)):
        for p in ps:
            for m in FP.METHODS:
                for s in seeds:
                    acc = 0.70 - 0.2 * p + 0.001 * (s % 2) + (gain.get(p, 0.0) if m == "gca_uot" else 0.0)
                    metrics = {"probe_test_acc": acc}
                    if m == "ince" and p == 0 and mode == "persistent":
                        metrics["init_probe_test_acc"] = 0.48
                    mass = _mass(0.5 if p > 0 else 1.0)
                    if p == 0:
                        for k in ("pair_mass_marked", "marked_ratio", "pair_share_marked", "row_mass_marked"):
                            mass[k] = [None] * 3
                    out[FP.key(mode, p, m, s)] = {"metrics": metrics, "plan_mass": mass, "wall_time": 2.0}
    return out


def test_summary_tables_and_verdicts() -> None:
    summary = X.get("false_positive_pairs").summarize(_results({0.4: 0.02, 0.8: 0.03}), "full")
    rows = by_claim(summary)
    assert rows["GCA-UOT ≥ INCE, 40% false pairs (persistent)"]["verdict"] == "reproduced"
    assert rows["GCA-UOT ≥ INCE, 40% false pairs (persistent)"]["mean"] == pytest.approx(2.0)
    assert rows["GCA-UOT ≥ INCE, 80% false pairs (persistent)"]["verdict"] == "reproduced"
    # no gain at p = 0 on any seed: a zero-width interval at 0 is narrower than the paper's 0.60
    assert rows["GCA-UOT ≥ INCE, no false pairs"]["verdict"] == "not reproduced"
    drop = rows["GCA-UOT loses less accuracy than INCE from 0 to 80% false pairs"]
    assert drop["mean"] == pytest.approx(3.0) and drop["verdict"] == "reproduced"
    mech = next(r for name, r in rows.items() if name.startswith("GCA-UOT's plan puts less mass"))
    assert mech["mean"] == pytest.approx(50.0) and mech["verdict"] == "reproduced"
    shed = next(r for name, r in rows.items() if name.startswith("GCA-UOT's plan gives a false pair's row"))
    assert shed["mean"] == pytest.approx(20.0) and shed["verdict"] == "reproduced"  # rows 1.1 vs 0.9
    vs_ince = next(r for name, r in rows.items() if name.startswith("GCA-UOT's plan keeps less mass"))
    assert vs_ince["mean"] == pytest.approx(0.0) and vs_ince["verdict"] == "inconclusive"  # same ratio, no paper effect
    t = summary["tables"]["persistent"]["0.4"]["gca_uot"]
    assert t["mean"] == pytest.approx(100 * (0.70 - 0.08 + 0.02) + 0.05, abs=1e-6)
    assert summary["init_baseline"]["mean"] == pytest.approx(48.0)
    curve = summary["plan_mass"]["gca_uot"]["persistent"]["0.4"]
    assert curve["epoch"] == [1, 2, 3] and curve["marked_ratio"]["mean"] == pytest.approx([0.5] * 3)
    assert "marked_ratio" not in summary["plan_mass"]["gca_uot"]["persistent"]["0.0"]  # undefined at p = 0
    assert summary["wall_time_s"] == pytest.approx(2.0 * len(_results({})))
    assert summary["protocol_tables"] == {}  # no run recorded the low-label / kNN metrics


def test_summary_judges_the_long_protocol_pair_as_a_main_claim_paired_by_seed() -> None:
    results = _results({0.4: 0.02})
    assert "long" not in X.get("false_positive_pairs").summarize(results, "full")  # not run yet: no row
    for s in range(FP.LONG_SEEDS):
        for m in FP.MAIN_METHODS:
            acc = 0.85 + 0.001 * s + (0.015 if m == "gca_uot" else 0.0)
            results[FP.long_key(m, s)] = {"metrics": {"probe_test_acc": acc}, "plan_mass": _mass(0.5), "wall_time": 2.0}
    del results[FP.long_key("ince", 3)]  # a missing run drops its seed from both sides
    summary = X.get("false_positive_pairs").summarize(results, "full")
    row = by_claim(summary)[next(c.claim for c in summary["claims"] if "main protocol" in c.claim)]
    assert row["n"] == FP.LONG_SEEDS - 1 and row["mean"] == pytest.approx(1.5) and row["paper_effect"] == 1.15
    assert next(c for c in summary["claims"] if "main protocol" in c.claim).main
    assert summary["long"]["tables"]["gca_uot"]["mean"] == pytest.approx(100 * (0.865 + 0.0035))
    assert summary["long"]["eps"] == {m: tuned_eps(m) for m in FP.MAIN_METHODS}
    # the short sweep's tables are those of the short runs only
    assert summary["tables"]["persistent"]["0.4"]["gca_uot"]["mean"] == pytest.approx(100 * (0.70 - 0.08 + 0.02) + 0.05)


def test_summary_tabulates_the_evaluation_protocol_when_every_run_has_it() -> None:
    results = _results({})
    for r in results.values():
        r["metrics"]["knn20_test_acc"] = r["metrics"]["probe_test_acc"] - 0.05
    protocol = X.get("false_positive_pairs").summarize(results, "full")["protocol_tables"]
    assert set(protocol) == {"knn20_test_acc"}
    assert protocol["knn20_test_acc"]["0.0"]["ince"]["mean"] == pytest.approx(65.05)


def test_summary_of_a_harmful_gca_uot_is_contradicted() -> None:
    rows = by_claim(X.get("false_positive_pairs").summarize(_results({0.4: -0.02, 0.8: -0.02}), "full"))
    assert rows["GCA-UOT ≥ INCE, 40% false pairs (persistent)"]["verdict"] == "contradicted"
    assert rows["GCA-UOT loses less accuracy than INCE from 0 to 80% false pairs"]["verdict"] == "contradicted"


def test_summary_pairs_by_seed_when_a_run_is_missing() -> None:
    results = _results({0.4: 0.02})
    del results[FP.key("persistent", 0.4, "ince", 0)]  # the pairs must drop seed 0, not shift
    row = by_claim(X.get("false_positive_pairs").summarize(results, "full"))["GCA-UOT ≥ INCE, 40% false pairs (persistent)"]
    assert row["n"] == 3 and row["mean"] == pytest.approx(2.0)


def test_plan_mass_probe_records_every_epoch_and_leaves_the_weights_alone() -> None:
    config = TrainConfig(dataset="digits", model="mlp", method="gca_uot", epochs=2, batch_size=128, progress=False,
                         probe=False, false_positives=0.4)
    probe = FP.PlanMassProbe(config, batches=2)
    probed = train(config, on_epoch_end=probe)
    plain = train(config)
    for k, v in plain.model.state_dict().items():
        assert torch.equal(v, probed.model.state_dict()[k]), k
    rec = probe.records
    assert rec["epoch"] == [1, 2]
    assert all(len(rec[k]) == 2 for k in rec)
    assert rec["n_marked"][0] == pytest.approx(0.4 * 128, abs=20)  # persistent: about p of each batch
    assert all(0 < v < 1 for v in rec["pair_share_marked"] + rec["pair_share_clean"])


def test_plan_mass_probe_without_false_pairs_records_clean_rows_only() -> None:
    config = TrainConfig(dataset="digits", model="mlp", method="ince", epochs=1, batch_size=128, progress=False,
                         probe=False)
    probe = FP.PlanMassProbe(config, batches=1)
    train(config, on_epoch_end=probe)
    assert probe.records["pair_share_marked"] == [None] and probe.records["n_marked"] == [0.0]
    assert probe.records["row_mass_clean"][0] == pytest.approx(1.0, abs=1e-4)  # INCE's rows are balanced


def test_probe_rejects_a_bad_batch_count() -> None:
    with pytest.raises(ValueError, match="batches"):
        FP.PlanMassProbe(TrainConfig(dataset="digits", model="mlp"), batches=0)


def test_quick_run_end_to_end(tmp_path) -> None:
    res = X.run("false_positive_pairs", "quick", root=tmp_path, progress=False)
    assert res.computed == 4 + 1  # + the raw-input baseline
    s = res.summary
    rows = {r["encoder"]: r for r in s["evaluation"]}
    assert set(rows) == {"INCE", "GCA-UOT", "random init (INCE's seeds)", "raw input"}
    assert rows["raw input"]["seeds"] == 1 and 10 < rows["raw input"]["probe_test_acc"]["mean"] < 100
    assert set(s["tables"]["persistent"]) == {"0.0", "0.4"}
    assert all(0 < s["tables"]["persistent"]["0.4"][m]["mean"] <= 100 for m in FP.QUICK_METHODS)
    curve = s["plan_mass"]["gca_uot"]["persistent"]["0.4"]
    assert curve["epoch"] == [1] and curve["marked_ratio"]["mean"][0] > 0
    again = X.load("false_positive_pairs", "quick", root=tmp_path)
    assert again.results == res.results
