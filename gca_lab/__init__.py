"""gca_lab: contrastive learning as distribution alignment (Chen et al., NeurIPS 2024).

Solvers (:mod:`gca_lab.ot`), the GCA loss family (:mod:`gca_lab.losses`), target plans
(:mod:`gca_lab.targets`), data, augmentation, compact models, one training loop, evaluation,
cached experiments, plots and widgets. See ``README.md`` and the notebooks.
"""

from __future__ import annotations

import os
import sys
import warnings

# OpenMP threads that spin while waiting take every core from other processes: under contention
# one training command took 248 s instead of 9.6 s. libgomp reads OMP_WAIT_POLICY once, when torch
# loads it, so the policy is set here, before torch is imported; a value the user set is kept.
if "torch" not in sys.modules:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
elif os.environ.get("OMP_WAIT_POLICY", "").upper() != "PASSIVE":
    warnings.warn(
        "torch was imported before gca_lab, so OpenMP threads may spin while waiting (slow when the "
        "CPU is shared). Import gca_lab before torch, or set OMP_WAIT_POLICY=PASSIVE in the environment.",
        RuntimeWarning,
        stacklevel=2,
    )

import torch  # noqa: E402

from ._env import env_flag

__version__ = "0.1.0"

__all__ = ["__version__", "device", "quick_mode"]


def device() -> torch.device:
    """The best available device: ``cuda`` if present, else ``mps``, else ``cpu``.

    ``GCA_LAB_DEVICE`` in the environment overrides the choice (e.g. ``GCA_LAB_DEVICE=cpu``).
    """
    forced = os.environ.get("GCA_LAB_DEVICE")
    if forced:
        return torch.device(forced)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def quick_mode() -> bool:
    """True when ``GCA_LAB_QUICK`` is set to a true value (``1``, ``true``, ``yes``).

    Notebooks and experiments shrink their budgets in quick mode; tests and CI set it.
    """
    return env_flag("GCA_LAB_QUICK")
