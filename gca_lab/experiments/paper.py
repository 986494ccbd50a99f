"""The numbers of arXiv 2502.20141 (NeurIPS 2024), as printed on the authors' poster.

Only data lives here; the notebooks plot these next to ours. Linear-readout top-1 accuracy in %.
"""

from __future__ import annotations

from .. import methods as _methods

METHODS = ("byol", "iot", "iot_uni", "simclr", "ince", "rince", "gca_ince", "gca_rince", "gca_uot")
"""Bar order of the poster's result panels (method names of :mod:`gca_lab.methods`)."""

LABELS: dict[str, str] = {n: m.paper_label for n, m in _methods.METHODS.items() if m.paper_label is not None}
"""How the paper names each method, read off the registry (:attr:`gca_lab.methods.Method.paper_label`)."""

STANDARD = {  # poster panel "Results 1. Standard Setting"
    "CIFAR-10": {"byol": 90.56, "iot": 90.99, "iot_uni": 90.89, "simclr": 92.16, "ince": 92.01, "rince": 91.05,
                 "gca_ince": 92.36, "gca_rince": 92.09, "gca_uot": 92.61},
    "CIFAR-100": {"byol": 69.40, "iot": 58.75, "iot_uni": 59.05, "simclr": 73.79, "ince": 74.84, "rince": 77.05,
                  "gca_ince": 76.00, "gca_rince": 77.23, "gca_uot": 77.60},
    "ImageNet-100": {"byol": 69.75, "iot": 72.27, "iot_uni": 72.88, "simclr": 72.20, "ince": 73.01, "rince": 71.91,
                     "gca_ince": 73.04, "gca_rince": 73.44, "gca_uot": 74.09},
}

NOISY = {  # poster panel "Results 2. Noisy setting" (strong augmentations)
    "CIFAR-10": {"byol": 81.55, "iot": 80.59, "iot_uni": 80.79, "simclr": 81.87, "ince": 82.03, "rince": 82.60,
                 "gca_ince": 82.18, "gca_rince": 82.76, "gca_uot": 83.18},
    "CIFAR-100": {"byol": 54.18, "iot": 52.40, "iot_uni": 53.04, "simclr": 54.54, "ince": 54.70, "rince": 55.43,
                  "gca_ince": 54.91, "gca_rince": 55.90, "gca_uot": 56.30},
    "CIFAR-10C": {"byol": 69.75, "iot": 67.19, "iot_uni": 67.03, "simclr": 69.95, "ince": 70.07, "rince": 69.06,
                  "gca_ince": 70.11, "gca_rince": 69.72, "gca_uot": 71.45},
}

ITERATIONS = {  # poster: compactness and accuracy of GCA-INCE vs Sinkhorn iterations (read off the plot)
    "n_iters": [1, 3, 5, 7, 9, 11],
    "accuracy": [0.684, 0.686, 0.707, 0.707, 0.707, 0.702],
    "compactness": [153.8, 146.6, 140.8, 142.8, 149.2, 147.8],
}

EPSILON = {  # the same poster figure, vs eps
    "eps": [0.1, 0.2, 0.4, 0.6, 0.8, 1.0],
    "accuracy": [0.66, 0.79, 0.84, 0.82, 0.81, 0.79],
    "compactness": [269.7, 249.3, 245.0, 267.2, 269.3, 267.7],
}

TIME = {  # poster "Time complexity": average time (s) in epoch bins 0 / 20 / 40 (read off the plot, +-20 s)
    "bins": [0, 20, 40],
    "gca_rince": [285, 870, 1358], "rince": [283, 860, 1345], "gca_uot": [285, 870, 1358],
    "uot": [283, 857, 1340], "gca_ince": [343, 1030, 1608], "ince": [340, 1020, 1595],
}

DOMAIN_PRIOR = {  # arXiv 2502.20141, Sec. 6.2, Figure 1 (B) on PACS (read off the plot, +-0.005)
    "alpha_minus_beta": [-0.5, -0.2, -0.1, -0.05, -0.02, 0.0, 0.02, 0.05, 0.1, 0.2, 0.5],
    "domain_acc": [0.72, 0.78, 0.81, 0.84, 0.87, 0.865, 0.89, 0.88, 0.90, 0.925, 0.95],
    "class_acc": [0.894, 0.893, 0.898, 0.900, 0.893, 0.905, 0.904, 0.899, 0.898, 0.894, 0.890],
}


def gap(table: dict[str, dict[str, float]], a: str, b: str) -> dict[str, float]:
    """Per-dataset difference ``table[d][a] - table[d][b]`` in points."""
    return {d: round(row[a] - row[b], 2) for d, row in table.items()}
