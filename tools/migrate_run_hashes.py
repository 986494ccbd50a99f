"""Re-key committed results after a change to what a run hash covers, when the results themselves stay valid.

    python tools/migrate_run_hashes.py            # list what would change (nothing is written)
    python tools/migrate_run_hashes.py --write    # rewrite the hashes in data/results/*-full.json

A run hash (``gca_lab.experiments.run_hash``) covers the spec, the protocol (``gca_lab.train.protocol``:
the resolved TrainConfig, the loss's resolved options, the views, the model) and the library version.
When the protocol gains a field, or a loss gains a keyword whose default reproduces the old values,
every hash changes although no number would: this tool writes the new hashes for such runs only.
It never touches a result, and it leaves stale (listed, not migrated) every run whose loss uses
``convention="reference"`` with an unbalanced loss (UOT, GCA-UOT), whose values follow the authors'
current code and so did change (docs/reference_implementation.md). Use it once per such change, say
why in the commit message ("... migrated"), and pin the reason with a test (tests/test_train.py,
``test_committed_hashes_were_migrated_once_when_the_loss_options_joined_the_protocol``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _left_stale(config: object) -> bool:
    from gca_lab.train import resolved_loss_options

    if config is None:
        return False
    opts = resolved_loss_options(config)  # type: ignore[arg-type]
    return opts.get("convention") == "reference" and getattr(config, "method", None) in ("uot", "gca_uot")


def migrate(path: Path, write: bool) -> tuple[int, list[str]]:
    """``(runs re-keyed, keys left stale)`` of one committed file; rewrites it when ``write``."""
    from gca_lab import experiments as E
    from gca_lab.experiments import _core

    text = path.read_text()
    data = json.loads(text)
    runs = E.plan(data["experiment"], data["budget"], **data.get("overrides", {}))
    moved, stale = 0, []
    for r in runs:
        old, new = data["runs"][r.key]["hash"], E.run_hash(r)
        if old == new:
            continue
        if _left_stale(_core._config_of(r)):
            stale.append(r.key)
            continue
        text = text.replace(f'"hash": "{old}"', f'"hash": "{new}"', 1)
        moved += 1
    if not stale:
        text = text.replace(f'"hash": "{data["hash"]}"', f'"hash": "{E.experiment_hash(runs)}"', 1)
    if write and moved:
        path.write_text(text)
    return moved, stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="rewrite the files (default: only list)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    for path in sorted((ROOT / "data" / "results").glob("*-full.json")):
        moved, stale = migrate(path, args.write)
        print(f"{path.name}: {moved} run hashes {'rewritten' if args.write else 'to rewrite'}"
              + (f"; left stale (recompute): {', '.join(stale)}" if stale else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
