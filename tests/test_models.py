"""Tests for gca_lab.models: encoder shapes, projector, BYOL momentum math, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from gca_lab import models as M

SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ["mlp", "convnet", "resnet18"])
def test_encoder_output_shapes(name: str, shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    kwargs = {"width": 8} if name == "resnet18" else {}  # keep the CPU test light
    enc = M.make_encoder(name, shape, **kwargs)
    x = torch.rand(4, *shape)
    h = enc(x)
    assert h.shape == (4, enc.out_dim) and h.dtype == torch.float32
    assert torch.isfinite(h).all()


def test_resnet18_default_dims_and_stem() -> None:
    net = M.resnet18()
    assert net.out_dim == 512
    conv1 = net.stem[0]
    assert conv1.kernel_size == (3, 3) and conv1.stride == (1, 1)
    assert not any(isinstance(m, nn.MaxPool2d) for m in net.stem)
    n_params = sum(p.numel() for p in net.parameters())
    assert 11_000_000 < n_params < 11_300_000  # ResNet-18 without fc: about 11.17 M
    imagenet = M.resnet18(cifar_stem=False, width=8)
    assert imagenet.stem[0].kernel_size == (7, 7)
    assert imagenet(torch.rand(2, 3, 64, 64)).shape == (2, 64)


def test_channels_last_works() -> None:
    x = torch.rand(2, 3, 32, 32).to(memory_format=torch.channels_last)
    for name in ("mlp", "convnet"):
        enc = M.make_encoder(name, (3, 32, 32)).eval()
        assert torch.allclose(enc(x), enc(x.contiguous()), atol=1e-5)


def test_mlp_on_vectors() -> None:
    enc = M.make_encoder("mlp", (16,), hidden=(32, 32), out_dim=8)
    assert enc(torch.randn(5, 16)).shape == (5, 8) and enc.out_dim == 8


def test_projection_head_and_model() -> None:
    head = M.ProjectionHead(512)
    linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [(512, 2048), (2048, 128)]
    assert all(l.bias is None for l in linears)
    enc = M.make_encoder("convnet", (1, 8, 8), widths=(8, 16))
    model = M.ContrastiveModel(enc, proj_hidden=32, proj_out=12)
    x = torch.rand(6, 1, 8, 8)
    assert model(x).shape == (6, 12) and model.features(x).shape == (6, 16)
    assert model.out_dim == 12 and model.feature_dim == 16
    ident = M.ContrastiveModel(enc, nn.Identity())
    assert ident(x).shape == (6, 16)


def test_predictor() -> None:
    p = M.Predictor(16, 32)
    assert p(torch.randn(4, 16)).shape == (4, 16)
    assert any(isinstance(m, nn.BatchNorm1d) for m in p.modules())


def test_make_target_frozen_copy() -> None:
    online = M.MLP(4, (8,), 3)
    target = M.make_target(online)
    assert all(not p.requires_grad for p in target.parameters())
    assert all(p.requires_grad for p in online.parameters())
    for a, b in zip(online.parameters(), target.parameters()):
        assert torch.equal(a, b) and a.data_ptr() != b.data_ptr()


def test_momentum_update_math() -> None:
    torch.manual_seed(0)
    online = M.MLP(4, (8,), 3)
    target = M.make_target(online)
    with torch.no_grad():
        for p in online.parameters():
            p.add_(torch.randn_like(p))
    online.train()
    online(torch.randn(16, 4))  # moves BN running stats
    before_t = [p.clone() for p in target.parameters()]
    before_b = [b.clone() for b in target.buffers()]
    tau = 0.9
    M.momentum_update(target, online, tau)
    for t0, t, o in zip(before_t, target.parameters(), online.parameters()):
        assert torch.allclose(t, tau * t0 + (1 - tau) * o, atol=1e-6)
    for b0, t, o in zip(before_b, target.buffers(), online.buffers()):
        if t.is_floating_point():
            assert torch.allclose(t, tau * b0 + (1 - tau) * o, atol=1e-6)
        else:
            assert torch.equal(t, o)
    M.momentum_update(target, online, 0.0)
    assert all(torch.equal(t, o) for t, o in zip(target.parameters(), online.parameters()))


def test_ema_class() -> None:
    online = M.MLP(4, (8,), 3)
    ema = M.EMA(online, tau=0.5)
    with torch.no_grad():
        for p in online.parameters():
            p.fill_(1.0)
    ref = [0.5 * t + 0.5 for t in ema.module.parameters()]
    ema.update(online)
    assert all(torch.allclose(a, b) for a, b in zip(ema.module.parameters(), ref))
    assert ema(torch.randn(2, 4)).shape == (2, 3)
    state = ema.state_dict()
    ema2 = M.EMA(online, tau=0.1)
    ema2.load_state_dict(state)
    assert ema2.tau == 0.5


def test_errors_name_parameter() -> None:
    with pytest.raises(ValueError, match="name") as e:
        M.make_encoder("vit", (3, 32, 32))
    assert "resnet18" in str(e.value)
    with pytest.raises(ValueError, match="image_shape"):
        M.make_encoder("convnet", (16,))
    with pytest.raises(ValueError, match="in_dim"):
        M.MLP(0)
    with pytest.raises(TypeError, match="hidden"):
        M.MLP(4, hidden=8)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="hidden_dim"):
        M.ProjectionHead(8, hidden_dim=0)
    with pytest.raises(ValueError, match="tau"):
        M.momentum_update(M.MLP(4), M.MLP(4), 1.5)
    with pytest.raises(ValueError, match="architecture"):
        M.momentum_update(M.MLP(4), M.MLP(5), 0.9)
    with pytest.raises(ValueError, match="out_dim"):
        M.ContrastiveModel(nn.Linear(3, 3))


# ------------------------------------------------------------------ 1-D encoder (MNIST-1D)


@pytest.mark.parametrize("length", [40, 33, 2])
@pytest.mark.parametrize("name", ["convnet", "convnet1d"])
def test_convnet1d_output_shapes_and_default_choice(name: str, length: int) -> None:
    torch.manual_seed(0)
    enc = M.make_encoder(name, (1, length))
    assert isinstance(enc, M.ConvNet1d)  # "convnet", the default of every config, means the 1-D net on signals
    h = enc(torch.randn(4, 1, length))
    assert h.shape == (4, 128) == (4, enc.out_dim) and h.dtype == torch.float32 and torch.isfinite(h).all()
    wide = M.make_encoder(name, (3, length), widths=(8, 16), out_dim=32)
    assert wide(torch.randn(2, 3, length)).shape == (2, 32)


def test_convnet1d_layers_and_seeded_init() -> None:
    torch.manual_seed(1)
    a = M.ConvNet1d(1, 40)
    torch.manual_seed(1)
    b = M.ConvNet1d(1, 40)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    convs = [m for m in a.modules() if isinstance(m, nn.Conv1d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [
        (1, 32, 5, 2), (32, 64, 3, 2), (64, 64, 3, 2)]
    assert a.head[0].in_features == 64 * 5  # 40 -> 20 -> 10 -> 5 points, flattened
    x = torch.randn(3, 1, 40)
    a.eval()
    assert torch.equal(a(x)[1:], a(x[1:]))  # per-sample in eval mode (no batch coupling)


def test_convnet1d_errors_name_the_parameter() -> None:
    with pytest.raises(ValueError, match="first_kernel"):
        M.ConvNet1d(1, 40, first_kernel=4)
    with pytest.raises(ValueError, match="widths"):
        M.ConvNet1d(1, 40, widths=())
    with pytest.raises(ValueError, match="length"):
        M.ConvNet1d(1, 0)
    with pytest.raises(ValueError, match="convnet1d"):
        M.make_encoder("convnet1d", (1, 8, 8))
    with pytest.raises(ValueError, match="resnet18"):
        M.make_encoder("resnet18", (1, 40))
    with pytest.raises(ValueError, match="image_shape"):
        M.make_encoder("convnet", (1, 2, 3, 4))
    assert M.make_encoder("mlp", (1, 40))(torch.randn(2, 1, 40)).shape == (2, 128)
