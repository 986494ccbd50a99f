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
many seeds can tell from zero at this noise. :func:`verdict` maps the interval and the paper's
effect to one of :data:`VERDICTS` (reproduced, contradicted, not reproduced: the experiment could
have seen the paper's effect and did not; inconclusive: it could not). :func:`judge` is the one
function that builds a :class:`Claim` (every row of every claims table), for ordering claims through
:func:`verdict` and for rule claims (identities, thresholds, correlations) through an explicit rule.
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
    "Claim",
    "judge",
    "spearman",
    "loglog_slope",
]

#: Per-seed results: ``{seed: value}`` (paired by seed), or a sequence already aligned by seed.
PerSeed = Union[Mapping[Any, float], Sequence[float]]

#: The verdicts of :func:`verdict` and :func:`judge`.
VERDICTS: tuple[str, ...] = ("reproduced", "not reproduced", "contradicted", "inconclusive")


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


def _check_effect(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number or None, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0 (the size of the effect the paper reports, "
                         f"in the claim's units) or None when the paper gives none, got {value!r}")
    return value


def verdict(diff: PairedDiff, paper_effect: float | None) -> str:
    """The verdict on "a beats b" from the paired interval and the effect the paper reports:

    - ``"reproduced"``: the interval lies above 0 (``low > 0``);
    - ``"contradicted"``: the interval lies below 0 (``high < 0``);
    - ``"not reproduced"``: the interval contains 0 and its half-width (the detectable effect) is at
      most ``paper_effect``: an effect of the paper's size would have been seen, and was not;
    - ``"inconclusive"``: the interval contains 0 and is wider than ``paper_effect`` (or the paper
      gives no effect size, or there is a single seed): this experiment cannot tell.

    The sign of the mean alone never decides: a negative mean whose interval contains 0 is
    ``"not reproduced"`` only when the interval is narrow enough.

    Args:
        diff: the :class:`PairedDiff` of ``a - b``.
        paper_effect: the paper's ``a - b`` (> 0, same units), or ``None`` if it reports none.

    Returns:
        one of :data:`VERDICTS`.
    """
    if not isinstance(diff, PairedDiff):
        raise TypeError(f"diff must be a PairedDiff, got {type(diff).__name__}")
    effect = _check_effect("paper_effect", paper_effect)
    if diff.low > 0:
        return "reproduced"
    if diff.high < 0:
        return "contradicted"
    if effect is not None and diff.half_width <= effect:
        return "not reproduced"
    return "inconclusive"


@dataclass(frozen=True)
class Claim:
    """One claim of the paper checked against our results: a row of every claims table.

    Built only by :func:`judge`, so every verdict in the library comes from one place. Readable as
    a row too (``claim["verdict"]``), which is how tables and the command line print it.

    Attributes:
        claim: what is claimed, e.g. ``"GCA-UOT ≥ INCE (mnist1d)"``.
        paper: what the paper reports (text, with where it reports it).
        paper_effect: the paper's effect in the claim's units (points, ...) for ordering claims,
            ``None`` when the claim is a rule (identity, threshold, correlation) or the paper gives none.
        ours: our result as text (paired mean with its 95% interval, or the rule's measured value).
        verdict: one of :data:`VERDICTS`.
        rule: how the verdict was reached, in words.
        mean, low, high, n: the paired difference and its interval (``None`` for rule claims).
        detectable: the interval's half-width, the smallest effect this experiment can detect
            (``None`` for rule claims; ``inf`` with one seed).
        units: units of ``mean`` / ``paper_effect`` (default ``"points"``).
    """

    claim: str
    paper: str
    ours: str
    verdict: str
    rule: str
    paper_effect: float | None = None
    mean: float | None = None
    low: float | None = None
    high: float | None = None
    n: int | None = None
    detectable: float | None = None
    units: str = "points"

    def __getitem__(self, key: str) -> Any:
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in self.__dataclass_fields__ else default

    def keys(self) -> tuple[str, ...]:
        return tuple(self.__dataclass_fields__)


PAIRED_RULE = ("paired by seed, 95% t-interval: above 0 reproduced, below 0 contradicted; containing 0: "
               "not reproduced if its half-width <= the paper's effect, else inconclusive")


def judge(
    claim: str,
    paper: str,
    *,
    a: PerSeed | None = None,
    b: PerSeed | None = None,
    paper_effect: float | None = None,
    holds: bool | None = None,
    opposite: bool = False,
    ours: str | None = None,
    rule: str | None = None,
    units: str = "points",
    digits: int = 2,
    scale: float = 1.0,
    confidence: float = 0.95,
) -> Claim:
    """The one function that gives a claim its verdict (every claims table, the README included).

    **Ordering claim** ("a beats b by about ``paper_effect``"): pass ``a`` and ``b`` (per-seed
    ``{seed: value}``, paired on the seeds both have, or sequences aligned by seed); the verdict is
    :func:`verdict` of the paired difference ``a_s - b_s`` and ``paper_effect``. With no common
    seed the claim is ``"inconclusive"`` (``ours = "not run"``).

    **Rule claim** (an exact identity, a threshold, a correlation, a slope): pass ``holds`` (did
    our measurement satisfy the rule), ``ours`` (the measured value as text) and ``rule`` (the
    rule in words). Verdict: ``holds=True`` -> ``"reproduced"``; ``holds=False`` -> ``"contradicted"``
    if ``opposite`` (the measurement shows the opposite of the claim) else ``"not reproduced"``;
    ``holds=None`` (nothing to measure, e.g. a correlation of a constant) -> ``"inconclusive"``.

    Args:
        claim, paper: the claim and what the paper reports (text).
        a, b: per-seed values of the two sides (ordering claims).
        paper_effect: the paper's ``a - b`` in the same units (> 0), or ``None``.
        holds, opposite, ours, rule: rule claims (see above); ``rule`` may also replace the
            wording of the paired rule (e.g. for a margin folded into ``a``).
        units, digits, scale: how ``ours`` prints (values times ``scale`` with ``digits`` decimals).
        confidence: interval level (0.95).

    Returns:
        :class:`Claim`.

    Raises:
        ValueError / TypeError: both or neither of the two kinds given, a bad ``paper_effect``,
        or per-seed values that are not finite numbers.
    """
    if not isinstance(claim, str) or not claim:
        raise TypeError(f"claim must be a non-empty string, got {claim!r}")
    if not isinstance(paper, str):
        raise TypeError(f"paper must be a string, got {type(paper).__name__}")
    effect = _check_effect("paper_effect", paper_effect)
    paired = a is not None or b is not None
    if paired and holds is not None:
        raise ValueError("judge takes either a and b (an ordering claim) or holds (a rule claim), not both; "
                         f"got holds={holds!r} with a and b")
    if not paired:
        if rule is None or ours is None:
            raise ValueError("judge needs a and b (an ordering claim), or rule (in words), ours (the measured value) "
                             f"and holds (a rule claim); got a=None, b=None, rule={rule!r}, ours={ours!r}")
        if holds is not None and not isinstance(holds, (bool, np.bool_)):
            raise TypeError(f"holds must be True, False or None, got {holds!r} ({type(holds).__name__})")
        v = "inconclusive" if holds is None else "reproduced" if holds else (
            "contradicted" if opposite else "not reproduced")
        return Claim(claim, paper, ours, v, rule, effect, units=units)
    if a is None or b is None:
        raise ValueError("an ordering claim needs both a and b")
    if (isinstance(a, Mapping) and isinstance(b, Mapping) and not set(a) & set(b)) or len(a) == 0 or len(b) == 0:
        return Claim(claim, paper, "not run", "inconclusive", rule or PAIRED_RULE, effect, units=units)
    d = paired_difference(a, b, confidence=confidence)
    hw = d.half_width
    f = lambda x: f"{scale * x:+.{digits}f}"  # noqa: E731
    text = (f"{f(d.mean)} [{f(d.low)}, {f(d.high)}] (n={d.n})" if d.n > 1
            else f"{f(d.mean)} (n=1: no interval)")
    return Claim(claim, paper, ours or text, verdict(d, effect), rule or PAIRED_RULE, effect,
                 d.mean, d.low, d.high, d.n, hw, units)


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
