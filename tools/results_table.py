"""Write the README's results tables from the committed results (``data/results/*-full.json``).

    python tools/results_table.py           # rewrite the tables in README.md
    python tools/results_table.py --check   # exit 1 if README.md's tables are not the generated ones

Two tables, each with its own verdict counts: the claims of the paper, and the checks of the code and
protocol (``gca_lab.stats.KINDS``). Every row is a claim of an experiment's summary, judged by
``gca_lab.stats.judge`` and laid out by ``gca_lab.report.claims_rows`` (paper figure/table | notebook |
claim | paper effect in points and as share of error | ours with its 95% interval | MDE80 | power at the
paper's effect | verdict); nothing in the tables is typed by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- results:start -->", "<!-- results:end -->"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table() -> str:
    """The markdown tables (claims of the paper, then checks) of every experiment with committed full results."""
    from gca_lab import experiments as E
    from gca_lab import report, stats

    header = ["paper figure / table", "notebook", *report.COLUMNS]
    rows: dict[str, list[str]] = {k: [] for k in stats.KINDS}
    claims: dict[str, list] = {k: [] for k in stats.KINDS}
    missing = []
    for name, exp in E.EXPERIMENTS.items():
        try:
            res = E.load(name, "full")
        except (FileNotFoundError, ValueError):
            missing.append(name)
            continue
        for c in res.summary.get("claims", []):
            row = report.claims_rows([c])[0]
            cells = [exp.figure, f"[{exp.notebook}](notebooks/{exp.notebook})",
                     *[row[col] for col in report.COLUMNS[:-1]], f"**{row['verdict']}**"]
            rows[c.kind].append("| " + " | ".join(_cell(x) for x in cells) + " |")
            claims[c.kind].append(c)
    # the scale note quotes the headline comparison: the first main claim of main_results (GCA-UOT ≥ INCE)
    headline = E.load("main_results", "full").summary["claims"] if "main_results" not in missing else []
    scale = next((c for c in headline if c.main and c.paper_share is not None and c.ours_base is not None), None)
    out = [report.scale_note(scale), ""] if scale is not None else []
    for kind in stats.KINDS:
        counts = ", ".join(f"{n} {v}" for v, n in report.verdict_counts(claims[kind]).items())
        out += [f"### {report.KIND_TITLES[kind]} ({len(claims[kind])}: {counts})", "",
                "| " + " | ".join(header) + " |", "|" + "---|" * len(header), *rows[kind], ""]
    if missing:
        out.append("Not yet run at the full budget: " + ", ".join(f"`{m}`" for m in missing) + ".")
        out.append("")
    return "\n".join(out).rstrip()


def render(readme: str) -> str:
    """``readme`` with the text between the markers replaced by :func:`table`."""
    if START not in readme or END not in readme:
        raise SystemExit(f"README.md lacks the markers {START} ... {END}")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table()}\n{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if README.md is not up to date")
    args = parser.parse_args()
    path = ROOT / "README.md"
    current = path.read_text()
    new = render(current)
    if args.check:
        if new != current:
            print("README.md results table is out of date: run python tools/results_table.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
