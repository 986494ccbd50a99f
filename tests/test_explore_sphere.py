"""gca_lab.explore.sphere: the sphere toy's trajectories."""

from __future__ import annotations

import numpy as np
import pytest

from gca_lab.explore import sphere as S


def test_sphere_trajectories():
    traj = S.compute_sphere_trajectories(("ince", "gca_uot"), dim=2, n_points=16, steps=40, snapshot_every=10)
    assert list(traj.steps) == [0, 10, 20, 30, 40]
    for m in traj.methods:
        pts = traj.points[m]
        assert pts.shape == (5, 16, 2)
        np.testing.assert_allclose(np.linalg.norm(pts, axis=-1), 1.0, atol=1e-6)
        assert traj.uniformity[m][-1] < traj.uniformity[m][0]  # points spread out
        assert np.isfinite(traj.alignment[m]).all() and np.isfinite(traj.loss[m][1:]).all()
    np.testing.assert_allclose(traj.points["ince"][0], traj.points["gca_uot"][0])  # same start
    t3 = S.compute_sphere_trajectories(("ince",), dim=3, n_points=8, steps=5, snapshot_every=5)
    assert t3.points["ince"].shape == (2, 8, 3)
    with pytest.raises(ValueError, match="dim"):
        S.compute_sphere_trajectories(dim=4)
