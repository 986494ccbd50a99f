"""The training loop: every method trains, resume is exact, DDP ranks agree, bad configs stop early."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gca_lab.losses import LOSSES
from gca_lab.train import TrainConfig, build_loss, train

ROOT = Path(__file__).resolve().parents[1]


def _small(**fields) -> TrainConfig:
    base = dict(dataset="digits", model="mlp", epochs=2, batch_size=128, progress=False, probe=False)
    base.update(fields)
    return TrainConfig(**base)


@pytest.mark.parametrize("method", sorted(LOSSES))
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


def test_resumed_run_reaches_bit_identical_weights(tmp_path: Path) -> None:
    config = _small(method="gca_uot", epochs=4, checkpoint_dir=str(tmp_path), checkpoint_every=1)
    reference = train(_small(method="gca_uot", epochs=4))

    class Interrupt(Exception):
        pass

    def stop_after_two(epoch: int, state: dict) -> None:
        if epoch == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(config, on_epoch_end=stop_after_two)
    assert list(tmp_path.glob("ckpt-*.pt")), "a checkpoint must exist after the interruption"
    resumed = train(config)
    ref_state, res_state = reference.model.state_dict(), resumed.model.state_dict()
    assert ref_state.keys() == res_state.keys()
    for key in ref_state:
        assert torch.equal(ref_state[key], res_state[key]), key
    assert resumed.history["step_loss"] == reference.history["step_loss"]


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
        for r in experiments.plan(name, "full", dataset="cifar10", model="resnet18"):
            if r.kind == "train":
                config = TrainConfig(**{**r.spec, "corruptions": tuple(r.spec.get("corruptions", ()))})
                assert (config.dataset, config.model) == ("cifar10", "resnet18")
                config.validate()


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
