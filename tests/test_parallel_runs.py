"""The runner's workers: ``jobs=N`` processes and a Dask cluster give the cache ``jobs=1`` gives, and
the cache survives concurrent writers and a worker killed mid-run (gca_lab/experiments/_core.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests import _runner_toy
from gca_lab import experiments as E
from gca_lab.__main__ import main
from gca_lab.experiments import _core

ROOT = Path(__file__).resolve().parents[1]
TIMING = ("wall_time", "epoch_time", "pid")  # how long and where a run took: the only fields allowed to differ


@pytest.fixture()
def toy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The toy experiment registered here, its computations logging into the returned folder."""
    monkeypatch.setitem(_core.EXPERIMENTS, _runner_toy.NAME, _runner_toy.experiment())
    log = tmp_path / "log"
    log.mkdir()
    monkeypatch.setenv("TOY_DIR", str(log))
    # worker processes import _runner_toy (a computation is pickled by reference) and gca_lab from here
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    monkeypatch.setenv("PYTHONPATH", path.rstrip(os.pathsep))
    return log


def _content(path: Path) -> dict:
    """The cache file without its timings (and where each run ran)."""

    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in TIMING}
        return obj

    return strip(json.loads(path.read_text()))


def _reference(tmp_path: Path) -> Path:
    """The cache of ``jobs=1`` in this process, one torch thread (as each worker)."""
    threads = torch.get_num_threads()
    res = E.run(_runner_toy.NAME, "quick", root=tmp_path / "serial", progress=False, threads=1)
    assert torch.get_num_threads() == threads  # restored after the runs
    assert res.computed == 8 and res.summary == {"total": sum(x * x for x in range(6))}
    assert {res.results[f"square/{x}"]["pid"] for x in range(6)} == {os.getpid()}
    return res.path


@pytest.mark.slow
def test_jobs_2_caches_what_jobs_1_caches(toy: Path, tmp_path: Path) -> None:
    reference = _reference(tmp_path)
    res = E.run(_runner_toy.NAME, "quick", root=tmp_path / "pool", progress=False, jobs=2)
    assert res.computed == 8
    assert _content(res.path) == _content(reference)
    pids = {res.results[f"square/{x}"]["pid"] for x in range(6)}
    assert os.getpid() not in pids  # computed in the workers
    # training runs too, bit for bit: the probe's accuracy and every epoch's loss
    assert res.results["digits/gca_uot"]["metrics"] == json.loads(reference.read_text())["runs"][
        "digits/gca_uot"]["result"]["metrics"]
    again = E.run(_runner_toy.NAME, "quick", root=tmp_path / "pool", progress=False, jobs=2)
    assert again.computed == 0 and again.results == res.results


@pytest.mark.slow
def test_a_local_dask_cluster_caches_what_jobs_1_caches(toy: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    reference = _reference(tmp_path)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster:
        res = E.run(_runner_toy.NAME, "quick", root=tmp_path / "dask", progress=False,
                    scheduler=cluster.scheduler_address)
        with distributed.Client(cluster) as client:
            worker_pids = set(client.run(os.getpid).values())
    assert res.computed == 8
    assert _content(res.path) == _content(reference)
    assert {res.results[f"square/{x}"]["pid"] for x in range(6)} <= worker_pids


def test_jobs_and_threads_are_validated(toy: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="jobs must be >= 1, got 0"):
        E.run(_runner_toy.NAME, "quick", root=tmp_path, progress=False, jobs=0)
    with pytest.raises(TypeError, match="threads must be an integer"):
        E.run(_runner_toy.NAME, "quick", root=tmp_path, progress=False, threads=1.5)
    assert not (tmp_path / f"{_runner_toy.NAME}-quick.json").exists()


def test_a_run_that_raises_in_a_worker_raises_here_and_keeps_the_finished_runs(
    toy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOY_TRAIN", "0")
    monkeypatch.setenv("TOY_RUNS", "3")
    exp = _runner_toy.experiment()
    plan = exp.plan

    def broken(budget: str) -> list[E.Run]:  # the last run names a computation argument that does not exist
        runs = plan(budget)
        return runs[:-1] + [E.Run(runs[-1].key, "compute", {**runs[-1].spec, "not_an_argument": 1})]

    monkeypatch.setitem(_core.EXPERIMENTS, _runner_toy.NAME, _core.Experiment(
        exp.name, exp.figure, exp.claim, exp.notebook, broken, exp.summarize))
    with pytest.raises(TypeError, match="not_an_argument") as info:
        E.run(_runner_toy.NAME, "quick", root=tmp_path, progress=False, jobs=2)
    assert any("square/2" in note for note in getattr(info.value, "__notes__", ["square/2"]))
    saved = json.loads((tmp_path / f"{_runner_toy.NAME}-quick.json").read_text())["runs"]
    assert set(saved) == {"square/0", "square/1"}


def _entries(path: Path) -> dict:
    try:
        return json.loads(path.read_text())["runs"]
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


@pytest.mark.slow
def test_two_writers_and_a_killed_worker_lose_no_finished_run(
    toy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two ``reproduce`` processes share one cache file: A (``--jobs 2``) and B (one run at a time,
    slowed down). A's worker hangs on ``square/0`` and is killed with SIGKILL once A has saved two
    runs; A stops with a one-line error, B finishes the plan. Every run A finished stays in the file as
    A wrote it (B takes it instead of recomputing it), the file is valid JSON and holds every run."""
    root = tmp_path / "results"
    path = root / f"{_runner_toy.NAME}-quick.json"
    for name, value in {"TOY_RUNS": "8", "TOY_DELAY": "0.3", "TOY_TRAIN": "0", "OMP_NUM_THREADS": "1"}.items():
        monkeypatch.setenv(name, value)  # here too: the plan (and so each run's hash) reads them
    env = dict(os.environ)
    script = "import sys; from tests import _runner_toy; sys.exit(_runner_toy.reproduce(sys.argv[1:]))"
    cmd = [sys.executable, "-c", script, "--quick", "--jobs"]

    def start(jobs: str, **extra: str) -> subprocess.Popen:
        return subprocess.Popen([*cmd, jobs], env={**env, **extra, "GCA_LAB_RESULTS": str(root)}, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    a = start("2", TOY_HANG="0")
    b = start("1", TOY_EXTRA_SLEEP="2.0")  # slow enough that A saves runs even when its workers start late
    try:
        deadline = time.monotonic() + 120
        while True:  # until A's workers have saved two runs, with A's other worker still hanging on square/0
            by_a = {k: v["result"]["pid"] for k, v in _entries(path).items() if v["result"]["pid"] != b.pid}
            hanging = [p for p in toy.glob("start-0-*") if int(p.name.split("-")[2]) != b.pid]
            if len(by_a) >= 2 and hanging:
                break
            assert time.monotonic() < deadline and a.poll() is None and b.poll() is None, "A never got going"
            time.sleep(0.05)
        os.kill(int(hanging[0].name.split("-")[2]), signal.SIGKILL)
        a_out, a_err = a.communicate(timeout=60)
        b_out, b_err = b.communicate(timeout=120)
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.kill()
    assert a.returncode == 2 and "worker process died" in a_err and "Traceback" not in a_err, a_err[-2000:]
    assert b.returncode == 0, b_err[-2000:]
    final = json.loads(path.read_text())  # valid JSON
    values = {k: v["result"]["value"] for k, v in final["runs"].items()}
    assert values == {f"square/{x}": x * x for x in range(8)}
    assert {k: final["runs"][k]["result"]["pid"] for k in by_a} == by_a  # A's finished runs, as A saved them
    # no temporary file left: the cache, its lock and the compute record (B's call computed runs)
    assert {p.name for p in root.iterdir()} <= {path.name, path.name + ".lock", "compute"}
    assert {p.name for p in (root / "compute").iterdir()} == {path.name}
    assert E.load(_runner_toy.NAME, "quick", root=root).summary == {"total": sum(x * x for x in range(8))}


def test_reproduce_takes_jobs_and_reports_bad_values_in_one_line(
    toy: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOY_TRAIN", "0")
    monkeypatch.setenv("GCA_LAB_RESULTS", str(tmp_path))
    assert main(["reproduce", _runner_toy.NAME, "--quick", "--jobs", "0"]) == 2
    assert "jobs must be >= 1, got 0" in capsys.readouterr().err
    assert main(["reproduce", _runner_toy.NAME, "--quick", "--threads", "1"]) == 0
    assert "6 runs computed" in capsys.readouterr().out
