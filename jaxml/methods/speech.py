"""Speech recognition and enhancement on the espeak-ng digits corpus, alone or as multi-task learning.

Data (`data/speech.py`): digit strings in en/es/fr/de from 10 training voices; the test split's 4
voices are never heard in training. The step adds noise on the fly (`audio/noise.py`: white, pink or
babble from the batch's other utterances, SNR ~ U[snr_min, snr_max] dB, a `clean_fraction` left
clean), computes the log-mel front end (`audio/frontend.py`), standardises it with the training
statistics, optionally applies SpecAugment, and runs `models/speech.py`'s encoder with one head per
task in `config.tasks` (`TASKS`):

- `ctc`: optax's CTC loss over the digit characters (blank 0);
- `enhance`: a sigmoid mask on the noisy mel power spectrum, trained so the masked spectrum's log-mel
  matches the clean log-mel (mean squared dB / 100);
- `language`, `voice`: cross-entropy over the languages / the training voices.

The per-task losses go through a weighting strategy of `multitask_weightings.WEIGHTINGS` (equal,
uncertainty, gradnorm, pcgrad, ...) in `multitask_weightings.weighted_step`, the step
`methods/multitask.py` takes too.

Evaluation (the `heldout` evaluator, test voices; the noise of each utterance and SNR is fixed, the
same for every model): per condition `clean` and `snr<s>` for s in `config.eval_snrs` (the noise kind
cycles white, pink, babble over the utterances): `cer` (greedy CTC decode), `language_accuracy`,
and for the enhancement head `snr_in_db` / `snr_out_db` / `snr_gain_db` (SNR of the noisy / enhanced
mel magnitude spectrum against the clean one, mean over utterances) and `logmel_rmse_in_db` /
`_out_db`; `clean_cer_beam`: prefix beam search on the first `beam_examples` clean utterances. The
`seen` evaluator (validation utterances of the training voices) scores `voice_accuracy`.

`config.strategies` trains one model per strategy, `config.single_task_baselines` one model per task,
each for every seed of `config.seeds`, the seeds of a model together in one vmapped program
(`core/vmapped_seeds.py`: each seed computes what its own run would) in `<workdir>/<run>/`;
result.json then holds `<run>_<metric>_mean` and `_std` over the seeds. One run of one seed trains in
`workdir` through `core/loop.py` and reports its metrics unprefixed.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.audio import ctc as ctc_lib
from jaxml.audio.frontend import FrontEnd, power_to_db, spec_augment
from jaxml.audio.noise import NOISES, noisy_batch, snr_db
from jaxml.core import loop, vmapped_seeds
from jaxml.core.registry import choose
from jaxml.core.train_state import make_optimizer
from jaxml.data.datasets import Split
from jaxml.data.speech import VOCAB, CorpusSpec, SpeechCorpus, load_speech
from jaxml.errors import JaxmlError
from jaxml.methods.multitask_weightings import (WEIGHTINGS, MultiTaskState, initial_state, make_weighting,
                                                weighted_step)
from jaxml.models.speech import SpeechNet, encoder_lengths

log = logging.getLogger("jaxml")

HELDOUT = "heldout"   # evaluator on the held-out voices (CER per SNR, enhancement, language ID)
SEEN = "seen"         # evaluator on the validation utterances of the training voices (voice ID)


# ------------------------------------------------------------------------------------------- tasks


class Inputs(NamedTuple):
    """What a task's loss and metrics read: the batch, the clean and noisy mel power [B, F, M], the
    valid frames [B] and encoder steps [B]."""

    batch: dict
    clean_mel: jax.Array
    noisy_mel: jax.Array
    frames: jax.Array
    steps: jax.Array


def frame_mask(length: jax.Array, size: int) -> jax.Array:
    return (jnp.arange(size)[None, :] < length[:, None]).astype(jnp.float32)


def ctc_loss(out: jax.Array, x: Inputs, amin: float) -> jax.Array:
    labels = x.batch["labels"]
    logit_pad = 1.0 - frame_mask(x.steps, out.shape[1])
    label_pad = 1.0 - frame_mask(x.batch["label_length"], labels.shape[1])
    return jnp.mean(optax.ctc_loss(out, logit_pad, labels, label_pad, blank_id=0))


def enhanced_mel(out: jax.Array, x: Inputs) -> jax.Array:
    return jax.nn.sigmoid(out) * x.noisy_mel


def enhance_loss(out: jax.Array, x: Inputs, amin: float) -> jax.Array:
    mask = frame_mask(x.frames, out.shape[1])[..., None]
    err = jnp.square(power_to_db(enhanced_mel(out, x), amin) - power_to_db(x.clean_mel, amin)) / 100.0
    return jnp.sum(err * mask) / jnp.maximum(jnp.sum(mask) * out.shape[-1], 1.0)


def classification_loss(key: str) -> Callable[[jax.Array, Inputs, float], jax.Array]:
    def loss(out, x, amin):
        return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(out, x.batch[key]))
    return loss


@dataclasses.dataclass(frozen=True)
class SpeechTask:
    """A head: its shape (`models/speech.HEAD_SHAPES`), its output size given the corpus, its loss."""

    shape: str
    size: Callable[[SpeechCorpus, int], int]
    loss: Callable[[jax.Array, Inputs, float], jax.Array]


TASKS: dict[str, SpeechTask] = {
    "ctc": SpeechTask("step", lambda corpus, n_mels: len(VOCAB), ctc_loss),
    "enhance": SpeechTask("frame", lambda corpus, n_mels: n_mels, enhance_loss),
    "language": SpeechTask("utterance", lambda corpus, n_mels: len(corpus.languages), classification_loss("language")),
    "voice": SpeechTask("utterance", lambda corpus, n_mels: len(corpus.train_voices), classification_loss("voice")),
}


# ---------------------------------------------------------------------------------------- the model


def corpus_spec(config: ml_collections.ConfigDict) -> CorpusSpec:
    d = config.data
    return CorpusSpec(num_train=int(d.num_train), num_val=int(d.num_val), num_test=int(d.num_test),
                      min_digits=int(d.min_digits), max_digits=int(d.max_digits), seed=int(d.seed))


def load_data(config: ml_collections.ConfigDict) -> SpeechCorpus:
    return load_speech(corpus_spec(config), data_dir=config.data_dir or None)


def frontend(config: ml_collections.ConfigDict) -> FrontEnd:
    f = config.frontend
    return FrontEnd(n_fft=int(f.n_fft), hop=int(f.hop), n_mels=int(f.n_mels), amin=float(f.amin))


def task_names(config: ml_collections.ConfigDict) -> list[str]:
    names = list(config.tasks.keys())
    if not names:
        raise JaxmlError(f"config.tasks is empty; choose tasks from: {', '.join(TASKS)}")
    for t in names:
        choose(TASKS, t, "config.tasks entry")
    return names


def check_config(config: ml_collections.ConfigDict) -> None:
    task_names(config)
    choose(WEIGHTINGS, config.weighting, "config.weighting")
    for s in config.strategies:
        choose(WEIGHTINGS, s, "config.strategies entry")
    for k in config.noise.kinds:
        choose(NOISES, k, "config.noise.kinds entry")
    if not 0.0 <= float(config.noise.clean_fraction) <= 1.0:
        raise JaxmlError(f"config.noise.clean_fraction must be in [0, 1], got {config.noise.clean_fraction}")
    if float(config.noise.snr_min) > float(config.noise.snr_max):
        raise JaxmlError("config.noise.snr_min must be <= config.noise.snr_max")


def build_net(config: ml_collections.ConfigDict, corpus: SpeechCorpus, names: Sequence[str]) -> SpeechNet:
    n_mels = int(config.frontend.n_mels)
    heads = tuple((t, TASKS[t].shape, TASKS[t].size(corpus, n_mels)) for t in names)
    m = config.model
    return SpeechNet(heads=heads, channels=int(m.channels), hidden=int(m.hidden), width=int(m.width),
                     layers=int(m.layers))


def to_float(audio: jax.Array) -> jax.Array:
    return audio.astype(jnp.float32) / 32768.0


def feature_stats(fe: FrontEnd, split: Split, n: int = 256) -> tuple[float, float]:
    """Mean and standard deviation of the clean log-mel (dB) over the valid frames of the first `n`
    training utterances: the fixed standardisation of the network's input."""
    idx = np.arange(min(n, len(split)))
    audio, length = to_float(jnp.asarray(split["audio"][idx])), jnp.asarray(split["audio_length"][idx])
    db = jax.jit(fe.log_mel)(audio)
    mask = np.asarray(frame_mask(fe.num_frames(length), db.shape[1]), bool)
    values = np.asarray(db)[mask]
    return float(values.mean()), float(values.std())


class Forward(NamedTuple):
    """What `make_forward` returns: the mel power of clean and noisy audio and the network outputs."""

    inputs: Inputs
    out: dict


def make_forward(config: ml_collections.ConfigDict, net: SpeechNet, fe: FrontEnd, stats: tuple[float, float]):
    """forward(params, batch, noisy_audio, key or None) -> Forward: front end, standardisation,
    SpecAugment when `key` is given and `config.spec_augment.enabled`, the network."""
    mean, std = stats
    sa = config.spec_augment

    def forward(params, batch, noisy, key):
        clean = to_float(batch["audio"])
        clean_mel, noisy_mel = fe.mel_power(clean), fe.mel_power(noisy)
        frames = fe.num_frames(batch["audio_length"])
        feats = (power_to_db(noisy_mel, fe.amin) - mean) / std
        feats = feats * frame_mask(frames, feats.shape[1])[..., None]
        if key is not None and bool(sa.enabled):
            keys = jax.random.split(key, feats.shape[0])
            feats = jax.vmap(lambda k, f, n: spec_augment(k, f, n, freq_masks=int(sa.freq_masks),
                                                          freq_width=int(sa.freq_width), time_masks=int(sa.time_masks),
                                                          time_width=int(sa.time_width)))(keys, feats, frames)
        out = net.apply({"params": params}, feats, frames)
        inputs = Inputs(batch=batch, clean_mel=clean_mel, noisy_mel=noisy_mel, frames=frames,
                        steps=encoder_lengths(frames))
        return Forward(inputs, out)

    return forward


def training_noise(config: ml_collections.ConfigDict, key: jax.Array, batch) -> jax.Array:
    """The batch's audio with noise: kind uniform over `config.noise.kinds`, SNR ~ U[snr_min, snr_max],
    a `clean_fraction` of the utterances left clean."""
    clean, length = to_float(batch["audio"]), batch["audio_length"]
    kinds = jnp.asarray([list(NOISES).index(k) for k in config.noise.kinds], jnp.int32)
    nkey, kkey, skey, ckey = jax.random.split(key, 4)
    b = clean.shape[0]
    kind = kinds[jax.random.randint(kkey, (b,), 0, kinds.shape[0])]
    snr = jax.random.uniform(skey, (b,), minval=float(config.noise.snr_min), maxval=float(config.noise.snr_max))
    noisy = noisy_batch(nkey, clean, length, kind, snr)
    keep = jax.random.uniform(ckey, (b,)) < float(config.noise.clean_fraction)
    return jnp.where(keep[:, None], clean, noisy)


def make_recipe(config: ml_collections.ConfigDict, corpus: SpeechCorpus) -> loop.Recipe:
    check_config(config)
    names = task_names(config)
    net = build_net(config, corpus, names)
    fe = frontend(config)
    tx = make_optimizer(config)
    weighting = make_weighting(config, names)
    forward = make_forward(config, net, fe, feature_stats(fe, corpus.train))
    amin = fe.amin
    sample = corpus.train.take(np.arange(2)).gather(np.arange(2))

    def init(key):
        batch = {k: jnp.asarray(v) for k, v in sample.items()}
        frames = fe.num_frames(batch["audio_length"])
        feats = jnp.zeros((2, int(fe.num_frames(batch["audio"].shape[1])), fe.n_mels), jnp.float32)
        return initial_state(net.init(key, feats, frames)["params"], tx, weighting)

    def train_step(state: MultiTaskState, batch, key):
        noise_key, aug_key, weighting_key = jax.random.split(key, 3)
        noisy = training_noise(config, noise_key, batch)

        def losses_fn(params):
            f = forward(params, batch, noisy, aug_key)
            return jnp.stack([TASKS[t].loss(f.out[t], f.inputs, amin) for t in names])

        return weighted_step(state, losses_fn, names, weighting, tx, weighting_key)

    def eval_step(state: MultiTaskState, batch):
        f = forward(state.net.params, batch, to_float(batch["audio"]), None)
        mask = batch["mask"]
        sums = {"count": jnp.sum(mask)}
        for t in names:  # per-example losses are not exposed by every task: the batch loss weighted by its size
            sums[f"{t}_loss"] = TASKS[t].loss(f.out[t], f.inputs, amin) * jnp.sum(mask)
        return sums

    evaluators = {HELDOUT: make_heldout_evaluator(config, corpus.test, forward, names)}
    if "voice" in names:
        evaluators[SEEN] = make_seen_evaluator(config, corpus.val, forward)
    return loop.Recipe(init=init, train_step=train_step, eval_step=eval_step, train_split=corpus.train,
                       eval_splits={"test": corpus.test}, main_metric="cer", evaluators=evaluators)


# ---------------------------------------------------------------------------------------- evaluation


def eval_batches_of(split: Split, size: int):
    """The split in order as host batches of at most `size` (the last one shorter)."""
    for start in range(0, len(split), size):
        idx = np.arange(start, min(start + size, len(split)))
        yield start, {k: jnp.asarray(v) for k, v in split.gather(idx).items()}


def condition_noise(seed: int, start: int, batch, snr: float | None) -> jax.Array:
    """The fixed evaluation noise of a batch starting at utterance `start`: kind white, pink, babble by
    utterance index, at `snr` dB (None: clean). The same for every model and strategy."""
    clean, length = to_float(batch["audio"]), batch["audio_length"]
    if snr is None:
        return clean
    b = clean.shape[0]
    kind = jnp.asarray((start + np.arange(b)) % len(NOISES), jnp.int32)
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), start), int(round(snr * 10)))
    return _noisy_batch(key, clean, length, kind, jnp.full((b,), float(snr)))


_noisy_batch = jax.jit(noisy_batch)


def condition_name(snr: float | None) -> str:
    return "clean" if snr is None else f"snr{int(snr) if float(snr).is_integer() else snr}"


def make_heldout_evaluator(config: ml_collections.ConfigDict, split: Split, forward, names: Sequence[str]):
    """(state, key) -> {<condition>_<metric>}: CER, language accuracy and enhancement on `split`."""
    size = int(config.eval_batch_size)
    seed = int(config.data.seed) + 1000

    @jax.jit
    def outputs(params, batch, noisy):
        f = forward(params, batch, noisy, None)
        res = {"steps": f.inputs.steps, "frames": f.inputs.frames}
        if "ctc" in f.out:
            res["log_probs"] = jax.nn.log_softmax(f.out["ctc"])
        if "language" in f.out:
            res["language"] = jnp.argmax(f.out["language"], -1)
        if "enhance" in f.out:
            mask = frame_mask(f.inputs.frames, f.inputs.clean_mel.shape[1])[..., None]
            clean_mag, noisy_mag = jnp.sqrt(f.inputs.clean_mel), jnp.sqrt(f.inputs.noisy_mel)
            est = enhanced_mel(f.out["enhance"], f.inputs)
            amin = float(config.frontend.amin)
            clean_db = power_to_db(f.inputs.clean_mel, amin)
            count = jnp.sum(mask, (1, 2)) * clean_db.shape[-1]
            res["snr_in_db"] = snr_db(clean_mag * mask, noisy_mag * mask, axis=(1, 2))
            res["snr_out_db"] = snr_db(clean_mag * mask, jnp.sqrt(est) * mask, axis=(1, 2))
            for tag, mel in (("in", f.inputs.noisy_mel), ("out", est)):
                res[f"logmel_rmse_{tag}_db"] = jnp.sqrt(jnp.sum(jnp.square(power_to_db(mel, amin) - clean_db) * mask,
                                                                (1, 2)) / count)
        return res

    refs = [list(split["labels"][i, :split["label_length"][i]]) for i in range(len(split))]
    conditions = [None] + [float(s) for s in config.eval_snrs]

    def evaluate(state: MultiTaskState, key) -> dict[str, float]:
        params = state.net.params
        metrics: dict[str, float] = {}
        for snr in conditions:
            hyps, langs, per_utt, beam_hyps = [], [], {}, []
            for start, batch in eval_batches_of(split, size):
                res = jax.device_get(outputs(params, batch, condition_noise(seed, start, batch, snr)))
                if "log_probs" in res:
                    hyps += ctc_lib.greedy_decode(res["log_probs"], res["steps"])
                    if snr is None and start < int(config.beam_examples):
                        for b in range(min(len(res["steps"]), int(config.beam_examples) - start)):
                            beam_hyps.append(ctc_lib.prefix_beam_search(res["log_probs"][b, :res["steps"][b]],
                                                                        beam=int(config.beam)))
                if "language" in res:
                    langs.append(res["language"])
                for k in ("snr_in_db", "snr_out_db", "logmel_rmse_in_db", "logmel_rmse_out_db"):
                    if k in res:
                        per_utt.setdefault(k, []).append(res[k])
            name = condition_name(snr)
            if hyps:
                metrics[f"{name}_cer"] = ctc_lib.error_rate(refs, hyps)
            if beam_hyps:
                metrics[f"{name}_cer_beam"] = ctc_lib.error_rate(refs[:len(beam_hyps)], beam_hyps)
            if langs:
                metrics[f"{name}_language_accuracy"] = float(np.mean(np.concatenate(langs) == split["language"]))
            if snr is not None:
                for k, v in per_utt.items():
                    metrics[f"{name}_{k}"] = float(np.mean(np.concatenate(v)))
                if "snr_out_db" in per_utt:
                    metrics[f"{name}_snr_gain_db"] = metrics[f"{name}_snr_out_db"] - metrics[f"{name}_snr_in_db"]
        return metrics

    return evaluate


def make_seen_evaluator(config: ml_collections.ConfigDict, split: Split, forward):
    """(state, key) -> {voice_accuracy} on the clean validation utterances of the training voices."""
    size = int(config.eval_batch_size)

    @jax.jit
    def predict(params, batch):
        return jnp.argmax(forward(params, batch, to_float(batch["audio"]), None).out["voice"], -1)

    def evaluate(state: MultiTaskState, key) -> dict[str, float]:
        pred = np.concatenate([np.asarray(predict(state.net.params, b)) for _, b in eval_batches_of(split, size)])
        return {"voice_accuracy": float(np.mean(pred == split["voice"]))}

    return evaluate


# ------------------------------------------------------------------------------------------- training


def run_metrics(metrics: dict[str, Any], params: Any) -> dict[str, Any]:
    """A run's final metrics as result.json reports them: the `heldout_` prefix dropped, `params` added."""
    out = {k[len(HELDOUT) + 1:] if k.startswith(HELDOUT + "_") else k: v for k, v in metrics.items()}
    out["params"] = loop.count_params(jax.device_get(params))
    return out


def train_one(config: ml_collections.ConfigDict, workdir: Path, corpus: SpeechCorpus, desc: str) -> dict[str, Any]:
    state, metrics = loop.run(make_recipe(config, corpus), config, workdir, desc=desc)
    return run_metrics(metrics, state.net.params)


def train_seeds(config: ml_collections.ConfigDict, workdir: Path, corpus: SpeechCorpus, seeds: Sequence[int],
                desc: str) -> list[dict[str, Any]]:
    """Every seed of `seeds` trained together in one vmapped program (`core/vmapped_seeds.py`): each
    seed's metrics as `train_one` reports them for `config.seed = s`."""
    state, per_seed = vmapped_seeds.run_seeds(make_recipe(config, corpus), config, seeds, workdir, desc=desc)
    params = vmapped_seeds.seed_slice(state.net.params, 0)
    return [run_metrics(m, params) for m in per_seed]


def runs_of(config: ml_collections.ConfigDict) -> list[tuple[str, ml_collections.ConfigDict]]:
    """(run name, config) of every model the experiment trains: one per strategy of `config.strategies`
    (else `config.weighting` alone, named "main"), then one per task with `single_task_baselines`."""
    names = task_names(config)
    out = []
    for strategy in (config.strategies or (config.weighting,)):
        c = ml_collections.ConfigDict(config.to_dict())
        c.weighting = strategy
        out.append((strategy if config.strategies else "main", c))
    if config.single_task_baselines and len(names) > 1:
        for t in names:
            c = ml_collections.ConfigDict(config.to_dict())
            c.weighting = "equal"
            c.tasks = ml_collections.ConfigDict({t: {"weight": 1.0}})
            out.append((f"only_{t}", c))
    return out


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    workdir = Path(workdir)
    check_config(config)
    corpus = load_data(config)
    runs, seeds = runs_of(config), [int(s) for s in config.seeds]
    if len(runs) == 1 and len(seeds) == 1:
        c = runs[0][1]
        c.seed = seeds[0]
        return dict(train_one(c, workdir, corpus, desc=config.get("name", "speech")), weighting=c.weighting)
    result: dict[str, Any] = {"seeds": len(seeds)}
    for run_name, c in runs:
        per_seed = train_seeds(c, workdir / run_name, corpus, seeds, desc=f"{run_name} ({len(seeds)} seeds)")
        for k in per_seed[0]:
            if k in ("steps",) or not isinstance(per_seed[0][k], (int, float)):
                continue
            values = np.asarray([m[k] for m in per_seed], np.float64)
            result[f"{run_name}_{k}_mean"] = float(values.mean())
            result[f"{run_name}_{k}_std"] = float(values.std())
        result["steps"] = per_seed[0]["steps"]
    return result


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    return loop.evaluate_checkpoint(recipe_for(config), config, workdir)


def recipe_for(config: ml_collections.ConfigDict) -> loop.Recipe:
    return make_recipe(config, load_data(config))
