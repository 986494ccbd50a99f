r"""The one registry of methods: what every layer (training, command line, explorers, plots, paper
numbers) knows about a contrastive method, written once.

Each :class:`Method` holds its name (the key used everywhere: configs, cache keys, ``make_loss``),
the display label, a fixed colour, the label the paper's tables give it and its loss class; what the
class states about itself (``iterative``, ``unbalanced``, ``w1``, ``has_plan``, ``family``: the class
attributes of :mod:`gca_lab.losses`) is read from it, and so are the TrainConfig fields it takes
(``params``). "iterative" = several Sinkhorn rounds (``n_iters``); "unbalanced" = KL-relaxed marginals
(``rho``); "W1" = a RINCE / W1 alignment term (``lam``, ``q``); arXiv 2502.20141, Table 1 relates each
to INCE. The formulas are in :mod:`gca_lab.losses`.

Data flows one way: this module imports :mod:`gca_lab.losses` (it names the loss classes);
:mod:`gca_lab.losses` never imports it and keeps no name -> class map of its own, so a loss is built
by name only here (:func:`make_loss`). ``tests/test_methods.py`` checks that every named loss class is
registered exactly once, under its ``name``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from . import losses as _losses

__all__ = ["Method", "METHODS", "names", "get", "label", "color", "make_loss", "loss_kwargs"]


@dataclass(frozen=True, kw_only=True)
class Method:
    """One method of the GCA family (or a baseline), declared with keywords.

    Attributes:
        name: the key used by configs, caches and :func:`make_loss` (``"gca_uot"``).
        label: how plots and tables name it (``"GCA-UOT"``).
        color: a fixed matplotlib / plotly colour, so every figure draws the method alike.
        paper_label: the name in the paper's result tables, or None where the paper reports none.
        loss: the :mod:`gca_lab.losses` class.
        params: the loss hyperparameters it takes, as :class:`~gca_lab.train.TrainConfig` field names
            (the other loss fields of a config are ignored for this method); default :func:`_params`,
            from the class's flags.

    What the loss class knows is read from it, never restated (properties): ``iterative`` (several
    Sinkhorn rounds, takes ``n_iters``), ``unbalanced`` (KL-relaxed marginals, takes ``rho``), ``w1``
    (a RINCE / W1 term, takes ``lam`` and ``q``), ``has_plan`` (False for BYOL: no target plan, no
    negatives to gather across processes), ``family`` (the training step: ``"contrastive"``,
    :func:`gca_lab.train.contrastive_step`, or ``"byol"``, :func:`gca_lab.train.byol_step`).
    """

    name: str
    label: str
    color: str
    paper_label: str | None
    loss: type[nn.Module]
    params: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.loss.name != self.name:
            raise ValueError(f"method {self.name!r} names loss class {self.loss.__name__}, whose name is "
                             f"{self.loss.name!r}")
        if not self.params:
            object.__setattr__(self, "params", _params(self.loss))

    @property
    def iterative(self) -> bool:
        return bool(self.loss.iterative)

    @property
    def unbalanced(self) -> bool:
        return bool(self.loss.unbalanced)

    @property
    def w1(self) -> bool:
        return bool(self.loss.w1)

    @property
    def has_plan(self) -> bool:
        return bool(self.loss.has_plan)

    @property
    def family(self) -> str:
        return str(self.loss.family)


def _params(loss: type[nn.Module]) -> tuple[str, ...]:
    """The TrainConfig fields a loss class takes, from its flags: ``eps, layout, symmetric`` for a loss with
    a plan, ``n_iters`` if iterative, ``lam, q`` with a W1 term, ``rho, kl_weight, w1_weight`` if unbalanced;
    none without a plan (BYOL)."""
    if not loss.has_plan:
        return ()
    out = ("eps", "layout", "symmetric") + (("n_iters",) if loss.iterative else ())
    out += ("lam", "q") if loss.w1 else ()
    return out + (("rho", "kl_weight", "w1_weight") if loss.unbalanced else ())


#: Every method, in a fixed order (the explorers' order: baselines, then the GCA variants).
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(name="ince", label="INCE", color="#1f77b4", paper_label="INCE", loss=_losses.InfoNCE),
        # NT-Xent fixes the joint layout: eps is its only knob
        Method(name="simclr", label="SimCLR", color="#17becf", paper_label="SimCLR", loss=_losses.NTXent,
               params=("eps",)),
        Method(name="rince", label="RINCE", color="#2ca02c", paper_label="RINCE", loss=_losses.RINCE),
        Method(name="gca_ince", label="GCA-INCE", color="#ff7f0e", paper_label="GCA-INCE", loss=_losses.GCAInfoNCE),
        Method(name="gca_rince", label="GCA-RINCE", color="#98df8a", paper_label="GCA-RINCE", loss=_losses.GCARINCE),
        Method(name="uot", label="UOT", color="#e377c2", paper_label="UOT", loss=_losses.UOT),
        Method(name="gca_uot", label="GCA-UOT", color="#d62728", paper_label="GCA-UOT", loss=_losses.GCAUOT),
        Method(name="iot", label="IOT", color="#9467bd", paper_label="IOT", loss=_losses.IOT),
        Method(name="iot_uni", label="IOT-uni", color="#c5b0d5", paper_label="IOT-uni", loss=_losses.IOTUni),
        Method(name="byol", label="BYOL", color="#8c564b", paper_label="BYOL", loss=_losses.BYOLLoss),
    )
}


def names(
    *,
    iterative: bool | None = None,
    unbalanced: bool | None = None,
    w1: bool | None = None,
    has_plan: bool | None = None,
) -> tuple[str, ...]:
    """Method names in registry order, filtered by family flags (``None`` = either).

    ``names(has_plan=True)`` are the methods the plan explorer shows; ``names(iterative=True)``
    those with a Sinkhorn-iterations knob.
    """
    want = {"iterative": iterative, "unbalanced": unbalanced, "w1": w1, "has_plan": has_plan}
    for key, value in want.items():
        if value is not None and not isinstance(value, bool):
            raise TypeError(f"{key} must be a bool or None, got {value!r}")
    return tuple(n for n, m in METHODS.items()
                 if all(v is None or getattr(m, k) is v for k, v in want.items()))


def get(name: str) -> Method:
    """The :class:`Method` called ``name``; ``ValueError`` listing the known names otherwise."""
    if not isinstance(name, str) or name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    return METHODS[name]


def _key(name: str) -> str:
    return str(name).lower().replace("-", "_")


def label(name: str) -> str:
    """Display label of a method (``"gca_uot" -> "GCA-UOT"``); other names are returned unchanged."""
    m = METHODS.get(_key(name))
    return m.label if m is not None else str(name)


def color(name: str, default: str | None = None) -> str | None:
    """The method's fixed colour; accepts a name or a label (``"GCA-UOT"``); ``default`` otherwise."""
    key = _key(name)
    if key not in METHODS:
        key = next((n for n, m in METHODS.items() if _key(m.label) == key), key)
    m = METHODS.get(key)
    return m.color if m is not None else default


def loss_kwargs(name: str, config: Any) -> dict[str, Any]:
    """The keyword arguments of ``name``'s loss, read off ``config`` (any object with the
    :class:`~gca_lab.train.TrainConfig` loss fields): ``{p: config.p for p in params}``."""
    return {p: getattr(config, p) for p in get(name).params}


def make_loss(name: str, **kwargs: Any) -> nn.Module:
    """Build the loss of method ``name`` (one of :data:`METHODS`: ``ince, simclr, rince, gca_ince,
    gca_rince, uot, gca_uot, iot, iot_uni, byol``) with ``kwargs`` passed to its class (see each class
    in :mod:`gca_lab.losses` for the formula and defaults).

    Raises ``ValueError`` naming the known methods for an unknown ``name``, ``TypeError`` for a keyword
    the class does not take.
    """
    return get(name).loss(**kwargs)
