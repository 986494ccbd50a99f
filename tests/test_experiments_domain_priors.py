"""The domain_priors experiment (notebook 10): its plan and its claims on fabricated probe results."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gca_lab import data, targets
from gca_lab.experiments import EXPERIMENTS
from gca_lab.experiments import domain_priors as dp
from gca_lab.experiments._common import MNIST1D_V2_SHORT, tuned_eps
from gca_lab.stats import mde
from gca_lab.train import TrainConfig, load_dataset
from gca_lab.train.components import prior_target_fn

RISE, FLAT, INIT, RAW = dp.RISE, dp.FLAT, dp.ABOVE_INIT, dp.ABOVE_RAW
V2_FIELDS = ("model", "epochs", "batch_size", "lr", "data_options", "probe_solver", "eval_rows")


def test_full_plan_is_the_v2_short_sweep_at_fixed_row_masses() -> None:
    runs = EXPERIMENTS["domain_priors"].plan("full")
    train = [r for r in runs if r.kind == "train"]
    assert len(runs) == 21 + 3 + 1 and len(train) == 7 * 3
    assert sorted({r.spec["prior_same_mass"] - r.spec["prior_other_mass"] for r in train}) == dp.SWEEP["full"]
    for r in train:
        s = r.spec
        assert s["dataset"] == "multidomain_mnist1d"
        assert all(s[k] == MNIST1D_V2_SHORT[k] for k in V2_FIELDS) and s["epochs"] == 15
        assert s["method"] == "gca_ince" and s["eps"] == tuned_eps("gca_ince")
        assert s["target_prior"] == "domain_mass" and "prior_alpha" not in s and "prior_beta" not in s
        d = s["prior_same_mass"] - s["prior_other_mass"]
        assert min(s["prior_same_mass"], s["prior_other_mass"]) == 0.0  # one of the two is on
        assert r.key == dp.KEY.format(method=dp.point(d), seed=s["seed"])
        assert s.get("probe_init", False) == (d == 0.0)  # the random-init row comes from the d = 0 runs
        TrainConfig(**s).validate()
    assert sorted(r.spec["seed"] for r in train) == sorted([0, 1, 2] * 7)
    cal = [r for r in runs if r.kind == "compute" and r.spec["fn"] == "domain_priors.calibration"]
    assert sorted(r.spec["seed"] for r in cal) == [0, 1, 2]
    for r in cal:  # the calibration probes as the runs do, on the same data
        assert r.spec["dataset"] == "multidomain_mnist1d" and r.spec["model"] == MNIST1D_V2_SHORT["model"]
        assert r.spec["data_options"] == MNIST1D_V2_SHORT["data_options"] and r.spec["probe_solver"] == "torch"
    (raw,) = [r for r in runs if r.key == dp.RAW_KEY]
    assert raw.spec["dataset"] == "multidomain_mnist1d"
    assert all(raw.spec[k] == MNIST1D_V2_SHORT[k] for k in ("data_options", "probe_solver", "eval_rows"))


def test_quick_plan_uses_the_mass_prior_in_seconds() -> None:
    runs = EXPERIMENTS["domain_priors"].plan("quick")
    train = [r for r in runs if r.kind == "train"]
    assert [r.key for r in train] == ["d-0.50/seed0", "d+0.00/seed0", "d+0.50/seed0"]
    assert all(r.spec["target_prior"] == "domain_mass" and r.spec["epochs"] == 2 for r in train)
    assert [(r.spec["prior_same_mass"], r.spec["prior_other_mass"]) for r in train] == [(0.0, 0.5), (0.0, 0.0), (0.5, 0.0)]


@pytest.mark.parametrize("batch", [64, 128, 256])
def test_the_runs_prior_takes_its_fraction_of_every_row_at_any_batch(batch: int) -> None:
    """What the fixed fractions buy: the positive keeps 1 - |d| of its row whatever the batch size (the
    alpha / beta prior's share grew with it)."""
    domains = torch.arange(4).repeat(batch // 4)
    labels = torch.zeros(batch, dtype=torch.long)
    have_domains = type("D", (), {"train": type("S", (), {"domain": domains})()})()
    for r in (r for r in EXPERIMENTS["domain_priors"].plan("full") if r.kind == "train" and r.spec["seed"] == 0):
        config = TrainConfig(**{**r.spec, "batch_size": batch})
        target = prior_target_fn(config, have_domains, "cross")(labels, domains)
        d = r.spec["prior_same_mass"] - r.spec["prior_other_mass"]
        assert torch.allclose(target.diag(), torch.full((batch,), 1 - abs(d)), atol=1e-6), r.key
        assert torch.allclose(target.sum(1), torch.ones(batch), atol=1e-5)
        same = (domains[:, None] == domains[None, :]).float() - torch.eye(batch)
        assert (target * same).sum(1).mean().item() == pytest.approx(max(d, 0.0), abs=1e-5)


def test_split_sizes_reach_the_base_dataset_of_the_multidomain_set(tmp_path: Path) -> None:
    """The full plan's data_options (n_train, n_val, n_test) pass through multidomain_mnist1d to MNIST-1D."""
    sizes = {"n_train": 700, "n_val": 300, "n_test": 1000}
    ds = load_dataset(TrainConfig(dataset="multidomain_mnist1d", data_root=str(tmp_path), data_options=sizes))
    assert (len(ds.train), len(ds.val), len(ds.test)) == (700, 300, 1000)
    assert ds.n_domains == 4 and all(torch.bincount(s.domain).tolist() == [len(s) // 4] * 4
                                     for s in (ds.train, ds.val, ds.test))
    base = data.load("mnist1d", root=tmp_path, **sizes)
    assert torch.equal(ds.test.y, base.test.y)  # the same rows, rendered in their domains
    assert torch.equal(ds.test.x[ds.test.domain == 0], base.test.x[ds.test.domain == 0])


@pytest.mark.parametrize("solver", ["sklearn", "torch"])
def test_calibration_probes_with_the_runs_solver(solver: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from gca_lab import evaluate, probe

    calls = {"sklearn": 0, "torch": 0}
    sk, tp = evaluate.linear_probe, probe.torch_linear_probe

    def count(name, fn):
        def wrapped(*a, **k):
            calls[name] += 1
            return fn(*a, **k)
        return wrapped

    monkeypatch.setattr(evaluate, "linear_probe", count("sklearn", sk))
    monkeypatch.setattr(probe, "torch_linear_probe", count("torch", tp))
    quick = {k: v for k, v in dp.fields("quick").items() if k in dp.CALIBRATION_FIELDS}
    out = dp.calibration(seed=0, **quick, probe_solver=solver)
    assert calls == {"sklearn": 4 * (solver == "sklearn"), "torch": 4 * (solver == "torch")}
    assert set(out) == {"domain_names", "raw_domain_acc", "init_domain_acc", "raw_class_acc", "init_class_acc"}
    assert all(0.0 <= out[k] <= 1.0 for k in out if k != "domain_names")
    assert out["init_class_acc"] > 0.2  # a random-init MLP on digits is far above 10 % chance


def test_seed_plan_is_stated_from_the_measured_sd() -> None:
    text = dp.seed_plan()
    lo, hi = (mde(3, sd) for sd in dp.PRIOR_PAIRED_SD)
    assert "3 seeds" in text and f"{lo:.1f}" in text and f"{hi:.1f}" in text
    assert hi < dp.PAPER_DOMAIN_RANGE  # 3 seeds resolve well below the paper's span


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
    assert v["domain-probe accuracy: d = +0.50 ≥ -0.50"] == "reproduced"  # +30 points on every seed
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
