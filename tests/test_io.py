"""Tests for gca_lab._io: atomic writes leave either the old file or the new one, never a part."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gca_lab._io import atomic_save, atomic_write, atomic_write_json


def test_atomic_write_json_creates_folders_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "r.json"
    atomic_write_json(path, {"x": [1, 2]}, sort_keys=True)
    assert json.loads(path.read_text()) == {"x": [1, 2]} and path.read_text().endswith("\n")
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]


def test_failed_write_keeps_the_previous_content(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    atomic_write_json(path, {"v": 1})

    def half_then_crash(tmp: Path) -> None:
        tmp.write_text('{"v": 2, "trunc')
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, half_then_crash)
    assert json.loads(path.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
    with pytest.raises(TypeError):  # not serializable: fails before anything is written
        atomic_write_json(path, {"v": object()})
    assert json.loads(path.read_text()) == {"v": 1}


def test_atomic_save_round_trips_tensors(tmp_path: Path) -> None:
    path = tmp_path / "ck.pt"
    atomic_save({"w": torch.arange(3.0)}, path)
    assert torch.equal(torch.load(path)["w"], torch.arange(3.0))
