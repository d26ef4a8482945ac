"""Encoder-decoder translation (Transformer encoder + causal decoder with cross-attention, from
`jaxml.models.transformer`) on digits -> number words in several languages, a language tag on the
input, deliberately imbalanced training data, and sampling over languages with a temperature
(probability of language l proportional to n_l ** (1 / T); T = 1 is proportional sampling).

One model is trained per temperature in `config.temperatures` (in `WORKDIR/temperature_<T>`); the
headline metrics come from the model trained with `config.sampling_temperature`. Decoding: greedy and
beam search (`config.beam_width`), both with the decoder's KV cache inside one `lax.scan`; a
hypothesis's score is the sum of its token log-probabilities up to and including EOS (no length
penalty). Beam width 1 is greedy search.

result.json: `exact_match` (beam search, all test examples; the test set has the same number of
examples per language), `exact_match_greedy`, `chrf` (corpus chrF2, 0-100), per language
`exact_match_<lang>` / `chrf_<lang>` (beam), `exact_match_high_min` (the lowest exact match of the
languages with the most training data), for every temperature T `exact_match_<lang>_T<T>` and
`chrf_<lang>_T<T>`, `beam_below_greedy` (the fraction of test inputs whose best beam scores below the
greedy hypothesis; beam search does not guarantee 0), `test_loss` (teacher-forced NLL per target token).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core import loop
from jaxml.core.plots import plot_learning_curves
from jaxml.core.steps import apply_gradients, batch_key
from jaxml.core.train_state import TrainState, make_optimizer
from jaxml.data import sequences
from jaxml.data.datasets import Split
from jaxml.data.sequences import BOS, EOS, PAD, NumberData
from jaxml.errors import JaxmlError
from jaxml.models.layers import compute_dtype
from jaxml.models import remat as remat_lib
from jaxml.models.transformer import Decoder, Encoder, TransformerConfig

log = logging.getLogger("jaxml")

NEG = -1e9  # score of an impossible beam (finite, so sums never give NaN)


class Translator:
    """The encoder and decoder modules and pure functions of `params = {"encoder", "decoder"}`. `data`
    gives the vocabulary sizes and lengths (`src_vocab`, `tgt_vocab`, `src_len`, `tgt_len`): a
    `NumberData`, or `data.backtranslation.Vocab` for the reversed task."""

    def __init__(self, config: ml_collections.ConfigDict, data: NumberData):
        m = config.model
        common = dict(num_heads=int(m.num_heads), embed_dim=int(m.embed_dim), mlp_dim=int(m.mlp_dim) or None,
                      dropout=float(m.dropout), position="learned", impl=str(m.impl), dtype=compute_dtype(config.dtype),
                      remat=remat_lib.check(str(config.get("remat", "none"))))
        self.encoder = Encoder(TransformerConfig(vocab_size=data.src_vocab, num_layers=int(m.encoder_layers),
                                                 max_len=data.src_len, **common))
        self.decoder = Decoder(TransformerConfig(vocab_size=data.tgt_vocab, num_layers=int(m.decoder_layers),
                                                 max_len=data.tgt_len, **common), cross_attention=True)
        self.src_len, self.tgt_len = data.src_len, data.tgt_len
        # compiled once per model, for every split and every call (params are arguments)
        self.greedy_jit = jax.jit(self.greedy)
        self.beam_jit = jax.jit(self.beam_search, static_argnums=2)

    def init(self, key: jax.Array) -> dict:
        k1, k2 = jax.random.split(key)
        src = jnp.ones((1, self.src_len), jnp.int32)
        enc = self.encoder.init(k1, src)["params"]
        encoded = self.encoder.apply({"params": enc}, src)
        dec = self.decoder.init(k2, jnp.ones((1, self.tgt_len - 1), jnp.int32), encoded)["params"]
        return {"encoder": enc, "decoder": dec}

    def encode(self, params, src, *, train=False, rngs=None):
        valid = src != sequences.SRC_PAD
        return self.encoder.apply({"params": params["encoder"]}, src, valid, train=train, rngs=rngs), valid

    def token_losses(self, params, src, tgt, *, train=False, key=None):
        """Teacher-forced NLL [B, U-1] of targets `tgt` [B, U] (BOS ... EOS, PAD) given `src` [B, S], and
        the target mask."""
        rngs = None if key is None else {"dropout": key}
        encoded, src_valid = self.encode(params, src, train=train, rngs=rngs)
        inputs, targets = tgt[:, :-1], tgt[:, 1:]
        logits = self.decoder.apply({"params": params["decoder"]}, inputs, encoded, src_valid, inputs != PAD,
                                    train=train, rngs=rngs)
        mask = targets != PAD
        return optax.softmax_cross_entropy_with_integer_labels(logits, targets) * mask, mask, logits

    def empty_cache(self, batch: int, encoded: jax.Array, src_valid: jax.Array):
        shapes = jax.eval_shape(lambda: self.decoder.init(jax.random.key(0), jnp.zeros((batch, self.tgt_len), jnp.int32),
                                                          encoded, src_valid, decode=True)["cache"])
        return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)

    def step_logprobs(self, params, cache, tokens, encoded, src_valid):
        """log p(next | prefix) [B, V] for the newest `tokens` [B]; the updated cache."""
        logits, upd = self.decoder.apply({"params": params["decoder"], "cache": cache}, tokens[:, None], encoded,
                                         src_valid, decode=True, mutable=["cache"])
        return jax.nn.log_softmax(logits[:, 0].astype(jnp.float32)), upd["cache"]

    def greedy(self, params, src) -> tuple[jax.Array, jax.Array]:
        """(tokens [B, U-1] after BOS, PAD after EOS; scores [B])."""
        encoded, src_valid = self.encode(params, src)
        b = src.shape[0]

        def step(carry, _):
            cache, token, done, score = carry
            logp, cache = self.step_logprobs(params, cache, token, encoded, src_valid)
            nxt = jnp.where(done, PAD, jnp.argmax(logp, -1))
            score = score + jnp.where(done, 0.0, jnp.take_along_axis(logp, nxt[:, None], 1)[:, 0])
            return (cache, nxt, done | (nxt == EOS), score), nxt

        init = (self.empty_cache(b, encoded, src_valid), jnp.full((b,), BOS, jnp.int32), jnp.zeros(b, bool),
                jnp.zeros(b, jnp.float32))
        (_, _, _, score), tokens = jax.lax.scan(step, init, None, length=self.tgt_len - 1)
        return tokens.T, score

    def beam_search(self, params, src, width: int) -> tuple[jax.Array, jax.Array]:
        """Best of `width` beams: (tokens [B, U-1], scores [B]). A finished beam only extends with PAD at
        no cost, so it keeps its score and competes with the open beams to the end."""
        b, w = src.shape[0], width
        encoded, src_valid = self.encode(params, src)
        encoded, src_valid = jnp.repeat(encoded, w, 0), jnp.repeat(src_valid, w, 0)  # [B*W, ...]
        vocab = self.decoder.cfg.vocab_size
        pad_only = jnp.where(jnp.arange(vocab) == PAD, 0.0, NEG)
        flat = b * w

        def reorder(x, origin):  # gather cache rows [B*W, ...] by beam origin [B, W]
            if x.ndim == 0 or x.shape[0] != flat:
                return x
            x = x.reshape((b, w) + x.shape[1:])
            return jnp.take_along_axis(x, origin.reshape((b, w) + (1,) * (x.ndim - 2)), axis=1).reshape((flat,) + x.shape[2:])

        def step(carry, t):
            cache, seqs, done, scores = carry
            logp, cache = self.step_logprobs(params, cache, seqs[:, :, t].reshape(flat), encoded, src_valid)
            logp = jnp.where(done[..., None], pad_only, logp.reshape(b, w, vocab))
            top, idx = jax.lax.top_k((scores[..., None] + logp).reshape(b, w * vocab), w)
            origin, token = idx // vocab, idx % vocab
            seqs = jnp.take_along_axis(seqs, origin[..., None], 1).at[:, :, t + 1].set(token)
            done = jnp.take_along_axis(done, origin, 1) | (token == EOS)
            return (jax.tree.map(lambda x: reorder(x, origin), cache), seqs, done, top), None

        seqs = jnp.zeros((b, w, self.tgt_len), jnp.int32).at[:, :, 0].set(BOS)
        scores = jnp.where(jnp.arange(w) == 0, 0.0, NEG) * jnp.ones((b, 1))
        init = (self.empty_cache(flat, encoded, src_valid), seqs, jnp.zeros((b, w), bool), scores)
        (_, seqs, _, scores), _ = jax.lax.scan(step, init, jnp.arange(self.tgt_len - 1))
        best = jnp.argmax(scores, 1)
        return (jnp.take_along_axis(seqs, best[:, None, None], 1)[:, 0, 1:],
                jnp.take_along_axis(scores, best[:, None], 1)[:, 0])


def make_recipe(config: ml_collections.ConfigDict, model: Translator, train_split: Split,
                eval_splits: dict[str, Split]) -> loop.Recipe:
    tx = make_optimizer(config)

    def init(key):
        params = model.init(key)
        return TrainState(params=params, model_state={}, opt_state=tx.init(params))

    def train_step(state: TrainState, batch, key):
        def loss_fn(params):
            losses, mask, logits = model.token_losses(params, batch["tokens"], batch["targets"], train=True,
                                                      key=batch_key(key))
            return jnp.sum(losses) / jnp.maximum(jnp.sum(mask), 1), (logits, mask)

        (loss, (logits, mask)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        targets = batch["targets"][:, 1:]
        accuracy = jnp.sum((jnp.argmax(logits, -1) == targets) * mask) / jnp.maximum(jnp.sum(mask), 1)
        return apply_gradients(state, tx, grads, {"loss": loss, "token_accuracy": accuracy})

    def eval_step(state: TrainState, batch):
        losses, mask, logits = model.token_losses(state.params, batch["tokens"], batch["targets"])
        mask = mask * (batch["mask"][:, None] > 0)
        targets = batch["targets"][:, 1:]
        return {"loss": jnp.sum(losses * mask), "token_accuracy": jnp.sum((jnp.argmax(logits, -1) == targets) * mask),
                "count": jnp.sum(mask)}

    return loop.Recipe(init=init, train_step=train_step, eval_step=eval_step, train_split=train_split,
                       eval_splits=eval_splits, main_metric="token_accuracy")


def load_data(config: ml_collections.ConfigDict) -> NumberData:
    return sequences.number_data(tuple(config.languages), tuple(int(n) for n in config.train_counts),
                                 test_per_language=int(config.test_per_language), max_digits=int(config.max_digits),
                                 seed=int(config.data_seed))


def check_config(config: ml_collections.ConfigDict) -> None:
    temps = [float(t) for t in config.temperatures]
    if float(config.sampling_temperature) not in temps:
        raise JaxmlError(f"config.sampling_temperature={config.sampling_temperature} must be one of "
                         f"config.temperatures={tuple(temps)}")
    if int(config.beam_width) < 1:
        raise JaxmlError(f"config.beam_width={config.beam_width} must be >= 1")


def batched(fn, src: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """`fn(src batch) -> tuple of arrays` over `src` in batches of `batch_size` rows (the last one padded
    by repeating its first row, so one compiled shape serves all), the outputs concatenated."""
    parts = []
    for i in range(0, len(src), batch_size):
        chunk = src[i:i + batch_size]
        n = len(chunk)
        if n < batch_size:
            chunk = np.concatenate([chunk, np.repeat(chunk[:1], batch_size - n, 0)])
        parts.append([np.asarray(a)[:n] for a in fn(chunk)])
    return [np.concatenate(column) for column in zip(*parts)]


def decode_split(model: Translator, params, data: NumberData, split: Split, batch_size: int,
                 beam_width: int) -> dict[str, np.ndarray]:
    """Greedy and beam outputs (strings) and scores for every example of `split`, on one device."""
    out = {}
    for name, fn in (("greedy", lambda src: model.greedy_jit(params, src)),
                     ("beam", lambda src: model.beam_jit(params, src, beam_width))):
        tokens, out[f"{name}_score"] = batched(fn, split["tokens"], batch_size)
        out[name] = [data.decode_target(t) for t in tokens]
    return out


def score_outputs(data: NumberData, split: Split, outputs: dict) -> dict[str, float]:
    refs = [data.decode_target(r[1:]) for r in split["targets"]]
    metrics = {}
    for name in ("greedy", "beam"):
        hyps = outputs[name]
        correct = np.array([h == r for h, r in zip(hyps, refs)])
        suffix = "" if name == "beam" else "_greedy"
        metrics[f"exact_match{suffix}"] = float(correct.mean())
        metrics[f"chrf{suffix}"] = sequences.chrf(hyps, refs)
        for li, lang in enumerate(data.languages):
            sel = np.flatnonzero(split["language"] == li)
            metrics[f"exact_match_{lang}{suffix}"] = float(correct[sel].mean())
            metrics[f"chrf_{lang}{suffix}"] = sequences.chrf([hyps[i] for i in sel], [refs[i] for i in sel])
    metrics["beam_below_greedy"] = float(np.mean(outputs["beam_score"] < outputs["greedy_score"] - 1e-4))
    return metrics


def recipe_for(config: ml_collections.ConfigDict) -> loop.Recipe:
    check_config(config)
    data = load_data(config)
    model = Translator(config, data)
    size = int(config.steps) * int(config.batch_size)
    train_split = sequences.resample_languages(data, float(config.sampling_temperature), size, int(config.data_seed))
    return make_recipe(config, model, train_split, {"test": data.test})


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """Teacher-forced test loss of the `sampling_temperature` model's newest checkpoint."""
    sub = Path(workdir) / f"temperature_{float(config.sampling_temperature):g}"
    return loop.evaluate_checkpoint(recipe_for(config), config, sub)


def train_and_score(config: ml_collections.ConfigDict, model: Translator, data: NumberData, temperature: float,
                    workdir: Path, desc: str) -> tuple[TrainState, dict[str, Any], dict, dict[str, float]]:
    """Trains (or resumes) `model` in `workdir` on `data`'s pools sampled with `temperature`, then decodes
    the test split: (state, the loop's final metrics, the decoded outputs, their scores)."""
    size = int(config.steps) * int(config.batch_size)
    train_split = sequences.resample_languages(data, temperature, size, int(config.data_seed))
    recipe = make_recipe(config, model, train_split, {"test": data.test})
    state, final = loop.run(recipe, config, workdir, desc=desc)
    params = jax.device_get(state.params)
    outputs = decode_split(model, params, data, data.test, int(config.eval_batch_size), int(config.beam_width))
    return state, final, outputs, score_outputs(data, data.test, outputs)


def high_resource(data: NumberData) -> list[str]:
    """The languages with the most training data."""
    counts = [len(p) for p in data.pools]
    return [lang for lang, n in zip(data.languages, counts) if n == max(counts)]


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    check_config(config)
    workdir = Path(workdir)
    data = load_data(config)
    model = Translator(config, data)
    counts = [len(p) for p in data.pools]
    high = high_resource(data)
    results: dict[str, Any] = {}
    for temp in [float(t) for t in config.temperatures]:
        probs = sequences.language_probabilities(counts, temp)
        log.info("temperature %g: language sampling probabilities %s", temp,
                 ", ".join(f"{l} {p:.3f}" for l, p in zip(data.languages, probs)))
        state, final, outputs, metrics = train_and_score(config, model, data, temp, workdir / f"temperature_{temp:g}",
                                                         f"T={temp:g}")
        log.info("temperature %g: exact match %s", temp,
                 ", ".join(f"{l} {metrics[f'exact_match_{l}']:.3f}" for l in data.languages))
        for lang, p in zip(data.languages, probs):
            results[f"exact_match_{lang}_T{temp:g}"] = metrics[f"exact_match_{lang}"]
            results[f"chrf_{lang}_T{temp:g}"] = metrics[f"chrf_{lang}"]
            results[f"sampling_prob_{lang}_T{temp:g}"] = float(p)
        if temp == float(config.sampling_temperature):
            results.update(metrics)
            results.update(test_loss=final["test_loss"], test_token_accuracy=final["test_token_accuracy"],
                           steps=final["steps"], params=loop.count_params(state.params))
            results["exact_match_high_min"] = min(metrics[f"exact_match_{l}"] for l in high)
            results["examples"] = {l: [outputs["beam"][i] for i in np.flatnonzero(data.test["language"] == li)[:3]]
                                   for li, l in enumerate(data.languages)}
            plot_learning_curves(workdir / f"temperature_{temp:g}", title=f"translate (T={temp:g})",
                                 out=workdir / "plots" / "learning_curve.png")
    results["train_counts"] = dict(zip(data.languages, counts))
    results["low_resource_language"] = data.languages[int(np.argmin(counts))]
    return results
