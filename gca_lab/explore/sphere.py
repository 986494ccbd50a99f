r"""The sphere toy: free embeddings on the circle or sphere trained under each loss (notebook 04).

:func:`compute_sphere_trajectories` trains ``N`` free points (no encoder) with two noisy views per step
and records snapshots of the points, their alignment and uniformity (Wang & Isola 2020), which
:class:`gca_lab.widgets.SphereExplorer` plays back. Each step is :func:`gca_lab.train.contrastive_step`
with the identity as encoder (the points are the parameters), so the toy trains exactly as the library does.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from .. import geometry as _geometry
from .. import methods as _methods
from .._validate import check_int, check_nonnegative, check_positive
from ..train import contrastive_step
from ._threads import one_thread

__all__ = ["SphereTrajectories", "compute_sphere_trajectories"]


@dataclass(frozen=True)
class SphereTrajectories:
    """Snapshots of a toy training on the circle/sphere (:func:`compute_sphere_trajectories`).

    Attributes:
        steps: ``(S,)`` the optimization steps of the snapshots (0 = initialization).
        points: ``{method: (S, N, d)}`` unit-norm embeddings at each snapshot.
        alignment, uniformity, loss: ``{method: (S,)}`` :func:`gca_lab.geometry.alignment` of two fresh
            noisy views, :func:`gca_lab.geometry.uniformity` of the points, and the training loss.
        colors: ``(N,)`` a fixed colour value per point (its initial angle).
        methods, dim, seconds.
    """

    steps: np.ndarray
    points: dict[str, np.ndarray]
    alignment: dict[str, np.ndarray]
    uniformity: dict[str, np.ndarray]
    loss: dict[str, np.ndarray]
    colors: np.ndarray
    methods: tuple[str, ...]
    dim: int
    seconds: float = 0.0


@one_thread
def _identity(v: torch.Tensor) -> torch.Tensor:
    return v


def compute_sphere_trajectories(
    methods: Sequence[str] = ("ince", "gca_ince", "gca_uot"),
    *,
    dim: int = 2,
    n_points: int = 48,
    steps: int = 300,
    lr: float = 0.05,
    eps: float = 0.2,
    view_noise: float = 0.2,
    init_spread: float = 0.3,
    snapshot_every: int = 10,
    loss_kwargs: dict[str, dict[str, Any]] | None = None,
    seed: int = 0,
) -> SphereTrajectories:
    r"""Train free embeddings on the circle (``dim = 2``) or sphere (``dim = 3``) under each loss.

    The toy: ``N`` free parameters ``theta_i in R^d`` start bunched around one pole
    (``e_1 + init_spread * noise``). At each step two views are ``theta_i + view_noise * xi``
    (fresh Gaussian ``xi`` per view, the "augmentation"), the loss (:func:`gca_lab.methods.make_loss`
    with ``eps`` and the library defaults, or ``loss_kwargs[name]``) compares them, and Adam with
    learning rate ``lr`` updates ``theta``. Every method starts from the same points and sees the same
    noise (one seeded generator per method). Snapshots every ``snapshot_every`` steps record the
    normalized points, alignment of two fresh views and uniformity (Wang & Isola 2020).
    """
    dim = check_int("dim", dim, minimum=2, maximum=3)
    n_points = check_int("n_points", n_points, minimum=2)
    steps = check_int("steps", steps, minimum=1)
    snapshot_every = check_int("snapshot_every", snapshot_every, minimum=1)
    lr = check_positive("lr", lr)
    view_noise = check_nonnegative("view_noise", view_noise)
    t0 = time.perf_counter()
    g0 = torch.Generator().manual_seed(seed)
    e1 = torch.zeros(dim)
    e1[0] = 1.0
    init = e1 + init_spread * torch.randn(n_points, dim, generator=g0)
    colors = torch.atan2(init[:, 1], init[:, 0]).numpy().astype(np.float64)
    snap_steps = sorted(set(range(0, steps + 1, snapshot_every)) | {steps})
    pts, ali, uni, lss = {}, {}, {}, {}
    for name in methods:
        loss_fn = _methods.make_loss(name, **{"eps": eps, **((loss_kwargs or {}).get(name, {}))})
        g = torch.Generator().manual_seed(seed + 1)
        theta = init.clone().requires_grad_(True)
        opt = torch.optim.Adam([theta], lr=lr)
        p_s, a_s, u_s, l_s = [], [], [], []
        last = math.nan

        def snapshot(loss_value: float) -> None:
            with torch.no_grad():
                z = torch.nn.functional.normalize(theta, dim=1)
                v1 = theta + view_noise * torch.randn(theta.shape, generator=g)
                v2 = theta + view_noise * torch.randn(theta.shape, generator=g)
                p_s.append(z.numpy().astype(np.float64).copy())
                a_s.append(float(_geometry.alignment(v1, v2)))
                u_s.append(float(_geometry.uniformity(z)))
                l_s.append(loss_value)

        for step in range(steps + 1):
            if step > 0:
                xi1 = torch.randn(theta.shape, generator=g)
                xi2 = torch.randn(theta.shape, generator=g)
                # the training loop's step, with free embeddings: the forward pass is the identity
                loss = contrastive_step(_identity, loss_fn, opt, theta + view_noise * xi1, theta + view_noise * xi2)
                last = float(loss)
            if step in snap_steps:
                snapshot(last)
        pts[name] = np.stack(p_s)
        ali[name], uni[name], lss[name] = np.array(a_s), np.array(u_s), np.array(l_s)
    return SphereTrajectories(np.array(snap_steps), pts, ali, uni, lss, colors, tuple(methods), dim,
                              time.perf_counter() - t0)
