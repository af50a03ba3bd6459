"""The NAS-Bench-201 network in torch (layout of the benchmark's published models)."""

from __future__ import annotations

import torch
from torch import nn

EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, padding: int = 0):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out),
        )


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


def make_op(op: int, channels: int) -> nn.Module:
    if op == 0:
        return Zero()
    if op == 1:
        return nn.Identity()
    if op == 2:
        return ReLUConvBN(channels, channels, 1)
    if op == 3:
        return ReLUConvBN(channels, channels, 3, padding=1)
    if op == 4:
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NAS-Bench-201 op {op}")


class Cell(nn.Module):
    """Four nodes; node j is the sum of the ops on its incoming edges."""

    def __init__(self, arch: tuple[int, ...], channels: int):
        super().__init__()
        self.arch = arch
        self.ops = nn.ModuleList(make_op(op, channels) for op in arch)

    def forward(self, x):
        nodes = [x]
        for target in (1, 2, 3):
            nodes.append(sum(self.ops[i](nodes[src]) for i, (t, src) in enumerate(EDGES) if t == target))
        return nodes[3]


class ResidualReduction(nn.Module):
    """Stride-2 ResNet basic block joining two stages."""

    def __init__(self, c_in: int, c_out: int, stride: int = 2):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=stride, padding=1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, padding=1)
        if stride == 2:
            self.shortcut = nn.Sequential(nn.AvgPool2d(2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False))
        elif c_in != c_out:
            self.shortcut = ReLUConvBN(c_in, c_out, 1)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    def __init__(
        self, arch: tuple[int, ...], num_classes: int = 10, channels: int = 16, cells_per_stage: int = 5
    ):
        super().__init__()
        self.arch = tuple(arch)
        c = channels
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        layers: list[nn.Module] = []
        for stage in range(3):
            if stage > 0:
                layers.append(ResidualReduction(c, c * 2))
                c *= 2
            layers.extend(Cell(self.arch, c) for _ in range(cells_per_stage))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(self.pool(x).flatten(1))
