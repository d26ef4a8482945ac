"""Attributions for any differentiable classifier: vanilla-gradient saliency, SmoothGrad, integrated
gradients; attention rollout for attention maps; a PNG of attributions over inputs.

Every attribution function takes `logits_fn(x [B, ...]) -> logits [B, K]` that treats examples
independently (inference mode), inputs x and the class to explain per example (`target [B]`), and
returns an array shaped like x:
- `saliency` (Simonyan et al. 2014): ∂ logit_target / ∂x;
- `smoothgrad` (Smilkov et al. 2017): the mean saliency over `samples` copies of x + N(0, σ²), with σ
  a fraction `noise` of the input range; the noisy copies are vmapped;
- `integrated_gradients` (Sundararajan et al. 2017): (x − x') ⊙ ∫₀¹ ∂f(x' + α(x − x'))/∂x dα with the
  trapezoid rule over `steps` intervals (all path points vmapped). Completeness: the attributions sum
  to f(x) − f(x') up to the quadrature error, reported by `completeness_error`.
`attention_rollout` (Abnar & Zuidema 2020; `models.attention`) turns per-layer attention weights
[L, H, T, T] of a sequence model into token-to-token relevance [T, T]; `plot_attributions` draws
images (or 1-D sequences) with their attribution maps.

As a method (`method = "interpret"`): trains a classify model (or resumes) and writes
`plots/attributions.png` for `num_examples` test images; result.json: `test_accuracy`,
`ig_completeness_error` (max over those examples of |Σ attr − (f(x) − f(x'))| / |f(x) − f(x')|) and
`deletion_auc_<method>` (mean target probability while deleting the most-attributed pixels first, 10
steps; lower means the attribution found what the model uses).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.core import loop, supervised
from jaxml.core.plots import pyplot, save_figure
from jaxml.core.steps import Normaliser
from jaxml.errors import JaxmlError
from jaxml.models.build import build_model

ATTRIBUTIONS = ("saliency", "smoothgrad", "integrated_gradients")

LogitsFn = Callable[[jax.Array], jax.Array]


def target_logit_fn(logits_fn: LogitsFn, target: jax.Array) -> Callable[[jax.Array], jax.Array]:
    """x [B, ...] -> the target class's logit per example [B]."""
    return lambda x: jnp.take_along_axis(logits_fn(x), target[:, None], axis=-1)[:, 0]


def saliency(logits_fn: LogitsFn, x: jax.Array, target: jax.Array) -> jax.Array:
    """∂ logit_target / ∂x per example (examples must not interact, e.g. BatchNorm in inference mode)."""
    f = target_logit_fn(logits_fn, target)
    return jax.grad(lambda v: jnp.sum(f(v)))(x)


def smoothgrad(logits_fn: LogitsFn, x: jax.Array, target: jax.Array, key: jax.Array, *, samples: int = 25,
               noise: float = 0.15, value_range: float = 1.0) -> jax.Array:
    """Mean saliency over `samples` noisy copies x + N(0, (noise · value_range)²)."""
    sigma = noise * value_range
    eps = jax.random.normal(key, (samples,) + x.shape, x.dtype) * sigma
    return jnp.mean(jax.vmap(lambda e: saliency(logits_fn, x + e, target))(eps), axis=0)


def integrated_gradients(logits_fn: LogitsFn, x: jax.Array, target: jax.Array, baseline: jax.Array | None = None,
                         *, steps: int = 64) -> jax.Array:
    """(x − baseline) ⊙ trapezoid-rule mean of the gradients at baseline + α(x − baseline), α = 0..1."""
    if steps < 1:
        raise JaxmlError(f"integrated_gradients steps={steps} must be >= 1")
    baseline = jnp.zeros_like(x) if baseline is None else jnp.broadcast_to(baseline, x.shape)
    alphas = jnp.linspace(0.0, 1.0, steps + 1)
    weights = jnp.full(steps + 1, 1.0 / steps).at[0].mul(0.5).at[-1].mul(0.5)
    grads = jax.vmap(lambda a: saliency(logits_fn, baseline + a * (x - baseline), target))(alphas)
    return (x - baseline) * jnp.tensordot(weights, grads, axes=1)


def completeness_error(logits_fn: LogitsFn, x: jax.Array, target: jax.Array, attributions: jax.Array,
                       baseline: jax.Array | None = None) -> jax.Array:
    """Per example |Σ attributions − (f(x) − f(baseline))| / |f(x) − f(baseline)|."""
    baseline = jnp.zeros_like(x) if baseline is None else jnp.broadcast_to(baseline, x.shape)
    f = target_logit_fn(logits_fn, target)
    diff = f(x) - f(baseline)
    total = jnp.sum(attributions.reshape(x.shape[0], -1), axis=-1)
    return jnp.abs(total - diff) / jnp.maximum(jnp.abs(diff), 1e-12)


def attribute(method: str, logits_fn: LogitsFn, x: jax.Array, target: jax.Array, key: jax.Array | None = None,
              **kwargs) -> jax.Array:
    """Dispatch by name: one of ATTRIBUTIONS."""
    if method == "saliency":
        return saliency(logits_fn, x, target)
    if method == "smoothgrad":
        return smoothgrad(logits_fn, x, target, jax.random.key(0) if key is None else key, **kwargs)
    if method == "integrated_gradients":
        return integrated_gradients(logits_fn, x, target, **kwargs)
    raise JaxmlError(f"attribution method {method!r} is not valid; choose one of {', '.join(ATTRIBUTIONS)}")


def deletion_curve(logits_fn: LogitsFn, x: jax.Array, target: jax.Array, attributions: jax.Array,
                   fractions: int = 10, fill: float = 0.0) -> jax.Array:
    """Target-class probability [fractions + 1, B] after setting the top k/fractions most-attributed
    input entries to `fill` (k = 0..fractions)."""
    b = x.shape[0]
    flat_x, flat_a = x.reshape(b, -1), attributions.reshape(b, -1)
    rank = jnp.argsort(jnp.argsort(-flat_a, axis=-1), axis=-1)  # 0 = most attributed
    d = flat_x.shape[1]

    def at(k):
        keep = rank >= jnp.round(k / fractions * d)
        v = jnp.where(keep, flat_x, fill).reshape(x.shape)
        return jnp.take_along_axis(jax.nn.softmax(logits_fn(v)), target[:, None], axis=-1)[:, 0]

    return jax.vmap(at)(jnp.arange(fractions + 1))


def plot_attributions(images: np.ndarray, maps: dict[str, np.ndarray], out: str | Path,
                      titles: Sequence[str] | None = None) -> Path:
    """One row per example: the input, then each attribution map (|attribution| summed over channels)."""
    plt = pyplot()
    images = np.asarray(images)
    n, cols = images.shape[0], 1 + len(maps)
    fig, axes = plt.subplots(n, cols, figsize=(1.6 * cols, 1.6 * n), squeeze=False)
    for i in range(n):
        img = images[i]
        axes[i, 0].imshow(img[..., 0] if img.ndim == 3 and img.shape[-1] == 1 else img, cmap="gray")
        if titles is not None:
            axes[i, 0].set_title(titles[i], fontsize=7)
        for j, (name, m) in enumerate(maps.items(), start=1):
            a = np.asarray(m[i])
            a = np.abs(a).sum(-1) if a.ndim == 3 else np.abs(a)
            axes[i, j].imshow(np.atleast_2d(a), cmap="inferno")
            if i == 0:
                axes[i, j].set_title(name.replace("integrated_gradients", "int. gradients"), fontsize=7)
    for ax in axes.flat:
        ax.set_xticks([]); ax.set_yticks([])
    fig.tight_layout()
    return save_figure(fig, out, dpi=80)


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """Trains a classify model, then explains `num_examples` test images with every attribution method."""
    workdir = Path(workdir)
    data = supervised.load_data(config)
    recipe = supervised.make_recipe(config, data.train, {"test": data.test}, data.num_classes)
    state, metrics = loop.run(recipe, config, workdir, desc=config.get("name", "interpret"))
    state = jax.device_get(state)
    model = build_model(config, data.num_classes)
    normaliser = Normaliser.fit(data.train)

    def logits_fn(x):  # x: inputs in [0, 1] (pixels) -- the space the attributions are drawn in
        return supervised.infer_logits(model, state, normaliser.standardise(x))

    n = int(config.interpret.num_examples)
    x = normaliser.unit(jnp.asarray(data.test["image"][:n]))
    target = jnp.argmax(logits_fn(x), -1)
    key = jax.random.key(int(config.seed))
    maps = {m: attribute(m, logits_fn, x, target, key, **(dict(steps=int(config.interpret.ig_steps))
                                                        if m == "integrated_gradients" else {}))
            for m in ATTRIBUTIONS}
    err = completeness_error(logits_fn, x, target, maps["integrated_gradients"])
    result = {"test_accuracy": metrics["test_accuracy"], "steps": metrics["steps"],
              "ig_completeness_error": float(jnp.max(err)),
              "summary_plot": "plots/attributions.png"}  # what RESULTS.md shows for this run
    rand = jax.random.uniform(jax.random.fold_in(key, 1), x.shape)
    for name, m in {**maps, "random": rand}.items():
        result[f"deletion_auc_{name}"] = float(jnp.mean(deletion_curve(logits_fn, x, target, m)))
    if jax.process_index() == 0:
        names = data.class_names
        plot_attributions(np.asarray(x), {k: np.asarray(v) for k, v in maps.items()},
                          workdir / "plots" / "attributions.png",
                          titles=[f"pred {names[int(t)]}" for t in np.asarray(target)])
    return result


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    return supervised.evaluate(config, workdir)
