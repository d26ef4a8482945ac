"""A spoken-digits corpus synthesised with Debian's `espeak-ng` (no downloads), cached and reused.

Each utterance is a random digit string ("3 1 4") spoken in one of `LANGUAGES` (en, es, fr, de) by one
espeak-ng voice variant (`+m1`, `+f3`, ...), at a random speed (words per minute) and pitch (0-99).
espeak-ng writes a 22.05 kHz 16-bit mono WAV into a temporary file; it is read with the stdlib `wave`
module, resampled to 16 kHz by polyphase filtering (`resample`), trimmed of the leading and trailing
silence and padded to one length. The CTC target is the digit characters ("314"), the same in every
language; the language and the voice are labels too.

Splits: `train` and `val` (held-out utterances of the training voices, for voice ID) and `test`, whose
voices (`TEST_VOICES`) are never heard in training: the test measures generalisation to unseen
speakers. Arrays of every split: `audio` int16 [N, L], `audio_length`, `labels` int32 [N, max_digits]
(indices into `VOCAB`, 0 the CTC blank, padded with 0), `label_length`, `language`, `voice` (index
into the split's voice list `SpeechCorpus.voices`).

The cache: `<data_dir or $JAXML_DATA_DIR/jaxml_cache or ~/.cache/jaxml>/speech/<spec digest>/` holds
`audio.npz` and `manifest.json` (one row per utterance: text, language, voice, speed, pitch, split);
a second load with the same `CorpusSpec` reads them and runs no synthesiser.
Noise is added later, in the training step (`jaxml/audio/noise.py`), so the clean target is kept.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import math
import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path
from typing import Sequence

import numpy as np

from jaxml.data.datasets import Split
from jaxml.data.text import cache_dir
from jaxml.errors import JaxmlError

ESPEAK = "espeak-ng"
SAMPLE_RATE = 16_000
LANGUAGES: tuple[str, ...] = ("en", "es", "fr", "de")
TRAIN_VOICES: tuple[str, ...] = ("m1", "m3", "m4", "m6", "f1", "f3", "f4", "Andy", "max", "paul")
TEST_VOICES: tuple[str, ...] = ("m2", "m7", "f2", "f5")
BLANK = "_"
VOCAB: str = BLANK + "0123456789"  # index 0 is the CTC blank
DIGIT_WORDS_SEPARATOR = " "        # digits are spoken one by one: "3 1 4"
SYNTHESIS_WORKERS = 2              # espeak-ng processes at once (the machine is shared)
SILENCE_THRESHOLD = 0.01           # of the utterance's peak: samples below it at either end are trimmed


@dataclasses.dataclass(frozen=True)
class CorpusSpec:
    """What to synthesise: utterance counts, digit-string lengths, speed (words per minute) and pitch
    ranges, languages and voices. Its digest names the cache directory."""

    num_train: int = 3000
    num_val: int = 300
    num_test: int = 400
    min_digits: int = 1
    max_digits: int = 4
    speeds: tuple[int, int] = (150, 210)
    pitches: tuple[int, int] = (30, 70)
    languages: tuple[str, ...] = LANGUAGES
    train_voices: tuple[str, ...] = TRAIN_VOICES
    test_voices: tuple[str, ...] = TEST_VOICES
    seed: int = 0

    def digest(self) -> str:
        text = json.dumps(dataclasses.asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclasses.dataclass
class SpeechCorpus:
    train: Split
    val: Split
    test: Split
    manifest: list[dict]
    languages: tuple[str, ...]
    train_voices: tuple[str, ...]
    test_voices: tuple[str, ...]
    directory: Path


def espeak_available() -> bool:
    return shutil.which(ESPEAK) is not None


def missing_espeak_message() -> str:
    return (f"{ESPEAK} is not installed: the speech corpus is synthesised with it "
            "(scripts/install_data.sh installs it as root; or: sudo apt-get install espeak-ng)")


# ----------------------------------------------------------------------------------------- signals


def resample(x: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """`x` resampled from `from_rate` to `to_rate` Hz by polyphase filtering (upsample by p, low-pass
    FIR with a Kaiser window, downsample by q, p/q the reduced rate ratio: scipy's `resample_poly`)."""
    if from_rate == to_rate:
        return np.asarray(x, np.float64)
    from scipy.signal import resample_poly

    g = math.gcd(int(from_rate), int(to_rate))
    return resample_poly(np.asarray(x, np.float64), int(to_rate) // g, int(from_rate) // g)


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """(samples float64 in [-1, 1], sample rate) of a 16-bit mono WAV file (stdlib `wave`)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise JaxmlError(f"{path}: expected 16-bit mono WAV, got {w.getsampwidth() * 8}-bit "
                             f"{w.getnchannels()}-channel")
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return data.astype(np.float64) / 32768.0, rate


def trim_silence(x: np.ndarray, threshold: float = SILENCE_THRESHOLD) -> np.ndarray:
    """`x` without the samples below `threshold` x its peak at either end."""
    loud = np.flatnonzero(np.abs(x) >= threshold * max(np.abs(x).max(), 1e-12))
    return x[loud[0]:loud[-1] + 1] if loud.size else x[:0]


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)


def synthesise(text: str, language: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """`text` spoken by espeak-ng's `language`+`voice` at `speed` words/min and `pitch`, as float64
    samples at 16 kHz, silence trimmed."""
    if not espeak_available():
        raise JaxmlError(missing_espeak_message())
    with tempfile.TemporaryDirectory(prefix="jaxml-espeak-") as tmp:
        path = Path(tmp) / "utterance.wav"
        subprocess.run([ESPEAK, "-v", f"{language}+{voice}", "-s", str(int(speed)), "-p", str(int(pitch)),
                        "-w", str(path), text], check=True, capture_output=True)
        samples, rate = read_wav(path)
    return trim_silence(resample(samples, rate, SAMPLE_RATE))


# ------------------------------------------------------------------------------------------ corpus


def encode(text: str) -> list[int]:
    """Indices of `text`'s characters in `VOCAB` (never the blank)."""
    bad = [c for c in text if c not in VOCAB[1:]]
    if bad:
        raise JaxmlError(f"character {bad[0]!r} is not in the speech vocabulary {VOCAB[1:]!r}")
    return [VOCAB.index(c) for c in text]


def decode(indices: Sequence[int]) -> str:
    return "".join(VOCAB[int(i)] for i in indices)


def plan(spec: CorpusSpec) -> list[dict]:
    """The manifest rows (text, language, voice, speed, pitch, split) of `spec`, before synthesis."""
    if not 1 <= spec.min_digits <= spec.max_digits:
        raise JaxmlError(f"corpus min_digits={spec.min_digits} and max_digits={spec.max_digits} must satisfy "
                         "1 <= min_digits <= max_digits")
    unknown = [v for v in spec.languages if v not in LANGUAGES]
    if unknown:
        raise JaxmlError(f"corpus language {unknown[0]!r} is not valid; choose from {', '.join(LANGUAGES)}")
    rng = np.random.default_rng([spec.seed, 2024])
    rows = []
    for split, count, voices in (("train", spec.num_train, spec.train_voices), ("val", spec.num_val, spec.train_voices),
                                 ("test", spec.num_test, spec.test_voices)):
        for _ in range(count):
            digits = "".join(str(d) for d in rng.integers(0, 10, rng.integers(spec.min_digits, spec.max_digits + 1)))
            rows.append({"text": digits, "language": spec.languages[rng.integers(len(spec.languages))],
                         "voice": voices[rng.integers(len(voices))],
                         "speed": int(rng.integers(spec.speeds[0], spec.speeds[1] + 1)),
                         "pitch": int(rng.integers(spec.pitches[0], spec.pitches[1] + 1)), "split": split})
    return rows


def _speak(row: dict) -> np.ndarray:
    return synthesise(DIGIT_WORDS_SEPARATOR.join(row["text"]), row["language"], row["voice"], row["speed"],
                      row["pitch"])


def build(spec: CorpusSpec, directory: Path) -> None:
    """Synthesises `spec` into `directory` (audio.npz, then manifest.json last: its presence marks a
    complete cache)."""
    rows = plan(spec)
    with concurrent.futures.ThreadPoolExecutor(max_workers=SYNTHESIS_WORKERS) as pool:
        waves = list(pool.map(_speak, rows))
    length = max(len(w) for w in waves)
    audio = np.zeros((len(rows), length), np.int16)
    for i, w in enumerate(waves):
        audio[i, :len(w)] = to_int16(w)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / "audio.tmp.npz"
    np.savez(tmp, audio=audio, audio_length=np.asarray([len(w) for w in waves], np.int32))
    os.replace(tmp, directory / "audio.npz")
    manifest = {"spec": dataclasses.asdict(spec), "sample_rate": SAMPLE_RATE, "utterances": rows}
    (directory / "manifest.tmp.json").write_text(json.dumps(manifest, indent=1) + "\n")
    os.replace(directory / "manifest.tmp.json", directory / "manifest.json")


def corpus_directory(spec: CorpusSpec, data_dir: str | None = None) -> Path:
    root = Path(data_dir) / "jaxml_cache" if data_dir else cache_dir()
    return root / "speech" / spec.digest()


def _split(rows: list[dict], audio: np.ndarray, lengths: np.ndarray, idx: np.ndarray, spec: CorpusSpec,
           voices: tuple[str, ...]) -> Split:
    labels = np.zeros((len(idx), spec.max_digits), np.int32)
    for j, i in enumerate(idx):
        code = encode(rows[i]["text"])
        labels[j, :len(code)] = code
    return Split(audio=audio[idx], audio_length=lengths[idx], labels=labels,
                 label_length=np.asarray([len(rows[i]["text"]) for i in idx], np.int32),
                 language=np.asarray([spec.languages.index(rows[i]["language"]) for i in idx], np.int32),
                 voice=np.asarray([voices.index(rows[i]["voice"]) for i in idx], np.int32))


def load_speech(spec: CorpusSpec = CorpusSpec(), data_dir: str | None = None) -> SpeechCorpus:
    """The corpus of `spec`: read from its cache directory, synthesised there first if absent."""
    directory = corpus_directory(spec, data_dir)
    if not (directory / "manifest.json").exists():
        build(spec, directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    with np.load(directory / "audio.npz") as f:
        audio, lengths = f["audio"], f["audio_length"]
    rows = manifest["utterances"]
    split_of = np.asarray([r["split"] for r in rows])
    splits = {name: _split(rows, audio, lengths, np.flatnonzero(split_of == name), spec,
                           spec.test_voices if name == "test" else spec.train_voices)
              for name in ("train", "val", "test")}
    return SpeechCorpus(**splits, manifest=rows, languages=tuple(spec.languages),
                        train_voices=tuple(spec.train_voices), test_voices=tuple(spec.test_voices),
                        directory=directory)
