"""Default folders: where datasets are read and caches are written when no folder is given.

A relative ``"data"`` would depend on the working directory (a notebook runs in ``notebooks/``, and
would grow a second ``notebooks/data/``), so the defaults are absolute, first match wins:

- datasets and their caches (:func:`data_dir`): ``$GCA_LAB_DATA``; the checkout's ``data/`` when the
  package sits in a source checkout (beside ``pyproject.toml`` and ``data/``, as with ``pip install -e .``);
  otherwise ``$XDG_CACHE_HOME/gca_lab/data`` (default ``~/.cache/gca_lab/data``);
- experiment results (:func:`results_dir`): ``$GCA_LAB_RESULTS``; the checkout's ``data/results`` (the
  committed full-budget results); otherwise ``$XDG_CACHE_HOME/gca_lab/results``. Never the current
  folder, never ``site-packages``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["checkout", "data_dir", "results_dir"]


def checkout() -> Path | None:
    """The source checkout holding this package (with ``pyproject.toml`` and ``data/``), or ``None``."""
    root = Path(__file__).resolve().parents[1]
    if (root / "pyproject.toml").is_file() and (root / "data").is_dir():
        return root
    return None


def _user_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gca_lab"


def data_dir() -> Path:
    """The default dataset folder (see the module docstring for the order)."""
    env = os.environ.get("GCA_LAB_DATA")
    if env:
        return Path(env)
    root = checkout()
    return root / "data" if root is not None else _user_cache() / "data"


def results_dir() -> Path:
    """The default experiment-results folder (see the module docstring for the order)."""
    env = os.environ.get("GCA_LAB_RESULTS")
    if env:
        return Path(env)
    root = checkout()
    return root / "data" / "results" if root is not None else _user_cache() / "results"
