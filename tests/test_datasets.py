"""The one registry of datasets (gca_lab.datasets): every name form parsed in one place, the loaders keyed
by it, shapes without loading, flips and kinds read from it, and experiment overrides by kind of input."""

from __future__ import annotations

import pytest

from gca_lab import augment, data, datasets


def test_the_loaders_are_keyed_by_the_registry_and_every_name_form_parses():
    assert set(data.DATASETS) == set(datasets.REGISTRY)
    assert data.available() == datasets.names() and datasets.names()[-1] == "multidomain"
    assert datasets.parse("digits") == (datasets.REGISTRY["digits"], False)
    assert datasets.parse("multidomain_mnist1d") == (datasets.REGISTRY["mnist1d"], True)
    assert datasets.parse("multidomain") == (datasets.REGISTRY["digits"], True)
    assert datasets.parse("multidomain", {"base": "svhn"}) == (datasets.REGISTRY["svhn"], True)
    for bad in ("imagenet", "multidomain_synthetic", "multidomain_"):
        with pytest.raises(ValueError, match=rf"dataset='{bad}' is unknown; choose one of cifar10"):
            datasets.parse(bad)
    with pytest.raises(TypeError, match="dataset must be a str"):
        datasets.parse(3)


def test_what_the_registry_knows_is_what_the_data_and_the_views_use():
    assert data.multidomain("mnist1d", max_train=40).domain_names == data.SIGNAL_DOMAIN_NAMES
    assert data.multidomain("digits", max_train=40).domain_names == data.DOMAIN_NAMES
    assert data.MNIST1D_OPTIONS == datasets.REGISTRY["mnist1d"].options
    for name, d in datasets.REGISTRY.items():
        assert augment.default_flip(name) is d.flip
        if d.has_domains:
            assert augment.default_flip(f"multidomain_{name}") is d.flip
        assert data.input_shape(name) == d.shape
        if not d.files:
            assert data.missing_files(name) is None
    assert data.input_shape("multidomain_digits", size=16) == (1, 16, 16)
    assert data.input_shape("synthetic", dim=5) == (5,)
    ds = data.load("multidomain_digits", max_train=40, max_test=20)
    assert ds.name == "multidomain_digits" and ds.image_shape == datasets.REGISTRY["digits"].shape


def test_a_dataset_override_replaces_the_runs_on_the_same_kind_of_input_only():
    """``reproduce main_results --dataset cifar10`` made both columns CIFAR-10 (the MNIST-1D signals column
    became a duplicate of the Fashion-MNIST one); the override now applies by the registry's kind."""
    from gca_lab import experiments as E

    plain = E.plan("main_results", "full")
    over = E.plan("main_results", "full", dataset="cifar10", model="resnet18")
    by_key = {r.key: r for r in plain}
    changed = 0
    for r in over:
        before = by_key[r.key].spec.get("dataset", "digits" if r.kind == "train" else None)
        if before is not None and datasets.info(before).kind == "images":
            assert r.spec["dataset"] == "cifar10", r.key
            changed += 1
        else:
            assert r.spec == by_key[r.key].spec, r.key
    assert changed and len({r.spec.get("dataset") for r in over}) == 2
    # a plan without a run of that kind of input moves as a whole (MNIST-1D signals -> CIFAR-10 images)
    moved = E.plan("strong_augmentations", "full", dataset="cifar10")
    assert {r.spec["dataset"] for r in moved if r.kind == "train"} == {"cifar10"}
