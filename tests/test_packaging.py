"""The project installs the same things for pip and conda users, and its entry points exist."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# conda package names that differ from their PyPI names.
CONDA_TO_PIP = {"pytorch": "torch"}
NOT_PACKAGES = {"python", "pip"}

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def _name(spec: str) -> str:
    name = re.split(r"[<>=!~ \[;]", spec.strip(), maxsplit=1)[0].strip().lower().replace("_", "-")
    return CONDA_TO_PIP.get(name, name)


def _pyproject_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        specs += extra
    return {_name(s) for s in specs}


def _environment_names() -> set[str]:
    yaml = pytest.importorskip("yaml")
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names: set[str] = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            names |= {_name(s) for s in dep.get("pip", []) if not s.startswith("-e")}
        else:
            names.add(_name(dep))
    return names - NOT_PACKAGES


def test_environment_yml_names_the_same_packages_as_pyproject() -> None:
    pip_names, conda_names = _pyproject_names(), _environment_names()
    assert conda_names == pip_names, {
        "only in environment.yml": sorted(conda_names - pip_names),
        "only in pyproject.toml": sorted(pip_names - conda_names),
    }


def test_environment_yml_installs_the_project_itself() -> None:
    text = (ROOT / "environment.yml").read_text()
    assert "-e ." in text


def test_torch_floor_never_above_the_cpu_wheel() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    torch_spec = next(s for s in project["dependencies"] if _name(s) == "torch")
    floor = re.search(r">=\s*([\d.]+)", torch_spec)
    assert floor is not None
    major, minor = (int(x) for x in floor.group(1).split(".")[:2])
    assert (major, minor) <= (2, 13), torch_spec


def test_readme_quick_start_commands_are_the_ci_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_cmd = ".venv/bin/python -m pytest"
    assert test_cmd in readme and test_cmd in ci
    assert "pip install torch==2.13.0 -e '.[dev]'" in readme
    assert "pip install -q torch==2.13.0 -e '.[dev]'" in ci


def _package_files() -> set[str]:
    """Every file of the package source that a wheel must carry (no caches, no compiled files)."""
    return {p.relative_to(ROOT).as_posix() for p in (ROOT / "gca_lab").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


@pytest.mark.slow
def test_wheel_holds_every_subpackage_and_its_data(tmp_path: Path) -> None:
    """``pip install .`` builds a wheel: it must hold every module of every subpackage and the data
    files beside them (a wheel of ``packages = ["gca_lab"]`` lacked gca_lab/experiments)."""
    import shutil
    import subprocess
    import zipfile

    # Build from a copy, so the build leaves no build/ or egg-info in the checkout.
    src = tmp_path / "src"
    shutil.copytree(ROOT / "gca_lab", src / "gca_lab", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(tmp_path / "dist"), str(src)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("gca_lab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = _package_files() - names
    assert not missing, f"the wheel lacks {sorted(missing)}: add them to [tool.setuptools.package-data]"
    subpackages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "gca_lab").rglob("__init__.py")}
    assert {"gca_lab", "gca_lab/experiments", "gca_lab/explore"} <= subpackages
    assert "gca_lab/py.typed" in names
    assert not {n for n in names if n.startswith(("tests/", "notebooks/", "data/", "benchmarks/"))}
