"""The torch linear probe (gca_lab/probe.py) against scikit-learn's (gca_lab/evaluate.py): the same
minimizer, the same choice of C, the same accuracies; input checks; any device."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gca_lab import evaluate as M
from gca_lab.probe import torch_linear_probe
from tests.fakes import clusters

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _splits(seed: int = 0, spread: float = 4.0, d: int = 16):
    """Overlapping clusters (a probe that is not trivially 100 %), split 600 / 200 / 400."""
    x, y = clusters(120, n_classes=10, d=d, spread=spread, seed=seed)
    x = x @ torch.randn(d, d, generator=torch.Generator().manual_seed(seed + 1))  # correlated features
    return x[:600], y[:600], x[600:800], y[600:800], x[800:], y[800:]


def _sklearn_fit(xtr: torch.Tensor, ytr: torch.Tensor, c: float):
    """The fitted (W, b) of scikit-learn's LogisticRegression(C=c) on standardized features: the oracle."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    z = StandardScaler().fit_transform(xtr.double().numpy())
    clf = LogisticRegression(C=c, max_iter=5000, tol=1e-10).fit(z, ytr.numpy())
    return clf.coef_.T, clf.intercept_


@pytest.mark.parametrize("c", [0.01, 1.0])
def test_the_fit_is_scikit_learns_minimizer(c: float) -> None:
    xtr, ytr, xva, yva, xte, yte = _splits()
    w_ref, b_ref = _sklearn_fit(xtr, ytr, c)
    r = torch_linear_probe(xtr, ytr, xva, yva, xte, yte, Cs=(c,), tol=1e-7, max_iter=2000, dtype=torch.float64)
    assert r.converged and r.best_C == c
    # the same model: its accuracies, and the scores it gives (the intercept is set up to a shared constant)
    z = (xte.double() - xtr.double().mean(0)) / xtr.double().std(0, unbiased=False)
    scores_ref = z.numpy() @ w_ref + b_ref
    pred_ref = scores_ref.argmax(1)
    assert r.test_acc == pytest.approx(float((pred_ref == yte.numpy()).mean()), abs=1e-12)
    sk = M.linear_probe(xtr, ytr, xva, yva, xte, yte, Cs=(c,))
    assert (r.train_acc, r.val_acc, r.test_acc) == pytest.approx((sk.train_acc, sk.val_acc, sk.test_acc), abs=0.006)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_the_weights_are_scikit_learns_to_solver_precision(dtype: torch.dtype) -> None:
    """Every C of the grid, solved together, lands on scikit-learn's minimizer of its own problem."""
    from gca_lab.probe import _fit

    xtr, ytr = _splits(seed=3)[:2]
    z = (xtr.double() - xtr.double().mean(0)) / xtr.double().std(0, unbiased=False)
    grid = [0.01, 0.1, 1.0, 10.0]
    tol = 1e-7 if dtype == torch.float64 else 1e-4
    w, b, converged = _fit(z.to(dtype), ytr, 10, grid, max_iter=3000, tol=tol)
    assert converged == [True] * 4
    for j, c in enumerate(grid):
        w_ref, b_ref = _sklearn_fit(xtr, ytr, c)
        scale = np.abs(w_ref).max()
        atol = 1e-5 if dtype == torch.float64 else 2e-2
        np.testing.assert_allclose(w[j].double().numpy() / scale, w_ref / scale, atol=atol)
        # the intercept is unpenalized and softmax ignores a shift shared by all classes
        np.testing.assert_allclose((b[j] - b[j].mean()).double().numpy(), b_ref - b_ref.mean(), atol=atol * scale)


def test_c_is_chosen_on_validation_as_scikit_learns_probe_chooses_it() -> None:
    for seed in range(3):
        args = _splits(seed=seed)
        sk = M.linear_probe(*args)
        r = torch_linear_probe(*args)
        assert r.best_C == sk.best_C, (seed, r.val_accs, sk.val_accs)
        assert set(r.val_accs) == {0.01, 0.1, 1.0, 10.0}
        assert abs(r.test_acc - sk.test_acc) <= 0.006 and r.converged
        assert (r.n_train, r.n_val, r.n_test) == (600, 200, 400)


def test_ties_go_to_the_smallest_c_and_absent_classes_count_as_errors() -> None:
    x, y = clusters(30, n_classes=3, d=4, spread=0.05)
    r = torch_linear_probe(x, y, x, y, x, y, Cs=(10.0, 1.0))  # separable: every C scores 100 %
    assert r.best_C == 1.0 and r.val_acc == 1.0
    keep = y != 2  # class 2 never seen in training: a third of val/test is always wrong
    r = torch_linear_probe(x[keep], y[keep], x, y, x, y)
    assert r.test_acc == pytest.approx(2 / 3)


@pytest.mark.parametrize("device", DEVICES)
def test_float32_on_any_device_agrees_with_float64(device: str) -> None:
    args = [t.to(device) for t in _splits(seed=5)]
    r32 = torch_linear_probe(*args, dtype=torch.float32)
    r64 = torch_linear_probe(*args, dtype=torch.float64)
    assert r32.best_C == r64.best_C and abs(r32.test_acc - r64.test_acc) <= 0.006


def test_bad_input_is_rejected_with_the_parameter_named() -> None:
    xtr, ytr, xva, yva, xte, yte = _splits()
    with pytest.raises(ValueError, match="Cs"):
        torch_linear_probe(xtr, ytr, xva, yva, xte, yte, Cs=(1.0, -1.0))
    with pytest.raises(ValueError, match="tol"):
        torch_linear_probe(xtr, ytr, xva, yva, xte, yte, tol=0.0)
    with pytest.raises(ValueError, match="dtype"):
        torch_linear_probe(xtr, ytr, xva, yva, xte, yte, dtype=torch.float16)
    with pytest.raises(ValueError, match="test_feats"):
        torch_linear_probe(xtr, ytr, xva, yva, xte[:, :3], yte)
    with pytest.raises(ValueError, match="at least 2 classes"):
        torch_linear_probe(xtr, torch.zeros_like(ytr), xva, yva, xte, yte)
