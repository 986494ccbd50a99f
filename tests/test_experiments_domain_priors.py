"""The domain_priors experiment (notebook 10): its claims on fabricated probe results."""

from __future__ import annotations

import pytest

from gca_lab.experiments import EXPERIMENTS



def _dp_results(domain_fn, class_fn, budget="full") -> dict:
    from gca_lab.experiments import domain_priors as dp

    out = {"calibration": {"pixels_domain_acc": 0.8}}
    for d in dp.SWEEP[budget]:
        for s in range(dp.BUDGETS[budget]["n_seeds"]):
            out[dp.KEY.format(d=d, seed=s)] = {"metrics": {"domain_probe_test_acc": domain_fn(d, s),
                                                           "probe_test_acc": class_fn(d, s)}}
    return out


def test_domain_priors_summary() -> None:
    exp = EXPERIMENTS["domain_priors"]
    good = _dp_results(lambda d, s: 0.7 + 0.3 * d + 0.001 * s, lambda d, s: 0.9 + 0.005 * d)
    s = exp.summarize(good, "full")
    v = {r["claim"]: r["verdict"] for r in s["claims"]}
    assert s["spearman"] == pytest.approx(1.0)
    assert v["domain-probe accuracy rises with α − β (Spearman ρ ≥ 0.8)"] == "reproduced"
    assert v["class-probe accuracy flat across the sweep (range ≤ 2 points)"] == "reproduced"
    bad = _dp_results(lambda d, s: 0.7 - 0.3 * d, lambda d, s: 0.9 - 0.2 * abs(d))
    v = {r["claim"]: r["verdict"] for r in exp.summarize(bad, "full")["claims"]}
    assert v["domain-probe accuracy rises with α − β (Spearman ρ ≥ 0.8)"] == "contradicted"  # ρ = −1
    assert v["class-probe accuracy flat across the sweep (range ≤ 2 points)"] == "not reproduced"
