r"""The one projection loop: Sinkhorn's alternating KL projections, balanced or relaxed by ``rho``.

Every solver and loss of the library runs :func:`scaling_rounds` (``gca_lab.ot.sinkhorn``, the
custom-backward kernel scalings of :mod:`gca_lab.scaling_grad`, and through them every GCA loss); what
changes is only the reduction it is given (:mod:`gca_lab.reductions`: dense log domain, dense kernel
domain, tiled). A round (arXiv 2502.20141, Sinkhorn and its KL-relaxed form in GCA-UOT) is a row
projection followed by a column projection, on the dual potentials ``f``, ``g``:

.. math::

    f \leftarrow -\phi_a\,\varepsilon\,\mathrm{rows}(\log b + g/\varepsilon),\qquad
    g \leftarrow -\phi_b\,\varepsilon\,\mathrm{cols}(\log a + f/\varepsilon),

with ``phi = rho / (rho + eps)`` (1 for a hard constraint) and
``rows(w)_i = log sum_j K_ij e^{w_j}``. The plan is
``P_ij = a_i b_j K_ij exp((f_i + g_j)/eps)``. A plan that ends on a row (``end="row"``) drops the last
column projection: it is ``f = -phi_a eps r`` with ``r`` the row reduction this loop returns after
``n_iters - 1`` rounds.
"""

from __future__ import annotations

import math
from typing import Protocol

import torch
from torch import Tensor

__all__ = ["Reduction", "scaling_rounds", "marginal_error", "relaxation_exponent"]


def relaxation_exponent(rho: float, eps: float) -> float:
    """The exponent ``phi = rho / (rho + eps)`` of an unbalanced scaling update.

    ``phi = 1`` for a hard constraint (``rho = inf``), ``phi = 0`` for no constraint (``rho = 0``).
    The KL-relaxed projection of ``P`` onto row marginals ``a`` is ``diag((a / P1)^phi) P``.
    """
    if math.isinf(rho):
        return 1.0
    return rho / (rho + eps)


class Reduction(Protocol):
    """What :func:`scaling_rounds` needs of a kernel: ``rows(w)`` ``(..., m) -> (..., n)`` and
    ``cols(z)`` ``(..., n) -> (..., m)`` (:mod:`gca_lab.reductions`)."""

    def rows(self, w: Tensor) -> Tensor: ...

    def cols(self, z: Tensor) -> Tensor: ...


def marginal_error(log_a: Tensor, f: Tensor, r: Tensor, eps: float, rho_a: float) -> Tensor:
    """``(...)`` ``||P1 - a exp(-f/rho_a)||_1`` of the plan with row potential ``f`` and row reduction ``r``.

    ``P1 = a exp(f/eps) exp(r)`` for the current column potential; for ``rho_a = inf`` the target is ``a``.
    Leading dimensions of ``f`` and ``r`` (several rounds stacked) broadcast.
    """
    target = log_a if math.isinf(rho_a) else log_a - f / rho_a
    return (torch.exp(log_a + f / eps + r) - torch.exp(target)).abs().sum(-1)


def scaling_rounds(
    reduce: Reduction, log_a: Tensor, log_b: Tensor, g0: Tensor, *, eps: float, phi_a: float, phi_b: float,
    iters: int, rho_a: float = math.inf, tol: float | None = None, check_every: int = 10,
    errors: bool = True, history: list[tuple[Tensor, Tensor]] | None = None,
) -> tuple[Tensor, Tensor, Tensor, list[Tensor], int]:
    r"""Run ``iters`` rounds (row then column projection) from the column potential ``g0``.

    Args:
        reduce: the kernel's reduction (:class:`Reduction`).
        log_a, log_b: ``(..., n)``, ``(..., m)`` log reference marginals.
        g0: ``(..., m)`` initial column potential.
        eps: entropic strength; phi_a, phi_b: relaxation exponents ``rho / (rho + eps)``.
        iters: rounds (``>= 0``).
        rho_a: row penalty, for the marginal error only.
        tol: stop once every problem's marginal error is ``<= tol``, checked after every
            ``check_every``-th round (one host sync each); ``None`` never syncs.
        errors: compute the marginal error of every round (the tolerance needs them).
        history: a list that receives ``(f, r)`` of every round, for callers that compute the errors
            of all rounds at once (one stacked :func:`marginal_error` instead of one per round).

    Returns:
        ``(f, g, r, errors, done)``: the potentials after ``done`` rounds (``f = 0`` if none), the row
        reduction ``r = rows(log b + g/eps)`` of the last ``g`` (the next row update is
        ``-phi_a eps r``; the normalizer of the plan's rows), the per-round marginal errors (a list of
        ``(...)`` tensors) and the rounds done.
    """
    f = torch.zeros_like(log_a)
    g = g0
    r = reduce.rows(log_b + g / eps)
    errs: list[Tensor] = []
    done = 0
    for k in range(1, iters + 1):
        f = -phi_a * eps * r
        g = -phi_b * eps * reduce.cols(log_a + f / eps)
        r = reduce.rows(log_b + g / eps)
        done = k
        if history is not None:
            history.append((f, r))
        if errors or tol is not None:
            errs.append(marginal_error(log_a, f, r, eps, rho_a))
        if tol is not None and k < iters and k % check_every == 0 and bool((errs[-1] <= tol).all()):
            break
    return f, g, r, errs, done
