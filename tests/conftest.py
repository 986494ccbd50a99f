"""Fixtures shared by the test modules."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread for modules of many tiny tensor ops: on a shared, oversubscribed CPU,
    OpenMP synchronization makes such ops up to ~30x slower with two threads."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
