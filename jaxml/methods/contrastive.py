"""Joint image-text embeddings: a CLIP-style dual encoder (Radford et al. 2021) trained with the
symmetric InfoNCE loss, scored by cross-modal retrieval and by zero-shot classification from prompts.

Data: `data.paired.paired_dataset` -- Fashion-MNIST (or digits) images and their generated captions.
With `zeroshot.held_out` classes, training sees only the pairs of the other (seen) classes.

Model: `models.dual_encoder.DualEncoder`: a CNN image tower (`image_model`) and a character
Transformer text tower (`text_model`) into `clip.embed_dim` dimensions, and a learned logit scale
s = exp(log_scale), initialised at 1 / `clip.temperature` and capped at `clip.max_scale`.

Loss: with u_i, v_i the unit image and text embeddings of pair i of the global batch of N,

    L = 1/(2N) Σ_i [ −log softmax_j(s u_i·v_j)_i − log softmax_j(s v_i·u_j)_i ],

image→text and text→image cross-entropy of the matching pair. The embeddings are all-gathered over
the batch axes of the mesh (`core.batch_global`), so each device's anchors see every candidate of
the global batch and the loss equals the one-device loss on that batch.

Evaluators (at every eval point):
- `retrieval`: the first `retrieval.size` test pairs as queries and gallery; Recall@K (one jitted
  top-k per direction) and the median rank (1 = first; exact ties go to the lower gallery index in both),
  image→text (`i2t_*`) and text→image (`t2i_*`). Chance Recall@K is K / size.
- `zeroshot`: test images classified by the nearest prompt embedding ("an item, {description}" of
  each class, `zeroshot.template`): accuracy over all classes (`all_accuracy`); with held-out classes
  also `unseen_accuracy` (unseen images among the unseen prompts only) and generalised zero-shot over
  all prompts: `gzsl_seen`, `gzsl_unseen` and their harmonic mean `gzsl_h`.

result.json: the final metrics of both evaluators (`retrieval_i2t_r1`, ..., `zeroshot_unseen_accuracy`),
`chance_r1` (= 1 / size), `r1_over_chance` (the smaller of the two directions' R@1 over chance),
`unseen_chance`, and the embedding plot `embeddings.png` (2-D PCA of the test image embeddings,
coloured by class) in the workdir. docs/references.md#multimodal-learning.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.core import config as config_lib, loop, sharding as sharding_lib
from jaxml.core.batch_global import batch_global, gather_rows, l2_normalise, sum_over_devices
from jaxml.core.steps import Normaliser, apply_gradients
from jaxml.core.train_state import TrainState, make_optimizer
from jaxml.core.zero_shot_metrics import accuracy_among, zero_shot_report
from jaxml.data import paired
from jaxml.data.datasets import Split
from jaxml.errors import JaxmlError
from jaxml.models.build import build_model, transformer_config
from jaxml.models.dual_encoder import DualEncoder

log = logging.getLogger("jaxml")
RETRIEVAL, ZEROSHOT = "retrieval", "zeroshot"


# ------------------------------------------------------------------------------------------------ loss

def info_nce(image: jax.Array, text: jax.Array, log_scale: jax.Array, axis_name: Any = None, *,
             max_scale: float = 100.0) -> jax.Array:
    """Symmetric InfoNCE of the pairs (image[i], text[i]) with logit scale min(exp(log_scale), max_scale).

    Without `axis_name`, image and text [N, D] are the whole batch; under `shard_map` they are this
    device's rows: the candidates are all-gathered, each local anchor is scored against all N of the
    other modality, and the sum is reduced over the devices."""
    u, v = l2_normalise(image.astype(jnp.float32)), l2_normalise(text.astype(jnp.float32))
    all_u, offset = gather_rows(u, axis_name)
    all_v, _ = gather_rows(v, axis_name)
    scale = jnp.minimum(jnp.exp(log_scale), max_scale)
    rows = jnp.arange(u.shape[0]) + offset

    def cross_entropy(anchors, candidates):
        logits = scale * anchors @ candidates.T
        return jnp.sum(jax.nn.logsumexp(logits, axis=1) - jnp.take_along_axis(logits, rows[:, None], axis=1)[:, 0])

    total = cross_entropy(u, all_v) + cross_entropy(v, all_u)
    return sum_over_devices(total, axis_name) / (2 * all_u.shape[0])


def batch_global_info_nce(mesh, max_scale: float = 100.0) -> Callable[[jax.Array, jax.Array, jax.Array], jax.Array]:
    """`info_nce(image, text, log_scale)` on embeddings sharded over the batch axes of `mesh`."""
    return batch_global(functools.partial(info_nce, max_scale=max_scale), mesh, sharded=2)


# ------------------------------------------------------------------------------------------- retrieval

@functools.partial(jax.jit, static_argnames="k")
def top_k_retrieval(queries: jax.Array, gallery: jax.Array, k: int) -> jax.Array:
    """[Q, k] indices of the gallery rows with the highest dot product with each query (one top-k)."""
    return jax.lax.top_k(queries @ gallery.T, k)[1]


def recall_at_k(similarity: jax.Array, ks: Sequence[int]) -> dict[int, jax.Array]:
    """{K: share of queries i whose item i is among the top K of row i} of a [Q, G] similarity matrix
    (one top-k of the largest K; ties go to the lower index)."""
    top = jax.lax.top_k(similarity, max(ks))[1]
    found = jnp.cumsum(top == jnp.arange(similarity.shape[0])[:, None], axis=1) > 0
    return {int(k): jnp.mean(found[:, int(k) - 1]) for k in ks}


def ranks(similarity: jax.Array) -> jax.Array:
    """1-based rank of item i in row i: 1 + the items scored higher, ties to the lower index (as top-k)."""
    own = jnp.diagonal(similarity)[:, None]
    index = jnp.arange(similarity.shape[1])
    ahead = (similarity > own) | ((similarity == own) & (index[None, :] < index[:similarity.shape[0], None]))
    return 1 + jnp.sum(ahead, axis=1)


@functools.partial(jax.jit, static_argnames="ks")
def retrieval_metrics(image: jax.Array, text: jax.Array, ks: tuple[int, ...]) -> dict[str, jax.Array]:
    """Recall@K and median rank both ways for the pairs (image[i], text[i]) of unit embeddings."""
    sim = image @ text.T
    out = {}
    for name, s in (("i2t", sim), ("t2i", sim.T)):
        out.update({f"{name}_r{k}": v for k, v in recall_at_k(s, ks).items()})
        out[f"{name}_median_rank"] = jnp.median(ranks(s).astype(jnp.float32))
    return out


# ----------------------------------------------------------------------------------------------- model

def check_contrastive_config(config: ml_collections.ConfigDict) -> None:
    config_lib.check_int(config.clip.embed_dim, "config.clip.embed_dim")
    config_lib.check_number(config.clip.temperature, "config.clip.temperature", lo=1e-3)
    config_lib.check_number(config.clip.max_scale, "config.clip.max_scale", lo=1.0)
    config_lib.check_int(config.retrieval.size, "config.retrieval.size", minimum=2)
    for k in config.retrieval.ks:
        config_lib.check_int(k, "config.retrieval.ks")
        if int(k) > int(config.retrieval.size):
            raise JaxmlError(f"config.retrieval.ks={tuple(config.retrieval.ks)} must not exceed config.retrieval.size="
                             f"{config.retrieval.size}")


def caption_noise(config: ml_collections.ConfigDict) -> paired.CaptionNoise:
    c = config.captions
    return paired.CaptionNoise(word_dropout=float(c.word_dropout), ambiguous=float(c.ambiguous), wrong=float(c.wrong))


def load_pairs(config: ml_collections.ConfigDict) -> paired.PairedDataset:
    """The paired dataset of `config.dataset` (Fashion-MNIST falls back to digits with a log line)."""
    c = config.captions
    return paired.paired_dataset(config.dataset, seed=int(config.data_seed), data_dir=config.data_dir or None,
                                 noise=caption_noise(config), max_len=int(c.max_len), train_size=int(c.train_size),
                                 test_size=int(c.test_size), extent=bool(c.get("extent", False)))


def held_out_classes(config: ml_collections.ConfigDict, num_classes: int) -> tuple[int, ...]:
    held = tuple(int(c) for c in config.zeroshot.held_out)
    bad = [c for c in held if not 0 <= c < num_classes]
    if bad or len(set(held)) != len(held) or len(held) >= num_classes:
        raise JaxmlError(f"config.zeroshot.held_out={held} must be distinct classes in 0..{num_classes - 1}, "
                         "leaving at least one seen class")
    return held


def make_model(config: ml_collections.ConfigDict, vocab_size: int, max_len: int) -> DualEncoder:
    """The dual encoder: `image_model` (a classifier module with `clip.embed_dim` outputs) and the
    character Transformer of `text_model`."""
    embed = int(config.clip.embed_dim)
    image = build_model(ml_collections.ConfigDict({"model": config.image_model, "dtype": config.dtype}), embed)
    text = transformer_config(ml_collections.ConfigDict({"model": config.text_model, "dtype": config.dtype}),
                              vocab_size, max_len)
    return DualEncoder(image=image, text=text, embed_dim=embed, temperature=float(config.clip.temperature))


def make_embed_fns(model: DualEncoder, prepare: Normaliser, batch_size: int):
    """(embed_images(params, images), embed_texts(params, tokens)) -> unit embeddings, in jitted chunks."""

    @jax.jit
    def images_fn(params, images):
        return l2_normalise(model.apply({"params": params}, prepare(images), method=DualEncoder.encode_image))

    @jax.jit
    def texts_fn(params, tokens):
        return l2_normalise(model.apply({"params": params}, tokens, method=DualEncoder.encode_text))

    def chunked(fn):
        def run(params, x):
            x = np.asarray(x)
            return jnp.concatenate([fn(params, x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
        return run

    return chunked(images_fn), chunked(texts_fn)


# ---------------------------------------------------------------------------------------------- recipe

def make_evaluators(config: ml_collections.ConfigDict, data: paired.PairedDataset, embed_images, embed_texts,
                    held_out: tuple[int, ...]) -> dict[str, Callable]:
    size = min(int(config.retrieval.size), len(data.test))
    ks = tuple(int(k) for k in config.retrieval.ks)
    gallery_images = np.asarray(data.test["image"][:size])
    gallery_tokens = np.asarray(data.test["tokens"][:size])
    prompts = data.prompts(template=str(config.zeroshot.template))
    test_images, test_labels = np.asarray(data.test["image"]), np.asarray(data.test["label"])

    def retrieval(state, key):
        return retrieval_metrics(embed_images(state.params, gallery_images), embed_texts(state.params, gallery_tokens),
                                 ks)

    def zeroshot(state, key):
        u, p = embed_images(state.params, test_images), embed_texts(state.params, prompts)
        scores = u @ p.T
        out = {"all_accuracy": accuracy_among(scores, test_labels, range(data.num_classes))}
        if held_out:
            out.update(zero_shot_report(scores, test_labels, held_out))
        return out

    return {RETRIEVAL: retrieval, ZEROSHOT: zeroshot}


def make_recipe(config: ml_collections.ConfigDict, data: paired.PairedDataset) -> loop.Recipe:
    """The dual encoder's recipe on the training pairs of the seen classes; retrieval and zero-shot
    evaluators on the test pairs."""
    check_contrastive_config(config)
    held_out = held_out_classes(config, data.num_classes)
    train = data.train if not held_out else paired.classes_subset(
        data.train, [c for c in range(data.num_classes) if c not in held_out])
    model = make_model(config, data.tokenizer.vocab_size, data.max_len)
    tx = make_optimizer(config)
    prepare = Normaliser.fit(train)
    contrast = batch_global_info_nce(sharding_lib.make_mesh(config.parallel), float(config.clip.max_scale))
    image_shape, max_len = train["image"].shape[1:], data.max_len

    def init(key):
        params = model.init({"params": key}, jnp.zeros((2,) + image_shape, jnp.float32),
                            jnp.ones((2, max_len), jnp.int32))["params"]
        return TrainState(params=params, model_state={}, opt_state=tx.init(params))

    def train_step(state: TrainState, batch, key):
        images = prepare(batch["image"])

        def loss_fn(params):
            u, v, log_scale = model.apply({"params": params}, images, batch["tokens"], train=True)
            return contrast(u, v, log_scale), (u, v, log_scale)

        (loss, (u, v, log_scale)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        sim = l2_normalise(u) @ l2_normalise(v).T
        metrics = {"loss": loss, "temperature": 1.0 / jnp.minimum(jnp.exp(log_scale), float(config.clip.max_scale)),
                   "batch_i2t_accuracy": jnp.mean(jnp.argmax(sim, axis=1) == jnp.arange(sim.shape[0]))}
        return apply_gradients(state, tx, grads, metrics)

    def eval_step(state, batch):
        return {"count": jnp.sum(batch["mask"])}

    embed_images, embed_texts = make_embed_fns(model, prepare, int(config.eval_batch_size))
    return loop.Recipe(init=init, train_step=train_step, eval_step=eval_step,
                       train_split=Split(image=train["image"], tokens=train["tokens"]), eval_splits={},
                       main_metric="i2t_r1",
                       evaluators=make_evaluators(config, data, embed_images, embed_texts, held_out))


def recipe_for(config: ml_collections.ConfigDict) -> loop.Recipe:
    """The training recipe (`jaxml bench`, `jaxml eval`)."""
    return make_recipe(config, load_pairs(config))


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """Reloads the newest checkpoint in `workdir` and runs the retrieval and zero-shot evaluators."""
    return loop.evaluate_checkpoint(recipe_for(config), config, workdir)


# ----------------------------------------------------------------------------------------------- train

def plot_embeddings(embeddings: np.ndarray, labels: np.ndarray, class_names: Sequence[str], out: Path) -> Path:
    """2-D PCA of `embeddings` coloured by class, saved to `out`."""
    from jaxml.core.plots import pyplot, save_figure

    x = embeddings - embeddings.mean(0)
    xy = x @ np.linalg.svd(x, full_matrices=False)[2][:2].T
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 5))
    for c, name in enumerate(class_names):
        m = labels == c
        ax.scatter(xy[m, 0], xy[m, 1], s=3, label=name)
    ax.set_title("test image embeddings (PCA)")
    ax.legend(markerscale=4, fontsize=7)
    return save_figure(fig, out, dpi=100)


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    workdir = Path(workdir)
    data = load_pairs(config)
    recipe = make_recipe(config, data)
    state, final = loop.run(recipe, config, workdir, desc="clip")
    result: dict[str, Any] = dict(final)
    size = min(int(config.retrieval.size), len(data.test))
    result["chance_r1"] = 1.0 / size
    result["r1_over_chance"] = min(final[f"{RETRIEVAL}_i2t_r1"], final[f"{RETRIEVAL}_t2i_r1"]) * size
    held_out = held_out_classes(config, data.num_classes)
    if held_out:
        result["unseen_chance"] = 1.0 / len(held_out)
        result["unseen_over_chance"] = final[f"{ZEROSHOT}_unseen_accuracy"] * len(held_out)
    result["dataset_used"] = data.name
    result["params"] = loop.count_params(state.params)
    if jax.process_index() == 0:
        prepare = Normaliser.fit(recipe.train_split)
        embed_images, _ = make_embed_fns(make_model(config, data.tokenizer.vocab_size, data.max_len), prepare,
                                         int(config.eval_batch_size))
        n = min(2000, len(data.test))
        plot_embeddings(np.asarray(embed_images(state.params, data.test["image"][:n])),
                        np.asarray(data.test["label"][:n]), data.class_names, workdir / "embeddings.png")
    log.info("retrieval %s", {k: round(v, 4) for k, v in final.items() if k.startswith(RETRIEVAL)})
    return result
