"""The reward network of the neural-linear Thompson agent (`methods/bandits.py`): an MLP trunk whose last
hidden layer is the feature map phi(x), and a linear head with one predicted reward per arm."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax


class RewardNet(nn.Module):
    """x [..., d] -> (phi(x) [..., hidden[-1]], predicted rewards [..., num_arms])."""

    num_arms: int
    hidden: Sequence[int] = (32, 32)

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        for width in self.hidden:
            x = nn.relu(nn.Dense(width)(x))
        return x, nn.Dense(self.num_arms, name="head")(x)
