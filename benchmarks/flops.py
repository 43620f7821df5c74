"""FLOPs per image of a Keras model, counted from its conv and dense layers.

Only multiply-accumulates count (2 FLOPs each): biases, activations, pooling and the softmax
add well under 1% for these models. Training costs about three forwards: the forward pass,
the gradient with respect to each layer's input, and the gradient with respect to its weights.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

FLOPS_PER_MAC = 2
TRAIN_PASSES = 3  # forward + backward (input gradients) + backward (weight gradients)


@dataclass(frozen=True)
class LayerMacs:
    """Multiply-accumulates one layer does for one image."""

    name: str
    kind: str
    macs: int


def conv2d_macs(output_shape: Sequence[int], kernel_shape: Sequence[int]) -> int:
    """MACs of a 2-D convolution: every output position applies the whole kernel once.

    *output_shape* is ``(height, width, out_channels)`` for one image, *kernel_shape* Keras'
    ``(k_h, k_w, in_channels, out_channels)``.
    """
    height, width, out_channels = output_shape
    if kernel_shape[-1] != out_channels:
        raise ValueError(
            f"kernel {tuple(kernel_shape)} has {kernel_shape[-1]} output channels, "
            f"the output {tuple(output_shape)} has {out_channels}"
        )
    return height * width * math.prod(kernel_shape)


def dense_macs(kernel_shape: Sequence[int], positions: int = 1) -> int:
    """MACs of a dense layer: its ``(inputs, units)`` kernel, once per position (1 when flat)."""
    inputs, units = kernel_shape
    return positions * inputs * units


@dataclass(frozen=True)
class FlopCount:
    """A model's work per image."""

    layers: tuple[LayerMacs, ...]

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def forward_flops(self) -> int:
        """FLOPs to predict one image."""
        return FLOPS_PER_MAC * self.macs

    @property
    def train_flops(self) -> int:
        """FLOPs to train on one image (forward and backward)."""
        return TRAIN_PASSES * self.forward_flops

    def as_dict(self) -> dict[str, Any]:
        return {
            "macs": self.macs,
            "forward_flops": self.forward_flops,
            "train_flops": self.train_flops,
            "layers": [vars(layer) for layer in self.layers],
        }


def count(layers: Iterable[LayerMacs]) -> FlopCount:
    """The count of a model made of *layers*."""
    return FlopCount(tuple(layers))


def count_keras(model: Any) -> FlopCount:
    """Count a built Keras model's conv and dense layers (others are nearly free)."""
    layers = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Conv2D":
            output = tuple(int(d) for d in layer.output.shape[1:])
            layers.append(LayerMacs(layer.name, kind, conv2d_macs(output, layer.kernel.shape)))
        elif kind == "Dense":
            # A dense layer on an [N, ..., features] input acts on every position.
            positions = math.prod(int(d) for d in layer.output.shape[1:-1])
            layers.append(LayerMacs(layer.name, kind, dense_macs(layer.kernel.shape, positions)))
        elif kind in ("Conv1D", "Conv3D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose"):
            raise ValueError(f"layer {layer.name}: counting {kind} is not implemented")
    return count(layers)
