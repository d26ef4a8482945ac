"""The log-mel front end, jittable: framing, periodic Hann window, STFT, mel filterbank, log
compression, and SpecAugment time / frequency masking (Park et al. 2019, docs/references.md#speech).

Conventions are librosa's defaults (`librosa.feature.melspectrogram` with `center=True`,
`pad_mode="constant"`, power 2, Slaney mel scale and area normalisation; `librosa.power_to_db` with
`ref=1`, `top_db=None`), so the features match librosa's within 1e-4 relative in float32 (tested).
The filterbank is a numpy constant built once on the host; everything applied to audio is jnp.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True)
class FrontEnd:
    """25 ms windows every 10 ms at 16 kHz, 40 mel bands from 0 Hz to Nyquist, dB with floor `amin`."""

    sample_rate: int = 16_000
    n_fft: int = 400
    hop: int = 160
    n_mels: int = 40
    fmin: float = 0.0
    fmax: float | None = None
    amin: float = 1e-10

    def num_frames(self, num_samples):
        """Frames of a centred STFT of `num_samples` samples (works on ints and arrays)."""
        return 1 + num_samples // self.hop

    def filterbank(self) -> np.ndarray:
        return mel_filterbank(self.sample_rate, self.n_fft, self.n_mels, self.fmin, self.fmax)

    def mel_power(self, audio: jax.Array) -> jax.Array:
        """[..., samples] float -> mel power [..., frames, n_mels]."""
        return mel_spectrogram(audio, self.n_fft, self.hop, jnp.asarray(self.filterbank(), jnp.float32))

    def log_mel(self, audio: jax.Array) -> jax.Array:
        """[..., samples] float -> log-mel in dB [..., frames, n_mels]."""
        return power_to_db(self.mel_power(audio), self.amin)


# ------------------------------------------------------------------------------ mel scale (Slaney)

_F_SP = 200.0 / 3            # Hz per mel below 1 kHz
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOG_STEP = np.log(6.4) / 27.0


def hz_to_mel(hz):
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, np.float64)
    return np.where(hz >= _MIN_LOG_HZ, _MIN_LOG_MEL + np.log(np.maximum(hz, 1e-10) / _MIN_LOG_HZ) / _LOG_STEP,
                    hz / _F_SP)


def mel_to_hz(mel):
    mel = np.asarray(mel, np.float64)
    return np.where(mel >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOG_STEP * (mel - _MIN_LOG_MEL)), _F_SP * mel)


@functools.lru_cache(maxsize=16)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """[n_fft // 2 + 1, n_mels] triangular filters equally spaced on the mel scale, each scaled to unit
    area (2 / bandwidth in Hz)."""
    fmax = sample_rate / 2 if fmax is None else fmax
    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper)) * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    weights.setflags(write=False)
    return weights.T.astype(np.float32)


# ----------------------------------------------------------------------------------------- STFT


def hann_window(n: int) -> jax.Array:
    """The periodic Hann window of length `n` (the DFT-even one spectral analysis uses)."""
    return 0.5 - 0.5 * jnp.cos(2 * jnp.pi * jnp.arange(n) / n)


def frame(audio: jax.Array, n_fft: int, hop: int) -> jax.Array:
    """[..., samples] -> [..., 1 + samples // hop, n_fft]: centred frames (n_fft // 2 zeros padded at
    both ends), one every `hop` samples."""
    pad = [(0, 0)] * (audio.ndim - 1) + [(n_fft // 2, n_fft // 2)]
    padded = jnp.pad(audio, pad)
    count = 1 + audio.shape[-1] // hop
    idx = jnp.arange(count)[:, None] * hop + jnp.arange(n_fft)[None, :]
    return padded[..., idx]


def stft(audio: jax.Array, n_fft: int, hop: int) -> jax.Array:
    """Complex [..., frames, n_fft // 2 + 1]: the DFT of each Hann-windowed frame."""
    return jnp.fft.rfft(frame(audio, n_fft, hop) * hann_window(n_fft).astype(audio.dtype), axis=-1)


def mel_spectrogram(audio: jax.Array, n_fft: int, hop: int, filterbank: jax.Array) -> jax.Array:
    """Mel power [..., frames, n_mels] = |STFT|^2 @ filterbank."""
    spec = stft(audio, n_fft, hop)
    power = jnp.square(spec.real) + jnp.square(spec.imag)
    return power @ filterbank


def power_to_db(power: jax.Array, amin: float = 1e-10) -> jax.Array:
    """10 log10(max(power, amin)): the log compression."""
    return 10.0 * jnp.log10(jnp.maximum(power, amin))


# ----------------------------------------------------------------------------------- SpecAugment


def mask_bands(key: jax.Array, size: int, count: int, max_width: int, limit: jax.Array | int | None = None) -> jax.Array:
    """[size] bool: the union of `count` bands of width U{0..max_width} at uniform starts in
    [0, limit - width] (`limit` the valid length, default `size`)."""
    limit = size if limit is None else limit
    wkey, skey = jax.random.split(key)
    widths = jax.random.randint(wkey, (count,), 0, max_width + 1)
    starts = jnp.floor(jax.random.uniform(skey, (count,)) * jnp.maximum(limit - widths + 1, 1)).astype(jnp.int32)
    pos = jnp.arange(size)[None, :]
    return jnp.any((pos >= starts[:, None]) & (pos < (starts + widths)[:, None]), axis=0)


def spec_augment(key: jax.Array, features: jax.Array, length: jax.Array | int, *, freq_masks: int = 2,
                 freq_width: int = 8, time_masks: int = 2, time_width: int = 10, fill: float = 0.0) -> jax.Array:
    """SpecAugment's frequency and time masking of one [frames, n_mels] example (no time warping):
    masked cells set to `fill`; time masks fall inside the first `length` frames."""
    fkey, tkey = jax.random.split(key)
    frames, mels = features.shape
    fmask = mask_bands(fkey, mels, freq_masks, freq_width)
    tmask = mask_bands(tkey, frames, time_masks, time_width, length)
    return jnp.where(fmask[None, :] | tmask[:, None], fill, features)
