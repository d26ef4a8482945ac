"""A shared trunk with one dense head per task (multi-task learning)."""

from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax

from jaxml.models.layers import ACTIVATIONS, Dense

SHARED_LAYER = "shared"   # the last shared layer W (the layer GradNorm measures gradient norms at)
HEAD_PREFIX = "head_"     # parameters of task t's head live under f"{HEAD_PREFIX}{t}"


class MultiHeadNet(nn.Module):
    """trunk (any module; its output is a `width`-wide feature layer) -> act -> `shared` dense -> act ->
    one dense head per task: returns {task: [B, *shape]}."""

    trunk: nn.Module
    width: int
    heads: Sequence[tuple[str, tuple[int, ...]]]
    activation: str = "relu"

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> dict[str, jax.Array]:
        act = ACTIVATIONS[self.activation]
        h = act(self.trunk(x, train=train))
        z = act(Dense(self.width, name=SHARED_LAYER)(h))
        return {name: Dense(math.prod(shape), name=f"{HEAD_PREFIX}{name}")(z).reshape((-1,) + tuple(shape))
                for name, shape in self.heads}
