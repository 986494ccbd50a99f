"""Atomic file writes and a file lock: a reader (or a crash) never sees a half-written cache or
checkpoint, and concurrent writers never lose each other's updates.

The file is written to a temporary name in the same folder, flushed to disk, then renamed over the
target with ``os.replace`` (atomic on POSIX and Windows when both names are on one file system).
Atomic writes alone do not stop two processes that each read, merge and write the same file from
overwriting each other's additions; :func:`file_lock` serializes that read-merge-write.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

__all__ = ["atomic_write", "atomic_write_json", "atomic_save", "file_lock"]


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


@contextlib.contextmanager
def file_lock(path: str | os.PathLike) -> Iterator[Path]:
    """Hold an exclusive lock on ``path`` (a cache file) across processes while the block runs.

    The lock is taken on a companion file ``<path>.lock`` (created if needed and left in place:
    deleting it while another process waits on it would let two holders in), with ``fcntl.flock``
    on POSIX and ``msvcrt.locking`` on Windows. The operating system releases it when its holder
    exits, even on SIGKILL, so a killed writer never leaves the cache locked. Blocks until free.
    Usage: ``with file_lock(p): data = read(p); merge; atomic_write_json(p, data)``. Yields the
    lock file's path. Not reentrant: a process must not take the same lock twice.
    """
    lock = Path(path)
    lock = lock.with_name(f"{lock.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+b") as fh:
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            import msvcrt

            fh.seek(0)
            while True:
                try:
                    msvcrt.locking(fh.fileno(), msvcrt.LK_LOCK, 1)  # retries for 10 s, then raises
                    break
                except OSError:
                    continue
            try:
                yield lock
            finally:
                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield lock
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
