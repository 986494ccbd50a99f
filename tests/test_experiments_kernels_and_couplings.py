"""The kernels_and_couplings experiment (notebook 09): its claims on fabricated plans."""

from __future__ import annotations

from gca_lab.experiments import EXPERIMENTS



def _fake_plans(ratio_init: float, ratio_trained: float, n: int = 8) -> dict:
    labels = [i // 2 for i in range(n)]
    out = {"labels": labels, "matrices": {}, "block_ratio": {}, "marginals": {}, "uot_marginal_dev": {}}
    for st, r in (("init", ratio_init), ("trained", ratio_trained)):
        out["block_ratio"][st] = {p: r for p in ("kernel", "ince", "gca_ince", "gca_uot")}
        out["marginals"][st] = {"gca_ince_converged_row_err": 1e-7, "gca_ince_converged_col_err": 2e-6,
                                "gca_ince_row_err": 0.0, "gca_ince_col_err": 1e-3, "ince_row_err": 0.0,
                                "ince_col_spread": 0.3, "ince_col_std": 0.1}
        out["uot_marginal_dev"][st] = {str(rho): {"row": d, "col": d} for rho, d in
                                       ((0.01, 0.5), (0.2, 0.2), (5.0, 0.01))}
    return out


def test_kernels_and_couplings_summary() -> None:
    exp = EXPERIMENTS["kernels_and_couplings"]
    results = {f"seed{s}": _fake_plans(1.1 + 0.01 * s, 2.0 + 0.1 * s) for s in range(3)}
    s = exp.summarize(results, "full")
    v = {r["claim"]: r["verdict"] for r in s["claims"]}
    assert v["GCA-INCE plan rows and columns sum to 1 ± 1e-4"] == "reproduced"
    assert v["INCE plan column sums are not uniform (spread > 0)"] == "reproduced"
    assert v["GCA-UOT marginal deviation grows as rho shrinks"] == "reproduced"
    assert v["gca_uot block ratio larger after training than at init"] == "reproduced"
    assert v["gca_uot plan block ratio > 1 after training"] == "reproduced"
    # a plan that got *less* blocky, and a non-monotone UOT deviation
    bad = {f"seed{s}": _fake_plans(2.0 + 0.1 * s, 1.1) for s in range(3)}
    bad["seed0"]["uot_marginal_dev"]["init"]["5.0"] = {"row": 0.9, "col": 0.9}
    v = {r["claim"]: r["verdict"] for r in exp.summarize(bad, "full")["claims"]}
    assert v["gca_uot block ratio larger after training than at init"] == "contradicted"
    assert v["GCA-UOT marginal deviation grows as rho shrinks"] == "not reproduced"
