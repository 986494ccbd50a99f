"""Fabricated inputs shared by several test modules (no test functions here)."""

from __future__ import annotations

import torch


def clusters(n_per: int, n_classes: int = 4, d: int = 16, spread: float = 0.1, seed: int = 0):
    """``(x, y)``: ``n_classes`` Gaussian clusters of ``n_per`` points in ``d`` dims, rows shuffled."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(n_classes, d, generator=g) * 3
    y = torch.arange(n_classes).repeat_interleave(n_per)
    x = centers[y] + spread * torch.randn(len(y), d, generator=g)
    perm = torch.randperm(len(y), generator=g)
    return x[perm], y[perm]


def train_result(**metrics: float) -> dict:
    """A cached training run as the experiment summaries read it."""
    return {"metrics": dict(metrics), "wall_time": 1.5}


def by_claim(summary: dict) -> dict[str, dict]:
    """An experiment summary's claim rows keyed by the claim's text."""
    return {row["claim"]: row for row in summary["claims"]}
