"""Atomic file writes: a reader (or a crash) never sees a half-written cache or checkpoint.

The file is written to a temporary name in the same folder, flushed to disk, then renamed over the
target with ``os.replace`` (atomic on POSIX and Windows when both names are on one file system).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import torch

__all__ = ["atomic_write", "atomic_write_json", "atomic_save"]


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` to fill a temporary file beside ``path``, then rename it to ``path``.

    The parent folder is created if needed. If ``write`` raises, the temporary file is removed and
    ``path`` keeps its previous content.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:  # the data must be on disk before the rename makes it visible
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_write_json(path: str | os.PathLike, payload: Any, **dump_kwargs: Any) -> Path:
    """Write ``json.dumps(payload, **dump_kwargs)`` and a final newline to ``path``, atomically."""
    text = json.dumps(payload, **dump_kwargs) + "\n"  # serialize first: a TypeError leaves no file behind
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj, path)``, atomically (checkpoints)."""
    return atomic_write(path, lambda tmp: torch.save(obj, tmp))
