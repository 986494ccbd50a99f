"""Tests for gca_lab.augment: per-sample randomness, reproducibility, the strong ops' exact semantics."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gca_lab import augment as A


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def imgs() -> torch.Tensor:
    return torch.rand(16, 3, 32, 32, generator=gen(42))


def _distinct_rows(x: torch.Tensor) -> int:
    return len({tuple(r.tolist()) for r in x.flatten(1)})


# ------------------------------------------------------------------ TwoViews


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 16, 16), (3, 32, 32)])
@pytest.mark.parametrize("kind", ["standard", "light"])
def test_two_views_shapes_and_range(shape: tuple[int, ...], kind: str) -> None:
    x = torch.rand(8, *shape, generator=gen(1))
    v1, v2 = A.TwoViews(shape, kind)(x, gen(2))
    assert v1.shape == x.shape and v2.shape == x.shape and v1.dtype == x.dtype
    assert float(torch.minimum(v1, v2).min()) >= 0.0 and float(torch.maximum(v1, v2).max()) <= 1.0
    assert not torch.equal(v1, v2)


def test_two_views_per_sample_randomness() -> None:
    # All samples identical: any difference between outputs comes from per-sample parameters.
    x = torch.rand(1, 3, 32, 32, generator=gen(0)).expand(32, -1, -1, -1).contiguous()
    v1, v2 = A.TwoViews((3, 32, 32), "standard", strong="large_erase")(x, gen(5))
    assert _distinct_rows(v1) == 32 and _distinct_rows(v2) == 32
    assert all(not torch.equal(a, b) for a, b in zip(v1, v2))


def test_two_views_reproducible(imgs: torch.Tensor) -> None:
    tv = A.TwoViews((3, 32, 32), "standard", strong="strong_crop")
    a = tv(imgs, gen(7))
    b = tv(imgs, gen(7))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    c = tv(imgs, gen(8))
    assert not torch.equal(a[0], c[0])


def test_two_views_resume_from_generator_state(imgs: torch.Tensor) -> None:
    tv = A.TwoViews((3, 32, 32))
    g = gen(3)
    tv(imgs, g)
    state = g.get_state()
    expected = tv(imgs, g)
    g2 = torch.Generator()
    g2.set_state(state)
    got = tv(imgs, g2)
    assert torch.equal(expected[0], got[0]) and torch.equal(expected[1], got[1])


@pytest.mark.parametrize("strong", [None, *A.STRONG])
def test_two_views_draw_only_from_the_passed_generator(imgs: torch.Tensor, strong: str | None) -> None:
    """The resumable stream is the generator alone: the global torch RNG is neither read nor advanced
    (kornia.augmentation draws from it, one reason it is not used; docs/architecture.md)."""
    tv = A.TwoViews((3, 32, 32), "standard", strong=strong)
    torch.manual_seed(0)
    a = tv(imgs, gen(4))
    after = torch.get_rng_state()
    torch.manual_seed(1)
    b = tv(imgs, gen(4))
    torch.manual_seed(0)
    assert torch.equal(after, torch.get_rng_state())
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_two_views_none_is_identity(imgs: torch.Tensor) -> None:
    v1, v2 = A.TwoViews((3, 32, 32), "none")(imgs, gen())
    assert torch.equal(v1, imgs) and torch.equal(v2, imgs)
    b1, _ = A.TwoViews((3, 32, 32), "none", strong="brightness")(imgs, gen())
    assert torch.allclose(b1, (imgs + 0.3).clamp(0, 1))


def test_two_views_vectors() -> None:
    x = F.normalize(torch.randn(10, 5, generator=gen(0)), dim=1)
    v1, v2 = A.TwoViews((5,), "standard", renormalize=True)(x, gen(1))
    assert v1.shape == (10, 5) and not torch.equal(v1, v2)
    assert torch.allclose(v1.norm(dim=1), torch.ones(10), atol=1e-5)
    with pytest.raises(ValueError, match="strong"):
        A.TwoViews((5,), strong="large_erase")


def test_two_views_flip_option() -> None:
    assert A.default_flip("digits") is False and A.default_flip("cifar10") is True
    assert A.default_flip("fashion_mnist") is True

    class _DS:
        name = "digits"
        image_shape = (1, 8, 8)

    assert A.TwoViews.for_dataset(_DS()).flip is False


def test_two_views_errors() -> None:
    with pytest.raises(ValueError, match="kind") as e:
        A.TwoViews((1, 8, 8), "heavy")
    assert "standard" in str(e.value)
    with pytest.raises(ValueError, match="strong") as e:
        A.TwoViews((1, 8, 8), strong="erase")
    assert "large_erase" in str(e.value)
    with pytest.raises(ValueError, match="x must have shape"):
        A.TwoViews((1, 8, 8))(torch.rand(2, 1, 9, 9), gen())
    with pytest.raises(ValueError, match="crop_scale"):
        A.TwoViews((1, 8, 8), crop_scale=(0.5, 1.5))
    with pytest.raises(TypeError, match="generator"):
        A.TwoViews((1, 8, 8))(torch.rand(2, 1, 8, 8), 3)


def test_generator_on_other_device_than_data(imgs: torch.Tensor) -> None:
    # CPU generator with data on the default device (CUDA when present); results must agree with CPU data.
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    tv = A.TwoViews((3, 32, 32), strong="large_erase")
    a = tv(imgs.to(dev), gen(4))
    b = tv(imgs, gen(4))
    assert a[0].device.type == dev.type
    assert torch.allclose(a[0].cpu(), b[0], atol=1e-4)


# ------------------------------------------------------------------ primitives


def test_random_resized_crop_full_scale_identity() -> None:
    x = torch.rand(4, 1, 8, 8, generator=gen(0))
    y = A.random_resized_crop(x, scale=(1.0, 1.0), ratio=(1.0, 1.0), generator=gen(1))
    assert torch.allclose(y, x, atol=1e-5)


def test_hflip_p() -> None:
    x = torch.rand(4, 1, 8, 8, generator=gen(0))
    assert torch.equal(A.hflip(x, 1.0, generator=gen()), x.flip(-1))
    assert torch.equal(A.hflip(x, 0.0, generator=gen()), x)
    with pytest.raises(ValueError, match="p must be in"):
        A.hflip(x, 1.5)


def test_color_jitter_and_grayscale(imgs: torch.Tensor) -> None:
    y = A.color_jitter(imgs, generator=gen(1), p=1.0)
    assert y.shape == imgs.shape and float(y.min()) >= 0 and float(y.max()) <= 1
    assert torch.equal(A.color_jitter(imgs, p=0.0, generator=gen()), imgs)
    g = A.grayscale(imgs, 1.0, generator=gen())
    assert torch.allclose(g[:, 0], g[:, 1]) and torch.allclose(g[:, 1], g[:, 2])
    with pytest.raises(ValueError, match="3 channels"):
        A.grayscale(torch.rand(2, 1, 4, 4), 1.0)
    gray = A.color_jitter(torch.rand(4, 1, 8, 8), generator=gen(), p=1.0)
    assert gray.shape == (4, 1, 8, 8)


def test_hsv_roundtrip(imgs: torch.Tensor) -> None:
    assert torch.allclose(A.hsv_to_rgb(A.rgb_to_hsv(imgs)), imgs, atol=1e-5)


def test_gaussian_blur_preserves_constant() -> None:
    x = torch.full((3, 1, 16, 16), 0.4)
    y = A.gaussian_blur(x, (0.5, 2.0), p=1.0, generator=gen())
    assert torch.allclose(y, x, atol=1e-6)
    z = A.gaussian_blur(torch.rand(3, 1, 16, 16), p=1.0, generator=gen())
    assert z.shape == (3, 1, 16, 16)
    with pytest.raises(ValueError, match="kernel_size"):
        A.gaussian_blur(x, kernel_size=4)


def test_gaussian_noise() -> None:
    x = torch.full((64, 1, 16, 16), 0.5)
    y = A.gaussian_noise(x, 0.05, generator=gen())
    assert abs(float((y - x).std()) - 0.05) < 0.005
    with pytest.raises(ValueError, match="std"):
        A.gaussian_noise(x, -1.0)


# ------------------------------------------------------------------ strong augmentations


@pytest.mark.parametrize("hw", [(32, 32), (28, 28), (16, 24)])
def test_large_erase_area_fraction(hw: tuple[int, int]) -> None:
    h, w = hw
    x = torch.ones(512, 3, h, w)
    y = A.large_erase(x, generator=gen(0))
    frac = (y[:, 0] == 0).float().mean(dim=(1, 2))  # (B,)
    tol = max(h, w) / (2 * h * w)  # integer rounding of one side
    assert float(frac.min()) >= 0.10 - tol and float(frac.max()) <= 0.33 + tol
    assert float(frac.max() - frac.min()) > 0.15  # spans the range
    # Every channel is erased at the same place, and each erased region is one rectangle.
    assert torch.equal(y[:, 0], y[:, 2])
    for m in (y[:8, 0] == 0):
        rows, cols = m.any(1).nonzero().flatten(), m.any(0).nonzero().flatten()
        assert int(m.sum()) == rows.numel() * cols.numel()
        assert int(rows[-1] - rows[0]) + 1 == rows.numel()


def test_large_erase_value_and_errors() -> None:
    x = torch.zeros(4, 1, 16, 16)
    y = A.large_erase(x, value=0.5, generator=gen())
    assert set(y.unique().tolist()) == {0.0, 0.5}
    with pytest.raises(ValueError, match="scale"):
        A.large_erase(x, scale=(0.5, 0.2))
    with pytest.raises(ValueError, match="value"):
        A.large_erase(x, value=2.0)


def test_strong_crop_is_upscaled_patch() -> None:
    h = w = 32
    b = 16
    # Pixel values encode (sample, row, col), so the crop origin can be read back from the output.
    rows = torch.arange(h).view(1, 1, h, 1).float().expand(b, 1, h, w)
    cols = torch.arange(w).view(1, 1, 1, w).float().expand(b, 1, h, w)
    noise = torch.rand(b, 1, h, w, generator=gen(3))
    x = torch.cat([rows / (h - 1), cols / (w - 1), noise], 1)  # (B, 3, H, W)
    y = A.strong_crop(x, generator=gen(9))
    side = round(13 / 32 * h)
    assert side == 13
    tops = set()
    for i in range(b):
        top = int(round(float(y[i, 0, 0, 0]) * (h - 1)))
        left = int(round(float(y[i, 1, 0, 0]) * (w - 1)))
        tops.add((top, left))
        patch = x[i : i + 1, :, top : top + side, left : left + side]
        ref = F.interpolate(patch, size=(h, w), mode="bilinear", align_corners=False)
        assert torch.allclose(y[i : i + 1], ref, atol=1e-5)
    assert len(tops) > 8  # per-sample positions


def test_brightness_shift_and_clip() -> None:
    x = torch.rand(8, 3, 16, 16, generator=gen(0)) * 0.6  # in [0, 0.6]: no clipping at +0.3
    y = A.brightness(x, 0.3)
    assert torch.allclose(y.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)) + 0.3, atol=1e-6)
    z = A.brightness(torch.rand(8, 3, 16, 16, generator=gen(1)), 0.3)
    assert float(z.min()) >= 0.3 - 1e-7 and float(z.max()) == 1.0
    # The reference bug (divide by 255 twice) would give about 0.3 everywhere; ours keeps structure.
    assert float(y.std()) > 0.1
    hsv = A.brightness(x, 0.3, mode="hsv")
    assert torch.allclose(A.rgb_to_hsv(hsv)[:, 2], (A.rgb_to_hsv(x)[:, 2] + 0.3).clamp(0, 1), atol=1e-5)
    with pytest.raises(ValueError, match="shift"):
        A.brightness(x, 2.0)
    with pytest.raises(ValueError, match="mode"):
        A.brightness(x, 0.3, mode="lab")


def test_apply_strong(imgs: torch.Tensor) -> None:
    assert set(A.STRONG) == {"large_erase", "strong_crop", "brightness"}
    for name in A.STRONG:
        y = A.apply_strong(imgs, name, generator=gen())
        assert y.shape == imgs.shape and not torch.equal(y, imgs)
    with pytest.raises(ValueError, match="name") as e:
        A.apply_strong(imgs, "erase")
    assert "strong_crop" in str(e.value)


@pytest.mark.parametrize("name", sorted(A.CORRUPTIONS))
@pytest.mark.parametrize("severity", [1, 3, 5])
def test_corruptions_range(imgs: torch.Tensor, name: str, severity: int) -> None:
    y = A.corrupt(imgs, name, severity, generator=gen(severity))
    assert y.shape == imgs.shape and float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    assert not torch.equal(y, imgs)
    assert torch.equal(y, A.corrupt(imgs, name, severity, generator=gen(severity)))


def test_corruption_errors(imgs: torch.Tensor) -> None:
    assert {"gaussian_noise", "snow"} <= set(A.CORRUPTIONS)
    with pytest.raises(ValueError, match="severity"):
        A.snow(imgs, 6)
    with pytest.raises(ValueError, match="name"):
        A.corrupt(imgs, "fog")
    gray = A.snow(torch.rand(4, 1, 28, 28), 2, generator=gen())
    assert gray.shape == (4, 1, 28, 28)


def test_corruption_severity_monotone(imgs: torch.Tensor) -> None:
    d = [float((A.gaussian_noise_corruption(imgs, s, generator=gen()) - imgs).abs().mean()) for s in (1, 5)]
    assert d[1] > d[0]


# ------------------------------------------------------------------ 1-D signals (MNIST-1D)


@pytest.fixture
def sigs() -> torch.Tensor:
    return torch.randn(16, 1, 40, generator=gen(7))


@pytest.mark.parametrize("kind", ["standard", "light"])
def test_signal_views_shapes_per_sample_and_reproducible(sigs: torch.Tensor, kind: str) -> None:
    views = A.SignalViews((1, 40), kind)
    x1, x2 = views(sigs, gen(0))
    assert x1.shape == x2.shape == sigs.shape and x1.dtype == torch.float32
    assert not torch.equal(x1, x2) and _distinct_rows(x1 - sigs) == 16
    y1, y2 = views(sigs, gen(0))
    assert torch.equal(x1, y1) and torch.equal(x2, y2)
    g = gen(3)
    views(sigs, g)
    state = g.get_state()
    after = views(sigs, g)
    g2 = torch.Generator()
    g2.set_state(state)
    resumed = views(sigs, g2)  # bit-exact resume from a saved generator state
    assert torch.equal(after[0], resumed[0]) and torch.equal(after[1], resumed[1])
    n1, n2 = A.SignalViews((1, 40), "none")(sigs, gen(0))
    assert torch.equal(n1, sigs) and torch.equal(n2, sigs)


def test_two_views_for_mnist1d_picks_signal_views(tmp_path) -> None:
    from gca_lab import data

    ds = data.load("mnist1d", root=tmp_path, n_samples=200)
    views = A.TwoViews.for_dataset(ds, "standard", "large_erase")
    assert isinstance(views, A.SignalViews) and views.image_shape == (1, 40) and views.strong == "large_erase"
    x1, _ = views(ds.train.x[:8], gen(0))
    assert x1.shape == (8, 1, 40)


def test_signal_views_errors(sigs: torch.Tensor) -> None:
    with pytest.raises(ValueError, match="signal_shape"):
        A.SignalViews((1, 8, 8))
    with pytest.raises(ValueError, match="kind"):
        A.SignalViews((1, 40), "heavy")
    with pytest.raises(ValueError, match="strong"):
        A.SignalViews((1, 40), strong="blur")
    with pytest.raises(ValueError, match="shift"):
        A.SignalViews((1, 40), shift=1.5)
    with pytest.raises(ValueError, match="mask_p"):
        A.SignalViews((1, 40), mask_p=-0.1)
    with pytest.raises(ValueError, match=r"x must have shape \(B, 1, 40\)"):
        A.SignalViews((1, 40))(torch.randn(4, 1, 41), gen(0))
    with pytest.raises(TypeError, match="floating"):
        A.SignalViews((1, 40))(torch.zeros(4, 1, 40, dtype=torch.int64), gen(0))
    with pytest.raises(TypeError, match="generator"):
        A.signal_noise(sigs, 0.1, generator=0)
    with pytest.raises(ValueError, match="ndim|dimension"):
        A.signal_roll(torch.randn(4, 40), 0.5)


def test_signal_roll_is_a_circular_shift_within_range(sigs: torch.Tensor) -> None:
    out = A.signal_roll(sigs, 0.25, generator=gen(1))
    shifts = []
    for x, y in zip(sigs, out):
        ks = [k for k in range(-10, 11) if torch.equal(torch.roll(x, k, dims=-1), y)]
        assert ks, "every output row is its input rolled by at most round(0.25 * 40) = 10 points"
        shifts.append(ks[0])
    assert len(set(shifts)) > 4  # per-sample shifts
    assert torch.equal(A.signal_roll(sigs, 0.0, generator=gen(1)), sigs)


def test_signal_crop_identity_and_linear_resampling() -> None:
    ramp = torch.arange(40, dtype=torch.float32).view(1, 1, 40).expand(6, 2, 40).contiguous()
    assert torch.allclose(A.signal_crop(ramp, (1.0, 1.0), generator=gen(0)), ramp, atol=1e-4)
    out = A.signal_strong_crop(ramp, 13 / 32, generator=gen(0))
    steps = out.diff(dim=-1)
    # A window of 13/32 of the length, resampled to 40 points: a ramp of slope 13/32, inside the signal.
    assert torch.allclose(steps, torch.full_like(steps, 13 / 32), atol=1e-4)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 39.0
    assert torch.equal(out[:, 0], out[:, 1])  # the same window for every channel of a sample
    with pytest.raises(ValueError, match="scale"):
        A.signal_crop(ramp, (0.0, 1.0))
    with pytest.raises(ValueError, match="crop_fraction"):
        A.signal_strong_crop(ramp, 1.5)


def test_signal_mask_lengths_and_large_mask_fraction(sigs: torch.Tensor) -> None:
    x = sigs + 10.0  # no zeros, so the masked points are exactly the zeros of the output
    out = A.signal_mask(x, (0.1, 0.2), 1.0, generator=gen(2))
    n = (out == 0).sum(dim=(1, 2))
    assert int(n.min()) >= 4 and int(n.max()) <= 8  # round(0.1 * 40) .. round(0.2 * 40)
    for row in (out[:, 0] == 0):  # one contiguous segment per sample
        idx = row.nonzero().flatten()
        assert int(idx[-1] - idx[0]) + 1 == idx.numel()
    assert torch.equal(A.signal_mask(x, (0.1, 0.2), 0.0, generator=gen(2)), x)
    big = (A.signal_large_mask(x, generator=gen(3)) == 0).sum(dim=(1, 2))
    assert int(big.min()) >= 4 and int(big.max()) <= 13  # 10 % .. 33 % of 40 points
    with pytest.raises(ValueError, match="p"):
        A.signal_mask(x, (0.1, 0.2), 1.5)
    with pytest.raises(ValueError, match="scale"):
        A.signal_mask(x, (0.3, 0.2))


def test_signal_scale_offset_noise_and_apply_strong(sigs: torch.Tensor) -> None:
    scaled = A.signal_scale(sigs, (0.7, 1.3), generator=gen(4))
    ratio = scaled / sigs
    assert torch.allclose(ratio, ratio[:, :, :1].expand_as(ratio), atol=1e-4)
    assert float(ratio.min()) >= 0.7 - 1e-5 and float(ratio.max()) <= 1.3 + 1e-5
    assert torch.equal(A.signal_offset(sigs, 1.0), sigs + 1.0)
    noisy = A.signal_noise(sigs, 0.5, generator=gen(5)) - sigs
    assert abs(float(noisy.std()) - 0.5) < 0.05 and torch.equal(A.signal_noise(sigs, 0.0), sigs)
    for name in A.STRONG:
        assert name in A.STRONG_SIGNAL
        out = A.apply_strong(sigs, name, generator=gen(6))
        assert out.shape == sigs.shape
        assert torch.equal(out, A.STRONG_SIGNAL[name](sigs, generator=gen(6)))
    with pytest.raises(ValueError, match="shift"):
        A.signal_offset(sigs, 20.0)
    with pytest.raises(ValueError, match="std"):
        A.signal_noise(sigs, -1.0)


def test_signal_trend_adds_one_linear_ramp_per_sample(sigs: torch.Tensor) -> None:
    out = A.signal_trend(sigs, 2.0, generator=gen(6))
    added = (out - sigs).double()  # (B, 1, L): c_b * linspace(-1/2, 1/2, L)
    rise = added[:, 0, -1] - added[:, 0, 0]
    assert float(rise.abs().max()) <= 2.0 + 1e-5 and float(rise.abs().max()) > 1.0
    assert float(rise.std()) > 0.3  # per-sample slopes
    t = torch.linspace(-0.5, 0.5, sigs.shape[2], dtype=torch.float64)
    assert torch.allclose(added[:, 0, :], rise.view(-1, 1) * t.view(1, -1), atol=1e-5)
    assert torch.equal(out, A.signal_trend(sigs, 2.0, generator=gen(6)))
    assert A.signal_trend(sigs, 0.0, generator=gen(6)) is sigs
    with pytest.raises(ValueError, match="max_slope"):
        A.signal_trend(sigs, -1.0)


def test_signal_smooth_noise_has_the_stated_std_and_correlation() -> None:
    import math

    x = torch.zeros(4000, 1, 40)
    sigma = 1.1
    noise = A.signal_smooth_noise(x, 0.6, sigma, generator=gen(7))[:, 0, 4:-4]  # interior: no edge effect
    assert abs(float(noise.std()) - 0.6) < 0.01
    # A Gaussian-smoothed white noise has lag-1 correlation exp(-1 / (4 sigma^2)).
    lag1 = float((noise[:, 1:] * noise[:, :-1]).mean() / noise.var())
    assert abs(lag1 - math.exp(-1 / (4 * sigma**2))) < 0.01
    assert A.signal_smooth_noise(x, 0.0, generator=gen(7)) is x
    with pytest.raises(ValueError, match="sigma"):
        A.signal_smooth_noise(x, 0.5, 0.0)
    with pytest.raises(ValueError, match="std"):
        A.signal_smooth_noise(x, -0.5)


def test_signal_views_without_trend_and_smooth_noise_draw_nothing_extra(sigs: torch.Tensor) -> None:
    # trend = smooth_noise = 0 is the pipeline without those two ops, draw for draw.
    views = A.SignalViews((1, 40), shift=0.2, trend=0.0, smooth_noise=0.0)
    g = gen(8)
    xx = torch.cat([sigs, sigs])
    xx = A.signal_roll(xx, 0.2, generator=g)
    xx = A.signal_crop(xx, views.crop_scale, generator=g)
    xx = A.signal_scale(xx, views.amplitude, generator=g)
    xx = A.signal_mask(xx, views.mask_scale, views.mask_p, generator=g)
    xx = A.signal_noise(xx, views.noise_std, generator=g)
    v1, v2 = views(sigs, gen(8))
    assert torch.equal(torch.cat([v1, v2]), xx)
    with pytest.raises(ValueError, match="trend"):
        A.SignalViews((1, 40), trend=-1.0)
    with pytest.raises(ValueError, match="smooth_noise"):
        A.SignalViews((1, 40), smooth_noise=-0.1)


def test_signal_views_with_trend_and_smooth_noise_are_reproducible_per_sample(sigs: torch.Tensor) -> None:
    views = A.SignalViews((1, 40))  # the standard views: shift 0.25, trend 2.4, smooth noise 0.6
    assert (views.shift, views.trend, views.smooth_noise) == (0.25, 2.4, 0.6)
    x1, x2 = views(sigs, gen(9))
    y1, y2 = views(sigs, gen(9))
    assert torch.equal(x1, y1) and torch.equal(x2, y2)
    assert not torch.equal(x1, x2) and _distinct_rows(x1 - sigs) == 16
    # The trend and the correlated noise move the views further from the signal than views without them.
    plain = A.SignalViews((1, 40), shift=0.25, trend=0.0, smooth_noise=0.0)(sigs, gen(9))[0]
    assert float((x1 - sigs).pow(2).mean()) > float((plain - sigs).pow(2).mean())


def test_the_shared_image_operations_are_the_ones_data_and_views_use() -> None:
    from gca_lab import _image, domains

    g = torch.Generator().manual_seed(0)
    rgb = torch.rand(4, 3, 8, 8, generator=g)
    assert torch.allclose(_image.luminance(rgb), (rgb * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True))
    gray = torch.rand(4, 1, 8, 8, generator=g)
    assert torch.equal(_image.luminance(gray), gray)
    taps = _image.gaussian_taps(3, torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64))
    assert taps.shape == (3, 7) and torch.allclose(taps.sum(1), torch.ones(3, dtype=torch.float64))
    assert torch.equal(taps, taps.flip(1)) and bool((taps[:, 3] == taps.max(1).values).all())
    assert float(taps[0, 0]) < float(taps[2, 0])  # wider sigma, heavier tails
    # a one-sigma blur of data's domain rendering is the per-sample blur of the views at that sigma
    img = torch.rand(2, 1, 12, 12, generator=g)
    assert torch.allclose(domains._gaussian_blur(img, 1.0), A._blur_per_sample(img, torch.ones(2), 7), atol=1e-6)
