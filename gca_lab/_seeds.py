"""Independent torch random streams derived from one run seed.

A run draws from several ``torch.Generator`` objects (augmentation per rank, false-positive pairs,
multi-domain rendering); each is seeded ``seed * 1_000_003 + stream`` so that streams of one seed
never coincide with each other or with the streams of the next seeds (1_000_003 is a prime larger
than any stream number used). The constant is part of every committed result: do not change it.
"""

from __future__ import annotations

__all__ = ["STREAM_STRIDE", "stream_seed"]

STREAM_STRIDE = 1_000_003


def stream_seed(seed: int, stream: int) -> int:
    """The seed of stream ``stream`` of run seed ``seed``: ``seed * 1_000_003 + stream``.

    Streams in use (a new stream takes a number not listed): ``rank + 1`` augmentation of each rank
    (``gca_lab/train/loop.py``), ``17`` multi-domain rendering (``gca_lab/data.py``), ``999_983``
    persistent false pairs (``gca_lab/false_positives.py``).
    """
    return seed * STREAM_STRIDE + stream
