#!/usr/bin/env python
"""Execute notebooks in place and strip what should not be committed.

Usage::

    python tools/execute_notebooks.py                                     # every notebook, full mode, in order
    python tools/execute_notebooks.py notebooks/0[1-4]*.ipynb            # full mode (GCA_LAB_QUICK unset)
    python tools/execute_notebooks.py notebooks/05_*.ipynb --quick       # quick mode (GCA_LAB_QUICK=1)
    python tools/execute_notebooks.py NB.ipynb --timeout 3600 --check     # --check: only verify, no run

Each notebook is run top to bottom with ``nbclient`` in its own folder (so relative paths work), with
the kernel started from this process's environment (``GCA_LAB_QUICK`` set or removed as asked, one
torch thread (:data:`THREADS`, ``--threads``: results depend on the thread count), and
``GCA_LAB_FIGURE_CHECK=1`` unless ``--no-figure-check``: a figure that breaks the style fails its cell,
:func:`gca_lab.viz.enable_figure_check`). Outputs are kept; then the saved file is cleaned for review
(design §5):

- ``metadata.widgets`` (saved widget state) is removed, and so are the widget views in the outputs
  (their model ids change on every run and no saved page can draw them): an explorer's cell keeps its
  Markdown placeholder, "run the cell to start the explorer";
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
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


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
            for out in cell.get("outputs", []):
                data = out.get("data")
                if isinstance(data, dict) and WIDGET_VIEW in data and len(data) > 1:
                    data.pop(WIDGET_VIEW)
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


#: Threads of the kernel's torch and OpenMP. Fixed, because float reductions split over a different
#: number of threads round differently and training amplifies it: notebook 13's INCE run reaches
#: 55.5 % on one thread and 54.8 % on two. With the count fixed, a fresh execution on any machine of
#: the same CPU family prints what the committed notebook prints (tests/test_notebook_freshness.py).
THREADS = 1


def run(path: Path, *, quick: bool, timeout: int, kernel: str = "python3",
        figure_check: bool = True, threads: int = THREADS) -> tuple[nbformat.NotebookNode, float]:
    """Execute the notebook at ``path`` (not saved) and clean it with :func:`strip`.

    Returns the executed notebook and the wall time in seconds; raises on a failing cell (an error,
    a timeout, or a figure the check refuses).
    """
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    before = {k: os.environ.get(k) for k in ("GCA_LAB_QUICK", "GCA_LAB_FIGURE_CHECK", "OMP_NUM_THREADS",
                                             "MKL_NUM_THREADS")}
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(int(threads))
    if quick:
        os.environ["GCA_LAB_QUICK"] = "1"
    else:
        os.environ.pop("GCA_LAB_QUICK", None)
    os.environ["GCA_LAB_FIGURE_CHECK"] = "1" if figure_check else "0"
    t0 = time.perf_counter()
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name=kernel,
                                resources={"metadata": {"path": str(path.parent.resolve())}})
        client.execute()
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    wall = time.perf_counter() - t0
    strip(nb)
    bad = problems(nb)
    if bad:
        raise RuntimeError(f"{path}: " + "; ".join(bad))
    return nb, wall


def execute(path: Path, *, quick: bool, timeout: int, kernel: str, figure_check: bool = True,
            threads: int = THREADS) -> float:
    """Run ``path`` in place (:func:`run`, then saved); returns the wall time in seconds."""
    nb, wall = run(path, quick=quick, timeout=timeout, kernel=kernel, figure_check=figure_check, threads=threads)
    nbformat.write(nb, path)
    return wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/NN_*.ipynb, in order")
    ap.add_argument("--quick", action="store_true", help="run with GCA_LAB_QUICK=1 (default: full mode)")
    ap.add_argument("--timeout", type=int, default=1800, help="per-cell timeout in seconds (default 1800)")
    ap.add_argument("--kernel", default="python3", help="kernel name (default python3)")
    ap.add_argument("--check", action="store_true", help="do not execute; only report problems")
    ap.add_argument("--threads", type=int, default=THREADS,
                    help=f"torch / OpenMP threads of the kernel (default {THREADS}; the committed outputs use it)")
    ap.add_argument("--no-figure-check", action="store_true",
                    help="do not fail cells whose figures break the style (GCA_LAB_FIGURE_CHECK=0)")
    args = ap.parse_args(argv)
    failed = 0
    for path in args.notebooks or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        if args.check:
            bad = problems(nbformat.read(path, as_version=4))
            print(f"{path}: {'ok' if not bad else '; '.join(bad)}")
            failed += bool(bad)
            continue
        try:
            wall = execute(path, quick=args.quick, timeout=args.timeout, kernel=args.kernel,
                           figure_check=not args.no_figure_check, threads=args.threads)
            print(f"{path}: executed in {wall:.1f} s ({'quick' if args.quick else 'full'} mode)", flush=True)
        except Exception as exc:  # noqa: BLE001 - report and go on with the next notebook
            failed += 1
            cause = f"{exc.ename}: {exc.evalue}" if getattr(exc, "ename", None) else str(exc)
            print(f"{path}: FAILED: {type(exc).__name__}: {cause[:4000]}", file=sys.stderr, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
