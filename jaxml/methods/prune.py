"""Unstructured weight pruning: magnitude (global or layer-wise) and random pruning as the control,
one-shot + fine-tune or gradual on Zhu & Gupta's (2017) cubic schedule.

The supervised classification step (`core/supervised.py`, the one `classify` trains) trains the
model; this method wraps it. The masks (one 0/1 array per weight kernel; biases and normalisation
parameters are never pruned) live in the train state and are multiplied into the params after every
optimizer update, so pruned weights stay exactly zero. At each mask-update step t in
{t0, t0 + Δt, ..., t0 + nΔt} the target sparsity is

    s_t = s_f + (s_i - s_f) (1 - (t - t0) / (nΔt))^3          (t0 = begin_step, t0 + nΔt = end_step)

and exactly round(s_t * n) weights are pruned (n: kernel weights of the whole model for `scope=global`,
of each kernel for `scope=layerwise`): those with the smallest |w| (magnitude) or the smallest uniform
random score (random); weights pruned earlier stay pruned. `schedule=oneshot` prunes to s_f once at
`begin_step` and fine-tunes for the remaining steps.

The pruned model is also stored sparse: each kernel as CSR over its [prod(shape[:-1]), shape[-1]]
matrix (float32 non-zeros, column indices and row pointers in the smallest unsigned type that holds
them), the other params dense; `sparse_bytes` / `dense_bytes` are the sizes of the two .npz files.

result.json metrics: `test_accuracy`, `test_loss`, `sparsity` (zeros among kernel weights),
`dense_accuracy` and `accuracy_drop` (dense model trained with the same recipe and steps, when
`prune.dense_baseline`), `params`, `nonzero_params`, `dense_bytes`, `sparse_bytes`, `size_ratio`.
Per-layer sparsity goes to `<workdir>/pruning.json`.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.core import loop, supervised
from jaxml.core.param_paths import is_kernel, map_named, named_leaves
from jaxml.core.train_state import TrainState
from jaxml.data.datasets import Split
from jaxml.errors import JaxmlError

log = logging.getLogger("jaxml")

PRUNE_METHODS = ("magnitude", "random")
SCOPES = ("global", "layerwise")
SCHEDULES = ("cubic", "oneshot")


@flax.struct.dataclass
class PruneState:
    """The classifier's train state, the masks (params-shaped; 0/1 per kernel weight, scalar 1 for the
    other leaves) and the number of completed optimizer steps."""

    train: TrainState
    masks: Any
    step: jax.Array


# ----------------------------------------------------------------------------------------------- schedule

def sparsity_at(step, *, initial: float, final: float, begin: int, end: int):
    """Zhu & Gupta's cubic schedule: s_i up to `begin`, s_f from `end` on (exactly), cubic in between."""
    step = jnp.asarray(step, jnp.float32)
    frac = jnp.clip((step - begin) / max(end - begin, 1), 0.0, 1.0)
    s = final + (initial - final) * (1.0 - frac) ** 3
    return jnp.where(step >= end, jnp.float32(final), jnp.where(step <= begin, jnp.float32(initial), s))


def is_update_step(step, *, begin: int, end: int, frequency: int):
    """True at t0, t0 + Δt, ..., t0 + nΔt (= end)."""
    return (step >= max(begin, 1)) & (step <= end) & ((step - begin) % frequency == 0)


# ------------------------------------------------------------------------------------------------- masks

def kernel_leaves(tree: Any) -> dict[str, Any]:
    """{name: leaf} of the prunable leaves (weight kernels) of a params-shaped tree."""
    return {k: v for k, v in named_leaves(tree).items() if is_kernel(k, v)}


def pruned_count(n: int, sparsity, final_sparsity: float | None = None):
    """round(sparsity * n) as int32; exactly round(s_f * n) (computed in float64) when sparsity >= s_f."""
    k = jnp.round(jnp.asarray(sparsity, jnp.float32) * n).astype(jnp.int32)
    if final_sparsity is None:
        return k
    return jnp.where(jnp.asarray(sparsity, jnp.float32) >= jnp.float32(final_sparsity),
                     jnp.int32(round(final_sparsity * n)), jnp.minimum(k, round(final_sparsity * n)))


def keep_top(scores: jax.Array, k) -> jax.Array:
    """1-D bool mask that drops exactly the `k` lowest scores (ties: the earlier index is dropped)."""
    order = jnp.argsort(scores, stable=True)
    ranks = jnp.zeros(scores.shape, jnp.int32).at[order].set(jnp.arange(scores.shape[0], dtype=jnp.int32))
    return ranks >= k


def masks_from_scores(scores: dict[str, jax.Array], sparsity, scope: str,
                      final_sparsity: float | None = None) -> dict[str, jax.Array]:
    """{name: float32 0/1 mask}: per kernel (layerwise) or over all kernels (global), the lowest scores
    are pruned so that exactly `pruned_count(n, sparsity)` weights are zero."""
    if scope not in SCOPES:
        raise JaxmlError(f"prune.scope={scope!r} is not valid; choose one of {', '.join(SCOPES)}")
    if scope == "layerwise":
        return {k: keep_top(s.reshape(-1), pruned_count(s.size, sparsity, final_sparsity)).reshape(s.shape)
                .astype(jnp.float32) for k, s in scores.items()}
    flat = jnp.concatenate([s.reshape(-1) for s in scores.values()])
    keep = keep_top(flat, pruned_count(flat.size, sparsity, final_sparsity)).astype(jnp.float32)
    out, offset = {}, 0
    for k, s in scores.items():
        out[k] = keep[offset:offset + s.size].reshape(s.shape)
        offset += s.size
    return out


def prune_scores(method: str, params: Any, masks: Any, key: jax.Array) -> dict[str, jax.Array]:
    """|w| (magnitude) or U(0, 1) (random) per kernel weight; weights already pruned score -1."""
    kernels, current = kernel_leaves(params), named_leaves(masks)
    keys = jax.random.split(key, max(len(kernels), 1))
    scores = {}
    for i, (k, w) in enumerate(kernels.items()):
        s = jnp.abs(w) if method == "magnitude" else jax.random.uniform(keys[i], w.shape)
        scores[k] = jnp.where(current[k] > 0, s, -1.0)
    return scores


def full_masks(params: Any, kernel_masks: dict[str, jax.Array]) -> Any:
    """Params-shaped masks: the given kernel masks, a scalar 1 for every other leaf."""
    return map_named(lambda k, x: kernel_masks[k] if k in kernel_masks else jnp.ones((), jnp.float32), params)


def initial_masks(params: Any) -> Any:
    return full_masks(params, {k: jnp.ones(v.shape, jnp.float32) for k, v in kernel_leaves(params).items()})


def apply_masks(params: Any, masks: Any) -> Any:
    return jax.tree.map(lambda w, m: (w * m).astype(w.dtype), params, masks)


def sparsity_of(params: Any) -> tuple[float, dict[str, float]]:
    """(fraction of zero kernel weights overall, {kernel name: its fraction of zeros})."""
    kernels = {k: np.asarray(v) for k, v in kernel_leaves(params).items()}
    zeros = {k: int(np.sum(v == 0)) for k, v in kernels.items()}
    total = sum(v.size for v in kernels.values())
    return sum(zeros.values()) / max(total, 1), {k: zeros[k] / kernels[k].size for k in kernels}


# --------------------------------------------------------------------------------------- sparse storage

def _index_dtype(max_value: int) -> np.dtype:
    for dt in (np.uint8, np.uint16, np.uint32):
        if max_value <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.uint64)


def to_sparse_arrays(params: Any) -> dict[str, np.ndarray]:
    """Kernels as CSR over [prod(shape[:-1]), shape[-1]] (values, col, rowptr, shape); other leaves dense."""
    out: dict[str, np.ndarray] = {}
    for k, v in named_leaves(params).items():
        v = np.asarray(v)
        if not is_kernel(k, v):
            out[f"{k}:dense"] = v
            continue
        m = v.reshape(-1, v.shape[-1])
        rows, cols = np.nonzero(m)
        counts = np.bincount(rows, minlength=m.shape[0])
        out[f"{k}:values"] = m[rows, cols]
        out[f"{k}:col"] = cols.astype(_index_dtype(m.shape[1] - 1))
        out[f"{k}:rowptr"] = np.concatenate([[0], np.cumsum(counts)]).astype(_index_dtype(len(rows)))
        out[f"{k}:shape"] = np.asarray(v.shape, np.int32)
    return out


def from_sparse_arrays(arrays: dict[str, np.ndarray], like: Any) -> Any:
    """Inverse of `to_sparse_arrays` into the structure of `like`."""
    def leaf(k, ref):
        if f"{k}:dense" in arrays:
            return np.asarray(arrays[f"{k}:dense"])
        shape = tuple(int(s) for s in arrays[f"{k}:shape"])
        rowptr = arrays[f"{k}:rowptr"].astype(np.int64)
        m = np.zeros((math.prod(shape[:-1]), shape[-1]), arrays[f"{k}:values"].dtype)
        rows = np.repeat(np.arange(m.shape[0]), np.diff(rowptr))
        m[rows, arrays[f"{k}:col"].astype(np.int64)] = arrays[f"{k}:values"]
        return m.reshape(shape)
    return map_named(leaf, like)


def storage_sizes(params: Any, directory: Path) -> dict[str, int]:
    """Writes model_dense.npz and model_sparse.npz (uncompressed) and returns their sizes in bytes."""
    directory.mkdir(parents=True, exist_ok=True)
    dense_path, sparse_path = directory / "model_dense.npz", directory / "model_sparse.npz"
    np.savez(dense_path, **{k: np.asarray(v) for k, v in named_leaves(params).items()})
    np.savez(sparse_path, **to_sparse_arrays(params))
    return {"dense_bytes": dense_path.stat().st_size, "sparse_bytes": sparse_path.stat().st_size}


# ------------------------------------------------------------------------------------------------ recipe

def check_prune_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    p = config.prune
    choices = {"method": PRUNE_METHODS, "scope": SCOPES, "schedule": SCHEDULES}
    for key, valid in choices.items():
        if p[key] not in valid:
            raise JaxmlError(f"config.prune.{key}={p[key]!r} is not valid; choose one of {', '.join(valid)}")
    for key in ("sparsity", "initial_sparsity"):
        if not 0.0 <= float(p[key]) < 1.0:
            raise JaxmlError(f"config.prune.{key}={p[key]} must be in [0, 1)")
    if float(p.initial_sparsity) > float(p.sparsity):
        raise JaxmlError(f"config.prune.initial_sparsity={p.initial_sparsity} exceeds prune.sparsity={p.sparsity}")
    begin, end, steps = int(p.begin_step), int(p.end_step), int(config.steps)
    if p.schedule == "oneshot":
        end = begin
    if not 0 <= begin <= end <= steps:
        raise JaxmlError(f"config.prune: need 0 <= begin_step ({begin}) <= end_step ({end}) <= steps ({steps})")
    if p.schedule == "oneshot" and begin < 1:
        raise JaxmlError("config.prune.begin_step must be >= 1 for schedule=oneshot (it prunes after that many steps)")
    if int(p.frequency) < 1 or (end - begin) % int(p.frequency):
        raise JaxmlError(f"config.prune.frequency={p.frequency} must be >= 1 and divide end_step - begin_step "
                         f"({end - begin}) so that the schedule reaches the final sparsity at end_step")
    return p


def make_recipe(config: ml_collections.ConfigDict, train_split: Split, eval_splits: dict[str, Split],
                num_classes: int) -> loop.Recipe:
    p = check_prune_config(config)
    inner = supervised.make_recipe(config, train_split, eval_splits, num_classes)
    final, initial = float(p.sparsity), float(p.initial_sparsity)
    begin = int(p.begin_step)
    end = begin if p.schedule == "oneshot" else int(p.end_step)
    schedule = dict(initial=final if p.schedule == "oneshot" else initial, final=final, begin=begin, end=end)
    frequency = int(p.frequency) if end > begin else 1

    def init(key):
        train = inner.init(key)
        return PruneState(train=train, masks=initial_masks(train.params), step=jnp.zeros((), jnp.int32))

    def update_masks(params, masks, step, key):
        scores = prune_scores(p.method, params, masks, key)
        kernel_masks = masks_from_scores(scores, sparsity_at(step, **schedule), p.scope, final)
        masks = full_masks(params, kernel_masks)
        return apply_masks(params, masks), masks

    def train_step(state: PruneState, batch, key):
        train, metrics = inner.train_step(state.train, batch, key)
        params = apply_masks(train.params, state.masks)
        step = state.step + 1
        params, masks = jax.lax.cond(
            is_update_step(step, begin=begin, end=end, frequency=frequency),
            lambda: update_masks(params, state.masks, step, jax.random.fold_in(key, 0x5eed)),
            lambda: (params, state.masks))
        kernels = kernel_leaves(masks)
        metrics["sparsity"] = sum(jnp.sum(m == 0) for m in kernels.values()) / sum(m.size for m in kernels.values())
        return PruneState(train=train.replace(params=params), masks=masks, step=step), metrics

    def eval_step(state: PruneState, batch):
        return inner.eval_step(state.train, batch)

    return loop.Recipe(init=init, train_step=train_step, eval_step=eval_step, train_split=train_split,
                       eval_splits=eval_splits, main_metric="accuracy")


def recipe_for(config: ml_collections.ConfigDict) -> loop.Recipe:
    data = supervised.load_data(config)
    return make_recipe(config, data.train, {"test": data.test}, data.num_classes)


def evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """Reloads the newest checkpoint of the pruned model in `workdir` and evaluates it on the test split."""
    return loop.evaluate_checkpoint(recipe_for(config), config, workdir)


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """Trains and prunes the model in `workdir` (and the dense baseline in `workdir/dense`)."""
    workdir = Path(workdir)
    check_prune_config(config)
    data = supervised.load_data(config)
    eval_splits = {"test": data.test}
    state, metrics = loop.run(make_recipe(config, data.train, eval_splits, data.num_classes), config, workdir,
                              desc=f"prune {config.prune.method} {config.prune.sparsity:g}")
    params = jax.device_get(state.train.params)
    sparsity, per_layer = sparsity_of(params)
    result = {"test_accuracy": metrics["test_accuracy"], "test_loss": metrics["test_loss"], "steps": metrics["steps"],
              "sparsity": sparsity, "params": loop.count_params(params),
              "nonzero_params": int(sum(np.count_nonzero(np.asarray(v)) for v in jax.tree.leaves(params)))}
    if config.prune.dense_baseline:
        dense = supervised.train_once(config, workdir / "dense", data.train, eval_splits, data.num_classes, desc="dense")
        result["dense_accuracy"] = dense["test_accuracy"]
        result["accuracy_drop"] = dense["test_accuracy"] - result["test_accuracy"]
    sizes = storage_sizes(params, workdir / "export")
    result.update(sizes, size_ratio=sizes["dense_bytes"] / sizes["sparse_bytes"])
    report = {"sparsity": sparsity, "layers": {k: {"shape": list(np.shape(v)), "sparsity": per_layer[k]}
                                               for k, v in kernel_leaves(params).items()}, **sizes}
    if jax.process_index() == 0:
        (workdir / "pruning.json").write_text(json.dumps(report, indent=2) + "\n")
    log.info("sparsity %.4f; per layer: %s", sparsity, ", ".join(f"{k} {v:.3f}" for k, v in per_layer.items()))
    return result
