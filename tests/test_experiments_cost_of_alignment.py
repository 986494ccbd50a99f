"""The cost_of_alignment experiment (notebook 08): its claims on fabricated timings."""

from __future__ import annotations

from gca_lab.experiments import EXPERIMENTS



def test_cost_of_alignment_summary() -> None:
    exp = EXPERIMENTS["cost_of_alignment"]
    base = {"ince": 1.0, "gca_ince": 1.02, "rince": 1.0, "gca_rince": 1.3, "uot": 1.0, "gca_uot": 1.05}
    jitter = [0.0, 0.01, -0.01, 0.005]
    et = {m: [[v + j, v + j] for j in jitter] for m, v in base.items()}
    sizes = [256, 512, 1024, 2048, 4096]  # up to sizes where compute, not per-call overhead, dominates
    med = {m: [1e-6 * b**2 for b in sizes] for m in base}
    med["ince"] = [1e-3 * b for b in sizes]  # slope 1
    results = {"epochs": {"epoch_times": et, "machine_start": {}, "machine_end": {}},
               "loss": {"sizes": sizes, "median": med, "all": {}}}
    s = exp.summarize(results, "full")
    v = {r["claim"]: r["verdict"] for r in s["claims"]}
    rows = {r["claim"]: r for r in s["claims"]}
    # the epoch overhead of a loss on the tiny MNIST-1D encoder cannot test the poster's ResNet-18 overhead:
    # no verdict, but the numbers are kept (30% on every round for GCA-RINCE, 2% for GCA-INCE)
    assert v["GCA-INCE epoch overhead vs INCE <= 10%"] == v["GCA-RINCE epoch overhead vs RINCE <= 10%"] == "no valid test here"
    assert "ResNet-18" in rows["GCA-INCE epoch overhead vs INCE <= 10%"]["rule"]
    assert rows["GCA-RINCE epoch overhead vs RINCE <= 10%"]["high"] < 0 < rows["GCA-INCE epoch overhead vs INCE <= 10%"]["low"]
    assert all(r.kind == "paper" for r in s["claims"])
    assert abs(s["slopes"]["gca_ince"] - 2.0) < 1e-9 and abs(s["slopes"]["ince"] - 1.0) < 1e-9
    assert v["GCA-INCE loss time ~ B^2 (log-log slope in [1.7, 2.3])"] == "reproduced"
    assert v["INCE loss time ~ B^2 (log-log slope in [1.7, 2.3])"] == "not reproduced"
    assert abs(s["overhead"]["gca_ince"]["mean"] - 0.02) < 0.002


def test_slopes_below_the_compute_bound_have_no_valid_test() -> None:
    from gca_lab.experiments import cost_of_alignment as CA

    exp = EXPERIMENTS["cost_of_alignment"]
    sizes = [128, 256, 512, 1024]
    med = {m: [1e-6 * b**2 for b in sizes] for m in ("ince", "gca_ince", "gca_uot")}
    s = exp.summarize({"loss": {"sizes": sizes, "median": med, "all": {}}}, "full")
    assert {r["verdict"] for r in s["claims"]} == {"no valid test here"}  # even a perfect slope of 2
    assert CA.slope_no_test(sizes) is not None and CA.slope_no_test([256, 4096]) is None
    assert CA.epoch_no_test("full") is not None


def test_full_budget_times_mnist1d_convnet_at_b256_in_the_gca_convention() -> None:
    from gca_lab import experiments as X
    from gca_lab.experiments import cost_of_alignment as CA
    from gca_lab.experiments._common import CONVENTION, MNIST1D

    runs = {r.key: r.spec for r in X.plan("cost_of_alignment", "full")}
    ep = runs["epochs"]
    assert (ep["dataset"], ep["model"], ep["batch_size"]) == (MNIST1D["dataset"], MNIST1D["model"], 256)
    assert ep["methods"] == list(CA.METHODS) and ep["rounds"] >= 4 and ep["epochs"] >= 2  # epoch 1 is dropped
    assert ep["convention"] == runs["loss"]["convention"] == CONVENTION == "gca"
    quick = {r.key: r.spec for r in X.plan("cost_of_alignment", "quick")}
    assert quick["epochs"]["dataset"] == "digits" and quick["epochs"]["model"] == "mlp"
