"""Noise at a chosen signal-to-noise ratio, jittable: white, coloured (pink, 1/f power) and babble
(a sum of other utterances). Noise kinds are values in `NOISES`; the clean signal is never changed,
so it stays the enhancement target.

SNR = 10 log10(P_signal / P_noise), the powers the mean squares over each utterance's valid samples.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

BABBLE_TALKERS = 4


def valid_mask(num_samples: int, length: jax.Array) -> jax.Array:
    """[B, num_samples] 1.0 on each utterance's first `length` samples."""
    return (jnp.arange(num_samples)[None, :] < length[:, None]).astype(jnp.float32)


def mean_power(x: jax.Array, mask: jax.Array) -> jax.Array:
    return jnp.sum(jnp.square(x) * mask, -1) / jnp.maximum(jnp.sum(mask, -1), 1.0)


def white(key: jax.Array, clean: jax.Array, length: jax.Array) -> jax.Array:
    """Gaussian white noise shaped like `clean` [B, samples]."""
    return jax.random.normal(key, clean.shape, clean.dtype)


def pink(key: jax.Array, clean: jax.Array, length: jax.Array) -> jax.Array:
    """Coloured noise with power falling as 1/f: white noise shaped by 1/sqrt(f) in the frequency domain."""
    spectrum = jnp.fft.rfft(jax.random.normal(key, clean.shape, clean.dtype), axis=-1)
    f = jnp.arange(spectrum.shape[-1], dtype=clean.dtype)
    shaped = spectrum / jnp.sqrt(jnp.maximum(f, 1.0))
    return jnp.fft.irfft(shaped, n=clean.shape[-1], axis=-1).astype(clean.dtype)


def babble(key: jax.Array, clean: jax.Array, length: jax.Array) -> jax.Array:
    """The sum of `BABBLE_TALKERS` other utterances of the batch (cyclic shifts of the batch by random
    non-zero offsets, each delayed by a random number of samples)."""
    batch, samples = clean.shape
    okey, dkey = jax.random.split(key)
    offsets = jax.random.randint(okey, (BABBLE_TALKERS,), 1, max(batch, 2))
    delays = jax.random.randint(dkey, (BABBLE_TALKERS,), 0, samples)
    talkers = [jnp.roll(jnp.roll(clean, offsets[i], axis=0), delays[i], axis=1) for i in range(BABBLE_TALKERS)]
    return sum(talkers)


NOISES: dict[str, Callable[[jax.Array, jax.Array, jax.Array], jax.Array]] = {
    "white": white, "pink": pink, "babble": babble}


def mix_at_snr(clean: jax.Array, noise: jax.Array, length: jax.Array, snr_db: jax.Array) -> jax.Array:
    """clean + g noise, g per utterance such that 10 log10(P_clean / P_(g noise)) = `snr_db` over the valid
    samples; the padding stays zero."""
    mask = valid_mask(clean.shape[-1], length)
    noise = noise * mask
    gain = jnp.sqrt(mean_power(clean, mask) / jnp.maximum(mean_power(noise, mask), 1e-20) / 10.0 ** (snr_db / 10.0))
    return clean + gain[:, None] * noise


def noisy_batch(key: jax.Array, clean: jax.Array, length: jax.Array, kinds: jax.Array, snr_db: jax.Array) -> jax.Array:
    """`clean` [B, samples] with noise kind `kinds[b]` (an index into `NOISES`) at `snr_db[b]` dB."""
    keys = jax.random.split(key, len(NOISES))
    noises = jnp.stack([fn(k, clean, length) for k, fn in zip(keys, NOISES.values())])  # [K, B, samples]
    noise = jnp.take_along_axis(noises, kinds[None, :, None], axis=0)[0]
    return mix_at_snr(clean, noise, length, snr_db)


def snr_db(reference: jax.Array, estimate: jax.Array, axis=None) -> jax.Array:
    """10 log10(sum reference^2 / sum (estimate - reference)^2)."""
    return 10.0 * jnp.log10(jnp.sum(jnp.square(reference), axis) /
                            jnp.maximum(jnp.sum(jnp.square(estimate - reference), axis), 1e-20))
