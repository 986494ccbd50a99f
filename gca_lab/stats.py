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

and from the power of the paired t-test that produced it. The interval's half-width is only the
effect that would be detected *half* the time; :func:`mde` gives the minimum detectable effect at
80% power (MDE80) and :func:`power` the chance of detecting the paper's effect, both from the
noncentral t distribution. :func:`verdict` maps the interval, MDE80 and the paper's effect to one of
:data:`VERDICTS`; :func:`holm_adjust` applies Holm's step-down adjustment over an experiment's
declared main claims; :func:`leave_one_out` says how many seeds a reproduced ordering survives
losing. :func:`judge` is the one function that builds a :class:`Claim` (every row of every claims
table), for ordering claims through :func:`verdict` and for rule claims (identities, thresholds,
correlations) through an explicit rule; it also marks rows whose regime cannot test the claim
("no valid test here", with the reason) and whether a row is a claim of the paper or a check of the
code and protocol (:data:`KINDS`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence, Union

import numpy as np
import torch

from ._validate import check_int, check_interval, check_nonnegative, check_positive, check_real

__all__ = [
    "PerSeed",
    "PairedDiff",
    "VERDICTS",
    "mean_std",
    "fmt_pm",
    "paired_difference",
    "detectable_effect",
    "p_value",
    "power",
    "mde",
    "seeds_needed",
    "holm",
    "leave_one_out",
    "verdict",
    "holm_adjust",
    "KINDS",
    "NO_TEST",
    "Claim",
    "judge",
    "spearman",
    "loglog_slope",
]

#: Per-seed results: ``{seed: value}`` (paired by seed), or a sequence already aligned by seed.
PerSeed = Union[Mapping[Any, float], Sequence[float]]

#: The verdict of a row whose regime cannot test the claim (its ``rule`` says why).
NO_TEST = "no valid test here"

#: The verdicts of :func:`verdict` and :func:`judge`.
VERDICTS: tuple[str, ...] = ("reproduced", "not reproduced", "contradicted", "inconclusive", NO_TEST)

#: What a claims-table row is: ``"paper"`` (a claim the paper makes about its methods) or ``"check"``
#: (a check of our code or protocol: plan sums, code facts, "pretraining beats random init").
KINDS: tuple[str, ...] = ("paper", "check")

ALPHA = 0.05
"""Two-sided level of every paired test (the 95% intervals)."""

POWER = 0.8
"""The power at which :func:`mde` states the minimum detectable effect (MDE80)."""


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


def fmt_pm(values: Sequence[float], digits: int = 2) -> str:
    """``"mean ± std (n=..)"`` of per-seed values (:func:`mean_std`); ``"n/a"`` for none."""
    if values is None or len(values) == 0:
        return "n/a"
    m, s = mean_std(list(values))
    return f"{m:.{digits}f} ± {s:.{digits}f} (n={len(values)})"


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
    """The interval's half-width ``t_{(1+c)/2, n-1} · s_d / sqrt(n)`` (``inf`` with one seed): a true difference
    of this size is detected only about half the time; :func:`mde` gives the one detected with 80% power."""
    if not isinstance(diff, PairedDiff):
        raise TypeError(f"diff must be a PairedDiff, got {type(diff).__name__}")
    return diff.half_width


def p_value(diff: PairedDiff) -> float:
    """Two-sided p-value of the paired t-test of ``mean(d) = 0``: ``2 · P(T_{n-1} > |mean| sqrt(n) / s_d)``
    (``scipy.stats.t``); 1.0 with one pair (no test), 0.0 for a non-zero mean of identical differences."""
    if not isinstance(diff, PairedDiff):
        raise TypeError(f"diff must be a PairedDiff, got {type(diff).__name__}")
    if diff.n < 2:
        return 1.0
    if diff.std == 0.0:
        return 1.0 if diff.mean == 0.0 else 0.0
    from scipy.stats import t as student_t

    return float(2 * student_t.sf(abs(diff.mean) * math.sqrt(diff.n) / diff.std, diff.n - 1))


def _check_test_size(n: Any, sd: Any, alpha: Any) -> tuple[int, float, float]:
    n = check_int("n", n, minimum=1)
    sd = check_nonnegative("sd", sd)
    alpha = check_interval("alpha", alpha, 0.0, 1.0, low_open=True, high_open=True)
    return n, sd, alpha


def power(effect: float, n: int, sd: float, *, alpha: float = ALPHA) -> float:
    r"""Power of the two-sided paired t-test at level ``alpha`` to detect a true mean difference ``effect``
    with ``n`` pairs whose differences have standard deviation ``sd``:

        power = P(T' > t_c) + P(T' < -t_c),   T' ~ noncentral t(df = n - 1, nc = effect · sqrt(n) / sd),
        t_c = t_{1 - alpha/2, n-1}                                        (``scipy.stats.nct``)

    Plugging in the observed ``sd`` gives the power an experiment of this size and this noise has
    (Cohen 1988, ch. 2; the usual a-posteriori design calculation); it says nothing about our own
    observed mean, which the interval reports.

    Args:
        effect: the true difference (any sign; same units as ``sd``).
        n: number of pairs (>= 1; with one pair there is no test and the power is 0).
        sd: standard deviation of the paired differences (>= 0; with ``sd = 0`` any non-zero effect is
            detected with certainty).
        alpha: two-sided level in (0, 1) (default 0.05).

    Returns:
        the power in [alpha, 1] (0.0 for n = 1).
    """
    effect = check_real("effect", effect)
    n, sd, alpha = _check_test_size(n, sd, alpha)
    return _power(effect, n, sd, alpha)


def _power(effect: float, n: int, sd: float, alpha: float) -> float:
    if n < 2:
        return 0.0
    if sd == 0.0:
        return 1.0 if effect != 0.0 else alpha
    from scipy.stats import nct
    from scipy.stats import t as student_t

    # the test is symmetric in the sign of the effect; far in the tail scipy's nct returns nan for a
    # probability that is 0 to double precision, and beyond nc = 60 the power is 1 to double precision
    df, nc = n - 1, min(abs(effect) * math.sqrt(n) / sd, 60.0)
    tc = float(student_t.ppf(1 - alpha / 2, df))
    far, near = float(nct.sf(tc, df, nc)), float(nct.cdf(-tc, df, nc))
    return min(1.0, (far if math.isfinite(far) else 1.0) + (near if math.isfinite(near) else 0.0))


def mde(n: int, sd: float, *, power: float = POWER, alpha: float = ALPHA) -> float:
    r"""Minimum detectable effect: the smallest true difference ``delta > 0`` that the two-sided paired
    t-test at level ``alpha`` with ``n`` pairs of standard deviation ``sd`` detects with probability
    ``power`` (default 0.8: MDE80), i.e. the root of :func:`power` ``(delta, n, sd) = power`` (noncentral t,
    solved with ``scipy.optimize.brentq``).

    It is larger than the interval's half-width ``t_{1-alpha/2, n-1} sd / sqrt(n)``, an effect detected
    only about half the time: MDE80 = 1.38 half-widths at n = 8, 1.31 at n = 3 (close to the
    approximation ``(t_{1-alpha/2} + t_{power}) sd / sqrt(n)`` for large ``n``).

    Returns:
        MDE in the units of ``sd``; ``inf`` for n = 1 (no test), 0.0 for ``sd = 0``.
    """
    n, sd, alpha = _check_test_size(n, sd, alpha)
    target = check_interval("power", power, alpha, 1.0, low_open=True, high_open=True)
    if n < 2:
        return math.inf
    if sd == 0.0:
        return 0.0
    from scipy.optimize import brentq

    hi = sd
    while _power(hi, n, sd, alpha) < target:
        hi *= 2
    return float(brentq(lambda e: _power(e, n, sd, alpha) - target, 0.0, hi, xtol=1e-10 * sd))


def seeds_needed(effect: float, sd: float, *, power: float = POWER, alpha: float = ALPHA,
                 max_n: int = 1000) -> int | None:
    """The fewest pairs ``n >= 2`` whose MDE (:func:`mde`, at ``power``) is at most ``effect``, for paired
    differences of standard deviation ``sd`` (e.g. measured on the committed seeds): how many seeds a
    claim needs before its verdict can be "not reproduced". ``None`` if more than ``max_n``."""
    effect = check_positive("effect", effect)
    sd = check_nonnegative("sd", sd)
    max_n = check_int("max_n", max_n, minimum=2)
    if sd == 0.0:
        return 2
    lo, hi = 2, 2
    while mde(hi, sd, power=power, alpha=alpha) > effect:
        if hi >= max_n:
            return None
        lo, hi = hi, min(2 * hi, max_n)
    while lo < hi:  # the MDE falls with n: bisect for the first n that reaches the effect
        mid = (lo + hi) // 2
        if mde(mid, sd, power=power, alpha=alpha) <= effect:
            hi = mid
        else:
            lo = mid + 1
    return hi


def holm(p_values: Sequence[float]) -> list[float]:
    r"""Holm's step-down adjusted p-values (Holm 1979), in the order given: with the ``m`` p-values sorted
    ascending, ``p_(1) <= ... <= p_(m)``,

        p^adj_(j) = max_{k <= j} min(1, (m - k + 1) · p_(k)).

    Rejecting every hypothesis with ``p^adj < alpha`` controls the family-wise error rate at ``alpha``
    over the ``m`` claims (a notebook's declared main claims).
    """
    ps = _float_list("p_values", p_values)
    for i, v in enumerate(ps):
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"p_values[{i}] must be in [0, 1], got {v!r}")
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    out, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * ps[i]))
        out[i] = running
    return out


def leave_one_out(a: PerSeed, b: PerSeed, *, confidence: float = 0.95) -> tuple[int, int]:
    """Leave-one-seed-out check of an ordering ``a > b``: for each of the ``n`` paired seeds, the paired
    interval of the other ``n - 1``; returns ``(k, n)``, the number of those intervals that still lie
    above 0 and ``n``. A reproduced ordering with ``k < n`` rests on single seeds. Needs n >= 3."""
    va, vb, seeds = _pair(a, b)
    n = len(va)
    if n < 3:
        raise ValueError(f"leave_one_out needs at least 3 paired seeds, got {n}")
    kept = sum(paired_difference(va[:i] + va[i + 1:], vb[:i] + vb[i + 1:], confidence=confidence).low > 0
               for i in range(n))
    return int(kept), n


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


def _verdict(low: float, high: float, mde80: float, effect: float | None, p_holm: float | None, alpha: float) -> str:
    if low > 0 and (p_holm is None or p_holm < alpha):
        return "reproduced"
    if high < 0:
        return "contradicted"
    if low <= 0 <= high and effect is not None and high < effect and mde80 <= effect:
        return "not reproduced"
    return "inconclusive"


def verdict(diff: PairedDiff, paper_effect: float | None, *, p_holm: float | None = None) -> str:
    """The verdict on "a beats b" from the paired interval, the MDE80 of its test and the paper's effect:

    - ``"reproduced"``: the interval lies above 0 (``low > 0``) and, for a declared main claim, its
      Holm-adjusted p-value ``p_holm`` (:func:`holm_adjust`) is below ``1 - confidence``;
    - ``"contradicted"``: the interval lies below 0 (``high < 0``);
    - ``"not reproduced"``: the interval contains 0, its upper bound is below ``paper_effect`` (the
      paper's effect is excluded) **and** MDE80 (:func:`mde` at the observed sd) is at most
      ``paper_effect``: the experiment would have seen the paper's effect 80% of the time, and did not;
    - ``"inconclusive"``: anything else (an interval that still holds the paper's effect, too few seeds
      for 80% power, no effect size from the paper, one seed, a main claim that fails Holm).

    The sign of the mean alone never decides.

    Args:
        diff: the :class:`PairedDiff` of ``a - b``.
        paper_effect: the paper's ``a - b`` (> 0, same units), or ``None`` if it reports none.
        p_holm: the Holm-adjusted p-value when the claim is one of an experiment's main claims.

    Returns:
        one of :data:`VERDICTS` (never :data:`NO_TEST`, which only :func:`judge` gives).
    """
    if not isinstance(diff, PairedDiff):
        raise TypeError(f"diff must be a PairedDiff, got {type(diff).__name__}")
    effect = _check_effect("paper_effect", paper_effect)
    return _verdict(diff.low, diff.high, mde(diff.n, diff.std), effect, p_holm, 1 - diff.confidence)


@dataclass(frozen=True)
class Claim:
    """One claim checked against our results: a row of every claims table.

    Built only by :func:`judge` (and re-judged by :func:`holm_adjust`), so every verdict in the library
    comes from one place. Readable as a row too (``claim["verdict"]``).

    Attributes:
        claim: what is claimed, e.g. ``"GCA-UOT ≥ INCE (mnist1d)"``.
        paper: what the paper reports (text, with where it reports it).
        ours: our result as text (paired mean with its 95% interval, or the rule's measured value).
        verdict: one of :data:`VERDICTS`.
        rule: how the verdict was reached, in words (for :data:`NO_TEST`: why the regime cannot test it).
        paper_effect: the paper's effect in the claim's units (points, ...) for ordering claims,
            ``None`` when the claim is a rule or the paper gives none.
        mean, low, high, n: the paired difference and its interval (``None`` for rule claims).
        detectable: the interval's half-width (``inf`` with one seed; ``None`` for rule claims).
        units: units of ``mean`` / ``paper_effect`` (default ``"points"``).
        kind: ``"paper"`` (a claim of the paper) or ``"check"`` (of the code and protocol), :data:`KINDS`.
        main: one of the experiment's declared main claims (Holm-adjusted together).
        std: sd of the paired differences.
        mde80: minimum effect detected with 80% power at this n and sd (:func:`mde`).
        power: power to detect ``paper_effect`` (:func:`power`), ``None`` without one.
        p: two-sided paired t-test p-value; p_holm: its Holm adjustment over the main claims.
        loso: ``(k, n)`` of :func:`leave_one_out` (``None`` with fewer than 3 seeds).
        seeds_for_mde: seeds that would bring MDE80 down to ``paper_effect`` at this sd (:func:`seeds_needed`).
        paper_base: the paper's accuracy of ``b`` (%), for the share of error.
        paper_share: ``paper_effect / (100 - paper_base)``, the share of the baseline's error the paper's
            effect removes; ours_base: the mean of ``b`` over the paired seeds (%); ours_share:
            ``mean / (100 - ours_base)``, ours on the same scale.
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
    kind: str = "paper"
    main: bool = False
    std: float | None = None
    mde80: float | None = None
    power: float | None = None
    p: float | None = None
    p_holm: float | None = None
    loso: tuple[int, int] | None = None
    seeds_for_mde: int | None = None
    paper_base: float | None = None
    paper_share: float | None = None
    ours_base: float | None = None
    ours_share: float | None = None

    def __getitem__(self, key: str) -> Any:
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in self.__dataclass_fields__ else default

    def keys(self) -> tuple[str, ...]:
        return tuple(self.__dataclass_fields__)

    @property
    def paired(self) -> bool:
        """Whether the verdict comes from a paired difference (an interval), not a rule."""
        return self.n is not None


PAIRED_RULE = ("paired by seed, 95% t-interval: above 0 reproduced (main claims: Holm-adjusted), below 0 "
               "contradicted; containing 0: not reproduced if its upper bound is below the paper's effect and "
               "MDE80 <= the paper's effect, else inconclusive")


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
    kind: str = "paper",
    main: bool = False,
    no_test: str | None = None,
    paper_base: float | None = None,
) -> Claim:
    """The one function that gives a claim its verdict (every claims table, the README included).

    **Ordering claim** ("a beats b by about ``paper_effect``"): pass ``a`` and ``b`` (per-seed
    ``{seed: value}``, paired on the seeds both have, or sequences aligned by seed); the verdict is
    :func:`verdict` of the paired difference ``a_s - b_s``, its MDE80 and ``paper_effect``; the claim
    also carries the power at the paper's effect, the p-value, the leave-one-seed-out check and the
    seeds that MDE80 <= ``paper_effect`` would need. With no common seed the claim is ``"inconclusive"``
    (``ours = "not run"``).

    **Rule claim** (an exact identity, a threshold, a correlation, a slope): pass ``holds``, ``ours``
    (the measured value as text) and ``rule`` (the rule in words). Verdict: ``holds=True`` ->
    ``"reproduced"``; ``holds=False`` -> ``"contradicted"`` if ``opposite`` else ``"not reproduced"``;
    ``holds=None`` (nothing to measure) -> ``"inconclusive"``.

    **No valid test**: ``no_test`` (the reason, in words) gives the verdict :data:`NO_TEST` whatever the
    numbers say; the numbers are still computed and shown, and ``rule`` becomes the reason.

    Args:
        claim, paper: the claim and what the paper reports (text).
        a, b: per-seed values of the two sides (ordering claims).
        paper_effect: the paper's ``a - b`` in the same units (> 0), or ``None``.
        holds, opposite, ours, rule: rule claims (see above); ``rule`` may also replace the
            wording of the paired rule (e.g. for a margin folded into ``a``).
        units, digits, scale: how ``ours`` prints (values times ``scale`` with ``digits`` decimals).
        confidence: interval level (0.95).
        kind: ``"paper"`` or ``"check"`` (:data:`KINDS`).
        main: a declared main claim of its experiment (adjusted by :func:`holm_adjust`).
        no_test: why this regime cannot test the claim, or ``None``.
        paper_base: the paper's accuracy of ``b`` in % (accuracy claims): adds the share of error.

    Returns:
        :class:`Claim`.

    Raises:
        ValueError / TypeError: both or neither of the two kinds given, a bad ``paper_effect``,
        ``kind`` or ``paper_base``, or per-seed values that are not finite numbers.
    """
    if not isinstance(claim, str) or not claim:
        raise TypeError(f"claim must be a non-empty string, got {claim!r}")
    if not isinstance(paper, str):
        raise TypeError(f"paper must be a string, got {type(paper).__name__}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if no_test is not None and (not isinstance(no_test, str) or not no_test):
        raise TypeError(f"no_test must be a non-empty string (the reason) or None, got {no_test!r}")
    effect = _check_effect("paper_effect", paper_effect)
    base = None if paper_base is None else check_interval("paper_base", paper_base, 0.0, 100.0, high_open=True)
    share = None if effect is None or base is None else effect / (100.0 - base)
    extra = dict(units=units, kind=kind, main=bool(main), paper_base=base, paper_share=share)
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
        if no_test is not None:
            v, rule = NO_TEST, no_test
        return Claim(claim, paper, ours, v, rule, effect, **extra)
    if a is None or b is None:
        raise ValueError("an ordering claim needs both a and b")
    if (isinstance(a, Mapping) and isinstance(b, Mapping) and not set(a) & set(b)) or len(a) == 0 or len(b) == 0:
        return Claim(claim, paper, "not run", NO_TEST if no_test else "inconclusive", no_test or rule or PAIRED_RULE,
                     effect, **extra)
    d = paired_difference(a, b, confidence=confidence)
    f = lambda x: f"{scale * x:+.{digits}f}"  # noqa: E731
    text = (f"{f(d.mean)} [{f(d.low)}, {f(d.high)}] (n={d.n})" if d.n > 1
            else f"{f(d.mean)} (n=1: no interval)")
    mde80 = mde(d.n, d.std, alpha=1 - confidence)
    pw = None if effect is None else _power(effect, d.n, d.std, 1 - confidence)
    needed = None if effect is None or d.n < 2 else seeds_needed(effect, d.std, alpha=1 - confidence)
    loso = leave_one_out(a, b, confidence=confidence) if d.n >= 3 else None
    ours_base = ours_share = None
    if base is not None:
        _, vb, _ = _pair(a, b)
        ours_base = sum(vb) / len(vb)
        ours_share = d.mean / (100.0 - ours_base)
    v = NO_TEST if no_test else _verdict(d.low, d.high, mde80, effect, None, 1 - confidence)
    return Claim(claim, paper, ours or text, v, no_test or rule or PAIRED_RULE, effect, d.mean, d.low, d.high, d.n,
                 d.half_width, std=d.std, mde80=mde80, power=pw, p=p_value(d), loso=loso, seeds_for_mde=needed,
                 ours_base=ours_base, ours_share=ours_share, **extra)


def holm_adjust(claims: Sequence[Claim], *, alpha: float = ALPHA) -> list[Claim]:
    """``claims`` with Holm's adjustment (:func:`holm`) applied over the declared main claims (``main=True``,
    paired, with a test): each gets ``p_holm`` and its verdict again from :func:`verdict`'s rule with it, so a
    main ordering reads "reproduced" only if it survives the adjustment. Other claims are returned unchanged.

    Args:
        claims: one experiment's claims (the family over which the error rate is controlled).
        alpha: the family-wise level (0.05).
    """
    claims = list(claims)
    for i, c in enumerate(claims):
        if not isinstance(c, Claim):
            raise TypeError(f"claims[{i}] must be a Claim (built by judge), got {type(c).__name__}")
    alpha = check_interval("alpha", alpha, 0.0, 1.0, low_open=True, high_open=True)
    family = [i for i, c in enumerate(claims) if c.main and c.p is not None and c.verdict != NO_TEST]
    if not family:
        return claims
    adjusted = holm([claims[i].p for i in family])
    for i, ph in zip(family, adjusted):
        c = claims[i]
        claims[i] = dataclasses.replace(c, p_holm=ph,
                                        verdict=_verdict(c.low, c.high, c.mde80, c.paper_effect, ph, alpha))
    return claims


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
