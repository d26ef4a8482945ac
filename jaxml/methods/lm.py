"""Decoder-only (GPT-style) character language model.

Data: a character tokenizer over the corpus (`config.corpus`: "kjv" — Debian bible-kjv, one verse
per line; falls back to Python's stdlib sources with a log line — or "stdlib"); a contiguous split,
the first 90% for training (windows of `seq_len + 1` every `train_stride` characters, sampled by
the shared loop), the last 10% for validation (non-overlapping windows, every character scored once
except the first of each window).

Model: `models.transformer.Decoder` (pre-LN, learned or rotary positions, einsum or
`jax.nn.dot_product_attention`, bf16 compute with `config.dtype="bfloat16"`). Training: AdamW,
warm-up + cosine, gradient clipping, `grad_accum` micro-batches per step (`core.gradients`: one
`lax.scan` summing gradients), activation checkpointing per block (`config.remat`), through `core.loop`.

Parallelism: the train and eval steps are written on global arrays and sharded by the rules of
`core/sharding.py` (`models.transformer.PARAM_AXES` names the parameters): data parallelism by
default, `config.parallel.fsdp=N` shards parameters and optimizer moments over N devices (FSDP),
`config.parallel.tensor=N` splits attention heads and the MLP width (tensor parallelism); the
numbers do not depend on the layout or the device count beyond float reassociation.

Sampling: `generate(...)` — KV-cached, temperature and top-k (temperature 0 = greedy), a prompt
prefilled in one call and then one token per `lax.scan` step; returns the tokens and the logits
each token was drawn from (tests compare them with full recomputation).

FLOPs: `flops_per_token(cfg, seq_len)` = 6 N + 12 L T E for a training step (N = matmul parameters:
4 E^2 + 2 E M per layer plus the E x V output projection; the attention term counts QK^T and AV:
2 x 2 T E forward per layer, x3 for forward + backward; PaLM appendix B). The tests cross-check it
with XLA's cost analysis of the compiled step.

result.json metrics: `val_loss` (nats per character), `val_bpc` (bits per character),
`val_perplexity`, `params`, `flops_per_token`, `tokens_per_s` (median of the logged training chunks),
`achieved_flops_per_s`, `mfu` (null on devices without a known peak), `corpus` (the one used);
`samples.txt` in the workdir holds generated text; `plots/attention_layer{i}.png` the per-head
attention maps of `config.attention_text` (and `plots/attention_rollout.png`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core import gradients, loop, profiling, sharding
from jaxml.core.inference import Decoding, Inference
from jaxml.core.steps import apply_gradients, batch_key
from jaxml.core.train_state import TrainState, make_optimizer
from jaxml.data import text as text_lib
from jaxml.data.datasets import Split
from jaxml.errors import JaxmlError
from jaxml.models.attention import attention_rollout
from jaxml.models.build import TRANSFORMER_FIELDS, transformer_config
from jaxml.models.transformer import PARAM_AXES, Decoder, TransformerConfig

log = logging.getLogger("jaxml")
MODEL_KEYS = TRANSFORMER_FIELDS + ("tie_embeddings",)


def model_config(config: ml_collections.ConfigDict, vocab_size: int, max_len: int | None = None) -> TransformerConfig:
    return transformer_config(config, vocab_size, max_len or int(config.seq_len), MODEL_KEYS)


def matmul_params(cfg: TransformerConfig) -> int:
    """Parameters that take part in matmuls per token (embedding lookups and norms excluded)."""
    e, m = cfg.embed_dim, cfg.hidden_dim
    return cfg.num_layers * (4 * e * e + 2 * e * m) + e * cfg.vocab_size


def flops_per_token(cfg: TransformerConfig, seq_len: int, training: bool = True) -> float:
    """6 N + 12 L T E (training) or 2 N + 4 L T E (forward)."""
    n = matmul_params(cfg)
    attn = 4 * cfg.num_layers * seq_len * cfg.embed_dim
    return float(3 * (2 * n + attn) if training else 2 * n + attn)


class LMData:
    """The tokenizer and the `tokens` windows [N, seq_len + 1] of the training and validation text."""

    def __init__(self, tokenizer: text_lib.CharTokenizer, train: Split, val: Split, corpus: str):
        self.tokenizer, self.train, self.val, self.corpus = tokenizer, train, val, corpus


def load_data(config: ml_collections.ConfigDict) -> LMData:
    text, used = text_lib.load_corpus(config.corpus, fallback=bool(config.get("corpus_fallback", True)))
    if int(config.get("max_chars", 0)):
        text = text[: int(config.max_chars)]
    tok = text_lib.CharTokenizer(text)
    ids = tok.encode(text)
    train_ids, val_ids = text_lib.contiguous_split(ids, float(config.val_fraction))
    seq = int(config.seq_len)
    dtype = np.uint8 if tok.vocab_size <= 256 else np.int32
    tr = text_lib.lm_windows(train_ids, seq, int(config.train_stride) or seq).astype(dtype)
    va = text_lib.lm_windows(val_ids, seq).astype(dtype)
    log.info("%s corpus: %d chars, vocab %d; %d train windows, %d val windows of %d", used, len(ids),
             tok.vocab_size, len(tr), len(va), seq)
    return LMData(tok, Split(tokens=tr), Split(tokens=va), used)


def token_nll(logits: jax.Array, targets: jax.Array) -> jax.Array:
    return optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), targets)


def make_recipe(config: ml_collections.ConfigDict, data: LMData) -> loop.Recipe:
    cfg = model_config(config, data.tokenizer.vocab_size)
    model = Decoder(cfg)
    tx = make_optimizer(config)
    layout = sharding.mesh_shape(config.parallel)
    sharding.check_divides(config.parallel, {
        "fsdp": {"config.model.embed_dim": cfg.embed_dim},
        "tensor": {"config.model.num_heads": cfg.num_heads,
                   "the MLP width (config.model.mlp_dim, or 4 x embed_dim when 0)": cfg.hidden_dim}})
    accum = gradients.accum_steps(config, layout["data"] * layout["fsdp"])
    seq = int(config.seq_len)

    def init(key):
        params = model.init(key, jnp.zeros((1, seq), jnp.int32))["params"]
        return TrainState(params=params, model_state={}, opt_state=tx.init(params))

    def loss_fn(params, batch, key, carry):
        windows = batch["tokens"].astype(jnp.int32)
        logits = model.apply({"params": params}, windows[:, :-1], train=True, rngs={"dropout": key})
        return token_nll(logits, windows[:, 1:]).mean(), ({}, carry)

    def train_step(state: TrainState, batch, key):
        """One step on the global batch (in `grad_accum` micro-batches); no collectives (XLA adds them
        from the shardings). One dropout key for the whole global batch."""
        _, metrics, _, grads = gradients.value_and_grad(loss_fn, state.params, {"tokens": batch["tokens"]},
                                                        batch_key(key), accum=accum, opt_state=state.opt_state)
        return apply_gradients(state, tx, grads, metrics)

    def eval_step(state: TrainState, batch):
        w = batch["tokens"].astype(jnp.int32)
        logits = model.apply({"params": state.params}, w[:, :-1])
        nll = token_nll(logits, w[:, 1:]).sum(-1)
        mask = batch["mask"]
        count = mask * (w.shape[1] - 1)
        return {"loss": jnp.sum(nll * mask), "count": jnp.sum(count)}

    return loop.Recipe(init=init, train_step=train_step, eval_step=eval_step, train_split=data.train,
                       eval_splits={"val": data.val}, main_metric="loss",
                       sharding=sharding.GlobalArrays(PARAM_AXES), grad_accum=accum)


def sample_token(key: jax.Array, logits: jax.Array, temperature: float, top_k: int) -> jax.Array:
    """[B, V] logits -> [B] tokens; temperature 0 is greedy, top_k 0 keeps every token."""
    if temperature <= 0:
        return jnp.argmax(logits, -1).astype(jnp.int32)
    logits = logits.astype(jnp.float32) / temperature
    if top_k:
        kth = jax.lax.top_k(logits, top_k)[0][:, -1:]
        logits = jnp.where(logits < kth, -jnp.inf, logits)
    return jax.random.categorical(key, logits).astype(jnp.int32)


def empty_cache(model: Decoder, batch: int) -> Any:
    shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros((batch, model.cfg.max_len), jnp.int32),
                                               decode=True))["cache"]
    return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)


def generate(cfg: TransformerConfig, params: Any, prompt: jax.Array, num_new: int, key: jax.Array, *,
             temperature: float = 1.0, top_k: int = 0) -> tuple[jax.Array, jax.Array]:
    """KV-cached sampling: (tokens [B, num_new], logits [B, num_new, V] each token was drawn from)."""
    b, p = prompt.shape
    if p + num_new > cfg.max_len:
        raise JaxmlError(f"prompt ({p}) + new tokens ({num_new}) exceed the model's max_len {cfg.max_len}")
    model = Decoder(cfg)

    @jax.jit
    def run(params, prompt, key):
        logits, upd = model.apply({"params": params, "cache": empty_cache(model, b)}, prompt, decode=True,
                                  mutable=["cache"])

        def step(carry, k):
            cache, last = carry
            tok = sample_token(k, last, temperature, top_k)
            logits, upd = model.apply({"params": params, "cache": cache}, tok[:, None], decode=True, mutable=["cache"])
            return (upd["cache"], logits[:, -1]), (tok, last)

        _, (toks, used) = jax.lax.scan(step, (upd["cache"], logits[:, -1]), jax.random.split(key, num_new))
        return toks.T, jnp.swapaxes(used, 0, 1)

    return run(params, prompt, key)


def write_samples(config, params, data: LMData, workdir: Path) -> str:
    s = config.sample
    cfg = model_config(config, data.tokenizer.vocab_size)
    prompts = [str(p) for p in s.prompts]
    lines = []
    for i, prompt in enumerate(prompts):
        ids = data.tokenizer.encode(prompt)[None]
        num_new = min(int(s.num_chars), cfg.max_len - ids.shape[1])
        toks, _ = generate(cfg, params, jnp.asarray(ids), num_new, jax.random.key(int(config.seed) * 1000 + i),
                           temperature=float(s.temperature), top_k=int(s.top_k))
        lines.append(f"--- prompt {prompt!r} (temperature {s.temperature}, top-k {s.top_k})\n"
                     f"{prompt}{data.tokenizer.decode(np.asarray(toks[0]))}\n")
    out = "".join(lines)
    if jax.process_index() == 0:
        (workdir / "samples.txt").write_text(out)
    return out


def attention_weights_for(cfg: TransformerConfig, params: Any, tokens: jax.Array) -> jax.Array:
    """Per-layer, per-head self-attention weights [L, B, H, T, T] of a forward pass (einsum path)."""
    from jaxml.models.transformer import attention_maps

    cfg = dataclasses.replace(cfg, impl="einsum")
    _, state = Decoder(cfg).apply({"params": params}, tokens, mutable=["intermediates"])
    return attention_maps(state)


def save_attention_maps(cfg: TransformerConfig, params: Any, tokenizer: text_lib.CharTokenizer, text: str,
                        out_dir: str | Path) -> list[Path]:
    """One PNG per layer (a heatmap per head, characters on the axes) plus the attention rollout
    (`models.attention.attention_rollout`, averaged over heads) for `text`."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    text = "".join(c for c in text if c in tokenizer.chars)  # a truncated corpus may lack some
    ids = tokenizer.encode(text[: cfg.max_len])
    maps = np.asarray(attention_weights_for(cfg, params, jnp.asarray(ids)[None]))[:, 0]  # [L, H, T, T]
    labels = [c if c != "\n" else "\\n" for c in tokenizer.decode(ids)]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []

    def heat(ax, m, title):
        ax.imshow(m, cmap="viridis", vmin=0.0)
        ax.set_title(title, fontsize=8)
        ax.set_xticks(range(len(labels)), labels, fontsize=5)
        ax.set_yticks(range(len(labels)), labels, fontsize=5)

    for layer, heads in enumerate(maps):
        fig, axes = plt.subplots(1, len(heads), figsize=(3.2 * len(heads), 3.4), squeeze=False)
        for h, ax in enumerate(axes[0]):
            heat(ax, heads[h], f"layer {layer} head {h}")
        fig.tight_layout()
        paths.append(out_dir / f"attention_layer{layer}.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    fig, ax = plt.subplots(figsize=(4, 4))
    heat(ax, np.asarray(attention_rollout(maps)), "attention rollout (all layers)")
    fig.tight_layout()
    paths.append(out_dir / "attention_rollout.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def median_steps_per_s(workdir: Path) -> float | None:
    path = workdir / "metrics.jsonl"
    if not path.exists():
        return None
    rates = [r["steps_per_s"] for r in map(json.loads, path.read_text().splitlines())
             if r.get("split") == "train" and "steps_per_s" in r]
    return float(np.median(rates[1:] if len(rates) > 1 else rates)) if rates else None


def recipe_for(config: ml_collections.ConfigDict) -> loop.Recipe:
    return make_recipe(config, load_data(config))


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    out = loop.evaluate_checkpoint(recipe_for(config), config, workdir)
    out["val_bpc"] = out["val_loss"] / math.log(2)
    return out


def inference_fn(config: ml_collections.ConfigDict) -> Inference:
    """Tokens [B, T <= seq_len] (any integer dtype) -> next-character logits [B, T, V] (`jaxml export`;
    the workdir's `tokenizer.json` maps characters to ids)."""
    data = load_data(config)
    recipe = make_recipe(config, data)
    model = Decoder(model_config(config, data.tokenizer.vocab_size))

    def fn(state: TrainState):
        return lambda tokens: model.apply({"params": state.params}, tokens.astype(jnp.int32))

    return Inference(init=recipe.init, fn=fn, example=np.asarray(data.val["tokens"][:4, :-1]).astype(np.int32),
                     meta={"output": f"next-character logits [B, T, {data.tokenizer.vocab_size}]",
                           "tokenizer": data.tokenizer.to_dict()})


def decoding_fn(config: ml_collections.ConfigDict) -> Decoding:
    """The KV-cached decoder of a workdir's model for `jaxml serve`'s `/v1/generate` (sampling as
    `generate` does: temperature, top-k, temperature 0 greedy)."""
    data = load_data(config)
    return Decoding(init=make_recipe(config, data).init, params=lambda state: state.params,
                    cfg=model_config(config, data.tokenizer.vocab_size), tokenizer=data.tokenizer)


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    workdir = Path(workdir)
    data = load_data(config)
    recipe = make_recipe(config, data)
    state, metrics = loop.run(recipe, config, workdir, desc=config.get("name", "lm"))
    cfg = model_config(config, data.tokenizer.vocab_size)
    fpt = flops_per_token(cfg, int(config.seq_len))
    sps = median_steps_per_s(workdir)
    tps = sps * int(config.batch_size) * int(config.seq_len) if sps else None
    mesh = sharding.make_mesh(config.parallel)
    peak = profiling.peak_flops(mesh.devices.flat[0])
    result = {
        "val_loss": metrics["val_loss"], "val_bpc": metrics["val_loss"] / math.log(2),
        "val_perplexity": math.exp(metrics["val_loss"]), "steps": metrics["steps"],
        "params": loop.count_params(state.params), "flops_per_token": fpt, "tokens_per_s": tps,
        "achieved_flops_per_s": tps * fpt if tps else None,
        "mfu": tps * fpt / (peak * mesh.devices.size) if (tps and peak) else None, "corpus": data.corpus,
    }
    if jax.process_index() == 0:
        (workdir / "tokenizer.json").write_text(json.dumps(data.tokenizer.to_dict()))
    if int(config.sample.num_chars) > 0:
        log.info("samples:\n%s", write_samples(config, jax.device_get(state.params), data, workdir))
    if config.get("attention_text") and jax.process_index() == 0:
        save_attention_maps(cfg, jax.device_get(state.params), data.tokenizer, str(config.attention_text),
                            workdir / "plots")
    return result
