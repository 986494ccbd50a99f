"""Two-view augmentation on the device, batched, with per-sample randomness (plain torch).

Every op takes a batch ``(B, C, H, W)`` of images in ``[0, 1]`` and draws its random parameters
*per sample* from an explicit ``torch.Generator`` (keyword ``generator``), so a training run can save
the generator state in a checkpoint and resume with exactly the same views. The generator may live on
a different device than the data (a CPU generator driving CUDA data is the usual case): parameters are
drawn on the generator's device and then moved to the data's device. ``generator=None`` falls back to
the global RNG of the data's device (not reproducible across resumes).

Why not kornia.augmentation (measured, ``benchmarks/bench_augment.py``; docs/architecture.md,
"Augmentation: kornia or ours"): kornia 0.9 draws its parameters from the global torch RNG (no
``generator``), which would break the bit-exact resume; on this CPU it is 1.6-2.6x slower for the same
ops (256x1x28x28 and 512x3x32x32 batches); and its crop (rejection sampling) and jitter (shuffled
order) distributions differ from these, so switching would change every committed result.

Pipelines (the authors' code, docs/reference_implementation.md):

- ``standard``: the SimCLR / paper CIFAR pipeline, RandomResizedCrop(scale 0.2-1) + horizontal flip +
  ColorJitter(0.4, 0.4, 0.4, 0.1) with p = 0.8 + RandomGrayscale(0.2, RGB only) + Gaussian blur
  (sigma 0.1-2, p = 0.5, the ``TransformsSimCLR`` SVHN/ImageNet variant).
- ``light``: milder crop (0.6-1), flip, weaker jitter with p = 0.5, small pixel noise.
- ``none``: identity.

Strong augmentations of the "noisy setting" (arXiv 2502.20141: large erase, strong crop, brightness),
implemented as the paper *describes* them, not as the authors' code does: :func:`large_erase` really
erases a rectangle covering 10-33 % of the image (the code's pretraining "large_erase" erases nothing),
and :func:`brightness` adds a shift to an image already in ``[0, 1]`` (the code divides by 255 a second
time). Held-out corruptions (a CIFAR-10-C analogue, never used in
training) are in :data:`CORRUPTIONS`.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from . import datasets as _datasets
from ._image import gaussian_taps, luminance
from ._validate import check_choice, check_int, check_interval, check_nonnegative, check_positive, check_tensor

__all__ = [
    "random_resized_crop",
    "hflip",
    "color_jitter",
    "grayscale",
    "gaussian_noise",
    "gaussian_blur",
    "large_erase",
    "strong_crop",
    "brightness",
    "gaussian_noise_corruption",
    "speckle_noise",
    "snow",
    "apply_strong",
    "corrupt",
    "rgb_to_hsv",
    "hsv_to_rgb",
    "default_flip",
    "STRONG",
    "CORRUPTIONS",
    "KINDS",
    "TwoViews",
    "signal_crop",
    "signal_roll",
    "signal_scale",
    "signal_noise",
    "signal_trend",
    "signal_smooth_noise",
    "signal_mask",
    "signal_large_mask",
    "signal_strong_crop",
    "signal_offset",
    "STRONG_SIGNAL",
    "SignalViews",
]

Generator = torch.Generator

# --------------------------------------------------------------------------------------------------
# Random draws: on the generator's device, then moved to the data's device
# --------------------------------------------------------------------------------------------------


def _rand(shape: tuple[int, ...], generator: Generator | None, like: Tensor) -> Tensor:
    """U[0, 1) of ``shape`` in ``like``'s dtype and device, drawn from ``generator``."""
    if generator is None:
        return torch.rand(shape, device=like.device, dtype=like.dtype)
    r = torch.rand(shape, generator=generator, device=generator.device, dtype=like.dtype)
    return r.to(like.device, non_blocking=True)


def _randn(shape: tuple[int, ...], generator: Generator | None, like: Tensor) -> Tensor:
    if generator is None:
        return torch.randn(shape, device=like.device, dtype=like.dtype)
    r = torch.randn(shape, generator=generator, device=generator.device, dtype=like.dtype)
    return r.to(like.device, non_blocking=True)


def _uniform(shape: tuple[int, ...], low: float, high: float, generator: Generator | None, like: Tensor) -> Tensor:
    return low + (high - low) * _rand(shape, generator, like)


def _coin(b: int, p: float, generator: Generator | None, like: Tensor) -> Tensor:
    """(B,) bool, True with probability ``p``; always drawn so the RNG stream does not depend on p."""
    return _rand((b,), generator, like) < p


# --------------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------------


def _check_images(name: str, x: Tensor) -> Tensor:
    check_tensor(name, x, ndim=4)
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating tensor with values in [0, 1], got dtype {x.dtype}")
    return x


def _check_generator(generator: object) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")


def _check_prob(name: str, p: float) -> float:
    return check_interval(name, p, 0.0, 1.0)


def _check_range(name: str, value: object, low: float, high: float, *, low_open: bool = False) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a (min, max) pair, got {value!r}")
    a = check_interval(f"{name}[0]", value[0], low, high, low_open=low_open)
    b = check_interval(f"{name}[1]", value[1], low, high, low_open=low_open)
    if a > b:
        raise ValueError(f"{name} must satisfy min <= max, got {tuple(value)!r}")
    return a, b


def _check_severity(severity: int) -> int:
    return check_int("severity", severity, minimum=1, maximum=5)


# --------------------------------------------------------------------------------------------------
# Colour helpers
# --------------------------------------------------------------------------------------------------


def rgb_to_hsv(x: Tensor) -> Tensor:
    """RGB ``(B, 3, H, W)`` in ``[0, 1]`` -> HSV ``(B, 3, H, W)``, every channel in ``[0, 1]``.

    ``H`` is the hue as a fraction of a turn, ``S = (max - min) / max``, ``V = max`` (0 where undefined).
    """
    _check_images("x", x)
    if x.shape[1] != 3:
        raise ValueError(f"x must have 3 channels (RGB), got shape {tuple(x.shape)}")
    r, g, b = x.unbind(1)
    maxc = x.amax(1)
    minc = x.amin(1)
    delta = maxc - minc
    v = maxc
    s = torch.where(maxc > 0, delta / maxc.clamp_min(1e-12), torch.zeros_like(maxc))
    dc = delta.clamp_min(1e-12)
    rc, gc, bc = (maxc - r) / dc, (maxc - g) / dc, (maxc - b) / dc
    h = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = torch.where(delta > 0, torch.remainder(h / 6.0, 1.0), torch.zeros_like(h))
    return torch.stack([h, s, v], 1)


def hsv_to_rgb(x: Tensor) -> Tensor:
    """HSV ``(B, 3, H, W)`` (all in ``[0, 1]``) -> RGB, inverse of :func:`rgb_to_hsv`.

    Uses the closed form ``c_n = V - V S max(0, min(k, 4 - k, 1))`` with ``k = (n + 6H) mod 6`` and
    ``n = 5, 3, 1`` for R, G, B, which needs no per-sector branching.
    """
    _check_images("x", x)
    if x.shape[1] != 3:
        raise ValueError(f"x must have 3 channels (HSV), got shape {tuple(x.shape)}")
    h, s, v = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    n = torch.tensor([5.0, 3.0, 1.0], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    k = torch.remainder(n + 6.0 * h, 6.0)
    return v - v * s * torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0)


# --------------------------------------------------------------------------------------------------
# Primitive ops
# --------------------------------------------------------------------------------------------------


def _crop_flip_grid(
    x: Tensor,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    flip_p: float,
    generator: Generator | None,
) -> Tensor:
    """One grid_sample for RandomResizedCrop + horizontal flip (a flip is a negative x-scale)."""
    b, _, h, w = x.shape
    u = _rand((b, 4), generator, x)  # (B, 4): area, log-ratio, x-centre, y-centre
    flip = _coin(b, flip_p, generator, x)
    area = scale[0] + (scale[1] - scale[0]) * u[:, 0]
    logr = math.log(ratio[0]) + (math.log(ratio[1]) - math.log(ratio[0])) * u[:, 1]
    r = torch.exp(logr) * (h / w)  # aspect ratio is in pixels; convert to normalised units
    # Half-extents in normalised [-1, 1] coordinates; clamping to the image is torchvision's
    # fallback when its rejection sampling fails, done for every sample at once here.
    sw = torch.sqrt(area * r).clamp(max=1.0)
    sh = torch.sqrt(area / r).clamp(max=1.0)
    cx = (2.0 * u[:, 2] - 1.0) * (1.0 - sw)
    cy = (2.0 * u[:, 3] - 1.0) * (1.0 - sh)
    sx = torch.where(flip, -sw, sw)
    zero = torch.zeros_like(sw)
    theta = torch.stack([torch.stack([sx, zero, cx], 1), torch.stack([zero, sh, cy], 1)], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta, [b, 1, h, w], align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.clamp_(0.0, 1.0)  # convex combinations of [0, 1] pixels, up to float round-off


def random_resized_crop(
    x: Tensor,
    scale: tuple[float, float] = (0.2, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    *,
    generator: Generator | None = None,
) -> Tensor:
    """RandomResizedCrop with per-sample parameters, output size = input size (bilinear).

    Each sample draws an area fraction ``s ~ U(scale)`` and an aspect ratio ``r`` log-uniform in
    ``ratio``; the crop is ``sqrt(s r) W`` wide and ``sqrt(s / r) H`` tall (clamped to the image),
    at a uniform position, resampled to ``H x W`` with ``affine_grid`` / ``grid_sample``.

    Args:
        x: ``(B, C, H, W)`` images in ``[0, 1]``.
        scale: area-fraction range, in ``(0, 1]``. Default ``(0.2, 1.0)`` (SimCLR's, as in the authors' code).
        ratio: aspect-ratio range (width / height), positive. Default ``(3/4, 4/3)``.
        generator: random source (may be on another device than ``x``).

    Returns:
        ``(B, C, H, W)`` tensor on ``x``'s device.
    """
    _check_images("x", x)
    _check_generator(generator)
    scale = _check_range("scale", scale, 0.0, 1.0, low_open=True)
    ratio = _check_range("ratio", ratio, 0.0, math.inf, low_open=True)
    return _crop_flip_grid(x, scale, ratio, 0.0, generator)


def hflip(x: Tensor, p: float = 0.5, *, generator: Generator | None = None) -> Tensor:
    """Flip each sample left-right with probability ``p``. ``x``: ``(B, C, H, W)`` -> same shape."""
    _check_images("x", x)
    _check_generator(generator)
    p = _check_prob("p", p)
    mask = _coin(x.shape[0], p, generator, x).view(-1, 1, 1, 1)
    return torch.where(mask, x.flip(-1), x)


def _blend(a: Tensor, b: Tensor, f: Tensor) -> Tensor:
    """``f a + (1 - f) b`` clipped to [0, 1] (torchvision's _blend)."""
    return (f * a + (1.0 - f) * b).clamp_(0.0, 1.0)


def color_jitter(
    x: Tensor,
    brightness: float = 0.4,
    contrast: float = 0.4,
    saturation: float = 0.4,
    hue: float = 0.1,
    p: float = 0.8,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """ColorJitter with per-sample factors, applied to each sample with probability ``p``.

    In a fixed order (torchvision shuffles it per call): brightness ``x f_b``, contrast
    ``f_c x + (1 - f_c) mean(gray(x))``, saturation ``f_s x + (1 - f_s) gray(x)``, hue shift
    ``h + d`` in HSV; ``f ~ U[1 - a, 1 + a]``, ``d ~ U[-hue, hue]``, each step clipped to ``[0, 1]``.
    Saturation and hue are skipped for single-channel images.

    Args:
        x: ``(B, C, H, W)`` in ``[0, 1]``, ``C`` in {1, 3}.
        brightness, contrast, saturation: jitter strengths, ``>= 0``. Defaults 0.4 (the authors' CIFAR pipeline).
        hue: hue jitter in turns, in ``[0, 0.5]``. Default 0.1.
        p: probability of jittering a sample. Default 0.8.
        generator: random source.

    Returns:
        ``(B, C, H, W)`` tensor in ``[0, 1]``.
    """
    _check_images("x", x)
    _check_generator(generator)
    brightness = check_nonnegative("brightness", brightness)
    contrast = check_nonnegative("contrast", contrast)
    saturation = check_nonnegative("saturation", saturation)
    hue = check_interval("hue", hue, 0.0, 0.5)
    p = _check_prob("p", p)
    b, c = x.shape[:2]
    if c not in (1, 3):
        raise ValueError(f"x must have 1 or 3 channels, got shape {tuple(x.shape)}")
    u = _rand((b, 4), generator, x).view(b, 4, 1, 1, 1)
    apply = _coin(b, p, generator, x).view(b, 1, 1, 1)
    out = x
    if brightness > 0:
        out = (out * (1.0 - brightness + 2.0 * brightness * u[:, 0])).clamp(0.0, 1.0)
    if contrast > 0:
        mean = luminance(out).mean(dim=(1, 2, 3), keepdim=True)
        out = _blend(out, mean, 1.0 - contrast + 2.0 * contrast * u[:, 1])
    if c == 3 and saturation > 0:
        out = _blend(out, luminance(out), 1.0 - saturation + 2.0 * saturation * u[:, 2])
    if c == 3 and hue > 0:
        hsv = rgb_to_hsv(out)
        shift = (2.0 * u[:, 3] - 1.0) * hue  # (B, 1, 1, 1)
        h = torch.remainder(hsv[:, 0:1] + shift, 1.0)
        out = hsv_to_rgb(torch.cat([h, hsv[:, 1:]], 1)).clamp(0.0, 1.0)
    return torch.where(apply, out, x)


def grayscale(x: Tensor, p: float = 0.2, *, generator: Generator | None = None) -> Tensor:
    """Replace each RGB sample by its luma (replicated to 3 channels) with probability ``p``.

    ``x``: ``(B, 3, H, W)``; single-channel input raises ``ValueError`` (it is already gray).
    """
    _check_images("x", x)
    _check_generator(generator)
    p = _check_prob("p", p)
    if x.shape[1] != 3:
        raise ValueError(f"x must have 3 channels for grayscale, got shape {tuple(x.shape)}")
    mask = _coin(x.shape[0], p, generator, x).view(-1, 1, 1, 1)
    return torch.where(mask, luminance(x).expand_as(x), x)


def gaussian_noise(x: Tensor, std: float = 0.05, *, generator: Generator | None = None) -> Tensor:
    """``clip(x + std * N(0, 1), 0, 1)``, independent noise per pixel. ``std >= 0``; shape kept."""
    _check_images("x", x)
    _check_generator(generator)
    std = check_nonnegative("std", std)
    if std == 0:
        return x
    return (x + std * _randn(tuple(x.shape), generator, x)).clamp_(0.0, 1.0)


def _default_kernel_size(h: int, w: int) -> int:
    # SimCLR / TransformsSimCLR use about 10 % of the image side, odd, here at least 3.
    k = max(3, int(0.1 * min(h, w)))
    return k if k % 2 == 1 else k + 1


def _blur_per_sample(x: Tensor, sigma: Tensor, kernel_size: int) -> Tensor:
    """Separable Gaussian blur with one sigma per sample: grouped conv over (1, B*C, H, W)."""
    b, c, h, w = x.shape
    r = kernel_size // 2
    k = gaussian_taps(r, sigma.to(x.dtype)).repeat_interleave(c, 0)  # (B*C, K)
    y = x.reshape(1, b * c, h, w)
    mode = "reflect" if r < min(h, w) else "replicate"
    y = F.conv2d(F.pad(y, (r, r, 0, 0), mode=mode), k.view(b * c, 1, 1, -1), groups=b * c)
    y = F.conv2d(F.pad(y, (0, 0, r, r), mode=mode), k.view(b * c, 1, -1, 1), groups=b * c)
    return y.view(b, c, h, w).clamp_(0.0, 1.0)  # float round-off can overshoot 1 by an ulp


def gaussian_blur(
    x: Tensor,
    sigma: tuple[float, float] = (0.1, 2.0),
    p: float = 0.5,
    *,
    kernel_size: int | None = None,
    generator: Generator | None = None,
) -> Tensor:
    """Gaussian blur with ``sigma ~ U(sigma)`` per sample, applied with probability ``p``.

    Args:
        x: ``(B, C, H, W)`` in ``[0, 1]``.
        sigma: range of the blur width in pixels, positive. Default ``(0.1, 2.0)`` (SimCLR's ``TransformsSimCLR``).
        p: probability of blurring a sample. Default 0.5.
        kernel_size: odd kernel size; default about 10 % of the image side, at least 3.
        generator: random source.

    Returns:
        ``(B, C, H, W)`` tensor in ``[0, 1]``; reflect padding.
    """
    _check_images("x", x)
    _check_generator(generator)
    sigma = _check_range("sigma", sigma, 0.0, math.inf, low_open=True)
    p = _check_prob("p", p)
    if kernel_size is None:
        kernel_size = _default_kernel_size(x.shape[-2], x.shape[-1])
    kernel_size = check_int("kernel_size", kernel_size, minimum=1)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd, got {kernel_size}")
    s = _uniform((x.shape[0],), sigma[0], sigma[1], generator, x)
    mask = _coin(x.shape[0], p, generator, x).view(-1, 1, 1, 1)
    return torch.where(mask, _blur_per_sample(x, s, kernel_size), x)


# --------------------------------------------------------------------------------------------------
# Strong augmentations (the noisy setting of arXiv 2502.20141)
# --------------------------------------------------------------------------------------------------


def large_erase(
    x: Tensor,
    scale: tuple[float, float] = (0.10, 0.33),
    ratio: tuple[float, float] = (0.3, 3.3),
    value: float = 0.0,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """Random erasing of one rectangle per sample, always applied (RandomErasing with p = 1).

    Each sample draws an area fraction ``s ~ U(scale)`` and an aspect ratio ``r`` log-uniform in
    ``ratio`` (narrowed per sample so the rectangle fits, which keeps the area exact instead of
    skipping the sample as torchvision does after 10 failed tries). Height ``h = round(sqrt(s r H W))``,
    width ``w = round(s H W / h)``, so the erased fraction is ``s`` up to integer rounding
    (``|h w / (H W) - s| <= h / (2 H W)``). The rectangle is placed uniformly and filled with ``value``.
    The authors' pretraining "large_erase" erases nothing (docs/reference_implementation.md, item 22); this one does.

    Args:
        x: ``(B, C, H, W)`` in ``[0, 1]``.
        scale: erased area-fraction range, in ``(0, 1]``. Default ``(0.10, 0.33)`` (the authors'
            linear-eval RandomErasing).
        ratio: aspect-ratio range (height / width). Default ``(0.3, 3.3)`` (torchvision's).
        value: fill value in ``[0, 1]``. Default 0 (black, as in the NeurIPS 2024 poster's
            augmentation examples).
        generator: random source.

    Returns:
        ``(B, C, H, W)`` tensor.
    """
    _check_images("x", x)
    _check_generator(generator)
    scale = _check_range("scale", scale, 0.0, 1.0, low_open=True)
    ratio = _check_range("ratio", ratio, 0.0, math.inf, low_open=True)
    value = check_interval("value", value, 0.0, 1.0)
    b, _, h, w = x.shape
    u = _rand((b, 4), generator, x).to(torch.float32)  # area, ratio, top, left (float32 for exact ints)
    area = (scale[0] + (scale[1] - scale[0]) * u[:, 0]) * (h * w)  # (B,) in pixels
    r = torch.exp(math.log(ratio[0]) + (math.log(ratio[1]) - math.log(ratio[0])) * u[:, 1])
    # Narrow r so that h <= H and w <= W: r <= H^2 / area and r >= area / W^2.
    r = torch.minimum(torch.maximum(r, area / (w * w)), (h * h) / area)
    eh = torch.round(torch.sqrt(area * r)).clamp(1, h)
    ew = torch.round(area / eh).clamp(1, w)
    top = torch.floor(u[:, 2] * (h - eh + 1)).clamp(max=h - eh)
    left = torch.floor(u[:, 3] * (w - ew + 1)).clamp(max=w - ew)
    rows = torch.arange(h, device=x.device, dtype=torch.float32).view(1, h)
    cols = torch.arange(w, device=x.device, dtype=torch.float32).view(1, w)
    rmask = (rows >= top.view(-1, 1)) & (rows < (top + eh).view(-1, 1))  # (B, H)
    cmask = (cols >= left.view(-1, 1)) & (cols < (left + ew).view(-1, 1))  # (B, W)
    mask = (rmask.unsqueeze(2) & cmask.unsqueeze(1)).unsqueeze(1)  # (B, 1, H, W)
    return x.masked_fill(mask, value)


def strong_crop(
    x: Tensor,
    crop_fraction: float = 13 / 32,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """A small random crop upscaled back to ``H x W`` (bilinear): the paper's "Strong crop".

    The crop is ``round(crop_fraction H) x round(crop_fraction W)`` pixels at a uniform integer
    position per sample (13 x 13 of a 32 x 32 image by default, as the authors' ``StrongCrop(severity=5)``
    does), then ``F.interpolate(..., mode="bilinear", align_corners=False)``, i.e. exactly torchvision's
    ``Resize`` of the crop.

    Args:
        x: ``(B, C, H, W)`` in ``[0, 1]``.
        crop_fraction: crop side as a fraction of the image side, in ``(0, 1]``. Default 13/32.
        generator: random source.

    Returns:
        ``(B, C, H, W)`` tensor.
    """
    _check_images("x", x)
    _check_generator(generator)
    crop_fraction = check_interval("crop_fraction", crop_fraction, 0.0, 1.0, low_open=True)
    b, c, h, w = x.shape
    ch = max(1, round(crop_fraction * h))
    cw = max(1, round(crop_fraction * w))
    u = _rand((b, 2), generator, x).to(torch.float32)
    top = torch.floor(u[:, 0] * (h - ch + 1)).clamp(max=h - ch).long()  # (B,)
    left = torch.floor(u[:, 1] * (w - cw + 1)).clamp(max=w - cw).long()
    # Every crop has the same size, so one gather then one batched interpolate does all samples.
    rows = top.view(b, 1) + torch.arange(ch, device=x.device).view(1, ch)  # (B, ch)
    cols = left.view(b, 1) + torch.arange(cw, device=x.device).view(1, cw)  # (B, cw)
    bidx = torch.arange(b, device=x.device).view(b, 1, 1)
    crops = x.permute(0, 2, 3, 1)[bidx, rows.view(b, ch, 1), cols.view(b, 1, cw)]  # (B, ch, cw, C)
    crops = crops.permute(0, 3, 1, 2)  # (B, C, ch, cw)
    return F.interpolate(crops, size=(h, w), mode="bilinear", align_corners=False).clamp_(0.0, 1.0)


def brightness(
    x: Tensor,
    shift: float = 0.3,
    *,
    mode: str = "add",
    generator: Generator | None = None,
) -> Tensor:
    """Brightness shift of images already in ``[0, 1]``: the paper's "Brightness" done right.

    - ``mode="add"`` (default): ``clip(x + shift, 0, 1)`` on every channel, so an image that does not
      clip has its mean moved by exactly ``shift``.
    - ``mode="hsv"``: the CIFAR-10-C recipe, ``V <- clip(V + shift, 0, 1)`` in HSV, hue and saturation
      kept (equal to ``add`` for single-channel images).

    The reference code divided an already-scaled image by 255 again, wiping out all luminance
    structure (docs/reference_implementation.md, item 23); ``shift`` here is in the same ``[0, 1]`` units as ``x``.
    Deterministic; ``generator`` is accepted (and unused) so every strong op has the same signature.

    Args:
        x: ``(B, C, H, W)`` in ``[0, 1]``.
        shift: brightness offset, in ``[-1, 1]``. Default 0.3 (``Brightness(severity=5)``).
        mode: ``"add"`` or ``"hsv"``.

    Returns:
        ``(B, C, H, W)`` tensor in ``[0, 1]``.
    """
    _check_images("x", x)
    _check_generator(generator)
    shift = check_interval("shift", shift, -1.0, 1.0)
    check_choice("mode", mode, ("add", "hsv"))
    if mode == "add" or x.shape[1] != 3:
        return (x + shift).clamp(0.0, 1.0)
    hsv = rgb_to_hsv(x)
    hsv = torch.cat([hsv[:, :2], (hsv[:, 2:] + shift).clamp(0.0, 1.0)], 1)
    return hsv_to_rgb(hsv).clamp(0.0, 1.0)


StrongFn = Callable[..., Tensor]

STRONG: dict[str, StrongFn] = {
    "large_erase": large_erase,
    "strong_crop": strong_crop,
    "brightness": brightness,
}
"""The paper's strong augmentations (arXiv 2502.20141, noisy setting): ``fn(x, *, generator) -> x``, paper
defaults."""


def apply_strong(x: Tensor, name: str, *, generator: Generator | None = None) -> Tensor:
    """Apply the strong augmentation ``name`` (a key of :data:`STRONG`) with its paper defaults.

    Used in pretraining (inside :class:`TwoViews`) and, as in the paper's protocol, on the linear-probe
    train *and* test images (the authors' code does both). ``x``: ``(B, C, H, W)`` in ``[0, 1]``, or signals
    ``(B, C, L)`` (then the op of the same name in :data:`STRONG_SIGNAL`).
    """
    check_choice("name", name, tuple(STRONG))
    if isinstance(x, Tensor) and x.ndim == 3:  # signals (B, C, L): the 1-D analogue of the same name
        return STRONG_SIGNAL[name](x, generator=generator)
    return STRONG[name](x, generator=generator)


# --------------------------------------------------------------------------------------------------
# Held-out corruptions (CIFAR-10-C analogue; never used in training)
# --------------------------------------------------------------------------------------------------

_GAUSS_C = (0.04, 0.06, 0.08, 0.09, 0.10)  # CIFAR-10-C gaussian_noise std per severity
_SPECKLE_C = (0.06, 0.10, 0.12, 0.16, 0.20)  # CIFAR-10-C speckle_noise std per severity
# CIFAR-10-C snow (32 x 32): loc, scale, zoom, threshold, blur radius, blur sigma, blend.
_SNOW_C = (
    (0.10, 0.20, 1.00, 0.60, 8, 3, 0.95),
    (0.10, 0.20, 1.00, 0.50, 10, 4, 0.90),
    (0.15, 0.30, 1.75, 0.55, 10, 4, 0.90),
    (0.25, 0.30, 2.25, 0.60, 12, 6, 0.85),
    (0.30, 0.30, 1.25, 0.65, 14, 12, 0.80),
)


def gaussian_noise_corruption(x: Tensor, severity: int = 3, *, generator: Generator | None = None) -> Tensor:
    """CIFAR-10-C Gaussian noise: ``clip(x + N(0, c^2))``, ``c = 0.04, 0.06, 0.08, 0.09, 0.10`` for severity 1-5."""
    _check_images("x", x)
    severity = _check_severity(severity)
    return gaussian_noise(x, _GAUSS_C[severity - 1], generator=generator)


def speckle_noise(x: Tensor, severity: int = 3, *, generator: Generator | None = None) -> Tensor:
    """CIFAR-10-C speckle noise: ``clip(x + x N(0, c^2))``, ``c = 0.06 ... 0.20`` for severity 1-5."""
    _check_images("x", x)
    _check_generator(generator)
    severity = _check_severity(severity)
    return (x + x * _SPECKLE_C[severity - 1] * _randn(tuple(x.shape), generator, x)).clamp_(0.0, 1.0)


def snow(x: Tensor, severity: int = 3, *, generator: Generator | None = None) -> Tensor:
    """A snow corruption after CIFAR-10-C's recipe, in torch (an analogue, not bit-exact).

    Per sample: a Gaussian field ``N(loc, scale^2)`` at resolution ``H / zoom`` is upsampled to the
    image, thresholded into flakes, and motion-blurred along a random angle in ``[-135, -45]`` degrees
    (a one-sided line kernel with Gaussian weights; radius scaled by ``H / 32``). The image is lightened
    towards ``max(x, 1.5 gray + 0.5)`` with weight ``1 - blend`` and the flakes (and their 180-degree
    rotation) are added; the result is clipped to ``[0, 1]``. The paper's CIFAR-10C numbers use the
    snow files only (the authors' evaluation code loads only ``snow*``).

    Args:
        x: ``(B, C, H, W)`` in ``[0, 1]``.
        severity: 1..5 (CIFAR-10-C parameters).
        generator: random source.

    Returns:
        ``(B, C, H, W)`` tensor in ``[0, 1]``.
    """
    _check_images("x", x)
    _check_generator(generator)
    severity = _check_severity(severity)
    loc, scl, zoom, thr, radius, sigma, blend = _SNOW_C[severity - 1]
    b, c, h, w = x.shape
    lh, lw = max(1, math.ceil(h / zoom)), max(1, math.ceil(w / zoom))
    layer = loc + scl * _randn((b, 1, lh, lw), generator, x)
    layer = F.interpolate(layer, size=(h, w), mode="bilinear", align_corners=False)
    layer = torch.where(layer < thr, torch.zeros_like(layer), layer)
    # Motion blur: weighted sum of copies shifted along the per-sample direction (grid_sample shifts).
    steps = max(1, round(radius * h / 32))
    angle = torch.deg2rad(_uniform((b,), -135.0, -45.0, generator, x))
    dx, dy = torch.cos(angle) * 2.0 / w, torch.sin(angle) * 2.0 / h  # one pixel in normalised units
    eye = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=x.dtype, device=x.device).expand(b, 2, 3)
    blurred = torch.zeros_like(layer)
    total = 0.0
    s_pix = sigma * h / 32
    for k in range(steps + 1):
        wk = math.exp(-0.5 * (k / s_pix) ** 2)
        theta = eye.clone()
        theta[:, 0, 2] = k * dx
        theta[:, 1, 2] = k * dy
        grid = F.affine_grid(theta, [b, 1, h, w], align_corners=False)
        blurred = blurred + wk * F.grid_sample(layer, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        total += wk
    flakes = blurred / total  # (B, 1, H, W)
    gray = luminance(x)
    lightened = blend * x + (1.0 - blend) * torch.maximum(x, gray * 1.5 + 0.5)
    return (lightened + flakes + flakes.flip(-1, -2)).clamp_(0.0, 1.0)


CORRUPTIONS: dict[str, Callable[..., Tensor]] = {
    "gaussian_noise": gaussian_noise_corruption,
    "speckle_noise": speckle_noise,
    "snow": snow,
}
"""Held-out test-time corruptions: ``fn(x, severity in 1..5, *, generator) -> x``."""


def corrupt(x: Tensor, name: str, severity: int = 3, *, generator: Generator | None = None) -> Tensor:
    """Apply the held-out corruption ``name`` (a key of :data:`CORRUPTIONS`) at ``severity`` 1..5."""
    check_choice("name", name, tuple(CORRUPTIONS))
    return CORRUPTIONS[name](x, severity, generator=generator)


# --------------------------------------------------------------------------------------------------
# Two views
# --------------------------------------------------------------------------------------------------

KINDS = ("standard", "light", "none")


def _describe(views: object) -> dict[str, object]:
    return {"class": type(views).__name__, **{k: v for k, v in sorted(vars(views).items()) if k != "image_shape"}}


def default_flip(dataset: str) -> bool:
    """Whether horizontal flips suit ``dataset`` (any name of :func:`gca_lab.datasets.parse`): the registry's
    ``flip``, off for digits (a flipped digit is another glyph), on for natural images and clothes (cifar,
    svhn, fashion_mnist)."""
    return _datasets.info(dataset).flip


class TwoViews:
    """Two independently augmented views of each sample, on the input's device.

    ``views(x, generator) -> (x1, x2)``. Both views are produced in one batched pass over
    ``cat([x, x])``, every op with per-sample parameters; then the strong augmentation (if any) is
    applied to each view. For vector data ``(N, D)`` each view is ``x + noise * N(0, I)`` (optionally
    renormalised to the unit sphere).

    Image pipeline by ``kind`` (defaults; each overridable by keyword):

    ============  ============  =====================  =====  ==========  =========
    kind          crop_scale    jitter (b, c, s, h)    p_jit  gray_p      blur_p
    ============  ============  =====================  =====  ==========  =========
    ``standard``  (0.2, 1.0)    (0.4, 0.4, 0.4, 0.1)   0.8    0.2 (RGB)   0.5
    ``light``     (0.6, 1.0)    (0.2, 0.2, 0.2, 0.05)  0.5    0.0         0.0
    ``none``      no augmentation
    ============  ============  =====================  =====  ==========  =========

    ``light`` also adds pixel noise ``noise_std = 0.02``; ``standard`` adds none (``noise_std = 0``).

    Args:
        image_shape: ``(C, H, W)`` for images or ``(D,)`` for vectors (``Dataset.image_shape``).
        kind: ``"standard"``, ``"light"`` or ``"none"``. Default ``"standard"``.
        strong: ``None`` or a key of :data:`STRONG` (images only), applied after the pipeline.
        flip: horizontal flips (p = 0.5). Default True; use ``default_flip(name)`` (False for digits)
            or :meth:`for_dataset`.
        crop_scale, jitter, jitter_p, gray_p, blur_p, blur_sigma, noise_std: override the table.
        vector_noise: noise std for vector data. Default 0.1 (``light``: 0.05; ``none``: 0).
        renormalize: project vector views back onto the unit sphere. Default False.
    """

    def __init__(
        self,
        image_shape: tuple[int, ...],
        kind: str = "standard",
        strong: str | None = None,
        *,
        flip: bool = True,
        crop_scale: tuple[float, float] | None = None,
        jitter: tuple[float, float, float, float] | None = None,
        jitter_p: float | None = None,
        gray_p: float | None = None,
        blur_p: float | None = None,
        blur_sigma: tuple[float, float] = (0.1, 2.0),
        noise_std: float | None = None,
        vector_noise: float | None = None,
        renormalize: bool = False,
    ) -> None:
        if not isinstance(image_shape, (tuple, list, torch.Size)) or len(image_shape) not in (1, 3):
            raise ValueError(f"image_shape must be (C, H, W) or (D,), got {image_shape!r}")
        self.image_shape = tuple(check_int(f"image_shape[{i}]", int(s), minimum=1) for i, s in enumerate(image_shape))
        self.kind = check_choice("kind", kind, KINDS)
        if strong is not None:
            check_choice("strong", strong, tuple(STRONG))
            if len(self.image_shape) != 3:
                raise ValueError(f"strong={strong!r} needs image data (C, H, W), got image_shape={self.image_shape}")
        self.strong = strong
        if not isinstance(flip, bool):
            raise TypeError(f"flip must be a bool, got {flip!r}")
        if not isinstance(renormalize, bool):
            raise TypeError(f"renormalize must be a bool, got {renormalize!r}")
        self.is_image = len(self.image_shape) == 3
        if self.is_image and self.image_shape[0] not in (1, 3):
            raise ValueError(f"image_shape must have 1 or 3 channels, got {self.image_shape}")

        std = kind == "standard"
        light = kind == "light"
        self.flip = flip and kind != "none"
        self.crop_scale = _check_range(
            "crop_scale", crop_scale if crop_scale is not None else ((0.2, 1.0) if std else (0.6, 1.0)),
            0.0, 1.0, low_open=True,
        )
        jit = jitter if jitter is not None else ((0.4, 0.4, 0.4, 0.1) if std else (0.2, 0.2, 0.2, 0.05))
        if not isinstance(jit, (tuple, list)) or len(jit) != 4:
            raise TypeError(f"jitter must be (brightness, contrast, saturation, hue), got {jitter!r}")
        self.jitter = tuple(check_nonnegative(f"jitter[{i}]", v) for i, v in enumerate(jit))
        check_interval("jitter[3]", self.jitter[3], 0.0, 0.5)
        self.jitter_p = _check_prob("jitter_p", jitter_p if jitter_p is not None else (0.8 if std else 0.5 if light else 0.0))
        self.gray_p = _check_prob("gray_p", gray_p if gray_p is not None else (0.2 if std else 0.0))
        self.blur_p = _check_prob("blur_p", blur_p if blur_p is not None else (0.5 if std else 0.0))
        self.blur_sigma = _check_range("blur_sigma", blur_sigma, 0.0, math.inf, low_open=True)
        self.noise_std = check_nonnegative("noise_std", noise_std if noise_std is not None else (0.02 if light else 0.0))
        vn = vector_noise if vector_noise is not None else (0.1 if std else 0.05 if light else 0.0)
        self.vector_noise = check_nonnegative("vector_noise", vn)
        self.renormalize = renormalize

    @classmethod
    def for_dataset(cls, dataset: "object", kind: str = "standard", strong: str | None = None, **overrides: object) -> "TwoViews":
        """Views for a :class:`gca_lab.data.Dataset`: its ``image_shape`` and ``default_flip(name)``;
        a :class:`SignalViews` for signal data ``(C, L)`` (MNIST-1D)."""
        name = getattr(dataset, "name", None)
        shape = getattr(dataset, "image_shape", None)
        if not isinstance(name, str) or shape is None:
            raise TypeError(f"dataset must be a gca_lab.data.Dataset, got {type(dataset).__name__}")
        return cls.for_input(name, shape, kind, strong, **overrides)

    @classmethod
    def for_input(cls, name: str, shape: tuple[int, ...], kind: str = "standard", strong: str | None = None,
                  **overrides: object) -> "TwoViews":
        """Views for samples of ``shape`` from the dataset called ``name`` (:meth:`for_dataset` without
        the data): :class:`SignalViews` for signals ``(C, L)``, else ``TwoViews`` with
        ``flip = default_flip(name)`` unless overridden."""
        if len(shape) == 2:  # signals (C, L), e.g. MNIST-1D
            return SignalViews(shape, kind, strong, **overrides)  # type: ignore[return-value, arg-type]
        overrides.setdefault("flip", default_flip(name))
        return cls(shape, kind, strong, **overrides)  # type: ignore[arg-type]

    def describe(self) -> dict[str, object]:
        """Every parameter of the pipeline (what :func:`gca_lab.train.protocol` records of the views)."""
        return _describe(self)

    def __repr__(self) -> str:
        return f"TwoViews(image_shape={self.image_shape}, kind={self.kind!r}, strong={self.strong!r}, flip={self.flip})"

    def _pipeline(self, x: Tensor, generator: Generator | None) -> Tensor:
        if self.kind == "none":
            return x
        ratio = (3 / 4, 4 / 3)
        x = _crop_flip_grid(x, self.crop_scale, ratio, 0.5 if self.flip else 0.0, generator)
        if self.jitter_p > 0 and any(v > 0 for v in self.jitter):
            x = color_jitter(x, *self.jitter, p=self.jitter_p, generator=generator)
        if self.gray_p > 0 and x.shape[1] == 3:
            x = grayscale(x, self.gray_p, generator=generator)
        if self.blur_p > 0:
            x = gaussian_blur(x, self.blur_sigma, self.blur_p, generator=generator)
        if self.noise_std > 0:
            x = gaussian_noise(x, self.noise_std, generator=generator)
        return x

    def __call__(self, x: Tensor, generator: Generator | None = None) -> tuple[Tensor, Tensor]:
        """Two views of ``x``.

        Args:
            x: ``(B, *image_shape)``; images in ``[0, 1]``.
            generator: random source (may be a CPU generator for CUDA data).

        Returns:
            ``(x1, x2)``, each of ``x``'s shape, dtype and device.
        """
        check_tensor("x", x)
        _check_generator(generator)
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"x must have shape (B, {', '.join(map(str, self.image_shape))}), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"x must be a floating tensor, got dtype {x.dtype}")
        b = x.shape[0]
        xx = torch.cat([x, x], 0)  # (2B, ...): both views in one pass
        if not self.is_image:
            if self.vector_noise > 0:
                xx = xx + self.vector_noise * _randn(tuple(xx.shape), generator, xx)
            if self.renormalize:
                xx = F.normalize(xx, dim=1)
            return xx[:b], xx[b:]
        xx = self._pipeline(xx, generator)
        if self.strong is not None:
            xx = STRONG[self.strong](xx, generator=generator)
        return xx[:b], xx[b:]


# --------------------------------------------------------------------------------------------------
# 1-D signals (MNIST-1D): the same two-view recipe on (B, C, L)
# --------------------------------------------------------------------------------------------------
#
# Signals are standardized, not bounded, so nothing here clips. Every op draws its parameters per
# sample from ``generator`` (on the generator's device, moved to the data's), like the image ops.


def _check_signals(name: str, x: Tensor) -> Tensor:
    check_tensor(name, x, ndim=3)
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating tensor of signals (B, C, L), got dtype {x.dtype}")
    return x


def _resample_1d(x: Tensor, width: Tensor, centre: Tensor) -> Tensor:
    """Linear resampling of ``x`` (B, C, L) at the window ``centre +- width`` (normalised [-1, 1] units, (B,)).

    Outside the signal the nearest end value is repeated (``padding_mode="border"``), so a window
    wider than the signal shrinks it without inventing a step at the ends.
    """
    b, _, length = x.shape
    zero = torch.zeros_like(width)
    theta = torch.stack([torch.stack([width, zero, centre], 1), torch.stack([zero, zero + 1.0, zero], 1)], 1)
    grid = F.affine_grid(theta, [b, 1, 1, length], align_corners=False)  # (B, 1, L, 2)
    out = F.grid_sample(x.unsqueeze(2), grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.squeeze(2)


def signal_crop(
    x: Tensor,
    scale: tuple[float, float] = (0.6, 1.0),
    max_shift: float = 0.0,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """Crop-and-resize of signals: the 1-D analogue of RandomResizedCrop, plus a translation.

    Each sample draws a window length ``s L`` with ``s ~ U(scale)`` at a uniform position inside the
    signal, moves it by ``d L / 2`` with ``d ~ U[-max_shift, max_shift]``, and resamples it to ``L``
    points (linear interpolation, border values repeated past the ends). ``s > 1`` zooms out.

    Args:
        x: ``(B, C, L)`` signals.
        scale: window-length range as a fraction of ``L``, in ``(0, 2]``. Default ``(0.6, 1.0)``.
        max_shift: extra translation, as a fraction of the half-length, in ``[0, 1]``. Default 0.
        generator: random source (may be on another device than ``x``).

    Returns:
        ``(B, C, L)`` tensor on ``x``'s device.
    """
    _check_signals("x", x)
    _check_generator(generator)
    scale = _check_range("scale", scale, 0.0, 2.0, low_open=True)
    max_shift = check_interval("max_shift", max_shift, 0.0, 1.0)
    u = _rand((x.shape[0], 3), generator, x)
    width = scale[0] + (scale[1] - scale[0]) * u[:, 0]
    centre = (2.0 * u[:, 1] - 1.0) * (1.0 - width).clamp_min(0.0) + (2.0 * u[:, 2] - 1.0) * max_shift
    return _resample_1d(x, width, centre)


def signal_roll(x: Tensor, max_shift: float = 0.5, *, generator: Generator | None = None) -> Tensor:
    """Circular translation of signals by ``k`` points, ``k`` uniform in ``[-m, m]``, ``m = round(max_shift L)``.

    Circular because MNIST-1D's own translation is (``np.roll`` of the padded signal), so a rolled
    view stays on the data's support: ``out[..., t] = x[..., (t - k) mod L]``.

    Args:
        x: ``(B, C, L)`` signals.
        max_shift: largest shift as a fraction of ``L``, in ``[0, 1]``. Default 0.5.
        generator: random source.

    Returns:
        ``(B, C, L)`` tensor.
    """
    _check_signals("x", x)
    _check_generator(generator)
    max_shift = check_interval("max_shift", max_shift, 0.0, 1.0)
    b, c, length = x.shape
    m = round(max_shift * length)
    u = _rand((b,), generator, x).to(torch.float32)
    k = (torch.floor(u * (2 * m + 1)).clamp(max=2 * m) - m).long()  # (B,) in [-m, m]
    idx = torch.remainder(torch.arange(length, device=x.device).view(1, length) - k.view(b, 1), length)
    return torch.gather(x, 2, idx.view(b, 1, length).expand(b, c, length))


def signal_scale(x: Tensor, scale: tuple[float, float] = (0.7, 1.3), *, generator: Generator | None = None) -> Tensor:
    """Amplitude scaling ``a x`` with ``a ~ U(scale)`` per sample (the analogue of contrast jitter).

    ``x``: ``(B, C, L)``; ``scale``: positive ``(min, max)``. Returns ``(B, C, L)``.
    """
    _check_signals("x", x)
    _check_generator(generator)
    scale = _check_range("scale", scale, 0.0, math.inf, low_open=True)
    a = _uniform((x.shape[0],), scale[0], scale[1], generator, x)
    return x * a.view(-1, 1, 1)


def signal_noise(x: Tensor, std: float = 0.1, *, generator: Generator | None = None) -> Tensor:
    """``x + std * N(0, 1)``, independent per sample point (no clipping: signals are unbounded).

    ``x``: ``(B, C, L)``; ``std >= 0`` in the signal's units (MNIST-1D is standardized to std 1).
    """
    _check_signals("x", x)
    _check_generator(generator)
    std = check_nonnegative("std", std)
    if std == 0:
        return x
    return x + std * _randn(tuple(x.shape), generator, x)


def signal_trend(x: Tensor, max_slope: float = 2.4, *, generator: Generator | None = None) -> Tensor:
    """Add a random linear trend: ``x + c * t`` with ``t = linspace(-1/2, 1/2, L)`` and ``c ~ U[-m, m]`` per sample.

    The view of MNIST-1D's own "shear" (``mnist1d.transform.shear``: ``x - c t`` with
    ``c ~ U[-0.375, 0.375]`` on signals of standard deviation 0.154 before the dataset is
    standardized, i.e. ``m = 0.375 / 0.154 = 2.4`` in the standardized units of
    :func:`gca_lab.data.load`).

    Args:
        x: ``(B, C, L)`` signals.
        max_slope: ``m >= 0``, the largest end-to-end rise, in the signal's units. Default 2.4.
        generator: random source.

    Returns:
        ``(B, C, L)`` tensor.
    """
    _check_signals("x", x)
    _check_generator(generator)
    max_slope = check_nonnegative("max_slope", max_slope)
    if max_slope == 0:
        return x
    b, _, length = x.shape
    c = _uniform((b,), -max_slope, max_slope, generator, x)
    t = torch.linspace(-0.5, 0.5, length, device=x.device, dtype=x.dtype)
    return x + c.view(b, 1, 1) * t.view(1, 1, length)


def signal_smooth_noise(
    x: Tensor, std: float = 0.6, sigma: float = 1.1, *, generator: Generator | None = None
) -> Tensor:
    """Add correlated noise: white noise smoothed by a Gaussian of width ``sigma`` points, scaled to ``std``.

    ``x + std * (g * n)`` with ``n ~ N(0, 1)`` per point and ``g`` a Gaussian kernel (radius
    ``ceil(3 sigma)``) normalised to unit L2 norm, so the added noise has standard deviation ``std``
    (zero padding lowers it slightly within ``3 sigma`` of the ends). The view of MNIST-1D's
    ``corr_noise_like`` (``0.25 N(0, 1)`` smoothed with ``sigma = 2`` of 72 points, std
    ``0.25 / sqrt(2 sqrt(pi) 2) = 0.094``, i.e. 0.6 once standardized; 2 of 72 points is 1.1 of 40).

    Args:
        x: ``(B, C, L)`` signals.
        std: standard deviation of the added noise, >= 0. Default 0.6.
        sigma: smoothing width in points, > 0. Default 1.1.
        generator: random source.

    Returns:
        ``(B, C, L)`` tensor.
    """
    _check_signals("x", x)
    _check_generator(generator)
    std = check_nonnegative("std", std)
    sigma = check_positive("sigma", sigma)
    if std == 0:
        return x
    b, c, length = x.shape
    radius = math.ceil(3 * sigma)
    pos = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (pos / sigma) ** 2)
    kernel = (kernel / kernel.norm()).view(1, 1, -1)
    noise = _randn((b * c, 1, length), generator, x)
    smooth = F.conv1d(noise, kernel, padding=radius).view(b, c, length)
    return x + std * smooth


def signal_mask(
    x: Tensor,
    scale: tuple[float, float] = (0.05, 0.2),
    p: float = 0.5,
    value: float = 0.0,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """Mask one contiguous segment per sample with ``value``, with probability ``p`` (the analogue of erasing).

    The segment covers ``n = max(1, round(s L))`` points, ``s ~ U(scale)``, at a uniform start in
    ``[0, L - n]``; all channels are masked. ``value = 0`` is the mean of a standardized signal.

    Args:
        x: ``(B, C, L)`` signals.
        scale: masked-length range as a fraction of ``L``, in ``(0, 1]``. Default ``(0.05, 0.2)``.
        p: probability of masking a sample, in ``[0, 1]``. Default 0.5.
        value: fill value (any finite real). Default 0.
        generator: random source.

    Returns:
        ``(B, C, L)`` tensor.
    """
    _check_signals("x", x)
    _check_generator(generator)
    scale = _check_range("scale", scale, 0.0, 1.0, low_open=True)
    p = _check_prob("p", p)
    value = check_interval("value", value, -math.inf, math.inf, low_open=True, high_open=True)
    b, _, length = x.shape
    u = _rand((b, 2), generator, x).to(torch.float32)
    apply = _coin(b, p, generator, x)
    n = torch.round((scale[0] + (scale[1] - scale[0]) * u[:, 0]) * length).clamp(1, length)
    start = torch.floor(u[:, 1] * (length - n + 1)).clamp(max=length - n)
    pos = torch.arange(length, device=x.device, dtype=torch.float32).view(1, length)
    mask = (pos >= start.view(-1, 1)) & (pos < (start + n).view(-1, 1)) & apply.view(-1, 1)  # (B, L)
    return x.masked_fill(mask.unsqueeze(1), value)


def signal_large_mask(
    x: Tensor, scale: tuple[float, float] = (0.10, 0.33), value: float = 0.0, *, generator: Generator | None = None
) -> Tensor:
    """Strong variant, the analogue of :func:`large_erase`: always mask a segment of 10-33 % of the signal.

    ``x``: ``(B, C, L)`` -> ``(B, C, L)``; see :func:`signal_mask` (here ``p = 1``).
    """
    return signal_mask(x, scale, 1.0, value, generator=generator)


def signal_strong_crop(x: Tensor, crop_fraction: float = 13 / 32, *, generator: Generator | None = None) -> Tensor:
    """Strong variant, the analogue of :func:`strong_crop`: a window of ``crop_fraction L`` points at a
    uniform position, resampled to ``L`` (13/32 of the length by default, as the image op's 13 x 13 of 32 x 32).

    ``x``: ``(B, C, L)`` -> ``(B, C, L)``; ``crop_fraction`` in ``(0, 1]``.
    """
    _check_signals("x", x)
    crop_fraction = check_interval("crop_fraction", crop_fraction, 0.0, 1.0, low_open=True)
    return signal_crop(x, (crop_fraction, crop_fraction), 0.0, generator=generator)


def signal_offset(x: Tensor, shift: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    """Strong variant, the analogue of :func:`brightness`: ``x + shift`` (a constant offset).

    ``shift`` is in the signal's units, in ``[-10, 10]``; the default 1 is one standard deviation of
    MNIST-1D, about what the image op's ``+0.3`` is for pixels in ``[0, 1]``. Deterministic;
    ``generator`` is accepted (and unused) so every strong op has the same signature.
    """
    _check_signals("x", x)
    _check_generator(generator)
    shift = check_interval("shift", shift, -10.0, 10.0)
    return x + shift


STRONG_SIGNAL: dict[str, StrongFn] = {
    "large_erase": signal_large_mask,
    "strong_crop": signal_strong_crop,
    "brightness": signal_offset,
}
"""The strong augmentations for signals, under the names of their image analogues in :data:`STRONG`."""


class SignalViews:
    """Two independently augmented views of 1-D signals ``(B, C, L)``, the counterpart of :class:`TwoViews`.

    ``views(x, generator) -> (x1, x2)``, both views in one batched pass over ``cat([x, x])``, every op
    with per-sample parameters from ``generator``, in this order: :func:`signal_roll` (translation,
    ``shift``), :func:`signal_crop` (crop-and-resize, ``crop_scale``), :func:`signal_scale`
    (``amplitude``), :func:`signal_trend` (``trend``), :func:`signal_mask` (``mask_p``,
    ``mask_scale``), :func:`signal_smooth_noise` (``smooth_noise``), :func:`signal_noise`
    (``noise_std``); then the strong augmentation, if any (:data:`STRONG_SIGNAL`).

    ============  =====  ============  ==========  =====  ======  ===========  ============  =========
    kind          shift  crop_scale    amplitude   trend  mask_p  mask_scale   smooth_noise  noise_std
    ============  =====  ============  ==========  =====  ======  ===========  ============  =========
    ``standard``  0.25   (0.6, 1.2)    (0.7, 1.3)  2.4    0.5     (0.05, 0.2)  0.6           0.1
    ``light``     0      (0.8, 1.1)    (0.9, 1.1)  0      0.25    (0.05, 0.1)  0             0.05
    ``none``      no augmentation
    ============  =====  ============  ==========  =====  ======  ===========  ============  =========

    ``standard`` is modelled on MNIST-1D's own generator (``mnist1d.transform.transform``), which puts
    on its ten templates a circular translation, a dilation (crop-and-resize), an amplitude scale, a
    linear "shear" trend (``trend = 2.4`` is its range in standardized units) and correlated
    background noise (``smooth_noise = 0.6``, likewise). How these views were chosen, with the
    accuracies measured: docs/measurements.md, "MNIST-1D views".

    Args:
        signal_shape: ``(C, L)`` (``Dataset.image_shape`` of MNIST-1D).
        kind: ``"standard"``, ``"light"`` or ``"none"``. Default ``"standard"``.
        strong: ``None`` or a key of :data:`STRONG_SIGNAL`.
        shift, crop_scale, amplitude, mask_p, mask_scale, noise_std, trend, smooth_noise: override the table.
    """

    # shift, crop_scale, amplitude, mask_p, mask_scale, noise_std, trend, smooth_noise
    _DEFAULTS = {
        "standard": (0.25, (0.6, 1.2), (0.7, 1.3), 0.5, (0.05, 0.2), 0.1, 2.4, 0.6),
        "light": (0.0, (0.8, 1.1), (0.9, 1.1), 0.25, (0.05, 0.1), 0.05, 0.0, 0.0),
        "none": (0.0, (1.0, 1.0), (1.0, 1.0), 0.0, (0.05, 0.2), 0.0, 0.0, 0.0),
    }

    def __init__(
        self,
        signal_shape: tuple[int, ...],
        kind: str = "standard",
        strong: str | None = None,
        *,
        shift: float | None = None,
        crop_scale: tuple[float, float] | None = None,
        amplitude: tuple[float, float] | None = None,
        mask_p: float | None = None,
        mask_scale: tuple[float, float] | None = None,
        noise_std: float | None = None,
        trend: float | None = None,
        smooth_noise: float | None = None,
    ) -> None:
        if not isinstance(signal_shape, (tuple, list, torch.Size)) or len(signal_shape) != 2:
            raise ValueError(f"signal_shape must be (C, L), got {signal_shape!r}")
        self.image_shape = tuple(check_int(f"signal_shape[{i}]", int(s), minimum=1) for i, s in enumerate(signal_shape))
        self.kind = check_choice("kind", kind, KINDS)
        if strong is not None:
            check_choice("strong", strong, tuple(STRONG_SIGNAL))
        self.strong = strong
        d_shift, d_crop, d_amp, d_mask_p, d_mask_scale, d_noise, d_trend, d_smooth = self._DEFAULTS[kind]
        self.shift = check_interval("shift", shift if shift is not None else d_shift, 0.0, 1.0)
        self.crop_scale = _check_range("crop_scale", crop_scale if crop_scale is not None else d_crop, 0.0, 2.0,
                                       low_open=True)
        self.amplitude = _check_range("amplitude", amplitude if amplitude is not None else d_amp, 0.0, math.inf,
                                      low_open=True)
        self.mask_p = _check_prob("mask_p", mask_p if mask_p is not None else d_mask_p)
        self.mask_scale = _check_range("mask_scale", mask_scale if mask_scale is not None else d_mask_scale, 0.0, 1.0,
                                       low_open=True)
        self.noise_std = check_nonnegative("noise_std", noise_std if noise_std is not None else d_noise)
        self.trend = check_nonnegative("trend", trend if trend is not None else d_trend)
        self.smooth_noise = check_nonnegative("smooth_noise", smooth_noise if smooth_noise is not None else d_smooth)

    def __repr__(self) -> str:
        return f"SignalViews(signal_shape={self.image_shape}, kind={self.kind!r}, strong={self.strong!r})"

    def describe(self) -> dict[str, object]:
        """Every parameter of the pipeline (what :func:`gca_lab.train.protocol` records of the views)."""
        return _describe(self)

    def _pipeline(self, x: Tensor, generator: Generator | None) -> Tensor:
        if self.kind == "none":
            return x
        x = signal_roll(x, self.shift, generator=generator)
        x = signal_crop(x, self.crop_scale, generator=generator)
        x = signal_scale(x, self.amplitude, generator=generator)
        x = signal_trend(x, self.trend, generator=generator)  # no draw when trend = 0
        if self.mask_p > 0:
            x = signal_mask(x, self.mask_scale, self.mask_p, generator=generator)
        x = signal_smooth_noise(x, self.smooth_noise, generator=generator)  # no draw when smooth_noise = 0
        return signal_noise(x, self.noise_std, generator=generator)

    def __call__(self, x: Tensor, generator: Generator | None = None) -> tuple[Tensor, Tensor]:
        """Two views of ``x`` ``(B, C, L)``; returns ``(x1, x2)``, each of ``x``'s shape, dtype and device."""
        _check_signals("x", x)
        _check_generator(generator)
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"x must have shape (B, {', '.join(map(str, self.image_shape))}), got {tuple(x.shape)}")
        b = x.shape[0]
        xx = self._pipeline(torch.cat([x, x], 0), generator)
        if self.strong is not None:
            xx = STRONG_SIGNAL[self.strong](xx, generator=generator)
        return xx[:b], xx[b:]
