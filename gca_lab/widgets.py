r"""Interactive explorers for the notebooks: pure ``compute_*`` functions plus thin widget views.

Design (``gca_lab`` design §5): every explorer is

1. a **pure function** ``compute_*(...) -> data`` (a frozen dataclass of numpy arrays and numbers),
   tested directly, with no widgets and no plotting; and
2. a **view class** that builds its ipywidgets controls and plotly ``FigureWidget`` s *once* and, on a
   control change, calls the compute function and writes the new arrays into the existing traces
   (``with fig.batch_update(): fig.data[i].z = ...``). Figures are never re-created. ``.state``
   holds the last computed data, ``.controls`` the controls by name, ``.status`` a message line
   (errors from the library are shown there, never as a traceback; non-finite results are refused
   before they reach a figure).

Embeddings. The batches are *real* two-view batches of the bundled digits (8 x 8 pixels) from
:mod:`gca_lab.data`, augmented by :class:`gca_lab.augment.TwoViews`; the embedding of a view is its
**raw pixel vector minus the training-set mean pixel** (64-d, no encoder), so that cosine
similarities are not all close to 1. See :func:`two_view_batch`.

Public API:

- :func:`two_view_batch` a cached two-view batch (with optional view noise and corrupted pairs).
- :func:`compute_ince_identity`, :func:`compute_sinkhorn_iterates`, :func:`compute_theorem_check`
  (notebook 01: InfoNCE = KL(I || P^(1)), the Sinkhorn iterates, the theorem KL(I||P^(inf)) <= KL(I||P^(1))).
- :class:`PlanParams`, :func:`compute_plan`, :class:`PlanExplorer` (notebook 02).
- :func:`compute_corrupted_mass`, :func:`compute_noisy_views`, :class:`NoisyViewsExplorer` (notebook 03).
- :func:`compute_sphere_trajectories`, :class:`SphereExplorer` (notebook 04).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from . import data as _data
from . import losses as _losses
from . import geometry as _geometry
from . import targets as _targets
from . import viz as _viz
from ._validate import check_choice, check_int, check_interval, check_nonnegative, check_positive
from .augment import TwoViews
from .ot import generalized_kl, row_projection, col_projection, sinkhorn

__all__ = [
    "LOSS_NAMES",
    "RHO_CHOICES",
    "ViewBatch",
    "two_view_batch",
    "compute_ince_identity",
    "SinkhornIterates",
    "compute_sinkhorn_iterates",
    "TheoremCheck",
    "compute_theorem_check",
    "PlanParams",
    "PlanData",
    "compute_plan",
    "PlanExplorer",
    "compute_method_plans",
    "CorruptedMass",
    "compute_corrupted_mass",
    "NoisyViews",
    "compute_noisy_views",
    "NoisyViewsExplorer",
    "SphereTrajectories",
    "compute_sphere_trajectories",
    "SphereExplorer",
]

#: Every loss of the family shown by the plan explorer (``make_loss`` names except ``byol``,
#: which has no plan).
LOSS_NAMES: tuple[str, ...] = ("ince", "simclr", "rince", "gca_ince", "gca_rince", "uot", "gca_uot", "iot", "iot_uni")
_ITERATIVE = {"gca_ince", "gca_rince", "gca_uot", "iot", "iot_uni"}
_UNBALANCED = {"uot", "gca_uot"}

#: The values of the ``rho`` sliders (KL marginal penalty; ``inf`` = hard constraint).
RHO_CHOICES: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, math.inf)


def _one_thread(fn: Any) -> Any:
    """Run ``fn`` with one intra-op torch thread, restoring the previous count afterwards.

    The explorers work on small matrices (``128 x 128``), where intra-op threading only adds
    synchronization; on a busy 2-core machine it made ``logsumexp`` about 100x slower (measured).
    """
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        before = torch.get_num_threads()
        if before == 1:
            return fn(*args, **kwargs)
        torch.set_num_threads(1)
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(before)

    return wrapper


def _np(x: Tensor) -> np.ndarray:
    return x.detach().cpu().double().numpy()


# --------------------------------------------------------------------------------------------------
# A real two-view batch
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewBatch:
    """Two augmented views of ``B`` digit images and their embeddings.

    Attributes:
        x1, x2: ``(B, 1, 8, 8)`` the two views (pixels; ``x2`` of corrupted samples replaced).
        z1, z2: ``(B, 64)`` float64 embeddings: flattened pixels minus the training-set mean pixel.
        labels: ``(B,)`` class labels; ``domains``: ``(B,)`` domain indices (0 for plain digits).
        corrupted: ``(B,)`` bool, True where view 2 was replaced (the pair is no longer a positive).
        embedding: a one-line description of the embedding.
    """

    x1: Tensor
    x2: Tensor
    z1: Tensor
    z2: Tensor
    labels: Tensor
    domains: Tensor
    corrupted: Tensor
    embedding: str = "raw pixels minus the training-set mean pixel (64-d, no encoder)"


@lru_cache(maxsize=4)
def _dataset(name: str) -> Any:
    return _data.load(name)


@lru_cache(maxsize=4)
def _views(name: str, kind: str) -> TwoViews:
    return TwoViews.for_dataset(_dataset(name), kind)


def _make_batch(n: int, dataset: str, noise: float, corrupt: float, corruption: str, seed: int, kind: str,
                sort: bool) -> ViewBatch:
    ds = _dataset(dataset)
    train = ds.train
    g = torch.Generator().manual_seed(int(seed))
    if n > len(train):
        raise ValueError(f"n must be <= {len(train)} (the training split of {dataset!r}), got {n}")
    idx = torch.randperm(len(train), generator=g)[:n]
    labels = train.y[idx]
    domains = train.domain[idx] if train.domain is not None else torch.zeros_like(labels)
    if sort:  # group by domain then class, so block structure is visible in the heatmaps
        order = torch.argsort(domains * 100 + labels, stable=True)
        idx, labels, domains = idx[order], labels[order], domains[order]
    x = train.x[idx]
    x1, x2 = _views(dataset, kind)(x, g)
    if noise > 0:
        x1 = x1 + noise * torch.randn(x1.shape, generator=g)
        x2 = x2 + noise * torch.randn(x2.shape, generator=g)
    k = int(round(corrupt * n))
    corrupted = torch.zeros(n, dtype=torch.bool)
    if k > 0:
        bad = torch.sort(torch.randperm(n, generator=g)[:k]).values
        corrupted[bad] = True
        x2 = x2.clone()
        if corruption == "noise":
            x2[bad] = torch.rand((k, *x2.shape[1:]), generator=g)
        else:  # "swap": view 2 of another sample (a cyclic shift among all samples, never itself)
            src = (bad + 1 + torch.randint(0, n - 1, (k,), generator=g)) % n
            x2[bad] = x2[src].clone() if k < n else x2[torch.roll(torch.arange(n), 1)]
    mean = train.x.mean(0).reshape(1, -1).double()
    z1 = x1.reshape(n, -1).double() - mean
    z2 = x2.reshape(n, -1).double() - mean
    return ViewBatch(x1, x2, z1, z2, labels, domains, corrupted)


@_one_thread
def two_view_batch(
    n: int = 128,
    *,
    dataset: str = "digits",
    noise: float = 0.0,
    corrupt: float = 0.0,
    corruption: str = "noise",
    seed: int = 0,
    kind: str = "light",
    sort: bool = True,
) -> ViewBatch:
    """A real batch of two augmented views of ``n`` digits, with optional view noise and corrupted pairs.

    Args:
        n: batch size ``B`` (>= 2).
        dataset: ``"digits"`` or ``"multidomain"`` (digits rendered in 4 synthetic domains: original,
            inverted, sketch, noisy-blurred; :func:`gca_lab.data.multidomain`).
        noise: std of extra Gaussian pixel noise added to both views (pixels are in [0, 1]).
        corrupt: fraction of samples whose view 2 is replaced (``round(corrupt * n)`` samples).
        corruption: ``"noise"`` (view 2 becomes uniform noise) or ``"swap"`` (view 2 of another sample).
        seed: seed of the sample choice, the augmentation, the noise and the corruption.
        kind: augmentation strength of :class:`gca_lab.augment.TwoViews` (``"light"``, ``"standard"``, ``"none"``).
        sort: order samples by (domain, class) so heatmaps show block structure.

    Returns:
        A :class:`ViewBatch` (cached: the same arguments return the same object; do not modify it).
    """
    n = check_int("n", n, minimum=2)
    check_choice("dataset", dataset, ("digits", "multidomain"))
    noise = check_nonnegative("noise", noise)
    corrupt = check_interval("corrupt", corrupt, 0.0, 1.0)
    check_choice("corruption", corruption, ("noise", "swap"))
    check_choice("kind", kind, ("light", "standard", "none"))
    return _cached_batch(n, dataset, float(noise), float(corrupt), corruption, int(seed), kind, bool(sort))


@lru_cache(maxsize=64)
def _cached_batch(*args: Any) -> ViewBatch:
    return _make_batch(*args)


# --------------------------------------------------------------------------------------------------
# Notebook 01: InfoNCE is one KL projection; Sinkhorn iterates; the theorem
# --------------------------------------------------------------------------------------------------


@_one_thread
def compute_ince_identity(z1: Tensor, z2: Tensor, eps: float = 0.5, *, rtol: float = 1e-6) -> dict[str, Any]:
    r"""InfoNCE versus ``KL(I || P^(1))`` on one batch (paper §2.5).

    ``P^(1) = Prox^KL_{C_1}(K) = diag(1 / K1) K`` is one row projection (``a = 1``) of the Gibbs kernel
    ``K = exp(cos / eps)``. The library's :class:`gca_lab.losses.InfoNCE` (mean over anchors) must equal
    ``generalized_kl(I, P^(1)) / B``.

    Returns:
        ``{"ince", "kl", "abs_diff", "holds", "eps", "B"}`` (floats, ``holds`` a bool: ``|diff| <= rtol (1 + |ince|)``).
    """
    eps = check_positive("eps", eps)
    z1, z2 = z1.double(), z2.double()
    b = z1.shape[0]
    ince = float(_losses.InfoNCE(eps=eps)(z1, z2))
    sim = torch.nn.functional.normalize(z1, dim=1) @ torch.nn.functional.normalize(z2, dim=1).T  # (B, B)
    p1 = row_projection(sim / eps, torch.ones(b, dtype=sim.dtype)).exp()  # (B, B) rows sum to 1
    kl = float(generalized_kl(torch.eye(b, dtype=sim.dtype), p1, dim=(-2, -1))) / b
    diff = abs(ince - kl)
    return {"ince": ince, "kl": kl, "abs_diff": diff, "holds": bool(diff <= rtol * (1 + abs(ince))), "eps": eps, "B": b}


@dataclass(frozen=True)
class SinkhornIterates:
    """The alternating KL projections ``P^(0) = K, P^(1) = row step, P^(2) = column step, ...`` (§2.4).

    Attributes:
        plans: ``(T + 1, B, B)`` the iterates (unit marginals ``a = b = 1``).
        labels: ``T + 1`` names (``"K"``, ``"P(1) rows"``, ``"P(2) cols"``, ...).
        row_marginals, col_marginals: ``(T + 1, B)`` ``P1`` and ``P^T 1`` of each iterate.
        kl: ``(T + 1,)`` generalized ``KL(I || P^(t))`` (``nan`` for ``t = 0``).
        row_error, col_error: ``(T + 1,)`` ``||P1 - 1||_1`` and ``||P^T 1 - 1||_1``.
    """

    plans: np.ndarray
    labels: list[str]
    row_marginals: np.ndarray
    col_marginals: np.ndarray
    kl: np.ndarray
    row_error: np.ndarray
    col_error: np.ndarray


@_one_thread
def compute_sinkhorn_iterates(z1: Tensor, z2: Tensor, eps: float = 0.5, n_steps: int = 6) -> SinkhornIterates:
    """The first ``n_steps`` Bregman projections of the Gibbs kernel ``K = exp(cos / eps)`` (paper §2.4).

    Odd steps are row projections (``diag(1 / P1) P``), even steps column projections. With unit
    marginals ``P^(1)`` is InfoNCE's plan and ``P^(inf)`` is GCA-INCE's (the entropic OT plan).
    """
    eps = check_positive("eps", eps)
    n_steps = check_int("n_steps", n_steps, minimum=1)
    z1, z2 = z1.double(), z2.double()
    b = z1.shape[0]
    ones = torch.ones(b, dtype=torch.float64)
    eye = torch.eye(b, dtype=torch.float64)
    log_p = torch.nn.functional.normalize(z1, dim=1) @ torch.nn.functional.normalize(z2, dim=1).T / eps
    plans, labels, kls = [log_p.exp()], ["K"], [math.nan]
    for t in range(1, n_steps + 1):
        if t % 2:
            log_p = row_projection(log_p, ones)
            labels.append(f"P({t}) rows")
        else:
            log_p = col_projection(log_p, ones)
            labels.append(f"P({t}) cols")
        p = log_p.exp()
        plans.append(p)
        kls.append(float(generalized_kl(eye, p, dim=(-2, -1))))
    stack = torch.stack(plans)  # (T + 1, B, B)
    rows, cols = stack.sum(-1), stack.sum(-2)
    return SinkhornIterates(
        plans=_np(stack), labels=labels, row_marginals=_np(rows), col_marginals=_np(cols), kl=np.array(kls),
        row_error=_np((rows - 1).abs().sum(-1)), col_error=_np((cols - 1).abs().sum(-1)),
    )


@dataclass(frozen=True)
class TheoremCheck:
    """Result of :func:`compute_theorem_check`.

    Attributes:
        n_batches: batches checked. violations: batches with ``KL(I||P^(inf)) > KL(I||P^(1))`` beyond
        the tolerance. monotone_violations: half-steps ``t`` where ``KL(I||P^(t+1)) > KL(I||P^(t))``.
        kl1, klinf: ``(n_batches,)`` the two KLs (per anchor). eps, sizes: ``(n_batches,)`` each
        batch's ``eps`` and size. max_ratio: ``max klinf / kl1``.
    """

    n_batches: int
    violations: int
    monotone_violations: int
    kl1: np.ndarray
    klinf: np.ndarray
    eps: np.ndarray
    sizes: np.ndarray
    max_ratio: float
    tol: float


@_one_thread
def compute_theorem_check(
    n_batches: int = 1000,
    *,
    sizes: Sequence[int] = (8, 16, 32, 64),
    eps_range: tuple[float, float] = (0.05, 1.0),
    n_iters: int = 100,
    seed: int = 0,
    tol: float = 1e-9,
) -> TheoremCheck:
    r"""Check ``KL(I || P^(inf)) <= KL(I || P^(1))`` on many random two-view digit batches (paper §2.6).

    Each batch draws a size from ``sizes``, an ``eps`` log-uniformly from ``eps_range`` and a fresh
    ``standard`` augmentation; half of the batches also get random view noise. ``P^(1)`` is one row
    projection of ``K``; ``P^(inf)`` is approximated by ``n_iters`` alternating projections (balanced
    Sinkhorn with unit marginals, float64). Since ``I`` lies in both constraint sets, the Bregman
    Pythagorean identity makes ``KL(I || P^(t))`` non-increasing at *every* half step; both the end
    point and the monotonicity are counted. A violation is an increase larger than ``tol (1 + KL)``.
    """
    n_batches = check_int("n_batches", n_batches, minimum=1)
    n_iters = check_int("n_iters", n_iters, minimum=1)
    rng = np.random.default_rng(seed)
    lo, hi = (check_positive("eps_range[0]", eps_range[0]), check_positive("eps_range[1]", eps_range[1]))
    kl1, klinf, epss, bs = [], [], [], []
    violations = monotone = 0
    for k in range(n_batches):
        b = int(rng.choice(sizes))
        eps = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        noise = float(rng.uniform(0, 0.3)) if k % 2 else 0.0
        batch = _make_batch(b, "digits", noise, 0.0, "noise", seed * 100_003 + k, "standard", False)
        s = torch.nn.functional.normalize(batch.z1, dim=1) @ torch.nn.functional.normalize(batch.z2, dim=1).T
        ones = torch.ones(b, dtype=torch.float64)
        eye = torch.eye(b, dtype=torch.float64)
        log_p = s / eps
        prev = math.inf
        first = None
        for t in range(1, 2 * n_iters + 1):
            log_p = row_projection(log_p, ones, validate=False) if t % 2 else col_projection(log_p, ones, validate=False)
            if t in (1, 2, 3, 4) or t % 20 == 0 or t == 2 * n_iters:
                kl = float(generalized_kl(eye, log_p.exp(), dim=(-2, -1))) / b
                if first is None:
                    first = kl
                if kl > prev + tol * (1 + abs(prev)):
                    monotone += 1
                prev = kl
        assert first is not None
        kl1.append(first)
        klinf.append(prev)
        epss.append(eps)
        bs.append(b)
        if prev > first + tol * (1 + abs(first)):
            violations += 1
    kl1_a, klinf_a = np.array(kl1), np.array(klinf)
    return TheoremCheck(n_batches, violations, monotone, kl1_a, klinf_a, np.array(epss), np.array(bs),
                        float(np.max(klinf_a / kl1_a)), tol)


# --------------------------------------------------------------------------------------------------
# Notebook 02: the transport-plan explorer
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanParams:
    """Every knob of :func:`compute_plan` (and the controls of :class:`PlanExplorer`).

    Attributes:
        n: batch size ``B``. eps: entropic regularization (temperature), ``> 0``.
        n_rounds: Sinkhorn iterations (each = one row and one column update, :func:`gca_lab.ot.sinkhorn`).
            ``0`` means *no projection*: the plan shown is the Gibbs kernel divided by its total mass.
        rho_a, rho_b: KL penalties on the row / column marginals (``inf`` = hard constraint).
        layout: ``"cross"`` (``B x B`` between the views) or ``"joint"`` (``2B x 2B``, self-pairs excluded).
        noise: extra pixel-noise std on both views. corrupt: fraction of corrupted pairs (view 2 -> noise).
        alpha, beta: domain-prior target weights (same-domain / cross-domain pairs; 0, 0 = identity).
        seed: batch seed. dataset: ``"multidomain"`` (4 synthetic domains, default) or ``"digits"``.
        loss_n_iters: rounds of the iterative losses in the loss table (default: ``max(1, n_rounds)``).
    """

    n: int = 128
    eps: float = 0.5
    n_rounds: int = 10
    rho_a: float = math.inf
    rho_b: float = math.inf
    layout: str = "cross"
    noise: float = 0.0
    corrupt: float = 0.0
    alpha: float = 0.0
    beta: float = 0.0
    seed: int = 0
    dataset: str = "multidomain"
    loss_n_iters: int | None = None


@dataclass(frozen=True)
class PlanData:
    """What :func:`compute_plan` returns (numpy arrays; ``n = m = B`` or ``2B``).

    Attributes:
        params: the :class:`PlanParams` used.
        ok: False when the result could not be computed or is not finite; ``message`` says why.
        message: an explanation for the status line ("" when all is well).
        kernel: ``(n, m)`` ``K / max K`` (the Gibbs kernel ``exp(cos/eps)`` scaled to max 1; excluded pairs 0).
        plan: ``(n, m)`` the transport plan (total mass 1 for balanced marginals).
        target: ``(n, m)`` the target plan, each row scaled to the row marginal ``a_i = 1/n``.
        row_marginal, col_marginal: ``(n,)``, ``(m,)`` ``P1`` and ``P^T 1``.
        row_target, col_target: ``(n,)``, ``(m,)`` the marginals ``a``, ``b`` (uniform, ``1/n``).
        errors: ``(T,)`` Sinkhorn marginal error per iteration (empty for ``n_rounds = 0``).
        losses: ``{name: value}`` of every loss in :data:`LOSS_NAMES` at these settings (``nan`` if it failed).
        corrupted: ``(B,)`` bool mask of corrupted pairs. seconds: compute time.
    """

    params: PlanParams
    ok: bool
    message: str
    kernel: np.ndarray
    plan: np.ndarray
    target: np.ndarray
    row_marginal: np.ndarray
    col_marginal: np.ndarray
    row_target: np.ndarray
    col_target: np.ndarray
    errors: np.ndarray
    losses: dict[str, float]
    corrupted: np.ndarray
    seconds: float = 0.0

    @property
    def diag_mass(self) -> float:
        """Total plan mass on the positive pairs (the target's support with weight 1)."""
        n = self.plan.shape[0]
        if self.params.layout == "joint":
            b = n // 2
            idx = np.arange(n)
            return float(self.plan[idx, (idx + b) % n].sum())
        return float(np.trace(self.plan))

    @property
    def checksum(self) -> float:
        """A scalar summary of the plan that changes with every parameter (``sum_ij P_ij (i + 2j)/n``)."""
        n, m = self.plan.shape
        w = (np.arange(n)[:, None] + 2 * np.arange(m)[None, :]) / max(n, 1)
        return float((self.plan * w).sum())


def _empty_plan_data(params: PlanParams, message: str, seconds: float = 0.0) -> PlanData:
    z = np.zeros((0, 0))
    e = np.zeros(0)
    return PlanData(params, False, message, z, z, z, e, e, e, e, e, {k: math.nan for k in LOSS_NAMES}, e.astype(bool), seconds)


def _loss_kwargs(name: str, p: PlanParams) -> dict[str, Any]:
    kw: dict[str, Any] = {"eps": p.eps}
    if name != "simclr":
        kw["layout"] = p.layout
    if name in _ITERATIVE:
        kw["n_iters"] = p.loss_n_iters if p.loss_n_iters is not None else max(1, p.n_rounds)
    if name in _UNBALANCED:
        kw["rho_a"], kw["rho_b"] = p.rho_a, p.rho_b
    return kw


@_one_thread
def compute_plan(params: PlanParams | None = None, **overrides: Any) -> PlanData:
    r"""Kernel, transport plan, marginals, convergence and every loss for one setting (notebook 02).

    The plan solves entropic OT between the two views with uniform marginals ``a = b = 1/n`` (mass 1):
    ``min <P, C> + eps KL(P || a x b) + rho_a KL(P1 || a) + rho_b KL(P^T 1 || b)`` with ``C = 1 - cos``
    (``+inf`` on self-pairs in the joint layout; ``1 - cos`` rather than ``-cos`` so that relaxed plans
    keep a bounded mass; balanced plans are the same either way), by ``n_rounds`` iterations of
    :func:`gca_lab.ot.sinkhorn` (paper §2.2, §2.9). ``n_rounds = 0`` shows the kernel normalized by its
    total mass (no projection at all). The target is :func:`gca_lab.targets.domain_prior` with
    ``alpha``, ``beta`` (the identity when both are 0), rows scaled to ``a``; every loss of
    :data:`LOSS_NAMES` is evaluated against it at the same ``eps`` (iterative losses with
    ``max(1, n_rounds)`` rounds; UOT losses with ``rho_a``, ``rho_b``). Computed in float64.

    Never raises for in-range parameters: a ``ValueError`` of the library or a non-finite result gives
    ``ok = False`` and a ``message``.

    Args:
        params: a :class:`PlanParams` (default: all defaults); ``**overrides`` replace its fields.
    """
    p = replace(params or PlanParams(), **overrides)
    t0 = time.perf_counter()
    try:
        check_int("n", p.n, minimum=2)
        check_positive("eps", p.eps)
        check_int("n_rounds", p.n_rounds, minimum=0)
        check_nonnegative("rho_a", p.rho_a, allow_inf=True)
        check_nonnegative("rho_b", p.rho_b, allow_inf=True)
        check_choice("layout", p.layout, ("cross", "joint"))
        batch = two_view_batch(p.n, dataset=p.dataset, noise=p.noise, corrupt=p.corrupt, seed=p.seed)
    except (ValueError, TypeError) as exc:
        return _empty_plan_data(p, f"invalid setting: {exc}", time.perf_counter() - t0)
    z1, z2 = batch.z1, batch.z2
    with torch.no_grad():
        u1, u2 = torch.nn.functional.normalize(z1, dim=1), torch.nn.functional.normalize(z2, dim=1)
        if p.layout == "joint":
            u = torch.cat([u1, u2], 0)  # (2B, d)
            sim = u @ u.T  # (2B, 2B)
            cost = (1.0 - sim).fill_diagonal_(math.inf)
        else:
            sim = u1 @ u2.T  # (B, B)
            cost = 1.0 - sim
        n, m = cost.shape
        a = torch.full((n,), 1.0 / n, dtype=torch.float64)
        b = torch.full((m,), 1.0 / m, dtype=torch.float64)
        log_k = -cost / p.eps  # (n, m); -inf on excluded pairs
        kernel = (log_k - log_k.max()).exp()
        message = ""
        try:
            if p.n_rounds == 0:
                log_plan = log_k - torch.logsumexp(log_k.reshape(-1), 0)
                errors = torch.zeros(0, dtype=torch.float64)
                message = "0 rounds: no projection; the plan shown is the kernel divided by its total mass."
            else:
                res = sinkhorn(cost, a, b, eps=p.eps, rho_a=p.rho_a, rho_b=p.rho_b, n_iters=p.n_rounds)
                log_plan, errors = res.log_plan, res.errors.reshape(-1)
            plan = log_plan.exp()
            target = _targets.domain_prior(batch.domains, p.alpha, p.beta, layout=p.layout, dtype=torch.float64)
            target_rows = _targets.normalize_rows(target, a)
        except ValueError as exc:
            return _empty_plan_data(p, f"the library refused these settings: {exc}", time.perf_counter() - t0)
        if not bool(torch.isfinite(plan).all()) or not bool(torch.isfinite(errors).all()):
            return _empty_plan_data(p, f"no finite plan at eps={p.eps:g} with {p.n_rounds} rounds "
                                       "(float64 under/overflow); try a larger eps.", time.perf_counter() - t0)
        values: dict[str, float] = {}
        failed = []
        for name in LOSS_NAMES:
            try:
                loss = _losses.make_loss(name, **_loss_kwargs(name, p))
                lay = "joint" if name == "simclr" else p.layout
                tgt = _targets.domain_prior(batch.domains, p.alpha, p.beta, layout=lay, dtype=torch.float64)
                v = float(loss(z1, z2, tgt))
            except ValueError as exc:
                v = math.nan
                failed.append(f"{name} ({exc})")
            if not math.isfinite(v):
                if not failed or not failed[-1].startswith(name):
                    failed.append(f"{name} (not finite)")
                v = math.nan
            values[name] = v
        if failed:
            message = (message + " " if message else "") + "loss not available: " + "; ".join(failed)
    return PlanData(
        params=p, ok=True, message=message, kernel=_np(kernel), plan=_np(plan), target=_np(target_rows),
        row_marginal=_np(plan.sum(1)), col_marginal=_np(plan.sum(0)), row_target=_np(a), col_target=_np(b),
        errors=_np(errors), losses=values, corrupted=batch.corrupted.numpy().copy(),
        seconds=time.perf_counter() - t0,
    )


@_one_thread
def compute_method_plans(
    z1: Tensor,
    z2: Tensor,
    *,
    eps: float = 0.5,
    n_iters: int = 10,
    rho: float = 0.2,
    methods: Sequence[str] = ("ince", "gca_ince", "gca_uot"),
) -> dict[str, np.ndarray]:
    """The kernel and the plan of each method on one batch (paper poster §5.5: K | INCE | GCA-INCE | GCA-UOT).

    Plans are :attr:`gca_lab.losses.LossOutput.plan` of :func:`gca_lab.losses.make_loss` (cross layout,
    unit marginals: each row carries mass 1 after the last row step), with ``eps``, ``n_iters`` rounds for
    the iterative losses and ``rho`` for the unbalanced ones. Returns ``{"kernel": K, name: P, ...}``
    (``K = exp(cos / eps)`` divided by its maximum).
    """
    out: dict[str, np.ndarray] = {}
    with torch.no_grad():
        for name in methods:
            kw: dict[str, Any] = {"eps": eps}
            if name in _ITERATIVE:
                kw["n_iters"] = n_iters
            if name in _UNBALANCED:
                kw["rho"] = rho
            det = _losses.make_loss(name, **kw).details(z1, z2)
            if "kernel" not in out:
                lk = det.log_kernel
                out["kernel"] = _np((lk - lk.max()).exp())
            out[name] = _np(det.plan)
    return out


def _widgets():
    import ipywidgets as w

    return w


def _figure_widget(fig: Any) -> Any:
    import plotly.graph_objects as go

    try:
        return go.FigureWidget(fig)
    except ImportError as exc:  # plotly >= 6 needs anywidget for FigureWidget
        raise ImportError(
            "the gca_lab explorers need plotly FigureWidget, which (plotly >= 6) needs the 'anywidget' "
            "package: pip install anywidget"
        ) from exc


def _rho_slider(description: str, value: float) -> Any:
    w = _widgets()
    options = [("inf" if math.isinf(r) else f"{r:g}", r) for r in RHO_CHOICES]
    if value not in RHO_CHOICES:
        raise ValueError(f"{description} must be one of {RHO_CHOICES}, got {value!r}")
    return w.SelectionSlider(options=options, value=value, description=description, continuous_update=False)


def _display_value(mat: np.ndarray, log10: bool) -> np.ndarray:
    if not log10:
        return mat
    with np.errstate(divide="ignore"):
        out = np.log10(np.where(mat > 0, mat, np.nan))
    return out


class _View:
    """Shared plumbing: ``.widget`` (the layout), notebook display, ``.status``, timing."""

    widget: Any
    status: Any
    redraw_ms: list[float]

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    @property
    def last_redraw_ms(self) -> float:
        """Wall time of the last ``compute + in-place update``, in milliseconds."""
        return self.redraw_ms[-1] if self.redraw_ms else math.nan

    @contextlib.contextmanager
    def hold(self) -> Any:
        """Set several controls at once with a single redraw at the end: ``with ex.hold(): ...``."""
        self._held = True
        try:
            yield self
        finally:
            self._held = False
            self.update()

    def _set_status(self, text: str, error: bool = False) -> None:
        color = "#b00020" if error else "#555"
        self.status.value = f"<span style='color:{color}'>{text}</span>" if text else ""


class PlanExplorer(_View):
    """Sliders over ``eps``, rounds, ``rho_a``, ``rho_b``, layout, view noise, corrupted pairs, ``alpha``, ``beta``.

    Shows at once (plotly ``FigureWidget`` s built once, updated in place):

    - ``fig_maps``: heatmaps of the kernel ``K / max K``, the plan ``P`` and the target (traces 0, 1, 2);
      the ``scale`` toggle shows linear values or ``log10``;
    - ``fig_marginals``: ``P1`` vs ``a`` and ``P^T 1`` vs ``b`` (traces 0-3);
    - ``fig_convergence``: the Sinkhorn marginal error per iteration (log axis);
    - ``fig_losses``: the value of every loss of :data:`LOSS_NAMES`;
    - ``status`` (messages: errors, refused settings) and ``readout`` (plan checksum, diagonal mass, timing).

    ``controls`` maps ``eps, n_rounds, rho_a, rho_b, layout, noise, corrupt, alpha, beta, scale`` to widgets;
    ``state`` is the last :class:`PlanData` shown; ``redraw_ms`` the timings of every redraw.
    """

    def __init__(self, params: PlanParams | None = None) -> None:
        w = _widgets()
        p = params or PlanParams()
        self.base = p
        self.controls = {
            "eps": w.FloatLogSlider(value=p.eps, base=10, min=-2, max=math.log10(2.0), step=0.01, description="eps",
                                    readout_format=".3f", continuous_update=False),
            "n_rounds": w.IntSlider(value=p.n_rounds, min=0, max=50, description="rounds", continuous_update=False),
            "rho_a": _rho_slider("rho_a", p.rho_a),
            "rho_b": _rho_slider("rho_b", p.rho_b),
            "layout": w.ToggleButtons(options=["cross", "joint"], value=p.layout, description="layout"),
            "noise": w.FloatSlider(value=p.noise, min=0.0, max=0.5, step=0.05, description="view noise",
                                   continuous_update=False),
            "corrupt": w.FloatSlider(value=p.corrupt, min=0.0, max=1.0, step=0.05, description="corrupted",
                                     continuous_update=False),
            "alpha": w.FloatSlider(value=p.alpha, min=0.0, max=1.0, step=0.05, description="alpha (same dom.)",
                                   continuous_update=False),
            "beta": w.FloatSlider(value=p.beta, min=0.0, max=1.0, step=0.05, description="beta (other dom.)",
                                  continuous_update=False),
            "scale": w.ToggleButtons(options=["linear", "log10"], value="linear", description="colour"),
        }
        for c in self.controls.values():
            c.style.description_width = "110px"
        self.status = w.HTML()
        self.readout = w.HTML()
        self.readout.add_class("gca-readout")
        self.redraw_ms = []
        first = compute_plan(p)
        if not first.ok:
            first = compute_plan(PlanParams())
        self.state = first
        log10 = False
        self.fig_maps = _figure_widget(_viz.plotly_heatmaps(
            {"kernel K / max K": first.kernel, "plan P": first.plan, "target (rows scaled to a)": first.target}))
        self.fig_marginals = _figure_widget(_viz.plotly_marginals(
            first.row_marginal, first.row_target, first.col_marginal, first.col_target))
        self.fig_convergence = _figure_widget(_viz.plotly_convergence(first.errors if first.errors.size else [np.nan]))
        self.fig_losses = _figure_widget(_viz.plotly_bars(first.losses))
        self._log10 = log10
        self._show(first, 0.0)
        for c in self.controls.values():
            c.observe(self._on_change, names="value")
        left = w.VBox([self.controls[k] for k in ("eps", "n_rounds", "rho_a", "rho_b", "layout")])
        right = w.VBox([self.controls[k] for k in ("noise", "corrupt", "alpha", "beta", "scale")])
        self.widget = w.VBox([
            w.HBox([left, right]), self.status, self.readout, self.fig_maps,
            w.HBox([self.fig_marginals, self.fig_convergence]), self.fig_losses,
        ])

    def params(self) -> PlanParams:
        """The :class:`PlanParams` of the current control values."""
        c = self.controls
        return replace(self.base, eps=float(c["eps"].value), n_rounds=int(c["n_rounds"].value),
                       rho_a=float(c["rho_a"].value), rho_b=float(c["rho_b"].value), layout=c["layout"].value,
                       noise=float(c["noise"].value), corrupt=float(c["corrupt"].value),
                       alpha=float(c["alpha"].value), beta=float(c["beta"].value))

    def _on_change(self, change: Any = None) -> None:
        if not getattr(self, "_held", False):
            self.update()

    def update(self) -> PlanData:
        """Recompute from the controls and redraw in place; returns the new :class:`PlanData`."""
        t0 = time.perf_counter()
        try:
            data = compute_plan(self.params())
        except Exception as exc:  # noqa: BLE001 - a widget must never show a traceback
            data = _empty_plan_data(self.params(), f"unexpected error: {type(exc).__name__}: {exc}")
        self._show(data, t0)
        return data

    def _show(self, data: PlanData, t0: float) -> None:
        if not data.ok:
            self._set_status(data.message + " (figures keep the last valid result)", error=True)
            return
        log10 = self.controls["scale"].value == "log10" if hasattr(self, "controls") else False
        with self.fig_maps.batch_update():
            self.fig_maps.data[0].z = _display_value(data.kernel, log10)
            self.fig_maps.data[1].z = _display_value(data.plan, log10)
            self.fig_maps.data[2].z = _display_value(data.target, log10)
        with self.fig_marginals.batch_update():
            self.fig_marginals.data[0].y = data.row_marginal
            self.fig_marginals.data[1].y = data.row_target
            self.fig_marginals.data[2].y = data.col_marginal
            self.fig_marginals.data[3].y = data.col_target
        with self.fig_convergence.batch_update():
            e = data.errors
            self.fig_convergence.data[0].x = np.arange(1, e.size + 1)
            self.fig_convergence.data[0].y = np.where(e > 0, e, np.nan) if e.size else e
        with self.fig_losses.batch_update():
            vals = [data.losses[k] for k in LOSS_NAMES]
            self.fig_losses.data[0].x = list(LOSS_NAMES)
            self.fig_losses.data[0].y = [None if not math.isfinite(v) else v for v in vals]
            self.fig_losses.data[0].text = ["n/a" if not math.isfinite(v) else f"{v:.3g}" for v in vals]
        self.state = data
        ms = (time.perf_counter() - t0) * 1000 if t0 else data.seconds * 1000
        self.redraw_ms.append(ms)
        self._set_status(data.message, error=False)
        self.readout.value = (
            f"plan checksum: {data.checksum:.6e} | mass on positive pairs: {data.diag_mass:.4f} | "
            f"total mass: {data.plan.sum():.4f} | redraw {ms:.0f} ms"
        )


# --------------------------------------------------------------------------------------------------
# Notebook 03: unbalanced OT and noisy views
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorruptedMass:
    """Mass of a plan on corrupted vs clean pairs (:func:`compute_corrupted_mass`).

    Masses are in units of the balanced share ``1/B`` (so a balanced plan has row/column mass 1).

    Attributes:
        rho: the marginal penalty (``inf`` = balanced). plan: ``(B, B)`` the plan times ``B``.
        corrupted: ``(B,)`` bool mask.
        col_mass_corrupted, col_mass_clean: mean column mass ``B (P^T 1)_j`` over corrupted / clean ``j``.
        row_mass_corrupted, row_mass_clean: the same for rows.
        pos_mass_corrupted, pos_mass_clean: mean ``B P_ii`` (the positive pair's own entry).
    """

    rho: float
    plan: np.ndarray
    corrupted: np.ndarray
    col_mass_corrupted: float
    col_mass_clean: float
    row_mass_corrupted: float
    row_mass_clean: float
    pos_mass_corrupted: float
    pos_mass_clean: float


@_one_thread
def compute_corrupted_mass(
    fraction: float = 0.25,
    rho: float = 0.1,
    *,
    n: int = 96,
    eps: float = 0.1,
    n_iters: int = 100,
    corruption: str = "noise",
    seed: int = 0,
) -> CorruptedMass:
    r"""Where the plan sends mass when a fraction of positive pairs is corrupted (paper §2.9).

    Corrupts ``round(fraction n)`` pairs of a digit batch (:func:`two_view_batch`), then solves entropic
    OT between the views with uniform marginals and penalty ``rho`` on both sides (``inf`` = balanced)
    by :func:`gca_lab.ot.sinkhorn`, with cost ``C = 1 - cos`` (the reference code's convention; the
    constant shift does not change balanced plans but sets the scale of unbalanced ones, paper.md §2.2).
    A balanced plan must route mass ``1/B`` through every column, including a corrupted view that
    resembles nothing; the unbalanced plan can let it go.
    """
    fraction = check_interval("fraction", fraction, 0.0, 1.0)
    rho = check_nonnegative("rho", rho, allow_inf=True)
    batch = two_view_batch(n, dataset="digits", corrupt=fraction, corruption=corruption, seed=seed)
    bad = batch.corrupted
    with torch.no_grad():
        u1 = torch.nn.functional.normalize(batch.z1, dim=1)
        u2 = torch.nn.functional.normalize(batch.z2, dim=1)
        res = sinkhorn(1.0 - u1 @ u2.T, eps=eps, rho_a=rho, rho_b=rho, n_iters=n_iters)
        plan = res.plan * n  # (B, B), balanced rows/cols sum to 1
    if not bool(torch.isfinite(plan).all()):
        raise ValueError(f"no finite plan at eps={eps}, rho={rho}; increase eps")
    rows, cols, diag = plan.sum(1), plan.sum(0), torch.diagonal(plan)

    def mean(x: Tensor, mask: Tensor) -> float:
        return float(x[mask].mean()) if bool(mask.any()) else math.nan

    return CorruptedMass(
        rho=rho, plan=_np(plan), corrupted=bad.numpy().copy(),
        col_mass_corrupted=mean(cols, bad), col_mass_clean=mean(cols, ~bad),
        row_mass_corrupted=mean(rows, bad), row_mass_clean=mean(rows, ~bad),
        pos_mass_corrupted=mean(diag, bad), pos_mass_clean=mean(diag, ~bad),
    )


@dataclass(frozen=True)
class NoisyViews:
    """Result of :func:`compute_noisy_views`.

    Attributes:
        rhos: ``(R,)`` the swept penalties (the last is ``inf``, the balanced plan).
        col_mass_corrupted, col_mass_clean, pos_mass_corrupted, pos_mass_clean: ``(R,)`` (see :class:`CorruptedMass`).
        methods: loss names. grad_corrupted, grad_clean: ``{method: float}`` mean per-pair gradient norm
        ``sqrt(||dL/dz1_i||^2 + ||dL/dz2_i||^2)`` over corrupted / clean pairs; grad_ratio = corrupted / clean.
        fraction, eps: the settings.
    """

    rhos: np.ndarray
    col_mass_corrupted: np.ndarray
    col_mass_clean: np.ndarray
    pos_mass_corrupted: np.ndarray
    pos_mass_clean: np.ndarray
    methods: tuple[str, ...]
    grad_corrupted: dict[str, float]
    grad_clean: dict[str, float]
    grad_ratio: dict[str, float]
    fraction: float
    eps: float


@_one_thread
def compute_noisy_views(
    fraction: float = 0.25,
    rhos: Sequence[float] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0),
    *,
    n: int = 96,
    eps: float = 0.1,
    n_iters: int = 100,
    methods: Sequence[str] = ("ince", "gca_ince", "gca_uot", "rince"),
    loss_eps: float = 0.5,
    loss_kwargs: dict[str, dict[str, Any]] | None = None,
    corruption: str = "noise",
    seed: int = 0,
) -> NoisyViews:
    r"""Mass on corrupted vs clean pairs against ``rho``, and each loss's gradient on corrupted vs clean pairs.

    The mass part sweeps :func:`compute_corrupted_mass` over ``rhos`` (plus ``inf``). The gradient part
    evaluates each loss of ``methods`` (:func:`gca_lab.losses.make_loss` with ``eps = loss_eps`` and the
    library defaults, overridable by ``loss_kwargs[name]``) on the embeddings of the same batch, and
    differentiates it by autograd with respect to both views' embeddings ``z1``, ``z2``.
    """
    rs = [check_nonnegative("rho", r, allow_inf=True) for r in rhos]
    if not rs or not math.isinf(rs[-1]):
        rs.append(math.inf)
    rows = [compute_corrupted_mass(fraction, r, n=n, eps=eps, n_iters=n_iters, corruption=corruption, seed=seed)
            for r in rs]
    batch = two_view_batch(n, dataset="digits", corrupt=fraction, corruption=corruption, seed=seed)
    bad = batch.corrupted
    g_bad, g_clean, ratio = {}, {}, {}
    for name in methods:
        kw = {"eps": loss_eps, **((loss_kwargs or {}).get(name, {}))}
        loss = _losses.make_loss(name, **kw)
        z1 = batch.z1.clone().requires_grad_(True)
        z2 = batch.z2.clone().requires_grad_(True)
        value = loss(z1, z2)
        g1, g2 = torch.autograd.grad(value, (z1, z2))
        per_pair = (g1.pow(2).sum(1) + g2.pow(2).sum(1)).sqrt()  # (B,)
        gb = float(per_pair[bad].mean()) if bool(bad.any()) else math.nan
        gc = float(per_pair[~bad].mean()) if bool((~bad).any()) else math.nan
        g_bad[name], g_clean[name] = gb, gc
        ratio[name] = gb / gc if gc > 0 else math.nan
    return NoisyViews(
        rhos=np.array(rs), col_mass_corrupted=np.array([r.col_mass_corrupted for r in rows]),
        col_mass_clean=np.array([r.col_mass_clean for r in rows]),
        pos_mass_corrupted=np.array([r.pos_mass_corrupted for r in rows]),
        pos_mass_clean=np.array([r.pos_mass_clean for r in rows]),
        methods=tuple(methods), grad_corrupted=g_bad, grad_clean=g_clean, grad_ratio=ratio,
        fraction=float(fraction), eps=float(eps),
    )


class NoisyViewsExplorer(_View):
    """Sliders ``fraction`` (corrupted pairs) and ``rho``: balanced vs unbalanced plan side by side.

    ``fig_maps`` traces 0, 1: the balanced plan and the plan with penalty ``rho`` (both times ``B``);
    ``fig_bars`` traces 0 (balanced), 1 (unbalanced): mean column mass on corrupted / clean pairs.
    ``state`` is ``(balanced, unbalanced)`` :class:`CorruptedMass`.
    """

    def __init__(self, fraction: float = 0.25, rho: float = 0.1, *, n: int = 96, eps: float = 0.1,
                 n_iters: int = 100, seed: int = 0) -> None:
        import plotly.graph_objects as go

        w = _widgets()
        self._kw = dict(n=n, eps=eps, n_iters=n_iters, seed=seed)
        self.controls = {
            "fraction": w.FloatSlider(value=fraction, min=0.0, max=0.9, step=0.05, description="corrupted",
                                      continuous_update=False),
            "rho": _rho_slider("rho", rho),
        }
        self.status = w.HTML()
        self.redraw_ms = []
        bal, unb = self._compute()
        self.state = (bal, unb)
        self.fig_maps = _figure_widget(_viz.plotly_heatmaps({"balanced plan (x B)": bal.plan,
                                                             "unbalanced plan (x B)": unb.plan}))
        cats = ["corrupted columns", "clean columns"]
        bars = go.Figure([
            go.Bar(x=cats, y=[bal.col_mass_corrupted, bal.col_mass_clean], name="balanced (rho = inf)"),
            go.Bar(x=cats, y=[unb.col_mass_corrupted, unb.col_mass_clean], name="unbalanced"),
        ])
        bars.update_layout(height=260, title="mean column mass (x B)", margin=dict(l=10, r=10, t=40, b=10))
        self.fig_bars = _figure_widget(bars)
        self._show(bal, unb, 0.0)
        for c in self.controls.values():
            c.observe(lambda change: None if getattr(self, "_held", False) else self.update(), names="value")
        self.widget = w.VBox([w.HBox(list(self.controls.values())), self.status, self.fig_maps, self.fig_bars])

    def _compute(self) -> tuple[CorruptedMass, CorruptedMass]:
        f = float(self.controls["fraction"].value)
        rho = float(self.controls["rho"].value)
        return (compute_corrupted_mass(f, math.inf, **self._kw), compute_corrupted_mass(f, rho, **self._kw))

    def update(self) -> None:
        """Recompute from the controls and redraw in place."""
        t0 = time.perf_counter()
        try:
            bal, unb = self._compute()
        except (ValueError, TypeError) as exc:
            self._set_status(f"cannot compute: {exc}", error=True)
            return
        self._show(bal, unb, t0)

    def _show(self, bal: CorruptedMass, unb: CorruptedMass, t0: float) -> None:
        if not (np.isfinite(bal.plan).all() and np.isfinite(unb.plan).all()):
            self._set_status("non-finite plan; figures keep the last valid result", error=True)
            return
        with self.fig_maps.batch_update():
            self.fig_maps.data[0].z = bal.plan
            self.fig_maps.data[1].z = unb.plan
        with self.fig_bars.batch_update():
            self.fig_bars.data[0].y = [bal.col_mass_corrupted, bal.col_mass_clean]
            self.fig_bars.data[1].y = [unb.col_mass_corrupted, unb.col_mass_clean]
        self.state = (bal, unb)
        if t0:
            self.redraw_ms.append((time.perf_counter() - t0) * 1000)
        k = int(bal.corrupted.sum())
        self._set_status(f"{k} corrupted pair(s) of {bal.corrupted.size}" + ("" if k else " (nothing corrupted)"))


# --------------------------------------------------------------------------------------------------
# Notebook 04: alignment and uniformity on the sphere
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SphereTrajectories:
    """Snapshots of a toy training on the circle/sphere (:func:`compute_sphere_trajectories`).

    Attributes:
        steps: ``(S,)`` the optimization steps of the snapshots (0 = initialization).
        points: ``{method: (S, N, d)}`` unit-norm embeddings at each snapshot.
        alignment, uniformity, loss: ``{method: (S,)}`` :func:`gca_lab.geometry.alignment` of two fresh
            noisy views, :func:`gca_lab.geometry.uniformity` of the points, and the training loss.
        colors: ``(N,)`` a fixed colour value per point (its initial angle).
        methods, dim, seconds.
    """

    steps: np.ndarray
    points: dict[str, np.ndarray]
    alignment: dict[str, np.ndarray]
    uniformity: dict[str, np.ndarray]
    loss: dict[str, np.ndarray]
    colors: np.ndarray
    methods: tuple[str, ...]
    dim: int
    seconds: float = 0.0


@_one_thread
def compute_sphere_trajectories(
    methods: Sequence[str] = ("ince", "gca_ince", "gca_uot"),
    *,
    dim: int = 2,
    n_points: int = 48,
    steps: int = 300,
    lr: float = 0.05,
    eps: float = 0.2,
    view_noise: float = 0.2,
    init_spread: float = 0.3,
    snapshot_every: int = 10,
    loss_kwargs: dict[str, dict[str, Any]] | None = None,
    seed: int = 0,
) -> SphereTrajectories:
    r"""Train free embeddings on the circle (``dim = 2``) or sphere (``dim = 3``) under each loss.

    The toy: ``N`` free parameters ``theta_i in R^d`` start bunched around one pole
    (``e_1 + init_spread * noise``). At each step two views are ``theta_i + view_noise * xi``
    (fresh Gaussian ``xi`` per view, the "augmentation"), the loss (:func:`gca_lab.losses.make_loss`
    with ``eps`` and the library defaults, or ``loss_kwargs[name]``) compares them, and Adam with
    learning rate ``lr`` updates ``theta``. Every method starts from the same points and sees the same
    noise (one seeded generator per method). Snapshots every ``snapshot_every`` steps record the
    normalized points, alignment of two fresh views and uniformity (Wang & Isola 2020).
    """
    dim = check_int("dim", dim, minimum=2, maximum=3)
    n_points = check_int("n_points", n_points, minimum=2)
    steps = check_int("steps", steps, minimum=1)
    snapshot_every = check_int("snapshot_every", snapshot_every, minimum=1)
    lr = check_positive("lr", lr)
    view_noise = check_nonnegative("view_noise", view_noise)
    t0 = time.perf_counter()
    g0 = torch.Generator().manual_seed(seed)
    e1 = torch.zeros(dim)
    e1[0] = 1.0
    init = e1 + init_spread * torch.randn(n_points, dim, generator=g0)
    colors = torch.atan2(init[:, 1], init[:, 0]).numpy().astype(np.float64)
    snap_steps = sorted(set(range(0, steps + 1, snapshot_every)) | {steps})
    pts, ali, uni, lss = {}, {}, {}, {}
    for name in methods:
        loss_fn = _losses.make_loss(name, **{"eps": eps, **((loss_kwargs or {}).get(name, {}))})
        g = torch.Generator().manual_seed(seed + 1)
        theta = init.clone().requires_grad_(True)
        opt = torch.optim.Adam([theta], lr=lr)
        p_s, a_s, u_s, l_s = [], [], [], []
        last = math.nan

        def snapshot(loss_value: float) -> None:
            with torch.no_grad():
                z = torch.nn.functional.normalize(theta, dim=1)
                v1 = theta + view_noise * torch.randn(theta.shape, generator=g)
                v2 = theta + view_noise * torch.randn(theta.shape, generator=g)
                p_s.append(z.numpy().astype(np.float64).copy())
                a_s.append(float(_geometry.alignment(v1, v2)))
                u_s.append(float(_geometry.uniformity(z)))
                l_s.append(loss_value)

        for step in range(steps + 1):
            if step > 0:
                xi1 = torch.randn(theta.shape, generator=g)
                xi2 = torch.randn(theta.shape, generator=g)
                loss = loss_fn(theta + view_noise * xi1, theta + view_noise * xi2)
                opt.zero_grad()
                loss.backward()
                opt.step()
                last = float(loss.detach())
            if step in snap_steps:
                snapshot(last)
        pts[name] = np.stack(p_s)
        ali[name], uni[name], lss[name] = np.array(a_s), np.array(u_s), np.array(l_s)
    return SphereTrajectories(np.array(snap_steps), pts, ali, uni, lss, colors, tuple(methods), dim,
                              time.perf_counter() - t0)


class SphereExplorer(_View):
    """A step slider (with a play button) over :class:`SphereTrajectories`: points on the circle/sphere of
    every method side by side (``fig_points``, updated in place) and alignment/uniformity curves with a
    marker at the current step (``fig_curves``; the marker is ``layout.shapes``, moved in place).

    ``controls["step"]`` indexes the snapshots; ``state`` is the shown snapshot index.
    """

    def __init__(self, traj: SphereTrajectories) -> None:
        w = _widgets()
        self.traj = traj
        self.redraw_ms = []
        self.status = w.HTML()
        s_last = len(traj.steps) - 1
        self.controls = {
            "step": w.IntSlider(value=0, min=0, max=s_last, description="snapshot", continuous_update=True),
        }
        self.play = w.Play(value=0, min=0, max=s_last, interval=150, description="play")
        w.jslink((self.play, "value"), (self.controls["step"], "value"))
        first = {m: traj.points[m][0] for m in traj.methods}
        fig = _viz.plotly_points(first, colors=traj.colors)
        self._idx = list(fig.layout.meta["point_traces"])
        self.fig_points = _figure_widget(fig)
        self.fig_curves = _figure_widget(_viz.plotly_curves(
            traj.steps, {"alignment (lower = aligned)": traj.alignment, "uniformity (lower = uniform)": traj.uniformity},
            marker_x=float(traj.steps[0])))
        self.state = 0
        self._show(0)
        self.controls["step"].observe(lambda change: None if getattr(self, "_held", False) else self.update(),
                                      names="value")
        self.widget = w.VBox([w.HBox([self.play, self.controls["step"]]), self.status, self.fig_points, self.fig_curves])

    def update(self) -> None:
        """Show the snapshot selected by ``controls["step"]`` (in place)."""
        t0 = time.perf_counter()
        self._show(int(self.controls["step"].value))
        self.redraw_ms.append((time.perf_counter() - t0) * 1000)

    def _show(self, k: int) -> None:
        traj = self.traj
        with self.fig_points.batch_update():
            for i, m in zip(self._idx, traj.methods):
                pts = traj.points[m][k]
                self.fig_points.data[i].x = pts[:, 0]
                self.fig_points.data[i].y = pts[:, 1]
                if traj.dim == 3:
                    self.fig_points.data[i].z = pts[:, 2]
        x = float(traj.steps[k])
        with self.fig_curves.batch_update():
            for shape in self.fig_curves.layout.shapes:
                shape.x0 = x
                shape.x1 = x
        self.state = k
        parts = [f"{m}: align {traj.alignment[m][k]:.3f}, unif {traj.uniformity[m][k]:.3f}" for m in traj.methods]
        self._set_status(f"step {int(traj.steps[k])}: " + " | ".join(parts))
