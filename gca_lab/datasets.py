"""The one registry of datasets: what every layer knows about a dataset by its name, written once.

Each :class:`DatasetInfo` holds the name, the shape of one sample, what kind of input it is (images,
1-D signals or vectors), whether horizontal flips suit it, whether its files must be dropped in by the
user and the loader's own options; its multi-domain rendering follows from its kind
(:mod:`gca_lab.domains`: image domains for images, signal textures for signals, none for vectors).
Read by :mod:`gca_lab.data` (its loaders are keyed by these names), :mod:`gca_lab.augment` (flips, signals or images), the training
config and protocol (:mod:`gca_lab.train`) and the command line.

Names: a registered name (``"digits"``), ``"multidomain_<base>"`` (the four-domain rendering of
``base``, :func:`gca_lab.data.multidomain`) or ``"multidomain"`` (the same, ``base`` given as an option,
default ``"digits"``); :func:`parse` reads every form, nothing else splits the prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping

__all__ = ["DatasetInfo", "REGISTRY", "MULTIDOMAIN", "names", "parse", "info", "check_name", "input_shape"]

MULTIDOMAIN = "multidomain"


@dataclass(frozen=True)
class DatasetInfo:
    """One dataset of the registry.

    Attributes:
        name: the key (``"mnist1d"``).
        shape: one native sample: ``(C, H, W)`` images, ``(C, L)`` signals, ``(dim,)`` vectors (the default
            ``dim``; the option ``dim`` changes it).
        kind: ``"images"`` (``[0, 1]``, the image augmentations and corruptions apply), ``"signals"`` or
            ``"vectors"``.
        flip: horizontal flips suit it (off for digits: a flipped digit is another glyph).
        files: its files are dropped in by the user (``data/README.md``); bundled and generated datasets
            are never missing.
        options: the loader's own keywords (beyond the split, size and cap arguments of
            :func:`gca_lab.data.load`).
    """

    name: str
    shape: tuple[int, ...]
    kind: Literal["images", "signals", "vectors"]
    flip: bool
    files: bool
    options: tuple[str, ...] = ()

    @property
    def has_domains(self) -> bool:
        """Whether :func:`gca_lab.data.multidomain` renders it (images and signals; not vectors)."""
        return self.kind != "vectors"


#: Every dataset, by name (the loaders of :data:`gca_lab.data.DATASETS` have exactly these keys).
REGISTRY: dict[str, DatasetInfo] = {
    d.name: d
    for d in (
        DatasetInfo("digits", (1, 8, 8), "images", flip=False, files=False),
        DatasetInfo("fashion_mnist", (1, 28, 28), "images", flip=True, files=True),
        DatasetInfo("cifar10", (3, 32, 32), "images", flip=True, files=True),
        DatasetInfo("cifar100", (3, 32, 32), "images", flip=True, files=True),
        DatasetInfo("svhn", (3, 32, 32), "images", flip=True, files=True),
        DatasetInfo("synthetic", (16,), "vectors", flip=False, files=False,
                    options=("n_classes", "dim", "concentration", "n_per_class")),
        DatasetInfo("mnist1d", (1, 40), "signals", flip=False, files=False,
                    options=("n_samples", "generation_seed", "n_train", "n_val", "n_test")),
    )
}


def names() -> list[str]:
    """Every name :func:`gca_lab.data.load` takes: the registered ones, sorted, then ``"multidomain"``
    (``"multidomain_<base>"`` is accepted too)."""
    return sorted(REGISTRY) + [MULTIDOMAIN]


def parse(name: str, options: Mapping[str, Any] | None = None, *, param: str = "dataset") -> tuple[DatasetInfo, bool]:
    """``(info of the base dataset, whether name is a multi-domain rendering)`` for any accepted name:
    ``"digits" -> (digits, False)``, ``"multidomain_mnist1d" -> (mnist1d, True)``, ``"multidomain" ->
    (options["base"] or digits, True)``. ``ValueError`` naming ``param`` (the caller's parameter) and listing
    the names for an unknown one."""
    if not isinstance(name, str):
        raise TypeError(f"{param} must be a str, got {type(name).__name__}")
    if name == MULTIDOMAIN:
        base, multi = str((options or {}).get("base", "digits")), True
    elif name.startswith(MULTIDOMAIN + "_"):
        base, multi = name[len(MULTIDOMAIN) + 1:], True
    else:
        base, multi = name, False
    if base not in REGISTRY or (multi and not REGISTRY[base].has_domains):
        bases = ", ".join(n for n, d in REGISTRY.items() if d.has_domains)
        raise ValueError(f"{param}={name!r} is unknown; choose one of {', '.join(names())} or "
                         f"multidomain_<base> (base: {bases})")
    return REGISTRY[base], multi


def info(name: str, *, param: str = "dataset") -> DatasetInfo:
    """The :class:`DatasetInfo` of ``name``'s base dataset (:func:`parse`)."""
    return parse(name, param=param)[0]


def check_name(name: str, *, param: str = "dataset") -> str:
    """``name`` if :func:`parse` accepts it; ``ValueError`` / ``TypeError`` naming ``param`` otherwise."""
    parse(name, param=param)
    return name


def input_shape(name: str, size: int | None = None, *, param: str = "name", **options: Any) -> tuple[int, ...]:
    """The shape of one sample of ``gca_lab.data.load(name, size=size, **options)``, without loading
    anything: ``(C, H, W)`` for images (``H = W = size`` when given), ``(C, L)`` for signals, ``(dim,)`` for
    vectors (``options["dim"]``, default 16)."""
    base, _ = parse(name, options, param=param)
    if base.kind == "vectors":
        return (int(options.get("dim", base.shape[0])),)
    if size is not None and base.kind == "images":
        return (base.shape[0], int(size), int(size))
    return base.shape
