"""Tests for gca_lab.geometry: alignment, uniformity, class geometry and compactness."""

from __future__ import annotations

import math

import pytest
import torch

from gca_lab import geometry as M
from tests.fakes import clusters


# --------------------------------------------------------------------- alignment, uniformity


def test_alignment_values():
    z = torch.randn(10, 5)
    assert float(M.alignment(z, 3 * z)) == pytest.approx(0.0, abs=1e-6)  # normalized inside
    # Orthogonal unit pairs: ||e1 - e2|| = sqrt(2); alpha = 2 -> 2, alpha = 1 -> sqrt(2).
    z1 = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    z2 = torch.tensor([[0.0, 5.0], [-1.0, 0.0]])
    assert float(M.alignment(z1, z2)) == pytest.approx(2.0)
    assert float(M.alignment(z1, z2, alpha=1)) == pytest.approx(math.sqrt(2))
    # Mixed: antipodal pair (distance 2) and identical pair -> mean of 4 and 0.
    out = M.alignment(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[-1.0, 0.0], [0.0, 1.0]]))
    assert out.ndim == 0 and float(out) == pytest.approx(2.0)


def test_uniformity_values_and_gradient():
    two = torch.tensor([[1.0, 0.0], [-3.0, 0.0]])
    assert float(M.uniformity(two)) == pytest.approx(-8.0)  # -t * ||x - y||^2 = -2 * 4
    assert float(M.uniformity(two, t=0.5)) == pytest.approx(-2.0)
    # Three points: two identical, one antipodal -> log((1 + 2 e^{-8}) / 3).
    three = torch.tensor([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
    assert float(M.uniformity(three)) == pytest.approx(math.log((1 + 2 * math.exp(-8)) / 3), rel=1e-5)
    z = three.clone().requires_grad_(True)
    M.uniformity(z).backward()
    assert torch.isfinite(z.grad).all()


def test_alignment_uniformity_bad_inputs():
    with pytest.raises(ValueError, match="z2 must have the shape"):
        M.alignment(torch.ones(3, 2), torch.ones(2, 2))
    with pytest.raises(ValueError, match="alpha"):
        M.alignment(torch.ones(3, 2), torch.ones(3, 2), alpha=0)
    with pytest.raises(ValueError, match="z must have shape"):
        M.uniformity(torch.ones(1, 2))
    with pytest.raises(ValueError, match="z must be finite"):
        M.uniformity(torch.tensor([[1.0, float("nan")], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="t must be"):
        M.uniformity(torch.randn(3, 2), t=-1)


# --------------------------------------------------------------------------------- compactness


def test_compactness_lower_for_tighterclusters():
    tight = M.compactness(*clusters(40, spread=0.1, seed=5))
    loose = M.compactness(*clusters(40, spread=2.0, seed=5))
    assert 0 <= tight < loose


def test_class_geometry_closed_form():
    # Class 0 at +-45 deg around e1, class 1 at +-45 deg around -e1 (after normalization).
    f = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    g = M.class_geometry(f, torch.tensor([0, 0, 1, 1]))
    s = 1 / math.sqrt(2)
    assert g.within == pytest.approx(s) and g.between == pytest.approx(2 * s)
    assert g.ratio == pytest.approx(0.5)
    assert g.n_classes == 2


def test_compactness_bad_inputs():
    with pytest.raises(ValueError, match="at least 2 classes"):
        M.compactness(torch.randn(4, 2), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="labels must have length"):
        M.compactness(torch.randn(4, 2), torch.zeros(3, dtype=torch.long))
