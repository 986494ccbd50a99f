"""Evaluation of a frozen encoder: embeddings, the frozen linear probe (full- or low-label) and kNN.

The linear probe is a *true* frozen probe: features are computed once with the encoder in eval mode
under ``torch.no_grad()`` (no parameter or BatchNorm statistic changes), then a multinomial logistic
regression is fitted on the cached train features, its regularization ``C`` is chosen on the
validation split only, and the test split is scored exactly once. This avoids the two problems of
the authors' evaluation (``nerdslab/gca:linear_evaluation.py``): fine-tuning the encoder through a
"linear" probe, and reporting the maximum test accuracy over epochs; that protocol is reproduced,
for comparison only, in :mod:`gca_lab.experiments.implementation_choices`.

Everything takes torch tensors (on any device) and returns Python floats or small frozen dataclasses.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal, Sequence, Union

import numpy as np
import torch
from torch import Tensor, nn

from ._validate import (check_choice, check_features, check_finite, check_int, check_labels, check_nonneg_labels,
                        check_positive, check_tensor)

__all__ = ["Encoder", "Splits", "ProbeResult", "LowLabelResult", "embed", "standardize", "linear_probe", "probe_encoder", "knn_accuracy",
           "knn_accuracies", "stratified_draw", "low_label_probe", "protocol_metrics", "raw_input_baseline",
           "KNN_SETTINGS", "LOW_LABEL_SIZES", "LOW_LABEL_DRAWS", "module_device"]

Encoder = Union[nn.Module, Callable[[Tensor], Tensor]]


def _owning_module(encoder: Encoder) -> nn.Module | None:
    if isinstance(encoder, nn.Module):
        return encoder
    # A bound method such as ``model.features``: the module is its ``__self__``.
    owner = getattr(encoder, "__self__", None)
    return owner if isinstance(owner, nn.Module) else None


def module_device(module: nn.Module | None, fallback: torch.device) -> torch.device:
    """The device of ``module``'s first parameter (or buffer); ``fallback`` for None or an empty module."""
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
    dev = module_device(module, x.device)
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


@dataclass(frozen=True)
class Splits:
    """Features (or flattened inputs) and labels of the train, val and test splits: what every probe and
    kNN of this module takes, so the six tensors travel together and are checked once.

    Attributes:
        train, val, test: ``(N_split, D)`` floating features, the same ``D``.
        train_y, val_y, test_y: ``(N_split,)`` integer labels, on the CPU.
    """

    train: Tensor
    train_y: Tensor
    val: Tensor
    val_y: Tensor
    test: Tensor
    test_y: Tensor

    @classmethod
    def embed(cls, encoder: "Encoder", dataset: Any, *, target: Literal["class", "domain"] = "class",
              prepare: Callable[[Tensor], Tensor] | None = None, transform: Callable[[Tensor], Tensor] | None = None,
              batch_size: int = 1024) -> "Splits":
        """The frozen features :func:`embed` of ``dataset.train/val/test`` (in that order) and their labels.

        ``dataset`` is duck-typed: ``.train``, ``.val``, ``.test`` splits with ``.x`` (inputs ``(N, ...)``),
        ``.y`` (class labels) and, for ``target="domain"``, ``.domain`` (domain labels, or None).
        ``prepare``: ``x -> x`` applied to each split's whole input before embedding (a random one draws
        train, val, test in that order); ``transform``: per batch, as in :func:`embed`.
        """
        check_choice("target", target, ("class", "domain"))
        if prepare is not None and not callable(prepare):
            raise TypeError(f"prepare must be callable or None, got {type(prepare).__name__}")
        parts: list[Tensor] = []
        for split in ("train", "val", "test"):
            x, y = _split_xy(dataset, split, target)
            x = prepare(x) if prepare is not None else x
            parts += [embed(encoder, x, batch_size=batch_size, transform=transform), y.cpu()]
        return cls(*parts)

    @classmethod
    def raw(cls, dataset: Any, *, target: Literal["class", "domain"] = "class") -> "Splits":
        """The inputs themselves, flattened to ``x.reshape(N, -1)`` in float32 on the CPU, and their labels."""
        check_choice("target", target, ("class", "domain"))
        parts: list[Tensor] = []
        for split in ("train", "val", "test"):
            x, y = _split_xy(dataset, split, target)
            check_tensor(f"dataset.{split}.x", x, min_ndim=1)
            xf = x.detach().reshape(x.shape[0], -1).float().cpu()
            parts += [check_finite(f"dataset.{split}.x", xf), y.cpu()]
        return cls(*parts)

    def relabeled(self, dataset: Any, target: Literal["class", "domain"]) -> "Splits":
        """The same features with ``dataset``'s ``target`` labels (``"domain"``: the domain probe)."""
        ys = [_split_xy(dataset, s, target)[1].cpu() for s in ("train", "val", "test")]
        return Splits(self.train, ys[0], self.val, ys[1], self.test, ys[2])

    def with_test(self, test: Tensor, test_y: Tensor | None = None) -> "Splits":
        """The same train and val with other test features (e.g. of corrupted inputs), same labels by default."""
        return Splits(self.train, self.train_y, self.val, self.val_y, test, self.test_y if test_y is None else test_y)

    def check(self) -> "Splits":
        """Validate: features of one width, labels that match them; returns ``self``."""
        for name in ("train", "val", "test"):
            check_features(f"{name}_feats", getattr(self, name))
        d = self.train.shape[1]
        for name in ("val", "test"):
            if getattr(self, name).shape[1] != d:
                raise ValueError(f"{name}_feats must have D = {d} columns like train_feats, "
                                 f"got {getattr(self, name).shape[1]}")
        for name in ("train", "val", "test"):
            check_labels(f"{name}_y", getattr(self, f"{name}_y"), getattr(self, name).shape[0], f"{name}_feats")
        return self


def _as_splits(fn: str, splits: Any, legacy: tuple[Tensor, ...]) -> Splits:
    """``splits``, or the six tensors of the former signature ``fn(train_feats, train_y, val_feats, val_y,
    test_feats, test_y)`` (deprecated for one release) as a :class:`Splits`."""
    if isinstance(splits, Splits) and not legacy:
        return splits
    if len(legacy) == 5:
        warnings.warn(f"{fn}(train_feats, train_y, val_feats, val_y, test_feats, test_y) is deprecated; "
                      f"pass gca_lab.evaluate.Splits(...)", DeprecationWarning, stacklevel=3)
        return Splits(splits, *legacy)
    raise TypeError(f"{fn} takes a gca_lab.evaluate.Splits as its first argument, got {type(splits).__name__}"
                    f" and {len(legacy)} more positional arguments")


def standardize(splits: Splits) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three feature splits as float64 arrays standardized with the training split's mean and std
    (``StandardScaler``: ``(x - mean) / std``, a zero std left at 1); float64 because lbfgs on float32
    stops early on a noisy line search. Returns ``(train, val, test)``."""
    from sklearn.preprocessing import StandardScaler

    xtr = _np(splits.train).astype(np.float64)
    scaler = StandardScaler().fit(xtr)
    return scaler.transform(xtr), scaler.transform(_np(splits.val).astype(np.float64)), \
        scaler.transform(_np(splits.test).astype(np.float64))


def _np(t: Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


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


def _check_probe_inputs(splits: Splits, Cs: Iterable[float], max_iter: int) -> list[float]:
    """Validate the inputs every probe takes (:meth:`Splits.check`, the C grid and ``max_iter``); returns
    the C grid as a list of positive floats."""
    splits.check()
    if isinstance(Cs, (str, bytes)) or not isinstance(Cs, Iterable):
        raise TypeError(f"Cs must be a sequence of positive numbers, got {type(Cs).__name__}")
    Cs = [check_positive(f"Cs[{i}]", c) for i, c in enumerate(Cs)]
    if not Cs:
        raise ValueError("Cs must hold at least one value, got an empty sequence")
    check_int("max_iter", max_iter, minimum=1)
    return Cs


def linear_probe(
    splits: Splits,
    *legacy: Tensor,
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
        splits: :class:`Splits`, ``(N_split, D)`` floating features and ``(N_split,)`` integer labels.
            Train must hold >= 2 classes; a class absent from train simply counts as an error where it
            appears in val/test. (The former six positional tensors still work, deprecated.)
        Cs: inverse regularization strengths to try (default 0.01, 0.1, 1, 10), each > 0.
        max_iter: lbfgs iteration cap per fit (default 300; enough for standardized features of
            a few thousand rows x a few hundred dims in well under a second per ``C``).
        seed: ``random_state`` of the solver (lbfgs itself is deterministic; kept for the record).

    Returns:
        :class:`ProbeResult`.

    Reference: the linear-readout accuracy reported by arXiv 2502.20141, done as a frozen probe (the
    authors' ``linear_evaluation.py`` fine-tunes the encoder and selects epochs on the test set).
    """
    splits = _as_splits("linear_probe", splits, legacy)
    Cs = _check_probe_inputs(splits, Cs, max_iter)
    check_int("seed", seed)
    ytr, yva, yte = _np(splits.train_y), _np(splits.val_y), _np(splits.test_y)
    if np.unique(ytr).size < 2:
        raise ValueError(f"train_y must contain at least 2 classes, got {np.unique(ytr).tolist()}")
    xtr, xva, xte = standardize(splits)
    return _fit_probe(xtr, ytr, xva, yva, xte, yte, Cs, max_iter, seed)


def _fit_probe(
    xtr: np.ndarray, ytr: np.ndarray, xva: np.ndarray, yva: np.ndarray, xte: np.ndarray, yte: np.ndarray,
    Cs: Sequence[float], max_iter: int, seed: int,
) -> ProbeResult:
    """The C sweep of :func:`linear_probe` on standardized float64 arrays (inputs already validated)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

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
            experiment, arXiv 2502.20141, Sec. 6.2, Fig. 1). Errors if the splits carry no domain labels.
        transform: optional ``x_batch -> x_batch`` applied to the inputs of all three splits before
            embedding (the corrupted-test evaluation of arXiv 2502.20141's noisy setting).
        batch_size, Cs, max_iter, seed: forwarded to :func:`embed` / :func:`linear_probe`.

    Returns:
        :class:`ProbeResult`.
    """
    splits = Splits.embed(encoder, dataset, target=target, transform=transform, batch_size=batch_size)
    return linear_probe(splits, Cs=Cs, max_iter=max_iter, seed=seed)


def _check_knn_setting(k: Any, temperature: Any, n: int) -> tuple[int, float]:
    # k is bounded by N, the number of training rows.
    return check_int("k", k, minimum=1, maximum=n), check_positive("temperature", temperature)


def _train_test(train_feats: Any, train_y: Any, test_feats: Any, test_y: Any) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The kNN's four tensors: a :class:`Splits`' train and test, or the four given."""
    if isinstance(train_feats, Splits):
        if not (train_y is None and test_feats is None and test_y is None):
            raise TypeError("pass either a Splits or train_feats, train_y, test_feats, test_y, not both")
        return train_feats.train, train_feats.train_y, train_feats.test, train_feats.test_y
    if train_y is None or test_feats is None or test_y is None:
        raise TypeError("train_y, test_feats and test_y are required unless the first argument is a Splits")
    return train_feats, train_y, test_feats, test_y


def knn_accuracies(
    train_feats: "Tensor | Splits",
    train_y: Tensor | None = None,
    test_feats: Tensor | None = None,
    test_y: Tensor | None = None,
    *,
    settings: Sequence[tuple[int, float]] = ((20, 0.07), (200, 0.1)),
    n_classes: int | None = None,
    chunk_size: int | None = None,
) -> list[float]:
    """Weighted kNN accuracy on cosine similarity for several ``(k, T)`` settings in one pass.

    For each test row, ``s_j = cos(f_test, f_train_j)``; among the ``k`` most similar training rows,
    class ``c`` gets the vote ``sum_{j in topk, y_j = c} exp(s_j / T)`` and the prediction is the
    argmax (InstDisc, Wu et al. 2018; the weighted-vote kNN monitor of solo-learn, ``k = 20``,
    ``T = 0.07``, and of lightly, ``k = 200``, ``T = 0.1``, the default ``settings``). Votes are
    computed as ``exp((s_j - max_j s_j) / T)``: the per-row shift leaves the argmax unchanged and keeps
    small ``T`` from overflowing float32. Equal votes go to the smallest class index (``argmax``
    returns the first maximum). The similarity block and its top ``max k`` are computed once; each
    setting reads the first ``k`` columns of that sorted top list (rows tied exactly at the ``k``-th
    similarity may be chosen differently from a separate ``topk(k)``; either choice is a valid kNN).

    Args:
        train_feats, train_y, test_feats, test_y: ``(N, D)``, ``(N,)``, ``(M, D)``, ``(M,)`` (labels >= 0;
            any device, test rows follow train's), or a :class:`Splits` alone (its train and test).
        settings: ``(k, T)`` pairs, ``1 <= k <= N``, ``T > 0``; at least one.
        n_classes: number of classes; default ``max(label) + 1`` over both splits.
        chunk_size: test rows per similarity block; default keeps each ``(chunk, N)`` block at
            about 16M entries.

    Returns:
        one accuracy in [0, 1] per setting, in the order of ``settings``.
    """
    train_feats, train_y, test_feats, test_y = _train_test(train_feats, train_y, test_feats, test_y)
    check_features("train_feats", train_feats)
    check_features("test_feats", test_feats)
    if test_feats.shape[1] != train_feats.shape[1]:
        raise ValueError(
            f"test_feats must have D = {train_feats.shape[1]} columns like train_feats, "
            f"got {test_feats.shape[1]}"
        )
    check_nonneg_labels("train_y", check_labels("train_y", train_y, train_feats.shape[0], "train_feats"))
    check_nonneg_labels("test_y", check_labels("test_y", test_y, test_feats.shape[0], "test_feats"))
    n = train_feats.shape[0]
    if isinstance(settings, (str, bytes)) or not isinstance(settings, Iterable):
        raise TypeError(f"settings must be a sequence of (k, temperature) pairs, got {type(settings).__name__}")
    checked: list[tuple[int, float]] = []
    for i, pair in enumerate(settings):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"settings[{i}] must be a (k, temperature) pair, got {pair!r}")
        checked.append(_check_knn_setting(pair[0], pair[1], n))
    if not checked:
        raise ValueError("settings must hold at least one (k, temperature) pair, got an empty sequence")
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
    k_max = max(k for k, _ in checked)
    correct = torch.zeros(len(checked), dtype=torch.long, device=dev)
    for start in range(0, te.shape[0], chunk_size):
        sim = te[start : start + chunk_size] @ tr.T  # (c, N)
        top_s, top_i = sim.topk(k_max, dim=1)  # (c, k_max), sorted descending
        top_y = ytr[top_i]  # (c, k_max)
        target = yte[start : start + chunk_size]
        for j, (k, temperature) in enumerate(checked):
            w = torch.exp((top_s[:, :k] - top_s[:, :1]) / temperature)  # (c, k)
            votes = torch.zeros(sim.shape[0], n_classes, device=dev, dtype=w.dtype)  # (c, C)
            votes.scatter_add_(1, top_y[:, :k], w)
            correct[j] += (votes.argmax(dim=1) == target).sum()
    return [float(c) / te.shape[0] for c in correct.tolist()]


def knn_accuracy(
    train_feats: "Tensor | Splits",
    train_y: Tensor | None = None,
    test_feats: Tensor | None = None,
    test_y: Tensor | None = None,
    *,
    k: int = 20,
    temperature: float = 0.1,
    n_classes: int | None = None,
    chunk_size: int | None = None,
) -> float:
    """Weighted kNN accuracy on cosine similarity (InstDisc, Wu et al. 2018) for one ``(k, T)``.

    ``votes_c = sum_{j in topk, y_j = c} exp(s_j / T)`` with ``s_j = cos(f_test, f_train_j)``, the
    prediction is ``argmax_c votes_c``; see :func:`knn_accuracies`, which this calls with the single
    setting ``(k, temperature)``.

    Args:
        train_feats: ``(N, D)``, or a :class:`Splits` (its train and test); test_feats: ``(M, D)``;
            any device (test rows follow train's).
        train_y: ``(N,)``; test_y: ``(M,)`` integer labels >= 0.
        k: neighbours, 1 <= k <= N (default 20).
        temperature: ``T`` > 0 (default 0.1).
        n_classes: number of classes; default ``max(label) + 1`` over both splits.
        chunk_size: test rows per similarity block; default keeps each ``(chunk, N)`` block at
            about 16M entries.

    Returns:
        accuracy in [0, 1].
    """
    train_feats, train_y, test_feats, test_y = _train_test(train_feats, train_y, test_feats, test_y)
    check_features("train_feats", train_feats)
    _check_knn_setting(k, temperature, train_feats.shape[0])
    return knn_accuracies(train_feats, train_y, test_feats, test_y, settings=[(k, temperature)],
                          n_classes=n_classes, chunk_size=chunk_size)[0]


# --------------------------------------------------------------------------------------------------
# The evaluation protocol of every figure table: full probe, low-label probe, two kNN settings
# --------------------------------------------------------------------------------------------------

KNN_SETTINGS: tuple[tuple[int, float], ...] = ((20, 0.07), (200, 0.1))
"""``(k, T)`` of the weighted kNN in :func:`protocol_metrics`: solo-learn's (20, 0.07) and lightly's (200, 0.1)."""

LOW_LABEL_SIZES: tuple[int, ...] = (10, 100)
"""Labels per class of the low-label probes in :func:`protocol_metrics`."""

LOW_LABEL_DRAWS = 5
"""Label draws averaged by each low-label probe in :func:`protocol_metrics`."""


def stratified_draw(labels: Tensor, per_class: int, seed: int) -> Tensor:
    """Indices of ``per_class`` rows of every class of ``labels``, drawn without replacement.

    Each class present in ``labels`` (in increasing label order) contributes ``per_class`` of its
    rows, chosen uniformly by NumPy's PCG64 seeded with ``seed``; the same ``(labels, per_class,
    seed)`` always gives the same draw, whatever the device or global random state.

    Args:
        labels: ``(N,)`` integer labels.
        per_class: rows per class, >= 1 and at most the size of the smallest class.
        seed: integer >= 0.

    Returns:
        ``(per_class * n_classes,)`` int64 indices into ``labels``, sorted increasingly.

    Raises:
        ValueError: ``per_class`` < 1 or larger than some class (the message names that class).
    """
    check_tensor("labels", labels, ndim=1)
    per_class = check_int("per_class", per_class, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    y = labels.detach().cpu().numpy()
    classes, counts = np.unique(y, return_counts=True)
    if classes.size == 0:
        raise ValueError("labels must hold at least one row, got an empty tensor")
    small = int(np.argmin(counts))
    if counts[small] < per_class:
        raise ValueError(
            f"per_class={per_class} is larger than class {classes[small].item()!r}, which has only "
            f"{int(counts[small])} rows; use per_class <= {int(counts.min())}"
        )
    rng = np.random.Generator(np.random.PCG64(seed))
    picks = [rng.choice(np.flatnonzero(y == c), size=per_class, replace=False) for c in classes]
    return torch.from_numpy(np.sort(np.concatenate(picks)).astype(np.int64))


@dataclass(frozen=True)
class LowLabelResult:
    """Outcome of :func:`low_label_probe`.

    Attributes:
        per_class: labelled training rows per class.
        test_acc: mean test accuracy over the draws, in [0, 1].
        test_accs: test accuracy of each draw.
        best_C: the ``C`` chosen on validation (by the first draw, used for all).
    """

    per_class: int
    test_acc: float
    test_accs: tuple[float, ...]
    best_C: float

    @property
    def test_std(self) -> float:
        """Sample standard deviation of the per-draw test accuracies (0 for a single draw)."""
        return float(np.std(self.test_accs, ddof=1)) if len(self.test_accs) > 1 else 0.0


def low_label_probe(
    splits: Splits,
    *legacy: Tensor,
    per_class: int,
    draws: int = LOW_LABEL_DRAWS,
    seed: int = 0,
    Cs: Sequence[float] = (0.01, 0.1, 1.0, 10.0),
    max_iter: int = 300,
) -> LowLabelResult:
    """Frozen linear probe fitted on ``per_class`` labelled rows per class, averaged over ``draws`` label draws.

    Draw ``d`` (``0 <= d < draws``) labels the rows :func:`stratified_draw` picks with seed
    ``seed * 1000 + d`` (so draws differ from each other and are reproducible). All training
    features are unlabelled data, so the standardization uses the mean and std of the *whole*
    training split; the logistic regression of :func:`linear_probe` (lbfgs, L2) is then fitted on
    the drawn rows only and scored once on the test split. ``C`` is chosen on the validation split
    for the first draw and reused for the others: the test split never influences it, and the
    evaluation costs ``len(Cs) + draws - 1`` fits instead of ``len(Cs) * draws`` (this runs after
    every training run). The result is ``mean_d acc_test(d)``, the low-label protocol of
    semi-supervised evaluation (e.g. 1 % / 10 % labels in SimCLR, Chen et al. 2020) at a fixed
    count per class.

    Args:
        splits: :class:`Splits` (the former six positional tensors still work, deprecated).
        per_class: labelled rows per class, >= 1 and at most the smallest training class.
        draws: number of label draws, >= 1 (default 5).
        seed: integer >= 0, the base of the draws' seeds.
        Cs, max_iter: as in :func:`linear_probe`.

    Returns:
        :class:`LowLabelResult`.
    """
    splits = _as_splits("low_label_probe", splits, legacy)
    Cs = _check_probe_inputs(splits, Cs, max_iter)
    per_class = check_int("per_class", per_class, minimum=1)
    draws = check_int("draws", draws, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    ytr_all = splits.train_y.detach().cpu()
    if torch.unique(ytr_all).numel() < 2:
        raise ValueError(f"train_y must contain at least 2 classes, got {torch.unique(ytr_all).tolist()}")
    idx_draws = [stratified_draw(ytr_all, per_class, seed * 1000 + i) for i in range(draws)]
    xtr_all, xva, xte = standardize(splits)  # all training rows are unlabelled data
    yva, yte, ytr_np = _np(splits.val_y), _np(splits.test_y), ytr_all.numpy()
    accs: list[float] = []
    for idx in idx_draws:
        sel = idx.numpy()
        res = _fit_probe(xtr_all[sel], ytr_np[sel], xva, yva, xte, yte, Cs, max_iter, seed)
        accs.append(res.test_acc)
        Cs = [res.best_C]  # chosen on validation by the first draw
    return LowLabelResult(per_class=per_class, test_acc=float(np.mean(accs)), test_accs=tuple(accs), best_C=Cs[0])


def protocol_metrics(
    splits: Splits,
    *legacy: Tensor,
    seed: int = 0,
    full_probe: bool = True,
    low_label: Sequence[int] = LOW_LABEL_SIZES,
    draws: int = LOW_LABEL_DRAWS,
    knn: Sequence[tuple[int, float]] = KNN_SETTINGS,
    skip_infeasible: bool = False,
) -> dict[str, float]:
    """The evaluation of every figure table on frozen features, as a flat metrics dict: the one entry
    point that scores features (:func:`gca_lab.train.evaluate_run` and the experiments call it).

    Keys (accuracies in [0, 1] on the test split):

    - ``probe_test_acc``, ``probe_val_acc``, ``probe_C``: :func:`linear_probe` on all training labels
      (only with ``full_probe``);
    - ``lowlabel{n}_test_acc`` for each ``n`` in ``low_label``: :func:`low_label_probe` with ``n``
      labels per class, the mean over ``draws`` draws seeded by ``seed``;
    - ``knn{k}_test_acc`` for each ``(k, T)`` in ``knn``: :func:`knn_accuracies` (default
      ``knn20_test_acc`` at ``T = 0.07``, ``knn200_test_acc`` at ``T = 0.1``).

    Args:
        splits: :class:`Splits` (the former six positional tensors still work, deprecated).
        seed: seed of the probes and of the label draws.
        full_probe: also run the all-label probe (False when the caller has it already).
        low_label: labels per class of the low-label probes (each >= 1).
        draws: label draws per low-label probe.
        knn: ``(k, T)`` settings; two settings may not share a ``k`` (the key holds ``k`` only).
        skip_infeasible: leave out a low-label size larger than the smallest training class and a
            kNN setting with ``k`` above the training rows (tiny test datasets) instead of raising.

    Returns:
        ``{key: value}`` as listed above.
    """
    splits = _as_splits("protocol_metrics", splits, legacy)
    train_feats, train_y = splits.train, splits.train_y
    out: dict[str, float] = {}
    if full_probe:
        probe = linear_probe(splits, seed=seed)
        out.update(probe_test_acc=probe.test_acc, probe_val_acc=probe.val_acc, probe_C=probe.best_C)
    ks = [pair[0] if isinstance(pair, (tuple, list)) and pair else pair for pair in knn]
    if len(set(map(str, ks))) != len(ks):
        raise ValueError(f"knn settings must have distinct k (the metric key holds k only), got {list(knn)!r}")
    if skip_infeasible:
        smallest = int(torch.unique(train_y.detach().cpu(), return_counts=True)[1].min())
        low_label = [n for n in low_label if not isinstance(n, int) or n <= smallest]
        knn = [pair for pair in knn
               if not (isinstance(pair, (tuple, list)) and isinstance(pair[0], int) and pair[0] > train_feats.shape[0])]
    for n in low_label:
        res = low_label_probe(splits, per_class=n, draws=draws, seed=seed)
        out[f"lowlabel{n}_test_acc"] = res.test_acc
    if knn:
        accs = knn_accuracies(splits, settings=knn)
        for (k, _), acc in zip(knn, accs):
            out[f"knn{k}_test_acc"] = acc
    return out


def raw_input_baseline(dataset: Any, *, seed: int = 0, target: Literal["class", "domain"] = "class",
                       **options: Any) -> dict[str, float]:
    """:func:`protocol_metrics` on the raw inputs, flattened: ``x.reshape(N, -1)`` of each split.

    The baseline every encoder column sits next to: a probe or kNN that does no better on an
    encoder's features than on the inputs themselves shows nothing learned. The linear probe on
    raw inputs is the same standardized logistic regression; kNN uses cosine similarity of the
    flattened inputs (for MNIST-1D signals, standardized, and images in [0, 1] alike).

    Args:
        dataset: ``.train``, ``.val``, ``.test`` splits with ``.x`` and ``.y`` (and ``.domain`` for
            ``target="domain"``), as in :func:`probe_encoder`.
        seed: as in :func:`protocol_metrics`.
        target: ``"class"`` or ``"domain"`` labels.
        **options: forwarded to :func:`protocol_metrics` (``low_label``, ``draws``, ``knn``,
            ``full_probe``, ``skip_infeasible``).

    Returns:
        the keys of :func:`protocol_metrics`, unprefixed (callers add ``raw_``).
    """
    return protocol_metrics(Splits.raw(dataset, target=target), seed=seed, **options)
