"""The implementation_choices experiment (notebook 11): its claims on fabricated results, and the two
reference-code defects it reproduces for comparison (the fine-tuned "linear" evaluation, the CIFAR "rince")."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from gca_lab import data, methods
from gca_lab.evaluate import probe_encoder
from gca_lab.experiments import EXPERIMENTS
from gca_lab.experiments import implementation_choices as ic



def test_implementation_choices_summary() -> None:
    exp = EXPERIMENTS["implementation_choices"]
    results: dict = {"loss_values": {}}
    for s in range(3):
        results[f"default/seed{s}"] = {"metrics": {"probe_test_acc": 0.90 + 0.001 * s},
                                       "reference_eval": {"best_test_acc": 0.95 + 0.002 * s, "final_test_acc": 0.94,
                                                          "best_epoch": 3, "encoder_change": 0.2}}
        for v in ic.BUDGETS["full"]["variants"]:
            acc = {"clamp": 0.80 + 0.003 * s, "ince": 0.9, "rince": 0.9 + 0.01 * (s - 1)}.get(v, 0.90 + 0.001 * s)
            results[f"{v}/seed{s}"] = {"metrics": {"probe_test_acc": acc}}
    rows = {r["choice"]: r for r in exp.summarize(results, "full")["rows"]}
    assert rows["cosine clamp: off → on"]["meaning"] == "lowers accuracy"
    assert rows["evaluation: frozen probe → fine-tuned, test-selected"]["meaning"] == "raises accuracy"
    assert rows["marginals: 1 per anchor → 1/n"]["mean"] == pytest.approx(0.0, abs=1e-9)
    assert rows["RINCE: true → reference (CE)^q/q"]["meaning"] == "no detectable effect"
    assert len(rows) == 6


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
