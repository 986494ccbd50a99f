"""Evaluation: frozen linear probe, kNN, alignment/uniformity, compactness, plan diagnostics, statistics.

Everything takes torch tensors (on any device) and returns Python floats or small frozen
dataclasses, except :func:`alignment` and :func:`uniformity`, which return 0-d tensors so they can be
logged without a host sync or used as differentiable regularizers.

The linear probe is a *true* frozen probe (paper digest section 8): features are computed once with
the encoder in eval mode under ``torch.no_grad()`` (no parameter or BatchNorm statistic changes),
then a multinomial logistic regression is fitted on the cached train features, its regularization
``C`` is chosen on the validation split only, and the test split is scored exactly once. This avoids
the two problems of the official evaluation (digest section 7, items 25-26): fine-tuning the encoder
through a "linear" probe, and reporting the maximum test accuracy over epochs.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal, Sequence, Union

import numpy as np
import torch
from torch import Tensor, nn

from ._validate import check_choice, check_finite, check_int, check_positive, check_tensor

__all__ = [
    "ClassGeometry",
    "PairedDiff",
    "ProbeResult",
    "alignment",
    "class_geometry",
    "compactness",
    "embed",
    "knn_accuracy",
    "linear_probe",
    "marginal_errors",
    "mean_std",
    "paired_difference",
    "plan_block_ratio",
    "probe_encoder",
    "reference_linear_eval",
    "uniformity",
    "verdict",
]

Encoder = Union[nn.Module, Callable[[Tensor], Tensor]]


# --------------------------------------------------------------------------------------------------
# input checks shared by this module
# --------------------------------------------------------------------------------------------------


def _check_features(name: str, value: Any, *, min_rows: int = 1) -> Tensor:
    check_tensor(name, value, ndim=2)
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating tensor, got dtype {value.dtype}")
    if value.shape[0] < min_rows or value.shape[1] < 1:
        raise ValueError(
            f"{name} must have shape (N, D) with N >= {min_rows} and D >= 1, got shape {tuple(value.shape)}"
        )
    return check_finite(name, value)


def _check_labels(name: str, value: Any, n: int, n_name: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of integer labels, got {type(value).__name__}")
    if value.ndim != 1:
        raise ValueError(f"{name} must have 1 dimension (N,), got shape {tuple(value.shape)}")
    if value.is_floating_point() or value.is_complex():
        raise TypeError(f"{name} must hold integer labels, got dtype {value.dtype}")
    if value.shape[0] != n:
        raise ValueError(f"{name} must have length {n} (the rows of {n_name}), got {value.shape[0]}")
    return value


def _check_nonneg_labels(name: str, value: Tensor) -> Tensor:
    if value.numel() and int(value.min()) < 0:
        raise ValueError(f"{name} must hold labels >= 0, got minimum {int(value.min())}")
    return value


def _float_list(name: str, values: Any) -> list[float]:
    if isinstance(values, Tensor):
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


# --------------------------------------------------------------------------------------------------
# features
# --------------------------------------------------------------------------------------------------


def _owning_module(encoder: Encoder) -> nn.Module | None:
    if isinstance(encoder, nn.Module):
        return encoder
    # A bound method such as ``model.features``: the module is its ``__self__``.
    owner = getattr(encoder, "__self__", None)
    return owner if isinstance(owner, nn.Module) else None


def _module_device(module: nn.Module | None, fallback: torch.device) -> torch.device:
    if module is None:
        return fallback
    for t in module.parameters():
        return t.device
    for t in module.buffers():
        return t.device
    return fallback


def embed(
    encoder: Encoder,
    x: Tensor,
    *,
    batch_size: int = 1024,
    transform: Callable[[Tensor], Tensor] | None = None,
) -> Tensor:
    """Frozen features ``f(x)`` of every row of ``x``, computed in batches.

    ``encoder`` is an ``nn.Module`` (its ``forward`` is used) or any callable ``Tensor -> Tensor``,
    e.g. a bound method ``model.features``. When it is a module or a bound method of one, the
    module is switched to eval mode for the call (BatchNorm uses its running statistics and does
    not update them, dropout is off) and every submodule's previous ``training`` flag is restored
    afterwards, even on error. Evaluation runs under ``torch.no_grad()``, so parameters and
    buffers are never changed by this function.

    Args:
        encoder: module or callable mapping a batch ``(B, ...)`` to features ``(B, ...)``.
        x: inputs ``(N, ...)``; moved batch by batch to the module's device (the device of its
            first parameter or buffer; ``x``'s own device for a plain callable).
        batch_size: rows per forward call (default 1024), bounding device memory.
        transform: optional ``x_batch -> x_batch`` applied to each batch on the device before the
            encoder (e.g. a corruption for evaluation under distribution shift). If it is random,
            seed its generator yourself.

    Returns:
        ``(N, D)`` float32 features on the CPU; outputs with more than two dimensions are flattened
        from dimension 1.

    Raises:
        TypeError/ValueError: ``encoder`` not callable, ``x`` not a tensor with N >= 1 rows or
            non-finite, bad ``batch_size``, or the encoder producing non-finite features.
    """
    if not callable(encoder):
        raise TypeError(f"encoder must be an nn.Module or a callable, got {type(encoder).__name__}")
    check_tensor("x", x, min_ndim=1)
    if x.shape[0] < 1:
        raise ValueError(f"x must have at least one row, got shape {tuple(x.shape)}")
    if x.is_floating_point():
        check_finite("x", x)
    check_int("batch_size", batch_size, minimum=1)
    if transform is not None and not callable(transform):
        raise TypeError(f"transform must be callable or None, got {type(transform).__name__}")

    module = _owning_module(encoder)
    dev = _module_device(module, x.device)
    # Save every submodule's flag: a caller may have frozen parts (e.g. BN in eval) on purpose.
    saved = [(m, m.training) for m in module.modules()] if module is not None else []
    chunks: list[Tensor] = []
    try:
        if module is not None:
            module.eval()
        with torch.no_grad():
            for start in range(0, x.shape[0], batch_size):
                xb = x[start : start + batch_size].to(dev, non_blocking=True)
                if transform is not None:
                    xb = transform(xb)
                out = encoder(xb)
                if not isinstance(out, Tensor):
                    raise TypeError(f"encoder must return a Tensor, got {type(out).__name__}")
                if out.ndim < 1 or out.shape[0] != xb.shape[0]:
                    raise ValueError(
                        f"encoder must return one feature row per input row ({xb.shape[0]}), "
                        f"got shape {tuple(out.shape)}"
                    )
                # Move each chunk off the device as we go so device memory stays at one batch.
                chunks.append(out.reshape(out.shape[0], -1).float().cpu())
    finally:
        for m, flag in saved:
            m.train(flag)
    feats = torch.cat(chunks, dim=0)  # (N, D)
    return check_finite("encoder features", feats)


# --------------------------------------------------------------------------------------------------
# linear probe
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeResult:
    """Outcome of :func:`linear_probe`.

    Attributes:
        test_acc: test accuracy in [0, 1] of the single model chosen on validation.
        val_acc: validation accuracy of that model.
        train_acc: its training accuracy (a large train/val gap signals overfitting).
        best_C: the inverse L2 regularization strength chosen on validation.
        val_accs: validation accuracy for every tried ``C``, ``{C: acc}``.
        converged: False if lbfgs hit ``max_iter`` for the chosen ``C``.
        n_train, n_val, n_test: split sizes.
    """

    test_acc: float
    val_acc: float
    train_acc: float
    best_C: float
    val_accs: dict[float, float] = field(default_factory=dict)
    converged: bool = True
    n_train: int = 0
    n_val: int = 0
    n_test: int = 0


def linear_probe(
    train_feats: Tensor,
    train_y: Tensor,
    val_feats: Tensor,
    val_y: Tensor,
    test_feats: Tensor,
    test_y: Tensor,
    *,
    Cs: Sequence[float] = (0.01, 0.1, 1.0, 10.0),
    max_iter: int = 300,
    seed: int = 0,
) -> ProbeResult:
    """Frozen linear probe on cached features, ``C`` selected on the validation split only.

    Features are standardized with the training split's mean and std (``StandardScaler``), then for
    each ``C`` in ``Cs`` a multinomial logistic regression (lbfgs, L2 penalty)

        min_W,b  sum_i -log softmax(W h_i + b)_{y_i} + ||W||^2 / (2 C)

    is fitted on the training split (warm-started from the previous, smaller ``C``). The ``C`` with
    the best validation accuracy is kept (ties go to the smallest ``C``, the strongest
    regularization); that same model, fitted on the training split only, is scored once on the
    test split. The test split never influences any choice.

    Args:
        train_feats, val_feats, test_feats: ``(N_split, D)`` floating features, same ``D``.
        train_y, val_y, test_y: ``(N_split,)`` integer labels. Train must hold >= 2 classes; a
            class absent from train simply counts as an error where it appears in val/test.
        Cs: inverse regularization strengths to try (default 0.01, 0.1, 1, 10), each > 0.
        max_iter: lbfgs iteration cap per fit (default 300; enough for standardized features of
            a few thousand rows x a few hundred dims in well under a second per ``C``).
        seed: ``random_state`` of the solver (lbfgs itself is deterministic; kept for the record).

    Returns:
        :class:`ProbeResult`.

    Reference: paper digest section 8 ("true frozen linear probe"), section 7 items 25-26.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    _check_features("train_feats", train_feats)
    _check_features("val_feats", val_feats)
    _check_features("test_feats", test_feats)
    d = train_feats.shape[1]
    for name, f in (("val_feats", val_feats), ("test_feats", test_feats)):
        if f.shape[1] != d:
            raise ValueError(f"{name} must have D = {d} columns like train_feats, got {f.shape[1]}")
    _check_labels("train_y", train_y, train_feats.shape[0], "train_feats")
    _check_labels("val_y", val_y, val_feats.shape[0], "val_feats")
    _check_labels("test_y", test_y, test_feats.shape[0], "test_feats")
    if isinstance(Cs, (str, bytes)) or not isinstance(Cs, Iterable):
        raise TypeError(f"Cs must be a sequence of positive numbers, got {type(Cs).__name__}")
    Cs = [check_positive(f"Cs[{i}]", c) for i, c in enumerate(Cs)]
    if not Cs:
        raise ValueError("Cs must hold at least one value, got an empty sequence")
    check_int("max_iter", max_iter, minimum=1)
    check_int("seed", seed)

    def np_(t: Tensor) -> np.ndarray:
        return t.detach().cpu().numpy()

    ytr, yva, yte = np_(train_y), np_(val_y), np_(test_y)
    if np.unique(ytr).size < 2:
        raise ValueError(f"train_y must contain at least 2 classes, got {np.unique(ytr).tolist()}")
    # float64 for the solver: lbfgs on float32 stops early on a noisy line search.
    scaler = StandardScaler().fit(np_(train_feats).astype(np.float64))
    xtr = scaler.transform(np_(train_feats).astype(np.float64))
    xva = scaler.transform(np_(val_feats).astype(np.float64))
    xte = scaler.transform(np_(test_feats).astype(np.float64))

    best = None  # (val_acc, C, model, converged)
    val_accs: dict[float, float] = {}
    # Warm start along increasing C: each fit starts at the previous (more regularized) optimum,
    # which cuts lbfgs iterations several-fold; the optimum itself is unique (strictly convex).
    clf = LogisticRegression(max_iter=max_iter, random_state=seed, warm_start=True)
    for c in sorted(set(Cs)):
        clf.set_params(C=c)
        # Single-threaded BLAS: for these small problems threads only add overhead, and on a shared
        # CPU OpenBLAS's spinning threads made a digits probe ~30x slower (5 s instead of 0.15 s CPU).
        with warnings.catch_warnings(record=True) as caught, threadpool_limits(limits=1, user_api="blas"):
            warnings.simplefilter("always", ConvergenceWarning)
            clf.fit(xtr, ytr)
        converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        acc = float((clf.predict(xva) == yva).mean())
        val_accs[c] = acc
        # Strict ">" keeps the smallest C among ties (Cs are visited in increasing order).
        if best is None or acc > best[0]:
            best = (acc, c, copy.deepcopy(clf), converged)
    assert best is not None
    val_acc, best_c, clf, converged = best
    return ProbeResult(
        test_acc=float((clf.predict(xte) == yte).mean()),
        val_acc=val_acc,
        train_acc=float((clf.predict(xtr) == ytr).mean()),
        best_C=best_c,
        val_accs=val_accs,
        converged=converged,
        n_train=int(xtr.shape[0]),
        n_val=int(xva.shape[0]),
        n_test=int(xte.shape[0]),
    )


def _split_xy(dataset: Any, split: str, target: str) -> tuple[Tensor, Tensor]:
    part = getattr(dataset, split, None)
    if part is None:
        raise TypeError(f"dataset must have .train, .val and .test splits; .{split} is missing")
    if not hasattr(part, "x"):
        raise TypeError(f"dataset.{split} must have an .x tensor")
    if target == "class":
        y = getattr(part, "y", None)
        if y is None:
            raise ValueError(f"target='class' needs class labels, but dataset.{split}.y is missing")
    else:
        y = getattr(part, "domain", None)
        if y is None:
            raise ValueError(
                f"target='domain' needs domain labels, but dataset.{split}.domain is None; "
                "use a multi-domain dataset or target='class'"
            )
    if isinstance(part.x, Tensor) and part.x.shape[0] == 0:
        # The probe chooses C on val and scores on test, so neither may be empty.
        raise ValueError(f"dataset.{split} must hold at least one example, got 0 (e.g. val_fraction=0)")
    return part.x, y


def probe_encoder(
    encoder: Encoder,
    dataset: Any,
    *,
    target: Literal["class", "domain"] = "class",
    transform: Callable[[Tensor], Tensor] | None = None,
    batch_size: int = 1024,
    Cs: Sequence[float] = (0.01, 0.1, 1.0, 10.0),
    max_iter: int = 300,
    seed: int = 0,
) -> ProbeResult:
    """Embed ``dataset.train/val/test`` with :func:`embed` and run :func:`linear_probe`.

    ``dataset`` is duck-typed: any object with ``.train``, ``.val`` and ``.test`` splits, each with
    ``.x`` (inputs ``(N, ...)``), ``.y`` (class labels ``(N,)``) and, for ``target="domain"``,
    ``.domain`` (domain labels ``(N,)``, or None when the dataset has no domains).

    Args:
        encoder: module or callable, as in :func:`embed` (frozen; modes restored afterwards).
        dataset: the splits described above.
        target: ``"class"`` probes ``y``; ``"domain"`` probes ``domain`` (the domain-prior
            experiment, digest section 5.4). Errors if the splits carry no domain labels.
        transform: optional ``x_batch -> x_batch`` applied to the inputs of all three splits before
            embedding (evaluation on corrupted images, digest section 5.2).
        batch_size, Cs, max_iter, seed: forwarded to :func:`embed` / :func:`linear_probe`.

    Returns:
        :class:`ProbeResult`.
    """
    check_choice("target", target, ("class", "domain"))
    feats, labels = [], []
    for split in ("train", "val", "test"):
        x, y = _split_xy(dataset, split, target)
        feats.append(embed(encoder, x, batch_size=batch_size, transform=transform))
        labels.append(y.cpu() if isinstance(y, Tensor) else y)
    return linear_probe(
        feats[0], labels[0], feats[1], labels[1], feats[2], labels[2], Cs=Cs, max_iter=max_iter, seed=seed
    )


# --------------------------------------------------------------------------------------------------
# kNN
# --------------------------------------------------------------------------------------------------


def knn_accuracy(
    train_feats: Tensor,
    train_y: Tensor,
    test_feats: Tensor,
    test_y: Tensor,
    *,
    k: int = 20,
    temperature: float = 0.1,
    n_classes: int | None = None,
    chunk_size: int | None = None,
) -> float:
    """Weighted kNN accuracy on cosine similarity (InstDisc, Wu et al. 2018).

    For each test row, s_j = cos(f_test, f_train_j); among the ``k`` most similar training rows,
    class c gets the vote ``sum_{j in topk, y_j = c} exp(s_j / T)`` and the prediction is the
    argmax. Votes are computed as ``exp((s_j - max_j s_j) / T)``: the per-row shift leaves the
    argmax unchanged and keeps small ``T`` from overflowing float32.

    Args:
        train_feats: ``(N, D)``; test_feats: ``(M, D)``; any device (test rows follow train's).
        train_y: ``(N,)``; test_y: ``(M,)`` integer labels >= 0.
        k: neighbours, 1 <= k <= N (default 20).
        temperature: ``T`` > 0 (default 0.1).
        n_classes: number of classes; default ``max(label) + 1`` over both splits.
        chunk_size: test rows per similarity block; default keeps each ``(chunk, N)`` block at
            about 16M entries.

    Returns:
        accuracy in [0, 1].
    """
    _check_features("train_feats", train_feats)
    _check_features("test_feats", test_feats)
    if test_feats.shape[1] != train_feats.shape[1]:
        raise ValueError(
            f"test_feats must have D = {train_feats.shape[1]} columns like train_feats, "
            f"got {test_feats.shape[1]}"
        )
    _check_nonneg_labels("train_y", _check_labels("train_y", train_y, train_feats.shape[0], "train_feats"))
    _check_nonneg_labels("test_y", _check_labels("test_y", test_y, test_feats.shape[0], "test_feats"))
    n = train_feats.shape[0]
    check_int("k", k, minimum=1, maximum=n)
    temperature = check_positive("temperature", temperature)
    max_label = int(max(int(train_y.max()), int(test_y.max())))
    if n_classes is None:
        n_classes = max_label + 1
    else:
        check_int("n_classes", n_classes, minimum=max_label + 1)
    if chunk_size is None:
        chunk_size = max(1, (1 << 24) // n)
    check_int("chunk_size", chunk_size, minimum=1)

    dev = train_feats.device
    tr = nn.functional.normalize(train_feats.float(), dim=1)  # (N, D)
    te = nn.functional.normalize(test_feats.float().to(dev), dim=1)  # (M, D)
    ytr = train_y.to(dev).long()
    yte = test_y.to(dev).long()
    correct = torch.zeros((), dtype=torch.long, device=dev)
    for start in range(0, te.shape[0], chunk_size):
        sim = te[start : start + chunk_size] @ tr.T  # (c, N)
        top_s, top_i = sim.topk(k, dim=1)  # (c, k)
        w = torch.exp((top_s - top_s[:, :1]) / temperature)  # (c, k); top_s sorted descending
        votes = torch.zeros(sim.shape[0], n_classes, device=dev, dtype=w.dtype)  # (c, C)
        votes.scatter_add_(1, ytr[top_i], w)
        correct += (votes.argmax(dim=1) == yte[start : start + chunk_size]).sum()
    return float(correct) / te.shape[0]


# --------------------------------------------------------------------------------------------------
# alignment, uniformity, compactness
# --------------------------------------------------------------------------------------------------


def alignment(z1: Tensor, z2: Tensor, alpha: float = 2.0) -> Tensor:
    """Alignment of positive pairs (Wang & Isola 2020): ``E_i ||f(x_i) - f(y_i)||_2^alpha``.

    Rows are L2-normalized inside (``f = z / ||z||``), as in the definition on the hypersphere, so
    the value lies in [0, 2^alpha]; lower is better aligned.

    Args:
        z1, z2: ``(N, D)`` embeddings of the two views; row i of each is a positive pair.
        alpha: exponent > 0 (default 2).

    Returns:
        0-d tensor on the inputs' device, differentiable (usable as a regularizer); call
        ``float()`` to log it.
    """
    _check_features("z1", z1)
    _check_features("z2", z2)
    if z1.shape != z2.shape:
        raise ValueError(f"z2 must have the shape of z1 {tuple(z1.shape)}, got {tuple(z2.shape)}")
    alpha = check_positive("alpha", alpha)
    z1 = nn.functional.normalize(z1, dim=1)
    z2 = nn.functional.normalize(z2, dim=1)
    return (z1 - z2).norm(dim=1).pow(alpha).mean()


def uniformity(z: Tensor, t: float = 2.0) -> Tensor:
    """Uniformity (Wang & Isola 2020): ``log mean_{i<j} exp(-t ||f(x_i) - f(x_j)||_2^2)``.

    Rows are L2-normalized inside. The mean runs over all N(N-1)/2 distinct pairs and is evaluated
    as ``logsumexp - log(#pairs)``; squared distances use ``2 - 2 <f_i, f_j>`` (clamped at 0),
    which keeps the gradient finite for coincident points. Lower (more negative) is more uniform;
    the minimum over two points is ``-4t`` (antipodal). Memory is O(N^2).

    Args:
        z: ``(N, D)`` embeddings, N >= 2.
        t: scale > 0 (default 2).

    Returns:
        0-d differentiable tensor on ``z``'s device.
    """
    _check_features("z", z, min_rows=2)
    t = check_positive("t", t)
    z = nn.functional.normalize(z, dim=1)
    n = z.shape[0]
    i, j = torch.triu_indices(n, n, offset=1, device=z.device)  # (P,), (P,)
    sq = (2.0 - 2.0 * (z @ z.T)[i, j]).clamp_min(0.0)  # (P,)
    return torch.logsumexp(-t * sq, dim=0) - math.log(sq.numel())


@dataclass(frozen=True)
class ClassGeometry:
    """Class spread of L2-normalized features (see :func:`class_geometry`).

    Attributes:
        within: mean over classes of the mean distance of a class's points to its centroid.
        between: mean distance between distinct class centroids.
        ratio: ``within / between`` (the compactness proxy; lower = more compact).
        n_classes: classes present.
    """

    within: float
    between: float
    ratio: float
    n_classes: int


def class_geometry(feats: Tensor, labels: Tensor) -> ClassGeometry:
    """Within-class and between-class spread of L2-normalized features.

    With ``h_i = f_i / ||f_i||``, class centroids ``mu_c = mean_{i: y_i = c} h_i`` (not
    renormalized), ``within = mean_c mean_{i: y_i = c} ||h_i - mu_c||`` (classes weighted equally,
    so a large class does not dominate), ``between = mean_{c < c'} ||mu_c - mu_c'||`` and
    ``ratio = within / between``.

    Args:
        feats: ``(N, D)`` features; labels: ``(N,)`` integer labels with >= 2 distinct classes.

    Returns:
        :class:`ClassGeometry`.
    """
    _check_features("feats", feats, min_rows=2)
    _check_labels("labels", labels, feats.shape[0], "feats")
    h = nn.functional.normalize(feats.detach().double(), dim=1)  # (N, D)
    classes, inv = torch.unique(labels.to(h.device), return_inverse=True)
    c = classes.numel()
    if c < 2:
        raise ValueError(f"labels must contain at least 2 classes, got {classes.tolist()}")
    counts = torch.bincount(inv, minlength=c).to(h.dtype)  # (C,)
    mu = torch.zeros(c, h.shape[1], dtype=h.dtype, device=h.device).index_add_(0, inv, h) / counts[:, None]
    dist = (h - mu[inv]).norm(dim=1)  # (N,)
    within = (torch.zeros(c, dtype=h.dtype, device=h.device).index_add_(0, inv, dist) / counts).mean()
    i, j = torch.triu_indices(c, c, offset=1, device=h.device)
    between = (mu[i] - mu[j]).norm(dim=1).mean()
    between_f = float(between)
    if between_f == 0.0:
        raise ValueError("feats have identical class centroids (between-class distance 0); ratio undefined")
    return ClassGeometry(float(within), between_f, float(within) / between_f, int(c))


def compactness(feats: Tensor, labels: Tensor) -> float:
    """Compactness **proxy**: mean within-class distance to the centroid / mean between-centroid distance.

    The paper's compactness (digest section 5.7, poster values ~140-270) has no recovered
    definition; this is our proxy, computed on L2-normalized features by :func:`class_geometry`
    (``ratio``). Lower = tighter classes relative to their separation. Scale-free, so its values are
    not comparable with the poster's numbers, only its trend is.

    Args:
        feats: ``(N, D)``; labels: ``(N,)`` integer labels, >= 2 classes.

    Returns:
        the ratio, a float >= 0.
    """
    return class_geometry(feats, labels).ratio


# --------------------------------------------------------------------------------------------------
# transport-plan diagnostics
# --------------------------------------------------------------------------------------------------


def _check_plan(plan: Any) -> Tensor:
    check_tensor("plan", plan, min_ndim=2)
    if not plan.is_floating_point():
        raise TypeError(f"plan must be a floating tensor, got dtype {plan.dtype}")
    if plan.shape[-1] < 1 or plan.shape[-2] < 1:
        raise ValueError(f"plan must have shape (..., n, m) with n, m >= 1, got {tuple(plan.shape)}")
    check_finite("plan", plan)
    if bool((plan < 0).any()):
        raise ValueError(f"plan must be nonnegative, got minimum {float(plan.min())!r}")
    return plan


def plan_block_ratio(
    plan: Tensor,
    labels: Tensor | None = None,
    *,
    row_labels: Tensor | None = None,
    col_labels: Tensor | None = None,
    exclude_diagonal: bool | None = None,
) -> float:
    """Block contrast of a transport plan: mean within-class mass / mean between-class mass.

        ratio = mean_{(i,j) in S} P_ij / mean_{(i,j) in D} P_ij,
        S = {y_i = y'_j, i != j},  D = {y_i != y'_j}

    A ratio > 1 means the plan puts more mass on same-class pairs than on different-class pairs
    (block structure, digest section 8 item 3); a uniform plan gives exactly 1. The diagonal
    ``i = j`` holds the positive pairs, whose large mass would swamp the class signal, so it is
    left out of S by default for square plans.

    Args:
        plan: ``(..., n, m)`` nonnegative plan; means run over all leading dims too.
        labels: ``(n,)`` labels of rows and columns (square plans); or give both
        row_labels: ``(n,)`` and col_labels: ``(m,)``.
        exclude_diagonal: drop ``i = j`` from S; default True when n == m, else False.

    Returns:
        the ratio (``inf`` if all between-class mass is 0 while within-class mass is positive).
    """
    _check_plan(plan)
    n, m = plan.shape[-2], plan.shape[-1]
    if labels is not None:
        if row_labels is not None or col_labels is not None:
            raise ValueError("give either labels or row_labels/col_labels, not both")
        row_labels = col_labels = labels
    elif row_labels is None or col_labels is None:
        raise ValueError("labels (or both row_labels and col_labels) must be given, got None")
    _check_labels("row_labels" if labels is None else "labels", row_labels, n, "plan (dim -2)")
    _check_labels("col_labels" if labels is None else "labels", col_labels, m, "plan (dim -1)")
    if exclude_diagonal is None:
        exclude_diagonal = n == m
    elif not isinstance(exclude_diagonal, bool):
        raise TypeError(f"exclude_diagonal must be a bool or None, got {exclude_diagonal!r}")
    if exclude_diagonal and n != m:
        raise ValueError(f"exclude_diagonal=True needs a square plan, got n={n}, m={m}")

    p = plan.detach().double()
    same = row_labels.to(p.device)[:, None] == col_labels.to(p.device)[None, :]  # (n, m)
    within = same.clone()
    if exclude_diagonal:
        within.fill_diagonal_(False)
    between = ~same
    if not bool(within.any()):
        raise ValueError("labels give no same-class pairs (off the diagonal); ratio undefined")
    if not bool(between.any()):
        raise ValueError("labels give no different-class pairs; ratio undefined")
    w = float(p[..., within].mean())
    b = float(p[..., between].mean())
    if b == 0.0:
        if w == 0.0:
            raise ValueError("plan has zero mass on both within- and between-class pairs; ratio undefined")
        return math.inf
    return w / b


def marginal_errors(plan: Tensor, a: Tensor, b: Tensor) -> tuple[float, float]:
    """L1 marginal errors of a plan: ``(||P 1 - a||_1, ||P^T 1 - b||_1)``.

    Args:
        plan: ``(..., n, m)``; a: ``(..., n)`` row marginal; b: ``(..., m)`` column marginal
            (broadcast against the plan's leading dims; give the scale you solved for).

    Returns:
        ``(row_err, col_err)`` as floats; for a batch of plans, the largest error over the batch.
    """
    _check_plan(plan)
    check_tensor("a", a, min_ndim=1)
    check_tensor("b", b, min_ndim=1)
    if a.shape[-1] != plan.shape[-2]:
        raise ValueError(f"a must have {plan.shape[-2]} entries (plan rows), got shape {tuple(a.shape)}")
    if b.shape[-1] != plan.shape[-1]:
        raise ValueError(f"b must have {plan.shape[-1]} entries (plan columns), got shape {tuple(b.shape)}")
    check_finite("a", a)
    check_finite("b", b)
    p = plan.detach().double()
    row = (p.sum(-1) - a.detach().to(p)).abs().sum(-1)  # (...)
    col = (p.sum(-2) - b.detach().to(p)).abs().sum(-1)  # (...)
    return float(row.max()), float(col.max())


# --------------------------------------------------------------------------------------------------
# statistics over seeds
# --------------------------------------------------------------------------------------------------

# t_{0.975, df} for df = 1..30, used only when scipy is unavailable.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def _t_quantile(q: float, df: int) -> float:
    try:
        from scipy.stats import t as student_t
    except ImportError:  # pragma: no cover - scipy ships with scikit-learn
        if abs(q - 0.975) > 1e-12:
            raise ValueError(f"confidence other than 0.95 needs scipy, got quantile {q}") from None
        return _T975[df - 1] if df <= len(_T975) else 1.96
    return float(student_t.ppf(q, df))


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1; 0.0 for a single value).

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
        mean: mean of ``a_i - b_i``.
        std: sample std of the differences (ddof = 1; 0.0 when n = 1).
        n: number of pairs.
        low, high: ``mean -/+ t_{(1+confidence)/2, n-1} * std / sqrt(n)``; ``-inf``/``inf`` for n = 1.
        confidence: interval level (default 0.95).
    """

    mean: float
    std: float
    n: int
    low: float
    high: float
    confidence: float = 0.95


def paired_difference(a: Sequence[float], b: Sequence[float], *, confidence: float = 0.95) -> PairedDiff:
    """Paired t-interval for the mean of ``d_i = a_i - b_i`` (same seed i in both).

        mean ± t_{(1+confidence)/2, n-1} · s_d / sqrt(n)

    Args:
        a, b: per-seed values of the two methods, same length n >= 1, paired by position.
        confidence: in (0, 1) (default 0.95; uses ``scipy.stats.t``, else a table for 0.95).

    Returns:
        :class:`PairedDiff`; with n = 1 the interval is (-inf, inf).
    """
    va = _float_list("a", a)
    vb = _float_list("b", b)
    if len(va) != len(vb):
        raise ValueError(f"a and b must have the same length (paired by seed), got {len(va)} and {len(vb)}")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    d = [x - y for x, y in zip(va, vb)]
    mean, std = mean_std(d)
    n = len(d)
    if n == 1:
        return PairedDiff(mean, std, n, -math.inf, math.inf, float(confidence))
    half = _t_quantile((1 + confidence) / 2, n - 1) * std / math.sqrt(n)
    return PairedDiff(mean, std, n, mean - half, mean + half, float(confidence))


def verdict(diff: PairedDiff | tuple[float, float]) -> str:
    """Verdict on "method a beats method b" from a paired interval.

    - ``"reproduced"`` if the interval lies above 0 (``low > 0``);
    - ``"not reproduced"`` if the mean difference is below 0;
    - ``"consistent"`` otherwise (mean >= 0 and the interval contains 0).

    Args:
        diff: a :class:`PairedDiff`, or a ``(low, high)`` interval whose midpoint is taken as the mean.

    Returns:
        one of ``"reproduced"``, ``"consistent"``, ``"not reproduced"``.
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


# --------------------------------------------------------------------------------------------------
# the reference implementation's "linear" evaluation (flawed; kept for comparison only)
# --------------------------------------------------------------------------------------------------


def reference_linear_eval(
    encoder: nn.Module,
    dataset: Any,
    *,
    epochs: int = 20,
    lr: float = 0.2,
    momentum: float = 0.9,
    batch_size: int = 256,
    seed: int = 0,
    n_classes: int | None = None,
) -> dict[str, Any]:
    """The reference code's CIFAR "linear evaluation" (paper.md §6, §7 items 25-26). **Flawed protocol.**

    Kept only to measure how much it inflates accuracy against the frozen :func:`linear_probe`.
    It reproduces the two defects of ``nerdslab/gca:linear_evaluation.py``:

    1. the encoder is **not frozen**: its parameters are trained jointly with the linear head
       (SGD, Nesterov momentum, cosine learning rate stepped per batch, no weight decay) and
       BatchNorm runs in train mode (running statistics update);
    2. **model selection on the test set**: the test accuracy is measured after every epoch and
       the maximum over epochs is reported.

    The ``encoder`` is modified **in place** (as in the reference); pass a copy to keep it.
    No augmentation is applied to the training images (the digits setting).

    Args:
        encoder: ``x -> h`` module (e.g. ``model.encoder``), ``h`` of shape ``(B, D)``.
        dataset: object with ``.train`` / ``.test`` splits holding ``.x`` and ``.y`` (val is unused,
            as in the reference).
        epochs, lr, momentum, batch_size: the SGD schedule (defaults: 20 epochs, base lr 0.2).
        seed: batch order and head initialization.
        n_classes: default ``max(label) + 1``.

    Returns:
        ``{"best_test_acc", "best_epoch", "final_test_acc", "test_acc": [per epoch],
        "encoder_change": relative L2 change of the encoder parameters}``.
    """
    if not isinstance(encoder, nn.Module):
        raise TypeError(f"encoder must be an nn.Module, got {type(encoder).__name__}")
    check_int("epochs", epochs, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    check_positive("lr", lr)
    xtr, ytr = dataset.train.x, dataset.train.y.long()
    xte, yte = dataset.test.x, dataset.test.y.long()
    dev = _module_device(encoder, xtr.device)
    xtr, ytr, xte, yte = xtr.to(dev), ytr.to(dev), xte.to(dev), yte.to(dev)
    if n_classes is None:
        n_classes = int(max(int(ytr.max()), int(yte.max()))) + 1
    before = torch.cat([p.detach().reshape(-1).clone() for p in encoder.parameters()])
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        feat_dim = encoder.eval()(xtr[:2]).reshape(2, -1).shape[1]
    torch.manual_seed(seed)
    head = nn.Linear(feat_dim, n_classes).to(dev)
    params = list(encoder.parameters()) + list(head.parameters())  # the defect: the encoder is trained too
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=True, weight_decay=0.0)
    n = xtr.shape[0]
    steps = max(1, n // batch_size) if n >= batch_size else 1
    total, step = epochs * steps, 0
    accs: list[float] = []
    for _ in range(epochs):
        encoder.train()  # BN in train mode, as in the reference
        perm = torch.randperm(n, generator=gen).to(dev)
        for it in range(steps):
            idx = perm[it * batch_size : (it + 1) * batch_size]
            for g in opt.param_groups:
                g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / total))
            loss = nn.functional.cross_entropy(head(encoder(xtr[idx]).reshape(len(idx), -1)), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
        encoder.eval()
        with torch.no_grad():
            pred = torch.cat([head(encoder(xte[i : i + 1024]).reshape(-1, feat_dim)).argmax(1)
                              for i in range(0, xte.shape[0], 1024)])
        accs.append(float((pred == yte).float().mean()))
    after = torch.cat([p.detach().reshape(-1) for p in encoder.parameters()])
    best = max(range(len(accs)), key=lambda i: accs[i])
    return {
        "best_test_acc": accs[best], "best_epoch": best + 1, "final_test_acc": accs[-1], "test_acc": accs,
        "encoder_change": float((after - before).norm() / before.norm().clamp_min(1e-12)),
    }
