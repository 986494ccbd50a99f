"""Implementation choices that papers rarely state, and how much they move results (docs/reference_implementation.md).

Each choice is measured twice:

- on **loss values** (compute run ``loss_values``, no training): fixed random embeddings of two
  views, unaligned (``noise = 1``) and aligned (``noise = 0.2``), each loss computed with our
  default and with the reference implementation's choice;
- on **frozen-probe accuracy** (training runs, paired over seeds): GCA-UOT with our defaults
  against GCA-UOT with one reference choice switched on.

Choices (ours -> reference): joint-layout self-pairs masked -> maximum cost (``self_pairs``);
cosine not clamped -> clamped at ``1e-7`` (``clamp_similarity``); ``B x B`` cross layout ->
``2B x 2B`` joint layout; marginals of mass 1 per anchor -> ``1/n`` (``marginals="uniform"``; only
RINCE/W1/UOT terms depend on it); true RINCE -> the reference CIFAR "rince", which is
``(CE)^q / q`` of the INCE cross-entropy with no ``lam`` dependence (:func:`reference_cifar_rince`,
reproduced here as a comparison object, not a library loss); frozen linear probe -> the reference's
fine-tuned "linear" evaluation with test-set model selection
(:func:`reference_linear_eval`, here).

Every W1-family loss here (training runs and loss values) uses ``convention="chuang"`` (cost ``-cos``,
unit masses), the convention the committed results were computed with; under it "ours" has mass 1 per
anchor, so the marginal-scale row compares 1 with ``1/n`` as it says (under the default ``"gca"``, whose
W1 masses are already ``1/n``, it would compare ``1/n`` with itself).

The reference "rince" is not trained here: its gradient is INCE's (joint, clamped) times the scalar
``CE^(q-1)``, and Adam is invariant to a slowly varying gradient scale, so training with it is
close to training INCE; the accuracy row therefore compares true RINCE with INCE.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import methods as _methods
from .._validate import check_int, check_positive
from ..evaluate import module_device
from ..stats import Claim, judge
from ._common import COMMITTED_CONVENTION, seeds, stated_convention, train_run, values_by_seed
from ._core import Experiment, Run, computation, register

BUDGETS = {
    "quick": dict(model="mlp", epochs=2, n_seeds=1, variants=("clamp",), ref_epochs=2),
    "full": dict(model="convnet", epochs=15, n_seeds=3,
                 variants=("clamp", "uniform", "joint", "joint_max_cost", "ince", "rince"), ref_epochs=15),
}
VARIANTS: dict[str, dict[str, Any]] = {
    # name: TrainConfig fields changed from the GCA-UOT default
    "clamp": {"loss_options": {"clamp_similarity": True}},
    "uniform": {"loss_options": {"marginals": "uniform"}},
    "joint": {"layout": "joint"},
    "joint_max_cost": {"layout": "joint", "loss_options": {"self_pairs": "max_cost"}},
    "ince": {"method": "ince"},
    "rince": {"method": "rince"},
}
BASE = dict(dataset="digits", method="gca_uot")


def reference_cifar_rince(z1: Tensor, z2: Tensor, *, eps: float = 0.5, q: float = 0.6, lam: float = 0.01) -> Tensor:
    """The reference's CIFAR ``rince`` loss, **reproducing its defect** (docs/reference_implementation.md, item 4).

    ``(CE)^q / q`` where ``CE`` is the batch-mean InfoNCE cross-entropy of the ``2N x 2N`` joint
    layout, with cosines clamped at ``1e-7`` and the self-pair logit masked. ``lam`` is accepted and
    **ignored**, as in the reference (its class weights are all 1). This is *not* RINCE
    (:class:`gca_lab.losses.RINCE` is); it exists only to compare against it.
    """
    del lam  # the defect: lam has no effect
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # (2N, d)
    n2 = z.shape[0]
    logits = (z @ z.T).clamp(min=1e-7) / eps
    logits = logits - 1e5 * torch.eye(n2, dtype=logits.dtype)
    partner = (torch.arange(n2) + n2 // 2) % n2
    ce = F.cross_entropy(logits, partner)
    return ce.pow(q) / q


def _pair(a: float, b: float) -> dict[str, float]:
    return {"ours": a, "reference": b, "diff": b - a, "rel": (b - a) / abs(a) if a else math.inf}


@computation("implementation_choices.loss_values")
def loss_values(*, batch: int = 128, dim: int = 64, noises: list[float] = [1.0, 0.2], seed: int = 0,
                convention: str = "gca") -> dict[str, Any]:
    """Loss values with our default vs the reference's choice, on fixed random embeddings (no training).

    Every loss takes ``convention`` (:mod:`gca_lab.losses`, "Conventions"); the marginal-scale rows
    compare the convention's masses with ``marginals="uniform"`` (``1/n``), so they measure a change only
    under a convention with unit masses (``"chuang"``, that of the committed results).
    """
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, Any] = {}
    for noise in noises:
        z1 = torch.randn(batch, dim, generator=gen, dtype=torch.float64)
        z2 = z1 + noise * torch.randn(batch, dim, generator=gen, dtype=torch.float64)
        L = lambda name, **kw: float(_methods.make_loss(name, convention=convention, **kw)(z1, z2))  # noqa: E731
        r: dict[str, Any] = {}
        r["self_pairs"] = {m: _pair(L(m, layout="joint"), L(m, layout="joint", self_pairs="max_cost"))
                           for m in ("ince", "gca_ince", "gca_uot")}
        r["clamp_similarity"] = {m: _pair(L(m), L(m, clamp_similarity=True)) for m in ("ince", "gca_ince", "gca_uot")}
        r["layout"] = {m: _pair(L(m), L(m, layout="joint")) for m in ("ince", "gca_ince", "gca_uot")}
        r["gca_gain_by_layout"] = {lay: {"ince": L("ince", layout=lay), "gca_ince": L("gca_ince", layout=lay)}
                                   for lay in ("cross", "joint")}
        r["marginals"] = {m: _pair(L(m), L(m, marginals="uniform")) for m in ("gca_ince", "rince", "gca_rince", "gca_uot")}
        lams = [0.01, 0.5, 5.0]
        r["rince_lam"] = {
            "true": [L("rince", lam=lam) for lam in lams],
            "reference": [float(reference_cifar_rince(z1, z2, lam=lam)) for lam in lams],
            "lams": lams,
        }
        # gradient direction of the reference "rince" vs the joint clamped INCE (SimCLR-style): identical
        a, b = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
        reference_cifar_rince(a, b).backward()
        g_ref = torch.cat([a.grad.flatten(), b.grad.flatten()])
        a2, b2 = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
        _methods.make_loss("ince", layout="joint", clamp_similarity=True, convention=convention)(a2, b2).backward()
        g_ince = torch.cat([a2.grad.flatten(), b2.grad.flatten()])
        r["rince_grad_cos_to_ince"] = float(F.cosine_similarity(g_ref, g_ince, dim=0))
        out[f"noise={noise:g}"] = r
    return out


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
    """The reference code's CIFAR "linear evaluation" (``nerdslab/gca:linear_evaluation.py``). **Flawed protocol.**

    Kept only to measure how much it inflates accuracy against the frozen
    :func:`gca_lab.evaluate.linear_probe`.
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
    from ..train import epoch_batches, optimizer_step, set_lr

    if not isinstance(encoder, nn.Module):
        raise TypeError(f"encoder must be an nn.Module, got {type(encoder).__name__}")
    check_int("epochs", epochs, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    check_positive("lr", lr)
    xtr, ytr = dataset.train.x, dataset.train.y.long()
    xte, yte = dataset.test.x, dataset.test.y.long()
    dev = module_device(encoder, xtr.device)
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
        for idx in epoch_batches(n, batch_size, gen, steps=steps):
            idx = idx.to(dev)
            # the cosine written as pi * step / total, not train.lr_factor's pi * (step / total): the two
            # differ in the last bit at some steps, and the committed results use this one
            set_lr(opt, lr * 0.5 * (1 + math.cos(math.pi * step / total)))
            logits = head(encoder(xtr[idx]).reshape(len(idx), -1))
            optimizer_step(opt, nn.functional.cross_entropy(logits, ytr[idx]))
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


@computation("implementation_choices.probe_protocols")
def probe_protocols(*, seed: int, model: str, epochs: int, ref_epochs: int, dataset: str = "digits",
                    method: str = "gca_uot", convention: str = "gca") -> dict[str, Any]:
    """Train the default GCA-UOT encoder (loss ``convention``); score it with the frozen probe, then with
    the reference's fine-tuned "linear" evaluation (best test accuracy over epochs)."""
    from ..train import TrainConfig, load_dataset, train

    cfg = TrainConfig(dataset=dataset, model=model, method=method, epochs=epochs, seed=seed, progress=False,
                      loss_options=stated_convention(method, {"convention": convention}))
    res = train(cfg)
    ds = load_dataset(cfg)
    ref = reference_linear_eval(res.model.encoder, ds, epochs=ref_epochs, seed=seed)
    return {"metrics": res.metrics, "reference_eval": ref, "train_wall_time": res.wall_time}


def _plan(budget: str) -> list[Run]:
    cfg = BUDGETS[budget]
    runs = [Run("loss_values", "compute", {"fn": "implementation_choices.loss_values", "convention": COMMITTED_CONVENTION})]
    for s in range(cfg["n_seeds"]):
        runs.append(Run(f"default/seed{s}", "compute", {"fn": "implementation_choices.probe_protocols", "seed": s,
                                                         "model": cfg["model"], "epochs": cfg["epochs"],
                                                         "ref_epochs": cfg["ref_epochs"],
                                                         "convention": COMMITTED_CONVENTION}))
        for v in cfg["variants"]:
            runs.append(train_run(f"{v}/seed{s}", convention=COMMITTED_CONVENTION, **{**BASE, "model": cfg["model"], "epochs": cfg["epochs"], "seed": s,
                                                    **VARIANTS[v]}))
    return runs


MEANING = {"reproduced": "raises accuracy", "contradicted": "lowers accuracy", "not reproduced": "no detectable effect",
           "inconclusive": "no detectable effect"}
"""Plain words for the verdict of "the reference choice raises accuracy" (no paper effect: these are
choices the paper does not state, so an interval containing 0 reads "no detectable effect")."""


def effect(a: dict[int, float], b: dict[int, float], label: str = "reference choice raises accuracy") -> dict[str, Any]:
    """Paired effect ``a - b`` (points) over the seeds both have, with its 95% interval and a
    plain-words reading of :func:`gca_lab.stats.judge`'s verdict; ``a`` and ``b`` are ``{seed: value}``."""
    if not set(a) & set(b):
        return {"ours": "n/a", "meaning": "not run"}
    c = judge(label, "(not stated in the paper)", a=a, b=b)
    meaning = "single seed: no interval" if c.n < 2 else MEANING[c.verdict]
    return {"ours": c.ours, "mean": c.mean, "low": c.low, "high": c.high, "n": c.n, "meaning": meaning,
            "detectable": c.detectable}


def _claims(lv0: dict[str, Any], ref: dict[int, float], base: dict[int, float]) -> list[Claim]:
    """The facts of docs/reference_implementation.md this experiment checks, as claims."""
    rows: list[Claim] = []
    rl = lv0.get("rince_lam")
    if rl:
        ref_same = len({round(v, 9) for v in rl["reference"]}) == 1
        rows.append(judge("reference CIFAR 'rince' does not depend on λ", "docs/reference_implementation.md, item 4",
                          holds=ref_same, ours=f"{len({round(v, 9) for v in rl['reference']})} distinct value(s) at "
                          f"λ = {', '.join(f'{x:g}' for x in rl['lams'])}; true RINCE: "
                          f"{len({round(v, 9) for v in rl['true']})}",
                          rule="identical loss values (to 1e-9) across λ"))
    if "rince_grad_cos_to_ince" in lv0:
        g = lv0["rince_grad_cos_to_ince"]
        rows.append(judge("reference 'rince' gradient is parallel to the clamped joint INCE's",
                          "docs/reference_implementation.md, item 4", holds=bool(g > 1 - 1e-6), ours=f"cosine {g:.6f}",
                          rule="cosine between the two gradients > 1 − 1e-6"))
    if "gca_ince" in lv0.get("marginals", {}):
        dm = lv0["marginals"]["gca_ince"]["diff"]
        rows.append(judge("GCA-INCE does not depend on the marginal scale (KL terms)",
                          "docs/reference_implementation.md, item 15", holds=bool(abs(dm) < 1e-9),
                          ours=f"difference {dm:.1e}", rule="|loss(mass 1) − loss(mass 1/n)| < 1e-9"))
    if set(ref) & set(base):
        rows.append(judge("the reference's fine-tuned, test-selected evaluation reports more than the frozen probe",
                          "docs/reference_implementation.md, items 25-26", a=ref, b=base))
    return rows


REFERENCE_DOES = {
    "self_pairs": "joint layout, self-pair kept with the maximum cost (item 1)",
    "clamp": "cosine clamped at 1e-7 (item 2)",
    "joint": "2N x 2N joint layout (item 3)",
    "uniform": "marginals 1/(2N) for RINCE/UOT terms (items 5, 15)",
    "rince": "CIFAR 'rince' = (CE)^q/q, lam ignored (item 4)",
    "probe": "encoder fine-tuned, best test acc over epochs (items 25-26)",
}


def _summarize(results: dict[str, dict[str, Any]], budget: str) -> dict[str, Any]:
    cfg = BUDGETS[budget]
    seed_list = seeds(budget, full=BUDGETS["full"]["n_seeds"], quick=BUDGETS["quick"]["n_seeds"])
    base_keys = [f"default/seed{s}" for s in seed_list]
    base = values_by_seed(results, "default/seed{seed}", seed_list)
    by_seed = {"default": base}
    for v in cfg["variants"]:
        by_seed[v] = values_by_seed(results, v + "/seed{seed}", seed_list)
    acc = {v: list(d.values()) for v, d in by_seed.items()}
    lv = {k: v for k, v in results.get("loss_values", {}).items() if k.startswith("noise=")}
    lv0 = lv.get("noise=1", {})
    rows: list[dict[str, Any]] = []

    def loss_txt(section: str, m: str = "gca_uot") -> str:
        if section not in lv0 or m not in lv0[section]:
            return "n/a"
        p = lv0[section][m]
        return f"{m}: {p['ours']:.3f} → {p['reference']:.3f} ({100 * p['rel']:+.1f}%)"

    def add(choice: str, ref_key: str, loss: str, eff: dict[str, Any]) -> None:
        rows.append({"choice": choice, "reference does": REFERENCE_DOES[ref_key], "effect on loss": loss,
                     "effect on accuracy": eff.get("ours", "n/a"), "meaning": eff.get("meaning", "not run"),
                     **{k: eff[k] for k in ("mean", "low", "high", "n") if k in eff}})

    if "joint_max_cost" in acc and "joint" in acc:
        add("self-pairs: mask → max cost (joint)", "self_pairs", loss_txt("self_pairs"),
            effect(by_seed["joint_max_cost"], by_seed["joint"]))
    else:
        add("self-pairs: mask → max cost (joint)", "self_pairs", loss_txt("self_pairs"), {})
    add("cosine clamp: off → on", "clamp", loss_txt("clamp_similarity"),
        effect(by_seed["clamp"], base) if "clamp" in acc else {})
    add("layout: cross B×B → joint 2B×2B", "joint", loss_txt("layout"),
        effect(by_seed["joint"], base) if "joint" in acc else {})
    add("marginals: 1 per anchor → 1/n", "uniform", loss_txt("marginals"),
        effect(by_seed["uniform"], base) if "uniform" in acc else {})
    rl = lv0.get("rince_lam")
    rince_loss = "n/a" if not rl else (
        f"true RINCE {', '.join(f'{v:.3f}' for v in rl['true'])} vs reference "
        f"{', '.join(f'{v:.3f}' for v in rl['reference'])} at λ = {', '.join(f'{x:g}' for x in rl['lams'])}")
    add("RINCE: true → reference (CE)^q/q", "rince", rince_loss,
        effect(by_seed["rince"], by_seed["ince"]) if "rince" in acc and "ince" in acc else {})
    ref = {s: 100 * results[f"default/seed{s}"]["reference_eval"]["best_test_acc"] for s in seed_list
           if f"default/seed{s}" in results}
    add("evaluation: frozen probe → fine-tuned, test-selected", "probe", "n/a (evaluation protocol)", effect(ref, base))
    return {"rows": rows, "claims": _claims(lv0, ref, base), "accuracy": acc, "loss_values": lv,
            "reference_eval": {k: results[k]["reference_eval"] for k in base_keys if k in results}}


register(Experiment(
    name="implementation_choices",
    figure="Reference-implementation choices (docs/reference_implementation.md)",
    claim="Unstated implementation choices (self-pairs, clamping, layout, marginal scale, RINCE form, "
          "evaluation protocol) change loss values and reported accuracy.",
    notebook="11_implementation_choices.ipynb",
    plan=_plan,
    summarize=_summarize,
))
