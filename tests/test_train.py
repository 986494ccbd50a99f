"""The training loop and its parts: every method trains, resume is exact and really resumes, the DDP parts
shard and agree, bad configs stop early."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP

from gca_lab.methods import METHODS
from gca_lab.train import (
    TrainConfig, build_loss, byol_tau, checkpoint_path, epoch_batches, fit, gather_labels, load_checkpoint, lr_factor,
    run_epoch, save_checkpoint, setup, train,
)

ROOT = Path(__file__).resolve().parents[1]


def _small(**fields) -> TrainConfig:
    base = dict(dataset="digits", model="mlp", epochs=2, batch_size=128, progress=False, probe=False)
    base.update(fields)
    return TrainConfig(**base)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_trains_two_epochs_on_digits(method: str) -> None:
    result = train(_small(method=method))
    assert len(result.history["loss"]) == 2
    assert all(torch.isfinite(torch.tensor(result.history["step_loss"])))
    assert result.config["method"] == method
    assert result.versions["gca_lab"]


def test_probe_metrics_and_provenance_are_recorded() -> None:
    result = train(_small(method="gca_uot", probe=True, probe_init=True, corruptions=("snow",), strong="large_erase"))
    m = result.metrics
    for key in ("probe_test_acc", "init_probe_test_acc", "knn_acc", "alignment", "uniformity", "compactness",
                "strong_probe_test_acc", "corrupt/snow"):
        assert key in m, key
        assert 0.0 <= m[key] <= 1.0 or key in ("alignment", "uniformity", "compactness")
    assert result.device == "cpu" and result.seed == 0 and result.wall_time > 0


class _Interrupt(Exception):
    pass


def _interrupt_after(k: int):
    def stop(epoch: int, state: dict) -> None:
        if epoch == k:
            raise _Interrupt

    return stop


def test_resumed_run_continues_where_it_stopped_and_reaches_bit_identical_weights(tmp_path: Path) -> None:
    config = _small(method="gca_uot", epochs=4, checkpoint_dir=str(tmp_path), checkpoint_every=1)
    reference = train(_small(method="gca_uot", epochs=4))
    with pytest.raises(_Interrupt):
        train(config, on_epoch_end=_interrupt_after(2))
    assert list(tmp_path.glob("ckpt-*.pt")), "a checkpoint must exist after the interruption"
    executed: list[int] = []
    resumed = train(config, on_epoch_end=lambda epoch, state: executed.append(epoch))
    # a run that ignored the checkpoint would retrain epochs 1-4 (and, being seeded, end identical)
    assert executed == [3, 4]
    ref_state, res_state = reference.model.state_dict(), resumed.model.state_dict()
    assert ref_state.keys() == res_state.keys()
    for key in ref_state:
        assert torch.equal(ref_state[key], res_state[key]), key
    assert resumed.history["step_loss"] == reference.history["step_loss"]


def test_resume_carries_the_checkpointed_state(tmp_path: Path) -> None:
    """Resuming from a checkpoint whose weights differ from a fresh run's must continue from those weights."""
    config = _small(method="ince", epochs=3, checkpoint_dir=str(tmp_path), checkpoint_every=1)
    with pytest.raises(_Interrupt):
        train(config, on_epoch_end=_interrupt_after(1))
    (path,) = tmp_path.glob("ckpt-*.pt")
    state = torch.load(path, weights_only=False)
    name = next(k for k, v in state["online"].items() if v.is_floating_point() and v.ndim == 2)
    state["online"][name] = torch.zeros_like(state["online"][name])
    torch.save(state, path)
    altered = train(config)
    fresh = train(config, resume=False)
    assert fresh.history["step_loss"][:8] == altered.history["step_loss"][:8]  # epoch 1 comes from the file
    assert fresh.history["step_loss"][8:] != altered.history["step_loss"][8:]  # epochs 2-3 start from zeros
    assert not torch.equal(fresh.model.state_dict()[name.removeprefix("model.")],
                           altered.model.state_dict()[name.removeprefix("model.")])


def test_checkpoint_round_trip_restores_every_part(tmp_path: Path) -> None:
    config = _small(method="byol", epochs=2).validate()
    run = fit(setup(config, torch.device("cpu")), on_epoch_end=lambda e, s: None)
    path = tmp_path / "ckpt.pt"
    save_checkpoint(run, path)
    other = setup(config, torch.device("cpu"))
    assert other.step == 0 and not torch.equal(other.gen_aug.get_state(), run.gen_aug.get_state())
    load_checkpoint(other, path)
    assert (other.epoch, other.step, other.history) == (run.epoch, run.step, run.history)
    assert torch.equal(other.gen_order.get_state(), run.gen_order.get_state())
    assert torch.equal(other.gen_aug.get_state(), run.gen_aug.get_state())
    for a, b in [(other.online, run.online), (other.ema.module, run.ema.module)]:
        for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
            assert ka == kb and torch.equal(va, vb), ka
    sa, sb = other.optimizer.state_dict()["state"], run.optimizer.state_dict()["state"]
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k]["exp_avg"], sb[k]["exp_avg"]) for k in sa)


def test_epoch_batches_shard_one_global_permutation() -> None:
    n, bs, world = 103, 16, 4
    shards = [epoch_batches(n, bs, torch.Generator().manual_seed(3), rank=r, world=world) for r in range(world)]
    single = epoch_batches(n, bs, torch.Generator().manual_seed(3))
    assert len(single) == n // bs and all(len(s) == n // bs for s in shards)
    for it in range(n // bs):
        assert all(len(s[it]) == bs // world for s in shards)
        assert torch.equal(torch.cat([s[it] for s in shards]), single[it])  # rank-major, like gather_labels
    assert len(torch.cat(single).unique()) == (n // bs) * bs  # no row twice in an epoch


def test_learning_rate_schedule() -> None:
    assert [lr_factor(s, 10, warmup_steps=4) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert lr_factor(4, 10, warmup_steps=4) == 1.0 and lr_factor(7, 10, warmup_steps=4) == pytest.approx(0.5)
    assert lr_factor(0, 10) == 1.0 and lr_factor(5, 10) == pytest.approx(0.5) and lr_factor(10, 10) == 0.0
    assert lr_factor(7, 10, schedule="constant") == 1.0
    assert byol_tau(0.99, 0, 100) == pytest.approx(0.99) and byol_tau(0.99, 100, 100) == 1.0


def _ddp_worker(rank: int, init: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    try:
        config = _small(method="gca_ince", model="convnet", epochs=1, target_prior="class",
                        checkpoint_dir=out_dir).validate()
        run = setup(config, torch.device("cpu"))
        labels = gather_labels(torch.tensor([rank, 10 + rank]), run.world)
        idx = epoch_batches(len(run.dataset.train), config.batch_size, torch.Generator().manual_seed(5),
                            rank=rank, world=run.world)[0]
        losses = run_epoch(run)
        torch.save({"world": run.world, "per_rank": run.per_rank, "ddp": isinstance(run.trained, DDP),
                    "labels": labels, "idx": idx, "losses": losses, "state": run.online.state_dict(),
                    "gen_order": run.gen_order.get_state(), "gen_aug": run.gen_aug.get_state(),
                    "path": str(checkpoint_path(config, rank, run.world))}, Path(out_dir) / f"rank{rank}.pt")
        dist.barrier()  # rank 0 hosts the store: tearing it down while rank 1 still talks aborts rank 1
    finally:
        dist.destroy_process_group()


def test_ddp_parts_on_two_gloo_processes(tmp_path: Path) -> None:
    """setup wraps in DDP and shards the batch; gather_labels is rank-major; after an epoch of run_epoch
    (DDP-averaged gradients, then sync_buffers) both ranks hold equal weights and BN statistics."""
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(f"tcp://127.0.0.1:{port}", str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(2))
    assert r0["world"] == r1["world"] == 2 and r0["per_rank"] == 64 and r0["ddp"] and r1["ddp"]
    assert torch.equal(r0["labels"], torch.tensor([0, 10, 1, 11])) and torch.equal(r0["labels"], r1["labels"])
    assert len(set(r0["idx"].tolist()) | set(r1["idx"].tolist())) == 128  # disjoint halves of one batch
    assert torch.equal(r0["losses"], r1["losses"])  # every rank computes the loss of the gathered batch
    assert torch.equal(r0["gen_order"], r1["gen_order"]) and not torch.equal(r0["gen_aug"], r1["gen_aug"])
    for key in r0["state"]:
        assert torch.equal(r0["state"][key], r1["state"][key]), key  # includes BN running statistics
    assert r0["path"].endswith("-rank0.pt") and r1["path"].endswith("-rank1.pt")


def test_checkpoints_are_written_atomically(tmp_path: Path) -> None:
    train(_small(method="ince", epochs=1, checkpoint_dir=str(tmp_path), checkpoint_every=1))
    names = [p.name for p in tmp_path.iterdir()]
    assert len(names) == 1 and names[0].endswith(".pt") and ".tmp" not in names[0]


@pytest.mark.parametrize(
    "fields, match",
    [
        ({"dataset": "imagenet"}, "dataset"),
        ({"method": "moco"}, "method"),
        ({"model": "vit"}, "model"),
        ({"batch_size": 5000}, "batch_size"),
        ({"eps": -1.0}, "eps"),
        ({"q": 2.0}, "q"),
        ({"rho": -0.5}, "rho"),
        ({"lr": 0.0}, "lr"),
        ({"epochs": 0}, "epochs"),
        ({"strong": "blur"}, "strong"),
        ({"checkpoint_every": 2}, "checkpoint_dir"),
        ({"target_prior": "domain"}, "domain"),
        ({"method": "byol", "target_prior": "class"}, "target_prior needs a method with a transport plan"),
        ({"dataset": "mnist1d", "corruptions": ("snow",)}, r"corruptions=\('snow',\) apply to images only"),
    ],
)
def test_bad_configuration_stops_before_training(fields: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        train(_small(**fields))


def test_missing_data_files_say_how_to_get_them(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="cifar"):
        train(_small(dataset="cifar10", data_root=str(tmp_path)))


def test_method_parameters_reach_the_loss() -> None:
    loss = build_loss(_small(method="gca_uot", eps=0.3, n_iters=4, rho=0.7))
    assert (loss.eps, loss.n_iters, loss.rho_a, loss.rho_b) == (0.3, 4, 0.7, 0.7)
    assert build_loss(_small(method="simclr")).layout == "joint"


def test_cli_trains_gca_uot_and_beats_random_init() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gca_lab", "train", "--dataset", "digits", "--method", "gca_uot", "--epochs", "20",
         "--progress", "false"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    lines = {line.split(":")[0].strip(): line for line in proc.stdout.splitlines()}
    trained = float(lines["frozen linear probe, test accuracy"].split(":")[1].strip().rstrip("%"))
    init = float(lines["same encoder at random init"].split(":")[1].strip().rstrip("%"))
    assert trained > init, proc.stdout


def test_cli_reports_bad_configuration_with_exit_code_2() -> None:
    proc = subprocess.run([sys.executable, "-m", "gca_lab", "train", "--method", "nope"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "method" in proc.stderr


def test_torchrun_two_processes_end_with_equal_weights(tmp_path: Path) -> None:
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        pytest.skip("torchrun not installed next to this python")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "gca_lab", "train", "--dataset", "digits",
         "--method", "gca_ince", "--model", "mlp", "--epochs", "1", "--batch-size", "128", "--probe", "false",
         "--probe-init", "false", "--progress", "false", "--checkpoint-dir", str(tmp_path), "--checkpoint-every", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpts = sorted(tmp_path.glob("ckpt-*-rank*.pt"))
    assert len(ckpts) == 2, ckpts
    s0 = torch.load(ckpts[0], weights_only=False)["online"]
    s1 = torch.load(ckpts[1], weights_only=False)["online"]
    for key in s0:
        assert torch.equal(s0[key], s1[key]), key


def test_cifar_shaped_resnet18_path_trains_on_files_in_the_official_format(tmp_path: Path) -> None:
    """The GPU-scale configuration (CIFAR-10 files, ResNet-18 with the CIFAR stem) runs end to end."""
    from tests.test_data import _fake_cifar10

    _fake_cifar10(tmp_path, n=40)
    result = train(TrainConfig(dataset="cifar10", data_root=str(tmp_path), model="resnet18", method="gca_uot",
                               epochs=1, batch_size=32, proj_hidden=64, proj_out=32, progress=False, probe=True))
    assert len(result.history["loss"]) == 1 and torch.isfinite(torch.tensor(result.history["step_loss"])).all()
    assert 0.0 <= result.metrics["probe_test_acc"] <= 1.0


def test_experiments_accept_cifar_and_resnet18_overrides() -> None:
    from gca_lab import experiments

    for name in ("main_results", "strong_augmentations", "epsilon_iterations"):
        moved = 0
        for r in experiments.plan(name, "full", dataset="cifar10", model="resnet18"):
            if r.kind == "train" and r.spec["dataset"] == "cifar10":
                config = TrainConfig(**{**r.spec, "corruptions": tuple(r.spec.get("corruptions", ()))})
                assert config.model == "resnet18"
                config.validate()
                moved += 1
            elif r.kind == "train":  # main_results' MNIST-1D column keeps its data (tests/test_datasets.py)
                assert name == "main_results" and r.spec["dataset"] == "mnist1d", r.key
        assert moved, name


def test_mnist1d_trains_with_its_1d_encoder_and_views_and_resumes_bit_exactly(tmp_path: Path) -> None:
    from gca_lab import models

    data = {"data_root": str(tmp_path / "data"), "data_options": {"n_samples": 600}}
    fields = dict(dataset="mnist1d", model="convnet", method="ince", epochs=3, batch_size=64, **data)
    reference = train(_small(**fields, probe=True, probe_init=True, strong="large_erase"))
    assert isinstance(reference.model.encoder, models.ConvNet1d)  # the default "convnet" on signals
    m = reference.metrics
    for key in ("probe_test_acc", "init_probe_test_acc", "knn_acc", "strong_probe_test_acc"):
        assert 0.0 <= m[key] <= 1.0, key
    assert torch.isfinite(torch.tensor(reference.history["step_loss"])).all()

    class Interrupt(Exception):
        pass

    def stop_after_one(epoch: int, state: dict) -> None:
        if epoch == 1:
            raise Interrupt

    config = _small(**fields, strong="large_erase", checkpoint_dir=str(tmp_path / "ckpt"), checkpoint_every=1)
    with pytest.raises(Interrupt):
        train(config, on_epoch_end=stop_after_one)
    resumed = train(config)  # the 1-D views draw from the checkpointed generator: same views, same weights
    for key, value in reference.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    assert resumed.history["step_loss"] == reference.history["step_loss"]


# --------------------------------------------------------------------------------------------------
# The config: one home per loss knob, one list of result-neutral fields, the loss options in the hash
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["eps", "n_iters", "rho", "lam", "q", "kl_weight", "w1_weight", "layout",
                                 "symmetric", "epochs", "seed"])
def test_a_loss_options_key_that_names_a_field_is_an_error(key: str) -> None:
    from gca_lab.train import LOSS_FIELDS

    assert {"eps", "n_iters", "rho", "layout"} <= set(LOSS_FIELDS)
    config = _small(method="gca_uot", loss_options={key: getattr(TrainConfig(), key)})
    with pytest.raises(ValueError, match=rf"loss_options key '{key}' conflicts with the TrainConfig field '{key}'"):
        config.validate()
    with pytest.raises(ValueError, match="conflicts"):
        build_loss(config)


def test_unknown_or_run_managed_loss_options_are_errors_naming_the_key() -> None:
    with pytest.raises(ValueError, match=r"loss_options key 'temperature' is not an option of the ince loss.*convention"):
        _small(method="ince", loss_options={"temperature": 0.1}).validate()
    with pytest.raises(ValueError, match="'gather_distributed' is set by the run"):
        _small(method="ince", loss_options={"gather_distributed": True}).validate()
    with pytest.raises(TypeError, match="loss_options must be a dict"):
        _small(loss_options=[("convention", "gca")]).validate()
    # a real option goes through, and reaches the loss
    assert build_loss(_small(method="gca_uot", loss_options={"convention": "chuang"})).convention == "chuang"


def test_one_list_of_result_neutral_fields_keys_the_protocol_and_the_checkpoints() -> None:
    from gca_lab.train import EVALUATION_FIELDS, RESULT_NEUTRAL_FIELDS, protocol, weights_key

    base = _small(method="gca_uot")
    neutral = {"progress": True, "device": "cpu", "data_root": "/elsewhere", "checkpoint_dir": "/x",
               "checkpoint_every": 3}
    assert set(neutral) == set(RESULT_NEUTRAL_FIELDS)
    moved = TrainConfig(**{**base.to_dict(), **neutral, "corruptions": ()})
    assert protocol(moved) == protocol(base) and weights_key(moved) == weights_key(base)
    # evaluation-only fields change the result but not the trained weights
    evaluated = TrainConfig(**{**base.to_dict(), "probe": True, "probe_init": True, "corruptions": ("snow",)})
    assert set(EVALUATION_FIELDS) == {"probe", "probe_init", "probe_solver", "eval_rows", "corruptions"}
    assert protocol(evaluated) != protocol(base) and weights_key(evaluated) == weights_key(base)
    assert weights_key(base, world=2) != weights_key(base)
    assert weights_key(_small(method="gca_uot", eps=0.3)) != weights_key(base)


def test_the_protocol_holds_the_loss_options_with_their_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """A loss default (the convention, here) keys the cache: changing it marks every run that relied on it stale."""
    from gca_lab import losses
    from gca_lab.experiments import _core
    from gca_lab.train import protocol, resolved_loss_options

    config = _small(method="gca_uot")
    opts = resolved_loss_options(config)
    assert opts["convention"] == losses.DEFAULT_CONVENTION and opts["n_iters"] == config.n_iters
    assert "gather_distributed" not in opts and "check_inputs" not in opts
    assert protocol(config)["loss"] == opts
    assert resolved_loss_options(_small(method="gca_uot", loss_options={"convention": "gca"})) == opts
    run = _core.Run("fp", "compute", {"fn": "false_positive_run", "dataset": "mnist1d", "method": "gca_uot",
                                      "false_positives": 0.4, "seed": 0})
    before = _core.run_hash(run)
    monkeypatch.setattr(losses.GCALoss.__init__, "__kwdefaults__",
                        {**losses.GCALoss.__init__.__kwdefaults__, "convention": "chuang"})
    assert resolved_loss_options(config)["convention"] == "chuang"
    assert _core.run_hash(run) != before


def test_committed_hashes_were_migrated_once_when_the_loss_options_joined_the_protocol() -> None:
    """Why the migration of the committed hashes (commit 'Run hashes cover the loss's resolved options ...
    migrated') kept every number valid: the hash gained the options the loss was built with, and every
    migrated run was built with options whose code did not change: convention 'gca' for the losses whose
    value depends on it (the authors' current 'reference' GCA-UOT / UOT target changes, so such a run would
    have been left stale; there is none), or no convention-dependent term at all. Recomputing the results
    is therefore not needed; the hashes themselves are checked by tests/test_experiments.py."""
    import json

    from gca_lab import experiments as E
    from gca_lab.experiments import _core
    from gca_lab.train import resolved_loss_options

    paths = sorted((ROOT / "data" / "results").glob("*-full.json"))
    if not paths:
        pytest.skip("no committed results in data/results")
    checked = 0
    for path in paths:
        data = json.loads(path.read_text())
        for r in E.plan(data["experiment"], data["budget"], **data.get("overrides", {})):
            config = _core._config_of(r)
            if config is None:
                continue  # no protocol: its hash did not change
            opts = resolved_loss_options(config)
            assert opts.get("convention", "gca") == "gca", (path.name, r.key, opts.get("convention"))
            assert data["runs"][r.key]["hash"] == E.run_hash(r), (path.name, r.key)
            checked += 1
    assert checked > 400


def test_an_unavailable_device_is_a_one_line_error_naming_what_is_available() -> None:
    from gca_lab.train import available_devices, resolve_device

    missing = "cuda:99" if torch.cuda.is_available() else "cuda"
    with pytest.raises(ValueError, match=rf"device='{missing}' is not available on this machine; available: cpu"):
        resolve_device(missing)
    with pytest.raises(ValueError, match="device='gpu' is not a device name; available: cpu"):
        resolve_device("gpu")
    assert resolve_device("cpu").type == "cpu" and available_devices()[0] == "cpu"
    proc = subprocess.run([sys.executable, "-m", "gca_lab", "train", "--device", missing, "--epochs", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and missing in proc.stderr and "cpu" in proc.stderr, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "gca_lab", "reproduce", "main_results", "--device", missing],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and missing in proc.stderr, proc.stderr
