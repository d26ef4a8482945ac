"""Noise mixing hits the asked SNR over the valid samples for every kind, keeps padding silent and
leaves the clean signal unchanged; pink noise has falling power."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.audio import noise


def test_every_kind_is_mixed_at_the_asked_snr_and_padding_stays_silent():
    rng = np.random.default_rng(0)
    clean = jnp.asarray(rng.normal(size=(6, 800)).astype(np.float32) * np.linspace(0.1, 1, 6)[:, None])
    length = jnp.asarray([800, 700, 600, 500, 400, 800])
    clean = clean * noise.valid_mask(800, length)
    kinds = jnp.asarray([0, 1, 2, 0, 1, 2])
    snr = jnp.asarray([0.0, 5.0, 10.0, 20.0, -5.0, 3.0])
    noisy = np.asarray(jax.jit(noise.noisy_batch)(jax.random.key(0), clean, length, kinds, snr))
    c = np.asarray(clean)
    for b in range(6):
        n = int(length[b])
        measured = 10 * np.log10(np.sum(c[b, :n] ** 2) / np.sum((noisy[b, :n] - c[b, :n]) ** 2))
        assert measured == pytest.approx(float(snr[b]), abs=1e-3)
        assert (noisy[b, n:] == 0).all()
    assert list(noise.NOISES) == ["white", "pink", "babble"]


def test_pink_noise_power_falls_with_frequency():
    x = np.asarray(jax.jit(noise.pink)(jax.random.key(1), jnp.zeros((4, 4096)), jnp.full((4,), 4096)))
    power = np.abs(np.fft.rfft(x, axis=-1)) ** 2
    low, high = power[:, 10:100].mean(), power[:, 1000:2000].mean()
    assert low > 10 * high


def test_babble_is_made_of_other_utterances():
    clean = jnp.zeros((3, 50)).at[0, :].set(1.0)
    out = np.asarray(jax.jit(noise.babble)(jax.random.key(2), clean, jnp.full((3,), 50)))
    assert out[1:].sum() > 0  # utterance 0's energy reaches the others
