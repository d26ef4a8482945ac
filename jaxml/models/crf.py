"""Linear-chain CRF: log-partition (forward algorithm), path score and Viterbi decoding in `lax.scan`,
and a BiLSTM (or embedding-only) encoder + CRF tagger.

Shapes are for one sequence (`emissions [T, K]`, `tags [T]`, `mask [T]`); `jax.vmap` them over a batch.
`transitions[i, j]` scores tag i followed by tag j; `start[j]` / `end[j]` score the first / last tag.
`mask` marks the valid prefix of a padded sequence (at least one valid step); padding changes nothing.
"""

from __future__ import annotations

from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

ENCODERS = ("bilstm", "embedding")


class CRFParams(NamedTuple):
    transitions: jax.Array  # [K, K]
    start: jax.Array  # [K]
    end: jax.Array  # [K]


def _mask(emissions: jax.Array, mask: jax.Array | None) -> jax.Array:
    return jnp.ones(emissions.shape[0], bool) if mask is None else mask.astype(bool)


def log_partition(emissions: jax.Array, crf: CRFParams, mask: jax.Array | None = None) -> jax.Array:
    """log Z = log sum over all tag paths of exp(score(path)); the forward algorithm in one scan."""
    mask = _mask(emissions, mask)
    alpha0 = crf.start + emissions[0]

    def step(alpha, xs):
        e_t, m_t = xs
        new = jax.nn.logsumexp(alpha[:, None] + crf.transitions, axis=0) + e_t
        return jnp.where(m_t, new, alpha), None

    alpha, _ = jax.lax.scan(step, alpha0, (emissions[1:], mask[1:]))
    return jax.nn.logsumexp(alpha + crf.end)


def path_score(emissions: jax.Array, tags: jax.Array, crf: CRFParams, mask: jax.Array | None = None) -> jax.Array:
    """score(tags) = start[y0] + sum_t emissions[t, y_t] + sum_t transitions[y_{t-1}, y_t] + end[y_last]."""
    mask = _mask(emissions, mask)
    m = mask.astype(emissions.dtype)
    emit = jnp.take_along_axis(emissions, tags[:, None], axis=1)[:, 0]
    trans = crf.transitions[tags[:-1], tags[1:]]
    last = tags[jnp.sum(mask) - 1]
    return crf.start[tags[0]] + jnp.sum(emit * m) + jnp.sum(trans * m[1:]) + crf.end[last]


def nll(emissions: jax.Array, tags: jax.Array, crf: CRFParams, mask: jax.Array | None = None) -> jax.Array:
    """Negative log-likelihood of `tags`: log Z - score(tags)."""
    return log_partition(emissions, crf, mask) - path_score(emissions, tags, crf, mask)


def viterbi(emissions: jax.Array, crf: CRFParams, mask: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """(best tags [T] (0 on padding), best path score); max-product forward scan + reverse backtrace scan."""
    mask = _mask(emissions, mask)
    num_tags = emissions.shape[1]
    delta0 = crf.start + emissions[0]

    def forward(delta, xs):
        e_t, m_t = xs
        scores = delta[:, None] + crf.transitions  # [previous, current]
        new = jnp.max(scores, axis=0) + e_t
        back = jnp.where(m_t, jnp.argmax(scores, axis=0), jnp.arange(num_tags))  # padding: identity
        return jnp.where(m_t, new, delta), back

    delta, backs = jax.lax.scan(forward, delta0, (emissions[1:], mask[1:]))  # backs [T-1, K]
    final = delta + crf.end
    last = jnp.argmax(final)

    def backward(tag, back):
        prev = back[tag]
        return prev, prev

    _, earlier = jax.lax.scan(backward, last, backs, reverse=True)
    tags = jnp.concatenate([earlier, last[None]])
    return jnp.where(mask, tags, 0), jnp.max(final)


class CRFTagger(nn.Module):
    """Embedding -> `layers` x BiLSTM (or nothing, `encoder="embedding"`) -> per-tag emissions, plus the
    CRF's transition/start/end scores. Returns (emissions [B, T, K] float32, CRFParams)."""

    vocab_size: int
    num_tags: int
    encoder: str = "bilstm"
    embed_dim: int = 32
    hidden: int = 64
    layers: int = 1
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, tokens: jax.Array, lengths: jax.Array) -> tuple[jax.Array, CRFParams]:
        x = nn.Embed(self.vocab_size, self.embed_dim, dtype=self.dtype)(tokens)
        if self.encoder == "bilstm":
            for i in range(self.layers):
                fwd = nn.RNN(nn.OptimizedLSTMCell(self.hidden, dtype=self.dtype), name=f"lstm_fwd_{i}")
                bwd = nn.RNN(nn.OptimizedLSTMCell(self.hidden, dtype=self.dtype), name=f"lstm_bwd_{i}")
                x = nn.Bidirectional(fwd, bwd, name=f"bilstm_{i}")(x, seq_lengths=lengths)
        elif self.encoder != "embedding":
            raise ValueError(f"encoder={self.encoder!r}; choose one of {', '.join(ENCODERS)}")
        emissions = nn.Dense(self.num_tags, dtype=self.dtype, name="emissions")(x).astype(jnp.float32)
        zeros = nn.initializers.zeros
        crf = CRFParams(self.param("transitions", zeros, (self.num_tags, self.num_tags)),
                        self.param("start", zeros, (self.num_tags,)), self.param("end", zeros, (self.num_tags,)))
        return emissions, crf
