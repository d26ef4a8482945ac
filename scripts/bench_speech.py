#!/usr/bin/env python
"""Speech throughput: the JAX log-mel front end in seconds of audio per second, and the speech
method's training step in examples per second.

- front end: `FrontEnd.log_mel` jitted on a [batch, seconds x 16 kHz] float32 batch, after a warm-up
  call (compilation excluded), median of `--rounds` calls; reported as audio seconds / wall second.
- training step: the `ctc_digits_speech` recipe's `train_step` (noise, front end, SpecAugment,
  encoder, CTC) jitted, `--steps` steps after a warm-up step; examples / second. Pass
  `--tasks ctc,enhance,language --weighting pcgrad` for a multi-task step. The utterances are the
  committed espeak-ng fixture tiled to the corpus's length (the content does not change the cost), so
  no synthesis is needed.

    python scripts/bench_speech.py                                  # batch 32, 1.6 s, 20 steps
    python scripts/bench_speech.py --batch 4 --seconds 0.5 --steps 2 --rounds 2 --small   # a smoke test
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.audio.frontend import FrontEnd
from jaxml.data.datasets import Split
from jaxml.data.speech import LANGUAGES, SAMPLE_RATE, TEST_VOICES, TRAIN_VOICES, SpeechCorpus
from jaxml.defaults.speech import speech_config
from jaxml.methods import speech

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "data" / "speech_fixture.npz"


def tiled_split(n: int, samples: int) -> Split:
    """`n` utterances of `samples` samples: the fixture's utterances repeated end to end."""
    with np.load(FIXTURE) as f:
        base = np.concatenate([a[:l] for a, l in zip(f["audio"], f["audio_length"])])
    audio = np.resize(base, (n, samples)).astype(np.int16)
    rng = np.random.default_rng(0)
    return Split(audio=audio, audio_length=np.full((n,), samples, np.int32),
                 labels=rng.integers(1, 11, (n, 4)).astype(np.int32), label_length=np.full((n,), 4, np.int32),
                 language=rng.integers(0, len(LANGUAGES), n).astype(np.int32),
                 voice=rng.integers(0, len(TRAIN_VOICES), n).astype(np.int32))


def median_seconds(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seconds", type=float, default=1.6)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--tasks", default="ctc")
    p.add_argument("--weighting", default="equal")
    p.add_argument("--small", action="store_true", help="a tiny encoder (smoke tests)")
    p.add_argument("--out", default="")
    args = p.parse_args(argv)

    samples = int(args.seconds * SAMPLE_RATE)
    split = tiled_split(args.batch, samples)
    fe = FrontEnd()
    audio = jnp.asarray(split["audio"], jnp.float32) / 32768.0
    log_mel = jax.jit(fe.log_mel)
    jax.block_until_ready(log_mel(audio))
    fe_s = median_seconds(lambda: log_mel(audio), args.rounds)

    c = speech_config(tuple(args.tasks.split(",")))
    c.weighting = args.weighting
    c.batch_size = args.batch
    if args.small:
        c.model = ml_collections.ConfigDict(dict(channels=4, hidden=8, width=8, layers=1))
    corpus = SpeechCorpus(train=split, val=split, test=split, manifest=[], languages=LANGUAGES,
                          train_voices=TRAIN_VOICES, test_voices=TEST_VOICES, directory=Path("."))
    recipe = speech.make_recipe(c, corpus)
    step = jax.jit(recipe.train_step)
    state = recipe.init(jax.random.key(0))
    batch = {k: jnp.asarray(v) for k, v in split.gather(np.arange(args.batch)).items()}
    state, metrics = step(state, batch, jax.random.key(1))
    jax.block_until_ready(metrics)
    t = time.perf_counter()
    for i in range(args.steps):
        state, metrics = step(state, batch, jax.random.key(2 + i))
    jax.block_until_ready(metrics)
    step_s = (time.perf_counter() - t) / max(args.steps, 1)
    result = {"device": jax.devices()[0].device_kind, "batch": args.batch, "seconds": args.seconds,
              "tasks": args.tasks, "weighting": args.weighting,
              "frontend_audio_seconds_per_s": args.batch * args.seconds / fe_s,
              "train_examples_per_s": args.batch / step_s, "loss_finite": bool(np.isfinite(float(metrics["loss"])))}
    print(json.dumps(result, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
