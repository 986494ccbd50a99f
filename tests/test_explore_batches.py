"""gca_lab.explore.batches: real two-view batches with view noise and corrupted pairs."""

from __future__ import annotations

import pytest
import torch

from gca_lab.explore import batches as B

N = 48


def test_two_view_batch_is_real_and_cached():
    batch = B.two_view_batch(N, seed=1, sort=False)
    assert batch.x1.shape == (N, 1, 8, 8) and batch.z1.shape == (N, 64)
    assert batch.z1.dtype == torch.float64 and torch.isfinite(batch.z1).all()
    assert not torch.equal(batch.x1, batch.x2)  # two different augmentations
    assert B.two_view_batch(N, seed=1, sort=False) is batch
    c = B.two_view_batch(N, seed=1, corrupt=0.25, sort=False)
    assert int(c.corrupted.sum()) == 12
    assert torch.equal(c.x1, batch.x1)  # view 1 untouched by the corruption
    s = B.two_view_batch(N, seed=1, corrupt=1.0, corruption="swap")
    assert bool(s.corrupted.all()) and torch.isfinite(s.z2).all()
    md = B.two_view_batch(N, dataset="multidomain", seed=1)
    assert set(md.domains.tolist()) == {0, 1, 2, 3}
    assert (torch.diff(md.domains) >= 0).all()  # sorted by domain


def test_make_batch_matches_the_cached_one():
    fresh = B.make_batch(N, "digits", 0.0, 0.0, "noise", 1, "light", False)
    cached = B.two_view_batch(N, seed=1, sort=False)
    assert fresh is not cached and torch.equal(fresh.z1, cached.z1) and torch.equal(fresh.z2, cached.z2)


@pytest.mark.parametrize("kw, name", [(dict(corrupt=1.5), "corrupt"), (dict(dataset="nope"), "dataset"),
                                      (dict(n=1), "n"), (dict(noise=-0.1), "noise"), (dict(kind="x"), "kind")])
def test_bad_arguments_name_the_parameter(kw, name):
    with pytest.raises(ValueError, match=name):
        B.two_view_batch(**{"n": N, **kw})
