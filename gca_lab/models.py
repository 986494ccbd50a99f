"""Encoders, projection head and BYOL parts, in plain torch.

- :class:`MLP`: flattens its input; for vector data and tiny images.
- :class:`ConvNet`: a small conv encoder (conv-BN-ReLU stages, max-pool, global average pool) that
  trains on digits / Fashion-MNIST in minutes on a laptop CPU.
- :class:`ConvNet1d`: strided 1-D convolutions, flatten, linear (after the MNIST-1D paper's CNN) for
  signals ``(B, C, L)``; ``make_encoder("convnet")`` picks it for signal data.
- :func:`resnet18`: ResNet-18 with the CIFAR stem (3x3 conv stride 1, no max-pool), 512-d features,
  the CIFAR backbone of the authors' code (docs/reference_implementation.md).
- :class:`ProjectionHead`: Linear(no bias)-ReLU-Linear(no bias), the authors' projector.
- :class:`Predictor`, :func:`make_target`, :func:`momentum_update`, :class:`EMA`: BYOL's online
  predictor and momentum target network (Grill et al. 2020; arXiv 2502.20141, Table 1 relates BYOL to GCA).
- :class:`ContrastiveModel`: encoder + projector; ``forward`` gives projections ``z``, ``features``
  the encoder output ``h`` used by linear probes.

Every encoder has an ``out_dim`` attribute (its feature dimension). Nothing here assumes a device or a
memory format: inputs may be ``channels_last``.
"""

from __future__ import annotations

import copy
import math
from typing import Sequence

import torch
import torch.nn as nn
from torch import Tensor

from ._validate import check_choice, check_int, check_interval

__all__ = [
    "MLP",
    "ConvNet",
    "ConvNet1d",
    "BasicBlock",
    "ResNet",
    "resnet18",
    "ENCODERS",
    "make_encoder",
    "ProjectionHead",
    "Predictor",
    "ContrastiveModel",
    "make_target",
    "momentum_update",
    "EMA",
]


def _check_dims(name: str, dims: Sequence[int]) -> tuple[int, ...]:
    if isinstance(dims, int) or not isinstance(dims, (tuple, list)):
        raise TypeError(f"{name} must be a tuple of ints, got {dims!r}")
    return tuple(check_int(f"{name}[{i}]", d, minimum=1) for i, d in enumerate(dims))


class MLP(nn.Module):
    """Flatten, then ``[Linear - BatchNorm1d - ReLU] x len(hidden)``, then ``Linear(-> out_dim)``.

    Args:
        in_dim: flattened input size (``C * H * W`` or ``D``).
        hidden: hidden layer widths. Default ``(256,)``.
        out_dim: output (feature) size. Default 128.
        batchnorm: BatchNorm1d after each hidden Linear. Default True.

    Shapes: ``(B, *)`` with ``prod(*) == in_dim`` -> ``(B, out_dim)``.
    """

    def __init__(self, in_dim: int, hidden: Sequence[int] = (256,), out_dim: int = 128, *, batchnorm: bool = True) -> None:
        super().__init__()
        in_dim = check_int("in_dim", in_dim, minimum=1)
        hidden = _check_dims("hidden", hidden)
        out_dim = check_int("out_dim", out_dim, minimum=1)
        layers: list[nn.Module] = []
        prev = in_dim
        for width in hidden:
            layers.append(nn.Linear(prev, width, bias=not batchnorm))
            if batchnorm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.ReLU(inplace=True))
            prev = width
        layers.append(nn.Linear(prev, out_dim))
        self.net = nn.Sequential(*layers)
        self.in_dim = in_dim
        self.out_dim = out_dim

    def forward(self, x: Tensor) -> Tensor:
        # flatten (not view): channels_last inputs are not contiguous in NCHW order.
        return self.net(x.flatten(1))


def _conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class ConvNet(nn.Module):
    """Small conv encoder: per stage ``convs_per_stage x (3x3 conv - BN - ReLU)`` then 2x2 max-pool,
    then global average pooling.

    The max-pool is skipped once the feature map is smaller than 2x2, so the same network runs on
    8x8 digits, 28x28 Fashion-MNIST and 32x32 CIFAR.

    Args:
        in_channels: input channels (1 or 3).
        widths: channels per stage. Default ``(32, 64)``; ``out_dim = widths[-1]``.
        convs_per_stage: convolutions per stage. Default 1.

    Shapes: ``(B, in_channels, H, W)`` -> ``(B, widths[-1])``.
    """

    def __init__(self, in_channels: int, widths: Sequence[int] = (32, 64), *, convs_per_stage: int = 1) -> None:
        super().__init__()
        in_channels = check_int("in_channels", in_channels, minimum=1)
        widths = _check_dims("widths", widths)
        if not widths:
            raise ValueError("widths must hold at least one stage width, got ()")
        convs_per_stage = check_int("convs_per_stage", convs_per_stage, minimum=1)
        stages = []
        prev = in_channels
        for width in widths:
            layers: list[nn.Module] = []
            for _ in range(convs_per_stage):
                layers += _conv_bn_relu(prev, width)
                prev = width
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.in_channels = in_channels
        self.out_dim = widths[-1]

    def forward(self, x: Tensor) -> Tensor:
        for stage in self.stages:
            x = stage(x)
            if min(x.shape[-2:]) >= 2:  # static shape check, no device sync
                x = self.pool(x)
        return x.mean(dim=(2, 3))


class ConvNet1d(nn.Module):
    """Small 1-D conv encoder for signals such as MNIST-1D, after the CNN of the MNIST-1D paper
    (Greydanus 2020: strided 1-D convolutions, then the flattened feature map into a linear layer).

    ``len(widths) x (conv1d(k, stride 2) - BN - ReLU)``, then flatten, then
    ``Linear(widths[-1] * L', out_dim) - BN - ReLU``; the first kernel is ``first_kernel`` wide (a
    template stroke of MNIST-1D spans about 5 of its 40 samples), later ones 3. The feature map is
    flattened rather than averaged over time on purpose: a randomly initialised network with global
    average pooling already separates MNIST-1D well (its random features are translation
    invariant), which would hide what pretraining adds; position invariance here has to be learned
    from the views (measured: docs/measurements.md, "MNIST-1D encoder").

    Args:
        in_channels: input channels (1 for MNIST-1D).
        length: signal length ``L`` (40 for MNIST-1D); sets the flattened size.
        widths: channels per stage. Default ``(32, 64, 64)``.
        first_kernel: odd kernel size of the first convolution. Default 5.
        out_dim: feature size. Default 128.

    Shapes: ``(B, in_channels, length)`` -> ``(B, out_dim)``.
    """

    def __init__(
        self,
        in_channels: int = 1,
        length: int = 40,
        widths: Sequence[int] = (32, 64, 64),
        *,
        first_kernel: int = 5,
        out_dim: int = 128,
    ) -> None:
        super().__init__()
        in_channels = check_int("in_channels", in_channels, minimum=1)
        length = check_int("length", length, minimum=1)
        widths = _check_dims("widths", widths)
        if not widths:
            raise ValueError("widths must hold at least one stage width, got ()")
        first_kernel = check_int("first_kernel", first_kernel, minimum=1)
        if first_kernel % 2 == 0:
            raise ValueError(f"first_kernel must be odd, got {first_kernel}")
        out_dim = check_int("out_dim", out_dim, minimum=1)
        layers: list[nn.Module] = []
        prev, size = in_channels, length
        for i, width in enumerate(widths):
            k = first_kernel if i == 0 else 3
            layers += [nn.Conv1d(prev, width, k, stride=2, padding=k // 2, bias=False), nn.BatchNorm1d(width),
                       nn.ReLU(inplace=True)]
            prev, size = width, (size - 1) // 2 + 1  # length after a stride-2 conv with "same" padding
        self.convs = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(prev * size, out_dim, bias=False), nn.BatchNorm1d(out_dim),
                                  nn.ReLU(inplace=True))
        self.in_channels = in_channels
        self.length = length
        self.out_dim = out_dim

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.convs(x).flatten(1))


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 conv-BN, identity (or 1x1 conv-BN) shortcut, ReLU."""

    expansion = 1

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """ResNet with basic blocks; global average pooling, no classifier.

    Args:
        blocks: blocks per stage, e.g. ``(2, 2, 2, 2)`` for ResNet-18.
        in_channels: input channels. Default 3.
        cifar_stem: 3x3 stride-1 first conv and no max-pool (for 32x32 inputs, as in the authors' code); otherwise
            the ImageNet stem (7x7 stride-2 conv + 3x3 stride-2 max-pool). Default True.
        width: channels of the first stage (doubles per stage). Default 64, ``out_dim = 8 * width``.
        zero_init_residual: zero the last BN scale of each block (a block starts as identity).

    Shapes: ``(B, in_channels, H, W)`` -> ``(B, out_dim)``.
    """

    def __init__(
        self,
        blocks: Sequence[int],
        in_channels: int = 3,
        *,
        cifar_stem: bool = True,
        width: int = 64,
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        blocks = _check_dims("blocks", blocks)
        in_channels = check_int("in_channels", in_channels, minimum=1)
        width = check_int("width", width, minimum=1)
        if not isinstance(cifar_stem, bool):
            raise TypeError(f"cifar_stem must be a bool, got {cifar_stem!r}")
        if cifar_stem:
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, width, 3, stride=1, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            )
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(3, stride=2, padding=1),
            )
        layers = []
        cin = width
        for i, n in enumerate(blocks):
            cout = width * 2**i
            stage = [BasicBlock(cin, cout, stride=1 if i == 0 else 2)]
            stage += [BasicBlock(cout, cout) for _ in range(n - 1)]
            layers.append(nn.Sequential(*stage))
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.out_dim = cin
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(self.stem(x)).mean(dim=(2, 3))


def resnet18(in_channels: int = 3, cifar_stem: bool = True, *, width: int = 64, zero_init_residual: bool = False) -> ResNet:
    """ResNet-18 (blocks ``(2, 2, 2, 2)``), CIFAR stem by default; ``out_dim = 512`` at ``width=64``."""
    return ResNet((2, 2, 2, 2), in_channels, cifar_stem=cifar_stem, width=width, zero_init_residual=zero_init_residual)


ENCODERS = ("mlp", "convnet", "resnet18", "convnet1d")


def make_encoder(name: str, image_shape: Sequence[int], **kwargs: object) -> nn.Module:
    """Build the encoder ``name`` for inputs of shape ``image_shape``.

    Args:
        name: ``"mlp"`` (any input; flattens), ``"convnet"`` or ``"resnet18"`` (images ``(C, H, W)``),
            ``"convnet1d"`` (signals ``(C, L)``). ``"convnet"`` on signals builds :class:`ConvNet1d`, so
            the default encoder of a config fits MNIST-1D without naming it.
        image_shape: ``(C, H, W)``, ``(C, L)`` or ``(D,)`` (``Dataset.image_shape``).
        **kwargs: passed to :class:`MLP` (``hidden``, ``out_dim``, ``batchnorm``), :class:`ConvNet`
            (``widths``, ``convs_per_stage``), :class:`ConvNet1d` (``widths``, ``first_kernel``, ``out_dim``) or :func:`resnet18` (``cifar_stem``, ``width``,
            ``zero_init_residual``).

    Returns:
        An ``nn.Module`` with attribute ``out_dim``.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, one of {list(ENCODERS)}; got {type(name).__name__}")
    check_choice("name", name, ENCODERS)
    if not isinstance(image_shape, (tuple, list, torch.Size)) or len(image_shape) not in (1, 2, 3):
        raise ValueError(f"image_shape must be (C, H, W), (C, L) or (D,), got {image_shape!r}")
    shape = tuple(check_int(f"image_shape[{i}]", int(s), minimum=1) for i, s in enumerate(image_shape))
    if name == "mlp":
        return MLP(math.prod(shape), **kwargs)  # type: ignore[arg-type]
    if len(shape) == 2 and name in ("convnet", "convnet1d"):
        # "convnet" is the default encoder of every config: on signals it means the 1-D ConvNet.
        return ConvNet1d(shape[0], shape[1], **kwargs)  # type: ignore[arg-type]
    if name == "convnet1d":
        raise ValueError(f"encoder 'convnet1d' needs signal data, image_shape=(C, L); got {shape}")
    if len(shape) != 3:
        raise ValueError(f"encoder {name!r} needs image data, image_shape=(C, H, W); got {shape}")
    if name == "convnet":
        return ConvNet(shape[0], **kwargs)  # type: ignore[arg-type]
    return resnet18(shape[0], **kwargs)  # type: ignore[arg-type]


class ProjectionHead(nn.Module):
    """The paper's projector ``Linear(in, hidden) - ReLU - Linear(hidden, out)`` (the authors' code).

    Args:
        in_dim: encoder feature size (512 for ResNet-18).
        hidden_dim: hidden width. Default 2048.
        out_dim: projection size. Default 128.
        bias: biases in both Linears. Default False (as in the paper's code).
        batchnorm: BatchNorm1d after the first Linear (SimCLR-v2 style). Default False.

    Shapes: ``(B, in_dim)`` -> ``(B, out_dim)``.
    """

    def __init__(
        self, in_dim: int, hidden_dim: int = 2048, out_dim: int = 128, bias: bool = False, *, batchnorm: bool = False
    ) -> None:
        super().__init__()
        in_dim = check_int("in_dim", in_dim, minimum=1)
        hidden_dim = check_int("hidden_dim", hidden_dim, minimum=1)
        out_dim = check_int("out_dim", out_dim, minimum=1)
        layers: list[nn.Module] = [nn.Linear(in_dim, hidden_dim, bias=bias)]
        if batchnorm:
            layers.append(nn.BatchNorm1d(hidden_dim))
        layers += [nn.ReLU(inplace=True), nn.Linear(hidden_dim, out_dim, bias=bias)]
        self.net = nn.Sequential(*layers)
        self.in_dim = in_dim
        self.out_dim = out_dim

    def forward(self, h: Tensor) -> Tensor:
        return self.net(h)


class Predictor(nn.Module):
    """BYOL's predictor ``Linear - BatchNorm1d - ReLU - Linear`` (Grill et al. 2020).

    Args:
        in_dim: projection size. Default 128.
        hidden_dim: hidden width. Default 512 (BYOL uses 4096 at ImageNet scale).
        out_dim: output size; defaults to ``in_dim``.

    Shapes: ``(B, in_dim)`` -> ``(B, out_dim)``.
    """

    def __init__(self, in_dim: int = 128, hidden_dim: int = 512, out_dim: int | None = None) -> None:
        super().__init__()
        in_dim = check_int("in_dim", in_dim, minimum=1)
        hidden_dim = check_int("hidden_dim", hidden_dim, minimum=1)
        out_dim = in_dim if out_dim is None else check_int("out_dim", out_dim, minimum=1)
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden_dim),
            nn.BatchNorm1d(hidden_dim),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, out_dim),
        )
        self.in_dim = in_dim
        self.out_dim = out_dim

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class ContrastiveModel(nn.Module):
    """Encoder followed by a projection head.

    Args:
        encoder: a module with attribute ``out_dim`` (e.g. from :func:`make_encoder`).
        projector: the head; default ``ProjectionHead(encoder.out_dim, proj_hidden, proj_out)``.
            Pass ``nn.Identity()`` to train on the features directly.
        proj_hidden: hidden width of the default head. Default 2048.
        proj_out: output size of the default head. Default 128.

    ``forward(x) -> z`` of shape ``(B, proj_out)`` (the embeddings the losses compare);
    ``features(x) -> h`` of shape ``(B, encoder.out_dim)`` (what linear probes read).
    """

    def __init__(
        self,
        encoder: nn.Module,
        projector: nn.Module | None = None,
        *,
        proj_hidden: int = 2048,
        proj_out: int = 128,
    ) -> None:
        super().__init__()
        if not isinstance(encoder, nn.Module):
            raise TypeError(f"encoder must be an nn.Module, got {type(encoder).__name__}")
        feat = getattr(encoder, "out_dim", None)
        if isinstance(feat, bool) or not isinstance(feat, int):
            raise ValueError(f"encoder must have an int attribute out_dim, got {feat!r}")
        if projector is None:
            projector = ProjectionHead(feat, proj_hidden, proj_out)
        elif not isinstance(projector, nn.Module):
            raise TypeError(f"projector must be an nn.Module or None, got {type(projector).__name__}")
        self.encoder = encoder
        self.projector = projector
        self.feature_dim = feat
        self.out_dim = int(getattr(projector, "out_dim", feat))

    def features(self, x: Tensor) -> Tensor:
        """Encoder output ``h``: ``(B, ...)`` -> ``(B, encoder.out_dim)``."""
        return self.encoder(x)

    def forward(self, x: Tensor) -> Tensor:
        """Projection ``z = g(f(x))``: ``(B, ...)`` -> ``(B, out_dim)``."""
        return self.projector(self.encoder(x))


# --------------------------------------------------------------------------------------------------
# BYOL momentum network
# --------------------------------------------------------------------------------------------------


def make_target(online: nn.Module) -> nn.Module:
    """A deep copy of ``online`` with ``requires_grad=False`` on every parameter (BYOL's target)."""
    if not isinstance(online, nn.Module):
        raise TypeError(f"online must be an nn.Module, got {type(online).__name__}")
    target = copy.deepcopy(online)
    for p in target.parameters():
        p.requires_grad_(False)
    return target


@torch.no_grad()
def momentum_update(target: nn.Module, online: nn.Module, tau: float) -> None:
    """BYOL's exponential moving average, in place: ``theta_t <- tau theta_t + (1 - tau) theta_o``.

    ``tau`` is the EMA decay of BYOL (Grill et al. 2020), unrelated to any OT parameter. Floating buffers
    (BatchNorm running statistics) are averaged the same way; integer buffers (``num_batches_tracked``)
    are copied.

    Args:
        target: the momentum network (same architecture as ``online``).
        online: the trained network.
        tau: decay in ``[0, 1]``; 1 freezes the target, 0 copies the online network.
    """
    tau = check_interval("tau", tau, 0.0, 1.0)
    if not isinstance(target, nn.Module) or not isinstance(online, nn.Module):
        raise TypeError(
            f"target and online must be nn.Modules, got {type(target).__name__} and {type(online).__name__}"
        )
    tp, op = list(target.parameters()), list(online.parameters())
    if len(tp) != len(op) or any(a.shape != b.shape for a, b in zip(tp, op)):
        raise ValueError("target and online must have the same architecture (parameter shapes differ)")
    for t, o in zip(tp, op):
        t.lerp_(o.detach(), 1.0 - tau)
    tb, ob = list(target.buffers()), list(online.buffers())
    if len(tb) != len(ob):
        raise ValueError("target and online must have the same buffers")
    for t, o in zip(tb, ob):
        if t.is_floating_point():
            t.lerp_(o, 1.0 - tau)
        else:
            t.copy_(o)


class EMA:
    """BYOL's momentum target: holds ``module = make_target(online)`` and updates it.

    Args:
        online: the trained network.
        tau: EMA decay in ``[0, 1]``. Default 0.99.

    ``update(online, tau=None)`` applies :func:`momentum_update` (with ``self.tau`` unless given);
    ``state_dict`` / ``load_state_dict`` checkpoint the target.
    """

    def __init__(self, online: nn.Module, tau: float = 0.99) -> None:
        self.tau = check_interval("tau", tau, 0.0, 1.0)
        self.module = make_target(online)

    def update(self, online: nn.Module, tau: float | None = None) -> None:
        momentum_update(self.module, online, self.tau if tau is None else tau)

    def __call__(self, x: Tensor) -> Tensor:
        return self.module(x)

    def state_dict(self) -> dict:
        return {"tau": self.tau, "module": self.module.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.tau = check_interval("tau", state["tau"], 0.0, 1.0)
        self.module.load_state_dict(state["module"])
