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


def test_full_budget_is_gca_uot_on_v2_short_at_its_tuned_eps_in_the_gca_convention() -> None:
    from gca_lab import experiments as X
    from gca_lab.experiments import epsilon_iterations as EI
    from gca_lab.experiments import kernels_and_couplings as KC
    from gca_lab.experiments._common import CONVENTION, MNIST1D_V2_SHORT, tuned_eps

    runs = X.plan("kernels_and_couplings", "full")
    plans = [r for r in runs if r.spec["fn"] == "kernels_and_couplings.plans"]
    assert [r.key for r in plans] == ["seed0", "seed1", "seed2"]
    for r in plans:
        # the V2 short protocol: 15 epochs, batch 128, lr 3e-3, the 14k/10k/40k split, the torch probe
        assert {k: r.spec[k] for k in MNIST1D_V2_SHORT} == MNIST1D_V2_SHORT and r.spec["epochs"] == 15
        assert r.spec["eps"] == tuned_eps("gca_uot") and "method" not in r.spec  # plans() trains GCA-UOT
        assert r.spec["convention"] == CONVENTION == "gca" and r.spec["probe"] and r.spec["probe_init"]
        assert r.spec["n_classes"] * r.spec["n_per_class"] == 80  # all ten MNIST-1D classes
    raw = [r for r in runs if r.spec["fn"] == "raw_input"]
    assert [r.key for r in raw] == [KC.RAW_KEY]
    assert {k: raw[0].spec[k] for k in ("dataset", "data_options", "probe_solver", "eval_rows")} == {
        k: MNIST1D_V2_SHORT[k] for k in ("dataset", "data_options", "probe_solver", "eval_rows")}
    # the plans' rho grid holds every rho epsilon_iterations trains GCA-UOT at, and the trained rho
    assert set(EI.UOT_RHOS) <= set(KC.RHOS) and EI.UOT_RHO in KC.RHOS
    quick = X.plan("kernels_and_couplings", "quick")
    assert [r.spec["dataset"] for r in quick] == ["digits"] and quick[0].spec["epochs"] <= 2


def test_plans_train_with_the_config_fields_they_are_given(monkeypatch) -> None:
    """The V2 fields reach the TrainConfig of the training (not only the run spec)."""
    from gca_lab import train as T
    from gca_lab.experiments import kernels_and_couplings as KC

    seen = []
    real = T.train

    def spy(cfg):
        seen.append(cfg)
        return real(cfg)

    monkeypatch.setattr(T, "train", spy)
    out = KC.plans(seed=0, model="mlp", epochs=1, dataset="digits", n_classes=4, n_per_class=4, probe=False,
                   batch_size=64, lr=2e-3, rhos=[0.2, 1.0], converged_iters=50)
    assert len(seen) == 1 and seen[0].batch_size == 64 and seen[0].lr == 2e-3 and seen[0].method == "gca_uot"
    assert set(out["uot_marginal_dev"]["trained"]) == {"0.2", "1.0"}


def test_kernels_and_couplings_evaluation_rows() -> None:
    exp = EXPERIMENTS["kernels_and_couplings"]
    results = {f"seed{s}": _fake_plans(1.1, 2.0) for s in range(3)}
    for s in range(3):
        results[f"seed{s}"]["metrics"] = {"probe_test_acc": 0.80 + 0.01 * s, "init_probe_test_acc": 0.50}
    results["raw_input"] = {"metrics": {"probe_test_acc": 0.30}}
    rows = exp.summarize(results, "full")["evaluation"]
    assert [r["encoder"] for r in rows] == ["GCA-UOT", "random init (GCA-UOT's seeds)",
                                            "raw input"]
    assert abs(rows[0]["probe_test_acc"]["mean"] - 81.0) < 1e-9 and rows[0]["seeds"] == 3
    assert abs(rows[1]["probe_test_acc"]["mean"] - 50.0) < 1e-9 and abs(rows[2]["probe_test_acc"]["mean"] - 30.0) < 1e-9
    # without the trained runs' metrics (the quick budget trains without a probe) there is no table
    assert "evaluation" not in exp.summarize({f"seed{s}": _fake_plans(1.1, 2.0) for s in range(3)}, "full")


def test_seed_plan_is_stated_from_the_module() -> None:
    from gca_lab import stats as S
    from gca_lab.experiments import kernels_and_couplings as KC

    n = KC.BUDGETS["full"]["n_seeds"]
    assert KC.SEED_PLAN.startswith("Seeds sized before running") and f"{n} seeds" in KC.SEED_PLAN
    assert f"{S.mde(n, 1.0):.2f} x the paired sd" in KC.SEED_PLAN
