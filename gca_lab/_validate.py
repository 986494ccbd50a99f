"""Argument checks shared by every public function.

Each raises ``ValueError`` (or ``TypeError``) whose message names the parameter, the value
received and what is allowed, so that bad input never turns into a silent NaN downstream.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import torch
from torch import Tensor


def _fmt(value: Any) -> str:
    if isinstance(value, Tensor):
        if value.numel() == 1:
            return f"{value.item()!r}"
        return f"tensor of shape {tuple(value.shape)}"
    return repr(value)


def check_real(name: str, value: Any) -> float:
    """``value`` as a float; rejects bools, non-numbers and NaN."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {_fmt(value)} ({type(value).__name__})")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must not be NaN")
    return value


def check_positive(name: str, value: Any, *, allow_inf: bool = False) -> float:
    """A real number in (0, inf) (or (0, inf] with ``allow_inf``)."""
    value = check_real(name, value)
    if value <= 0 or (math.isinf(value) and not allow_inf):
        allowed = "(0, inf]" if allow_inf else "(0, inf)"
        raise ValueError(f"{name} must be in {allowed}, got {value!r}")
    return value


def check_nonnegative(name: str, value: Any, *, allow_inf: bool = False) -> float:
    """A real number in [0, inf) (or [0, inf] with ``allow_inf``)."""
    value = check_real(name, value)
    if value < 0 or (math.isinf(value) and not allow_inf):
        allowed = "[0, inf]" if allow_inf else "[0, inf)"
        raise ValueError(f"{name} must be in {allowed}, got {value!r}")
    return value


def check_interval(
    name: str, value: Any, low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> float:
    """A real number in the interval between ``low`` and ``high`` (open or closed ends)."""
    value = check_real(name, value)
    bad_low = value <= low if low_open else value < low
    bad_high = value >= high if high_open else value > high
    if bad_low or bad_high:
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return value


def check_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (not bool) within optional bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {_fmt(value)} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """One of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_tensor(name: str, value: Any, *, ndim: int | None = None, min_ndim: int | None = None) -> Tensor:
    """A floating tensor with the given number of dimensions."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(value.shape)}")
    if min_ndim is not None and value.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions, got shape {tuple(value.shape)}")
    return value


def check_finite(name: str, value: Tensor) -> Tensor:
    """Rejects tensors holding NaN or +-inf.

    This syncs with the device once; call it at API boundaries, never inside iteration loops.
    """
    if not bool(torch.isfinite(value).all()):
        n_nan = int(torch.isnan(value).sum())
        n_inf = int(torch.isinf(value).sum())
        raise ValueError(f"{name} must be finite, got {n_nan} NaN and {n_inf} inf entries")
    return value


def check_features(name: str, value: Any, *, min_rows: int = 1) -> Tensor:
    """A finite floating ``(N, D)`` feature matrix with ``N >= min_rows`` and ``D >= 1``."""
    check_tensor(name, value, ndim=2)
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating tensor, got dtype {value.dtype}")
    if value.shape[0] < min_rows or value.shape[1] < 1:
        raise ValueError(
            f"{name} must have shape (N, D) with N >= {min_rows} and D >= 1, got shape {tuple(value.shape)}"
        )
    return check_finite(name, value)


def check_labels(name: str, value: Any, n: int, n_name: str) -> Tensor:
    """A ``(n,)`` integer label tensor, one label per row of ``n_name``."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of integer labels, got {type(value).__name__}")
    if value.ndim != 1:
        raise ValueError(f"{name} must have 1 dimension (N,), got shape {tuple(value.shape)}")
    if value.is_floating_point() or value.is_complex():
        raise TypeError(f"{name} must hold integer labels, got dtype {value.dtype}")
    if value.shape[0] != n:
        raise ValueError(f"{name} must have length {n} (the rows of {n_name}), got {value.shape[0]}")
    return value


def check_nonneg_labels(name: str, value: Tensor) -> Tensor:
    """Labels usable as indices (all >= 0)."""
    if value.numel() and int(value.min()) < 0:
        raise ValueError(f"{name} must hold labels >= 0, got minimum {int(value.min())}")
    return value
