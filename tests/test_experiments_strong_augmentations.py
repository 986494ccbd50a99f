"""The strong_augmentations experiment (notebook 06): its full plan and its claims on fabricated results."""

from __future__ import annotations

import pytest

from gca_lab import experiments as X
from gca_lab.experiments import strong_augmentations as SA
from tests.fakes import by_claim, train_result


def test_full_budget_sizes() -> None:
    plan = X.plan("strong_augmentations", "full")
    sa = [r for r in plan if r.kind == "train"]
    assert len(sa) == 4 * (2 * 8 + 4 * 3) and [r.key for r in plan if r.kind == "compute"] == [SA.RAW_KEY]
    assert all(r.spec["dataset"] == "mnist1d" and r.spec["epochs"] == 10 and "corruptions" not in r.spec for r in sa)
    assert {r.spec["seed"] for r in sa if r.spec["method"] == "gca_uot"} == set(range(8))
    assert {r.spec["seed"] for r in sa if r.spec["method"] == "rince"} == set(range(3))
    assert {r.spec["strong"] for r in sa} == {None, "large_erase", "strong_crop", "brightness"}
    assert {"simclr", "ince", "rince", "gca_ince", "gca_rince", "gca_uot"} <= {r.spec["method"] for r in sa}


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
