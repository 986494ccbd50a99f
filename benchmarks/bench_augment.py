"""Two-view augmentation benchmark: gca_lab.augment (ours) vs kornia.augmentation, on CPU.

Usage::

    python benchmarks/bench_augment.py            # 256 x 1 x 28 x 28 and 512 x 3 x 32 x 32, 15 repeats
    python benchmarks/bench_augment.py --quick    # 5 repeats

Protocol:

* The same ops with the same parameters on both sides, the ``standard`` pipeline of
  :class:`gca_lab.augment.TwoViews` (its ``_pipeline``, what training calls per batch): RandomResizedCrop
  (scale 0.2-1, ratio 3/4-4/3, output = input size, bilinear) + horizontal flip (p 0.5; RGB only, as for
  CIFAR; digits-like gray images are not flipped) + ColorJitter (0.4, 0.4, 0.4, 0.1; gray: brightness and
  contrast only) with p 0.8 + RandomGrayscale p 0.2 (RGB only) + Gaussian blur (sigma 0.1-2 per sample,
  p 0.5, kernel 3 at 28 and 32 px, reflect padding).
  kornia: ``AugmentationSequential`` of ``RandomResizedCrop``, ``RandomHorizontalFlip``,
  ``ColorJitter``, ``RandomGrayscale``, ``RandomGaussianBlur`` with those arguments.
* Input: uniform [0, 1) float32 images on ``--device`` (ours draws its parameters from a CPU generator,
  as in training; CUDA timings synchronize after each call); ``torch.set_num_threads(1)`` (the tests'
  and most runs' setting on this shared CPU; ``--threads`` to change); one warm-up, median of repeats (min in brackets) with
  ``time.perf_counter``; ratio = ours / kornia (< 1: ours faster).
* Also checked (printed): whether kornia can be driven by an explicit ``torch.Generator`` (the training
  loop's resumable augmentation stream), by drawing twice after re-seeding only a private generator.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see benchmarks/README.md (Losses)

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import kornia  # noqa: E402
import kornia.augmentation as K  # noqa: E402

from gca_lab.augment import TwoViews  # noqa: E402

SHAPES = ((256, 1, 28, 28), (512, 3, 32, 32))


def ours(shape: tuple[int, ...]):
    c = shape[1]
    views = TwoViews(shape[1:], "standard", flip=c == 3)
    gen = torch.Generator().manual_seed(0)
    return lambda x: views._pipeline(x, gen)


def theirs(shape: tuple[int, ...]) -> torch.nn.Module:
    c, h, w = shape[1:]
    ops: list[torch.nn.Module] = [K.RandomResizedCrop((h, w), scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3))]
    if c == 3:
        ops.append(K.RandomHorizontalFlip(p=0.5))
        ops.append(K.ColorJitter(0.4, 0.4, 0.4, 0.1, p=0.8))
        ops.append(K.RandomGrayscale(p=0.2))
    else:
        ops.append(K.ColorJitter(0.4, 0.4, 0.0, 0.0, p=0.8))
    ops.append(K.RandomGaussianBlur((3, 3), (0.1, 2.0), p=0.5, border_type="reflect"))
    return K.AugmentationSequential(*ops)


def timeit(fn, x: torch.Tensor, repeats: int) -> tuple[float, float]:
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    with torch.no_grad():
        fn(x)  # warm-up
        sync()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn(x)
            sync()
            times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times), 1000 * min(times)


def kornia_takes_a_generator() -> str:
    aug = K.RandomResizedCrop((8, 8), scale=(0.2, 1.0))
    x = torch.rand(4, 1, 8, 8)
    torch.manual_seed(1)
    a = aug(x)
    torch.manual_seed(2)  # only the global RNG changes between the two calls
    b = aug(x)
    forward_params = [p for p in ("generator",) if p in aug.forward.__code__.co_varnames]
    same = torch.equal(a, b)
    return (f"kornia {kornia.__version__}: forward() has a generator argument: {bool(forward_params)}; "
            f"two calls differing only in the global seed give {'the same' if same else 'different'} crops "
            f"-> parameters come from the {'private' if same else 'global'} torch RNG")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (times include a synchronize)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    repeats = 5 if args.quick else 15
    print(f"torch {torch.__version__}, kornia {kornia.__version__}, {platform.processor() or platform.machine()}, "
          f"device {args.device}, threads {args.threads}, repeats {repeats}, load {os.getloadavg()[0]:.1f}")
    print(kornia_takes_a_generator())
    print("| batch | ours ms | kornia ms | ours/kornia |")
    print("|---|---|---|---|")
    for shape in SHAPES:
        x = torch.rand(shape, generator=torch.Generator().manual_seed(0)).to(args.device)
        o = timeit(ours(shape), x, repeats)
        k = timeit(theirs(shape), x, repeats)
        name = "x".join(map(str, shape))
        print(f"| {name} | {o[0]:.1f} [{o[1]:.1f}] | {k[0]:.1f} [{k[1]:.1f}] | {o[0] / k[0]:.2f} |")


if __name__ == "__main__":
    main()
