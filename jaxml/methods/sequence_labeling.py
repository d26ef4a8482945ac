"""Sequence labelling with a linear-chain CRF (forward-algorithm NLL, Viterbi decoding) on top of a
BiLSTM or embedding-only encoder; `use_crf=False` trains per-token softmax on the same encoder instead.

Data (`config.dataset`):
- `hmm`: sequences from a known HMM (`config.hmm`). The true-parameter decoders are the ceiling: result
  metrics `bayes_viterbi_accuracy` (Viterbi with the true parameters, crf_hmm's reference),
  `bayes_marginal_accuracy` (per-position max-marginal with the true parameters, the per-token Bayes
  optimum) and `gap_to_bayes_viterbi` = bayes_viterbi_accuracy - test_accuracy.
- `pytokens`: character-level token types of Python stdlib source (`config.pytokens`), held-out files.
  Result metrics `f1`, `precision`, `recall` (exact token spans with their type) and `f1_<TYPE>`.

result.json: `test_accuracy` (per-token accuracy of the decode on the test split), `test_loss` (NLL in
nats per token), and the metrics above.
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
from jaxml.core.steps import apply_gradients
from jaxml.core.train_state import TrainState, make_optimizer
from jaxml.data import sequences
from jaxml.data.datasets import Split
from jaxml.errors import JaxmlError
from jaxml.models import crf
from jaxml.models.layers import compute_dtype

log = logging.getLogger("jaxml")

DATASETS = ("hmm", "pytokens")


def load_data(config: ml_collections.ConfigDict) -> tuple[Split, Split, int, int, sequences.HMM | None]:
    """(train, test, vocab size, number of tags, the HMM or None)."""
    if config.dataset == "hmm":
        h = config.hmm
        hmm = sequences.make_hmm(int(h.states), int(h.symbols), stay=float(h.stay),
                                 emission_peak=float(h.emission_peak), seed=int(h.seed))
        kw = dict(min_length=int(h.min_length), max_length=int(h.max_length))
        train = sequences.sample_hmm(hmm, int(h.train_size), seed=int(config.data_seed) * 2 + 1, **kw)
        test = sequences.sample_hmm(hmm, int(h.test_size), seed=int(config.data_seed) * 2 + 2, **kw)
        return train, test, int(h.symbols), int(h.states), hmm
    if config.dataset == "pytokens":
        p = config.pytokens
        train, test = sequences.pytoken_splits(window=int(p.window), train_chars=int(p.train_chars),
                                               test_chars=int(p.test_chars), test_percent=int(p.test_percent),
                                               directory=config.data_dir or None)
        return train, test, sequences.CHAR_VOCAB, len(sequences.TAGS), None
    raise JaxmlError(f"config.dataset={config.dataset!r} is not valid for sequence_labeling; "
                     f"choose one of {', '.join(DATASETS)}")


def build_model(config: ml_collections.ConfigDict, vocab_size: int, num_tags: int) -> crf.CRFTagger:
    m = config.model
    if m.encoder not in crf.ENCODERS:
        raise JaxmlError(f"config.model.encoder={m.encoder!r} is not valid; choose one of {', '.join(crf.ENCODERS)}")
    return crf.CRFTagger(vocab_size=vocab_size, num_tags=num_tags, encoder=m.encoder, embed_dim=int(m.embed_dim),
                         hidden=int(m.hidden), layers=int(m.layers), dtype=compute_dtype(config.dtype))


def valid_positions(tokens: jax.Array, lengths: jax.Array) -> jax.Array:
    """[B, T] bool: the positions inside each sequence's length."""
    return jnp.arange(tokens.shape[1])[None] < lengths[:, None]


def unpack(batch) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """tokens [B, T], tags [B, T], lengths [B], valid-position mask [B, T]."""
    tokens, lengths = batch["tokens"], batch["length"]
    return tokens, batch["tags"], lengths, valid_positions(tokens, lengths)


def make_functions(config: ml_collections.ConfigDict, model: crf.CRFTagger):
    """(per-sequence losses [B], decode) for the model's variables, CRF or per-token softmax."""
    use_crf = bool(config.use_crf)

    def losses(params, tokens, tags, lengths, mask):
        emissions, crf_params = model.apply({"params": params}, tokens, lengths)
        if use_crf:
            return jax.vmap(crf.nll, in_axes=(0, 0, None, 0))(emissions, tags, crf_params, mask)
        ce = optax.softmax_cross_entropy_with_integer_labels(emissions, tags)
        return jnp.sum(ce * mask, axis=1)

    def decode(params, tokens, lengths, mask):
        emissions, crf_params = model.apply({"params": params}, tokens, lengths)
        if use_crf:
            return jax.vmap(crf.viterbi, in_axes=(0, None, 0))(emissions, crf_params, mask)[0]
        return jnp.where(mask, jnp.argmax(emissions, -1), 0)

    return losses, decode


def make_recipe(config, train_split: Split, eval_splits: dict[str, Split], vocab_size: int, num_tags: int):
    model = build_model(config, vocab_size, num_tags)
    tx = make_optimizer(config)
    losses, decode = make_functions(config, model)
    t = train_split["tokens"].shape[1]

    def init(key):
        params = model.init(key, jnp.zeros((1, t), jnp.int32), jnp.full((1,), t, jnp.int32))["params"]
        return TrainState(params=params, model_state={}, opt_state=tx.init(params))

    def train_step(state: TrainState, batch, key):
        tokens, tags, lengths, mask = unpack(batch)
        num_tokens = jnp.sum(mask)

        def loss_fn(params):
            return jnp.sum(losses(params, tokens, tags, lengths, mask)) / num_tokens

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        return apply_gradients(state, tx, grads, {"loss": loss})

    def eval_step(state: TrainState, batch):
        tokens, tags, lengths, mask = unpack(batch)
        pred = decode(state.params, tokens, lengths, mask)
        seq_mask = batch["mask"]  # 0 for the padding examples of the last batch
        counted = mask * (seq_mask[:, None] > 0)
        return {"loss": jnp.sum(losses(state.params, tokens, tags, lengths, mask) * seq_mask),
                "accuracy": jnp.sum((pred == tags) * counted), "count": jnp.sum(counted)}

    return loop.Recipe(init=init, train_step=train_step, eval_step=eval_step, train_split=train_split,
                       eval_splits=eval_splits, main_metric="accuracy"), decode


def predict(decode, params, split: Split, batch_size: int) -> np.ndarray:
    """Decoded tags [N, T] on the host, in batches of `batch_size` (one device)."""
    fn = jax.jit(lambda p, tokens, lengths: decode(p, tokens, lengths, valid_positions(tokens, lengths)))
    out = []
    for i in range(0, len(split), batch_size):
        tokens, lengths = split["tokens"][i:i + batch_size], split["length"][i:i + batch_size]
        n = len(lengths)
        if n < batch_size:  # pad to one compiled shape
            tokens = np.concatenate([tokens, np.repeat(tokens[:1], batch_size - n, 0)])
            lengths = np.concatenate([lengths, np.repeat(lengths[:1], batch_size - n)])
        out.append(np.asarray(fn(params, tokens, lengths))[:n])
    return np.concatenate(out)


def token_accuracy(pred: np.ndarray, split: Split) -> float:
    mask = np.arange(split["tags"].shape[1])[None] < split["length"][:, None]
    return float(((pred == split["tags"]) * mask).sum() / mask.sum())


def hmm_ceiling(hmm: sequences.HMM, split: Split) -> dict[str, float]:
    """Accuracy of Viterbi and of per-position max-marginal decoding with the true HMM parameters.
    Marginals are the gradient of log Z with respect to the emission scores."""
    with jax.enable_x64(True):
        params = crf.CRFParams(jnp.log(hmm.transition), jnp.log(hmm.initial), jnp.zeros(len(hmm.initial)))
        log_b = jnp.log(hmm.emission)
        symbols = jnp.asarray(split["tokens"])
        mask = valid_positions(symbols, jnp.asarray(split["length"]))
        emissions = log_b.T[symbols]  # [N, T, K]
        tags = jax.jit(jax.vmap(crf.viterbi, in_axes=(0, None, 0)))(emissions, params, mask)[0]
        marginals = jax.jit(jax.vmap(jax.grad(crf.log_partition), in_axes=(0, None, 0)))(emissions, params, mask)
        marginal_tags = jnp.where(mask, jnp.argmax(marginals, -1), 0)
    return {"bayes_viterbi_accuracy": token_accuracy(np.asarray(tags), split),
            "bayes_marginal_accuracy": token_accuracy(np.asarray(marginal_tags), split)}


def recipe_for(config: ml_collections.ConfigDict) -> loop.Recipe:
    train_split, test, vocab, tags, _ = load_data(config)
    return make_recipe(config, train_split, {"test": test}, vocab, tags)[0]


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """Reloads the newest checkpoint in `workdir` and evaluates it on the test split."""
    return loop.evaluate_checkpoint(recipe_for(config), config, workdir)


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    train_split, test, vocab, num_tags, hmm = load_data(config)
    log.info("sequence_labeling on %s: %d train / %d test sequences of length <= %d, %d tags", config.dataset,
             len(train_split), len(test), train_split["tokens"].shape[1], num_tags)
    recipe, decode = make_recipe(config, train_split, {"test": test}, vocab, num_tags)
    state, metrics = loop.run(recipe, config, workdir, desc=config.get("name", "train"))
    metrics["params"] = loop.count_params(state.params)
    params = jax.device_get(state.params)
    pred = predict(decode, params, test, int(config.eval_batch_size))
    metrics["test_accuracy"] = token_accuracy(pred, test)
    if hmm is not None:
        metrics.update(hmm_ceiling(hmm, test))
        metrics["gap_to_bayes_viterbi"] = metrics["bayes_viterbi_accuracy"] - metrics["test_accuracy"]
        log.info("HMM: tagger %.4f, true-parameter Viterbi %.4f, true max-marginal %.4f", metrics["test_accuracy"],
                 metrics["bayes_viterbi_accuracy"], metrics["bayes_marginal_accuracy"])
    else:
        metrics.update(sequences.span_f1(test["tags"], pred, test["length"]))
        log.info("token spans on held-out files: F1 %.4f (P %.4f, R %.4f)", metrics["f1"], metrics["precision"],
                 metrics["recall"])
    metrics["test_tokens"] = int(test["length"].sum())
    return metrics
