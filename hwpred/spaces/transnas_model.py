"""TransNAS-Bench-101 macro backbone in torch, with a classification head."""

from __future__ import annotations

from torch import nn

from .nb201_model import ReLUConvBN, ResidualReduction


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
            blocks.append(ResidualReduction(c, c_out, stride=stride))
            blocks.append(ResidualReduction(c_out, c_out, stride=1))
            c = c_out
        self.body = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes))
        self.out_channels = c

    def forward(self, x):
        return self.head(self.body(self.stem(x)))
