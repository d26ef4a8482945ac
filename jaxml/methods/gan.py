"""GANs: DCGAN (non-saturating, hinge or WGAN-GP loss), class-conditional variant, EMA generator, and an
offline sample-quality metric (a domain FID and Inception-Score analogue from a locally trained classifier).

Training. The state is `{"gen": TrainState, "disc": TrainState, "ema": generator params}`, each
sub-state with its own Adam (Radford et al. 2016: 2e-4, β1 = 0.5). One jitted step does `d_steps`
discriminator updates (fresh z each, the same real batch) and then one generator update, gradients
`pmean`-ed over the "data" axis; the EMA copy of the generator follows with rate
min(`ema_decay`, (1 + t) / (10 + t)) at step t. Losses
(`gan.loss`), with D logits r (real) and f (fake):
- "ns": D: softplus(−r) + softplus(f); G: softplus(−f) (non-saturating, Goodfellow 2014);
- "hinge": D: relu(1 − r) + relu(1 + f); G: −f (Lim & Ye 2017; Miyato 2018);
- "wgan_gp": D: f − r + λ(‖∇D(x̂)‖ − 1)², x̂ on random real–fake interpolations; G: −f (Gulrajani 2017).
Conditional (`gan.conditional`): G sees a one-hot label, D is a projection discriminator; fake labels
are the real batch's labels. Samples for evaluation come from the EMA generator with BatchNorm using the
statistics of the sample batch itself.

Data: images scaled to [−1, 1] at `image_size` (digits 8×8 are bilinearly up-sampled to 16×16).

Sample quality (offline). A CNN feature classifier (classify's CNN) is trained once per dataset and
image size and cached in `<cache dir>/<dataset>_<size>px_<hash>/` (cache dir: `fid.cache_dir`, else
`$JAXML_DATA_DIR/jaxml_features`, else `~/.cache/jaxml/features`); it is trained on demand if missing.
- domain FID: Fréchet distance between Gaussians fitted (float64) to its penultimate features
  (post-ReLU hidden layer) of `fid.samples` generated images and of the real test split;
- IS analogue: exp(E_x KL(p(y|x) ‖ p(y))) of its softmax on the samples (1 ≤ IS ≤ #classes);
- conditional accuracy: how often it classifies a conditional sample as its conditioning class.

The run is staged: every `eval_every` steps `core.loop.run` stops (checkpointing), the sample metrics
are computed, `plots/samples_<step>.png` (a sample grid) is written and `sample_quality.jsonl` gets a
row; the next stage resumes from the checkpoint. `plots/fid.png` plots FID and IS against steps.

result.json metrics: `fid` (EMA generator at the end), `fid_init` (generator at initialisation),
`fid_raw` (the non-EMA generator), `inception_score`, `inception_score_init`, and sanity references on
real data: `fid_train_test` (real train vs real test), `fid_noise_<σ>` (train images + N(0, σ²) in
[0, 1] units, clipped), `is_real`, `is_single_class`, `fid_single_class`; conditional runs add
`conditional_accuracy` and, with `augment_study.enabled`, the few-label classifier study:
`fewshot_accuracy` (classify CNN on `labels_per_class` real labels per class), `fewshot_gan_accuracy`
(the same plus `synthetic_per_class` cGAN samples per class) and `fewshot_gain`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import flax.serialization
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core import loop, parallel
from jaxml.core.metrics import MetricsWriter
from jaxml.core.train_state import TrainState
from jaxml.data.datasets import Dataset, Split, per_class_subset
from jaxml.errors import JaxmlError
from jaxml.methods import classify
from jaxml.models.gan import DISC_NORMS, Discriminator, Generator
from jaxml.models.layers import compute_dtype

log = logging.getLogger("jaxml")

LOSSES = ("ns", "hinge", "wgan_gp")

# ------------------------------------------------------------------------------------------------ losses


def discriminator_loss(kind: str, real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """Mean discriminator loss (without WGAN-GP's penalty)."""
    if kind == "ns":
        return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))
    if kind == "hinge":
        return jnp.mean(jax.nn.relu(1.0 - real_logits)) + jnp.mean(jax.nn.relu(1.0 + fake_logits))
    if kind == "wgan_gp":
        return jnp.mean(fake_logits) - jnp.mean(real_logits)
    raise JaxmlError(f"config.gan.loss={kind!r} is not valid; choose one of {', '.join(LOSSES)}")


def generator_loss(kind: str, fake_logits: jax.Array) -> jax.Array:
    if kind == "ns":
        return jnp.mean(jax.nn.softplus(-fake_logits))
    if kind in ("hinge", "wgan_gp"):
        return -jnp.mean(fake_logits)
    raise JaxmlError(f"config.gan.loss={kind!r} is not valid; choose one of {', '.join(LOSSES)}")


def gradient_penalty(disc_fn, real: jax.Array, fake: jax.Array, key: jax.Array) -> jax.Array:
    """mean over examples of (‖∂D(x̂)/∂x̂‖₂ − 1)², x̂ = u·real + (1 − u)·fake, u ~ U(0, 1) per example."""
    u = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1))
    x_hat = u * real + (1.0 - u) * fake
    grads = jax.grad(lambda v: jnp.sum(disc_fn(v)))(x_hat)
    norms = jnp.sqrt(jnp.sum(jnp.square(grads.reshape(grads.shape[0], -1)), axis=-1) + 1e-12)
    return jnp.mean(jnp.square(norms - 1.0))


# ------------------------------------------------------------------------------------- sample quality


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (float64, unbiased) of features [N, D]."""
    f = np.asarray(features, np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _psd_sqrt(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """‖μ1 − μ2‖² + tr Σ1 + tr Σ2 − 2 tr (Σ1^½ Σ2 Σ1^½)^½, in float64 (symmetric eigendecompositions:
    tr (Σ1 Σ2)^½ equals the trace of the PSD square root of Σ1^½ Σ2 Σ1^½)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    r1 = _psd_sqrt(s1)
    inner = r1 @ s2 @ r1
    w = np.linalg.eigvalsh((inner + inner.T) / 2)
    tr_sqrt = np.sum(np.sqrt(np.clip(w, 0.0, None)))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)


def inception_score(probs: np.ndarray) -> float:
    """exp(mean_x KL(p(y|x) ‖ p(y))) in float64, p(y) the mean of p(y|x) over the samples."""
    p = np.asarray(probs, np.float64)
    p = p / p.sum(axis=1, keepdims=True)
    marginal = p.mean(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * (np.log(p) - np.log(marginal)), 0.0).sum(axis=1)
    return float(np.exp(kl.mean()))


@dataclasses.dataclass
class FeatureClassifier:
    """A trained CNN: images in [0, 1] -> (penultimate features, softmax probabilities)."""

    model: Any
    variables: Any
    mean: float
    std: float
    test_accuracy: float

    def __post_init__(self):
        def apply(x):
            logits, inter = self.model.apply(self.variables, (x - self.mean) / self.std, train=False,
                                             capture_intermediates=True, mutable=["intermediates"])
            dense = sorted(k for k in inter["intermediates"] if k.startswith("Dense_"))
            hidden = inter["intermediates"][dense[-2]]["__call__"][0]  # last hidden Dense, pre-activation
            return jax.nn.relu(hidden), jax.nn.softmax(logits)

        self._apply = jax.jit(apply)

    def __call__(self, images01: np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        feats, probs = [], []
        for i in range(0, len(images01), batch_size):
            f, p = jax.device_get(self._apply(jnp.asarray(images01[i:i + batch_size], jnp.float32)))
            feats.append(f)
            probs.append(p)
        return np.concatenate(feats), np.concatenate(probs)


def feature_classifier_config(dataset: str, steps: int) -> ml_collections.ConfigDict:
    c = classify.base_config()
    c.dataset = dataset
    c.model = dict(name="cnn", features=(32, 64), convs_per_stage=1, dense=(128,), dropout=0.2, batch_norm=False)
    c.learning_rate = 2e-3
    c.warmup_steps = 100
    c.steps = int(steps)
    c.batch_size = 128
    c.eval_batch_size = 200
    c.log_every = 100
    c.eval_every = c.steps
    c.checkpoint_every = 0
    c.tensorboard = False
    c.parallel.num_devices = 1
    return c


def cache_root(config: ml_collections.ConfigDict) -> Path:
    if config.fid.cache_dir:
        return Path(os.path.expanduser(config.fid.cache_dir))
    if os.environ.get("JAXML_DATA_DIR"):
        return Path(os.environ["JAXML_DATA_DIR"]) / "jaxml_features"
    return Path.home() / ".cache" / "jaxml" / "features"


def load_feature_classifier(config: ml_collections.ConfigDict, data: Dataset) -> FeatureClassifier:
    """The cached feature classifier for (dataset, image size), trained and cached first if missing."""
    fc_config = feature_classifier_config(config.dataset, int(config.fid.classifier_steps))
    size = data.train.images.shape[1]
    tag = hashlib.sha1(json.dumps([fc_config.to_dict(), size, config.data_seed], sort_keys=True,
                                  default=str).encode()).hexdigest()[:8]
    directory = cache_root(config) / f"{config.dataset}_{size}px_{tag}"
    model = classify.build_model(fc_config, data.num_classes)
    mean, std = classify.input_stats(data.train)
    template = model.init({"params": jax.random.key(0)}, jnp.zeros((1,) + data.train.images.shape[1:]), train=False)
    weights, meta = directory / "classifier.msgpack", directory / "classifier.json"
    if weights.exists() and meta.exists():
        variables = flax.serialization.from_bytes(template, weights.read_bytes())
        info = json.loads(meta.read_text())
        log.info("feature classifier: %s (test accuracy %.4f)", directory, info["test_accuracy"])
        return FeatureClassifier(model, variables, info["mean"], info["std"], info["test_accuracy"])
    log.info("feature classifier: training one for %s at %dpx -> %s", config.dataset, size, directory)
    recipe = classify.make_recipe(fc_config, data.train, {"test": data.test}, data.num_classes)
    directory.mkdir(parents=True, exist_ok=True)
    state, metrics = loop.run(recipe, fc_config, directory / "run", desc="feature classifier")
    state = jax.device_get(state)
    variables = {"params": state.params, **state.model_state}
    tmp = weights.with_suffix(".tmp")
    tmp.write_bytes(flax.serialization.to_bytes(variables))
    os.replace(tmp, weights)
    meta.write_text(json.dumps({"mean": mean, "std": std, "test_accuracy": metrics["test_accuracy"],
                                "config": fc_config.to_dict(), "image_size": size}, default=str, indent=1))
    return FeatureClassifier(model, variables, mean, std, metrics["test_accuracy"])


def sample_quality(fc: FeatureClassifier, images01: np.ndarray, reference: tuple[np.ndarray, np.ndarray],
                   labels: np.ndarray | None = None) -> dict[str, float]:
    """FID against `reference` (mean, cov), IS analogue and (with labels) conditional accuracy."""
    feats, probs = fc(images01)
    out = {"fid": frechet_distance(*feature_statistics(feats), *reference), "inception_score": inception_score(probs)}
    if labels is not None:
        out["conditional_accuracy"] = float(np.mean(probs.argmax(-1) == labels))
    return out


# -------------------------------------------------------------------------------------------------- data


def to_unit(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 255.0


def resize_split(split: Split, size: int) -> Split:
    if split.images.shape[1] == size:
        return split
    x = jax.image.resize(jnp.asarray(split.images, jnp.float32), (len(split), size, size, split.images.shape[-1]),
                         "linear")
    return Split(np.clip(np.rint(np.asarray(x)), 0, 255).astype(np.uint8), split.labels)


def load_data(config: ml_collections.ConfigDict) -> Dataset:
    data = classify.load_data(config)
    size = int(config.image_size)
    if size % 4:
        raise JaxmlError(f"config.image_size={size} must be a multiple of 4")
    return dataclasses.replace(data, train=resize_split(data.train, size), test=resize_split(data.test, size))


# ------------------------------------------------------------------------------------------------ recipe


def build_models(config: ml_collections.ConfigDict, num_classes: int, channels: int, *, sampling: bool = False):
    g = config.gan
    if g.loss not in LOSSES:
        raise JaxmlError(f"config.gan.loss={g.loss!r} is not valid; choose one of {', '.join(LOSSES)}")
    norm = g.disc_norm
    if norm == "auto":
        norm = "none" if g.loss == "wgan_gp" else "batch"
    if norm not in DISC_NORMS:
        raise JaxmlError(f"config.gan.disc_norm={norm!r} is not valid; choose one of auto, {', '.join(DISC_NORMS)}")
    if g.loss == "wgan_gp" and norm == "batch":
        raise JaxmlError("config.gan.disc_norm='batch' with loss='wgan_gp': the per-example gradient penalty "
                         "needs a discriminator without BatchNorm; use 'layer' or 'none'")
    classes = num_classes if g.conditional else 0
    axis = None if sampling else parallel.AXIS
    dtype = compute_dtype(config.dtype)
    gen = Generator(image_size=int(config.image_size), channels=channels, width=int(g.gen_width),
                    num_classes=classes, dtype=dtype, bn_axis_name=axis)
    disc = Discriminator(width=int(g.disc_width), num_classes=classes, norm=norm, dtype=dtype, bn_axis_name=axis)
    return gen, disc


def make_optimizers(config: ml_collections.ConfigDict):
    g = config.gan
    return (optax.adam(float(g.gen_lr), b1=float(g.beta1), b2=float(g.beta2)),
            optax.adam(float(g.disc_lr), b1=float(g.beta1), b2=float(g.beta2)))


def make_recipe(config: ml_collections.ConfigDict, data: Dataset) -> loop.Recipe:
    g = config.gan
    channels = data.train.images.shape[-1]
    gen, disc = build_models(config, data.num_classes, channels)
    gen_tx, disc_tx = make_optimizers(config)
    kind, latent, d_steps = g.loss, int(g.latent_dim), int(g.d_steps)
    gp_weight, decay = float(g.gp_weight), float(g.ema_decay)
    size = int(config.image_size)

    def init(key):
        kg, kd = jax.random.split(key)
        z = jnp.zeros((2, latent))
        labels = jnp.zeros((2,), jnp.int32)
        gv = gen.init({"params": kg}, z, labels, train=False)
        dv = disc.init({"params": kd}, jnp.zeros((2, size, size, channels)), labels, train=False)
        gp, dp = gv.pop("params"), dv.pop("params")
        return {"gen": TrainState(gp, dict(gv), gen_tx.init(gp)),
                "disc": TrainState(dp, dict(dv), disc_tx.init(dp)),
                "ema": gp, "step": jnp.zeros((), jnp.int32)}

    def run_gen(params, model_state, z, labels):
        return gen.apply({"params": params, **model_state}, z, labels, train=True, mutable=list(model_state))

    def run_disc(params, model_state, x, labels):
        return disc.apply({"params": params, **model_state}, x, labels, train=True, mutable=list(model_state))

    def train_step(state, batch, key):
        real = batch["image"].astype(jnp.float32) / 127.5 - 1.0
        labels = batch["label"]
        b = real.shape[0]
        key = parallel.device_key(key)
        gs, ds = state["gen"], state["disc"]

        def d_update(i, carry):
            ds, gen_stats, _ = carry
            kz, kp = jax.random.split(jax.random.fold_in(key, i))
            fake, gen_upd = run_gen(gs.params, gen_stats, jax.random.normal(kz, (b, latent)), labels)
            fake = jax.lax.stop_gradient(fake)

            def loss_fn(dp):
                real_logits, upd = run_disc(dp, ds.model_state, real, labels)
                fake_logits, upd = run_disc(dp, dict(upd) if upd else ds.model_state, fake, labels)
                loss = discriminator_loss(kind, real_logits, fake_logits)
                if kind == "wgan_gp":
                    disc_fn = lambda v: disc.apply({"params": dp, **ds.model_state}, v, labels, train=False)
                    loss = loss + gp_weight * gradient_penalty(disc_fn, real, fake, kp)
                return loss, (real_logits, fake_logits, upd)

            (loss, (rl, fl, upd)), grads = jax.value_and_grad(loss_fn, has_aux=True)(ds.params)
            grads = jax.lax.pmean(grads, parallel.AXIS)
            ds = ds.apply_gradients(disc_tx, grads, dict(upd) if upd else None)
            return ds, dict(gen_upd) if gen_upd else gen_stats, {"d_loss": loss, "d_real": jnp.mean(rl),
                                                                  "d_fake": jnp.mean(fl)}

        zero = {"d_loss": jnp.zeros(()), "d_real": jnp.zeros(()), "d_fake": jnp.zeros(())}
        ds, gen_stats, d_metrics = jax.lax.fori_loop(0, d_steps, d_update, (ds, gs.model_state, zero))

        kz = jax.random.fold_in(key, d_steps)

        def g_loss_fn(gp):
            fake, gen_upd = run_gen(gp, gen_stats, jax.random.normal(kz, (b, latent)), labels)
            fake_logits, _ = run_disc(ds.params, ds.model_state, fake, labels)
            return generator_loss(kind, fake_logits), gen_upd

        (g_loss, gen_upd), grads = jax.value_and_grad(g_loss_fn, has_aux=True)(gs.params)
        grads = jax.lax.pmean(grads, parallel.AXIS)
        gs = gs.apply_gradients(gen_tx, grads, dict(gen_upd) if gen_upd else None)
        t = state["step"].astype(jnp.float32)
        rate = jnp.minimum(decay, (1.0 + t) / (10.0 + t))  # EMA warm-up: early samples are not stuck at init
        ema = jax.tree.map(lambda e, p: rate * e + (1.0 - rate) * p, state["ema"], gs.params)
        metrics = {"loss": d_metrics["d_loss"], **d_metrics, "g_loss": g_loss, "g_grad_norm": optax.tree.norm(grads)}
        return {"gen": gs, "disc": ds, "ema": ema, "step": state["step"] + 1}, jax.lax.pmean(metrics, parallel.AXIS)

    def eval_step(state, batch):
        real = batch["image"].astype(jnp.float32) / 127.5 - 1.0
        ds = state["disc"]
        logits = disc.apply({"params": ds.params, **ds.model_state}, real, batch["label"], train=False)
        return {"d_real": jnp.sum(logits * batch["mask"]), "count": jnp.sum(batch["mask"])}

    return loop.Recipe(init=init, train_step=train_step, eval_step=eval_step, train_split=data.train,
                       eval_splits={"test": data.test}, main_metric="d_real")


def make_sampler(config: ml_collections.ConfigDict, num_classes: int, channels: int):
    """(gen params, gen model_state, key, labels [N]) -> images [N, S, S, C] in [0, 1]; BatchNorm uses the
    sample batch's own statistics."""
    gen, _ = build_models(config, num_classes, channels, sampling=True)
    latent = int(config.gan.latent_dim)

    @jax.jit
    def sample(params, model_state, key, labels):
        z = jax.random.normal(key, (labels.shape[0], latent))
        x, _ = gen.apply({"params": params, **model_state}, z, labels, train=True, mutable=list(model_state))
        return (x + 1.0) / 2.0

    def sample_many(params, model_state, key, labels, batch: int = 500):
        out = [sample(params, model_state, jax.random.fold_in(key, i), jnp.asarray(labels[i:i + batch]))
               for i in range(0, len(labels), batch)]
        return np.concatenate([np.asarray(o) for o in out])

    return sample_many


def save_grid(images01: np.ndarray, out: Path, rows: int = 10, title: str = "") -> Path:
    """A rows × rows grid of images [N, S, S, C] in [0, 1] as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = rows * rows
    x = np.asarray(images01[:n])
    s, c = x.shape[1], x.shape[-1]
    grid = x.reshape(rows, rows, s, s, c).transpose(0, 2, 1, 3, 4).reshape(rows * s, rows * s, c)
    fig = plt.figure(figsize=(3, 3.2 if title else 3))
    plt.imshow(grid[..., 0] if c == 1 else grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    plt.axis("off")
    if title:
        plt.title(title, fontsize=8)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return out


def plot_quality(rows: list[dict], out: Path, title: str = "") -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3))
    a.plot(steps, [r["fid"] for r in rows], "o-", ms=3, label="EMA generator")
    if "fid_raw" in rows[0]:
        a.plot(steps, [r["fid_raw"] for r in rows], "s--", ms=3, label="raw generator")
    a.set_yscale("log"); a.set_xlabel("step"); a.set_ylabel("domain FID"); a.legend(); a.grid(alpha=0.3)
    b.plot(steps, [r["inception_score"] for r in rows], "o-", ms=3)
    b.set_xlabel("step"); b.set_ylabel("IS analogue"); b.grid(alpha=0.3)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


# ------------------------------------------------------------------------------------------------- train


def real_data_sanity(fc: FeatureClassifier, data: Dataset, reference, n: int, seed: int) -> dict[str, float]:
    """FID/IS of real images: train vs test, train + Gaussian noise, a single class."""
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(data.train))[:n]
    x = to_unit(data.train.images[idx])
    out = {"fid_train_test": sample_quality(fc, x, reference)["fid"]}
    for sigma in (0.1, 0.2, 0.4):
        noisy = np.clip(x + rng.normal(0.0, sigma, x.shape).astype(np.float32), 0.0, 1.0)
        out[f"fid_noise_{sigma}"] = sample_quality(fc, noisy, reference)["fid"]
    one = to_unit(data.train.images[data.train.labels == 0][:n])
    q = sample_quality(fc, one, reference)
    out["fid_single_class"], out["is_single_class"] = q["fid"], q["inception_score"]
    _, probs = fc(to_unit(data.test.images))
    out["is_real"] = inception_score(probs)
    return out


def _stage_config(config: ml_collections.ConfigDict, steps: int) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict(config.to_dict())
    c.steps = steps
    c.eval_every = 0
    c.checkpoint_every = steps  # the next stage resumes from here
    return c


def evaluation_labels(config: ml_collections.ConfigDict, num_classes: int, n: int) -> np.ndarray:
    return np.arange(n, dtype=np.int32) % num_classes


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    workdir = Path(workdir)
    data = load_data(config)
    channels = data.train.images.shape[-1]
    fc = load_feature_classifier(config, data)
    test_feats, _ = fc(to_unit(data.test.images))
    reference = feature_statistics(test_feats)
    n = int(config.fid.samples)
    sanity = real_data_sanity(fc, data, reference, n, int(config.data_seed))
    log.info("real-data sanity: %s", {k: round(v, 3) for k, v in sanity.items()})

    recipe = make_recipe(config, data)
    sampler = make_sampler(config, data.num_classes, channels)
    labels = evaluation_labels(config, data.num_classes, n)
    conditional = bool(config.gan.conditional)
    sample_key = jax.random.key(int(config.seed) + 777)
    quality_path = workdir / "sample_quality.jsonl"
    rows = [json.loads(line) for line in quality_path.read_text().splitlines()] if quality_path.exists() else []
    main = jax.process_index() == 0

    def evaluate_state(state, step: int) -> dict[str, Any]:
        state = jax.device_get(state)
        gs = state["gen"]
        ema = sampler(state["ema"], gs.model_state, sample_key, labels)
        raw = sampler(gs.params, gs.model_state, sample_key, labels)
        q = sample_quality(fc, ema, reference, labels if conditional else None)
        row = {"step": step, **q, "fid_raw": sample_quality(fc, raw, reference)["fid"]}
        if main:
            # conditional: labels cycle 0..K-1, so with K = 10 each grid column is one class
            save_grid(ema, workdir / "plots" / f"samples_{step:06d}.png",
                      title=f"step {step}: FID {q['fid']:.2f}, IS {q['inception_score']:.2f}")
        return row

    if not rows:
        init_state = recipe.init(loop.init_key(int(config.seed)))
        rows.append(evaluate_state(init_state, 0))
        workdir.mkdir(parents=True, exist_ok=True)
        quality_path.write_text(json.dumps(rows[0]) + "\n")
    total = int(config.steps)
    every = int(config.eval_every) or total
    targets = sorted(set(list(range(every, total, every)) + [total]))
    state, metrics = None, {}
    for target in targets:
        if any(r["step"] == target for r in rows) and target != total:
            continue
        state, metrics = loop.run(recipe, _stage_config(config, target), workdir, desc=f"gan to {target}")
        if not any(r["step"] == target for r in rows):
            rows.append(evaluate_state(state, target))
            with quality_path.open("a") as f:
                f.write(json.dumps(rows[-1]) + "\n")
            log.info("step %d: %s", target, {k: round(v, 3) for k, v in rows[-1].items() if k != "step"})
    if main:
        plot_quality(rows, workdir / "plots" / "fid.png", title=config.get("name", "gan"))
    final, first = rows[-1], rows[0]
    result: dict[str, Any] = {
        "fid": final["fid"], "fid_init": first["fid"], "fid_raw": final["fid_raw"],
        "fid_ratio": first["fid"] / final["fid"],
        "inception_score": final["inception_score"], "inception_score_init": first["inception_score"],
        "feature_classifier_accuracy": fc.test_accuracy, "fid_samples": n, **sanity,
        "fid_curve": [[r["step"], r["fid"]] for r in rows], "steps": total,
        "summary_plot": "plots/fid.png",  # what RESULTS.md shows for this run instead of the loss curve
    }
    if conditional:
        result["conditional_accuracy"] = final["conditional_accuracy"]
    if conditional and config.augment_study.enabled:
        result.update(augmentation_study(config, workdir, data, state, sampler))
    return result


def augmentation_study(config, workdir: Path, data: Dataset, state, sampler) -> dict[str, float]:
    """A classify CNN on `labels_per_class` real labels per class, with and without cGAN samples."""
    s = config.augment_study
    per = int(s.labels_per_class)
    few = per_class_subset(data.train, per, data.num_classes, int(config.data_seed))
    state = jax.device_get(state)
    syn_labels = np.repeat(np.arange(data.num_classes, dtype=np.int32), int(s.synthetic_per_class))
    syn = sampler(state["ema"], state["gen"].model_state, jax.random.key(int(config.seed) + 4242), syn_labels)
    syn = np.clip(np.rint(syn * 255.0), 0, 255).astype(np.uint8)
    mixed = Split(np.concatenate([few.images, syn]), np.concatenate([few.labels, syn_labels]))
    c = feature_classifier_config(config.dataset, int(s.classifier_steps))
    c.model = dict(s.model.to_dict()) if "model" in s else c.model
    c.batch_size = int(s.batch_size)
    out = {}
    for name, split in (("fewshot_accuracy", few), ("fewshot_gan_accuracy", mixed)):
        m = classify.train_once(c, workdir / name, split, {"test": data.test}, data.num_classes, desc=name)
        out[name] = m["test_accuracy"]
    out["fewshot_gain"] = out["fewshot_gan_accuracy"] - out["fewshot_accuracy"]
    out["fewshot_labels_per_class"] = per
    out["fewshot_synthetic_per_class"] = int(s.synthetic_per_class)
    return out


def recipe_for(config: ml_collections.ConfigDict) -> loop.Recipe:
    return make_recipe(config, load_data(config))


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """Restores the newest checkpoint and recomputes the sample metrics of its EMA generator."""
    from jaxml.core.checkpoint import Checkpointer

    workdir = Path(workdir)
    data = load_data(config)
    recipe = make_recipe(config, data)
    restored = Checkpointer(workdir, keep=int(config.keep_checkpoints)).restore_latest(
        recipe.init(loop.init_key(int(config.seed))))
    if restored is None:
        raise JaxmlError(f"no checkpoint in {workdir / 'checkpoints'}; train first with `jaxml train`")
    step, state = restored
    state = jax.device_get(state)
    fc = load_feature_classifier(config, data)
    reference = feature_statistics(fc(to_unit(data.test.images))[0])
    labels = evaluation_labels(config, data.num_classes, int(config.fid.samples))
    sampler = make_sampler(config, data.num_classes, data.train.images.shape[-1])
    images = sampler(state["ema"], state["gen"].model_state, jax.random.key(int(config.seed) + 777), labels)
    return {"step": step, **sample_quality(fc, images, reference, labels if config.gan.conditional else None)}


def base_config() -> ml_collections.ConfigDict:
    """Digits up-sampled to 16×16, a small DCGAN with the non-saturating loss, 2000 steps of 64."""
    c = ml_collections.ConfigDict()
    c.method = "gan"
    c.dataset = "digits"
    c.data_dir = ""
    c.data_seed = 0
    c.seed = 0
    c.image_size = 16
    c.dtype = "float32"
    c.gan = ml_collections.ConfigDict({
        "loss": "ns", "conditional": False, "latent_dim": 64, "gen_width": 32, "disc_width": 32,
        "disc_norm": "auto", "d_steps": 1, "gp_weight": 10.0, "ema_decay": 0.999,
        "gen_lr": 2e-4, "disc_lr": 2e-4, "beta1": 0.5, "beta2": 0.999,
    })
    c.fid = ml_collections.ConfigDict({"samples": 1000, "cache_dir": "", "classifier_steps": 600})
    c.augment_study = ml_collections.ConfigDict({
        "enabled": False, "labels_per_class": 100, "synthetic_per_class": 500, "classifier_steps": 1000,
        "batch_size": 64})
    c.steps = 2000
    c.batch_size = 64
    c.eval_batch_size = 120
    c.log_every = 100
    c.eval_every = 500
    c.checkpoint_every = 0
    c.keep_checkpoints = 2
    c.tensorboard = False
    c.parallel = ml_collections.ConfigDict({"backend": "shard_map", "num_devices": 0})
    return c
