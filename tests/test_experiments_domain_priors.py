"""The domain_priors experiment (notebook 10): its plan and its claims on fabricated probe results."""

from __future__ import annotations

import pytest

from gca_lab.experiments import EXPERIMENTS
from gca_lab.experiments import domain_priors as dp
from gca_lab.experiments._common import MNIST1D_SHORT

RISE = "domain-probe accuracy rises with α − β (Spearman ρ ≥ 0.8)"
FLAT = "class-probe accuracy flat across the sweep (range ≤ 2 points)"
INIT = "the trained encoder (α−β = 0) decodes the domain above its random init"
RAW = "the trained encoder (α−β = 0) decodes the domain above the raw input"


def test_full_plan_is_the_mnist1d_sweep() -> None:
    runs = EXPERIMENTS["domain_priors"].plan("full")
    train = [r for r in runs if r.kind == "train"]
    assert len(train) == len(dp.SWEEP["full"]) * 3
    for r in train:
        s = r.spec
        assert s["dataset"] == "multidomain_mnist1d" and s["model"] == MNIST1D_SHORT["model"]
        assert s["epochs"] == MNIST1D_SHORT["epochs"] and s["method"] == "gca_ince" and s["target_prior"] == "domain"
        d = s["prior_alpha"] - s["prior_beta"]
        assert min(s["prior_alpha"], s["prior_beta"]) == 0.0  # one of the two is on
        assert r.key == dp.KEY.format(method=dp.point(d), seed=s["seed"])
        assert s.get("probe_init", False) == (d == 0.0)  # the random-init row comes from the d = 0 runs
    cal = [r for r in runs if r.kind == "compute" and r.spec["fn"] == "domain_priors.calibration"]
    assert sorted(r.spec["seed"] for r in cal) == [0, 1, 2]
    assert all(r.spec["dataset"] == "multidomain_mnist1d" for r in cal)
    assert any(r.key == dp.RAW_KEY and r.spec["dataset"] == "multidomain_mnist1d" for r in runs)


def _dp_results(domain_fn, class_fn, budget="full", init=0.5, raw=0.3) -> dict:
    out: dict = {}
    for s in dp.seed_list(budget):
        out[dp.CAL_KEY.format(seed=s)] = {"domain_names": ["a", "b", "c", "d"], "raw_domain_acc": raw,
                                          "init_domain_acc": init + 0.01 * s, "raw_class_acc": 0.3,
                                          "init_class_acc": 0.45}
        for d in dp.SWEEP[budget]:
            out[dp.KEY.format(method=dp.point(d), seed=s)] = {
                "metrics": {"domain_probe_test_acc": domain_fn(d, s), "probe_test_acc": class_fn(d, s)}}
    return out


def test_domain_priors_summary() -> None:
    exp = EXPERIMENTS["domain_priors"]
    good = _dp_results(lambda d, s: 0.7 + 0.3 * d + 0.01 * s, lambda d, s: 0.9 + 0.005 * d)
    s = exp.summarize(good, "full")
    v = {r.claim: r.verdict for r in s["claims"]}
    assert s["spearman"] == pytest.approx(1.0)
    assert v[RISE] == "reproduced" and v[FLAT] == "reproduced"
    assert v["domain-probe accuracy: α−β = +0.50 ≥ -0.50"] == "reproduced"  # +30 points on every seed
    bad = _dp_results(lambda d, s: 0.7 - 0.3 * d, lambda d, s: 0.9 - 0.2 * abs(d), init=0.8, raw=0.9)
    v = {r.claim: r.verdict for r in exp.summarize(bad, "full")["claims"]}
    assert v[RISE] == "contradicted"  # ρ = −1
    assert v[FLAT] == "not reproduced"
    assert v[INIT] == "contradicted" and v[RAW] == "contradicted"  # 70 % against 80-82 % and 90 %, every seed


def test_claims_pair_by_seed_and_use_the_calibration() -> None:
    exp = EXPERIMENTS["domain_priors"]
    res = _dp_results(lambda d, s: 0.7 + 0.3 * d + 0.02 * s, lambda d, s: 0.6, init=0.5, raw=0.28)
    s = exp.summarize(res, "full")
    by = {r.claim: r for r in s["claims"]}
    assert by[INIT].verdict == "reproduced" and by[RAW].verdict == "reproduced"
    assert s["calibration"]["raw_domain_acc"] == {0: pytest.approx(28.0), 1: pytest.approx(28.0), 2: pytest.approx(28.0)}
    del res[dp.KEY.format(method=dp.point(0.0), seed=2)]  # a missing run drops its seed from both sides
    s = exp.summarize(res, "full")
    assert s["domain"][0.0]["by_seed"] == {0: pytest.approx(70.0), 1: pytest.approx(72.0)}
    assert {r.claim: r.verdict for r in s["claims"]}[INIT] == "reproduced"
