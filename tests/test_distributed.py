"""Gloo tests (CPU, R = 2 and R = 4 processes) of ``gather_distributed=True`` (docs/architecture.md, "Tests").

Each rank holds 1/R of the batch. With ``gather_distributed=True`` every rank computes its rows of
the plan of the *whole* batch (gca_lab/sharding.py; losses it does not cover gather the embeddings
and compute the whole plan on every rank), and the loss is summed over ranks, so:

- the loss on each rank equals the single-process loss on the concatenated batch;
- the gradient reaching a rank's own embeddings is ``world_size`` times the single-process one:
  every rank backpropagates the same all-reduced loss, and the autograd-aware collectives
  (gca_lab/collectives.py) send each rank the sum of the ranks' gradients, so rank ``r``'s slice
  receives ``sum_ranks dL/dz_r = world_size * dL/dz_r``;
- DDP averages parameter gradients over ranks, which cancels that factor: the parameter
  gradients of a shared model equal those of one process on the concatenated batch (lightly-ai/lightly
  issues 1528 and 1977: a gathered loss whose gradients were off by the world size).
"""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from gca_lab.losses import GCAUOT, GCARINCE, IOT, RINCE, UOT, GCAInfoNCE, GCALoss, InfoNCE, NTXent, gather

WORLDS = (2, 4)
PER_RANK = 3
D_IN, D_OUT = 6, 4
F64 = torch.float64

CASES = {
    "gca_ince": lambda **kw: GCAInfoNCE(eps=0.4, n_iters=4, **kw),
    "gca_ince_joint": lambda **kw: GCAInfoNCE(eps=0.4, n_iters=3, layout="joint", **kw),
    "gca_uot": lambda **kw: GCAUOT(eps=0.4, n_iters=4, rho=0.5, **kw),
    "gca_uot_sym": lambda **kw: GCAUOT(eps=0.3, n_iters=3, rho=1.0, symmetric=True, **kw),
    "ince": lambda **kw: InfoNCE(eps=0.4, **kw),
    "simclr": lambda **kw: NTXent(eps=0.4, **kw),
    "rince": lambda **kw: RINCE(eps=0.4, **kw),
    "gca_rince_joint": lambda **kw: GCARINCE(eps=0.4, n_iters=3, layout="joint", lam=0.3, **kw),
    "uot": lambda **kw: UOT(eps=0.4, rho=0.5, **kw),
    "gca_ince_detached": lambda **kw: GCAInfoNCE(eps=0.4, n_iters=3, grad="detached", **kw),
    "gca_uot_reference": lambda **kw: GCAUOT(eps=0.4, n_iters=3, convention="reference", **kw),
    "gca_uot_tiled": lambda **kw: GCAUOT(eps=0.4, n_iters=3, rho=0.5, backend="tiled", tile=2, **kw),
    "gca_ince_sym_tiled": lambda **kw: GCAInfoNCE(eps=0.4, n_iters=3, symmetric=True, backend="tiled", tile=2, **kw),
    "iot_gathered": lambda **kw: IOT(eps=0.4, n_iters=3, **kw),  # not sharded: the whole plan per rank
}
SHARDED = set(CASES) - {"iot_gathered"}


def _data(world: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(world * PER_RANK, D_IN, generator=g, dtype=F64)
    x1 = x + 0.3 * torch.randn(x.shape, generator=g, dtype=F64)
    x2 = x + 0.3 * torch.randn(x.shape, generator=g, dtype=F64)
    return x1, x2


def _model() -> nn.Linear:
    torch.manual_seed(1)  # the same initialization on every rank and in the single process
    return nn.Linear(D_IN, D_OUT, dtype=F64)


def _step(model: nn.Module, x1: torch.Tensor, x2: torch.Tensor, loss_fn: nn.Module):
    n = len(x1)
    z = model(torch.cat([x1, x2]))  # one forward through the (DDP) model
    z.retain_grad()
    out = loss_fn.details(z[:n], z[n:])
    out.loss.backward()
    return out.loss.detach(), z.grad.detach(), out.sim.shape[0]


def _worker(rank: int, world: int, init: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        x1, x2 = _data(world)
        sl = slice(rank * PER_RANK, (rank + 1) * PER_RANK)
        results = {}
        for name, make in CASES.items():
            model = _model()
            ddp = nn.parallel.DistributedDataParallel(model)
            loss, zgrad, rows = _step(ddp, x1[sl], x2[sl], make(gather_distributed=True))
            results[name] = {
                "loss": loss,
                "rows": rows,
                "z_grad": zgrad,
                "w_grad": model.weight.grad.detach().clone(),
                "b_grad": model.bias.grad.detach().clone(),
            }
        torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))
        dist.barrier()  # rank 0 hosts the store: tearing it down while rank 1 still talks aborts rank 1
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", params=WORLDS, ids=lambda w: f"R{w}")
def ranks(request, tmp_path_factory):
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    world = request.param
    out = tmp_path_factory.mktemp(f"dist{world}")
    init = f"tcp://127.0.0.1:{_free_port()}"
    mp.spawn(_worker, args=(world, init, str(out)), nprocs=world, join=True)
    return [torch.load(out / f"rank{r}.pt") for r in range(world)]


def _single(name: str, world: int):
    x1, x2 = _data(world)
    model = _model()
    loss, zgrad, rows = _step(model, x1, x2, CASES[name]())
    return loss, zgrad, model.weight.grad, model.bias.grad, rows


@pytest.mark.parametrize("name", list(CASES))
def test_gathered_loss_and_gradients_match_single_process(ranks, name):
    WORLD = len(ranks)
    loss, zgrad, wgrad, bgrad, rows_single = _single(name, WORLD)
    n = PER_RANK * WORLD
    for rank, res in enumerate(ranks):
        r = res[name]
        # sharded: each rank holds 1/R of the plan's rows
        assert r["rows"] == (rows_single // WORLD if name in SHARDED else rows_single)
        # the loss of the whole (gathered) batch, on every rank
        assert abs(r["loss"].item() - loss.item()) < 1e-12
        # DDP's average cancels the gather's summed backward: the single-process parameter gradients
        assert torch.allclose(r["w_grad"], wgrad, rtol=1e-10, atol=1e-13)
        assert torch.allclose(r["b_grad"], bgrad, rtol=1e-10, atol=1e-13)
        # this rank's embeddings (its view-1 rows, then its view-2 rows) get world_size x the gradient
        rows = torch.cat([torch.arange(rank * PER_RANK, (rank + 1) * PER_RANK),
                          n + torch.arange(rank * PER_RANK, (rank + 1) * PER_RANK)])
        assert torch.allclose(r["z_grad"], WORLD * zgrad[rows], rtol=1e-10, atol=1e-13)


def test_gather_is_identity_without_process_group():
    z = torch.randn(3, 2)
    assert gather(z) is z


@pytest.mark.parametrize("domain", ["kernel", "log"])
@pytest.mark.parametrize("name", sorted(SHARDED))
def test_sharded_code_path_in_one_process_equals_the_loss(monkeypatch, name, domain):
    """The sharded path run by one process (the collectives are identities) is the loss itself, on the
    stored local kernel, the tiled kernel and the log kernel (the small-eps fallback), values and gradients."""
    monkeypatch.setattr(GCALoss, "_domain", lambda self, t, d=domain: d)
    x1, x2 = _data(2)
    if domain == "log" and name.endswith("_tiled"):  # the tiled backend needs the kernel domain
        with pytest.raises(ValueError, match="backend='tiled'"):
            CASES[name]()._sharded(x1, x2)
        return
    want = _single(name, 2)
    model = _model()
    n = len(x1)
    z = model(torch.cat([x1, x2]))
    z.retain_grad()
    loss_fn = CASES[name]()
    loss = loss_fn._sharded(z[:n], z[n:]).loss
    loss.backward()
    assert abs(loss.item() - want[0].item()) < 1e-12
    torch.testing.assert_close(z.grad, want[1], rtol=1e-10, atol=1e-13)
