r"""The one registry of methods: what every layer (training, command line, explorers, plots, paper
numbers) knows about a contrastive method, written once.

Each :class:`Method` holds its name (the key used everywhere: configs, cache keys, ``make_loss``),
the display label, a fixed colour, the loss hyperparameters it takes (the :class:`~gca_lab.train.TrainConfig`
fields forwarded to its loss), its family flags and the label the paper's tables give it.

===========  ============  ========  ==========  =====  ==================================
name         label         iterative unbalanced  W1     loss class (:mod:`gca_lab.losses`)
===========  ============  ========  ==========  =====  ==================================
ince         INCE          no        no          no     :class:`~gca_lab.losses.InfoNCE`
simclr       SimCLR        no        no          no     :class:`~gca_lab.losses.NTXent`
rince        RINCE         no        no          yes    :class:`~gca_lab.losses.RINCE`
gca_ince     GCA-INCE      yes       no          no     :class:`~gca_lab.losses.GCAInfoNCE`
gca_rince    GCA-RINCE     yes       no          yes    :class:`~gca_lab.losses.GCARINCE`
uot          UOT           no        yes         yes    :class:`~gca_lab.losses.UOT`
gca_uot      GCA-UOT       yes       yes         yes    :class:`~gca_lab.losses.GCAUOT`
iot          IOT           yes       no          no     :class:`~gca_lab.losses.IOT`
iot_uni      IOT-uni       yes       no          no     :class:`~gca_lab.losses.IOTUni`
byol         BYOL          no        no          no     :class:`~gca_lab.losses.BYOLLoss`
===========  ============  ========  ==========  =====  ==================================

"iterative" = several Sinkhorn rounds (``n_iters``); "unbalanced" = KL-relaxed marginals (``rho``);
"W1" = a RINCE / W1 alignment term (``lam``, ``q``); arXiv 2502.20141, Table 1 relates each to INCE.
``byol`` has no transport plan (``has_plan`` is False). The formulas are in :mod:`gca_lab.losses`.

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


@dataclass(frozen=True)
class Method:
    """One method of the GCA family (or a baseline).

    Attributes:
        name: the key used by configs, caches and :func:`make_loss` (``"gca_uot"``).
        label: how plots and tables name it (``"GCA-UOT"``).
        color: a fixed matplotlib / plotly colour, so every figure draws the method alike.
        params: the loss hyperparameters it takes, as :class:`~gca_lab.train.TrainConfig` field
            names (the other loss fields of a config are ignored for this method).
        iterative: several Sinkhorn rounds (takes ``n_iters``).
        unbalanced: KL-relaxed marginals (takes ``rho``).
        w1: has a RINCE / W1 term (takes ``lam`` and ``q``).
        paper_label: the name in the paper's result tables, or None where the paper reports none.
        loss: the :mod:`gca_lab.losses` class.
        has_plan: False for methods without a transport plan (BYOL): no target plan, no negatives to
            gather across processes.
        family: the training step it takes: ``"contrastive"`` (both views through the loss,
            :func:`gca_lab.train.contrastive_step`) or ``"byol"`` (online predictor and momentum
            target network, :func:`gca_lab.train.byol_step`).
    """

    name: str
    label: str
    color: str
    params: tuple[str, ...]
    iterative: bool
    unbalanced: bool
    w1: bool
    paper_label: str | None
    loss: type[nn.Module]
    has_plan: bool = True
    family: str = "contrastive"


_L = ("eps", "layout", "symmetric")  # every plan-based method
_W1 = ("lam", "q")
_UOT = ("rho", "kl_weight", "w1_weight")

#: Every method, in a fixed order (the explorers' order: baselines, then the GCA variants).
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("ince", "INCE", "#1f77b4", _L, False, False, False, "INCE", _losses.InfoNCE),
        Method("simclr", "SimCLR", "#17becf", ("eps",), False, False, False, "SimCLR", _losses.NTXent),
        Method("rince", "RINCE", "#2ca02c", _L + _W1, False, False, True, "RINCE", _losses.RINCE),
        Method("gca_ince", "GCA-INCE", "#ff7f0e", _L + ("n_iters",), True, False, False, "GCA-INCE",
               _losses.GCAInfoNCE),
        Method("gca_rince", "GCA-RINCE", "#98df8a", _L + ("n_iters",) + _W1, True, False, True, "GCA-RINCE",
               _losses.GCARINCE),
        Method("uot", "UOT", "#e377c2", _L + _W1 + _UOT, False, True, True, "UOT", _losses.UOT),
        Method("gca_uot", "GCA-UOT", "#d62728", _L + ("n_iters",) + _W1 + _UOT, True, True, True, "GCA-UOT",
               _losses.GCAUOT),
        Method("iot", "IOT", "#9467bd", _L + ("n_iters",), True, False, False, "IOT", _losses.IOT),
        Method("iot_uni", "IOT-uni", "#c5b0d5", _L + ("n_iters",), True, False, False, "IOT-uni", _losses.IOTUni),
        Method("byol", "BYOL", "#8c564b", (), False, False, False, "BYOL", _losses.BYOLLoss, has_plan=False,
               family="byol"),
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
