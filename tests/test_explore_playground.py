"""gca_lab.explore.playground: the training playground's driver (train, stop, compare runs)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from gca_lab import train as T
from gca_lab.explore import playground as P

#: A tiny run: 700 training signals, 5 steps of 128 per epoch, on the CPU.
SMALL = P.PlaygroundSettings(method="ince", epochs=2, n_samples=1000, device="cpu")


@pytest.fixture(scope="module")
def two_epochs():
    snapshots = []
    run = P.compute_training_run(SMALL, on_epoch=snapshots.append)
    return run, snapshots


def test_trains_every_epoch_and_reports_each(two_epochs):
    run, snapshots = two_epochs
    assert run.epochs == (1, 2) and run.done and not run.stopped
    assert [s.n_epochs for s in snapshots] == [0, 1, 2]  # after setup (random init), then every epoch
    assert snapshots[0].loss == () and math.isfinite(snapshots[0].init_probe_acc)
    assert snapshots[1].loss == run.loss[:1] and snapshots[1].probe_acc == run.probe_acc[:1]
    assert all(math.isfinite(v) and v > 0 for v in run.loss)
    assert all(0.0 <= a <= 1.0 for a in (*run.probe_acc, run.init_probe_acc))
    assert run.init_probe_acc > 0.15  # ten classes: a random-init ConvNet1d is well above chance (0.1)
    assert len(run.epoch_seconds) == len(run.probe_seconds) == 2 and min(run.epoch_seconds) > 0
    assert run.label == "INCE eps=0.5 fp=0"


def test_the_loss_is_the_library_loop():
    """The driver's curve is TrainState.history of train.setup + train.fit on the same config."""
    config = replace(SMALL, epochs=1).config()
    state = T.fit(T.setup(config, T.resolve_device("cpu")))
    run = P.compute_training_run(replace(SMALL, epochs=1))
    assert run.loss == pytest.approx(tuple(state.history["loss"]), rel=1e-6)


def test_stop_keeps_the_partial_curve(two_epochs):
    full, _ = two_epochs
    polled = []

    def stop():
        polled.append(True)
        return True

    run = P.compute_training_run(SMALL, should_stop=stop)
    assert run.stopped and not run.done and run.epochs == (1,) and len(polled) == 1
    # same seed, same first epoch: the stopped run is a prefix of the full one
    assert run.loss == pytest.approx(full.loss[:1], rel=1e-6)
    assert run.probe_acc == pytest.approx(full.probe_acc[:1])
    assert run.init_probe_acc == pytest.approx(full.init_probe_acc)


def test_a_stop_on_the_last_epoch_is_a_finished_run():
    run = P.compute_training_run(replace(SMALL, epochs=1), should_stop=lambda: True)
    assert run.done and not run.stopped


def test_two_runs_compare(two_epochs):
    ince, _ = two_epochs
    uot = P.compute_training_run(replace(SMALL, method="gca_uot", rho=0.3, n_iters=5))
    assert uot.label.startswith("GCA-UOT eps=0.5 rounds=5 rho=0.3")
    assert uot.label != ince.label
    assert uot.init_probe_acc == pytest.approx(ince.init_probe_acc)  # paired: same init, same data
    assert uot.loss != pytest.approx(ince.loss)  # a different loss trains differently
    assert uot.epochs == ince.epochs


def test_false_positives_reach_the_training_loop():
    clean = P.compute_training_run(replace(SMALL, epochs=1))
    noisy = P.compute_training_run(replace(SMALL, epochs=1, false_positives=0.6))
    assert noisy.settings.config().false_positives == 0.6
    assert noisy.label.endswith("fp=0.6")
    assert noisy.loss[0] > clean.loss[0]  # wrong partners are harder to match


@pytest.mark.parametrize("field, value, match", [
    ("method", "byol", "method"), ("method", "nope", "method"), ("eps", 0.0, "eps"), ("n_iters", 0, "n_iters"),
    ("epochs", 0, "epochs"), ("false_positives", 1.0, "false_positives"), ("n_samples", 10, "n_samples"),
])
def test_bad_settings_name_the_field(field, value, match):
    with pytest.raises(ValueError, match=match):
        P.compute_training_run(replace(SMALL, **{field: value}))
