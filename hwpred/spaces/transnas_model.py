"""TransNAS-Bench-101 macro backbone in torch, with a classification head.

The layout of the benchmark's own backbones: a layer is two ResNet basic blocks, the first
carrying the layer's stride and channel change; a block whose shape changes takes its shortcut
through a strided 1x1 conv + BN (so any input resolution works, odd sizes included, e.g. the
720x1080 frames the benchmark timed); the head is global average pooling and a linear layer.
"""

from __future__ import annotations

from torch import nn

from .nb201_model import ReLUConvBN


class BasicBlock(nn.Module):
    """ReLU-Conv-BN 3x3 (stride s) -> ReLU-Conv-BN 3x3, plus the (projected) input."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=stride, padding=1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, padding=1)
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class MacroNetwork(nn.Module):
    def __init__(self, layers: tuple[int, ...], num_classes: int = 75, base_channels: int = 64):
        super().__init__()
        self.layers_code = tuple(layers)
        self.stem = nn.Sequential(
            nn.Conv2d(3, base_channels // 2, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(base_channels // 2),
            ReLUConvBN(base_channels // 2, base_channels, 3, stride=2, padding=1),
        )
        c = base_channels
        blocks: list[nn.Module] = []
        for code in self.layers_code:
            c_out = c * 2 if code in (2, 4) else c
            stride = 2 if code in (3, 4) else 1
            blocks.append(BasicBlock(c, c_out, stride=stride))
            blocks.append(BasicBlock(c_out, c_out, stride=1))
            c = c_out
        self.body = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes))
        self.out_channels = c

    def forward(self, x):
        return self.head(self.body(self.stem(x)))
