r"""The training playground's computation (notebook 13): one small MNIST-1D run, epoch by epoch.

:func:`compute_training_run` trains with the library's loop (:func:`gca_lab.train.setup`, then
:func:`gca_lab.train.fit`, whose ``on_epoch_end`` callback probes the encoder) and reports, after every
epoch, a :class:`PlaygroundRun` snapshot: mean training loss per epoch and the accuracy of a cheap frozen
linear probe of the encoder features, with the probe of the random-init encoder as epoch 0. A
``should_stop`` flag ends the run after the current epoch and keeps the partial curves.

The run is sized for live viewing on a CPU (:class:`PlaygroundSettings`: 6,000 MNIST-1D signals, so
4,200 for training, batches of 128); its cost per epoch is in docs/measurements.md, "Playground".
The per-epoch probe fits a single ``C = 1`` (:func:`gca_lab.evaluate.probe_encoder`), not the
validation-selected probe of the figure notebooks: a trend to watch, not a number to report.
Nothing here draws; :class:`gca_lab.widgets.TrainingPlayground` is the view.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import evaluate as _evaluate
from .. import methods as _methods
from .. import train as _train
from .._validate import check_choice, check_int, check_interval, check_positive

__all__ = ["PlaygroundSettings", "PlaygroundRun", "compute_training_run",
           "PLAYGROUND_METHODS"]

#: The methods the playground offers: every contrastive method of the registry (BYOL has no eps / plan).
PLAYGROUND_METHODS: tuple[str, ...] = _methods.names(has_plan=True)

_TRAIN = _train.TrainConfig()  # the loss and optimizer defaults the playground shares with every run


@dataclass(frozen=True)
class PlaygroundSettings:
    """The knobs of one playground run (the rest is :class:`gca_lab.train.TrainConfig`'s defaults).

    Attributes:
        method: a name of :data:`PLAYGROUND_METHODS` (``"ince"``, ``"gca_uot"`` ...).
        eps: entropic temperature of the loss, > 0.
        rho: KL marginal penalty of the unbalanced methods (``uot``, ``gca_uot``), ``>= 0`` or ``inf``.
        n_iters: Sinkhorn rounds of the iterative methods (``gca_*``, ``iot*``), ``>= 1``.
        false_positives: fraction in ``[0, 1)`` of each batch whose second view is replaced by a view of
            another sample (:attr:`gca_lab.train.TrainConfig.false_positives`).
        epochs: epochs to train, ``>= 1``. n_samples: MNIST-1D signals generated (70/10/20 split).
        batch_size, lr, seed: as in :class:`gca_lab.train.TrainConfig` (the same seed for every run
            makes runs paired: same initialization, batch order and views).
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` ... data_root: folder of the MNIST-1D cache (default:
            :func:`gca_lab._paths.data_dir`).
    """

    method: str = "gca_uot"
    eps: float = _TRAIN.eps
    rho: float = _TRAIN.rho
    n_iters: int = _TRAIN.n_iters
    false_positives: float = 0.0
    epochs: int = 10
    n_samples: int = 6000
    batch_size: int = 128
    lr: float = _TRAIN.lr
    seed: int = _TRAIN.seed
    device: str = "auto"
    data_root: str | None = None

    def config(self) -> _train.TrainConfig:
        """The validated :class:`gca_lab.train.TrainConfig` of these settings (``ValueError`` /
        ``TypeError`` naming the bad field otherwise)."""
        check_choice("method", self.method, PLAYGROUND_METHODS)
        check_positive("eps", self.eps)
        check_int("n_iters", self.n_iters, minimum=1)
        check_int("epochs", self.epochs, minimum=1)
        check_int("n_samples", self.n_samples, minimum=200)
        check_interval("false_positives", self.false_positives, 0.0, 1.0, high_open=True)
        config = _train.TrainConfig(
            dataset="mnist1d", data_root=self.data_root,
            data_options={"n_samples": self.n_samples}, method=self.method, eps=float(self.eps),
            rho=float(self.rho), n_iters=int(self.n_iters), epochs=self.epochs, batch_size=self.batch_size,
            lr=float(self.lr), seed=self.seed, device=self.device, probe=False, progress=False,
            false_positives=float(self.false_positives),
        )
        return config.validate()

    def label(self) -> str:
        """Legend name: the method's label and the settings it uses, e.g.
        ``"GCA-UOT eps=0.5 rounds=10 rho=0.2 fp=0.4"`` (knobs a method ignores are left out)."""
        m = _methods.get(self.method)
        parts = [m.label, f"eps={self.eps:.3g}"]
        if "n_iters" in m.params:
            parts.append(f"rounds={self.n_iters}")
        if "rho" in m.params:
            parts.append(f"rho={'inf' if math.isinf(self.rho) else f'{self.rho:.3g}'}")
        parts.append(f"fp={self.false_positives:.2g}")
        return " ".join(parts)


@dataclass(frozen=True)
class PlaygroundRun:
    """A run so far (a new snapshot after every epoch).

    Attributes:
        settings: what was trained; label: :meth:`PlaygroundSettings.label`.
        epochs: ``(k,)`` the finished epochs ``1..k``.
        loss: ``(k,)`` mean training loss of each epoch.
        probe_acc: ``(k,)`` test accuracy of the single-``C`` frozen linear probe after each epoch, in ``[0, 1]``.
        init_probe_acc: the same probe on the random-init encoder (epoch 0).
        epoch_seconds, probe_seconds: ``(k,)`` wall time of each epoch's training and of its probe.
        setup_seconds: data, model and loss construction plus the epoch-0 probe.
        stopped: ``should_stop`` ended the run before ``settings.epochs``.
    """

    settings: PlaygroundSettings
    label: str
    epochs: tuple[int, ...] = ()
    loss: tuple[float, ...] = ()
    probe_acc: tuple[float, ...] = ()
    init_probe_acc: float = math.nan
    epoch_seconds: tuple[float, ...] = ()
    probe_seconds: tuple[float, ...] = ()
    setup_seconds: float = 0.0
    stopped: bool = False

    @property
    def n_epochs(self) -> int:
        """Finished epochs."""
        return len(self.epochs)

    @property
    def done(self) -> bool:
        """All ``settings.epochs`` epochs trained."""
        return self.n_epochs == self.settings.epochs


class _Stop(Exception):
    """Raised from fit's ``on_epoch_end`` to end the run there (fit documents raising as the way out)."""


def _probe(state: _train.TrainState) -> float:
    result = _evaluate.probe_encoder(state.model.features, state.dataset, Cs=(1.0,), max_iter=100,
                                     seed=state.config.seed)
    return result.test_acc


def compute_training_run(
    settings: PlaygroundSettings,
    *,
    on_epoch: Callable[[PlaygroundRun], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> PlaygroundRun:
    """Train ``settings`` with the library's loop, probing the encoder after every epoch.

    ``setup`` builds the run (data, ConvNet1d encoder, loss of ``settings.method``, optimizer, views),
    the random-init encoder is probed (epoch 0), then :func:`gca_lab.train.fit` trains; after each
    epoch the encoder is probed and ``on_epoch(snapshot)`` is called, then ``should_stop()`` is asked
    and, if true, the run ends there (the finished epochs are kept; ``stopped=True``).

    Args:
        settings: the run (validated first; bad values raise before any training).
        on_epoch: called with the :class:`PlaygroundRun` so far, once after setup (0 epochs, with
            ``init_probe_acc``) and after every epoch.
        should_stop: polled after every epoch.

    Returns:
        The final :class:`PlaygroundRun`.
    """
    config = settings.config()
    label = settings.label()
    t0 = time.perf_counter()
    state = _train.setup(config, _train.resolve_device(config.device))
    run = PlaygroundRun(settings=settings, label=label, init_probe_acc=_probe(state),
                        setup_seconds=time.perf_counter() - t0)
    if on_epoch is not None:
        on_epoch(run)

    def after_epoch(epoch: int, info: dict) -> None:
        nonlocal run
        t1 = time.perf_counter()
        acc = _probe(state)
        hist = state.history
        run = dataclasses.replace(
            run, epochs=run.epochs + (epoch,), loss=run.loss + (hist["loss"][-1],), probe_acc=run.probe_acc + (acc,),
            epoch_seconds=run.epoch_seconds + (hist["epoch_time"][-1],),
            probe_seconds=run.probe_seconds + (time.perf_counter() - t1,),
        )
        if on_epoch is not None:
            on_epoch(run)
        if should_stop is not None and should_stop() and epoch < config.epochs:
            raise _Stop

    try:
        _train.fit(state, after_epoch)
    except _Stop:
        run = dataclasses.replace(run, stopped=True)
    return run
