"""Yes/no switches given as text: environment flags (``GCA_LAB_QUICK=1``) and command-line values."""

from __future__ import annotations

import os

__all__ = ["TRUE", "FALSE", "parse_bool", "env_flag"]

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off", ""})


def parse_bool(text: str, name: str = "value") -> bool:
    """``True`` for ``1, true, yes, on``; ``False`` for ``0, false, no, off`` or empty (any case,
    surrounding spaces ignored); ``ValueError`` naming ``name`` for anything else."""
    lowered = str(text).strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ValueError(f"{name} must be one of {', '.join(sorted(TRUE))} (true) or "
                     f"{', '.join(sorted(FALSE - {''}))} (false), got {text!r}")


def env_flag(name: str, default: bool = False) -> bool:
    """The environment variable ``name`` read with :func:`parse_bool`; ``default`` when it is unset."""
    value = os.environ.get(name)
    return default if value is None else parse_bool(value, name)
