"""The architecture-search family: a CNN or MLP whose activation is picked by a traced index, so
candidates that differ only in activation share one compiled (and `vmap`-ed) program.

CNN: `depth` stages of [conv k x k (width * 2**i features) - activation - 2x2 max-pool], then one dense
layer to the classes: the same function and parameter tree as
`models.CNN(features=(width, 2*width, ...), kernel_size=k, dense=(), activation=name)`.
MLP: `depth` hidden layers of `width` units: the same as `models.MLP(hidden=(width,) * depth)`.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxml.models.layers import ACTIVATIONS, Conv, Dense, max_pool

FAMILIES = ("cnn", "mlp")


def apply_activation(index: jax.Array, names: tuple[str, ...], x: jax.Array) -> jax.Array:
    """ACTIVATIONS[names[index]](x) with a traced index (under vmap: every branch, then a select)."""
    return jax.lax.switch(index, [ACTIVATIONS[n] for n in names], x)


class CandidateNet(nn.Module):
    num_classes: int
    family: str = "cnn"
    depth: int = 2
    width: int = 16
    kernel_size: int = 3
    activations: tuple[str, ...] = tuple(ACTIVATIONS)

    @nn.compact
    def __call__(self, x: jax.Array, activation: jax.Array, *, train: bool = False) -> jax.Array:
        act = lambda v: apply_activation(activation, self.activations, v)
        if self.family == "cnn":
            for i in range(self.depth):
                x = max_pool(act(Conv(self.width * 2 ** i, self.kernel_size, name=f"Conv_{i}")(x)))
            x = x.reshape(x.shape[0], -1)
        elif self.family == "mlp":
            x = x.reshape(x.shape[0], -1)
            for j in range(self.depth):
                x = act(Dense(self.width, name=f"Dense_{j}")(x))
        else:
            raise ValueError(f"family={self.family!r}; choose one of {', '.join(FAMILIES)}")
        n_dense = 0 if self.family == "cnn" else self.depth
        return Dense(self.num_classes, name=f"Dense_{n_dense}")(x)


def forward_flops(family: str, depth: int, width: int, kernel_size: int, input_shape: tuple[int, ...],
                  num_classes: int) -> int:
    """2 x multiply-adds of one example's forward pass through the conv and dense layers."""
    h, w, c = input_shape
    flops = 0
    if family == "cnn":
        for i in range(depth):
            out = width * 2 ** i
            flops += 2 * h * w * kernel_size * kernel_size * c * out
            h, w, c = h // 2, w // 2, out
        features = h * w * c
    else:
        features = h * w * c
        for _ in range(depth):
            flops += 2 * features * width
            features = width
    return flops + 2 * features * num_classes
