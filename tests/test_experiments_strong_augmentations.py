"""The strong_augmentations experiment (notebook 06): its full plan and its claims on fabricated results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gca_lab import experiments as X
from gca_lab.experiments import _core
from gca_lab.experiments import strong_augmentations as SA
from gca_lab.experiments._common import MNIST1D_V2, tuned_eps
from tests.fakes import by_claim, train_result

ROOT = Path(__file__).resolve().parents[1]


def test_full_budget_sizes() -> None:
    plan = X.plan("strong_augmentations", "full")
    short = [r for r in plan if r.kind == "train" and not r.key.startswith("long/")]
    assert len(short) == 4 * (2 * 8 + 4 * 3) and [r.key for r in plan if r.kind == "compute"] == [SA.RAW_KEY]
    assert len(plan) == len(short) + 1 + 2 * 2 * 8
    assert all(r.spec["dataset"] == "mnist1d" and r.spec["epochs"] == 10 and "corruptions" not in r.spec for r in short)
    assert {r.spec["seed"] for r in short if r.spec["method"] == "gca_uot"} == set(range(8))
    assert {r.spec["seed"] for r in short if r.spec["method"] == "rince"} == set(range(3))
    assert {r.spec["strong"] for r in short} == {None, "large_erase", "strong_crop", "brightness"}
    assert {"simclr", "ince", "rince", "gca_ince", "gca_rince", "gca_uot"} <= {r.spec["method"] for r in short}


def test_the_short_grid_keeps_its_committed_run_hashes() -> None:
    """The long pair is added without touching the short grid: every short run (and the raw input) still has
    the hash of its committed result, so none of the 113 is recomputed."""
    committed = json.loads((ROOT / "data" / "results" / "strong_augmentations-full.json").read_text())["runs"]
    short = [r for r in X.plan("strong_augmentations", "full") if not r.key.startswith("long/")]
    assert len(short) == 113 and set(committed) >= {r.key for r in short}
    assert all(committed[r.key]["hash"] == X.run_hash(r) for r in short)


def test_long_pair_is_the_main_protocol_on_the_short_grids_seeds() -> None:
    plan = X.plan("strong_augmentations", "full")
    long = {r.key: r for r in plan if r.key.startswith("long/")}
    assert set(long) == {SA.long_key(st, m, s) for st in ("standard", "large_erase") for m in ("ince", "gca_uot")
                         for s in range(8)}
    short_seeds = {r.spec["seed"] for r in plan if r.key.startswith("large_erase/") and r.spec["method"] == "ince"}
    assert {r.spec["seed"] for r in long.values()} == short_seeds == set(range(8))  # paired by seed
    for r in long.values():
        assert r.kind == "train" and {k: r.spec[k] for k in MNIST1D_V2} == MNIST1D_V2
        assert r.spec["eps"] == tuned_eps(r.spec["method"])
        assert r.spec.get("strong") == (None if "/standard/" in r.key else "large_erase")
        if r.spec["method"] == "gca_uot":
            assert r.spec["loss_options"] == {"convention": "gca"}
        _core._config_of(r).validate()
    # the standard setting is main_results' run of the same method and seed: same spec, so the same hash
    main = {r.key: r for r in X.plan("main_results", "full")}
    for m in ("ince", "gca_uot"):
        for s in range(8):
            r = long[SA.long_key("standard", m, s)]
            assert r.spec == main[f"mnist1d/{m}/seed{s}"].spec
            assert X.run_hash(r) == X.run_hash(main[f"mnist1d/{m}/seed{s}"])
    assert not any(k.startswith("long/") for k in (r.key for r in X.plan("strong_augmentations", "quick")))
    with pytest.raises(ValueError, match="setting"):
        SA.long_run("strong_crop", "ince", 0)


def _strong_results(uot_gain: dict[str, float], methods=SA.METHODS, seeds=range(3), harder=None) -> dict:
    """Fabricated runs; every strong setting lowers accuracy by ``harder[setting]`` (default 5 points)."""
    harder = harder or {}
    results = {}
    for setting in SA.SETTINGS:
        drop = 0.0 if setting == "standard" else harder.get(setting, 0.05)
        for m in methods:
            for s in seeds:
                acc = (0.80 - drop + 0.001 * s + (uot_gain[setting] if m == "gca_uot" else 0.0)
                       + 0.001 * (s % 2) * (m == "gca_uot"))
                metrics = {"probe_test_acc": acc if setting == "standard" else 0.97,
                           "corrupt/snow": acc - 0.1, "corrupt/gaussian_noise": acc - 0.2}
                if setting != "standard":
                    metrics["strong_probe_test_acc"] = acc
                results[SA.KEY.format(setting=setting, method=m, seed=s)] = train_result(**metrics)
    return results


def test_strong_augmentations_summary_verdicts() -> None:
    gains = {"standard": 0.002, "large_erase": 0.02, "strong_crop": 0.03, "brightness": -0.01}
    summary = X.get("strong_augmentations").summarize(_strong_results(gains), "full")
    rows = by_claim(summary)
    assert rows["GCA-UOT ≥ INCE under large_erase"]["verdict"] == "reproduced"
    assert rows["GCA-UOT ≥ INCE under strong_crop"]["verdict"] == "reproduced"
    # 1 point worse on every seed: the interval lies below 0
    assert rows["GCA-UOT ≥ INCE under brightness"]["verdict"] == "contradicted"
    assert rows["GCA-UOT is the best method under brightness"]["verdict"] == "contradicted"
    assert rows["GCA-UOT ≥ INCE under large_erase"]["main"] and rows["GCA-UOT ≥ INCE under large_erase"]["p_holm"] < 0.05
    gap_row = rows["GCA-UOT − INCE gap larger in the noisy setting (large_erase, strong_crop, brightness) than in the "
                   "standard one"]
    # noisy gap = mean(2, 3, -1) = 1.33 points vs 0.2 points standard (+0.05 jitter on odd seeds in both)
    assert gap_row["mean"] == pytest.approx((2 + 3 - 1) / 3 - 0.2, abs=1e-6)
    assert gap_row["verdict"] == "reproduced"
    assert summary["tables"]["strong_crop"]["gca_uot"]["mean"] == pytest.approx(100 * (0.751 + 0.03) + 0.1 / 3, abs=1e-6)
    assert summary["corrupt"] == {} and summary["corruptions"] == []  # image corruptions: not on signals


def test_strong_augmentations_summary_gap_not_larger() -> None:
    gains = {"standard": 0.03, "large_erase": 0.0, "strong_crop": 0.0, "brightness": 0.0}
    rows = by_claim(X.get("strong_augmentations").summarize(_strong_results(gains), "full"))
    assert rows["GCA-UOT − INCE gap larger in the noisy setting (large_erase, strong_crop, brightness) than in the "
                "standard one"]["verdict"] == "contradicted"


def test_a_setting_that_does_not_lower_accuracy_has_no_valid_test() -> None:
    gains = {"standard": 0.002, "large_erase": 0.02, "strong_crop": 0.03, "brightness": 0.02}
    summary = X.get("strong_augmentations").summarize(_strong_results(gains, harder={"brightness": 0.0}), "full")
    rows = by_claim(summary)
    for label in ("GCA-UOT ≥ INCE under brightness", "GCA-UOT is the best method under brightness"):
        assert rows[label]["verdict"] == "no valid test here"
        assert rows[label]["rule"].startswith("brightness does not lower INCE's accuracy")
        assert rows[label]["low"] > 0  # the numbers are still there
    assert rows["GCA-UOT ≥ INCE under large_erase"]["verdict"] == "reproduced"
    # the noisy-setting gap averages only the settings that lower accuracy
    assert "GCA-UOT − INCE gap larger in the noisy setting (large_erase, strong_crop) than in the standard one" in rows


def test_strong_augmentations_summary_quick() -> None:
    results = {k: v for k, v in _strong_results({s: 0.01 for s in SA.SETTINGS}, SA.QUICK_METHODS, range(2)).items()
               if k.split("/")[0] in SA.QUICK_SETTINGS}
    summary = X.get("strong_augmentations").summarize(results, "quick")
    assert summary["settings"] == list(SA.QUICK_SETTINGS)
    assert "GCA-UOT ≥ INCE under strong_crop" in by_claim(summary)
    assert summary["corrupt"]["snow"]["ince"]["mean"] == pytest.approx(70.05)
    assert summary["corrupt_strong"]["gaussian_noise"]["ince"]["mean"] == pytest.approx(55.05)  # 5 points harder


def _long_results(uot_gain: float, drop: float, std_gain: float = 0.005, seeds=range(8)) -> dict:
    """Fabricated long-pair runs: large_erase lowers every method by ``drop``; GCA-UOT − INCE is
    ``uot_gain`` under it (plus 0.1 point on odd seeds) and ``std_gain`` in the standard setting."""
    results = {}
    for s in seeds:
        for m in SA.MAIN_METHODS:
            uot = m == "gca_uot"
            base = 0.88 + 0.002 * s
            results[SA.long_key("standard", m, s)] = train_result(probe_test_acc=base + std_gain * uot)
            acc = base - drop + (uot_gain + 0.001 * (s % 2)) * uot
            results[SA.long_key("large_erase", m, s)] = train_result(probe_test_acc=0.99, strong_probe_test_acc=acc)
    return results


def test_long_pair_claims_and_summary_field() -> None:
    gains = {"standard": 0.002, "large_erase": 0.02, "strong_crop": 0.03, "brightness": -0.01}
    results = {**_strong_results(gains, seeds=range(8)), **_long_results(uot_gain=0.015, drop=0.04)}
    summary = X.get("strong_augmentations").summarize(results, "full")
    rows = by_claim(summary)
    regime = rows["large_erase lowers INCE's accuracy, main protocol (INCE standard − large_erase)"]
    assert regime["kind"] == "check" and regime["verdict"] == "reproduced"
    assert regime["mean"] == pytest.approx(4.0, abs=1e-9)
    main = rows["GCA-UOT ≥ INCE, large_erase, main protocol (60 epochs, tuned eps)"]
    assert main["main"] and main["kind"] == "paper" and main["paper_effect"] == pytest.approx(1.15)
    assert main["n"] == 8 and main["mean"] == pytest.approx(1.55, abs=1e-9) and main["verdict"] == "reproduced"
    assert main["p_holm"] > main["p"]  # adjusted together with the short grid's three main claims
    gap = rows["GCA-UOT − INCE gap larger under large_erase than in the standard setting, main protocol"]
    assert gap["mean"] == pytest.approx(1.55 - 0.5, abs=1e-9) and not gap["main"]
    long = summary["long"]
    assert long["regime"] is None and long["seeds"] == list(range(8)) and long["strong"] == "large_erase"
    assert long["eps"] == {"ince": tuned_eps("ince"), "gca_uot": tuned_eps("gca_uot")}
    assert long["protocol"] == MNIST1D_V2 and long["standard_from"] == "main_results"
    assert long["tables"]["large_erase"]["ince"]["mean"] == pytest.approx(100 * (0.88 + 0.007 - 0.04), abs=1e-9)
    assert long["tables"]["standard"]["gca_uot"]["by_seed"][3] == pytest.approx(100 * (0.886 + 0.005), abs=1e-9)
    # per seed, the long gap beside the short grid's (2 points + 0.1 on odd seeds) on the same seeds
    assert long["gaps"]["long"][1] == pytest.approx(1.6, abs=1e-9)
    assert long["gaps"]["short"][1] == pytest.approx(2.1, abs=1e-9) and set(long["gaps"]["short"]) == set(range(8))
    # the short grid's rows are unchanged by the long pair
    assert rows["GCA-UOT ≥ INCE under large_erase"]["n"] == 8 and summary["settings"] == list(SA.SETTINGS)


def test_long_pair_where_large_erase_does_not_lower_accuracy_has_no_valid_test() -> None:
    gains = {"standard": 0.002, "large_erase": 0.02, "strong_crop": 0.03, "brightness": -0.01}
    results = {**_strong_results(gains, seeds=range(8)), **_long_results(uot_gain=0.015, drop=0.0)}
    summary = X.get("strong_augmentations").summarize(results, "full")
    rows = by_claim(summary)
    assert rows["large_erase lowers INCE's accuracy, main protocol (INCE standard − large_erase)"][
        "verdict"] != "reproduced"
    for label in ("GCA-UOT ≥ INCE, large_erase, main protocol (60 epochs, tuned eps)",
                  "GCA-UOT − INCE gap larger under large_erase than in the standard setting, main protocol"):
        assert rows[label]["verdict"] == "no valid test here"
        assert rows[label]["rule"].startswith("large_erase does not lower INCE's accuracy at the main protocol")
    assert summary["long"]["regime"].startswith("large_erase does not lower")
    # without the standard-setting runs the precondition is unknown: no verdict either
    no_std = {k: v for k, v in results.items() if not k.startswith("long/standard/")}
    rows = by_claim(X.get("strong_augmentations").summarize(no_std, "full"))
    main = rows["GCA-UOT ≥ INCE, large_erase, main protocol (60 epochs, tuned eps)"]
    assert main["verdict"] == "no valid test here" and "missing" in main["rule"]
    assert not any(c.startswith("large_erase lowers INCE") for c in rows)


def test_summary_has_no_long_field_before_the_long_runs() -> None:
    gains = {"standard": 0.002, "large_erase": 0.02, "strong_crop": 0.03, "brightness": -0.01}
    summary = X.get("strong_augmentations").summarize(_strong_results(gains), "full")
    assert "long" not in summary and summary["seed_plan"] == SA.SEED_PLAN
    assert not any("main protocol" in c for c in by_claim(summary))
