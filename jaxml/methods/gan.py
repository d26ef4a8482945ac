"""GANs: DCGAN (non-saturating, hinge or WGAN-GP loss), class-conditional variant, EMA generator, scored
during training by a domain FID and Inception-Score analogue (`core/feature_metrics.py`).

Training. The state is `{"gen": TrainState, "disc": TrainState, "ema": generator params, "step"}`, each
sub-state with its own Adam (Radford et al. 2016: 2e-4, β1 = 0.5). One jitted step does `d_steps`
discriminator updates (fresh z each, the same real batch) and then one generator update, gradients
averaged over the "data" axis; the EMA copy of the generator follows with rate
min(`ema_decay`, (1 + t) / (10 + t)) at step t. The loss (`gan.loss`) is a value of `LOSSES`, with D
logits r (real) and f (fake):
- "ns": D: softplus(−r) + softplus(f); G: softplus(−f) (non-saturating, Goodfellow 2014);
- "hinge": D: relu(1 − r) + relu(1 + f); G: −f (Lim & Ye 2017; Miyato 2018);
- "wgan_gp": D: f − r + λ(‖∇D(x̂)‖ − 1)², x̂ on random real–fake interpolations; G: −f (Gulrajani 2017).
Conditional (`gan.conditional`): G sees a one-hot label, D is a projection discriminator; fake labels
are the real batch's labels. Samples for evaluation come from the EMA generator with BatchNorm using the
statistics of the sample batch itself.

Data: images scaled to [−1, 1] at `image_size` (digits 8×8 are bilinearly up-sampled to 16×16).

Sample quality. A CNN feature classifier (`core/feature_classifier.py`, cached per dataset and image
size) scores `fid.samples` generated images (labels cycling 0..K−1) against the real test split: domain
FID on its penultimate features, IS analogue on its softmax, and for conditional runs how often it
classifies a sample as its conditioning class. The `samples` evaluator does this inside the one
training run at every eval point (`eval_every` steps and the end; at step 0 before training starts),
writes `plots/samples_<step>.png` (a sample grid) and logs under split `samples`;
`sample_quality.jsonl` collects the rows and `plots/fid.png` plots FID and IS against steps.

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
import json
import logging
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core import loop, supervised
from jaxml.core.feature_classifier import feature_classifier_config, load_feature_classifier
from jaxml.core.feature_metrics import FeatureClassifier, feature_statistics, inception_score, sample_quality
from jaxml.core.image_grid import save_image_grid
from jaxml.core.metrics import read_metrics
from jaxml.core.plots import pyplot, save_figure
from jaxml.core.registry import choose
from jaxml.core.steps import apply_gradients, batch_key
from jaxml.core.train_state import TrainState
from jaxml.data.datasets import Dataset, Split, per_class_subset
from jaxml.errors import JaxmlError
from jaxml.models.gan import DISC_NORMS, Discriminator, Generator
from jaxml.models.layers import compute_dtype

log = logging.getLogger("jaxml")

SAMPLES = "samples"          # the sample-quality evaluator: metrics logged under this split
FEWSHOT_SAMPLES_TAG = 4242   # fold_in tag of the key that draws the few-label study's synthetic images

# ------------------------------------------------------------------------------------------------ losses


class GanLoss(NamedTuple):
    """An adversarial objective: mean losses of the discriminator and the generator as functions of
    D's logits on real (r) and generated (f) images. `gradient_penalty`: D's loss adds
    `gan.gp_weight` · (‖∇D(x̂)‖ − 1)² (which needs a discriminator without BatchNorm)."""

    discriminator: Callable[[jax.Array, jax.Array], jax.Array]
    generator: Callable[[jax.Array], jax.Array]
    gradient_penalty: bool = False


def non_saturating() -> GanLoss:
    """Goodfellow et al. 2014: D minimises softplus(−r) + softplus(f) (the cross-entropy of telling
    real from fake); G minimises softplus(−f), the non-saturating form of −log D(G(z))."""
    return GanLoss(
        discriminator=lambda r, f: jnp.mean(jax.nn.softplus(-r)) + jnp.mean(jax.nn.softplus(f)),
        generator=lambda f: jnp.mean(jax.nn.softplus(-f)))


def hinge() -> GanLoss:
    """Lim & Ye 2017 (Geometric GAN), as used by Miyato et al. 2018: D minimises relu(1 − r) +
    relu(1 + f); G minimises −f."""
    return GanLoss(
        discriminator=lambda r, f: jnp.mean(jax.nn.relu(1.0 - r)) + jnp.mean(jax.nn.relu(1.0 + f)),
        generator=lambda f: -jnp.mean(f))


def wasserstein_gp() -> GanLoss:
    """Gulrajani et al. 2017 (WGAN-GP): the critic minimises f − r plus the gradient penalty on random
    real–fake interpolations; G minimises −f."""
    return GanLoss(discriminator=lambda r, f: jnp.mean(f) - jnp.mean(r), generator=lambda f: -jnp.mean(f),
                   gradient_penalty=True)


LOSSES: dict[str, GanLoss] = {"ns": non_saturating(), "hinge": hinge(), "wgan_gp": wasserstein_gp()}


def gan_loss(name: str) -> GanLoss:
    """The `LOSSES` entry `name` (`config.gan.loss`)."""
    return choose(LOSSES, name, "config.gan.loss")


def gradient_penalty(disc_fn, real: jax.Array, fake: jax.Array, key: jax.Array) -> jax.Array:
    """mean over examples of (‖∂D(x̂)/∂x̂‖₂ − 1)², x̂ = u·real + (1 − u)·fake, u ~ U(0, 1) per example."""
    u = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1))
    x_hat = u * real + (1.0 - u) * fake
    grads = jax.grad(lambda v: jnp.sum(disc_fn(v)))(x_hat)
    norms = jnp.sqrt(jnp.sum(jnp.square(grads.reshape(grads.shape[0], -1)), axis=-1) + 1e-12)
    return jnp.mean(jnp.square(norms - 1.0))


# -------------------------------------------------------------------------------------------------- data


def to_unit(images: np.ndarray) -> np.ndarray:
    """uint8 pixels -> float32 in [0, 1] (what the feature classifier and the sample grids take)."""
    return images.astype(np.float32) / 255.0


def resize_split(split: Split, size: int) -> Split:
    images = split["image"]
    if images.shape[1] == size:
        return split
    x = jax.image.resize(jnp.asarray(images, jnp.float32), (len(split), size, size, images.shape[-1]), "linear")
    return split.replace(image=np.clip(np.rint(np.asarray(x)), 0, 255).astype(np.uint8))


def load_data(config: ml_collections.ConfigDict) -> Dataset:
    data = supervised.load_data(config)
    size = int(config.image_size)
    if size % 4:
        raise JaxmlError(f"config.image_size={size} must be a multiple of 4")
    return dataclasses.replace(data, train=resize_split(data.train, size), test=resize_split(data.test, size))


# ------------------------------------------------------------------------------------------------ recipe


def build_models(config: ml_collections.ConfigDict, num_classes: int, channels: int):
    g = config.gan
    objective = gan_loss(g.loss)
    norm = g.disc_norm
    if norm == "auto":
        norm = "none" if objective.gradient_penalty else "batch"
    if norm not in DISC_NORMS:
        raise JaxmlError(f"config.gan.disc_norm={norm!r} is not valid; choose one of auto, {', '.join(DISC_NORMS)}")
    if objective.gradient_penalty and norm == "batch":
        raise JaxmlError(f"config.gan.disc_norm='batch' with loss={g.loss!r}: the per-example gradient penalty "
                         "needs a discriminator without BatchNorm; use 'layer' or 'none'")
    classes = num_classes if g.conditional else 0
    dtype = compute_dtype(config.dtype)
    gen = Generator(image_size=int(config.image_size), channels=channels, width=int(g.gen_width),
                    num_classes=classes, dtype=dtype)
    disc = Discriminator(width=int(g.disc_width), num_classes=classes, norm=norm, dtype=dtype)
    return gen, disc


def make_optimizers(config: ml_collections.ConfigDict):
    g = config.gan
    return (optax.adam(float(g.gen_lr), b1=float(g.beta1), b2=float(g.beta2)),
            optax.adam(float(g.disc_lr), b1=float(g.beta1), b2=float(g.beta2)))


def make_recipe(config: ml_collections.ConfigDict, data: Dataset,
                evaluators: Mapping[str, Callable] | None = None) -> loop.Recipe:
    """The GAN recipe; `evaluators` (e.g. `{SAMPLES: make_sample_evaluator(...)}`) run at every eval point."""
    g = config.gan
    channels = data.train["image"].shape[-1]
    gen, disc = build_models(config, data.num_classes, channels)
    gen_tx, disc_tx = make_optimizers(config)
    objective = gan_loss(g.loss)
    latent, d_steps = int(g.latent_dim), int(g.d_steps)
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
        key = batch_key(key)
        gs, ds = state["gen"], state["disc"]

        def d_update(i, carry):
            ds, gen_stats, _ = carry
            kz, kp = jax.random.split(jax.random.fold_in(key, i))
            fake, gen_upd = run_gen(gs.params, gen_stats, jax.random.normal(kz, (b, latent)), labels)
            fake = jax.lax.stop_gradient(fake)

            def loss_fn(dp):
                real_logits, upd = run_disc(dp, ds.model_state, real, labels)
                fake_logits, upd = run_disc(dp, dict(upd) if upd else ds.model_state, fake, labels)
                loss = objective.discriminator(real_logits, fake_logits)
                if objective.gradient_penalty:
                    disc_fn = lambda v: disc.apply({"params": dp, **ds.model_state}, v, labels, train=False)
                    loss = loss + gp_weight * gradient_penalty(disc_fn, real, fake, kp)
                return loss, (real_logits, fake_logits, upd)

            (loss, (rl, fl, upd)), grads = jax.value_and_grad(loss_fn, has_aux=True)(ds.params)
            ds, _ = apply_gradients(ds, disc_tx, grads, {}, model_state=dict(upd) if upd else None, grad_norm=False)
            return ds, dict(gen_upd) if gen_upd else gen_stats, {"d_loss": loss, "d_real": jnp.mean(rl),
                                                                  "d_fake": jnp.mean(fl)}

        zero = {"d_loss": jnp.zeros(()), "d_real": jnp.zeros(()), "d_fake": jnp.zeros(())}
        ds, gen_stats, d_metrics = jax.lax.fori_loop(0, d_steps, d_update, (ds, gs.model_state, zero))

        kz = jax.random.fold_in(key, d_steps)

        def g_loss_fn(gp):
            fake, gen_upd = run_gen(gp, gen_stats, jax.random.normal(kz, (b, latent)), labels)
            fake_logits, _ = run_disc(ds.params, ds.model_state, fake, labels)
            return objective.generator(fake_logits), gen_upd

        (g_loss, gen_upd), grads = jax.value_and_grad(g_loss_fn, has_aux=True)(gs.params)
        gs, metrics = apply_gradients(gs, gen_tx, grads, {"loss": d_metrics["d_loss"], **d_metrics, "g_loss": g_loss},
                                      model_state=dict(gen_upd) if gen_upd else None)
        metrics["g_grad_norm"] = metrics.pop("grad_norm")
        t = state["step"].astype(jnp.float32)
        rate = jnp.minimum(decay, (1.0 + t) / (10.0 + t))  # EMA warm-up: early samples are not stuck at init
        ema = jax.tree.map(lambda e, p: rate * e + (1.0 - rate) * p, state["ema"], gs.params)
        return {"gen": gs, "disc": ds, "ema": ema, "step": state["step"] + 1}, metrics

    def eval_step(state, batch):
        real = batch["image"].astype(jnp.float32) / 127.5 - 1.0
        ds = state["disc"]
        logits = disc.apply({"params": ds.params, **ds.model_state}, real, batch["label"], train=False)
        return {"d_real": jnp.sum(logits * batch["mask"]), "count": jnp.sum(batch["mask"])}

    return loop.Recipe(init=init, train_step=train_step, eval_step=eval_step, train_split=data.train,
                       eval_splits={"test": data.test}, main_metric="d_real", evaluators=dict(evaluators or {}))


# ------------------------------------------------------------------------------------------ sample quality


def make_sampler(config: ml_collections.ConfigDict, num_classes: int, channels: int):
    """(gen params, gen model_state, key, labels [N]) -> images [N, S, S, C] in [0, 1]; BatchNorm uses the
    sample batch's own statistics."""
    gen, _ = build_models(config, num_classes, channels)
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


def evaluation_labels(num_classes: int, n: int) -> np.ndarray:
    """The labels of the `n` evaluation samples: 0..K−1 cycling (with K = 10 each grid column is a class)."""
    return np.arange(n, dtype=np.int32) % num_classes


def make_sample_evaluator(config: ml_collections.ConfigDict, data: Dataset, fc: FeatureClassifier,
                          reference: tuple[np.ndarray, np.ndarray], grid_dir: Path | None = None):
    """The `samples` evaluator: (state, key) -> FID / IS (/ conditional accuracy) of `fid.samples` EMA
    samples and the FID of the raw generator's samples from the same z; with `grid_dir`, also
    `<grid_dir>/samples_<step>.png`."""
    sampler = make_sampler(config, data.num_classes, data.train["image"].shape[-1])
    labels = evaluation_labels(data.num_classes, int(config.fid.samples))
    conditional = bool(config.gan.conditional)

    def evaluate(state, key) -> dict[str, float]:
        state = jax.device_get(state)
        gs = state["gen"]
        ema = sampler(state["ema"], gs.model_state, key, labels)
        raw = sampler(gs.params, gs.model_state, key, labels)
        q = sample_quality(fc, ema, reference, labels if conditional else None)
        metrics = {**q, "fid_raw": sample_quality(fc, raw, reference)["fid"]}
        if grid_dir is not None:
            step = int(state["step"])
            save_image_grid(ema, grid_dir / f"samples_{step:06d}.png",
                            title=f"step {step}: FID {q['fid']:.2f}, IS {q['inception_score']:.2f}")
        return metrics

    return evaluate


def real_data_sanity(fc: FeatureClassifier, data: Dataset, reference, n: int, seed: int) -> dict[str, float]:
    """FID/IS of real images: train vs test, train + Gaussian noise, a single class."""
    rng = np.random.default_rng(seed)
    images, labels = data.train["image"], data.train["label"]
    idx = rng.permutation(len(data.train))[:n]
    x = to_unit(images[idx])
    out = {"fid_train_test": sample_quality(fc, x, reference)["fid"]}
    for sigma in (0.1, 0.2, 0.4):
        noisy = np.clip(x + rng.normal(0.0, sigma, x.shape).astype(np.float32), 0.0, 1.0)
        out[f"fid_noise_{sigma}"] = sample_quality(fc, noisy, reference)["fid"]
    one = to_unit(images[labels == 0][:n])
    q = sample_quality(fc, one, reference)
    out["fid_single_class"], out["is_single_class"] = q["fid"], q["inception_score"]
    _, probs = fc(to_unit(data.test["image"]))
    out["is_real"] = inception_score(probs)
    return out


def plot_quality(rows: list[dict], out: Path, title: str = "") -> Path:
    """Domain FID (EMA and raw generator, log scale) and the IS analogue against step."""
    plt = pyplot()
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
    return save_figure(fig, out, dpi=90)


# ------------------------------------------------------------------------------------------------- train


def quality_rows(workdir: Path, first: dict[str, Any]) -> list[dict[str, Any]]:
    """`first` (step 0) and the `samples` rows the run logged, one per step (the last logged wins: a
    resumed run may log its final step again)."""
    by_step = {r["step"]: {k: v for k, v in r.items() if k != "split"}
               for r in read_metrics(workdir) if r.get("split") == SAMPLES}
    by_step.pop(0, None)
    return [first] + [by_step[s] for s in sorted(by_step)]


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    workdir = Path(workdir)
    data = load_data(config)
    fc = load_feature_classifier(config, data)
    reference = feature_statistics(fc(to_unit(data.test["image"]))[0])
    n = int(config.fid.samples)
    sanity = real_data_sanity(fc, data, reference, n, int(config.data_seed))
    log.info("real-data sanity: %s", {k: round(v, 3) for k, v in sanity.items()})

    main = jax.process_index() == 0
    samples = make_sample_evaluator(config, data, fc, reference, grid_dir=workdir / "plots" if main else None)
    recipe = make_recipe(config, data, evaluators={SAMPLES: samples})
    seed = int(config.seed)
    quality_path = workdir / "sample_quality.jsonl"
    recorded = [json.loads(line) for line in quality_path.read_text().splitlines()] if quality_path.exists() else []
    first = next((r for r in recorded if r["step"] == 0), None)
    if first is None:  # the generator at initialisation, scored once before training
        init_state = recipe.init(loop.init_key(seed))
        first = {"step": 0, **samples(init_state, loop.evaluator_key(seed, SAMPLES, 0))}
    state, final = loop.run(recipe, config, workdir, desc=config.get("name", "gan"))
    rows = quality_rows(workdir, first)
    if main:
        quality_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        plot_quality(rows, workdir / "plots" / "fid.png", title=config.get("name", "gan"))
    q = {k[len(SAMPLES) + 1:]: v for k, v in final.items() if k.startswith(SAMPLES + "_")}
    result: dict[str, Any] = {
        "fid": q["fid"], "fid_init": first["fid"], "fid_raw": q["fid_raw"],
        "fid_ratio": first["fid"] / q["fid"],
        "inception_score": q["inception_score"], "inception_score_init": first["inception_score"],
        "feature_classifier_accuracy": fc.test_accuracy, "fid_samples": n, **sanity,
        "fid_curve": [[r["step"], r["fid"]] for r in rows], "steps": final["steps"],
        "summary_plot": "plots/fid.png",  # what RESULTS.md shows for this run instead of the loss curve
    }
    if config.gan.conditional:
        result["conditional_accuracy"] = q["conditional_accuracy"]
    if config.gan.conditional and config.augment_study.enabled:
        result.update(augmentation_study(config, workdir, data, state))
    return result


def augmentation_study(config, workdir: Path, data: Dataset, state) -> dict[str, float]:
    """A classify CNN on `labels_per_class` real labels per class, with and without cGAN samples."""
    s = config.augment_study
    per = int(s.labels_per_class)
    few = per_class_subset(data.train, per, data.num_classes, int(config.data_seed))
    state = jax.device_get(state)
    sampler = make_sampler(config, data.num_classes, data.train["image"].shape[-1])
    syn_labels = np.repeat(np.arange(data.num_classes, dtype=np.int32), int(s.synthetic_per_class))
    key = jax.random.fold_in(jax.random.key(int(config.seed)), FEWSHOT_SAMPLES_TAG)
    syn = sampler(state["ema"], state["gen"].model_state, key, syn_labels)
    syn = np.clip(np.rint(syn * 255.0), 0, 255).astype(np.uint8)
    mixed = Split(image=np.concatenate([few["image"], syn]), label=np.concatenate([few["label"], syn_labels]))
    c = feature_classifier_config(config.dataset, int(s.classifier_steps))
    c.model = dict(s.model.to_dict()) if "model" in s else c.model
    c.batch_size = int(s.batch_size)
    out = {}
    for name, split in (("fewshot_accuracy", few), ("fewshot_gan_accuracy", mixed)):
        m = supervised.train_once(c, workdir / name, split, {"test": data.test}, data.num_classes, desc=name)
        out[name] = m["test_accuracy"]
    out["fewshot_gain"] = out["fewshot_gan_accuracy"] - out["fewshot_accuracy"]
    out["fewshot_labels_per_class"] = per
    out["fewshot_synthetic_per_class"] = int(s.synthetic_per_class)
    return out


def recipe_for(config: ml_collections.ConfigDict) -> loop.Recipe:
    """The training recipe without evaluators (for `jaxml bench`)."""
    return make_recipe(config, load_data(config))


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """Restores the newest checkpoint and recomputes the sample metrics of its generators (the same
    evaluator and key as the training run's eval at that step)."""
    data = load_data(config)
    fc = load_feature_classifier(config, data)
    reference = feature_statistics(fc(to_unit(data.test["image"]))[0])
    recipe = make_recipe(config, data, evaluators={SAMPLES: make_sample_evaluator(config, data, fc, reference)})
    metrics = loop.evaluate_checkpoint(recipe, config, workdir)
    return {"step": metrics["step"],
            **{k[len(SAMPLES) + 1:]: v for k, v in metrics.items() if k.startswith(SAMPLES + "_")}}
