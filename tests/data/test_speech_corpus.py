"""The espeak-ng corpus: resampling, WAV reading, the plan (held-out voices, manifest fields), and a
tiny synthesised corpus whose cache is reused, not rebuilt (skipped without espeak-ng)."""

import subprocess
import wave

import numpy as np
import pytest

from jaxml.data import speech
from jaxml.errors import JaxmlError

needs_espeak = pytest.mark.skipif(not speech.espeak_available(), reason=speech.missing_espeak_message())
TINY = speech.CorpusSpec(num_train=4, num_val=1, num_test=2, min_digits=1, max_digits=2, seed=3)


def test_resampling_22050_to_16000_keeps_a_sine():
    t_in = np.arange(22050) / 22050
    out = speech.resample(np.sin(2 * np.pi * 440 * t_in), 22050, 16000)
    assert out.shape == (16000,)
    expected = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    np.testing.assert_allclose(out[200:-200], expected[200:-200], atol=2e-3)  # away from the edges


def test_read_wav_reads_16_bit_mono(tmp_path):
    samples = (np.sin(np.arange(100) / 5) * 20000).astype("<i2")
    path = tmp_path / "x.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(22050)
        w.writeframes(samples.tobytes())
    x, rate = speech.read_wav(path)
    assert rate == 22050
    np.testing.assert_allclose(x, samples / 32768.0)


def test_the_plan_holds_out_the_test_voices_and_names_every_manifest_field():
    rows = speech.plan(speech.CorpusSpec(num_train=200, num_val=20, num_test=50))
    assert rows == speech.plan(speech.CorpusSpec(num_train=200, num_val=20, num_test=50))
    assert {tuple(sorted(r)) for r in rows} == {("language", "pitch", "speed", "split", "text", "voice")}
    train_voices = {r["voice"] for r in rows if r["split"] != "test"}
    test_voices = {r["voice"] for r in rows if r["split"] == "test"}
    assert test_voices and not train_voices & test_voices
    assert {r["language"] for r in rows} == set(speech.LANGUAGES)
    assert all(1 <= len(r["text"]) <= 4 and r["text"].isdigit() for r in rows)
    with pytest.raises(JaxmlError, match="language 'xx'"):
        speech.plan(speech.CorpusSpec(languages=("en", "xx")))


def test_encode_and_decode_the_digit_vocabulary():
    assert speech.VOCAB[0] == speech.BLANK
    assert speech.decode(speech.encode("3019")) == "3019"
    with pytest.raises(JaxmlError, match="vocabulary"):
        speech.encode("3a")


@needs_espeak
def test_a_synthesised_corpus_is_cached_with_its_manifest_and_reused(tmp_path, monkeypatch):
    corpus = speech.load_speech(TINY, data_dir=str(tmp_path))
    assert (len(corpus.train), len(corpus.val), len(corpus.test)) == (4, 1, 2)
    assert corpus.directory.parent == tmp_path / "jaxml_cache" / "speech"
    audio = corpus.train["audio"]
    assert audio.dtype == np.int16 and (corpus.train["audio_length"] > 1600).all()  # > 0.1 s at 16 kHz
    row = corpus.manifest[0]
    assert speech.decode(corpus.train["labels"][0, :corpus.train["label_length"][0]]) == row["text"]
    assert corpus.train["language"][0] == speech.LANGUAGES.index(row["language"])
    files = sorted(corpus.directory.iterdir())
    mtimes = [p.stat().st_mtime_ns for p in files]

    def no_synthesis(*args, **kwargs):
        raise AssertionError("the cache was rebuilt")

    monkeypatch.setattr(subprocess, "run", no_synthesis)
    again = speech.load_speech(TINY, data_dir=str(tmp_path))
    np.testing.assert_array_equal(again.train["audio"], audio)
    assert [p.stat().st_mtime_ns for p in sorted(again.directory.iterdir())] == mtimes
    assert sorted(again.directory.iterdir()) == files


def test_without_espeak_synthesis_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    with pytest.raises(JaxmlError, match="espeak-ng is not installed"):
        speech.synthesise("1", "en", "m1", 170, 50)
