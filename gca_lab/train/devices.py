"""Where a run executes: the device a config names, checked against what this machine has."""

from __future__ import annotations

import os

import torch

__all__ = ["available_devices", "resolve_device"]


def available_devices() -> tuple[str, ...]:
    """The device names usable here: ``"cpu"``, then ``"cuda:0"`` ... for each visible GPU, then ``"mps"``."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        names.append("mps")
    return tuple(names)


def _check_available(name: str, dev: torch.device) -> None:
    """``ValueError`` naming ``device=name`` and :func:`available_devices` when ``dev`` is not usable here."""
    if dev.type == "cpu":
        return
    here = available_devices()
    if dev.type == "cuda":
        ok = torch.cuda.is_available() and (dev.index is None or dev.index < torch.cuda.device_count())
    else:
        ok = dev.type in here
    if not ok:
        raise ValueError(f"device={name!r} is not available on this machine; available: {', '.join(here)} "
                         "(or 'auto' for the best of them)")


def resolve_device(name: str) -> torch.device:
    """``"auto"`` (the best available device, :func:`gca_lab.device`), or a torch device name; under
    torchrun on CUDA, this process's GPU (``LOCAL_RANK``).

    Raises ``ValueError`` naming the device and :func:`available_devices` when ``name`` is not a device
    or not present here (``--device cuda`` on a machine without CUDA), before anything is built.
    """
    if name == "auto":
        from .. import device as best_device

        dev = best_device()
    else:
        try:
            dev = torch.device(name)
        except (RuntimeError, TypeError):
            raise ValueError(f"device={name!r} is not a device name; available: "
                             f"{', '.join(available_devices())} (or 'auto')") from None
        _check_available(name, dev)
    if dev.type == "cuda" and "LOCAL_RANK" in os.environ:
        dev = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(dev)
    return dev
