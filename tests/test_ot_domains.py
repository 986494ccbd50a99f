"""The kernel-domain fast path of ``sinkhorn`` equals the log-domain path, and is used only when safe."""

from __future__ import annotations

import math

import pytest
import torch

from gca_lab.ot import kernel_domain_is_safe, sinkhorn


def _cost(n: int, m: int, seed: int, dtype=torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.normalize(torch.randn(n, 16, generator=g, dtype=dtype), dim=1)
    y = torch.nn.functional.normalize(torch.randn(m, 16, generator=g, dtype=dtype), dim=1)
    return 1 - x @ y.T


@pytest.mark.parametrize("rho", [math.inf, 0.3])
@pytest.mark.parametrize("eps", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("grad", ["unroll", "last_step"])
def test_kernel_domain_matches_log_domain(eps: float, rho: float, grad: str) -> None:
    cost = _cost(12, 9, seed=int(eps * 10)).requires_grad_(True)
    a = torch.rand(12, dtype=torch.float64) + 0.1
    b = torch.rand(9, dtype=torch.float64) + 0.1
    outs = {}
    for domain in ("log", "kernel"):
        res = sinkhorn(cost, a, b, eps=eps, rho_a=rho, rho_b=rho, n_iters=20, grad=grad, domain=domain)
        (grad_c,) = torch.autograd.grad((res.plan * cost).sum(), cost)
        outs[domain] = (res.plan.detach(), res.f.detach(), res.errors.detach(), grad_c)
    for x, y in zip(outs["log"], outs["kernel"]):
        torch.testing.assert_close(x, y, rtol=1e-10, atol=1e-12)


def test_auto_picks_kernel_only_when_no_product_can_underflow() -> None:
    cost = _cost(8, 8, seed=0, dtype=torch.float32)
    assert kernel_domain_is_safe(-cost / 0.5)
    assert not kernel_domain_is_safe(-cost / 0.01)  # range 200 nats: the log domain is required
    masked = cost.clone()
    masked.fill_diagonal_(math.inf)
    assert not kernel_domain_is_safe(-masked / 0.5)  # excluded pairs: the bound needs full support
    assert not kernel_domain_is_safe((-cost / 0.5).half())


def test_auto_domain_is_float32_safe_at_tiny_eps() -> None:
    cost = _cost(256, 256, seed=1, dtype=torch.float32)
    res = sinkhorn(cost, eps=1e-3, n_iters=30)  # auto must fall back to the log domain here
    assert torch.isfinite(res.plan).all() and torch.isfinite(res.f).all()
    with pytest.raises(ValueError, match="domain"):
        sinkhorn(cost, eps=0.1, domain="fast")
