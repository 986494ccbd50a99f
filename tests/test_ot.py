"""Acceptance tests for ``gca_lab.ot`` (log-domain Sinkhorn and its KL projections).

Oracle: POT 0.9.7.post1 in float64 with ``reg_type='kl'`` given explicitly (docs/architecture.md, "Tests"); we compare
plans and marginals, never POT's objective values (its unbalanced ``total_cost`` drops the mass terms
of the generalized KL). Objective values are checked against an independent primal written here.
"""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
import torch

from gca_lab.ot import (
    col_projection,
    generalized_kl,
    relaxation_exponent,
    rho_to_tau,
    row_projection,
    sinkhorn,
    tau_to_rho,
)

ot = pytest.importorskip("ot")

F64 = torch.float64
INF = math.inf
TIGHT = dict(n_iters=200_000, tol=1e-13, check_every=10)  # ours, run to tight convergence
POT_TIGHT = dict(numItermax=200_000, stopThr=1e-15)
# Both iteration domains, when the solver exposes the choice (the "auto" default picks "kernel"
# for these well-conditioned float64 problems, so "log" must be asked for explicitly).
DOMAINS = ["log", "kernel"] if "domain" in inspect.signature(sinkhorn).parameters else [None]


def _dom(domain):
    return {} if domain is None else {"domain": domain}


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def _problem(seed: int, n: int, m: int, *, mass_a: float = 1.0, mass_b: float = 1.0, uniform: bool = False):
    """A random float64 problem: cost = squared distance of 2-D points scaled to [0, 1]."""
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(m, 2)) + 0.5
    cost = ot.dist(x, y)
    cost /= cost.max()
    if uniform:
        a, b = np.full(n, 1.0 / n), np.full(m, 1.0 / m)
    else:
        a, b = rng.uniform(0.2, 1.0, n), rng.uniform(0.2, 1.0, m)
        a, b = a / a.sum(), b / b.sum()
    return cost, mass_a * a, mass_b * b


def _t(x: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(x, dtype=F64)


def _pot_balanced(a, b, cost, eps):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # POT warns when stopThr=1e-15 is not reached exactly
        return ot.sinkhorn(a, b, cost, eps, method="sinkhorn_log", **POT_TIGHT)


def _pot_unbalanced(a, b, cost, eps, rho_a, rho_b):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ot.unbalanced.sinkhorn_unbalanced(a, b, cost, eps, (rho_a, rho_b), reg_type="kl", **POT_TIGHT)


def _objective(plan: torch.Tensor, cost: torch.Tensor, a: torch.Tensor, b: torch.Tensor, eps: float,
               rho_a: float, rho_b: float) -> torch.Tensor:
    """Independent primal, written elementwise: <P,C> + eps KL(P|a(x)b) + rho_a KL(P1|a) + rho_b KL(P^T1|b)."""
    p, c = plan.reshape(-1).tolist(), cost.reshape(-1).tolist()
    ref = torch.outer(a, b).reshape(-1).tolist()

    def kl(ps, qs):  # generalized KL, 0 log 0 = 0
        return sum((pi * math.log(pi / qi) if pi > 0 else 0.0) - pi + qi for pi, qi in zip(ps, qs))

    value = sum(pi * ci for pi, ci in zip(p, c) if pi > 0) + eps * kl(p, ref)
    if not math.isinf(rho_a):
        value += rho_a * kl(plan.sum(1).tolist(), a.tolist())
    if not math.isinf(rho_b):
        value += rho_b * kl(plan.sum(0).tolist(), b.tolist())
    return torch.tensor(value, dtype=F64)


def _embedding_cost(n: int, d: int = 128, seed: int = 0, dtype=torch.float32, paired: bool = True) -> torch.Tensor:
    """Contrastive-like cost 1 - cos of random unit embeddings, in [0, 2].

    ``paired``: y_i is a noisy view of x_i (diagonal costs ~0.1); otherwise independent (costs ~1 +- 0.1).
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = (x if paired else torch.zeros_like(x)) + 0.5 * torch.randn(n, d, generator=g)
    x, y = torch.nn.functional.normalize(x, dim=1), torch.nn.functional.normalize(y, dim=1)
    return (1 - x @ y.T).clamp(0, 2).to(dtype)


# --------------------------------------------------------------------------------------------------
# 1. parity with POT (float64, tight convergence)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("eps", [0.05, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("seed,n,m,uniform", [(0, 7, 7, True), (1, 9, 5, False), (2, 4, 11, False)])
@pytest.mark.parametrize("domain", DOMAINS)
def test_balanced_matches_pot_sinkhorn_log(seed, n, m, uniform, eps, domain):
    cost, a, b = _problem(seed, n, m, uniform=uniform)
    ref = _pot_balanced(a, b, cost, eps)
    res = sinkhorn(_t(cost), _t(a), _t(b), eps=eps, **TIGHT, **_dom(domain))
    assert bool(res.converged)
    assert np.abs(res.plan.numpy() - ref).max() <= 1e-9
    torch.testing.assert_close(res.row_marginal, _t(a), atol=1e-12, rtol=0)
    torch.testing.assert_close(res.col_marginal, _t(b), atol=1e-12, rtol=0)


@pytest.mark.parametrize("eps", [0.05, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("rho_a,rho_b", [(0.5, 2.0), (1.0, 1.0), (0.1, 10.0)])
@pytest.mark.parametrize("seed,n,m", [(3, 8, 8), (4, 10, 6)])
@pytest.mark.parametrize("domain", DOMAINS)
def test_unbalanced_matches_pot_kl(seed, n, m, rho_a, rho_b, eps, domain):
    cost, a, b = _problem(seed, n, m, mass_a=1.3, mass_b=0.8)  # unequal masses
    ref = _pot_unbalanced(a, b, cost, eps, rho_a, rho_b)
    res = sinkhorn(_t(cost), _t(a), _t(b), eps=eps, rho_a=rho_a, rho_b=rho_b, **TIGHT, **_dom(domain))
    assert bool(res.converged)
    assert np.abs(res.plan.numpy() - ref).max() <= 1e-9
    # first-order optimality: P1 = a exp(-f/rho_a), P^T1 = b exp(-g/rho_b)
    torch.testing.assert_close(res.row_marginal, _t(a) * torch.exp(-res.f / rho_a), atol=1e-12, rtol=0)
    torch.testing.assert_close(res.col_marginal, _t(b) * torch.exp(-res.g / rho_b), atol=1e-12, rtol=0)


@pytest.mark.parametrize("eps", [0.05, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("rho_b", [0.1, 1.0])
@pytest.mark.parametrize("seed,n,m", [(5, 6, 9), (6, 8, 8)])
@pytest.mark.parametrize("domain", DOMAINS)
def test_semi_relaxed_matches_pot(seed, n, m, rho_b, eps, domain):
    cost, a, b = _problem(seed, n, m, mass_a=1.0, mass_b=0.6)
    ref = _pot_unbalanced(a, b, cost, eps, INF, rho_b)
    res = sinkhorn(_t(cost), _t(a), _t(b), eps=eps, rho_a=INF, rho_b=rho_b, **TIGHT, **_dom(domain))
    assert bool(res.converged)
    assert np.abs(res.plan.numpy() - ref).max() <= 1e-9
    torch.testing.assert_close(res.row_marginal, _t(a), atol=1e-12, rtol=0)  # hard side holds
    torch.testing.assert_close(res.col_marginal, _t(b) * torch.exp(-res.g / rho_b), atol=1e-12, rtol=0)


def test_balanced_equals_unbalanced_with_infinite_rho_in_pot():
    cost, a, b = _problem(7, 6, 5)
    res = sinkhorn(_t(cost), _t(a), _t(b), eps=0.2, rho_a=INF, rho_b=INF, **TIGHT)
    ref = _pot_unbalanced(a, b, cost, 0.2, INF, INF)
    assert np.abs(res.plan.numpy() - ref).max() <= 1e-9


# --------------------------------------------------------------------------------------------------
# 2. batching
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rho", [INF, 0.7])
@pytest.mark.parametrize("batch", [(3,), (2, 2)])
@pytest.mark.parametrize("marginals", ["default", "shared", "per_problem"])
@pytest.mark.parametrize("domain", DOMAINS)
def test_batched_equals_loop(batch, marginals, rho, domain):
    n, m = 6, 4
    g = torch.Generator().manual_seed(0)
    cost = torch.rand(*batch, n, m, generator=g, dtype=F64)
    if marginals == "default":
        a = b = None
    elif marginals == "shared":
        a, b = torch.rand(n, generator=g, dtype=F64) + 0.1, torch.rand(m, generator=g, dtype=F64) + 0.1
        a, b = a / a.sum(), b / b.sum()
    else:
        a, b = torch.rand(*batch, n, generator=g, dtype=F64) + 0.1, torch.rand(*batch, m, generator=g, dtype=F64) + 0.1
        a, b = a / a.sum(-1, keepdim=True), b / b.sum(-1, keepdim=True)
    kw = dict(eps=0.1, rho_a=rho, rho_b=rho, n_iters=50, **_dom(domain))
    res = sinkhorn(cost, a, b, **kw)
    assert res.log_plan.shape == (*batch, n, m)
    assert res.f.shape == (*batch, n) and res.g.shape == (*batch, m)
    assert res.errors.shape == (50, *batch) and res.converged.shape == batch
    for idx in np.ndindex(*batch):
        ai = None if a is None else (a if a.ndim == 1 else a[idx])
        bi = None if b is None else (b if b.ndim == 1 else b[idx])
        single = sinkhorn(cost[idx], ai, bi, **kw)
        torch.testing.assert_close(res.log_plan[idx], single.log_plan, atol=1e-13, rtol=0)
        torch.testing.assert_close(res.f[idx], single.f, atol=1e-13, rtol=0)
        torch.testing.assert_close(res.g[idx], single.g, atol=1e-13, rtol=0)
        torch.testing.assert_close(res.errors[(slice(None), *idx)], single.errors, atol=1e-13, rtol=0)
        torch.testing.assert_close(res.primal[idx], single.primal, atol=1e-12, rtol=0)
        torch.testing.assert_close(res.dual[idx], single.dual, atol=1e-12, rtol=0)


def test_batched_tol_stops_when_all_problems_converged():
    g = torch.Generator().manual_seed(1)
    cost = torch.rand(3, 5, 5, generator=g, dtype=F64)
    res = sinkhorn(cost, eps=0.1, n_iters=10_000, tol=1e-10)
    assert res.n_iters < 10_000
    assert bool(res.converged.all())
    assert bool((res.errors[-1] <= 1e-10).all())


# --------------------------------------------------------------------------------------------------
# 3. excluded pairs (+inf cost)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("eps", [0.05, 0.5])
@pytest.mark.parametrize("rho", [INF, 1.0])
def test_inf_cost_gives_exact_zeros_and_matches_pot(eps, rho):
    n = 7
    g = torch.Generator().manual_seed(2)
    cost = torch.rand(n, n, generator=g, dtype=F64)
    cost.fill_diagonal_(INF)  # masked self-pairs
    cost[0, 3] = INF
    a = torch.rand(n, generator=g, dtype=F64) + 0.2
    b = torch.rand(n, generator=g, dtype=F64) + 0.2
    a, b = a / a.sum(), (b / b.sum()) * (1.0 if math.isinf(rho) else 0.7)
    res = sinkhorn(cost, a, b, eps=eps, rho_a=rho, rho_b=rho, **TIGHT)
    mask = torch.isinf(cost)
    assert bool((res.plan[mask] == 0).all())  # exactly zero
    assert bool(torch.isfinite(res.f).all() and torch.isfinite(res.g).all())
    assert bool(torch.isfinite(res.primal) and torch.isfinite(res.dual))
    if math.isinf(rho):
        torch.testing.assert_close(res.row_marginal, a, atol=1e-12, rtol=0)
        torch.testing.assert_close(res.col_marginal, b, atol=1e-12, rtol=0)
    else:
        torch.testing.assert_close(res.row_marginal, a * torch.exp(-res.f / rho), atol=1e-12, rtol=0)
        torch.testing.assert_close(res.col_marginal, b * torch.exp(-res.g / rho), atol=1e-12, rtol=0)
    # POT on the same problem with a large finite cost on the masked pairs: exp(-1e3/eps) is far
    # below any float64 entry that matters (POT's log solver never exponentiates -C/eps alone).
    big = cost.clone()
    big[mask] = 1e3 if math.isinf(rho) else 50.0  # the scaling-form unbalanced solver needs exp(-C/eps) > 0
    if math.isinf(rho):
        ref = _pot_balanced(a.numpy(), b.numpy(), big.numpy(), eps)
    else:
        ref = _pot_unbalanced(a.numpy(), b.numpy(), big.numpy(), eps, rho, rho)
    assert np.abs(res.plan.numpy() - ref).max() <= 1e-9
    # KKT directly: on the support, f_i + g_j - C_ij = eps * log(P_ij / (a_i b_j)).
    support = ~mask
    lhs = (res.f[:, None] + res.g[None, :] - cost)[support]
    rhs = eps * torch.log(res.plan / torch.outer(a, b))[support]
    torch.testing.assert_close(lhs, rhs, atol=1e-12, rtol=0)


def test_inf_cost_batched_and_float32():
    cost = _embedding_cost(64)
    cost.fill_diagonal_(INF)
    res = sinkhorn(cost.expand(2, 64, 64), eps=0.05, n_iters=300)
    assert bool((res.plan[:, torch.eye(64, dtype=torch.bool)] == 0).all())
    assert bool(torch.isfinite(res.f).all() and torch.isfinite(res.g).all())
    torch.testing.assert_close(res.row_marginal, torch.full((2, 64), 1 / 64), atol=1e-5, rtol=0)


# --------------------------------------------------------------------------------------------------
# 4. float32 robustness at small eps, and why the log domain is needed
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def costs_512():
    g = torch.Generator().manual_seed(3)
    return {
        "cosine": _embedding_cost(512, seed=3, paired=False),
        "paired": _embedding_cost(512, seed=3, paired=True),
        "uniform": 2 * torch.rand(512, 512, generator=g),
    }


_F32_CASES = [(k, e) for k in ("cosine", "uniform") for e in (1e-3, 1e-2, 0.1, 1.0)] + [("paired", 1e-3)]


@pytest.mark.parametrize("grad", ["unroll", "last_step"])
@pytest.mark.parametrize("rho", [INF, 1.0, 0.1])
@pytest.mark.parametrize("kind,eps", _F32_CASES)
def test_float32_finite_at_small_eps(costs_512, kind, eps, rho, grad):
    base = costs_512[kind]
    assert base.dtype == torch.float32 and float(base.min()) >= 0 and float(base.max()) <= 2
    cost = base.clone().requires_grad_(True)
    res = sinkhorn(cost, eps=eps, rho_a=rho, rho_b=rho, n_iters=15, grad=grad)
    for name in ("log_plan", "f", "g", "errors"):
        assert bool(torch.isfinite(getattr(res, name)).all()), name
    assert bool(torch.isfinite(res.plan).all())
    # a plan-dependent loss (InfoNCE-like: -sum log P_ii) and the transport cost <P, C>
    loss = (res.plan * cost).sum() - res.log_plan.diagonal().sum() / 512 + res.f.sum() + res.g.sum()
    (grad_cost,) = torch.autograd.grad(loss, cost)
    assert bool(torch.isfinite(grad_cost).all())
    assert float(grad_cost.abs().sum()) > 0

    if kind == "cosine" and eps == 1e-3:
        # The kernel (scaling-form) solver cannot even start: every row of exp(-C/eps) underflows
        # to exactly 0 in float32, so u = a / (K v) divides by zero.
        kernel = torch.exp(-base / eps)
        assert bool((kernel.sum(-1) == 0).all())
        v = torch.ones(512)
        assert bool(torch.isinf(torch.full((512,), 1 / 512) / (kernel @ v)).all())
    if kind in ("paired", "uniform") and eps == 1e-3:
        kernel = torch.exp(-base / eps)
        assert float((kernel == 0).float().mean()) > 0.9  # most of the kernel is lost to underflow


def test_float32_log_domain_converges_where_kernel_underflows():
    cost = _embedding_cost(128, seed=4, paired=False)  # costs ~ 1 +- 0.1
    eps = 5e-3
    kernel = torch.exp(-cost / eps)
    assert bool((kernel == 0).all())  # float32 exp(-C/eps) underflows everywhere: K v = 0, u = a / 0
    a = torch.full((128,), 1 / 128)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pot_plan = ot.sinkhorn(a, a, cost, eps, method="sinkhorn", numItermax=50)
    assert not bool(torch.isfinite(pot_plan).all()) or float(pot_plan.sum()) == 0  # the scaling solver fails
    res = sinkhorn(cost, eps=eps, n_iters=5000, tol=1e-3)
    assert bool(res.converged)
    assert bool(torch.isfinite(res.log_plan).all())
    torch.testing.assert_close(res.col_marginal, a, atol=1e-6, rtol=0)


# --------------------------------------------------------------------------------------------------
# 5. gradients
# --------------------------------------------------------------------------------------------------


def _small(seed=0, n=4, m=3, mass_b=1.0):
    g = torch.Generator().manual_seed(seed)
    cost = torch.rand(n, m, generator=g, dtype=F64)
    a = torch.rand(n, generator=g, dtype=F64) + 0.5
    b = torch.rand(m, generator=g, dtype=F64) + 0.5
    return cost, a / a.sum(), mass_b * b / b.sum()


@pytest.mark.parametrize("rho", [INF, 0.5])
@pytest.mark.parametrize("output", ["log_plan", "plan", "f"])
def test_gradcheck_unroll(output, rho):
    cost, a, b = _small(mass_b=1.0 if math.isinf(rho) else 0.8)

    def fn(c, a_, b_):
        res = sinkhorn(c, a_, b_, eps=0.3, rho_a=rho, rho_b=rho, n_iters=5, grad="unroll")
        return getattr(res, output)

    inputs = tuple(x.clone().requires_grad_(True) for x in (cost, a, b))
    assert torch.autograd.gradcheck(fn, inputs)
    # also as a function of the cost alone, with +inf excluded pairs held fixed
    masked = cost.clone()
    masked[1, 2] = INF
    finite = torch.isfinite(masked)

    def fn_masked(values):
        c = torch.full_like(masked, INF).masked_scatter(finite, values)
        res = sinkhorn(c, a, b, eps=0.3, rho_a=rho, rho_b=rho, n_iters=5, grad="unroll")
        out = getattr(res, output)
        return out[finite] if out.shape == masked.shape else out

    assert torch.autograd.gradcheck(fn_masked, (masked[finite].clone().requires_grad_(True),))


@pytest.mark.parametrize("rho", [INF, 0.5])
@pytest.mark.parametrize("output", ["log_plan", "plan", "f", "g"])
def test_gradcheck_last_step_single_iteration(output, rho):
    # With n_iters=1 the detached loop is empty and "last_step" is the whole (exact) computation.
    cost, a, b = _small(seed=1, mass_b=1.0 if math.isinf(rho) else 0.8)

    def fn(c, a_, b_):
        return getattr(sinkhorn(c, a_, b_, eps=0.3, rho_a=rho, rho_b=rho, n_iters=1, grad="last_step"), output)

    inputs = tuple(x.clone().requires_grad_(True) for x in (cost, a, b))
    assert torch.autograd.gradcheck(fn, inputs)
    # and it equals unroll with one iteration, values and gradients
    c1 = cost.clone().requires_grad_(True)
    c2 = cost.clone().requires_grad_(True)
    o1 = getattr(sinkhorn(c1, a, b, eps=0.3, rho_a=rho, rho_b=rho, n_iters=1, grad="last_step"), output)
    o2 = getattr(sinkhorn(c2, a, b, eps=0.3, rho_a=rho, rho_b=rho, n_iters=1, grad="unroll"), output)
    torch.testing.assert_close(o1, o2, atol=0, rtol=0)
    w = torch.randn(o1.shape, dtype=F64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(torch.autograd.grad((o1 * w).sum(), c1)[0],
                               torch.autograd.grad((o2 * w).sum(), c2)[0], atol=1e-14, rtol=0)


@pytest.mark.parametrize("rho", [INF, 0.5])
def test_gradcheck_last_step_value_at_convergence(rho):
    # Envelope theorem: at convergence, the gradient of the optimal value w.r.t. the cost is the plan,
    # and the last-step gradient of the dual value is exact (finite differences re-solve the problem).
    cost, a, b = _small(seed=2, mass_b=1.0 if math.isinf(rho) else 0.8)

    def value(c):
        return sinkhorn(c, a, b, eps=0.3, rho_a=rho, rho_b=rho, n_iters=5000, tol=1e-14,
                        grad="last_step").dual

    c = cost.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(value, (c,), atol=1e-7, rtol=1e-5)
    (grad,) = torch.autograd.grad(value(c), c)
    plan = sinkhorn(cost, a, b, eps=0.3, rho_a=rho, rho_b=rho, n_iters=5000, tol=1e-14).plan
    torch.testing.assert_close(grad, plan, atol=1e-10, rtol=0)


def test_unroll_gradient_converges_to_implicit_gradient():
    # Unrolled gradients of the plan stabilise as iterations grow (they converge to the implicit one).
    cost, a, b = _small(seed=3, n=5, m=4)
    w = torch.randn(5, 4, dtype=F64, generator=torch.Generator().manual_seed(1))

    def grad_at(iters):
        c = cost.clone().requires_grad_(True)
        res = sinkhorn(c, a, b, eps=0.3, n_iters=iters)
        return torch.autograd.grad((res.plan * w).sum(), c)[0]

    torch.testing.assert_close(grad_at(300), grad_at(600), atol=1e-12, rtol=0)


# --------------------------------------------------------------------------------------------------
# 6. primal / dual / objective
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("eps", [0.05, 0.3, 1.0])
@pytest.mark.parametrize("rho_a,rho_b,mass_a,mass_b", [
    (INF, INF, 1.0, 1.0),  # balanced
    (INF, 0.5, 1.0, 0.7),  # semi-relaxed
    (0.5, INF, 0.6, 1.0),  # semi-relaxed, the other side
    (0.5, 2.0, 1.3, 0.8),  # unbalanced
    (0.05, 0.05, 2.0, 0.5),  # strongly unbalanced
])
def test_primal_equals_dual_and_independent_objective(eps, rho_a, rho_b, mass_a, mass_b):
    cost, a, b = _problem(8, 6, 5, mass_a=mass_a, mass_b=mass_b)
    ct, at, bt = _t(cost), _t(a), _t(b)
    res = sinkhorn(ct, at, bt, eps=eps, rho_a=rho_a, rho_b=rho_b, **TIGHT)
    assert bool(res.converged)
    assert float(res.gap) <= 1e-6
    assert abs(float(res.primal - res.dual)) <= 1e-10 * max(1.0, abs(float(res.primal)))
    expected = _objective(res.plan, ct, at, bt, eps, rho_a, rho_b)
    torch.testing.assert_close(res.primal, expected, atol=1e-12, rtol=1e-12)
    # optimality: feasible perturbations of the plan increase the independent objective
    n, m = cost.shape
    d = torch.zeros(n, m, dtype=F64)
    if math.isinf(rho_a) and math.isinf(rho_b):
        d[0, 0], d[0, 1], d[1, 0], d[1, 1] = 1, -1, -1, 1  # keeps both marginals
    elif math.isinf(rho_a):
        d[0, 0], d[0, 1] = 1, -1  # keeps the row sums
    elif math.isinf(rho_b):
        d[0, 0], d[1, 0] = 1, -1  # keeps the column sums
    else:
        d = res.plan / float(res.plan.min())  # a 0.1% change of total mass (scaled back below)
    for t in (1e-3, -1e-3):
        perturbed = res.plan + t * d * float(res.plan.min())
        assert float(_objective(perturbed, ct, at, bt, eps, rho_a, rho_b)) > float(expected)


def test_primal_components_and_generalized_kl():
    p = torch.tensor([0.2, 0.0, 0.5], dtype=F64)
    q = torch.tensor([0.1, 0.3, 0.5], dtype=F64)
    expected = 0.2 * math.log(2.0) - 0.7 + 0.9
    torch.testing.assert_close(generalized_kl(p, q), torch.tensor(expected, dtype=F64))
    assert float(generalized_kl(q, q)) == 0.0
    assert math.isinf(float(generalized_kl(torch.tensor([1.0]), torch.tensor([0.0]))))
    # batched over dim
    torch.testing.assert_close(generalized_kl(torch.stack([p, q]), torch.stack([q, q])),
                               torch.tensor([expected, 0.0], dtype=F64))


def test_primal_with_inf_cost_is_finite_and_correct():
    cost, a, b = _problem(9, 5, 5)
    ct = _t(cost)
    ct.fill_diagonal_(INF)
    res = sinkhorn(ct, _t(a), _t(b), eps=0.2, **TIGHT)
    assert math.isfinite(float(res.primal)) and float(res.gap) <= 1e-6
    torch.testing.assert_close(res.primal, _objective(res.plan, ct, _t(a), _t(b), 0.2, INF, INF),
                               atol=1e-12, rtol=1e-12)


# --------------------------------------------------------------------------------------------------
# 7. errors, tolerance, iteration counts
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rho", [INF, 0.5])
def test_errors_decrease_and_are_small(rho):
    cost, a, b = _problem(10, 12, 9, mass_b=1.0 if math.isinf(rho) else 0.8)
    res = sinkhorn(_t(cost), _t(a), _t(b), eps=0.1, rho_a=rho, rho_b=rho, n_iters=400)
    errs = res.errors
    assert errs.shape == (400,) and res.n_iters == 400
    assert float(errs[-1]) <= 1e-12
    # "non-increasing-ish": monotone up to roundoff wherever the error is above roundoff level
    big = errs[:-1] > 1e-13
    assert bool((errs[1:][big] <= errs[:-1][big] * (1 + 1e-9)).all())
    # the error is the residual it claims: ||P1 - a exp(-f/rho)||_1 of the returned iterate
    target = _t(a) if math.isinf(rho) else _t(a) * torch.exp(-res.f / rho)
    torch.testing.assert_close(errs[-1], (res.row_marginal - target).abs().sum(), atol=1e-15, rtol=1e-6)
    assert float((res.col_marginal - (_t(b) if math.isinf(rho) else _t(b) * torch.exp(-res.g / rho))).abs().sum()) <= 1e-14


@pytest.mark.parametrize("grad", ["unroll", "last_step"])
@pytest.mark.parametrize("check_every", [1, 7, 10])
def test_tol_stops_early(grad, check_every):
    cost, a, b = _problem(11, 8, 8)
    res = sinkhorn(_t(cost), _t(a), _t(b), eps=0.2, n_iters=5000, tol=1e-8, check_every=check_every, grad=grad)
    assert res.n_iters < 5000
    assert bool(res.converged)
    assert res.errors.shape[0] == res.n_iters
    assert float(res.errors[-1]) <= 1e-8
    # it stopped at the first check at which the tolerance held
    hits = (res.errors <= 1e-8).nonzero()
    assert int(hits[0]) >= res.n_iters - 1 - check_every
    # the reported error is the error of the returned plan
    torch.testing.assert_close(res.errors[-1], (res.row_marginal - _t(a)).abs().sum(), atol=1e-15, rtol=1e-6)


@pytest.mark.parametrize("grad", ["unroll", "last_step"])
@pytest.mark.parametrize("n_iters", [1, 2, 3, 25])
def test_without_tol_runs_exactly_n_iters(grad, n_iters):
    cost, a, b = _problem(12, 5, 6)
    res = sinkhorn(_t(cost), _t(a), _t(b), eps=0.05, n_iters=n_iters, grad=grad)
    assert res.n_iters == n_iters
    assert res.errors.shape == (n_iters,)
    assert res.converged.dtype == torch.bool


def test_grad_modes_agree_on_values():
    cost, a, b = _problem(13, 6, 7)
    r1 = sinkhorn(_t(cost), _t(a), _t(b), eps=0.1, grad="unroll", n_iters=37)
    r2 = sinkhorn(_t(cost), _t(a), _t(b), eps=0.1, grad="last_step", n_iters=37)
    assert r1.n_iters == r2.n_iters == 37
    torch.testing.assert_close(r1.log_plan, r2.log_plan, atol=1e-13, rtol=0)
    torch.testing.assert_close(r1.errors, r2.errors, atol=1e-15, rtol=0)
    # with tol, "last_step" stops its detached loop at the same check and then adds its
    # differentiable iteration, so it may report one iteration more than "unroll"
    r1 = sinkhorn(_t(cost), _t(a), _t(b), eps=0.1, grad="unroll", n_iters=5000, tol=1e-9)
    r2 = sinkhorn(_t(cost), _t(a), _t(b), eps=0.1, grad="last_step", n_iters=5000, tol=1e-9)
    assert r2.n_iters in (r1.n_iters, r1.n_iters + 1)
    torch.testing.assert_close(r1.errors, r2.errors[: r1.n_iters], atol=1e-15, rtol=0)
    torch.testing.assert_close(r1.plan, r2.plan, atol=1e-9, rtol=0)


def test_not_converged_flag():
    cost, a, b = _problem(14, 8, 8)
    res = sinkhorn(_t(cost), _t(a), _t(b), eps=0.01, n_iters=3, tol=1e-12)
    assert res.n_iters == 3 and not bool(res.converged)


# --------------------------------------------------------------------------------------------------
# 8. KL projections
# --------------------------------------------------------------------------------------------------


def _log_kernel(seed=0, shape=(6, 5)):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=F64)


def test_row_projection_exact():
    lk = _log_kernel()
    a = torch.rand(6, dtype=F64, generator=torch.Generator().manual_seed(1)) + 0.1
    out = row_projection(lk, a)
    torch.testing.assert_close(out.exp().sum(-1), a, atol=1e-12, rtol=0)
    p = lk.exp()
    torch.testing.assert_close(out.exp(), (a / p.sum(1))[:, None] * p, atol=1e-14, rtol=1e-12)
    # default marginal is uniform with mass 1: a row softmax / n
    torch.testing.assert_close(row_projection(lk).exp(), torch.softmax(lk, -1) / 6, atol=1e-15, rtol=1e-12)


def test_col_projection_exact():
    lk = _log_kernel(2)
    b = torch.rand(5, dtype=F64, generator=torch.Generator().manual_seed(3)) + 0.1
    out = col_projection(lk, b)
    torch.testing.assert_close(out.exp().sum(-2), b, atol=1e-12, rtol=0)
    p = lk.exp()
    torch.testing.assert_close(out.exp(), p * (b / p.sum(0))[None, :], atol=1e-14, rtol=1e-12)


@pytest.mark.parametrize("eps,rho", [(0.1, 0.5), (1.0, 0.1), (0.3, 0.0), (0.3, INF)])
def test_relaxed_projections_dense(eps, rho):
    lk = _log_kernel(4)
    g = torch.Generator().manual_seed(5)
    a, b = torch.rand(6, generator=g, dtype=F64) + 0.1, torch.rand(5, generator=g, dtype=F64) + 0.1
    phi = relaxation_exponent(rho, eps)
    assert phi == (1.0 if math.isinf(rho) else rho / (rho + eps))
    p = lk.exp()
    rows = torch.diag((a / p.sum(1)) ** phi) @ p
    cols = p @ torch.diag((b / p.sum(0)) ** phi)
    torch.testing.assert_close(row_projection(lk, a, eps=eps, rho=rho).exp(), rows, atol=1e-14, rtol=1e-12)
    torch.testing.assert_close(col_projection(lk, b, eps=eps, rho=rho).exp(), cols, atol=1e-14, rtol=1e-12)
    if rho == 0.0:  # no constraint: the identity
        torch.testing.assert_close(row_projection(lk, a, eps=eps, rho=rho), lk, atol=0, rtol=0)


def test_projections_batched_and_inf():
    lk = _log_kernel(6, (2, 3, 4, 5))
    lk[..., 0, 1] = -INF  # a zero entry stays exactly zero
    out = row_projection(lk)
    assert bool((out[..., 0, 1] == -INF).all())
    torch.testing.assert_close(out.exp().sum(-1), torch.full((2, 3, 4), 0.25, dtype=F64), atol=1e-14, rtol=0)
    out = col_projection(lk, torch.full((2, 3, 5), 0.4, dtype=F64))
    torch.testing.assert_close(out.exp().sum(-2), torch.full((2, 3, 5), 0.4, dtype=F64), atol=1e-14, rtol=0)


@pytest.mark.parametrize("rho_a,rho_b", [(INF, INF), (INF, 0.4), (0.7, 0.2)])
def test_one_sinkhorn_iteration_is_row_then_col_projection(rho_a, rho_b):
    # Derivation (reference measure a (x) b): start from L0 = -C/eps + log a_i + log b_j (f = g = 0).
    # row_projection: L1 = L0 + phi_a (log a_i - LSE_j L0_ij) = L0 - phi_a LSE_j(log b_j - C_ij/eps)
    #               = L0 + f_i/eps                       with f the solver's first row update;
    # col_projection: L2 = L1 + phi_b (log b_j - LSE_i L1_ij) = L1 - phi_b LSE_i(log a_i + f_i/eps - C_ij/eps)
    #               = L1 + g_j/eps,
    # which is the solver's log_plan after one iteration. Exact, for every rho.
    cost, a, b = _problem(15, 6, 4, mass_a=1.2, mass_b=1.2 if math.isinf(rho_a) and math.isinf(rho_b) else 0.9)
    ct, at, bt = _t(cost), _t(a), _t(b)
    eps = 0.2
    l0 = -ct / eps + torch.log(at)[:, None] + torch.log(bt)[None, :]
    expected = col_projection(row_projection(l0, at, eps=eps, rho=rho_a), bt, eps=eps, rho=rho_b)
    res = sinkhorn(ct, at, bt, eps=eps, rho_a=rho_a, rho_b=rho_b, n_iters=1)
    torch.testing.assert_close(res.log_plan, expected, atol=1e-13, rtol=0)
    # k iterations are k alternations of exact projections in the balanced case. With a finite rho
    # they are not: a relaxed projection of the current iterate scales by (a / P1)^phi, i.e.
    # u <- u^(1 - phi) (a / Kv)^phi, whereas Sinkhorn's relaxed update is u <- (a / Kv)^phi (its fixed
    # point is the KL-penalized problem; iterated relaxed projections have the balanced fixed point).
    lk = l0
    for _ in range(4):
        lk = col_projection(row_projection(lk, at, eps=eps, rho=rho_a), bt, eps=eps, rho=rho_b)
    four = sinkhorn(ct, at, bt, eps=eps, rho_a=rho_a, rho_b=rho_b, n_iters=4).log_plan
    if math.isinf(rho_a) and math.isinf(rho_b):
        torch.testing.assert_close(four, lk, atol=1e-12, rtol=0)
    else:
        assert float((four - lk).abs().max()) > 1e-3
        # Sinkhorn's relaxed step is the relaxed projection of the *kernel* scaled by the other
        # side's potential only: L <- L0 + g/eps, then row-project.
        res = sinkhorn(ct, at, bt, eps=eps, rho_a=rho_a, rho_b=rho_b, n_iters=3)
        prev = sinkhorn(ct, at, bt, eps=eps, rho_a=rho_a, rho_b=rho_b, n_iters=2)
        # the column step also restarts from the kernel, scaled by the new row potential
        half = row_projection(l0 + prev.g[None, :] / eps, at, eps=eps, rho=rho_a)
        f = (half - l0 - prev.g[None, :] / eps)[:, 0] * eps
        step = col_projection(l0 + f[:, None] / eps, bt, eps=eps, rho=rho_b)
        torch.testing.assert_close(res.log_plan, step, atol=1e-12, rtol=0)


def test_uniform_reference_one_iteration_differs_only_by_convention():
    # Starting instead from L0' = -C/eps (the all-ones reference), a balanced row projection gives
    # L1' = L1 + [log b_j - LSE_j(log b - C_i./eps) + LSE_j(-C_i./eps)]: equal to L1 when b is uniform
    # (log b_j is a constant that cancels), and then the column projection gives the same matrix.
    cost, a, _ = _problem(16, 5, 7)
    ct, at = _t(cost), _t(a)
    b = torch.full((7,), 1 / 7, dtype=F64)
    eps = 0.3
    from_ones = col_projection(row_projection(-ct / eps, at), b)
    torch.testing.assert_close(sinkhorn(ct, at, b, eps=eps, n_iters=1).log_plan, from_ones, atol=1e-13, rtol=0)
    # with non-uniform b the first iterates differ but the balanced fixed point is the same
    b2 = _t(_problem(17, 5, 7)[2])
    lk = -ct / eps
    for _ in range(3000):
        lk = col_projection(row_projection(lk, at), b2)
    torch.testing.assert_close(sinkhorn(ct, at, b2, eps=eps, **TIGHT).log_plan, lk, atol=1e-10, rtol=0)


# --------------------------------------------------------------------------------------------------
# 9. parameter conversions
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("eps", [1e-3, 0.1, 1.0, 7.0])
@pytest.mark.parametrize("rho", [0.0, 1e-4, 0.05, 1.0, 123.0, INF])
def test_rho_tau_round_trip(rho, eps):
    tau = rho_to_tau(rho, eps)
    assert 0.0 <= tau <= 1.0
    assert tau == relaxation_exponent(rho, eps)
    back = tau_to_rho(tau, eps)
    if math.isinf(rho):
        assert tau == 1.0 and math.isinf(back)
    else:
        assert back == pytest.approx(rho, rel=1e-9, abs=1e-15)
    assert rho_to_tau(tau_to_rho(0.3, eps), eps) == pytest.approx(0.3, rel=1e-12)


def test_rho_tau_endpoints():
    assert rho_to_tau(INF, 0.1) == 1.0 and math.isinf(tau_to_rho(1.0, 0.1))
    assert rho_to_tau(0.0, 0.1) == 0.0 and tau_to_rho(0.0, 0.1) == 0.0
    assert rho_to_tau(0.1, 0.1) == 0.5 and tau_to_rho(0.5, 0.1) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="tau"):
        tau_to_rho(1.5, 0.1)
    with pytest.raises(ValueError, match="tau"):
        tau_to_rho(-0.1, 0.1)
    with pytest.raises(ValueError, match="rho"):
        rho_to_tau(-1.0, 0.1)
    with pytest.raises(ValueError, match="eps"):
        rho_to_tau(1.0, 0.0)


# --------------------------------------------------------------------------------------------------
# 10. input validation
# --------------------------------------------------------------------------------------------------


def _good():
    cost, a, b = _small()
    return cost, a, b


@pytest.mark.parametrize("mutate,exc,match", [
    (lambda c, a, b: (c, torch.full((5,), 0.2, dtype=F64), b), ValueError, "a"),
    (lambda c, a, b: (c, a, torch.full((4,), 0.25, dtype=F64)), ValueError, "b"),
    (lambda c, a, b: (c[0], None, None), ValueError, "cost"),
    (lambda c, a, b: (c, torch.tensor([0.5, -0.1, 0.3, 0.3], dtype=F64), b), ValueError, "a"),
    (lambda c, a, b: (c, a, torch.tensor([0.5, math.nan, 0.5], dtype=F64)), ValueError, "b"),
    (lambda c, a, b: (c, torch.tensor([0.5, INF, 0.3, 0.3], dtype=F64), b), ValueError, "a"),
    (lambda c, a, b: (c, torch.zeros(4, dtype=F64), b), ValueError, "a"),
    (lambda c, a, b: (c.index_put((torch.tensor(0), torch.tensor(1)), torch.tensor(math.nan, dtype=F64)), a, b),
     ValueError, "cost.*NaN"),
    (lambda c, a, b: (c.index_put((torch.tensor(0), torch.tensor(1)), torch.tensor(-INF, dtype=F64)), a, b),
     ValueError, "cost.*-inf"),
    (lambda c, a, b: (c.index_put((torch.tensor(2),), torch.tensor(INF, dtype=F64)), a, b), ValueError, "cost.*row"),
    (lambda c, a, b: (torch.cat([c[:, :1], torch.full((4, 1), INF, dtype=F64), c[:, 2:]], 1), a, b),
     ValueError, "cost.*column"),
    (lambda c, a, b: (c, torch.full((2, 4), 0.25, dtype=F64), None), ValueError, "a"),  # batch does not broadcast
    (lambda c, a, b: (c.expand(3, 4, 3), torch.full((2, 4), 0.25, dtype=F64), None), ValueError, "a"),
    (lambda c, a, b: (torch.zeros(0, 3, dtype=F64), None, None), ValueError, "cost"),
])
def test_bad_inputs_raise(mutate, exc, match):
    cost, a, b = mutate(*_good())
    with pytest.raises(exc, match=match):
        sinkhorn(cost, a, b, eps=0.1)


def test_bad_cost_types():
    with pytest.raises(TypeError, match="cost"):
        sinkhorn(torch.ones(3, 3, dtype=torch.int64), eps=0.1)
    with pytest.raises(TypeError, match="cost"):
        sinkhorn(np.ones((3, 3)), eps=0.1)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(eps=0.0), ValueError, "eps"),
    (dict(eps=-1.0), ValueError, "eps"),
    (dict(eps=math.nan), ValueError, "eps"),
    (dict(eps=INF), ValueError, "eps"),
    (dict(eps="0.1"), TypeError, "eps"),
    (dict(eps=0.1, rho_a=-1.0), ValueError, "rho_a"),
    (dict(eps=0.1, rho_b=-1e-9), ValueError, "rho_b"),
    (dict(eps=0.1, rho_a=math.nan), ValueError, "rho_a"),
    (dict(eps=0.1, n_iters=0), ValueError, "n_iters"),
    (dict(eps=0.1, n_iters=2.5), TypeError, "n_iters"),
    (dict(eps=0.1, tol=0.0), ValueError, "tol"),
    (dict(eps=0.1, tol=-1e-6), ValueError, "tol"),
    (dict(eps=0.1, tol=math.nan), ValueError, "tol"),
    (dict(eps=0.1, check_every=0), ValueError, "check_every"),
    (dict(eps=0.1, grad="implicit"), ValueError, "grad"),
])
def test_bad_parameters_raise(kwargs, exc, match):
    cost, a, b = _good()
    with pytest.raises(exc, match=match):
        sinkhorn(cost, a, b, **kwargs)


def test_projection_bad_inputs_raise():
    lk = _log_kernel()
    with pytest.raises(ValueError, match="eps"):
        row_projection(lk, eps=0.0, rho=1.0)
    with pytest.raises(ValueError, match="rho"):
        col_projection(lk, rho=-1.0)
    with pytest.raises(ValueError, match="a"):
        row_projection(lk, torch.ones(5, dtype=F64))
    with pytest.raises(ValueError, match="log_plan"):
        row_projection(lk.index_put((torch.tensor(0), torch.tensor(0)), torch.tensor(math.nan, dtype=F64)))
    with pytest.raises(ValueError, match="log_plan"):
        row_projection(lk.index_put((torch.tensor(1),), torch.tensor(-INF, dtype=F64)))
    with pytest.raises(ValueError, match="log_plan"):
        bad = lk.clone()
        bad[:, 1] = -INF
        col_projection(bad)


def test_unbalanced_masses_allowed_only_when_relaxed():
    # unequal masses with hard constraints have no feasible plan; relaxed problems accept them
    cost, a, b = _problem(18, 5, 5, mass_a=1.0, mass_b=0.5)
    res = sinkhorn(_t(cost), _t(a), _t(b), eps=0.1, rho_a=1.0, rho_b=1.0, **TIGHT)
    assert bool(res.converged)


@pytest.mark.parametrize("rho", [math.inf, 0.3])
@pytest.mark.parametrize("shape", [(7, 5), (2, 6, 6)])
def test_kernel_domain_backward_equals_unrolled_autograd(rho, shape):
    """The rank-one-accumulating backward of the kernel-domain loop (float64) equals autograd
    through the unrolled log-domain iterations, and passes gradcheck."""
    g = torch.Generator().manual_seed(60)
    cost = torch.rand(*shape, generator=g, dtype=torch.float64)
    g_init = torch.randn(*shape[:-2], shape[-1], generator=g, dtype=torch.float64)
    weights = torch.randn(*shape, generator=g, dtype=torch.float64)
    grads = {}
    for domain in ("kernel", "log"):
        c = cost.clone().requires_grad_(True)
        res = sinkhorn(c, eps=0.3, rho_a=rho, rho_b=rho, n_iters=6, domain=domain, validate=False, g_init=g_init)
        ((res.log_plan * weights).sum() + res.f.sum() - 2 * res.g.sum()).backward()
        grads[domain] = (c.grad, res.errors.detach())
    torch.testing.assert_close(grads["kernel"][0], grads["log"][0], atol=1e-13, rtol=1e-12)
    torch.testing.assert_close(grads["kernel"][1], grads["log"][1], atol=1e-14, rtol=1e-12)
    c = cost.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda x: sinkhorn(x, eps=0.3, rho_a=rho, rho_b=rho, n_iters=4, domain="kernel", validate=False).log_plan, (c,))


@pytest.mark.parametrize("rho", [math.inf, 0.3])
def test_masked_diagonal_kernel_domain_equals_log_domain(rho):
    """Joint layout: a square cost with only its diagonal excluded takes the kernel domain; values
    and the rank-one backward equal the log domain (float64), and a potential spike that would
    underflow every other term of its own row stays exact in float32."""
    g = torch.Generator().manual_seed(61)
    n = 9
    cost = torch.rand(2, n, n, generator=g, dtype=torch.float64)
    cost = cost + torch.diag_embed(torch.full((2, n), math.inf, dtype=torch.float64))
    g_init = torch.randn(2, n, generator=g, dtype=torch.float64)
    g_init[:, 3] += 60.0  # v_3 dominates: row 3 (whose own entry is excluded) needs its own shift
    weights = torch.randn(2, n, n, generator=g, dtype=torch.float64)
    out = {}
    for domain in ("kernel", "log"):
        c = cost.clone().requires_grad_(True)
        res = sinkhorn(c, eps=0.3, rho_a=rho, rho_b=rho, n_iters=5, domain=domain, validate=False,
                       g_init=g_init, masked_diagonal=True)
        lp = torch.where(torch.isfinite(res.log_plan), res.log_plan, torch.zeros_like(res.log_plan))
        ((lp * weights).sum() + res.f.sum() - 2 * res.g.sum()).backward()
        out[domain] = (res.f.detach(), res.g.detach(), c.grad)
    finite = torch.isfinite(cost)
    for k in (0, 1):
        torch.testing.assert_close(out["kernel"][k], out["log"][k], atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(out["kernel"][2][finite], out["log"][2][finite], atol=1e-11, rtol=1e-11)
    # float32, first row step from the spike: exact where a single global shift would underflow
    c32 = cost.float()
    for domain in ("kernel", "log"):
        res = sinkhorn(c32, eps=0.01, rho_a=rho, rho_b=rho, n_iters=1, domain=domain, validate=False,
                       g_init=0.01 * g_init.float() * 3, masked_diagonal=True)
        out[domain] = res.f
    assert torch.isfinite(out["kernel"]).all()
    torch.testing.assert_close(out["kernel"], out["log"], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("domain", ["log", "kernel"])
@pytest.mark.parametrize("rho", [math.inf, 0.7])
def test_end_row_is_rounds_then_one_row_projection(domain, rho):
    """``end="row"``: ``n_iters`` row updates and ``n_iters - 1`` column updates, i.e. the plan of
    ``n_iters - 1`` rounds followed by one (relaxed) row update; its last error is the column residual."""
    g = torch.Generator().manual_seed(12)
    x = torch.nn.functional.normalize(torch.randn(7, 3, generator=g, dtype=torch.float64), dim=1)
    y = torch.nn.functional.normalize(torch.randn(9, 3, generator=g, dtype=torch.float64), dim=1)
    cost = 1 - x @ y.T
    eps = 0.3
    row = sinkhorn(cost, eps=eps, rho_a=rho, rho_b=rho, n_iters=4, end="row", domain=domain)
    rounds = sinkhorn(cost, eps=eps, rho_a=rho, rho_b=rho, n_iters=3, domain=domain)
    # the row update f = -phi eps log sum_j b_j exp((g_j - C_ij)/eps) from the rounds' column potential
    phi = 1.0 if math.isinf(rho) else rho / (rho + eps)
    f = -phi * eps * torch.logsumexp(rounds.log_b + rounds.g / eps - cost / eps, dim=-1)
    torch.testing.assert_close(row.log_plan, rounds.log_plan + ((f - rounds.f) / eps).unsqueeze(-1),
                               atol=1e-12, rtol=1e-12)
    if math.isinf(rho):  # balanced: exactly the KL row projection of the rounds' plan
        want = row_projection(rounds.log_plan, rounds.log_a.exp(), eps=eps, rho=rho)
        torch.testing.assert_close(row.log_plan, want, atol=1e-12, rtol=1e-12)
    assert row.n_iters == 4 and row.errors.shape == (4,)
    torch.testing.assert_close(row.errors[:3], rounds.errors, atol=1e-14, rtol=0)
    if math.isinf(rho):
        torch.testing.assert_close(row.plan.sum(1), torch.full((7,), 1 / 7, dtype=torch.float64), atol=1e-14, rtol=0)
        col_err = (row.plan.sum(0) - 1 / 9).abs().sum()
        torch.testing.assert_close(row.errors[-1], col_err, atol=1e-14, rtol=1e-10)
    with pytest.raises(ValueError, match="end"):
        sinkhorn(cost, eps=eps, end="middle")
