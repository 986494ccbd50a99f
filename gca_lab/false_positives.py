"""Controlled false-positive pairs: the view side of the noisy setting (a fraction of the positive
pairs joins two different samples), as the training loop draws them (``TrainConfig.false_positives``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor

from ._seeds import stream_seed
from ._validate import check_choice

__all__ = ["FALSE_POSITIVE_MODES", "FalsePositives", "check_false_positives"]

FALSE_POSITIVE_MODES = ("persistent", "fresh")


def check_false_positives(p: Any, mode: Any) -> float:
    """Validate the false-positive option: ``p`` a real number in ``[0, 1)``, ``mode`` one of
    :data:`FALSE_POSITIVE_MODES`. Returns ``p`` as a float; raises ``ValueError`` / ``TypeError``."""
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"false_positives must be a real number in [0, 1), got {p!r} ({type(p).__name__})")
    if not 0.0 <= float(p) < 1.0:  # also rejects NaN
        raise ValueError(f"false_positives must be in [0, 1) (the fraction of pairs made wrong), got {p!r}")
    check_choice("false_positive_mode", mode, FALSE_POSITIVE_MODES)
    return float(p)


@dataclass(frozen=True)
class FalsePositives:
    """Controlled false-positive pairs: the second view of a fraction ``p`` of the samples is replaced by
    a view of another sample, so the loss's positive pair ``(i, i)`` joins two different signals: the
    noisy-view setting of NeurIPS 2024 poster, panel 'Results 2. Noisy setting', with the noise known.

    - ``persistent``: once per run, ``round(p N)`` of the ``N`` training samples are marked (uniformly
      without replacement) and each gets a fixed wrong partner ``partner[n] = (n + 1 + r) mod N``,
      ``r ~ U{0, ..., N - 2}`` (never ``n`` itself; it may share ``n``'s class, as in real noise,
      about one time in ten on ten balanced classes). A marked sample meets the same wrong partner in
      every epoch, so each batch holds a fraction ``p`` of them on average. The map comes from a
      generator seeded by ``config.seed`` alone, the same on every rank, and is drawn again
      identically on resume (nothing to checkpoint).
    - ``fresh``: at every step exactly ``round(p B)`` positions of the batch's ``B`` rows are drawn,
      each with a partner drawn as above, from the run's augmentation generator (checkpointed, so a
      resumed run stays bit-identical).

    Indices are drawn on the CPU (the batch indices live there), so no step waits on the device.
    ``p = 0`` builds nothing and draws nothing: the run is bit-identical to one without the option.

    Attributes:
        p: fraction in ``(0, 1)``; mode: ``"persistent"`` or ``"fresh"``; n_train: ``N``.
        marked: ``(N,)`` bool, the samples with a wrong partner (persistent; None for fresh).
        partner: ``(N,)`` long, each sample's wrong partner (persistent; None for fresh).
    """

    p: float
    mode: str
    n_train: int
    marked: Tensor | None = None
    partner: Tensor | None = None

    @classmethod
    def for_run(cls, config: Any, n_train: int) -> "FalsePositives | None":
        """The false positives of ``config`` (any object with ``false_positives``, ``false_positive_mode`` and
        ``seed``, e.g. :class:`gca_lab.train.TrainConfig`) on ``n_train`` samples, or None when
        ``false_positives = 0``."""
        p = check_false_positives(config.false_positives, config.false_positive_mode)
        if p == 0.0:
            return None
        if n_train < 2:
            raise ValueError(f"false_positives={p} needs at least 2 training samples, got {n_train}")
        if config.false_positive_mode == "fresh":
            return cls(p, "fresh", n_train)
        # Its own stream, so gen_order / gen_aug run as without false positives (same batch order).
        gen = torch.Generator().manual_seed(stream_seed(config.seed, 999_983))
        marked = torch.zeros(n_train, dtype=torch.bool)
        marked[torch.randperm(n_train, generator=gen)[: round(p * n_train)]] = True
        partner = _other_rows(torch.arange(n_train), n_train, gen)
        return cls(p, "persistent", n_train, marked, partner)

    def draw(self, rows: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Which of the batch's ``rows`` (``(B,)`` training indices, CPU) get a wrong partner.

        Returns:
            ``(pos, partner)``: ``(k,)`` positions into ``rows`` and ``(k,)`` the partners' training
            indices (CPU, long). ``fresh`` draws from ``generator``; ``persistent`` draws nothing.
        """
        rows = rows.cpu()
        if self.mode == "persistent":
            assert self.marked is not None and self.partner is not None
            pos = self.marked[rows].nonzero().flatten()  # a CPU tensor: no device sync
            return pos, self.partner[rows[pos]]
        pos = torch.randperm(rows.shape[0], generator=generator)[: round(self.p * rows.shape[0])]
        return pos, _other_rows(rows[pos], self.n_train, generator)

    def views(self, views: Callable[..., tuple[Tensor, Tensor]], x: Tensor, rows: Tensor,
              generator: torch.Generator, *, drawn: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """The two views of ``x[rows]`` with the false positives in the second: ``x1 = view_1(x[rows])``
        and ``x2[i] = view_2(x[partner_i])`` at the drawn positions, ``view_2(x[rows_i])`` elsewhere.

        One pass of ``views`` over ``cat([x[rows], x[partners]])`` (``(B + k, ...)``); the partners'
        first views are discarded. ``drawn``: a ``(pos, partner)`` from :meth:`draw` to use instead
        of drawing (a caller that also needs the positions). Returns ``(x1, x2)``, ``(B, ...)`` each,
        on ``x``'s device.
        """
        pos, partner = self.draw(rows, generator) if drawn is None else drawn
        b = rows.shape[0]
        both = torch.cat([rows.cpu(), partner]).to(x.device)
        x1, x2 = views(x[both], generator)  # (B + k, ...) each
        return x1[:b], x2[:b].index_copy(0, pos.to(x.device), x2[b:])


def _other_rows(rows: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """For each row index ``r`` a uniform index in ``{0, ..., n - 1} \\ {r}``: ``(r + 1 + U{0..n-2}) mod n``."""
    return (rows + 1 + torch.randint(n - 1, rows.shape, generator=generator)) % n
