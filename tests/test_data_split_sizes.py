"""Exact split sizes for a generated dataset (``mnist1d``'s ``n_train, n_val, n_test`` options): the sizes
asked for, stratified and disjoint, and the errors when they are given half or beside ``n_samples``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gca_lab import data, datasets


def test_split_sizes_are_exact_stratified_and_disjoint(tmp_path: Path) -> None:
    d = data.load("mnist1d", root=tmp_path, n_train=700, n_val=300, n_test=1000)
    assert (len(d.train), len(d.val), len(d.test)) == (700, 300, 1000)
    # one pool of n_train + n_val + n_test signals, generated once and cached under that size
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["mnist1d-v1-n2000-s42.npz"]
    pool = torch.cat([d.train.x, d.val.x, d.test.x]).reshape(2000, -1)
    assert torch.unique(pool, dim=0).shape[0] == 2000  # no signal in two splits
    for split, n in ((d.test, 1000), (d.val, 300)):
        counts = np.bincount(split.y.numpy(), minlength=10)
        assert counts.sum() == n and counts.max() - counts.min() <= 0.1 * n / 10 + 2  # per class, as the pool
    # the same arguments give the same splits; the split seed moves them
    again = data.load("mnist1d", root=tmp_path, n_train=700, n_val=300, n_test=1000)
    assert torch.equal(again.test.x, d.test.x)
    assert not torch.equal(data.load("mnist1d", root=tmp_path, n_train=700, n_val=300, n_test=1000, seed=1).test.x,
                           d.test.x)


def test_split_sizes_are_registry_options_of_mnist1d_only(tmp_path: Path) -> None:
    assert set(data.SPLIT_SIZE_OPTIONS) <= set(datasets.REGISTRY["mnist1d"].options)
    with pytest.raises(TypeError, match="n_test"):
        data.load("digits", n_train=100, n_val=100, n_test=100)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_train": 700, "n_val": 300}, "without \\['n_test'\\]"),
    ({"n_train": 700, "n_val": 300, "n_test": 1000, "n_samples": 2000}, "n_samples=2000"),
    ({"n_train": 700, "n_val": 0, "n_test": 1000}, "n_val"),
])
def test_bad_split_sizes_name_the_parameter(tmp_path: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        data.load("mnist1d", root=tmp_path, **kwargs)
