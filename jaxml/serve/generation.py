"""Text generation for a served language model (`POST /v1/generate`): the method's KV-cached decoder,
one ahead-of-time compiled step per prompt-chunk size, warmed at start-up.

A step feeds a chunk of tokens into the cache and picks the next token from the last position's
logits. The prompt is fed in chunks of the sizes in `CHUNKS` (largest first: a 45-character prompt is
32 + 8 + 5 x 1), then one token per step, so any prompt length runs the warmed programs and nothing
compiles under load. Temperature and top-k are traced values of the one program (temperature 0 is
the greedy argmax, top-k 0 keeps every token), so a request's settings compile nothing either.
`Generator.tokens(...)` is a plain iterator: each `next()` runs one step, which the app runs on its
generation thread and sends to the client as it comes (server-sent events when streaming).

With temperature 0 the tokens equal `methods.lm.generate(..., temperature=0)` (which prefills the
prompt in one call and scans the rest); with temperature > 0 a request's `seed` reproduces the
server's own samples (token i is drawn with `fold_in(key(seed), i)`), not `generate`'s stream.
"""

from __future__ import annotations

from typing import Any, Iterator

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.methods.lm import empty_cache
from jaxml.models.transformer import Decoder
from jaxml.serve.payload import GenerateRequest

CHUNKS = (32, 8, 1)


def pick_token(logits: jax.Array, key: jax.Array, temperature: jax.Array, top_k: jax.Array) -> jax.Array:
    """[B, V] logits -> [B] tokens with traced settings: temperature <= 0 greedy, top_k 0 keeps every token."""
    logits = logits.astype(jnp.float32)
    greedy = jnp.argmax(logits, -1).astype(jnp.int32)
    scaled = logits / jnp.maximum(temperature, 1e-6)
    k = jnp.clip(top_k, 1, logits.shape[-1])
    kth = jnp.take_along_axis(jnp.sort(scaled, axis=-1)[:, ::-1], jnp.full((logits.shape[0], 1), k - 1), axis=-1)
    scaled = jnp.where((top_k > 0) & (scaled < kth), -jnp.inf, scaled)
    sampled = jax.random.categorical(key, scaled).astype(jnp.int32)
    return jnp.where(temperature <= 0, greedy, sampled)


def key_data(seed: int) -> np.ndarray:
    """The raw data of `jax.random.key(seed)` (uint32 [2] for the default generator), as a host array."""
    return np.asarray(jax.random.key_data(jax.random.key(seed)), np.uint32)


def prompt_chunks(length: int, sizes: tuple[int, ...]) -> list[int]:
    """A prompt length as a sum of chunk sizes, largest first (sizes include 1)."""
    out = []
    for size in sorted(sizes, reverse=True):
        n, length = divmod(length, size)
        out += [size] * n
    return out


class Generator:
    """The decoder of `cfg` with `params`, compiled for each chunk size; `tokens(sampling)` yields ids."""

    def __init__(self, cfg: Any, params: Any, tokenizer: Any):
        self.cfg, self.tokenizer = cfg, tokenizer
        self.params = jax.device_put(params)
        model = Decoder(cfg)
        self.empty = empty_cache(model, 1)  # immutable arrays: every request starts from the same one

        def step(params, cache, tokens, key_data, index, temperature, top_k):
            logits, updated = model.apply({"params": params, "cache": cache}, tokens, decode=True, mutable=["cache"])
            key = jax.random.fold_in(jax.random.wrap_key_data(key_data), index)
            return updated["cache"], pick_token(logits[:, -1], key, temperature, top_k)[0]

        self.chunks = tuple(c for c in CHUNKS if c <= cfg.max_len)
        scalars = (jax.ShapeDtypeStruct((2,), jnp.uint32), jax.ShapeDtypeStruct((), jnp.int32),
                   jax.ShapeDtypeStruct((), jnp.float32), jax.ShapeDtypeStruct((), jnp.int32))
        jitted = jax.jit(step)
        self.programs = {c: jitted.lower(self.params, self.empty, jax.ShapeDtypeStruct((1, c), jnp.int32),
                                         *scalars).compile() for c in self.chunks}
        for c in self.chunks:  # warm: the first call's one-off costs happen now
            self._run(c, self.empty, np.zeros((1, c), np.int32), key_data(0), 0, 0.0, 0)

    @property
    def max_len(self) -> int:
        return int(self.cfg.max_len)

    def _run(self, chunk, cache, tokens, key_data, index, temperature, top_k):
        cache, token = self.programs[chunk](self.params, cache, tokens, key_data, np.int32(index),
                                            np.float32(temperature), np.int32(top_k))
        return cache, int(token)

    def tokens(self, s: GenerateRequest) -> Iterator[int]:
        """The new token ids, one per `next()` (each runs one compiled step; the prompt's chunks first)."""
        key, cache, start, token = key_data(s.seed), self.empty, 0, 0
        for size in prompt_chunks(len(s.prompt_ids), self.chunks):
            chunk = s.prompt_ids[None, start: start + size].astype(np.int32)
            cache, token = self._run(size, cache, chunk, key, 0, s.temperature, s.top_k)
            start += size
        yield token
        for i in range(1, s.max_tokens):
            cache, token = self._run(1, cache, np.array([[token]], np.int32), key, i, s.temperature, s.top_k)
            yield token
