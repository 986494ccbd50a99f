"""The experiment runner: caching, corrupted and stale entries, overrides, committed results up to date."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gca_lab import experiments as E
from gca_lab.experiments import _core

ROOT = Path(__file__).resolve().parents[1]
CALLS: list[dict] = []


@_core.computation("_test_square")
def _square(x: float, epochs: int = 1) -> dict:
    CALLS.append({"x": x, "epochs": epochs})
    return {"value": x * x * epochs}


@pytest.fixture()
def toy(monkeypatch: pytest.MonkeyPatch):
    """A registered two-run experiment whose runs are cheap computations."""
    spec = {"x": 3.0, "epochs": 1}

    def plan(budget: str) -> list[E.Run]:
        return [E.Run("a", "compute", {"fn": "_test_square", **spec}),
                E.Run("b", "compute", {"fn": "_test_square", "x": 2.0, "epochs": 1})]

    def summarize(results: dict, budget: str) -> dict:
        return {"total": sum(r["value"] for r in results.values())}

    exp = E.Experiment("_toy", "toy figure", "squares add up", "none.ipynb", plan, summarize)
    monkeypatch.setitem(_core.EXPERIMENTS, "_toy", exp)
    CALLS.clear()
    return spec


def test_results_are_cached_and_reused(toy: dict, tmp_path: Path) -> None:
    first = E.run("_toy", "quick", root=tmp_path, progress=False)
    assert first.summary == {"total": 13.0} and first.computed == 2
    second = E.run("_toy", "quick", root=tmp_path, progress=False)
    assert second.computed == 0 and second.summary == first.summary and len(CALLS) == 2
    assert E.run("_toy", "quick", root=tmp_path, progress=False, recompute=True).computed == 2


def test_every_call_that_computes_runs_records_its_compute(toy: dict, tmp_path: Path) -> None:
    """Issue 18, item 8: what re-running a budget costs is measured, not estimated: each call that computed
    runs appends its wall and CPU time to the record beside the cache; a call that only loads adds nothing."""
    from gca_lab import report

    first = E.run("_toy", "quick", root=tmp_path, progress=False)
    record = _core.compute_records(first.path)
    assert _core.compute_path(first.path) == tmp_path / "compute" / first.path.name
    assert len(record) == 1 and record[0]["runs_computed"] == 2 and record[0]["jobs"] == 1
    assert record[0]["wall_s"] >= 0 and record[0]["cpu_s"] >= 0 and not record[0]["scheduler"]
    assert E.run("_toy", "quick", root=tmp_path, progress=False).computed == 0
    assert _core.compute_records(first.path) == record
    E.run("_toy", "quick", root=tmp_path, progress=False, recompute=["b"])
    loaded = E.load("_toy", "quick", root=tmp_path)
    assert [r["runs_computed"] for r in loaded.compute] == [2, 1]
    assert report.compute_line(loaded.compute).startswith("; measured: 3 runs in ")
    assert "with --jobs 1" in report.wall_time_line(loaded) and report.compute_line([]) == ""
    # a damaged record holds measurements, never results: it reads as empty and the next call starts it again
    _core.compute_path(first.path).write_text("{not json")
    assert _core.compute_records(first.path) == []


def test_recompute_names_the_runs_to_compute_again(toy: dict, tmp_path: Path) -> None:
    # a code change no hash covers (a loss formula) outdates some runs: only those are computed again
    path = E.run("_toy", "quick", root=tmp_path, progress=False).path
    stored = json.loads(path.read_text())["runs"]
    stored["b"]["result"]["value"] = -1.0  # what the old code had computed
    stored["a"]["result"]["value"] = -2.0
    path.write_text(json.dumps({**json.loads(path.read_text()), "runs": stored}))
    CALLS.clear()
    res = E.run("_toy", "quick", root=tmp_path, progress=False, recompute=["b"])
    assert res.computed == 1 and CALLS == [{"x": 2.0, "epochs": 1}]
    runs = json.loads(path.read_text())["runs"]
    assert runs["b"]["result"]["value"] == 4.0 and runs["a"]["result"]["value"] == -2.0  # a untouched
    with pytest.raises(ValueError, match="recompute names runs that are not in the plan: c"):
        E.run("_toy", "quick", root=tmp_path, progress=False, recompute=["c"])
    with pytest.raises(TypeError, match="recompute must be"):
        E.run("_toy", "quick", root=tmp_path, progress=False, recompute="b")


def test_corrupted_cache_file_is_recomputed_with_a_warning(toy: dict, tmp_path: Path) -> None:
    path = E.run("_toy", "quick", root=tmp_path, progress=False).path
    path.write_text('{"runs": {"a": ')  # a torn write
    with pytest.warns(RuntimeWarning, match="corrupted"):
        again = E.run("_toy", "quick", root=tmp_path, progress=False)
    assert again.computed == 2 and again.summary == {"total": 13.0}
    assert json.loads(path.read_text())["runs"]["a"]["result"]["value"] == 9.0


def test_changed_config_is_recomputed_with_a_warning(toy: dict, tmp_path: Path) -> None:
    E.run("_toy", "quick", root=tmp_path, progress=False)
    toy["x"] = 4.0  # the experiment's definition changes
    with pytest.warns(RuntimeWarning, match="stale"):
        again = E.run("_toy", "quick", root=tmp_path, progress=False)
    assert again.computed == 1 and again.results["a"]["value"] == 16.0


def test_cached_runs_after_the_last_computed_one_reach_the_file(toy: dict, tmp_path: Path) -> None:
    path = E.run("_toy", "quick", root=tmp_path, progress=False).path
    toy["x"] = 4.0  # run "a" (first in the plan) goes stale, "b" (after it) stays cached
    with pytest.warns(RuntimeWarning, match="stale"):
        E.run("_toy", "quick", root=tmp_path, progress=False)
    saved = json.loads(path.read_text())["runs"]
    assert set(saved) == {"a", "b"} and saved["a"]["result"]["value"] == 16.0
    assert E.load("_toy", "quick", root=tmp_path).summary == {"total": 20.0}


def test_overrides_apply_to_matching_spec_keys_and_get_their_own_file(toy: dict, tmp_path: Path) -> None:
    base = E.run("_toy", "quick", root=tmp_path, progress=False)
    over = E.run("_toy", "quick", root=tmp_path, progress=False, epochs=3)
    assert over.path != base.path and over.summary == {"total": 39.0}
    with pytest.raises(ValueError, match="override"):
        E.run("_toy", "quick", root=tmp_path, progress=False, not_a_field=1)


def test_unknown_experiment_and_budget_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown experiment"):
        E.get("no_such_figure")
    with pytest.raises(ValueError, match="budget"):
        E.plan("main_results", "huge")


# The quick budget of each figure experiment (what nbval runs): at most this many training runs, each
# an MLP on digits for at most this many epochs.
QUICK_LIMITS = {
    "main_results": (8, 2), "strong_augmentations": (8, 2),
    "epsilon_iterations": (14, 2),  # + GCA-UOT over the eps grid and rho (issue 18, item 6): 14 digits runs, ~13 s
    "cost_of_alignment": (4, 3), "kernels_and_couplings": (4, 3), "domain_priors": (4, 3),
    "implementation_choices": (4, 3), "baseline_recipe": (4, 1), "baseline_eps": (6, 1),
    "false_positive_pairs": (4, 1),  # compute runs (MNIST-1D, 1,000 signals, 1 epoch), counted with the training runs
}


@pytest.mark.parametrize("name", sorted(E.EXPERIMENTS))
@pytest.mark.parametrize("budget", ["quick", "full"])
def test_every_registered_experiment_plans_valid_runs(name: str, budget: str) -> None:
    from gca_lab.train import TrainConfig

    runs = E.plan(name, budget)
    assert runs and len({r.key for r in runs}) == len(runs)
    for r in runs:
        if r.kind == "train":
            TrainConfig(**{**r.spec, "corruptions": tuple(r.spec.get("corruptions", ()))}).validate()
        else:
            assert r.spec["fn"] in _core.COMPUTATIONS, (name, r.key)
    assert (ROOT / "notebooks" / E.get(name).notebook).is_file()


@pytest.mark.parametrize("name", sorted(QUICK_LIMITS))
def test_quick_plans_are_small(name: str) -> None:
    max_train, max_epochs = QUICK_LIMITS[name]
    runs = E.plan(name, "quick")
    train = [r for r in runs if r.kind == "train" or "epochs" in r.spec]
    assert len(train) <= max_train
    for r in runs:
        assert r.spec.get("epochs", 0) <= max_epochs and r.spec.get("model", "mlp") == "mlp", r.key
    for r in train:
        if r.kind == "train":
            assert r.spec["dataset"].endswith("digits"), r.key
    assert E.plan(name, "full") != runs  # the full budget is a different, larger protocol


def test_quick_limits_cover_every_experiment() -> None:
    assert set(QUICK_LIMITS) == set(E.EXPERIMENTS)


def _committed_results() -> list[Path]:
    return sorted(p for p in (ROOT / "data" / "results").glob("*.json") if "-quick" not in p.name)


def test_committed_results_come_from_the_committed_code() -> None:
    """Recompute the hash of every committed result: a stale file (its experiment changed) fails."""
    paths = _committed_results()
    if not paths:
        pytest.skip("no committed results in data/results")
    for path in paths:
        data = json.loads(path.read_text())
        runs = E.plan(data["experiment"], data["budget"], **data.get("overrides", {}))
        assert data["hash"] == E.experiment_hash(runs), f"{path.name} is stale: re-run its experiment"
        assert set(data["runs"]) == {r.key for r in runs}, f"{path.name} lacks runs of its plan"
        for r in runs:
            assert data["runs"][r.key]["hash"] == E.run_hash(r), f"{path.name}: run {r.key} is stale"


def test_readme_results_table_is_generated_from_the_committed_results() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("results_table", ROOT / "tools" / "results_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (ROOT / "README.md").read_text()
    assert module.render(readme) == readme, "run `python tools/results_table.py` and commit README.md"


def test_load_never_computes(toy: dict, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        E.load("_toy", "quick", root=tmp_path)
    E.run("_toy", "quick", root=tmp_path, progress=False)
    assert E.load("_toy", "quick", root=tmp_path).summary == {"total": 13.0}
    toy["x"] = 5.0
    with pytest.raises(ValueError, match="stale"):
        E.load("_toy", "quick", root=tmp_path)


# ---------------------------------------------------------------------------------------------------------------
# results do not depend on the datasets installed (a machine without Debian's dataset-fashion-mnist)
# ---------------------------------------------------------------------------------------------------------------


@_core.computation("_test_square_on")
def _square_on(x: float, dataset: str, data_root: str) -> dict:
    CALLS.append({"x": x, "dataset": dataset})
    return {"value": x * x}


def _hide_system_fashion_mnist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point the loader away from /usr/share/datasets/fashion-mnist (hidden, not deleted) and from ./data."""
    from gca_lab import data

    monkeypatch.setattr(data, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "no-system-fashion-mnist")
    monkeypatch.chdir(tmp_path)  # a data/fashion_mnist/ folder in the checkout would count as installed
    assert data.missing_files("fashion_mnist") is not None


def test_committed_results_and_readme_table_are_the_same_without_fashion_mnist(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if not _committed_results():
        pytest.skip("no committed results in data/results")
    before = {name: E.experiment_hash(E.plan(name, "full")) for name in E.EXPERIMENTS}
    _hide_system_fashion_mnist(monkeypatch, tmp_path)
    assert {name: E.experiment_hash(E.plan(name, "full")) for name in E.EXPERIMENTS} == before
    test_committed_results_come_from_the_committed_code()
    test_readme_results_table_is_generated_from_the_committed_results()
    res = E.load("main_results", "full")
    fashion = [k for k in res.results if k.startswith("fashion_mnist/")]
    assert fashion and set(res.data_missing) == set(fashion)
    assert all(v.startswith("data missing here: loaded from cache") for v in res.data_missing.values())


@pytest.fixture()
def fashion_toy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A two-run experiment, one run on digits (bundled) and one on Fashion-MNIST (files under the returned root)."""
    _hide_system_fashion_mnist(monkeypatch, tmp_path)
    data_root = tmp_path / "toy-data"

    def plan(budget: str) -> list[E.Run]:
        return [E.Run(f"{d}/square", "compute", {"fn": "_test_square_on", "x": x, "dataset": d,
                                                 "data_root": str(data_root)})
                for d, x in (("digits", 2.0), ("fashion_mnist", 3.0))]

    def summarize(results: dict, budget: str) -> dict:
        return {"total": sum(r["value"] for r in results.values())}

    monkeypatch.setitem(_core.EXPERIMENTS, "_fashion_toy",
                        E.Experiment("_fashion_toy", "toy", "squares add up", "none.ipynb", plan, summarize))
    CALLS.clear()
    return data_root


def _install_fake_fashion_mnist(data_root: Path) -> None:
    from gca_lab import data

    (data_root / "fashion_mnist").mkdir(parents=True)
    for name in data.FASHION_MNIST_FILES:
        (data_root / "fashion_mnist" / f"{name}.gz").write_bytes(b"")  # only their presence is checked


def test_missing_uncached_data_is_a_clear_error_before_any_run(fashion_toy: Path, tmp_path: Path) -> None:
    root = tmp_path / "results"
    with pytest.raises(FileNotFoundError, match=r"(?s)fashion_mnist/square.*Fashion-MNIST.*apt-get install "
                                                r"dataset-fashion-mnist"):
        E.run("_fashion_toy", "full", root=root, progress=False)
    assert CALLS == [] and not root.exists()  # nothing computed, nothing written


def test_missing_data_is_loaded_from_the_cache_marked_and_never_overwritten(fashion_toy: Path, tmp_path: Path) -> None:
    root = tmp_path / "results"
    plan_without = E.plan("_fashion_toy", "full")
    _install_fake_fashion_mnist(fashion_toy)
    assert E.plan("_fashion_toy", "full") == plan_without  # the plan does not depend on installed data
    first = E.run("_fashion_toy", "full", root=root, progress=False)
    assert first.computed == 2 and first.data_missing == {} and first.summary == {"total": 13.0}
    committed = first.path.read_bytes()
    entry = json.loads(committed)["runs"]["fashion_mnist/square"]

    for sub in (data_root := fashion_toy / "fashion_mnist").iterdir():
        sub.unlink()
    data_root.rmdir()
    CALLS.clear()
    again = E.run("_fashion_toy", "full", root=root, progress=False)
    assert again.computed == 0 and CALLS == [] and again.summary == first.summary
    assert list(again.data_missing) == ["fashion_mnist/square"]
    assert again.data_missing["fashion_mnist/square"].startswith("data missing here: loaded from cache")
    assert first.path.read_bytes() == committed and again.hash == first.hash

    forced = E.run("_fashion_toy", "full", root=root, progress=False, recompute=True)
    assert forced.computed == 1 and CALLS == [{"x": 2.0, "dataset": "digits"}]  # only the run whose data is here
    assert json.loads(forced.path.read_text())["runs"]["fashion_mnist/square"] == entry
    loaded = E.load("_fashion_toy", "full", root=root)
    assert loaded.summary == first.summary and list(loaded.data_missing) == ["fashion_mnist/square"]


MNIST1D_EXPERIMENTS = ("main_results", "strong_augmentations", "epsilon_iterations", "kernels_and_couplings",
                       "cost_of_alignment", "implementation_choices")


def _assert_states(name: str, budget: str, convention: str) -> None:
    from gca_lab.experiments._common import W1_FAMILY

    assert W1_FAMILY == {"rince", "gca_rince", "uot", "gca_uot"}
    for r in E.plan(name, budget):
        if r.kind == "train":
            opts = r.spec.get("loss_options", {})
            if r.spec.get("method", "gca_uot") in W1_FAMILY:
                assert opts.get("convention") == convention, r.key
            else:
                assert "convention" not in opts, r.key  # KL-family losses do not depend on it
        elif r.spec["fn"] == "implementation_choices.init_reference_eval":
            continue  # evaluates a never-trained encoder: no loss at all
        elif r.spec["fn"] not in ("raw_input", "gca_ince_loss_vs_iters"):  # no W1 loss in these two
            stated = r.spec.get("convention", r.spec.get("loss_options", {}).get("convention"))
            assert stated == convention, r.key


@pytest.mark.parametrize("name", MNIST1D_EXPERIMENTS)
@pytest.mark.parametrize("budget", ["quick", "full"])
def test_w1_family_runs_of_the_mnist1d_experiments_state_the_gca_convention(name: str, budget: str) -> None:
    """The experiments re-run on the MNIST-1D protocol state ``convention="gca"`` (the library default,
    under which the paper's lam, q and rho weigh the terms as in the authors' runs) in every W1 spec."""
    from gca_lab.experiments._common import CONVENTION

    assert CONVENTION == "gca"
    _assert_states(name, budget, CONVENTION)


def test_run_hash_covers_the_protocol_outside_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    """Defaults that live outside TrainConfig (view parameters, encoder layers) key the cache too."""
    from gca_lab import augment, models
    from gca_lab.train import _model_repr

    r = _core.Run("a", "train", {"dataset": "mnist1d", "method": "ince", "epochs": 1})
    h = _core.run_hash(r)
    from gca_lab.train import TrainConfig, protocol

    base = TrainConfig(**r.spec)
    assert protocol(TrainConfig(**r.spec, progress=False, device="cpu", data_root="/x")) == protocol(base)
    assert protocol(TrainConfig(**r.spec, eps=0.5)) == protocol(base)  # defaults are resolved
    std = augment.SignalViews._DEFAULTS["standard"]
    monkeypatch.setitem(augment.SignalViews._DEFAULTS, "standard", (0.0,) + std[1:])
    assert _core.run_hash(r) != h
    monkeypatch.setitem(augment.SignalViews._DEFAULTS, "standard", std)
    assert _core.run_hash(r) == h
    _model_repr.cache_clear()
    monkeypatch.setattr(models.ConvNet1d.__init__, "__kwdefaults__",
                        {**models.ConvNet1d.__init__.__kwdefaults__, "out_dim": 96})
    assert _core.run_hash(r) != h
    _model_repr.cache_clear()
    # A computation that names a dataset or a model gets the protocol of the config it describes.
    c = _core.Run("c", "compute", {"fn": "x", "dataset": "digits", "model": "mlp"})
    assert _core._config_of(c) is not None
    assert _core._config_of(_core.Run("c", "compute", {"fn": "x", "batch": 8})) is None


# ---------------------------------------------------------------------------------------------------------------
# another process writing the same cache meanwhile (tests/test_parallel_runs.py runs real processes)
# ---------------------------------------------------------------------------------------------------------------

PEER: dict = {}


@_core.computation("_test_square_with_peer")
def _square_with_peer(x: float) -> dict:
    hook = PEER.pop("hook", None)
    if hook is not None:
        hook()  # what a concurrent `reproduce` of the same experiment does while this run computes
    CALLS.append({"x": x})
    return {"value": x * x}


def test_a_run_finished_by_another_process_meanwhile_is_kept_and_not_recomputed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from gca_lab._io import atomic_write_json, file_lock

    runs = [E.Run(k, "compute", {"fn": "_test_square_with_peer", "x": x}) for k, x in (("a", 3.0), ("b", 2.0))]
    exp = E.Experiment("_peer_toy", "toy", "squares add up", "none.ipynb", lambda budget: runs,
                       lambda results, budget: {"total": sum(r["value"] for r in results.values())})
    monkeypatch.setitem(_core.EXPERIMENTS, "_peer_toy", exp)
    path = E.results_path("_peer_toy", "quick", root=tmp_path)
    peer_b = {"hash": E.run_hash(runs[1]), "kind": "compute", "spec": runs[1].spec,
              "result": {"value": 4.0, "by": "peer", "wall_time": 0.1}}

    def peer_saves_b() -> None:  # the peer saved b, and a stale entry of a, after this process read the file
        with file_lock(path):
            atomic_write_json(path, {"runs": {"b": peer_b, "a": {**peer_b, "hash": "stale"}}})

    CALLS.clear()
    PEER["hook"] = peer_saves_b
    res = E.run("_peer_toy", "quick", root=tmp_path, progress=False)
    assert CALLS == [{"x": 3.0}] and res.computed == 1  # b was taken from the peer, not recomputed
    assert res.results["b"]["by"] == "peer" and res.summary == {"total": 13.0}
    saved = json.loads(path.read_text())["runs"]
    assert saved["b"] == peer_b and saved["a"]["result"]["value"] == 9.0  # both kept; the stale entry replaced
    assert E.load("_peer_toy", "quick", root=tmp_path).summary == {"total": 13.0}

    CALLS.clear()
    PEER["hook"] = lambda: None
    forced = E.run("_peer_toy", "quick", root=tmp_path, progress=False, recompute=True)
    assert forced.computed == 2 and "by" not in json.loads(path.read_text())["runs"]["b"]["result"]
