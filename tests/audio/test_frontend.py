"""The log-mel front end against librosa (within 1e-4 relative, float32) on the committed espeak-ng
fixture, the mel filterbank, framing and SpecAugment."""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.audio.frontend import FrontEnd, frame, mel_filterbank, spec_augment

FIXTURE = Path(__file__).resolve().parent.parent / "data" / "speech_fixture.npz"


@pytest.fixture(scope="module")
def fixture_audio():
    with np.load(FIXTURE) as f:
        return f["audio"].astype(np.float32) / 32768.0, f["audio_length"]


def test_the_fixture_is_small_and_holds_speech(fixture_audio):
    audio, length = fixture_audio
    assert FIXTURE.stat().st_size < 20_000
    assert audio.shape[0] >= 2 and (np.abs(audio).max(1) > 0.1).all()


def test_log_mel_matches_librosa_within_1e4_relative(fixture_audio):
    librosa = pytest.importorskip("librosa")
    audio, _ = fixture_audio
    fe = FrontEnd()
    ours = np.asarray(jax.jit(fe.log_mel)(jnp.asarray(audio)))
    power = np.asarray(jax.jit(fe.mel_power)(jnp.asarray(audio)))
    assert ours.dtype == np.float32
    for i in range(audio.shape[0]):
        ref_power = librosa.feature.melspectrogram(y=audio[i], sr=16000, n_fft=400, hop_length=160, n_mels=40).T
        ref = librosa.power_to_db(ref_power, ref=1.0, amin=1e-10, top_db=None)
        assert ours[i].shape == ref.shape == (fe.num_frames(audio.shape[1]), 40)
        np.testing.assert_allclose(ours[i], ref, rtol=1e-4, atol=0)
        loud = ref_power > 1e-6 * ref_power.max()  # the mel power itself, where it is above the float32 noise
        np.testing.assert_allclose(power[i][loud], ref_power[loud], rtol=1e-4)


def test_mel_filterbank_matches_librosa():
    librosa = pytest.importorskip("librosa")
    for sr, n_fft, n_mels, fmin, fmax in ((16000, 400, 40, 0.0, None), (22050, 512, 64, 50.0, 8000.0)):
        ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax).T
        np.testing.assert_allclose(mel_filterbank(sr, n_fft, n_mels, fmin, fmax), ref, rtol=1e-5, atol=1e-9)


def test_frames_are_centred_and_hop_apart():
    x = jnp.arange(10.0)
    frames = np.asarray(frame(x, 4, 3))
    assert frames.shape == (1 + 10 // 3, 4)
    np.testing.assert_array_equal(frames[0], [0, 0, 0, 1])   # two zeros of centre padding
    np.testing.assert_array_equal(frames[1], [1, 2, 3, 4])


def test_spec_augment_masks_bands_inside_the_valid_frames_and_is_jittable():
    feats = jnp.ones((50, 20))
    masked = jax.jit(lambda k: spec_augment(k, feats, 30, freq_masks=1, freq_width=5, time_masks=2, time_width=6))
    seen_freq = seen_time = False
    for s in range(20):
        out = np.asarray(masked(jax.random.key(s)))
        zero = out == 0
        cols = zero.all(0)                       # frequency bands masked at every frame
        rows = zero.all(1)                       # frames masked at every band
        assert cols.sum() <= 5 and rows.sum() <= 12
        assert not rows[30:].any()               # time masks stay inside the 30 valid frames
        assert (zero == (cols[None, :] | rows[:, None])).all()
        seen_freq |= cols.any()
        seen_time |= rows.any()
    assert seen_freq and seen_time
