"""Default folders do not depend on the working directory (gca_lab._paths)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gca_lab import _paths, data

REPO = Path(__file__).resolve().parents[1]


def test_checkout_defaults_are_absolute_and_ignore_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GCA_LAB_DATA", raising=False)
    monkeypatch.delenv("GCA_LAB_RESULTS", raising=False)
    monkeypatch.chdir(tmp_path)  # as a notebook kernel in notebooks/ would be
    assert _paths.checkout() == REPO
    assert _paths.data_dir() == REPO / "data"
    assert _paths.results_dir() == REPO / "data" / "results"
    d = data.load("mnist1d", n_samples=300)  # default root: the checkout's data/, not ./data
    assert len(d.train) > 0 and not (tmp_path / "data").exists()
    assert data.missing_files("digits") is None


def test_environment_variables_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GCA_LAB_DATA", str(tmp_path / "d"))
    monkeypatch.setenv("GCA_LAB_RESULTS", str(tmp_path / "r"))
    assert _paths.data_dir() == tmp_path / "d" and _paths.results_dir() == tmp_path / "r"


def test_outside_a_checkout_the_user_cache_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GCA_LAB_DATA", raising=False)
    monkeypatch.delenv("GCA_LAB_RESULTS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(_paths, "checkout", lambda: None)  # as when installed from a wheel
    assert _paths.data_dir() == tmp_path / "xdg" / "gca_lab" / "data"
    assert _paths.results_dir() == tmp_path / "xdg" / "gca_lab" / "results"
