"""One optimizer step of each training family (contrastive, BYOL) and the batches of one epoch.

The steps take modules and tensors, not a run, so other loops reuse them (the sphere toy of
:mod:`gca_lab.explore.sphere`, the reference evaluation of the implementation_choices experiment).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from .. import models as _models

__all__ = ["epoch_batches", "optimizer_step", "contrastive_step", "byol_step"]


def epoch_batches(
    n: int, batch_size: int, generator: torch.Generator, *, rank: int = 0, world: int = 1, steps: int | None = None
) -> list[Tensor]:
    """One epoch's batch indices: ``perm = randperm(n, generator)`` cut into ``steps`` (default
    ``n // batch_size``; the last partial batch is dropped) global batches of ``batch_size``, of which
    rank ``rank`` of ``world`` takes the ``rank``-th of ``world`` equal slices. Every rank draws the same
    permutation from its own copy of the generator, so the ranks' slices partition each global batch.

    Returns ``steps`` index tensors of shape ``(batch_size // world,)`` on the CPU (shorter if the
    permutation runs out, e.g. ``n < batch_size`` with ``steps = 1``).
    """
    perm = torch.randperm(n, generator=generator)
    per_rank = batch_size // world
    steps = n // batch_size if steps is None else steps
    return [perm[it * batch_size : (it + 1) * batch_size][rank * per_rank : (rank + 1) * per_rank]
            for it in range(steps)]


def optimizer_step(optimizer: torch.optim.Optimizer, loss: Tensor) -> Tensor:
    """``zero_grad`` (to None), ``loss.backward()``, ``optimizer.step()``; returns the detached loss."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def contrastive_step(
    forward: Callable[[Tensor], Tensor],
    loss_fn: Callable[..., Tensor],
    optimizer: torch.optim.Optimizer,
    x1: Tensor,
    x2: Tensor,
    target: Tensor | None = None,
    *,
    bf16: bool = False,
) -> Tensor:
    """One optimizer step of a contrastive loss: ``z = forward(cat([x1, x2]))`` (one forward for both
    views, under bf16 autocast if ``bf16``), ``loss = loss_fn(z[:B], z[B:], target)`` in float32,
    backward, ``optimizer.step()``.

    Args:
        forward: ``(2B, ...) -> (2B, d)`` embeddings (the model, or the identity for free embeddings).
        loss_fn: a :func:`gca_lab.methods.make_loss` module, ``loss_fn(z1, z2, target)``.
        x1, x2: the two views, ``(B, ...)`` each.
        target: optional ``(n, m)`` target plan (:mod:`gca_lab.targets`), passed to the loss.

    Returns:
        The detached scalar loss (no host sync).
    """
    with torch.autocast(x1.device.type, dtype=torch.bfloat16, enabled=bf16):
        z = forward(torch.cat([x1, x2]))  # (2B, d)
    b = x1.shape[0]
    z = z.float()
    return optimizer_step(optimizer, loss_fn(z[:b], z[b:], target))


def byol_step(
    online: nn.Module,
    ema: _models.EMA,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    optimizer: torch.optim.Optimizer,
    x1: Tensor,
    x2: Tensor,
    *,
    tau: float,
    model: nn.Module,
    bf16: bool = False,
) -> Tensor:
    """One BYOL step: ``(z, p) = online(cat([x1, x2]))``, target ``t = ema(cat([x1, x2]))`` (no grad),
    the symmetrized loss ``loss_fn(p_1, t_2) + loss_fn(p_2, t_1)``, an optimizer step, then the EMA
    update of the target towards ``model`` with decay ``tau`` (:func:`byol_tau`).

    Returns:
        The detached scalar loss.
    """
    with torch.autocast(x1.device.type, dtype=torch.bfloat16, enabled=bf16):
        both = torch.cat([x1, x2])  # (2B, ...)
        _, p = online(both)
        with torch.no_grad():
            t = ema(both)
    b = x1.shape[0]
    p, t = p.float(), t.float()
    loss = optimizer_step(optimizer, loss_fn(p[:b], t[b:]) + loss_fn(p[b:], t[:b]))
    ema.update(model, tau)
    return loss
