"""Acceptance tests for ``gca_lab.losses`` (the GCA loss family).

Every loss is checked against an oracle written differently from the library (docs/architecture.md, "Tests"):
softmax cross-entropy for InfoNCE, SimCLR's published NT-Xent formula (interleaved ordering),
RINCE's closed form, hand-written matrix-scaling iterations for the GCA iterates, gca_lab.ot's
projections and solver, and POT's unbalanced Sinkhorn. Then properties: the monotonicity theorem
(the poster's "better uniformity after multiple iterations"), the q -> 0 limit of RINCE, the
rho -> inf limit of GCA-UOT, finiteness at small eps in float32, gradcheck, input validation and the notebook-facing ``details()``.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gca_lab import targets
from gca_lab.losses import (
    GCAUOT,
    GCARINCE,
    IOT,
    RINCE,
    UOT,
    BYOLLoss,
    GCAInfoNCE,
    GCALoss,
    InfoNCE,
    IOTUni,
    NTXent,
)
from gca_lab.methods import METHODS, make_loss
from gca_lab.ot import generalized_kl, row_projection, sinkhorn

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")


# --------------------------------------------------------------------------------------------------
# helpers (independent of gca_lab)
# --------------------------------------------------------------------------------------------------


def _views(b: int, d: int = 8, *, seed: int = 0, noise: float = 0.5, dtype: torch.dtype = F64,
           clusters: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two correlated views ``x + noise``; with ``clusters`` the samples sit around a few centers."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, d, generator=g, dtype=F64)
    if clusters:
        centers = 4.0 * torch.randn(clusters, d, generator=g, dtype=F64)
        x = centers[torch.randint(clusters, (b,), generator=g)] + 0.3 * x
    z1 = x + noise * torch.randn(b, d, generator=g, dtype=F64)
    z2 = x + noise * torch.randn(b, d, generator=g, dtype=F64)
    return z1.to(dtype), z2.to(dtype)


def _cos(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    return (z1 / z1.norm(dim=1, keepdim=True)) @ (z2 / z2.norm(dim=1, keepdim=True)).T


def _joint_logits(z1: torch.Tensor, z2: torch.Tensor, eps: float) -> torch.Tensor:
    z = torch.cat([z1, z2])
    logits = _cos(z, z) / eps
    return logits.masked_fill(torch.eye(len(z), dtype=torch.bool), -math.inf)


def _partner(b: int) -> torch.Tensor:
    return (torch.arange(2 * b) + b) % (2 * b)


def _scaling_iterates(K: torch.Tensor, t: int, phi: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Plain matrix scaling with unit marginals: ``t`` row updates, ``t - 1`` column updates.

    ``u <- (1 / K v)^phi``, ``v <- (1 / K^T u)^phi`` starting from ``v = 1``; returns ``(u, v)`` of
    the row iterate ``P^(2t-1) = diag(u) K diag(v)``.
    """
    v = torch.ones(K.shape[1], dtype=K.dtype)
    u = (1.0 / (K @ v)) ** phi
    for _ in range(t - 1):
        v = (1.0 / (K.T @ u)) ** phi
        u = (1.0 / (K @ v)) ** phi
    return u, v


# --------------------------------------------------------------------------------------------------
# InfoNCE, NT-Xent, GCA-INCE at one step
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("eps", [0.05, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("b", [2, 7, 32])
def test_infonce_cross_equals_softmax_cross_entropy(eps, b):
    z1, z2 = _views(b, seed=b)
    logits = _cos(z1, z2) / eps
    ce = F.cross_entropy(logits, torch.arange(b))
    hand = -(logits.diag() - torch.logsumexp(logits, 1)).mean()  # hand-written log-softmax
    got = InfoNCE(eps=eps)(z1, z2)
    assert got.dtype == F64
    assert abs(got.item() - ce.item()) < 1e-10
    assert abs(got.item() - hand.item()) < 1e-10


@pytest.mark.parametrize("eps", [0.1, 0.5])
@pytest.mark.parametrize("b", [2, 9, 32])
def test_infonce_joint_equals_masked_softmax_cross_entropy(eps, b):
    z1, z2 = _views(b, seed=10 + b)
    logits = _joint_logits(z1, z2, eps)  # (2B, 2B), self-pairs masked
    ce = F.cross_entropy(logits, _partner(b))
    got = InfoNCE(eps=eps, layout="joint")(z1, z2)
    assert abs(got.item() - ce.item()) < 1e-10


def test_infonce_symmetric_averages_both_directions():
    z1, z2 = _views(12, seed=3)
    logits = _cos(z1, z2) / 0.3
    want = (F.cross_entropy(logits, torch.arange(12)) + F.cross_entropy(logits.T, torch.arange(12))) / 2
    assert abs(InfoNCE(eps=0.3, symmetric=True)(z1, z2).item() - want.item()) < 1e-10


@pytest.mark.parametrize("layout", ["cross", "joint"])
def test_infonce_is_kl_to_one_row_projection(layout):
    """arXiv 2502.20141, Table 1: InfoNCE = KL(I || row_projection(K)) / n, with gca_lab.ot's own primitives."""
    b, eps = 16, 0.2
    z1, z2 = _views(b, seed=4)
    if layout == "cross":
        log_k, target = _cos(z1, z2) / eps, torch.eye(b, dtype=F64)
    else:
        log_k = _joint_logits(z1, z2, eps)
        target = torch.zeros(2 * b, 2 * b, dtype=F64)
        target[torch.arange(2 * b), _partner(b)] = 1.0
    n = log_k.shape[0]
    plan = row_projection(log_k, torch.ones(n, dtype=F64)).exp()
    kl = generalized_kl(target, plan, dim=(-2, -1)) / n
    got = InfoNCE(eps=eps, layout=layout)(z1, z2)
    assert abs(got.item() - kl.item()) < 1e-10


@pytest.mark.parametrize("eps", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("b", [2, 5, 16])
def test_ntxent_equals_simclr_published_formula(eps, b):
    """SimCLR (Chen et al. 2020, Alg. 1): views of sample k are *interleaved* at 2k-1, 2k (1-based).

    ``l(i,j) = -log exp(sim(z_i,z_j)/tau) / sum_{k != i} exp(sim(z_i,z_k)/tau)``,
    ``L = 1/(2N) sum_k [l(2k-1,2k) + l(2k,2k-1)]``. gca_lab orders views in blocks
    ``[z1; z2]``; the formula is evaluated on the interleaved stack, with plain loops.
    """
    z1, z2 = _views(b, seed=20 + b)
    z = torch.stack([z1, z2], 1).reshape(2 * b, -1)  # row 2k = view 1 of sample k, 2k+1 = view 2
    sim = _cos(z, z)

    def l(i: int, j: int) -> float:
        den = sum(math.exp(sim[i, k].item() / eps) for k in range(2 * b) if k != i)
        return -math.log(math.exp(sim[i, j].item() / eps) / den)

    want = sum(l(2 * k, 2 * k + 1) + l(2 * k + 1, 2 * k) for k in range(b)) / (2 * b)
    assert abs(NTXent(eps=eps)(z1, z2).item() - want) < 1e-10


@pytest.mark.parametrize("layout", ["cross", "joint"])
@pytest.mark.parametrize("symmetric", [False, True])
def test_gca_infonce_one_iteration_is_infonce(layout, symmetric):
    z1, z2 = _views(10, seed=5)
    a = GCAInfoNCE(eps=0.3, n_iters=1, layout=layout, symmetric=symmetric)(z1, z2)
    b = InfoNCE(eps=0.3, layout=layout, symmetric=symmetric)(z1, z2)
    assert abs(a.item() - b.item()) < 1e-12


@pytest.mark.parametrize("t", [1, 2, 3, 7])
@pytest.mark.parametrize("layout", ["cross", "joint"])
def test_gca_infonce_matches_hand_written_iterates(t, layout):
    """GCAInfoNCE(n_iters=t) = -mean_i log P_ii / (P 1)_i on P^(2t-1) from plain scaling."""
    b, eps = 12, 0.25
    z1, z2 = _views(b, seed=6)
    if layout == "cross":
        K, pos = torch.exp(_cos(z1, z2) / eps), torch.arange(b)
    else:
        K, pos = torch.exp(_joint_logits(z1, z2, eps)), _partner(b)
    u, v = _scaling_iterates(K, t)
    P = u[:, None] * K * v[None, :]
    assert torch.allclose(P.sum(1), torch.ones(len(P), dtype=F64), atol=1e-12)  # ends on a row step
    want = -torch.log(P[torch.arange(len(P)), pos] / P.sum(1)).mean()
    got = GCAInfoNCE(eps=eps, n_iters=t, layout=layout)(z1, z2)
    assert abs(got.item() - want.item()) < 1e-10


# --------------------------------------------------------------------------------------------------
# Better uniformity after multiple iterations (NeurIPS 2024 poster): KL(I || P^(t)) non-increasing in t
# --------------------------------------------------------------------------------------------------


def test_theorem_kl_non_increasing_in_iterations():
    """KL(I || P^(2t-1)) = GCAInfoNCE(n_iters=t) (cross, one direction) never increases with t.

    Proof sketch (ours; the poster states the inequality without a proof): the loss is
    ``-D(f, g) + const`` after every exact row or column step (the plan then has mass ``B``), and
    Sinkhorn is block-coordinate ascent on the dual ``D``.
    """
    sizes = [4, 8, 16, 32, 64, 128, 256]
    eps_grid = [0.05, 0.1, 0.5, 1.0]
    t_max = 8
    problems = violations = 0
    worst = 0.0
    with torch.no_grad():
        for seed in range(224):
            b = sizes[seed % len(sizes)]
            eps = eps_grid[(seed // len(sizes)) % len(eps_grid)]
            clusters = [0, 2, 5][seed % 3]
            noise = [0.1, 0.5, 2.0][(seed // 3) % 3]
            z1, z2 = _views(b, d=16, seed=1000 + seed, noise=noise, clusters=clusters)
            losses = [GCAInfoNCE(eps=eps, n_iters=t, symmetric=False)(z1, z2).item() for t in range(1, t_max + 1)]
            problems += 1
            for prev, nxt in zip(losses, losses[1:]):
                if nxt > prev + 1e-12 * abs(prev):
                    violations += 1
                    worst = max(worst, (nxt - prev) / abs(prev))
            assert all(math.isfinite(x) for x in losses)
    assert problems >= 200
    assert violations == 0, f"{violations} violations (worst relative increase {worst:.3e})"


# --------------------------------------------------------------------------------------------------
# RINCE and GCA-RINCE
# --------------------------------------------------------------------------------------------------


def _rince_closed_form(z1, z2, eps, lam, q, layout="cross"):
    if layout == "cross":
        s, pos = _cos(z1, z2) / eps, torch.arange(len(z1))
    else:
        s, pos = _joint_logits(z1, z2, eps), _partner(len(z1))
    s_pos = s[torch.arange(len(s)), pos]
    neg = lam * torch.exp(s).sum(1)
    return (-(1 / q) * torch.exp(q * s_pos) + (1 / q) * neg**q).mean()


@pytest.mark.parametrize("eps,lam,q", [(0.5, 0.01, 0.6), (0.2, 0.5, 1.0), (1.0, 5.0, 0.1), (0.1, 0.01, 0.98)])
@pytest.mark.parametrize("layout", ["cross", "joint"])
def test_rince_closed_form(eps, lam, q, layout):
    z1, z2 = _views(9, seed=7)
    want = _rince_closed_form(z1, z2, eps, lam, q, layout)
    # Chuang et al.'s RINCE on exp(cos/eps): the "chuang" convention (cost -cos, unit masses)
    got = RINCE(eps=eps, lam=lam, q=q, layout=layout, convention="chuang")(z1, z2)
    assert abs(got.item() - want.item()) <= 1e-10 * max(1.0, abs(want.item()))


def test_rince_lam_and_q_matter():
    """The reference CIFAR rince ignores lam (docs/reference_implementation.md, item 4); ours must not."""
    z1, z2 = _views(9, seed=8)
    base = RINCE(lam=0.01, q=0.6)(z1, z2).item()
    assert abs(RINCE(lam=0.5, q=0.6)(z1, z2).item() - base) > 1e-3
    assert abs(RINCE(lam=5.0, q=0.6)(z1, z2).item() - base) > 1e-3
    assert abs(RINCE(lam=0.01, q=0.9)(z1, z2).item() - base) > 1e-3
    assert abs(RINCE(lam=0.01, q=0.2)(z1, z2).item() - base) > 1e-3


def test_rince_tends_to_infonce_plus_log_lam_linearly_in_q():
    """RINCE = InfoNCE + log(lam) + q * c + O(q^2) with c = mean_i (log(lam S_i)^2 - s_ii^2) / 2."""
    eps, lam = 0.5, 0.01
    z1, z2 = _views(16, seed=9)
    limit = InfoNCE(eps=eps)(z1, z2).item() + math.log(lam)
    s = _cos(z1, z2) / eps
    c = 0.5 * ((math.log(lam) + torch.logsumexp(s, 1)) ** 2 - s.diag() ** 2).mean().item()
    qs = [1e-2, 1e-3, 1e-4, 1e-5]
    errs = [abs(RINCE(eps=eps, lam=lam, q=q, convention="chuang")(z1, z2).item() - limit) for q in qs]
    for e0, e1 in zip(errs, errs[1:]):
        assert 8.0 < e0 / e1 < 12.0  # q / 10 -> error / 10: linear in q
    assert errs[-1] < 1e-2
    assert abs(errs[-1] / qs[-1] - abs(c)) < 1e-2 * abs(c)


@pytest.mark.parametrize("layout", ["cross", "joint"])
def test_gca_rince_one_iteration_is_rince(layout):
    z1, z2 = _views(10, seed=11)
    a = GCARINCE(eps=0.4, n_iters=1, lam=0.2, q=0.7, layout=layout)(z1, z2)
    b = RINCE(eps=0.4, lam=0.2, q=0.7, layout=layout)(z1, z2)
    assert abs(a.item() - b.item()) < 1e-12


@pytest.mark.parametrize("t", [2, 5])
def test_gca_rince_poster_formula(t):
    """``mean_i [-(1/q) (P_ii / u_i)^q + (1/q) (lam a_i / u_i)^q]`` on P^(2t-1), unit marginals."""
    eps, lam, q = 0.3, 0.1, 0.8
    z1, z2 = _views(10, seed=12)
    K = torch.exp(_cos(z1, z2) / eps)
    u, v = _scaling_iterates(K, t)
    P = u[:, None] * K * v[None, :]
    want = (-(1 / q) * (P.diag() / u) ** q + (1 / q) * (lam / u) ** q).mean()
    got = GCARINCE(eps=eps, n_iters=t, lam=lam, q=q, convention="chuang")(z1, z2)
    assert abs(got.item() - want.item()) < 1e-10 * max(1.0, abs(want.item()))


# --------------------------------------------------------------------------------------------------
# GCA-UOT
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("t", [1, 2, 3, 6])
@pytest.mark.parametrize("rho", [0.05, 0.2, 1.0, 10.0])
def test_gca_uot_plan_matches_sinkhorn_iterates(t, rho):
    """n_iters = t: v from ``sinkhorn(n_iters=t-1)``, u from one more relaxed row step."""
    b, eps = 11, 0.4
    z1, z2 = _views(b, seed=13)
    sim = _cos(z1, z2)
    K = torch.exp(sim / eps)
    phi = rho / (rho + eps)
    got = GCAUOT(eps=eps, n_iters=t, rho=rho, convention="chuang").details(z1, z2).plan
    # (a) hand-written relaxed scaling
    u, v = _scaling_iterates(K, t, phi)
    assert torch.allclose(got, u[:, None] * K * v[None, :], rtol=1e-11, atol=1e-14)
    # (b) gca_lab.ot.sinkhorn for the first t - 1 rounds (cost = -cos, unit marginals)
    if t > 1:
        ones = torch.ones(b, dtype=F64)
        res = sinkhorn(-sim, ones, ones, eps=eps, rho_a=rho, rho_b=rho, n_iters=t - 1)
        v2 = torch.exp(res.g / eps)
        u2 = (1.0 / (K @ v2)) ** phi
        assert torch.allclose(got, u2[:, None] * K * v2[None, :], rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("rho", [0.2, 1.0, 5.0])
def test_gca_uot_converged_plan_matches_sinkhorn_and_pot(rho):
    ot = pytest.importorskip("ot")
    b, eps = 12, 0.5
    z1, z2 = _views(b, seed=14)
    sim = _cos(z1, z2)
    got = GCAUOT(eps=eps, n_iters=500, rho=rho, convention="chuang").details(z1, z2).plan
    ones = torch.ones(b, dtype=F64)
    ours = sinkhorn(-sim, ones, ones, eps=eps, rho_a=rho, rho_b=rho, n_iters=500).plan
    a = ones.numpy()
    pot = ot.unbalanced.sinkhorn_unbalanced(a, a, (-sim).numpy(), eps, rho, reg_type="kl",
                                            numItermax=100_000, stopThr=1e-15)
    pot = torch.as_tensor(pot)
    assert (got - ours).abs().max().item() < 1e-8
    assert (got - pot).abs().max().item() < 1e-8


def test_gca_uot_approaches_gca_infonce_as_rho_grows():
    b, eps, t = 16, 0.5, 10
    z1, z2 = _views(b, seed=15)
    balanced = GCAInfoNCE(eps=eps, n_iters=t, convention="chuang").details(z1, z2).plan
    dists = [(GCAUOT(eps=eps, n_iters=t, rho=rho, convention="chuang").details(z1, z2).plan - balanced).abs().max().item()
             for rho in (1.0, 10.0, 100.0, 1e4)]
    assert all(d1 < d0 for d0, d1 in zip(dists, dists[1:])), dists
    assert dists[-1] < 1e-3, dists
    inf_plan = GCAUOT(eps=eps, n_iters=t, rho=math.inf, convention="chuang").details(z1, z2).plan  # rho = inf: balanced
    assert torch.allclose(inf_plan, balanced, atol=1e-12)


@pytest.mark.parametrize("eps", [0.02, 0.05, 0.1, 0.5, 1.0])
def test_gca_uot_finite_in_float32_small_eps(eps):
    """The reference implementation crashes at eps = 0.02 (docs/reference_implementation.md, item 11)."""
    z1, z2 = _views(512, d=128, seed=16, noise=0.3, dtype=torch.float32)
    z1.requires_grad_()
    z2.requires_grad_()
    loss = GCAUOT(eps=eps)(z1, z2)
    loss.backward()
    assert loss.dtype == torch.float32
    assert torch.isfinite(loss)
    assert torch.isfinite(z1.grad).all() and torch.isfinite(z2.grad).all()
    assert z1.grad.abs().sum() > 0


@pytest.mark.parametrize("name", ["gca_ince", "gca_rince", "rince", "iot", "iot_uni", "simclr"])
def test_other_losses_finite_in_float32_small_eps(name):
    z1, z2 = _views(256, d=128, seed=17, noise=0.3, dtype=torch.float32)
    z1.requires_grad_()
    loss = make_loss(name, eps=0.02)(z1, z2)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z1.grad).all()


def test_uot_is_one_relaxed_row_step():
    b, eps, rho = 8, 0.5, 0.3
    z1, z2 = _views(b, seed=18)
    a = UOT(eps=eps, rho=rho, convention="chuang").details(z1, z2)
    c = GCAUOT(eps=eps, n_iters=1, rho=rho, convention="chuang").details(z1, z2)
    assert torch.equal(a.loss, c.loss)
    K = torch.exp(_cos(z1, z2) / eps)
    u = (1.0 / K.sum(1)) ** (rho / (rho + eps))
    assert torch.allclose(a.plan, u[:, None] * K, rtol=1e-12)


def test_gca_uot_loss_is_weighted_sum_of_terms():
    z1, z2 = _views(8, seed=19)
    out = GCAUOT(eps=0.5, n_iters=4, kl_weight=0.7, w1_weight=0.3).details(z1, z2)
    assert set(out.terms) == {"kl", "w1"}
    assert abs(out.loss.item() - (0.7 * out.terms["kl"] + 0.3 * out.terms["w1"]).item()) < 1e-12


# --------------------------------------------------------------------------------------------------
# IOT, IOT-uni, BYOL
# --------------------------------------------------------------------------------------------------


def test_iot_matches_hand_written_generalized_kl():
    """t full Sinkhorn rounds (ending on a column), then mean_i KL_gen(T_i || P_i) with T = partners."""
    b, eps, t = 8, 0.5, 4
    z1, z2 = _views(b, seed=21)
    K = torch.exp(_joint_logits(z1, z2, eps))
    u, v = _scaling_iterates(K, t)
    v = 1.0 / (K.T @ u)  # the t-th column step
    P = u[:, None] * K * v[None, :]
    T = torch.zeros_like(P)
    T[torch.arange(2 * b), _partner(b)] = 1.0
    want = (torch.xlogy(T, T) - torch.xlogy(T, P) - T + P).sum(1).mean()
    got = IOT(eps=eps, n_iters=t, layout="joint")(z1, z2)
    assert abs(got.item() - want.item()) < 1e-10


@pytest.mark.parametrize("layout", ["cross", "joint"])
def test_iot_decreases_as_views_become_similar(layout):
    g = torch.Generator().manual_seed(22)
    x = torch.randn(16, 8, generator=g, dtype=F64)
    e = torch.randn(16, 8, generator=g, dtype=F64)
    loss = IOT(eps=0.5, n_iters=10, layout=layout)
    values = [loss(x, x + s * e).item() for s in (3.0, 1.0, 0.3, 0.1, 0.0)]
    assert all(v1 < v0 for v0, v1 in zip(values, values[1:])), values
    # positives are the matching samples: a shuffled second view is much worse than the aligned one
    perm = torch.roll(torch.arange(16), 1)
    assert loss(x, x[perm]).item() > values[-1] + 1.0


def test_iot_uni_adds_nonnegative_term():
    z1, z2 = _views(12, seed=23)
    for layout in ("cross", "joint"):
        base = IOT(eps=0.5, n_iters=5, layout=layout)(z1, z2)
        out = IOTUni(eps=0.5, n_iters=5, lam_uniform=0.2, layout=layout).details(z1, z2)
        assert out.terms["uniform"].item() >= 0
        assert abs(out.loss.item() - base.item() - 0.2 * out.terms["uniform"].item()) < 1e-12
        assert out.loss.item() >= base.item()
        assert abs(IOTUni(eps=0.5, n_iters=5, lam_uniform=0.0, layout=layout)(z1, z2).item() - base.item()) < 1e-12


def test_byol_loss_closed_form_and_stop_gradient():
    p, z = _views(6, seed=24)
    p.requires_grad_()
    z.requires_grad_()
    loss = BYOLLoss()(p, z)
    want = ((F.normalize(p, dim=1) - F.normalize(z, dim=1)) ** 2).sum(1).mean()
    assert abs(loss.item() - want.item()) < 1e-12
    loss.backward()
    assert z.grad is None and torch.isfinite(p.grad).all()


# --------------------------------------------------------------------------------------------------
# make_loss, gradients
# --------------------------------------------------------------------------------------------------

ALL_NAMES = ["ince", "simclr", "rince", "gca_ince", "gca_rince", "uot", "gca_uot", "iot", "iot_uni", "byol"]


def test_make_loss_knows_every_name():
    assert sorted(METHODS) == sorted(ALL_NAMES)
    for name in ALL_NAMES:
        loss = make_loss(name)
        assert isinstance(loss, METHODS[name].loss) and loss.name == name


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("name", ALL_NAMES)
def test_make_loss_finite_loss_and_gradients(name, dtype):
    z1, z2 = _views(16, d=8, seed=25, dtype=dtype)
    z1.requires_grad_()
    z2.requires_grad_()
    loss = make_loss(name)(z1, z2)
    assert loss.dtype == dtype and loss.shape == ()
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(z1.grad).all() and z1.grad.abs().sum() > 0
    if name != "byol":  # BYOL's target branch is detached
        assert torch.isfinite(z2.grad).all() and z2.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "loss",
    [
        GCAInfoNCE(eps=0.4, n_iters=3),
        GCAInfoNCE(eps=0.4, n_iters=3, layout="joint", symmetric=True),
        GCARINCE(eps=0.4, n_iters=3, lam=0.3, q=0.7),
        GCAUOT(eps=0.4, n_iters=3, rho=0.5),
        GCAUOT(eps=0.4, n_iters=2, rho=0.5, layout="joint"),
    ],
    ids=["gca_ince", "gca_ince_joint", "gca_rince", "gca_uot", "gca_uot_joint"],
)
def test_gradcheck_float64(loss):
    z1, z2 = _views(5, d=3, seed=26)
    z1.requires_grad_()
    z2.requires_grad_()
    assert torch.autograd.gradcheck(loss, (z1, z2), eps=1e-6, atol=1e-7, rtol=1e-5)


# --------------------------------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------------------------------

LOSS_CLASSES = [InfoNCE, NTXent, GCAInfoNCE, RINCE, GCARINCE, UOT, GCAUOT, IOT, IOTUni]


@pytest.mark.parametrize("cls", LOSS_CLASSES + [BYOLLoss])
def test_bad_embeddings_raise(cls):
    loss = cls()
    z = torch.randn(4, 3)
    with pytest.raises(ValueError, match="z1 and z2"):
        loss(z, torch.randn(5, 3))
    with pytest.raises(ValueError, match="z1 and z2"):
        loss(z, torch.randn(4, 2))
    with pytest.raises(ValueError, match="batch size"):
        loss(torch.randn(1, 3), torch.randn(1, 3))
    with pytest.raises(ValueError, match="z1"):
        loss(torch.randn(4), torch.randn(4))
    bad = z.clone()
    bad[1, 2] = math.nan
    with pytest.raises(ValueError, match="z1.*NaN"):
        loss(bad, z)
    bad[1, 2] = math.inf
    with pytest.raises(ValueError, match="z2.*inf"):
        loss(z, bad)
    with pytest.raises(TypeError, match="z1"):
        loss(torch.ones(4, 3, dtype=torch.long), torch.ones(4, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="z1"):
        loss([[1.0, 2.0]], z)


@pytest.mark.parametrize("cls", LOSS_CLASSES)
@pytest.mark.parametrize("eps", [0.0, -0.5, math.nan, math.inf])
def test_bad_eps_raises(cls, eps):
    with pytest.raises(ValueError, match="eps"):
        cls(eps=eps)


@pytest.mark.parametrize("cls", [RINCE, GCARINCE, GCAUOT])
def test_bad_q_and_lam_raise(cls):
    for q in (0.0, 1.5, -0.2):
        with pytest.raises(ValueError, match=r"\bq\b"):
            cls(q=q)
    for lam in (-0.01, 0.0):
        with pytest.raises(ValueError, match="lam"):
            cls(lam=lam)
    cls(q=1.0)  # the closed end of (0, 1]


@pytest.mark.parametrize("cls", [UOT, GCAUOT])
def test_bad_rho_raises(cls):
    with pytest.raises(ValueError, match="rho"):
        cls(rho=-1.0)
    with pytest.raises(ValueError, match="rho_a"):
        GCALoss(rho_a=-0.1)
    with pytest.raises(ValueError, match="rho_b"):
        GCALoss(rho_b=-0.1)


def test_bad_constructor_arguments_raise():
    with pytest.raises(ValueError, match="n_iters"):
        GCAInfoNCE(n_iters=0)
    with pytest.raises(TypeError, match="n_iters"):
        GCAInfoNCE(n_iters=2.5)
    with pytest.raises(TypeError, match="n_iters"):
        InfoNCE(n_iters=3)  # fixed by the class
    with pytest.raises(TypeError, match="layout"):
        NTXent(layout="cross")
    with pytest.raises(ValueError, match="layout"):
        InfoNCE(layout="diagonal")
    with pytest.raises(ValueError, match="divergence"):
        GCALoss(divergence="l2")
    with pytest.raises(ValueError, match="lam_uniform"):
        IOTUni(lam_uniform=-1.0)


def test_make_loss_unknown_name_raises():
    with pytest.raises(ValueError, match="method 'nope'.*choose one of ince"):
        make_loss("nope")
    with pytest.raises(TypeError):
        make_loss("ince", not_a_parameter=1)


@pytest.mark.parametrize("layout", ["cross", "joint"])
def test_bad_target_raises(layout):
    b = 4
    z1, z2 = torch.randn(b, 3), torch.randn(b, 3)
    loss = GCAInfoNCE(n_iters=2, layout=layout)
    n = b if layout == "cross" else 2 * b
    with pytest.raises(ValueError, match="target"):
        loss(z1, z2, torch.eye(n + 1))
    with pytest.raises(ValueError, match="target"):
        loss(z1, z2, torch.ones(n))
    zero_row = torch.eye(n)
    zero_row[2] = 0.0
    with pytest.raises(ValueError, match="target.*zero"):
        loss(z1, z2, zero_row)
    neg = torch.eye(n)
    neg[0, 1] = -1.0
    with pytest.raises(ValueError, match="target"):
        loss(z1, z2, neg)
    with pytest.raises(TypeError, match="target"):
        loss(z1, z2, [[1.0]])
    with pytest.raises(ValueError, match="target"):
        BYOLLoss()(z1, z2, torch.eye(b))


# --------------------------------------------------------------------------------------------------
# details(): what the notebooks plot
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", LOSS_CLASSES)
@pytest.mark.parametrize("layout", ["cross", "joint"])
def test_details_consistent_with_forward(cls, layout):
    b, eps = 6, 0.4
    z1, z2 = _views(b, seed=27)
    kwargs = {} if cls is NTXent else {"layout": layout}
    loss = cls(eps=eps, **kwargs)
    out = loss.details(z1, z2)
    n = b if loss.layout == "cross" else 2 * b
    assert torch.equal(out.loss, loss(z1, z2))
    assert out.sim.shape == out.log_kernel.shape == out.log_plan.shape == out.target.shape == (n, n)
    assert out.log_u.shape == out.log_v.shape == (n,)
    # the plan is diag(u) K diag(v), the kernel exp(sim / eps) (self-pairs excluded in joint)
    assert torch.allclose(out.kernel, torch.exp(out.log_kernel))
    assert torch.allclose(out.plan, out.log_u.exp()[:, None] * out.kernel * out.log_v.exp()[None, :], rtol=1e-12)
    want_sim = _cos(z1, z2) if loss.layout == "cross" else _cos(torch.cat([z1, z2]), torch.cat([z1, z2]))
    mass = 1.0 if loss.marginals == "one" else 1.0 / n  # the default gives the W1 family masses 1/n
    assert torch.allclose(out.sim, want_sim, atol=1e-12)
    if loss.layout == "joint":
        assert torch.all(out.plan.diag() == 0) and torch.all(torch.isneginf(out.log_kernel.diag()))
        want_target = targets.joint_pairs(b, dtype=F64)
    else:
        want_target = torch.eye(b, dtype=F64)
    assert torch.allclose(out.target, want_target * mass, rtol=1e-15, atol=0)  # rows of mass a_i
    # solver: None for a single step, else the first t - 1 rounds (t for IOT, which ends on a column)
    rounds = loss.n_iters - 1 if loss.end == "row" else loss.n_iters
    if rounds == 0:
        assert out.solver is None
    else:
        assert out.solver.n_iters == rounds and out.solver.eps == eps
        assert torch.allclose(out.solver.log_b + out.solver.g / eps, out.log_v)
        if loss.end == "col":
            assert torch.allclose(out.solver.log_a + out.solver.f / eps, out.log_u)
    balanced = math.isinf(loss.rho_a)
    if balanced and loss.end == "row":
        assert torch.allclose(out.plan.sum(1), torch.full((n,), mass, dtype=F64), atol=1e-12)
    if balanced and loss.end == "col":
        assert torch.allclose(out.plan.sum(0), torch.full((n,), mass, dtype=F64), atol=1e-12)
    assert set(out.terms) <= {"kl", "w1", "uniform"} and out.terms


def test_details_custom_target_is_row_normalized_and_used():
    b = 6
    z1, z2 = _views(b, seed=28)
    tgt = targets.domain_prior(torch.tensor([0, 0, 0, 1, 1, 1]), 0.5, 0.1, dtype=F64)
    out = GCAInfoNCE(eps=0.5, n_iters=3).details(z1, z2, tgt)
    assert torch.allclose(out.target, tgt / tgt.sum(1, keepdim=True))
    logp = out.log_plan - torch.logsumexp(out.log_plan, 1, keepdim=True)
    t = out.target
    want = (torch.xlogy(t, t) - t * logp).sum(1).mean()
    assert abs(out.loss.item() - want.item()) < 1e-12
    assert out.loss.item() != GCAInfoNCE(eps=0.5, n_iters=3)(z1, z2).item()


def test_details_symmetric_loss_averages_directions():
    z1, z2 = _views(7, seed=29)
    loss = GCAUOT(eps=0.5, n_iters=3, symmetric=True)
    one = GCAUOT(eps=0.5, n_iters=3)
    out = loss.details(z1, z2)
    assert abs(out.loss.item() - (one(z1, z2) + one(z2, z1)).item() / 2) < 1e-12
    # the first direction's plan (both directions run as one batch: equal up to rounding), not the second's
    torch.testing.assert_close(out.plan, one.details(z1, z2).plan, atol=1e-15, rtol=0)
    assert (out.plan - one.details(z2, z1).plan).abs().max() > 1e-3


# --------------------------------------------------------------------------------------------------
# conventions: convention="reference" against the formulas of the authors' code (nerdslab/gca),
# written here in float64 on the authors' interleaved batch (rows 2k, 2k+1 = the two views of k)
# --------------------------------------------------------------------------------------------------


def _interleaved(z1, z2):
    return torch.stack([z1, z2], 1).reshape(2 * len(z1), -1)


def _ref_partner(n2):
    return torch.arange(n2) ^ 1  # 2k <-> 2k + 1


def _ref_cos(z, clamp=True):
    zn = z / z.norm(dim=1, keepdim=True)
    c = zn @ zn.T
    return c.clamp(min=1e-7) if clamp else c


def _ref_kernel(z, eps):
    """gca_loss_cifar.py ``base.gibs_kernel``: cost 1 - clamped cos, diagonal = max cost."""
    cost = 1 - _ref_cos(z)
    cost = torch.where(torch.eye(len(z), dtype=torch.bool), cost.max(), cost)
    return torch.exp(-cost / eps)


def _ce(logits, target):
    return (torch.logsumexp(logits, 1) - logits[torch.arange(len(logits)), target]).mean()


def _ref_ntxent(z, eps):
    logits = _ref_cos(z) / eps - 1e5 * torch.eye(len(z), dtype=z.dtype)
    return _ce(logits, _ref_partner(len(z)))


def _ref_hs_ince(z, eps):
    K = _ref_kernel(z, eps)
    P = K / K.sum(1, keepdim=True)
    return _ce(P.log(), _ref_partner(len(z)))


def _ref_gca_ince(z, eps, iters):
    K = _ref_kernel(z, eps)
    v = torch.ones(len(z), dtype=z.dtype)
    for _ in range(iters):
        u = 1 / (K @ v)
        v = 1 / (K.T @ u)
    return _ce((u[:, None] * K * v[None, :]).log(), _ref_partner(len(z)))


def _ref_rince_imagenet(z1, z2, eps, lam, q):
    """gca_loss_imagenet.py ``rince`` (block batch: rows k and k + N)."""
    z = torch.cat([z1, z2])
    zn = z / z.norm(dim=1, keepdim=True)
    sim = torch.exp(zn @ zn.T / eps)
    n2 = len(z)
    partner = (torch.arange(n2) + n2 // 2) % n2
    pos = sim[torch.arange(n2), partner]
    negmask = ~torch.eye(n2, dtype=torch.bool)
    negmask[torch.arange(n2), partner] = False
    neg = (sim * negmask).sum(1)
    return (-(pos**q) / q).mean() + ((lam * (pos + neg)) ** q / q).mean()


def _ref_uot_scalings(K, iters, f):
    """gca_loss_cifar.py ``gca_uot``'s loop with exponent ``f = rho / (rho + eps)`` (1: gca_rince's);
    its 1e-16 guards are below float64 resolution here."""
    n2 = len(K)
    a = torch.full((n2,), 1 / n2, dtype=K.dtype)
    v = a.clone()
    for _ in range(iters):
        u = (a / (K @ v)) ** f
        v = (a / (K.T @ u)) ** f
    return u, v


def _ref_w1(P, u, lam, q, fixed, target_entry=1.0):
    """gca_uot's W1 term per row; ``fixed=False`` keeps its broadcasting ``(P_tgt / u).sum(1)``.

    ``P_tgt`` has unit entries at the interleaved partners (``ids = arange(2N) // 2``, diagonal
    zeroed) in nerdslab/gca 81a2137 (current main); the earlier version divided it by ``2N``
    (``target_entry=1/2N``)."""
    n2 = len(P)
    partner = _ref_partner(n2)
    tgt = torch.zeros_like(P)
    tgt[torch.arange(n2), partner] = target_entry
    neg = tgt.sum(1) / u if fixed else (tgt / u).sum(1)  # (tgt / u) divides column j by u_j
    return -(P[torch.arange(n2), partner] / u) ** q / q + (lam * neg) ** q / q


def _ref_gca_uot(z, eps, iters, rho, lam, q, r2, fixed=False):
    K = _ref_kernel(z, eps)
    u, v = _ref_uot_scalings(K, iters, rho / (rho + eps))
    P = u[:, None] * K * v[None, :]
    kl = _ce(P.log(), _ref_partner(len(z)))
    return (r2 * _ref_w1(P, u, lam, q, fixed) + kl).mean()


def _ref_gca_rince(z, eps, iters, lam, q, fixed=False):
    """gca_rince's Sinkhorn plan (gca_loss_cifar.py, masses 1/2N) with gca_uot's W1 term."""
    K = _ref_kernel(z, eps)
    u, v = _ref_uot_scalings(K, iters, 1.0)
    P = u[:, None] * K * v[None, :]
    return _ref_w1(P, u, lam, q, fixed).mean()


@pytest.mark.parametrize("eps", [0.1, 0.5])
@pytest.mark.parametrize("seed", [0, 1])
def test_reference_convention_matches_authors_formulas(eps, seed):
    b = 12
    z1, z2 = _views(b, d=16, seed=40 + seed, clusters=3 * seed)
    z = _interleaved(z1, z2)
    lam, q, rho, t = 0.01, 0.6, 0.2, 10
    ref = dict(convention="reference", eps=eps)
    cases = {
        "simclr": (make_loss("simclr", **ref), _ref_ntxent(z, eps)),
        "ince": (make_loss("ince", **ref), _ref_hs_ince(z, eps)),
        "gca_ince": (make_loss("gca_ince", n_iters=t, **ref), _ref_gca_ince(z, eps, t)),
        "rince": (make_loss("rince", lam=lam, q=q, **ref), _ref_rince_imagenet(z1, z2, eps, lam, q)),
        "gca_rince": (make_loss("gca_rince", n_iters=t, lam=lam, q=q, **ref), _ref_gca_rince(z, eps, t, lam, q)),
        "uot": (make_loss("uot", rho=rho, lam=lam, q=q, **ref), _ref_gca_uot(z, eps, 1, rho, lam, q, 0.2)),
        "gca_uot": (make_loss("gca_uot", n_iters=t, rho=rho, lam=lam, q=q, w1_weight=0.2, **ref),
                    _ref_gca_uot(z, eps, t, rho, lam, q, 0.2)),
    }
    for name, (loss, want) in cases.items():
        got = loss(z1, z2).item()
        assert abs(got - want.item()) <= 1e-6 * max(1.0, abs(want.item())), (name, got, want.item())


def test_reference_earlier_target_scaling_is_lam_over_2n():
    """The authors' earlier gca_uot (target divided by 2N) is the current one with lam / 2N: reachable as
    ``convention="reference", lam=lam / (2N)`` (docs/reference_implementation.md, item 31)."""
    b, eps, lam, q, t = 8, 0.4, 0.01, 0.6, 5
    z1, z2 = _views(b, d=16, seed=47)
    z = _interleaved(z1, z2)
    K = _ref_kernel(z, eps)
    for name, f in (("gca_uot", 0.2 / (0.2 + eps)), ("gca_rince", 1.0)):
        u, v = _ref_uot_scalings(K, t, f)
        P = u[:, None] * K * v[None, :]
        earlier = _ref_w1(P, u, lam, q, True, target_entry=1.0 / (2 * b)).mean()
        current = _ref_w1(P, u, lam, q, True).mean()
        assert abs(earlier.item() - current.item()) > 1e-3  # the change is not a no-op
        kw = dict(convention="reference", eps=eps, n_iters=t, q=q)
        if name == "gca_uot":
            kw.update(rho=0.2, kl_weight=0.0, w1_weight=1.0)
        got = make_loss(name, lam=lam / (2 * b), **kw)(z1, z2)
        assert abs(got.item() - earlier.item()) < 1e-12


def test_reference_broadcasting_bug_does_not_change_the_mean():
    """``(P_tgt / u).sum(1)`` reads ``u`` of the partner; averaged over rows (a permutation) it is the same."""
    z1, z2 = _views(10, d=16, seed=45)
    z = _interleaved(z1, z2)
    for eps in (0.1, 0.5):
        bug = _ref_gca_uot(z, eps, 10, 0.2, 0.01, 0.6, 0.2, fixed=False)
        fixed = _ref_gca_uot(z, eps, 10, 0.2, 0.01, 0.6, 0.2, fixed=True)
        assert abs(bug.item() - fixed.item()) < 1e-12


def test_chuang_convention_is_exact_rince_and_default_is_a_rescaling():
    """Default (cost 1 - cos, masses 1/n): RINCE = n^-q e^{-q/eps} x Chuang's RINCE, same lam and q."""
    b, eps, lam, q = 9, 0.5, 0.01, 0.6
    z1, z2 = _views(b, seed=46)
    chuang = RINCE(eps=eps, lam=lam, q=q, convention="chuang")(z1, z2)
    assert abs(chuang.item() - _rince_closed_form(z1, z2, eps, lam, q).item()) < 1e-12
    default = RINCE(eps=eps, lam=lam, q=q)(z1, z2)
    assert abs(default.item() - b ** (-q) * math.exp(-q / eps) * chuang.item()) < 1e-12


@pytest.mark.parametrize("cls", [RINCE, GCARINCE, UOT, GCAUOT])
def test_convention_defaults_and_explicit_knobs(cls):
    loss = cls()
    assert loss.convention == "gca" and loss.cost == "1-cos" and loss.marginals == "uniform"
    assert loss.self_pairs == "mask" and not loss.clamp_similarity and loss.layout == "cross"
    ref = cls(convention="reference")
    assert ref.layout == "joint" and ref.end in ("row", "col")
    assert cls(convention="reference", layout="cross", clamp_similarity=False).layout == "cross"
    assert cls(convention="chuang").cost == "-cos" and cls(convention="chuang").marginals == "one"
    with pytest.raises(ValueError, match="convention"):
        cls(convention="authors")


@pytest.mark.parametrize("t", [1, 2, 5])
@pytest.mark.parametrize("rho", [0.2, 2.0])
def test_uniform_marginals_relaxed_update_is_the_dense_formula(t, rho):
    """marginals="uniform", finite rho: u <- (a / K v)^phi, v <- (b / K^T u)^phi from v = b (dense)."""
    b, eps, lam, q = 10, 0.5, 0.01, 0.6
    z1, z2 = _views(b, seed=47)
    K = torch.exp((_cos(z1, z2) - 1) / eps)
    a = torch.full((b,), 1 / b, dtype=F64)
    phi = rho / (rho + eps)
    v = a.clone()
    u = (a / (K @ v)) ** phi
    for _ in range(t - 1):
        v = (a / (K.T @ u)) ** phi
        u = (a / (K @ v)) ** phi
    P = u[:, None] * K * v[None, :]
    out = GCAUOT(eps=eps, n_iters=t, rho=rho, lam=lam, q=q).details(z1, z2)
    assert torch.allclose(out.plan, P, rtol=1e-11, atol=0)
    w1 = (-(K.diag() * v) ** q / q + (lam * a / u) ** q / q).mean()
    assert abs(out.terms["w1"].item() - w1.item()) < 1e-12


# --------------------------------------------------------------------------------------------------
# no silent NaN: small eps in float32, half precision, degenerate embeddings
# --------------------------------------------------------------------------------------------------


def _degenerate_views(kind, b=128, d=64):
    g = torch.Generator().manual_seed(48)
    x = torch.randn(b, d, generator=g)
    if kind == "random":
        return x + 0.3 * torch.randn(b, d, generator=g), x + 0.3 * torch.randn(b, d, generator=g)
    if kind == "collapsed":  # every cosine about 1: the largest kernel entries
        return torch.ones(b, d) + 1e-3 * torch.randn(b, d, generator=g), torch.ones(b, d) + 1e-3 * torch.randn(b, d, generator=g)
    return x, -x  # positives antipodal


@pytest.mark.parametrize("convention", ["gca", "reference", "chuang"])
@pytest.mark.parametrize("eps", [1e-3, 3e-3, 1e-2])
@pytest.mark.parametrize("name", [n for n in METHODS if n != "byol"])
def test_small_eps_float32_finite_or_refused(name, eps, convention):
    loss = make_loss(name, eps=eps, convention=convention)
    for kind in ("random", "collapsed", "antipodal"):
        z1, z2 = (z.requires_grad_() for z in _degenerate_views(kind))
        n = len(z1) if loss.layout == "cross" else 2 * len(z1)
        safe = loss.smallest_safe_eps(n, torch.float32)
        if eps < safe:
            with pytest.raises(ValueError, match=rf"eps={eps}.*float32.*eps >= {safe:.4g}"):
                loss(z1, z2)
            continue
        value = loss(z1, z2)
        value.backward()
        assert torch.isfinite(value), (kind, value)
        assert torch.isfinite(z1.grad).all() and torch.isfinite(z2.grad).all(), kind


@pytest.mark.parametrize("name", ["rince", "gca_rince", "uot", "gca_uot"])
def test_refusal_threshold_is_tight_enough(name):
    """Just above the documented smallest safe eps the -cos W1 losses are finite in float32."""
    loss = make_loss(name, convention="chuang")
    safe = loss.smallest_safe_eps(128, torch.float32)
    assert 1e-3 < safe < 0.02
    loss = make_loss(name, convention="chuang", eps=1.01 * safe)
    for kind in ("random", "collapsed"):
        z1, z2 = (z.requires_grad_() for z in _degenerate_views(kind))
        value = loss(z1, z2)
        value.backward()
        assert torch.isfinite(value) and torch.isfinite(z1.grad).all(), kind
    assert make_loss(name).smallest_safe_eps(128, torch.float32) == 0.0  # cost 1 - cos: K <= 1


@pytest.mark.parametrize("half", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("name", list(METHODS))
def test_half_precision_inputs_computed_in_float32(name, half):
    z1, z2 = _degenerate_views("random", b=64)
    z1, z2 = z1.to(half), z2.to(half)
    kw = {} if name == "byol" else {"eps": 0.05}
    loss = make_loss(name, **kw)
    got = loss(z1, z2)
    want = loss(z1.float(), z2.float())
    assert got.dtype == torch.float32
    assert abs(got.item() - want.item()) <= 1e-4 * max(1.0, abs(want.item()))
    with torch.autocast("cpu", dtype=torch.bfloat16):  # autocast must not re-enter half precision
        under = loss(z1.float(), z2.float())
    assert under.dtype == torch.float32 and abs(under.item() - want.item()) <= 1e-4 * max(1.0, abs(want.item()))


@pytest.mark.parametrize("scale", [1e-30, 1e30])
def test_extreme_norms_give_the_unit_norm_cosines(scale):
    z1, z2 = _degenerate_views("random", b=16)
    loss = GCAInfoNCE(eps=0.2)
    want = loss.details(z1, z2)
    got = loss.details(z1 * scale, z2 * scale)
    assert torch.allclose(got.sim, want.sim, atol=1e-6)
    assert abs(got.loss.item() - want.loss.item()) < 1e-5


def test_zero_rows_error_or_documented_zero_cosine():
    z1, z2 = _degenerate_views("random", b=8)
    z1[3] = 0
    with pytest.raises(ValueError, match="z1 has an all-zero row"):
        InfoNCE()(z1, z2)
    out = InfoNCE(check_inputs=False).details(z1, z2)  # documented: cosine 0 with every row
    assert torch.isfinite(out.loss) and torch.all(out.sim[3] == 0)


# --------------------------------------------------------------------------------------------------
# gradient modes and the one-softmax path
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["cross", "joint"])
def test_one_step_path_equals_generic_composition(layout):
    z1, z2 = _views(9, seed=49)
    for cls in (InfoNCE, GCAInfoNCE, RINCE, GCARINCE, UOT, GCAUOT):
        loss = cls(eps=0.3, layout=layout)
        out = loss.details(z1, z2)
        kl = loss.kl_term(out.log_plan, out.target) if "kl" in out.terms else None
        w1 = loss.w1_term(out.log_kernel, out.log_u, out.log_v, loss._marginal(len(out.sim), out.sim), out.target) \
            if "w1" in out.terms else None
        if kl is not None:
            assert abs(out.terms["kl"].item() - kl.item()) < 1e-12, cls
        if w1 is not None:
            assert abs(out.terms["w1"].item() - w1.item()) < 1e-12, cls
    logits = _joint_logits(z1, z2, 0.3) if layout == "joint" else _cos(z1, z2) / 0.3
    target = _partner(9) if layout == "joint" else torch.arange(9)
    assert abs(InfoNCE(eps=0.3, layout=layout)(z1, z2).item() - F.cross_entropy(logits, target).item()) < 1e-12


@pytest.mark.parametrize("cls", [GCAInfoNCE, GCAUOT])
def test_detached_gradient_error_reported_and_small_at_convergence(cls):
    """Detached scalings: gradient exact up to the marginal error that details() reports."""
    b, eps = 12, 0.5
    z1, z2 = _views(b, seed=50)
    grads, errors = {}, {}
    for grad, t in (("unroll", 10), ("detached", 10), ("unroll", 60), ("detached", 60)):
        a = z1.clone().requires_grad_()
        out = cls(eps=eps, n_iters=t, grad=grad, layout="joint").details(a, z2)
        out.loss.backward()
        grads[grad, t], errors[grad, t] = a.grad, out.marginal_error.item()
        assert not out.marginal_error.requires_grad
    assert errors["unroll", 10] == errors["detached", 10]  # same plan, same error
    if cls is GCAInfoNCE:
        assert errors["unroll", 60] < 1e-12
        assert torch.allclose(grads["unroll", 60], grads["detached", 60], atol=1e-10)
        diff10 = (grads["unroll", 10] - grads["detached", 10]).norm().item()
        assert diff10 < 10 * errors["unroll", 10] * grads["unroll", 10].norm().item() + 1e-12


# --------------------------------------------------------------------------------------------------
# process environment: importing gca_lab keeps OpenMP threads from spinning
# --------------------------------------------------------------------------------------------------


def _run_python(code: str, *args: str) -> "subprocess.CompletedProcess[str]":
    import os
    import pathlib
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = str(pathlib.Path(__file__).resolve().parents[1])
    return subprocess.run([sys.executable, *args, "-c", code] if code else [sys.executable, *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_import_sets_passive_openmp_before_torch_loads():
    res = _run_python("import gca_lab, os, sys; assert 'torch' in sys.modules; print(os.environ['OMP_WAIT_POLICY'])")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "PASSIVE"
    # a user's own choice is kept
    res = _run_python("import os; os.environ['OMP_WAIT_POLICY'] = 'ACTIVE'; import gca_lab; print(os.environ['OMP_WAIT_POLICY'])")
    assert res.stdout.strip() == "ACTIVE"


def test_import_after_torch_warns():
    res = _run_python("import warnings; warnings.simplefilter('always'); import torch, gca_lab")
    assert res.returncode == 0, res.stderr
    assert "RuntimeWarning" in res.stderr and "OMP_WAIT_POLICY=PASSIVE" in res.stderr


def test_command_line_runs_with_passive_openmp():
    code = ("import os, runpy, sys; sys.argv = ['gca_lab', '--help']\n"
            "try:\n    runpy.run_module('gca_lab', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('POLICY', os.environ['OMP_WAIT_POLICY'])")
    res = _run_python(code)
    assert res.returncode == 0, res.stderr
    assert "POLICY PASSIVE" in res.stdout


@pytest.mark.parametrize("layout", ["cross", "joint"])
@pytest.mark.parametrize("name", ["ince", "simclr", "gca_ince", "iot", "iot_uni"])
def test_kl_losses_do_not_depend_on_the_convention_cost(name, layout):
    """The cost offset (1 - cos vs -cos) cancels in every KL loss: "gca" equals "chuang"."""
    z1, z2 = _views(9, seed=51)
    kw = {} if name == "simclr" else {"layout": layout}
    a = make_loss(name, convention="gca", **kw)(z1, z2)
    b = make_loss(name, convention="chuang", **kw)(z1, z2)
    assert abs(a.item() - b.item()) < 1e-12


def test_train_config_passes_the_convention():
    from gca_lab.train import TrainConfig, build_loss

    loss = build_loss(TrainConfig(method="gca_uot", loss_options={"convention": "chuang"}))
    assert loss.convention == "chuang" and loss.cost == "-cos" and loss.layout == "cross"
    assert build_loss(TrainConfig(method="gca_uot")).convention == "gca"


# --------------------------------------------------------------------------------------------------
# kernel-domain path (cosines -> one exp -> matrix-vector rounds) against the log-domain composition
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,kwargs", [
    ("gca_ince", {}), ("gca_ince", {"layout": "joint"}), ("gca_ince", {"convention": "reference"}),
    ("gca_ince", {"convention": "chuang", "layout": "joint"}), ("gca_rince", {"lam": 0.3, "q": 0.7}),
    ("gca_uot", {}), ("gca_uot", {"layout": "joint"}), ("gca_uot", {"convention": "reference"}),
    ("gca_uot", {"convention": "chuang", "rho": 0.7}), ("uot", {"layout": "joint"}), ("rince", {}),
    ("gca_ince", {"symmetric": True, "n_iters": 3}), ("gca_uot", {"symmetric": True}),
    ("uot", {"symmetric": True}),
])
@pytest.mark.parametrize("grad", ["unroll", "detached"])
def test_kernel_path_equals_log_domain_float64(monkeypatch, name, kwargs, grad):
    """The kernel-domain path of the losses (no n x n log kernel, plan or log-sum-exp; backward one
    (n x 2t) @ (2t x n) product) gives the values, gradients and details() parts of the log-domain
    composition with unrolled autograd, in float64, in both layouts and all conventions."""
    kwargs = {"eps": 0.4, "n_iters": 4, **kwargs} if name not in ("uot", "rince") else {"eps": 0.4, **kwargs}
    z1, z2 = _views(10, d=5, seed=61)
    out, grads = {}, {}
    for domain in ("kernel", "log"):
        monkeypatch.setattr(GCALoss, "_domain", lambda self, t, d=domain: d)
        loss = make_loss(name, grad=grad, **kwargs)
        a, b = z1.clone().requires_grad_(), z2.clone().requires_grad_()
        out[domain] = loss.details(a, b)
        out[domain].loss.backward()
        grads[domain] = (a.grad, b.grad)
    k, lg = out["kernel"], out["log"]
    assert callable(k.parts["solver"]) and not callable(lg.parts["solver"])  # the path each took
    torch.testing.assert_close(k.loss, lg.loss, atol=1e-13, rtol=1e-12)
    torch.testing.assert_close(k.sim, lg.sim, atol=1e-14, rtol=0)
    assert k.terms.keys() == lg.terms.keys()
    for term in k.terms:
        torch.testing.assert_close(k.terms[term], lg.terms[term], atol=1e-13, rtol=1e-12)
    for i in range(2):
        torch.testing.assert_close(grads["kernel"][i], grads["log"][i], atol=1e-13, rtol=1e-11)
    for part in ("log_u", "log_v", "log_plan", "log_kernel"):
        torch.testing.assert_close(getattr(k, part), getattr(lg, part), atol=1e-12, rtol=1e-12)
    assert abs(k.marginal_error.item() - lg.marginal_error.item()) < 1e-12
    assert (k.solver is None) == (lg.solver is None)
    if k.solver is not None:
        assert k.solver.n_iters == lg.solver.n_iters
        torch.testing.assert_close(k.solver.errors, lg.solver.errors, atol=1e-12, rtol=1e-10)
        torch.testing.assert_close(k.solver.log_plan, lg.solver.log_plan, atol=1e-12, rtol=1e-12)
