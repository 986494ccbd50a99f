"""The frozen linear probe in torch: the objective of :func:`gca_lab.evaluate.linear_probe`, solved
on the features' own device, so that probing costs little next to training even with a large test set.

:func:`torch_linear_probe` takes and returns what :func:`gca_lab.evaluate.linear_probe` does (the
scikit-learn probe): standardization by the training split, a multinomial logistic regression with
an unpenalized intercept and an L2 penalty on the weights for each ``C`` of the same grid, L-BFGS
warm-started along increasing ``C``, ``C`` chosen on the validation split (ties to the smallest),
the test split scored once. It is not the library's default probe: switching would change
committed results (``benchmarks/README.md``, "Probe in torch", has the agreement measured on
trained encoders' features).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from ._validate import check_choice, check_int, check_positive
from .evaluate import ProbeResult, Splits, _check_probe_inputs

__all__ = ["torch_linear_probe"]


def torch_linear_probe(
    train_feats: Tensor,
    train_y: Tensor,
    val_feats: Tensor,
    val_y: Tensor,
    test_feats: Tensor,
    test_y: Tensor,
    *,
    Cs: Sequence[float] = (0.01, 0.1, 1.0, 10.0),
    max_iter: int = 300,
    tol: float = 1e-4,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> ProbeResult:
    """Frozen linear probe on cached features, ``C`` chosen on the validation split, in torch.

    Features are standardized with the training split's mean and (population) std, a zero std
    counting as 1: ``z = (h - mu) / sigma``. For each ``C`` in ``Cs`` the weights ``W_C`` ``(D, K)``
    and intercept ``b_C`` ``(K,)`` minimize

        f_C(W, b) = (1 / N) sum_i -log softmax(z_i W + b)_{y_i} + ||W||^2 / (2 C N),

    scikit-learn's ``LogisticRegression(C=C)`` objective divided by ``C N`` (the same minimizer).
    The ``len(Cs)`` problems are solved together, as one L-BFGS run (history 10, strong-Wolfe line
    search, from zero, preconditioned by the features' covariance) on ``sum_C f_C`` over the
    stacked parameters: one pass over the training features serves every ``C``, and the run stops
    when the largest gradient entry in ``(W, b)`` of every problem is at most ``tol``
    (scikit-learn's lbfgs test, same default). ``K`` is the number of
    classes in ``train_y``; a class absent from it counts as an error where it appears in val or
    test. The ``C`` with the best validation accuracy is kept (ties go to the smallest); that model
    is scored once on the test split.

    Args:
        train_feats, val_feats, test_feats: ``(N_split, D)`` floating features on one device.
        train_y, val_y, test_y: ``(N_split,)`` integer labels; train holds >= 2 classes.
        Cs: inverse regularization strengths, each > 0 (default: the grid of
            :func:`gca_lab.evaluate.linear_probe`).
        max_iter: L-BFGS iterations (default 300, as scikit-learn's per ``C``).
        tol: gradient tolerance (default 1e-4), > 0.
        seed: kept for the record (the fit is deterministic: it starts at zero).
        dtype: ``torch.float32`` (default; on trained encoders' features it met ``tol`` and agreed
            with float64, ``benchmarks/README.md``) or ``torch.float64`` (about twice the time on a CPU).

    Returns:
        :class:`gca_lab.evaluate.ProbeResult` (``converged`` is False when the run used all
        ``max_iter`` iterations before the chosen ``C`` met the tolerance).

    Reference: the linear-readout accuracy of arXiv 2502.20141, as the frozen probe of
    ``gca_lab/evaluate.py`` (:func:`gca_lab.evaluate.linear_probe`).
    """
    Cs = _check_probe_inputs(Splits(train_feats, train_y, val_feats, val_y, test_feats, test_y), Cs, max_iter)
    tol = check_positive("tol", tol)
    check_int("seed", seed)
    check_choice("dtype", dtype, (torch.float64, torch.float32))
    dev = train_feats.device
    classes = torch.unique(train_y.to(dev))
    if classes.numel() < 2:
        raise ValueError(f"train_y must contain at least 2 classes, got {classes.tolist()}")

    xtr = train_feats.to(dev, dtype)
    mu = xtr.mean(0)
    sigma = xtr.std(0, unbiased=False)
    sigma = torch.where(sigma > 0, sigma, torch.ones_like(sigma))

    def standardize(x: Tensor) -> Tensor:
        return (x.to(dev, dtype) - mu) / sigma

    ztr, zva, zte = standardize(train_feats), standardize(val_feats), standardize(test_feats)
    grid = sorted(set(Cs))
    weight, bias, converged = _fit(ztr, torch.searchsorted(classes, train_y.to(dev)), classes.numel(), grid,
                                   max_iter=max_iter, tol=tol)
    n, m, k = ztr.shape[0], len(grid), classes.numel()
    with torch.no_grad():
        weight = weight.permute(1, 0, 2).reshape(ztr.shape[1], m * k)  # (D, M K): every C in one product
        bias = bias.reshape(m * k)

        def accuracy(z: Tensor, y: Tensor) -> list[float]:
            pred = classes[torch.addmm(bias, z, weight).view(-1, m, k).argmax(2)]  # (N_split, M)
            return (pred == y.to(dev).view(-1, 1)).to(dtype).mean(0).tolist()

        va = accuracy(zva, val_y)
        best = max(range(m), key=lambda j: (va[j], -j))  # the best val accuracy, ties to the smallest C
        return ProbeResult(
            test_acc=accuracy(zte, test_y)[best], val_acc=va[best], train_acc=accuracy(ztr, train_y)[best],
            best_C=grid[best], val_accs=dict(zip(grid, va)), converged=bool(converged[best]), n_train=int(n),
            n_val=int(zva.shape[0]), n_test=int(zte.shape[0]),
        )


def _fit(ztr: Tensor, target: Tensor, k: int, grid: list[float], *, max_iter: int, tol: float
         ) -> tuple[Tensor, Tensor, list[bool]]:
    """Minimize f_C (see :func:`torch_linear_probe`) for every ``C`` of ``grid`` at once.

    Args:
        ztr: ``(N, D)`` standardized training features; target: ``(N,)`` class indices in ``[0, k)``.

    Returns:
        ``W`` ``(M, D, K)``, ``b`` ``(M, K)`` for the ``M = len(grid)`` values of ``C``, and per ``C``
        whether the largest gradient entry met ``tol``.
    """
    dev, dtype = ztr.device, ztr.dtype
    n, d, m = ztr.shape[0], ztr.shape[1], len(grid)
    target = target.view(n, 1, 1).expand(n, m, 1)  # class index, per C
    onehot = torch.zeros(n, m, k, device=dev, dtype=dtype).scatter_(2, target, 1.0)
    # lam per column of W: 1 / (C N) for the K columns of each C
    lam = torch.tensor([1.0 / (c * n) for c in grid], device=dev, dtype=dtype).repeat_interleave(k)
    # Preconditioning: L-BFGS runs on V_C = S_C^-1 W_C with S_C = (Sigma + lam_C I)^(-1/2), Sigma the
    # training features' covariance, so that every C's problem is about equally well conditioned in V and
    # one L-BFGS run serves them all. Trained encoders' features are strongly correlated (an INCE encoder
    # of the main MNIST-1D protocol: a 1,400x spread of Sigma's eigenvalues); measured there, float32, all
    # four C of the default grid: 312 evaluations without meeting the test unpreconditioned, 259 with one
    # S = (Sigma + 1e-3 I)^(-1/2) for all, 211-223 with this one (also on a GCA-UOT encoder's features).
    # The minimizers are unchanged.
    ev, basis = torch.linalg.eigh(ztr.T @ ztr / n)
    lam_c = torch.tensor([1.0 / (c * n) for c in grid], device=dev, dtype=dtype)  # (M,)
    scale = (ev.clamp_min(0) + lam_c.view(m, 1)).rsqrt()  # (M, D)
    s_mat = torch.einsum("ad,md,bd->mab", basis, scale, basis)  # S_C, symmetric (M, D, D)
    # theta (D + 1, M K): V_C side by side, b_C in the last row
    theta = torch.zeros(d + 1, m * k, device=dev, dtype=dtype, requires_grad=True)
    worst = torch.zeros(m, device=dev, dtype=dtype)  # per C: the largest entry of the gradient in (W, b)

    def to_w(v: Tensor) -> Tensor:  # (D, M K) -> W = S_C V_C for every C, (D, M K)
        return torch.bmm(s_mat, v.view(d, m, k).transpose(0, 1)).transpose(0, 1).reshape(d, m * k)

    def closure(stop: bool = True) -> Tensor:
        with torch.no_grad():
            th = theta.detach()
            w = to_w(th[:d])
            logit = torch.addmm(th[d], ztr, w).view(n, m, k)  # one product serves every C
            lse = torch.logsumexp(logit, 2, keepdim=True)
            # the mean of per-row differences, not a difference of sums: float32 keeps the digits the
            # line search compares
            loss = (lse - logit.gather(2, target)).mean() * m + 0.5 * (lam * w.square()).sum()
            resid = ((torch.exp(logit - lse) - onehot) / n).view(n, m * k)  # softmax - onehot: CE's gradient
            grad_w = torch.addmm(lam * w, ztr.T, resid)  # (D, M K), in W's coordinates
            grad_b = resid.sum(0)
            theta.grad = torch.cat([to_w(grad_w), grad_b[None]])  # the chain rule through W_C = S_C V_C
            worst.copy_(torch.maximum(grad_w.abs().view(d, m, k).amax((0, 2)), grad_b.abs().view(m, k).amax(1)))
            # scikit-learn's test, on (W, b) rather than on L-BFGS's own variables (one host sync per evaluation)
            if stop and bool((worst <= tol).all()):
                raise _Converged
        return loss

    opt = torch.optim.LBFGS([theta], lr=1.0, max_iter=max_iter, max_eval=4 * max_iter, history_size=10,
                            tolerance_grad=0.0, tolerance_change=0.0, line_search_fn="strong_wolfe")
    try:
        opt.step(closure)
    except _Converged:  # theta holds the point just evaluated, where every problem met the tolerance
        pass
    closure(stop=False)
    converged = (worst <= tol).tolist()
    weight = to_w(theta.detach()[:d]).view(d, m, k).permute(1, 0, 2)
    return weight, theta.detach()[d].view(m, k), converged


class _Converged(Exception):
    """Raised from the L-BFGS closure to stop it on scikit-learn's gradient test in (W, b)."""
