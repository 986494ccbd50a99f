"""The implementation_choices experiment (notebook 11): its MNIST-1D plan, its claims on fabricated results,
the loss-values computation, and the two reference-code defects it reproduces for comparison (the
fine-tuned "linear" evaluation, the CIFAR "rince")."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from gca_lab import data, methods
from gca_lab import experiments as X
from gca_lab.evaluate import probe_encoder
from gca_lab.experiments import implementation_choices as ic
from gca_lab.experiments._common import CONVENTION, EVAL_METRICS, MNIST1D_V2_SHORT, W1_FAMILY, tuned_eps
from tests.fakes import by_claim, train_result


def test_full_plan_is_the_v2_short_protocol_at_tuned_eps_in_the_gca_convention() -> None:
    runs = {r.key: r for r in X.plan("implementation_choices", "full")}
    n_seeds, variants = ic.BUDGETS["full"]["n_seeds"], ic.BUDGETS["full"]["variants"]
    # per seed: the default, each variant, the reference evaluation of the random-init encoder; + loss values, raw input
    assert len(runs) == n_seeds * (2 + len(variants)) + 2 == 42
    assert MNIST1D_V2_SHORT["epochs"] == 15 and MNIST1D_V2_SHORT["data_options"]["n_test"] == 40_000
    assert runs["loss_values"].spec["convention"] == CONVENTION == "gca"
    # the raw signals scored by the runs' own evaluation (torch probe, eval rows) on the same split
    assert runs[ic.RAW_KEY].spec == {"fn": "raw_input", "dataset": "mnist1d",
                                     **{k: MNIST1D_V2_SHORT[k] for k in ("data_options", "probe_solver", "eval_rows")}}
    for s in range(n_seeds):
        default = runs[f"default/seed{s}"].spec
        assert default["probe_init"] is True and default["method"] == "gca_uot"
        assert {k: default[k] for k in MNIST1D_V2_SHORT} == MNIST1D_V2_SHORT and default["seed"] == s
        assert default["eps"] == tuned_eps("gca_uot")
        assert default["loss_options"] == {"convention": CONVENTION}
        init = runs[ic.INIT_KEY.format(seed=s)].spec
        assert {k: init[k] for k in MNIST1D_V2_SHORT} == MNIST1D_V2_SHORT and init["seed"] == s
        assert init["ref_epochs"] == default["ref_epochs"]
        for v in variants:
            spec = runs[f"{v}/seed{s}"].spec
            assert {k: spec[k] for k in MNIST1D_V2_SHORT} == MNIST1D_V2_SHORT and spec["seed"] == s
            # each run at its own method's eps: a variant that changes the method changes the eps with it
            assert spec["eps"] == tuned_eps(spec["method"]), v
            if spec["method"] in W1_FAMILY:
                assert spec["loss_options"]["convention"] == CONVENTION
            # one choice changed from the default and nothing else (eps follows the method)
            changed = {k for k in spec if spec.get(k) != default.get(k)} - {"loss_options", "eps"}
            opts = set(spec.get("loss_options", {})) - {"convention"}
            wanted = set(ic.VARIANTS[v]) - {"loss_options"} | set(ic.VARIANTS[v].get("loss_options", {}))
            assert changed | opts == wanted, v
    # the RINCE row's pair (clamped joint INCE, true RINCE) shares INCE's eps
    assert runs["ince_joint_clamp/seed0"].spec["eps"] == runs["rince/seed0"].spec["eps"] == tuned_eps("ince")
    # the marginal-scale row: under "gca" the default already has the reference's 1/n, the variant unit masses
    assert runs["unit_masses/seed0"].spec["loss_options"]["marginals"] == "one"


def test_quick_plan_keeps_the_library_default_eps() -> None:
    runs = X.plan("implementation_choices", "quick")
    assert [r.key for r in runs] == ["loss_values", "default/seed0", "clamp/seed0", ic.INIT_KEY.format(seed=0),
                                     ic.RAW_KEY]
    assert all("eps" not in r.spec for r in runs)


def _results(acc: dict[str, list[float]], ref: list[float], seeds=range(5)) -> dict:
    results: dict = {}
    for v, vals in acc.items():
        for s in seeds:
            extra = {m: vals[s] - 0.01 for m in EVAL_METRICS if m != "probe_test_acc"}
            r = train_result(probe_test_acc=vals[s], **extra)
            if v == "default":
                r["metrics"].update({f"init_{m}": 0.5 for m in EVAL_METRICS})
                r["reference_eval"] = {"best_test_acc": ref[s], "final_test_acc": ref[s] - 0.01, "best_epoch": 3,
                                       "encoder_change": 0.2, "test_acc": [ref[s]]}
            results[f"{v}/seed{s}"] = r
    for s in seeds:
        results[ic.INIT_KEY.format(seed=s)] = {"reference_eval": {"best_test_acc": ref[s] - 0.001 * (s % 2)}}
    results[ic.RAW_KEY] = {"metrics": {m: 0.3 for m in EVAL_METRICS}}
    return results


def test_summary_rows_read_each_reference_choice_with_its_sign() -> None:
    base = [0.70, 0.72, 0.71, 0.73, 0.70]
    acc = {"default": base,
           "clamp": [b - 0.03 + 0.002 * (s % 2) for s, b in enumerate(base)],  # 3 points lower on every seed
           "unit_masses": [b - 0.02 - 0.001 * s for s, b in enumerate(base)],  # 1/n (the default) is higher
           "joint": [b + 0.001 * (-1) ** s for s, b in enumerate(base)],  # no effect
           "joint_max_cost": [b + 0.001 * (-1) ** s + 0.02 for s, b in enumerate(base)],  # above joint
           "ince_joint_clamp": [0.75, 0.74, 0.76, 0.75, 0.74],
           "rince": [0.65, 0.66, 0.64, 0.66, 0.65]}
    summary = X.get("implementation_choices").summarize(_results(acc, [0.98] * 5), "full")
    rows = {r["choice"].split(":")[0]: r for r in summary["rows"]}
    assert len(rows) == 6
    assert rows["cosine clamp"]["meaning"] == "lowers accuracy"
    assert rows["layout"]["meaning"] == "no detectable effect" and rows["layout"]["low"] < 0 < rows["layout"]["high"]
    assert rows["self-pairs"]["meaning"] == "raises accuracy"  # joint_max_cost minus joint, not minus the default
    assert rows["self-pairs"]["mean"] == pytest.approx(2.0, abs=1e-9)
    # the reference's side first: default (1/n) minus unit masses; clamped joint INCE minus true RINCE
    assert rows["marginals"]["mean"] == pytest.approx(2.2, abs=1e-9)
    assert rows["marginals"]["meaning"] == "raises accuracy"
    assert rows["RINCE"]["mean"] == pytest.approx(100 * (0.748 - 0.652), abs=1e-9)
    ev = rows["evaluation"]
    assert ev["mean"] == pytest.approx(100 * 0.98 - 100 * sum(base) / 5, abs=1e-9)
    assert ev["meaning"] == "raises accuracy"
    claims = by_claim(summary)
    assert claims["clamping cosines at 1e-7 raises accuracy"]["verdict"] == "contradicted"
    # the random-init encoder fine-tuned by the reference protocol: within 0.1 point of the pretrained one
    init = claims["under the reference's evaluation, pretraining beats the random-init encoder"]
    assert init["mean"] == pytest.approx(0.04, abs=1e-9) and init["verdict"] == "inconclusive"  # 0 or 0.1 per seed
    frozen = claims["under the frozen probe, pretraining beats the random-init encoder"]
    assert frozen["mean"] == pytest.approx(100 * sum(base) / 5 - 50.0, abs=1e-9)
    assert claims["the reference's fine-tuned, test-selected evaluation reports more than the frozen probe"][
        "verdict"] == "reproduced"
    # the evaluation table: the default and every variant, then the random init and the raw input
    table = {r["encoder"]: r for r in summary["evaluation"]}
    assert list(table)[: 1 + 6] == [ic.LABELS[v] for v in ["default", *ic.BUDGETS["full"]["variants"]]]
    init = table[f"random init ({ic.LABELS['default']}'s seeds)"]
    assert init["seeds"] == 5 and init["knn20_test_acc"]["mean"] == pytest.approx(50.0)
    assert table["raw input"]["probe_test_acc"]["mean"] == pytest.approx(30.0)


def test_summary_pairs_by_seed_when_a_run_is_missing() -> None:
    base = [0.70, 0.72, 0.71, 0.73, 0.70]
    acc = {v: [b + 0.01 for b in base] for v in ic.BUDGETS["full"]["variants"]}
    acc["default"] = base
    results = _results(acc, [0.9] * 5)
    del results["clamp/seed1"]
    row = {r["choice"]: r for r in X.get("implementation_choices").summarize(results, "full")["rows"]}[
        "cosine clamp: off → on"]
    assert row["n"] == 4 and row["mean"] == pytest.approx(1.0, abs=1e-9)  # still 1 point on every remaining pair


def test_loss_values_marginal_row_measures_a_change_under_gca() -> None:
    out = ic.loss_values(batch=16, dim=8, noises=[1.0])
    assert out["convention"] == "gca"
    r = out["noise=1"]
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(16, 8, generator=g, dtype=torch.float64)
    z2 = z1 + torch.randn(16, 8, generator=g, dtype=torch.float64)
    # under "gca" the W1 family's default masses are already the reference's 1/n ...
    default = float(methods.make_loss("gca_uot")(z1, z2))
    assert default == pytest.approx(r["marginals"]["gca_uot"]["after"], rel=1e-12)
    # ... so the row compares unit masses with 1/n explicitly, and the W1 terms move while the KL ones do not
    for m in ("rince", "gca_rince", "gca_uot"):
        assert abs(r["marginals"][m]["rel"]) > 1e-3, m
        for conv in ("gca", "chuang"):
            assert abs(r["marginals_by_convention"][conv][m]["rel"]) > 1e-3, (conv, m)
    assert abs(r["marginals"]["gca_ince"]["diff"]) < 1e-9
    assert r["marginals_by_convention"]["gca"] == r["marginals"]
    # the reference convention moves every loss (joint layout, clamp, max-cost self-pairs)
    assert all(abs(p["rel"]) > 1e-3 for p in r["convention"].values())
    assert r["rince_grad_cos_to_ince"] > 1 - 1e-6


def test_probe_protocols_scores_one_encoder_both_ways() -> None:
    out = ic.probe_protocols(ref_epochs=2, dataset="digits", model="mlp", epochs=1, seed=0, max_train=300,
                             max_test=200, probe_init=True, method="gca_uot", loss_options={"convention": "gca"})
    assert {"probe_test_acc", "init_probe_test_acc", "knn20_test_acc"} <= set(out["metrics"])
    ref = out["reference_eval"]
    assert ref["best_test_acc"] == max(ref["test_acc"]) >= ref["final_test_acc"] and len(ref["test_acc"]) == 2
    with pytest.raises(ValueError, match="ref_epochs"):
        ic.probe_protocols(ref_epochs=0, dataset="digits", model="mlp", epochs=1)


def test_init_reference_eval_fine_tunes_the_encoder_training_starts_from(monkeypatch: pytest.MonkeyPatch) -> None:
    from gca_lab.train import TrainConfig, setup

    fields = dict(dataset="digits", model="mlp", epochs=1, seed=3, max_train=300, max_test=200)
    seen = {}

    def fake_eval(encoder, dataset, **kw):
        seen["state"] = {k: v.clone() for k, v in encoder.state_dict().items()}
        seen["kw"] = kw
        return {"best_test_acc": 0.5}

    monkeypatch.setattr(ic, "reference_linear_eval", fake_eval)
    assert ic.init_reference_eval(ref_epochs=2, **fields) == {"reference_eval": {"best_test_acc": 0.5}}
    start = setup(TrainConfig(**fields, progress=False), torch.device("cpu")).model.encoder.state_dict()
    assert seen["state"].keys() == start.keys() and all(torch.equal(seen["state"][k], v) for k, v in start.items())
    assert seen["kw"] == {"epochs": 2, "seed": 3}


def _tiny_dataset() -> data.Dataset:
    return data.load("digits", seed=0, max_train=200, max_test=100)


def test_reference_linear_eval_changes_the_encoder_but_the_probe_does_not() -> None:
    from gca_lab.models import make_encoder

    ds = _tiny_dataset()
    torch.manual_seed(0)
    enc = make_encoder("convnet", ds.image_shape)
    before = copy.deepcopy(enc.state_dict())
    probe_encoder(enc, ds)
    assert all(torch.equal(before[k], v) for k, v in enc.state_dict().items())  # frozen: nothing moved
    out = ic.reference_linear_eval(enc, ds, epochs=3, batch_size=64)
    after = enc.state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert any("running_mean" in k for k in changed)  # BatchNorm ran in train mode
    assert any(k.endswith("weight") and "running" not in k for k in changed)  # weights were trained
    assert out["encoder_change"] > 0
    assert out["best_test_acc"] == max(out["test_acc"]) and len(out["test_acc"]) == 3  # test-set selection
    assert 1 <= out["best_epoch"] <= 3


def test_reference_cifar_rince_reproduces_the_defect() -> None:
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(16, 8, generator=g, dtype=torch.float64)
    z2 = z1 + 0.3 * torch.randn(16, 8, generator=g, dtype=torch.float64)
    vals = [float(ic.reference_cifar_rince(z1, z2, lam=lam)) for lam in (0.01, 0.5, 5.0)]
    assert max(vals) - min(vals) < 1e-12  # lam has no effect
    ce = float(methods.make_loss("ince", layout="joint", clamp_similarity=True)(z1, z2))
    assert vals[0] == pytest.approx(ce**0.6 / 0.6, rel=1e-9)  # (CE)^q / q of the clamped joint INCE
    true = [float(methods.make_loss("rince", lam=lam)(z1, z2)) for lam in (0.01, 0.5, 5.0)]
    assert len({round(v, 9) for v in true}) == 3
    assert not math.isclose(true[0], vals[0])


def test_reference_linear_eval_steps_the_one_cosine_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    import gca_lab.train as T
    from gca_lab.models import make_encoder

    ds = _tiny_dataset()
    torch.manual_seed(0)
    lrs: list[float] = []
    real = T.set_lr
    monkeypatch.setattr(T, "set_lr", lambda opt, lr: (lrs.append(lr), real(opt, lr)))
    ic.reference_linear_eval(make_encoder("mlp", ds.image_shape), ds, epochs=2, batch_size=64, lr=0.2)
    steps = 2 * (200 // 64)
    # per batch, base lr times train.lr_factor: the same cosine as every training run, from 0.2 down
    assert lrs == [0.2 * T.lr_factor(i, steps) for i in range(steps)]
    assert lrs[0] == 0.2 and lrs[-1] < 0.2 * 0.1


def test_summary_states_each_runs_eps_and_the_seed_plan() -> None:
    base = [0.70, 0.72, 0.71, 0.73, 0.70]
    acc = {v: base for v in ["default", *ic.BUDGETS["full"]["variants"]]}
    summary = X.get("implementation_choices").summarize(_results(acc, [0.9] * 5), "full")
    runs = {r.key: r.spec for r in X.plan("implementation_choices", "full")}
    assert summary["eps"] == {v: runs[f"{v}/seed0"]["eps"] for v in summary["eps"]}  # what the plan ran
    assert summary["protocol"]["eps"] == tuned_eps("gca_uot") and summary["seed_plan"] == ic.SEED_PLAN
    assert X.get("implementation_choices").summarize({}, "quick")["eps"] == {"default": None, "clamp": None}
