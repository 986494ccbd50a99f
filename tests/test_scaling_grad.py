"""The custom-backward rounds (gca_lab/scaling_grad.py) and the tiled backend of the losses.

Oracles: the dense composition of the losses (``backend="dense"``: stored kernel, or the log domain
with unrolled autograd), float64 gradcheck of the tiled function, and a dispatch-level record of
every tensor the tiled backend creates (none has ``n x m`` entries).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from gca_lab import losses as L
from gca_lab.methods import make_loss
from gca_lab.projection import relaxation_exponent
from gca_lab.scaling_grad import kernel_scaling_rounds, tiled_scaling_rounds

F64 = torch.float64

CASES = [
    ("ince", {}), ("simclr", {}), ("gca_ince", {}), ("gca_ince", {"layout": "joint"}),
    ("gca_ince", {"n_iters": 3, "symmetric": True}), ("gca_ince", {"grad": "detached"}),
    ("rince", {}), ("gca_rince", {"lam": 0.3, "q": 0.7}), ("uot", {}), ("uot", {"layout": "joint"}),
    ("gca_uot", {}), ("gca_uot", {"layout": "joint"}), ("gca_uot", {"symmetric": True}),
    ("gca_uot", {"convention": "chuang", "rho": 0.7}), ("ince", {"symmetric": True}),
]


def _views(n: int, d: int, seed: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, d, generator=g, dtype=F64)
    return ((z + 0.4 * torch.randn(n, d, generator=g, dtype=F64)).to(dtype),
            (z + 0.4 * torch.randn(n, d, generator=g, dtype=F64)).to(dtype))


def _loss_and_grads(loss: torch.nn.Module, z1: torch.Tensor, z2: torch.Tensor):
    a, b = z1.clone().requires_grad_(), z2.clone().requires_grad_()
    value = loss(a, b)
    value.backward()
    return value.detach(), a.grad, b.grad


@pytest.mark.parametrize("name,kwargs", CASES)
@pytest.mark.parametrize("dtype,tol", [(F64, 1e-10), (torch.float32, 1e-5)])
def test_tiled_equals_dense(name, kwargs, dtype, tol):
    """Loss and gradients of the tiled backend equal the dense path (1e-10 float64, 1e-5 float32),
    with blocks that do not divide the batch."""
    z1, z2 = _views(37, 6, seed=3, dtype=dtype)
    dense = _loss_and_grads(make_loss(name, backend="dense", eps=0.4, **kwargs), z1, z2)
    tiled = _loss_and_grads(make_loss(name, backend="tiled", tile=5, eps=0.4, **kwargs), z1, z2)
    for want, got in zip(dense, tiled):
        torch.testing.assert_close(got, want, atol=tol, rtol=tol)


def test_tiled_details_are_the_dense_ones():
    """details() of a tiled loss computes the n x m parts on access, equal to the dense ones."""
    z1, z2 = _views(12, 5, seed=4, dtype=F64)
    t = make_loss("gca_uot", backend="tiled", tile=4).details(z1, z2)
    d = make_loss("gca_uot", backend="dense").details(z1, z2)
    assert callable(t.parts["sim"])  # not formed by the loss itself
    for part in ("sim", "log_kernel", "log_u", "log_v", "log_plan", "target"):
        torch.testing.assert_close(getattr(t, part), getattr(d, part), atol=1e-12, rtol=1e-12)
    assert abs(t.marginal_error.item() - d.marginal_error.item()) < 1e-12
    torch.testing.assert_close(t.solver.log_plan, d.solver.log_plan, atol=1e-12, rtol=1e-12)


class _Shapes(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


@pytest.mark.parametrize("name,kwargs", [("gca_ince", {"layout": "joint"}), ("gca_uot", {}), ("simclr", {})])
def test_tiled_never_holds_an_n_by_n_tensor(name, kwargs):
    """Forward and backward of the tiled backend create no tensor with n x n entries: the largest is a
    block of tile x n or the (n x (2t + 1)) gradient factors, two per half-step with a masked diagonal
    (dispatch-level record of every operator's output)."""
    n, d, tile = 128, 4, 8
    z1, z2 = _views(n // 2 if kwargs.get("layout") == "joint" or name == "simclr" else n, d, seed=5, dtype=F64)
    loss = make_loss(name, backend="tiled", tile=tile, check_inputs=False, **kwargs)
    a, b = z1.clone().requires_grad_(), z2.clone().requires_grad_()
    with _Shapes() as rec:
        loss(a, b).backward()
    assert rec.largest <= max(tile * n, n * (4 * loss.n_iters + 2)) < n * n
    with _Shapes() as dense:
        make_loss(name, backend="dense", check_inputs=False, **kwargs)(a, b).backward()
    assert dense.largest >= n * n  # the record sees the dense path's kernel


def test_auto_backend_tiles_above_the_threshold(monkeypatch):
    z1, z2 = _views(16, 4, seed=6, dtype=F64)
    loss = make_loss("gca_ince")
    assert not callable(loss.details(z1, z2).parts["sim"])
    monkeypatch.setattr(L, "AUTO_TILED_ENTRIES", 16 * 16 - 1)
    assert callable(loss.details(z1, z2).parts["sim"])
    # a loss the tiled backend cannot compute stays dense under "auto"
    assert not callable(make_loss("gca_ince", convention="reference").details(z1, z2).parts["sim"])


@pytest.mark.parametrize("kwargs,match", [
    ({"convention": "reference"}, "clamped"), ({"eps": 0.02}, "eps=0.02"), ({"grad": "last_step"}, "grad"),
])
def test_tiled_refuses_what_it_cannot_compute(kwargs, match):
    z1, z2 = _views(8, 4, seed=7, dtype=torch.float32)
    with pytest.raises(ValueError, match=match):
        make_loss("gca_ince", backend="tiled", **kwargs)(z1, z2)
    with pytest.raises(ValueError, match="target"):
        make_loss("gca_ince", backend="tiled")(z1, z2, torch.eye(8))
    with pytest.raises(ValueError, match="tile"):
        make_loss("gca_ince", backend="tiled", tile=0)
    with pytest.raises(ValueError, match="backend"):
        make_loss("gca_ince", backend="sparse")


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("rho", [math.inf, 0.5])
def test_tiled_rounds_equal_stored_kernel_rounds_and_gradcheck(masked, rho):
    """tiled_scaling_rounds equals kernel_scaling_rounds on the same log kernel (values and gradients
    of f, g, r), and passes gradcheck in float64."""
    g = torch.Generator().manual_seed(8)
    x = torch.nn.functional.normalize(torch.randn(9, 3, generator=g, dtype=F64), dim=1)
    y = x if masked else torch.nn.functional.normalize(torch.randn(9, 3, generator=g, dtype=F64), dim=1)
    eps = 0.5
    log_a = torch.full((9,), -math.log(9), dtype=F64) * relaxation_exponent(rho, eps)
    log_b, g0 = log_a.clone(), torch.zeros(9, dtype=F64)
    kw = dict(eps=eps, rho_a=rho, rho_b=rho, iters=3, masked=masked, scale=1 / eps, offset=-1 / eps)
    weights = [torch.randn(9, generator=g, dtype=F64) for _ in range(3)]

    def tiled(xx, yy):
        f, gg, r, _ = tiled_scaling_rounds(xx, yy, log_a, log_b, g0, shift=0.0, tile=4, **kw)
        return (f * weights[0]).sum() + (gg * weights[1]).sum() + (r * weights[2]).sum()

    def stored(xx, yy):
        f, gg, r, _ = kernel_scaling_rounds(xx @ yy.T, log_a, log_b, g0, shift=0.0, **kw)
        return (f * weights[0]).sum() + (gg * weights[1]).sum() + (r * weights[2]).sum()

    xs = [x.clone().requires_grad_(), y.clone().requires_grad_()]
    xd = [x.clone().requires_grad_(), y.clone().requires_grad_()]
    vt, vd = tiled(*xs), stored(*xd)
    vt.backward()
    vd.backward()
    torch.testing.assert_close(vt, vd, atol=1e-12, rtol=1e-12)
    for a, b in zip(xs, xd):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-12, rtol=1e-12)
    assert torch.autograd.gradcheck(tiled, (x.clone().requires_grad_(), y.clone().requires_grad_()))
