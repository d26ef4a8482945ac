"""The speech encoder with named heads: conv subsampling -> BiLSTM -> one shared dense layer -> heads.

log-mel [B, F, M] -> conv 3x3 stride 2 -> conv 3x3 (`layers.Conv`: im2col on CPU, where XLA's own
convolution is slow inside the loop's scan; time and mel bands halved) -> dense -> `layers` x BiLSTM over the ceil(F / 2) steps -> dense `shared` (the last shared
layer, which GradNorm measures; `models/multihead.py`'s name) -> one dense head per task under
`head_<task>`, of one of three shapes (`HEAD_SHAPES`):

- `step`: per encoder step [B, ceil(F/2), size] (CTC logits);
- `frame`: per input frame [B, F, size], each step predicting its two frames (an enhancement mask);
- `utterance`: the masked mean of the steps -> [B, size] (language ID, voice ID).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxml.models.layers import Conv
from jaxml.models.multihead import HEAD_PREFIX, SHARED_LAYER

HEAD_SHAPES = ("step", "frame", "utterance")
SUBSAMPLING = 2


def encoder_lengths(frames: jax.Array) -> jax.Array:
    """Encoder steps of an input of `frames` frames (stride-2 SAME convolution)."""
    return (frames + SUBSAMPLING - 1) // SUBSAMPLING


class SpeechNet(nn.Module):
    """`heads`: (task, shape, size) triples, shape one of `HEAD_SHAPES`. Returns {task: output}."""

    heads: Sequence[tuple[str, str, int]]
    channels: int = 32
    hidden: int = 96
    width: int = 128
    layers: int = 1

    @nn.compact
    def __call__(self, features: jax.Array, frames: jax.Array, *, train: bool = False) -> dict[str, jax.Array]:
        batch, num_frames, _ = features.shape
        x = nn.relu(Conv(self.channels, 3, stride=SUBSAMPLING, name="conv_0")(features[..., None]))
        x = nn.relu(Conv(self.channels, 3, name="conv_1")(x))
        x = nn.relu(nn.Dense(self.hidden, name="project")(x.reshape(batch, x.shape[1], -1)))
        steps = encoder_lengths(frames)
        for i in range(self.layers):
            fwd = nn.RNN(nn.OptimizedLSTMCell(self.hidden), name=f"lstm_fwd_{i}")
            bwd = nn.RNN(nn.OptimizedLSTMCell(self.hidden), name=f"lstm_bwd_{i}")
            x = nn.Bidirectional(fwd, bwd, name=f"bilstm_{i}")(x, seq_lengths=steps)
        z = nn.relu(nn.Dense(self.width, name=SHARED_LAYER)(x))
        valid = (jnp.arange(z.shape[1])[None, :] < steps[:, None]).astype(z.dtype)[..., None]
        pooled = jnp.sum(z * valid, 1) / jnp.maximum(jnp.sum(valid, 1), 1.0)
        out = {}
        for task, shape, size in self.heads:
            name = f"{HEAD_PREFIX}{task}"
            if shape == "step":
                out[task] = nn.Dense(size, name=name)(z)
            elif shape == "frame":
                y = nn.Dense(SUBSAMPLING * size, name=name)(z)
                out[task] = y.reshape(batch, -1, size)[:, :num_frames]
            elif shape == "utterance":
                out[task] = nn.Dense(size, name=name)(pooled)
            else:
                raise ValueError(f"head shape {shape!r}; choose one of {', '.join(HEAD_SHAPES)}")
        return out
