"""A process's block of the sharded plan (gca_lab/sharding.py), in one process (collectives are identities).

Oracle: the log-domain reduction (``torch.logsumexp``) of the same block; the multi-process
behaviour is tested with gloo in tests/test_distributed.py.
"""

from __future__ import annotations

import math

import torch

from gca_lab.reductions import LogReduction
from gca_lab.sharding import LocalKernelReduction, ShardedReduction


def _block(n_local: int, m: int, offset: int, dtype: torch.dtype):
    g = torch.Generator().manual_seed(3)
    x = torch.nn.functional.normalize(torch.randn(m, 4, generator=g, dtype=torch.float64), dim=1)
    rows = torch.arange(n_local) + offset  # this process's anchors among the m views
    log_k = ((x[rows] @ x.T - 1) / 2.0).to(dtype)  # eps = 2: kernel entries near 1
    log_k[torch.arange(n_local), rows] = -math.inf  # the excluded self-pairs
    return log_k, rows


def test_excluded_entry_of_the_maximum_is_summed_apart():
    """The row whose excluded column holds max w (and the column excluded in the row of max z) keeps
    its value in float32 where the other terms of a max-shifted sum underflow (spread 110 nats)."""
    log_k, rows = _block(5, 12, offset=4, dtype=torch.float32)
    local = LocalKernelReduction(log_k.exp(), 0.0, rows)
    exact = LogReduction(log_k.double())
    w = torch.full((12,), -110.0)
    w[rows[2]] = 0.0  # max w at the excluded column of local row 2
    w[0] = -105.0
    got, want = local.rows(w), exact.rows(w.double())
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got.double(), want, atol=1e-4, rtol=1e-5)
    naive = LocalKernelReduction(log_k.exp(), 0.0, None).rows(w)
    assert not torch.isfinite(naive[2])  # what the apart sum avoids
    z = torch.full((5,), -110.0)
    z[3] = 0.0  # max z in local row 3: its own column rows[3] lacks the e^0 term
    z[1] = -104.0
    torch.testing.assert_close(local.cols(z).double(), exact.cols(z.double()), atol=1e-4, rtol=1e-5)


def test_local_kernel_reduction_equals_the_log_domain_and_is_differentiable():
    log_k, rows = _block(6, 10, offset=2, dtype=torch.float64)
    g = torch.Generator().manual_seed(4)
    w = torch.randn(10, generator=g, dtype=torch.float64, requires_grad=True)
    z = torch.randn(6, generator=g, dtype=torch.float64, requires_grad=True)
    weights = torch.arange(6.0, dtype=torch.float64)

    def value_and_grads(local):
        reduce = ShardedReduction(local)  # one process: the combination is the identity
        value = (reduce.rows(w) * weights).sum() + reduce.cols(z).square().sum()
        return value, torch.autograd.grad(value, (w, z))

    got = value_and_grads(LocalKernelReduction(log_k.exp(), 0.0, rows))
    want = value_and_grads(LogReduction(log_k))
    torch.testing.assert_close(got[0], want[0], atol=1e-12, rtol=1e-12)
    for a, b in zip(got[1], want[1]):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)
