"""Tests for gca_lab.methods: the one method registry agrees with the losses, training and plots."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from gca_lab import losses, methods
from gca_lab.train import TrainConfig


def test_registry_names_exactly_the_loss_classes():
    """Every named loss class of gca_lab.losses is registered once, under its own name (the registry
    is the only name -> class map; losses.py keeps none)."""
    named = {cls.name: cls for cls in vars(losses).values()
             if isinstance(cls, type) and issubclass(cls, nn.Module) and cls is not losses.GCALoss
             and isinstance(getattr(cls, "name", None), str)}
    assert {n: m.loss for n, m in methods.METHODS.items()} == named
    for name, m in methods.METHODS.items():
        assert m.name == name and m.loss.name == name
    assert not hasattr(losses, "LOSSES") and not hasattr(losses, "make_loss")


def test_make_loss_unknown_name_lists_the_methods():
    with pytest.raises(ValueError, match="unknown method 'nope'; choose one of ince, simclr"):
        methods.make_loss("nope")


def test_params_are_config_fields_and_accepted_by_each_loss():
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    cfg = TrainConfig()
    z1, z2 = torch.randn(8, 4), torch.randn(8, 4)
    for name, m in methods.METHODS.items():
        assert set(m.params) <= fields, name
        assert ("n_iters" in m.params) == m.iterative, name
        assert ("rho" in m.params) == m.unbalanced, name
        assert ({"lam", "q"} <= set(m.params)) == m.w1, name
        loss = methods.make_loss(name, **methods.loss_kwargs(name, cfg))
        assert isinstance(loss, m.loss)
        assert torch.isfinite(loss(z1, z2)), name


def test_filters_labels_and_colors():
    assert methods.names(has_plan=False) == ("byol",)
    assert {n: m.family for n, m in methods.METHODS.items() if m.family != "contrastive"} == {"byol": "byol"}
    assert methods.names(iterative=True, unbalanced=True) == ("gca_uot",)
    assert set(methods.names(w1=True)) == {"rince", "gca_rince", "uot", "gca_uot"}
    assert methods.label("gca_uot") == "GCA-UOT" and methods.label("kernel") == "kernel"
    assert methods.color("GCA-UOT") == methods.color("gca_uot") == methods.METHODS["gca_uot"].color
    assert methods.color("kernel", "#000000") == "#000000"
    colors = [m.color for m in methods.METHODS.values()]
    assert len(set(colors)) == len(colors)
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        methods.get("nope")
    with pytest.raises(TypeError, match="iterative"):
        methods.names(iterative=1)


def test_paper_numbers_and_command_line_use_the_registry():
    from gca_lab.__main__ import build_parser
    from gca_lab.experiments import paper

    assert set(paper.METHODS) <= set(methods.METHODS)
    for table in (paper.STANDARD, paper.NOISY):
        for row in table.values():
            assert set(row) == set(paper.METHODS)
    assert paper.LABELS == {n: m.paper_label for n, m in methods.METHODS.items()}
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    method = next(a for a in train._actions if a.dest == "method")
    assert tuple(method.choices) == tuple(methods.METHODS)


def test_methods_are_declared_with_keywords_and_read_what_the_loss_class_knows():
    for m in methods.METHODS.values():
        for flag in ("iterative", "unbalanced", "w1", "has_plan", "family"):
            assert getattr(m, flag) == getattr(m.loss, flag), (m.name, flag)
    with pytest.raises(TypeError):
        methods.Method("uot", "UOT", "#e377c2", "UOT", losses.UOT)  # positional: not accepted
    with pytest.raises(ValueError, match="names loss class GCAUOT, whose name is 'gca_uot'"):
        methods.Method(name="uot", label="UOT", color="#000", paper_label=None, loss=losses.GCAUOT)
    m = methods.Method(name="uot", label="UOT", color="#000", paper_label=None, loss=losses.UOT)
    assert m.params == methods.METHODS["uot"].params and m.unbalanced and not m.iterative
