#!/usr/bin/env python
"""Execute notebooks in place and strip what should not be committed.

Usage::

    python tools/execute_notebooks.py notebooks/0[1-4]*.ipynb            # full mode (GCA_LAB_QUICK unset)
    python tools/execute_notebooks.py notebooks/05_*.ipynb --quick       # quick mode (GCA_LAB_QUICK=1)
    python tools/execute_notebooks.py NB.ipynb --timeout 3600 --check     # --check: only verify, no run

Each notebook is run top to bottom with ``nbclient`` in its own folder (so relative paths work), with
the kernel started from this process's environment (``GCA_LAB_QUICK`` set or removed as asked). Outputs
are kept; then the saved file is cleaned for review (design §5):

- ``metadata.widgets`` (saved widget state) is removed;
- volatile metadata is removed: per-cell ``execution`` timestamps, ``ExecuteTime``, ``collapsed``,
  ``scrolled``, and the kernel's ``language_info.version``;
- execution counts are renumbered 1..n in order.

Exit status 1 if a notebook fails (an error output or a cell timeout); the file is then left unchanged.
``--check`` runs nothing and reports, per notebook, missing outputs, error outputs and widget state.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat

VOLATILE_CELL_KEYS = ("execution", "ExecuteTime", "collapsed", "scrolled")


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove saved widget state and volatile metadata; renumber execution counts."""
    nb.metadata.pop("widgets", None)
    lang = nb.metadata.get("language_info")
    if isinstance(lang, dict):
        lang.pop("version", None)
    count = 0
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            if cell.get("outputs") or cell.get("execution_count") is not None:
                count += 1
                cell.execution_count = count
                for out in cell.outputs:
                    if "execution_count" in out:
                        out["execution_count"] = count
    return nb


def problems(nb: nbformat.NotebookNode) -> list[str]:
    """What is wrong with an executed notebook (empty list when fine)."""
    found = []
    if "widgets" in nb.metadata:
        found.append("metadata.widgets present")
    code = [c for c in nb.cells if c.cell_type == "code"]
    if code and not any(c.get("outputs") for c in code):
        found.append("no outputs")
    for i, c in enumerate(nb.cells):
        for out in c.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"cell {i}: error output {out.get('ename')}: {out.get('evalue')}")
            if out.get("output_type") == "stream" and out.get("name") == "stderr" and "Traceback" in out.get("text", ""):
                found.append(f"cell {i}: traceback on stderr")
    return found


def execute(path: Path, *, quick: bool, timeout: int, kernel: str) -> float:
    """Run ``path`` in place; returns the wall time in seconds. Raises on a failing cell."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    env_before = os.environ.get("GCA_LAB_QUICK")
    if quick:
        os.environ["GCA_LAB_QUICK"] = "1"
    else:
        os.environ.pop("GCA_LAB_QUICK", None)
    t0 = time.perf_counter()
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name=kernel,
                                resources={"metadata": {"path": str(path.parent.resolve())}})
        client.execute()
    finally:
        if env_before is None:
            os.environ.pop("GCA_LAB_QUICK", None)
        else:
            os.environ["GCA_LAB_QUICK"] = env_before
    wall = time.perf_counter() - t0
    strip(nb)
    bad = problems(nb)
    if bad:
        raise RuntimeError(f"{path}: " + "; ".join(bad))
    nbformat.write(nb, path)
    return wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebooks", nargs="+", type=Path)
    ap.add_argument("--quick", action="store_true", help="run with GCA_LAB_QUICK=1 (default: full mode)")
    ap.add_argument("--timeout", type=int, default=1800, help="per-cell timeout in seconds (default 1800)")
    ap.add_argument("--kernel", default="python3", help="kernel name (default python3)")
    ap.add_argument("--check", action="store_true", help="do not execute; only report problems")
    args = ap.parse_args(argv)
    failed = 0
    for path in args.notebooks:
        if args.check:
            bad = problems(nbformat.read(path, as_version=4))
            print(f"{path}: {'ok' if not bad else '; '.join(bad)}")
            failed += bool(bad)
            continue
        try:
            wall = execute(path, quick=args.quick, timeout=args.timeout, kernel=args.kernel)
            print(f"{path}: executed in {wall:.1f} s ({'quick' if args.quick else 'full'} mode)", flush=True)
        except Exception as exc:  # noqa: BLE001 - report and go on with the next notebook
            failed += 1
            print(f"{path}: FAILED: {type(exc).__name__}: {str(exc)[:2000]}", file=sys.stderr, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
