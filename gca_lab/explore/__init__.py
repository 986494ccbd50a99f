r"""What the explorers compute, one concept per module (no widgets, no plotting here).

Every function is pure: arguments in, a frozen dataclass of numpy arrays and numbers out, tested
directly; :mod:`gca_lab.widgets` only draws the results and wires the controls.

- :mod:`~gca_lab.explore.batches`: two-view batches of real digits, with view noise and corrupted pairs.
- :mod:`~gca_lab.explore.projections`: InfoNCE as one KL projection, the Sinkhorn iterates, the
  monotonicity theorem ``KL(I || P^(inf)) <= KL(I || P^(1))`` (notebook 01).
- :mod:`~gca_lab.explore.plans`: the transport plan of a batch at any setting and every loss on it
  (the plan explorer, notebook 02).
- :mod:`~gca_lab.explore.noisy_views`: plan mass and loss gradients on corrupted pairs (notebook 03).
- :mod:`~gca_lab.explore.sphere`: the sphere toy's trajectories under each loss (notebook 04).

Kernels come from the losses (:meth:`gca_lab.losses.GCALoss.similarity`, :meth:`~gca_lab.losses.GCALoss.log_kernel`),
so the explorers share the losses' one cost convention.
"""

from .batches import ViewBatch, two_view_batch
from .noisy_views import CorruptedMass, NoisyViews, compute_corrupted_mass, compute_noisy_views
from .plans import LOSS_NAMES, PlanData, PlanParams, compute_method_plans, compute_plan
from .projections import (
    SinkhornIterates,
    TheoremCheck,
    compute_ince_identity,
    compute_sinkhorn_iterates,
    compute_theorem_check,
)
from .sphere import SphereTrajectories, compute_sphere_trajectories

__all__ = [
    "ViewBatch",
    "two_view_batch",
    "compute_ince_identity",
    "SinkhornIterates",
    "compute_sinkhorn_iterates",
    "TheoremCheck",
    "compute_theorem_check",
    "LOSS_NAMES",
    "PlanParams",
    "PlanData",
    "compute_plan",
    "compute_method_plans",
    "CorruptedMass",
    "compute_corrupted_mass",
    "NoisyViews",
    "compute_noisy_views",
    "SphereTrajectories",
    "compute_sphere_trajectories",
]
