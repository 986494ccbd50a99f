"""Image operations that the datasets (:mod:`gca_lab.data`, domain renderings) and the views
(:mod:`gca_lab.augment`) share, written once below both. Torch only."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["luminance", "gaussian_taps"]


def luminance(x: Tensor) -> Tensor:
    """``(B, 1, H, W)`` luma of ``(B, C, H, W)`` images: ITU-R 601 ``0.299 R + 0.587 G + 0.114 B`` for RGB
    (the weights torchvision's Grayscale uses), the channel mean otherwise."""
    return (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]) if x.shape[1] == 3 else x.mean(1, keepdim=True)


def gaussian_taps(radius: int, sigma: Tensor) -> Tensor:
    """Normalized 1-D Gaussian kernels ``k_b(t) = exp(-t^2 / (2 sigma_b^2)) / sum_t exp(...)`` at
    ``t = -radius, ..., radius``: ``(B, 2 radius + 1)`` for ``sigma`` of shape ``(B,)`` (dtype and device of
    ``sigma``); each row sums to 1. Used separably (rows, then columns) by both blurs."""
    t = torch.arange(-radius, radius + 1, dtype=sigma.dtype, device=sigma.device)  # (K,)
    k = torch.exp(-0.5 * (t.view(1, -1) / sigma.view(-1, 1)) ** 2)  # (B, K)
    return k / k.sum(1, keepdim=True)
