r"""Statistics over seeds and sweeps: mean and std, paired differences with their t interval, the
detectable effect, verdicts, rank correlation and log-log slopes (scipy underneath).

One module for the numbers every experiment, plot and notebook reports, so a "±", a "95%
interval" or a "slope" means the same thing everywhere.

Pairing is **by seed**: two methods are compared on the runs that share a seed (the same data
order, augmentations and initialization), never by position in two lists that may have lost
different runs. Give per-seed results as ``{seed: value}`` mappings; plain sequences are accepted
only when they have the same length and are known to be aligned by seed.

A claim "a beats b" is judged from the paired difference ``d_s = a_s - b_s``:

    mean ± t_{(1+c)/2, n-1} · sd(d) / sqrt(n)          (Student t, ``c`` = confidence, 0.95)

and the interval's half-width is the *detectable effect*: the smallest true difference this
many seeds can tell from zero at this noise. :func:`verdict` maps the interval to one of
:data:`VERDICTS`; it takes the whole :class:`PairedDiff`, so a finer verdict (for example one that
also weighs the detectable effect against the paper's effect) changes this function only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence, Union

import numpy as np
import torch

__all__ = [
    "PerSeed",
    "PairedDiff",
    "VERDICTS",
    "mean_std",
    "paired_difference",
    "detectable_effect",
    "verdict",
    "spearman",
    "loglog_slope",
]

#: Per-seed results: ``{seed: value}`` (paired by seed), or a sequence already aligned by seed.
PerSeed = Union[Mapping[Any, float], Sequence[float]]

#: The verdicts of :func:`verdict`, strongest first.
VERDICTS: tuple[str, ...] = ("reproduced", "consistent", "not reproduced")


def _float_list(name: str, values: Any) -> list[float]:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().reshape(-1).tolist()
    elif isinstance(values, np.ndarray):
        values = values.reshape(-1).tolist()
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence of numbers, got {type(values).__name__}")
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name}[{i}] must be a real number, got {v!r} ({type(v).__name__})")
        v = float(v)
        if not math.isfinite(v):
            raise ValueError(f"{name}[{i}] must be finite, got {v!r}")
        out.append(v)
    if not out:
        raise ValueError(f"{name} must not be empty")
    return out


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation ``sqrt(sum (x - mean)^2 / (n - 1))`` (0.0 for one value).

    Args:
        values: non-empty sequence (list, array or tensor) of finite numbers, e.g. per-seed results.

    Returns:
        ``(mean, std)``.
    """
    v = _float_list("values", values)
    mean = sum(v) / len(v)
    if len(v) == 1:
        return mean, 0.0
    return mean, math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1))


@dataclass(frozen=True)
class PairedDiff:
    """Paired difference ``a - b`` over seeds with a Student-t confidence interval.

    Attributes:
        mean: mean of ``d_s = a_s - b_s``.
        std: sample std of the differences (ddof = 1; 0.0 when n = 1).
        n: number of pairs.
        low, high: ``mean -/+ t_{(1+confidence)/2, n-1} * std / sqrt(n)``; ``-inf``/``inf`` for n = 1.
        confidence: interval level (default 0.95).
        seeds: the seeds paired, in order (empty when the inputs were aligned sequences).
    """

    mean: float
    std: float
    n: int
    low: float
    high: float
    confidence: float = 0.95
    seeds: tuple = ()

    @property
    def half_width(self) -> float:
        """``(high - low) / 2``: the detectable effect (``inf`` with one pair)."""
        return (self.high - self.low) / 2


def _sorted(keys: Iterable[Any]) -> tuple:
    try:
        return tuple(sorted(keys))
    except TypeError:  # mixed key types: any fixed order will do
        return tuple(sorted(keys, key=repr))


def _pair(a: PerSeed, b: PerSeed) -> tuple[list[float], list[float], tuple]:
    if isinstance(a, Mapping) != isinstance(b, Mapping):
        raise TypeError("a and b must both be {seed: value} mappings or both be sequences aligned by seed, "
                        f"got {type(a).__name__} and {type(b).__name__}")
    if isinstance(a, Mapping):
        seeds = _sorted(set(a) & set(b))
        if not seeds:
            raise ValueError(f"a and b share no seed (a has {_sorted(a)}, b has {_sorted(b)})")
        va = _float_list("a", [a[s] for s in seeds])
        vb = _float_list("b", [b[s] for s in seeds])
        return va, vb, seeds
    va, vb = _float_list("a", a), _float_list("b", b)
    if len(va) != len(vb):
        raise ValueError(f"a and b must have the same length (paired by seed), got {len(va)} and {len(vb)}; "
                         "pass {seed: value} mappings to pair the seeds both have")
    return va, vb, ()


def paired_difference(a: PerSeed, b: PerSeed, *, confidence: float = 0.95) -> PairedDiff:
    """Paired t-interval for the mean of ``d_s = a_s - b_s`` over the seeds ``s`` both have.

        mean ± t_{(1+confidence)/2, n-1} · s_d / sqrt(n)        (``scipy.stats.t``)

    Args:
        a, b: per-seed values of the two methods: ``{seed: value}`` mappings (paired on the
            common seeds; seeds only one side has are left out), or two sequences of the same
            length n >= 1 aligned by seed.
        confidence: in (0, 1) (default 0.95).

    Returns:
        :class:`PairedDiff`; with n = 1 the interval is (-inf, inf).
    """
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    va, vb, seeds = _pair(a, b)
    d = [x - y for x, y in zip(va, vb)]
    mean, std = mean_std(d)
    n = len(d)
    if n == 1:
        return PairedDiff(mean, std, n, -math.inf, math.inf, float(confidence), seeds)
    from scipy.stats import t as student_t

    half = float(student_t.ppf((1 + confidence) / 2, n - 1)) * std / math.sqrt(n)
    return PairedDiff(mean, std, n, mean - half, mean + half, float(confidence), seeds)


def detectable_effect(diff: PairedDiff) -> float:
    """The smallest true difference this comparison can tell from zero: the interval's half-width
    ``t_{(1+c)/2, n-1} · s_d / sqrt(n)`` (``inf`` with one seed)."""
    if not isinstance(diff, PairedDiff):
        raise TypeError(f"diff must be a PairedDiff, got {type(diff).__name__}")
    return diff.half_width


def verdict(diff: PairedDiff | tuple[float, float]) -> str:
    """Verdict on "method a beats method b" from a paired interval:

    - ``"reproduced"`` if the interval lies above 0 (``low > 0``);
    - ``"not reproduced"`` if the mean difference is below 0;
    - ``"consistent"`` otherwise (mean >= 0 and the interval contains 0).

    Args:
        diff: a :class:`PairedDiff`, or a ``(low, high)`` interval whose midpoint is taken as the mean.

    Returns:
        one of :data:`VERDICTS`.
    """
    if isinstance(diff, PairedDiff):
        low, high, mean = diff.low, diff.high, diff.mean
    elif isinstance(diff, tuple) and len(diff) == 2:
        for v in diff:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
                raise ValueError(f"diff must be a (low, high) pair of real numbers, got {diff!r}")
        low, high = float(diff[0]), float(diff[1])
        # t-intervals are symmetric, so the midpoint is the mean; an unbounded side carries no sign.
        mean = (low + high) / 2 if math.isfinite(low) and math.isfinite(high) else 0.0
    else:
        raise TypeError(f"diff must be a PairedDiff or a (low, high) tuple, got {type(diff).__name__}")
    if low > high:
        raise ValueError(f"diff must have low <= high, got ({low}, {high})")
    if math.isnan(mean):
        raise ValueError("diff.mean must not be NaN")
    if low > 0:
        return "reproduced"
    if mean < 0:
        return "not reproduced"
    return "consistent"


def _finite_pairs(x: Any, y: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    xa = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float64).reshape(-1)
    ya = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y, dtype=np.float64).reshape(-1)
    if xa.shape != ya.shape:
        raise ValueError(f"{name}: x and y must have the same length, got {xa.size} and {ya.size}")
    ok = np.isfinite(xa) & np.isfinite(ya)
    return xa[ok], ya[ok]


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation ``rho = corr(rank(x), rank(y))`` (average ranks for ties), through
    ``scipy.stats.spearmanr``.

    Pairs where either value is not finite (a missing run) are left out. Returns ``nan`` when
    fewer than 3 pairs remain or one side is constant: two points always rank-correlate at ±1, and
    a constant has no ranks, so there is nothing to report; callers show ``nan`` as "undefined".
    """
    xa, ya = _finite_pairs(x, y, "spearman")
    if xa.size < 3 or np.all(xa == xa[0]) or np.all(ya == ya[0]):
        return math.nan
    from scipy.stats import spearmanr

    return float(spearmanr(xa, ya).statistic)


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Least-squares power law ``y ~ e^c x^slope``: the fit ``log y = slope · log x + c`` (natural
    logs, ``scipy.stats.linregress``). Returns ``(slope, c)``.

    Points with a non-positive or non-finite ``x`` or ``y`` (no logarithm; a missing timing) are
    left out; ``ValueError`` if fewer than two points with distinct ``x`` remain.
    """
    xa, ya = _finite_pairs(x, y, "loglog_slope")
    ok = (xa > 0) & (ya > 0)
    xa, ya = xa[ok], ya[ok]
    if np.unique(xa).size < 2:
        raise ValueError(f"loglog_slope needs at least two positive (x, y) points with distinct x, got {xa.size}")
    from scipy.stats import linregress

    fit = linregress(np.log(xa), np.log(ya))
    return float(fit.slope), float(fit.intercept)
