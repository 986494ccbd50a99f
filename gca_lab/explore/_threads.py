"""One intra-op torch thread for the explorers' small computations."""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

import torch

F = TypeVar("F", bound=Callable[..., Any])


def one_thread(fn: F) -> F:
    """Run ``fn`` with one intra-op torch thread, restoring the previous count afterwards.

    The explorers work on small matrices (``128 x 128``), where intra-op threading only adds
    synchronization; on a busy 2-core machine it made ``logsumexp`` about 100x slower (measured).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        before = torch.get_num_threads()
        if before == 1:
            return fn(*args, **kwargs)
        torch.set_num_threads(1)
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(before)

    return wrapper  # type: ignore[return-value]


def to_numpy(x: torch.Tensor) -> Any:
    """``x`` detached, on the CPU, as a float64 numpy array."""
    return x.detach().cpu().double().numpy()
