"""Two-process gloo test (CPU) of ``gather_distributed=True`` (docs/architecture.md, "Tests").

Each rank holds half of the batch. With ``gather_distributed=True`` every rank gathers all
embeddings and computes the loss of the *whole* batch, so:

- the loss on each rank equals the single-process loss on the concatenated batch;
- the gradient reaching a rank's own embeddings is ``world_size`` times the single-process one:
  every rank's (identical) loss depends on every embedding, and ``_GatherWithGrad.backward`` sums
  the incoming gradients over ranks (all-reduce), so rank ``r``'s slice receives
  ``sum_ranks dL/dz_r = world_size * dL/dz_r``;
- DDP averages parameter gradients over ranks, which cancels that factor: the parameter
  gradients of a shared model equal those of one process on the concatenated batch.
"""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from gca_lab.losses import GCAInfoNCE, GCAUOT, gather

WORLD = 2
PER_RANK = 5
D_IN, D_OUT = 6, 4
F64 = torch.float64

CASES = {
    "gca_ince": lambda **kw: GCAInfoNCE(eps=0.4, n_iters=4, **kw),
    "gca_ince_joint": lambda **kw: GCAInfoNCE(eps=0.4, n_iters=3, layout="joint", **kw),
    "gca_uot": lambda **kw: GCAUOT(eps=0.4, n_iters=4, rho=0.5, **kw),
    "gca_uot_sym": lambda **kw: GCAUOT(eps=0.3, n_iters=3, rho=1.0, symmetric=True, **kw),
}


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(WORLD * PER_RANK, D_IN, generator=g, dtype=F64)
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
    loss = loss_fn(z[:n], z[n:])
    loss.backward()
    return loss.detach(), z.grad.detach()


def _worker(rank: int, init: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=WORLD)
    try:
        x1, x2 = _data()
        sl = slice(rank * PER_RANK, (rank + 1) * PER_RANK)
        results = {}
        for name, make in CASES.items():
            model = _model()
            ddp = nn.parallel.DistributedDataParallel(model)
            loss, zgrad = _step(ddp, x1[sl], x2[sl], make(gather_distributed=True))
            results[name] = {
                "loss": loss,
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


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    out = tmp_path_factory.mktemp("dist")
    init = f"tcp://127.0.0.1:{_free_port()}"
    mp.spawn(_worker, args=(init, str(out)), nprocs=WORLD, join=True)
    return [torch.load(out / f"rank{r}.pt") for r in range(WORLD)]


def _single(name: str):
    x1, x2 = _data()
    model = _model()
    loss, zgrad = _step(model, x1, x2, CASES[name]())
    return loss, zgrad, model.weight.grad, model.bias.grad


@pytest.mark.parametrize("name", list(CASES))
def test_gathered_loss_and_gradients_match_single_process(ranks, name):
    loss, zgrad, wgrad, bgrad = _single(name)
    n = PER_RANK * WORLD
    for rank, res in enumerate(ranks):
        r = res[name]
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
