"""What a sample looks like in each domain of a multi-domain dataset (arXiv 2502.20141, Sec. 6.2, Fig. 1):
the image renderings of :func:`domain_transform` (``"default"``: original, inverted, sketch, noisy-blurred;
``"subtle"``: original, gamma, soft, grainy) and the signal textures of :func:`signal_domain_transform`.
Pure tensor operations; :func:`gca_lab.data.multidomain` deals the samples to the domains and applies them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ._image import gaussian_taps, luminance
from ._validate import check_choice, check_int, check_interval, check_positive, check_tensor

__all__ = ["DOMAIN_NAMES", "STYLES", "SUBTLE_DOMAIN_NAMES", "SIGNAL_DOMAIN_NAMES", "domain_transform",
           "signal_domain_transform"]

#: The image domains of ``style="default"`` (the names the registry gca_lab/datasets.py gives every image dataset).
DOMAIN_NAMES = ("original", "inverted", "sketch", "noisy-blurred")


def _gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of (N, C, H, W) with one sigma, reflect padding, kernel 2*ceil(3 sigma)+1."""
    radius = max(1, math.ceil(3.0 * sigma))
    radius = min(radius, x.shape[-1] - 1, x.shape[-2] - 1)  # reflect padding needs pad < size
    k = gaussian_taps(radius, torch.tensor([sigma], dtype=x.dtype, device=x.device))[0]  # (K,)
    c = x.shape[1]
    kx = k.view(1, 1, 1, -1).expand(c, 1, 1, -1)
    ky = k.view(1, 1, -1, 1).expand(c, 1, -1, 1)
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="reflect"), kx, groups=c)
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="reflect"), ky, groups=c)


def _sobel_sketch(x: Tensor) -> Tensor:
    """Sobel edge magnitude of the luminance, each image scaled to max 1, repeated over channels."""
    lum = luminance(x)  # (N, 1, H, W)
    gx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=x.dtype, device=x.device)
    w = torch.stack([gx, gx.t()]).unsqueeze(1)  # (2, 1, 3, 3)
    # Replicate padding: zero padding would draw a false edge around every image border.
    g = F.conv2d(F.pad(lum, (1, 1, 1, 1), mode="replicate"), w)  # (N, 2, H, W)
    mag = g.pow(2).sum(dim=1, keepdim=True).sqrt()
    peak = mag.amax(dim=(2, 3), keepdim=True)
    mag = torch.where(peak > 0, mag / peak.clamp_min(1e-12), torch.zeros_like(mag))
    return mag.expand(-1, x.shape[1], -1, -1).contiguous()


STYLES = ("default", "subtle")
SUBTLE_DOMAIN_NAMES = ("original", "gamma", "soft", "grainy")


def _subtle_transform(x: Tensor, domain: int, strength: float, generator: torch.Generator | None) -> Tensor:
    """The ``style="subtle"`` domains of :func:`domain_transform` (small, augmentation-robust style cues)."""
    if domain == 0:
        return x.clone()
    if domain == 1:
        return x.clamp(0.0, 1.0).pow(1.0 - 0.4 * strength)
    if domain == 2:
        w = 0.6 * strength
        return ((1.0 - w) * x + w * _gaussian_blur(x, 1.0)).clamp_(0.0, 1.0)
    gdev = generator.device if generator is not None else x.device
    noise = torch.randn(x.shape, generator=generator, device=gdev, dtype=x.dtype).to(x.device)
    return (x + 0.1 * strength * noise).clamp_(0.0, 1.0)


def domain_transform(
    x: Tensor,
    domain: int,
    *,
    noise_std: float = 0.15,
    blur_sigma: float = 1.0,
    generator: torch.Generator | None = None,
    style: str = "default",
    strength: float = 1.0,
) -> Tensor:
    """Render images ``x`` in one of the four synthetic domains of :func:`multidomain`.

    - 0 ``original``: ``x`` unchanged.
    - 1 ``inverted``: ``1 - x``.
    - 2 ``sketch``: Sobel gradient magnitude of the luminance (replicate padding), divided by its
      per-image maximum so it spans ``[0, 1]`` (an all-flat image maps to 0).
    - 3 ``noisy-blurred``: Gaussian blur (``blur_sigma`` pixels) plus ``N(0, noise_std^2)`` noise,
      clipped to ``[0, 1]``.

    Args:
        x: ``(N, C, H, W)`` images in ``[0, 1]``.
        domain: domain index in ``0..3``.
        noise_std: noise level of domain 3. Default 0.15.
        blur_sigma: blur width of domain 3, in pixels. Default 1.0.
        generator: source of the domain-3 noise (drawn on the generator's device). Default: global RNG.
        style: ``"default"`` (the four domains above, each decodable at ~99% from any encoder) or
            ``"subtle"`` (:data:`SUBTLE_DOMAIN_NAMES`: small style shifts whose decodability depends on
            what a representation keeps; ``noise_std``/``blur_sigma`` are then ignored):

            - 0 ``original``: ``x`` unchanged;
            - 1 ``gamma``: ``x ** (1 - 0.4 strength)`` (mid-tones brightened, 0 and 1 fixed);
            - 2 ``soft``: ``(1 - 0.6 strength) x + 0.6 strength blur(x, 1 px)``;
            - 3 ``grainy``: ``x + N(0, (0.1 strength)^2)`` noise, clipped to ``[0, 1]``.
        strength: scale of the subtle shifts, in ``(0, 1]`` (``style="subtle"`` only). Default 1.

    Returns:
        ``(N, C, H, W)`` float tensor in ``[0, 1]`` on ``x``'s device.
    """
    check_tensor("x", x, ndim=4)
    domain = check_int("domain", domain, minimum=0, maximum=len(DOMAIN_NAMES) - 1)
    noise_std = check_positive("noise_std", noise_std)
    blur_sigma = check_positive("blur_sigma", blur_sigma)
    style = check_choice("style", style, STYLES)
    strength = check_interval("strength", strength, 0.0, 1.0, low_open=True)
    if style == "subtle":
        return _subtle_transform(x, domain, strength, generator)
    if domain == 0:
        return x.clone()
    if domain == 1:
        return 1.0 - x
    if domain == 2:
        return _sobel_sketch(x)
    gdev = generator.device if generator is not None else x.device
    noise = torch.randn(x.shape, generator=generator, device=gdev, dtype=x.dtype).to(x.device)
    return (_gaussian_blur(x, blur_sigma) + noise_std * noise).clamp_(0.0, 1.0)


SIGNAL_DOMAIN_NAMES = ("original", "ripple", "smooth", "quantized")
SIGNAL_RIPPLE_AMPLITUDE = 0.5
SIGNAL_RIPPLE_PERIOD = 4.0
SIGNAL_SMOOTH_WIDTH = 5
SIGNAL_QUANT_STEP = 0.6


def signal_domain_transform(x: Tensor, domain: int, *, generator: torch.Generator | None = None) -> Tensor:
    """Render signals ``x`` in one of the four texture domains of ``multidomain("mnist1d")``.

    The domains change the texture of a signal and keep its shape (the MNIST-1D class), so that, as
    the styles of PACS (arXiv 2502.20141, Sec. 6.2, Fig. 1), they can be kept or dropped by a
    representation without touching the class. None of them can be read linearly off the raw signal
    (a random phase, a linear filter, a rounding: no direction of the input separates them), but a
    1-D convnet can learn each (an energy at one frequency, a missing high band, flat steps):

    - 0 ``original``: ``x`` unchanged;
    - 1 ``ripple``: ``x + 0.5 sin(2 pi t / 4 + phi)``, a high-frequency ripple (period 4 samples) with
      a phase ``phi ~ U[0, 2 pi)`` drawn per signal from ``generator``;
    - 2 ``smooth``: moving average over 5 samples (replicate padding), a low-pass of the signal;
    - 3 ``quantized``: ``0.6 round(x / 0.6)``, a staircase of flat steps.

    The standard signal views (:class:`gca_lab.augment.SignalViews`: translation, crop-and-resize
    to 0.6-1.2, amplitude 0.7-1.3, trend, masking, smooth noise, white noise 0.1) leave each cue in
    place: the ripple's period stays within 3.3-6.7 samples, well above the views' smooth noise
    scale; the smoothed signal's missing high band and the steps' flat runs survive the white noise
    (measured in ``gca_lab/experiments/domain_priors.py``).

    Args:
        x: ``(N, C, L)`` signals (MNIST-1D: ``(N, 1, 40)``, standardized), ``L >= 5``.
        domain: domain index in ``0..3`` (:data:`SIGNAL_DOMAIN_NAMES`).
        generator: source of the ripple phases (drawn on the generator's device). Default: global RNG.

    Returns:
        ``(N, C, L)`` tensor of ``x``'s dtype on ``x``'s device.
    """
    check_tensor("x", x, ndim=3)
    if x.shape[-1] < SIGNAL_SMOOTH_WIDTH:
        raise ValueError(f"x must have length >= {SIGNAL_SMOOTH_WIDTH} (the smoothing window), got {x.shape[-1]}")
    domain = check_int("domain", domain, minimum=0, maximum=len(SIGNAL_DOMAIN_NAMES) - 1)
    if domain == 0:
        return x.clone()
    if domain == 1:
        gdev = generator.device if generator is not None else x.device
        phase = (2.0 * math.pi) * torch.rand(x.shape[0], 1, 1, generator=generator, device=gdev, dtype=x.dtype)
        t = torch.arange(x.shape[-1], dtype=x.dtype, device=x.device)
        return x + SIGNAL_RIPPLE_AMPLITUDE * torch.sin((2.0 * math.pi / SIGNAL_RIPPLE_PERIOD) * t + phase.to(x.device))
    if domain == 2:
        k, c = SIGNAL_SMOOTH_WIDTH, x.shape[1]
        w = torch.full((c, 1, k), 1.0 / k, dtype=x.dtype, device=x.device)
        return F.conv1d(F.pad(x, (k // 2, k // 2), mode="replicate"), w, groups=c)
    return SIGNAL_QUANT_STEP * torch.round(x / SIGNAL_QUANT_STEP)
