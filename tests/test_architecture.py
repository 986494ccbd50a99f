"""The one-way data flow of docs/architecture.md, checked on the source: every import of every module
under ``gca_lab/`` (module level and inside functions) is parsed, resolved to a module of the package,
and must point to a lower layer. A new module must be given a layer here (the test names it otherwise).
"""

from __future__ import annotations

import ast
import sys
from functools import lru_cache
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "gca_lab"

# Layers, lowest first: a module may import modules of strictly lower layers only (and, inside a
# subpackage, its own private helpers). Keep in step with the table of docs/architecture.md.
LAYERS: dict[str, int] = {
    "gca_lab._env": 0, "gca_lab._validate": 0, "gca_lab._io": 0, "gca_lab._paths": 0, "gca_lab._seeds": 0, "gca_lab._image": 0,
    "gca_lab": 1, "gca_lab.stats": 1, "gca_lab.datasets": 1, "gca_lab.domains": 1,
    "gca_lab.ot": 2, "gca_lab.targets": 2, "gca_lab.plans": 2, "gca_lab.geometry": 2,
    "gca_lab.data": 2, "gca_lab.augment": 2, "gca_lab.models": 2, "gca_lab.evaluate": 2,
    "gca_lab.false_positives": 2,
    "gca_lab.losses": 3, "gca_lab.probe": 3,
    "gca_lab.methods": 4,
    "gca_lab.train": 5,
    "gca_lab.explore": 6, "gca_lab.experiments": 6,
    "gca_lab.viz": 7,
    "gca_lab.report": 8, "gca_lab.widgets": 8,
    "gca_lab.__main__": 9,
}
SUBPACKAGES = ("gca_lab.train", "gca_lab.explore", "gca_lab.experiments")
STDLIB = set(sys.stdlib_module_names)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (PKG.parent / rel).with_suffix(".py").is_file() or (PKG.parent / rel / "__init__.py").is_file()


@lru_cache(maxsize=None)
def _imports(path: Path) -> tuple[frozenset[str], frozenset[str]]:
    """(modules of gca_lab imported by ``path``, top-level names of the other packages it imports)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    internal: set[str] = set()
    external: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = alias.name
                (internal if target.split(".")[0] == "gca_lab" else external).add(target)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "gca_lab":
                external.add(target)
                continue
            for alias in node.names:  # "from . import losses" imports a module, "from .ot import x" a name
                sub = f"{target}.{alias.name}"
                internal.add(sub if _is_module(sub) else target)
    external = {e.split(".")[0] for e in external} - {"__future__"}
    return frozenset(internal), frozenset(external)


def _layer(module: str) -> int:
    for name in (module, *(p for p in SUBPACKAGES if module.startswith(p + "."))):
        if name in LAYERS:
            return LAYERS[name]
    raise AssertionError(f"{module} has no layer: add it to LAYERS here and to docs/architecture.md")


def _subpackage(module: str) -> str | None:
    return next((p for p in SUBPACKAGES if module == p or module.startswith(p + ".")), None)


MODULES = sorted(PKG.rglob("*.py"))


def test_the_parser_sees_known_imports():
    """Guard against a parser that silently finds nothing."""
    internal, external = _imports(PKG / "losses.py")
    assert {"gca_lab.ot", "gca_lab.targets", "gca_lab._validate"} <= internal
    assert "torch" in external
    internal, _ = _imports(PKG / "explore" / "sphere.py")
    assert {"gca_lab.methods", "gca_lab.train", "gca_lab.explore._threads"} <= internal


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_imports_point_to_lower_layers(path: Path):
    module = _module_name(path)
    layer, own = _layer(module), _subpackage(module)
    for target in _imports(path)[0]:
        if target == module:
            continue
        if own is not None and _subpackage(target) == own:
            continue  # a subpackage's modules use its own helpers (_core, _threads, batches, ...)
        assert _layer(target) < layer, (
            f"{module} (layer {layer}) imports {target} (layer {_layer(target)}): data flows one way "
            "(docs/architecture.md)")


def _internal(module_file: str) -> frozenset[str]:
    return _imports(PKG / module_file)[0]


def test_solver_and_losses_use_only_torch_and_the_standard_library():
    for name in ("ot.py", "targets.py", "losses.py", "methods.py"):
        internal, external = _imports(PKG / name)
        assert external - STDLIB <= {"torch"}, (name, sorted(external - STDLIB))
    assert _internal("ot.py") <= {"gca_lab._validate"}
    assert "gca_lab.train" not in _internal("losses.py") and "gca_lab.methods" not in _internal("losses.py")


def test_plots_never_train_and_explorers_never_draw():
    for name in ("viz.py", "report.py"):
        assert not any(t.startswith(("gca_lab.train", "gca_lab.experiments", "gca_lab.explore"))
                       for t in _internal(name)), name
    for path in (PKG / "explore").glob("*.py"):
        internal, external = _imports(path)
        assert not {"gca_lab.widgets", "gca_lab.viz"} & internal, path.name
        assert not {"ipywidgets", "matplotlib", "plotly"} & external, path.name
        assert not any(t.startswith("gca_lab.experiments") for t in internal), path.name
    for path in (PKG / "experiments").glob("*.py"):
        assert not any(t.startswith(("gca_lab.explore", "gca_lab.widgets", "gca_lab.viz"))
                       for t in _imports(path)[0]), path.name


def test_only_widgets_import_ipywidgets():
    users = {_module_name(p) for p in MODULES if "ipywidgets" in _imports(p)[1]}
    assert users == {"gca_lab.widgets"}
