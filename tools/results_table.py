"""Write the README's results table from the committed results (``data/results/*-full.json``).

    python tools/results_table.py           # rewrite the table in README.md
    python tools/results_table.py --check   # exit 1 if README.md's table is not the generated one

Every row is a claim of an experiment's summary, judged by ``gca_lab.stats.judge`` and laid out by
``gca_lab.report.claims_rows`` (paper figure/table | notebook | claim | paper | paper effect | ours with
its 95% interval | detectable effect | verdict), followed by the verdict counts; nothing in the table is
typed by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- results:start -->", "<!-- results:end -->"


def table() -> str:
    """The markdown table of every experiment with committed full results."""
    from gca_lab import experiments as E
    from gca_lab import report

    header = ["paper figure / table", "notebook", *report.COLUMNS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    missing, claims = [], []
    for name, exp in E.EXPERIMENTS.items():
        try:
            res = E.load(name, "full")
        except (FileNotFoundError, ValueError):
            missing.append(name)
            continue
        claims += res.summary.get("claims", [])
        for row in report.claims_rows(res.summary.get("claims", [])):
            cells = [exp.figure, f"[{exp.notebook}](notebooks/{exp.notebook})",
                     *[row[c] for c in report.COLUMNS[:-1]], f"**{row['verdict']}**"]
            lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    lines.append("")
    lines.append(f"{len(claims)} claims: " + ", ".join(f"{n} {v}" for v, n in report.verdict_counts(claims).items())
                 + ".")
    if missing:
        lines.append("")
        lines.append("Not yet run at the full budget: " + ", ".join(f"`{m}`" for m in missing) + ".")
    return "\n".join(lines)


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
