"""Pruning: the cubic schedule, exact masks against a float64 reference, pruned weights staying zero
through training, one-shot vs gradual, sparse storage round trip, and config errors."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.core import loop, parallel, supervised
from jaxml.core.checkpoint import Checkpointer
from jaxml.core.metrics import read_metrics
from jaxml.data.batching import train_batches
from jaxml.defaults import prune as prune_defaults
from jaxml.errors import JaxmlError
from jaxml.methods import prune


def cubic_reference(t, s_i, s_f, t0, t_end):
    """Zhu & Gupta eq. (1) in float64, with s_i before t0 and s_f after t0 + nΔt."""
    if t <= t0:
        return s_i
    if t >= t_end:
        return s_f
    return s_f + (s_i - s_f) * (1 - (t - t0) / (t_end - t0)) ** 3


def test_cubic_schedule_matches_formula_and_reaches_final_at_end_step():
    kw = dict(initial=0.05, final=0.9, begin=100, end=1100)
    steps = np.arange(0, 1300)
    got = np.asarray(jax.vmap(lambda t: prune.sparsity_at(t, **kw))(steps))
    ref = np.asarray([cubic_reference(t, 0.05, 0.9, 100, 1100) for t in steps])
    np.testing.assert_allclose(got, ref, atol=1e-6)
    assert got[1100] == np.float32(0.9) and got[100] == np.float32(0.05)
    assert np.all(np.diff(got) >= 0)
    assert got[600] > (0.05 + 0.9) / 2  # cubic: prunes fast early, slowly near the end
    updates = [t for t in steps if prune.is_update_step(t, begin=100, end=1100, frequency=250)]
    assert updates == [100, 350, 600, 850, 1100]


def random_params(seed=0):
    rng = np.random.default_rng(seed)
    shapes = {"Conv_0": (3, 3, 1, 8), "Conv_1": (3, 3, 8, 16), "Dense_0": (64, 33), "Dense_1": (33, 10)}
    params = {name: {"kernel": jnp.asarray(rng.normal(size=s), jnp.float32),
                     "bias": jnp.asarray(rng.normal(size=s[-1]), jnp.float32)} for name, s in shapes.items()}
    return params


def reference_masks(scores, sparsity, scope):
    """Float64 numpy: prune exactly round(s * n) lowest scores (stable order), per kernel or over all."""
    out = {}
    if scope == "layerwise":
        for k, s in scores.items():
            flat = np.asarray(s, np.float64).reshape(-1)
            keep = np.ones(flat.size, bool)
            keep[np.argsort(flat, kind="stable")[:round(sparsity * flat.size)]] = False
            out[k] = keep.reshape(s.shape)
        return out
    flat = np.concatenate([np.asarray(s, np.float64).reshape(-1) for s in scores.values()])
    keep = np.ones(flat.size, bool)
    keep[np.argsort(flat, kind="stable")[:round(sparsity * flat.size)]] = False
    offset = 0
    for k, s in scores.items():
        out[k] = keep[offset:offset + s.size].reshape(s.shape)
        offset += s.size
    return out


@pytest.mark.parametrize("scope", prune.SCOPES)
@pytest.mark.parametrize("sparsity", [0.0, 0.37, 0.8, 0.9, 0.999])
def test_magnitude_masks_are_exact_and_match_reference(scope, sparsity):
    params = random_params()
    masks = prune.initial_masks(params)
    scores = prune.prune_scores("magnitude", params, masks, jax.random.key(0))
    got = jax.jit(lambda s: prune.masks_from_scores(s, sparsity, scope, sparsity))(scores)
    ref = reference_masks({k: np.abs(np.asarray(v)) for k, v in prune.kernel_leaves(params).items()}, sparsity, scope)
    for k in ref:
        np.testing.assert_array_equal(np.asarray(got[k]).astype(bool), ref[k])
        if scope == "layerwise":
            assert int(np.sum(np.asarray(got[k]) == 0)) == round(sparsity * ref[k].size)
    pruned = prune.apply_masks(params, prune.full_masks(params, got))
    total, per_layer = prune.sparsity_of(pruned)
    n = sum(v.size for v in ref.values())
    if scope == "global":
        assert round(total * n) == round(sparsity * n)
    assert set(per_layer) == {"Conv_0/kernel", "Conv_1/kernel", "Dense_0/kernel", "Dense_1/kernel"}
    for name in ("Conv_0", "Dense_1"):  # biases are never pruned
        np.testing.assert_array_equal(pruned[name]["bias"], params[name]["bias"])


@pytest.mark.parametrize("method", prune.PRUNE_METHODS)
def test_masks_only_grow_and_a_traced_sparsity_is_exact(method):
    params = random_params(1)
    masks = prune.initial_masks(params)
    previous = None
    for i, s in enumerate((0.3, 0.6, 0.9)):
        scores = prune.prune_scores(method, params, masks, jax.random.key(i))
        kernel_masks = jax.jit(lambda sc, s: prune.masks_from_scores(sc, s, "global", 0.9))(scores, jnp.float32(s))
        masks = prune.full_masks(params, kernel_masks)
        params = prune.apply_masks(params, masks)
        n = sum(m.size for m in kernel_masks.values())
        assert sum(int(jnp.sum(m == 0)) for m in kernel_masks.values()) == round(s * n)
        if previous is not None:  # once pruned, always pruned
            for k in kernel_masks:
                assert np.all(np.asarray(kernel_masks[k]) <= np.asarray(previous[k]))
        previous = kernel_masks


def tiny(**kw):
    c = prune_defaults.base_config()
    c.model.hidden = (64,)
    c.model.dropout = 0.0
    c.steps = 300
    c.log_every = 20
    c.eval_every = 300
    c.checkpoint_every = 300
    c.tensorboard = False
    c.parallel.num_devices = 1
    c.prune.begin_step, c.prune.end_step, c.prune.frequency = 40, 200, 20
    c.prune.dense_baseline = False
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def test_pruned_weights_stay_zero_through_training():
    c = tiny()
    c.prune.sparsity = 0.8
    data = supervised.load_data(c)
    recipe = prune.make_recipe(c, data.train, {"test": data.test}, data.num_classes)
    mesh = parallel.make_mesh(1)
    state = parallel.on_mesh(lambda: recipe.init(loop.init_key(0)), mesh)
    chunk = loop.make_train_chunk(recipe, mesh)
    key = parallel.on_mesh(lambda: loop.train_key(0), mesh)
    n = sum(v.size for v in prune.kernel_leaves(state.train.params).values())
    zero_before = None
    for step in range(0, 300, 10):
        host = train_batches(recipe.train_split, start_step=step, num_steps=10, global_batch=64, seed=0)
        state, metrics = chunk(state, parallel.shard_batch(host, mesh, batch_axis=1), key, jnp.int32(step))
        kernels = {k: np.asarray(v) for k, v in prune.kernel_leaves(state.train.params).items()}
        masks = {k: np.asarray(v) for k, v in prune.kernel_leaves(state.masks).items()}
        for k in kernels:
            assert np.all(kernels[k][masks[k] == 0] == 0), f"pruned weights of {k} moved at step {step + 10}"
            if zero_before is not None:
                assert np.all(kernels[k][zero_before[k]] == 0), f"a weight of {k} was revived at step {step + 10}"
        zero_before = {k: masks[k] == 0 for k in masks}
        last_update = min(40 + (step + 10 - 40) // 20 * 20, 200)  # masks change at steps 40, 60, ..., 200
        expected = round(float(prune.sparsity_at(last_update, initial=0.0, final=0.8, begin=40, end=200)) * n)
        if step + 10 >= 40:
            assert sum(int(np.sum(m == 0)) for m in masks.values()) == expected
    assert int(state.step) == 300
    assert sum(int(np.sum(v == 0)) for v in kernels.values()) == round(0.8 * n)


def test_gradual_magnitude_pruning_trains_and_stores_sparse(tmp_path):
    c = tiny()
    c.prune.sparsity, c.prune.dense_baseline = 0.9, True
    result = prune.train(c, tmp_path)
    n = 64 * 64 + 64 * 10
    assert result["sparsity"] == round(0.9 * n) / n  # exactly the target
    assert result["nonzero_params"] == n - round(0.9 * n) + 64 + 10  # biases stay dense
    assert result["test_accuracy"] > 0.85 and result["dense_accuracy"] > 0.93
    assert result["accuracy_drop"] == pytest.approx(result["dense_accuracy"] - result["test_accuracy"])
    assert result["size_ratio"] > 3 and result["sparse_bytes"] < result["dense_bytes"]
    report = json.loads((tmp_path / "pruning.json").read_text())
    assert set(report["layers"]) == {"Dense_0/kernel", "Dense_1/kernel"}
    sparsities = [r["sparsity"] for r in report["layers"].values()]
    assert min(sparsities) < 0.9 < max(sparsities)  # global: layers end up at different sparsities
    # the sparse file decodes to exactly the checkpointed params
    state = parallel.on_mesh(lambda: prune.recipe_for(c).init(loop.init_key(0)), parallel.make_mesh(1))
    step, state = Checkpointer(tmp_path).restore_latest(state)
    arrays = dict(np.load(tmp_path / "export" / "model_sparse.npz"))
    decoded = prune.from_sparse_arrays(arrays, jax.device_get(state.train.params))
    jax.tree.map(np.testing.assert_array_equal, decoded, jax.device_get(state.train.params))
    assert prune.evaluate(c, tmp_path)["test_accuracy"] == pytest.approx(result["test_accuracy"])


def test_magnitude_beats_random_and_oneshot_prunes_at_begin_step(tmp_path):
    acc = {}
    for method in prune.PRUNE_METHODS:
        c = tiny()
        c.prune.method, c.prune.sparsity = method, 0.95
        acc[method] = prune.train(c, tmp_path / method)["test_accuracy"]
    assert acc["magnitude"] > acc["random"] + 0.05, acc
    c = tiny()
    c.prune.schedule, c.prune.scope, c.prune.begin_step = "oneshot", "layerwise", 100
    result = prune.train(c, tmp_path / "oneshot")
    rows = {r["step"]: r["sparsity"] for r in read_metrics(tmp_path / "oneshot") if r["split"] == "train"}
    assert rows[80] == 0 and rows[100] > 0  # the mean over steps 81..100 includes the pruned step 100 only
    assert result["sparsity"] == pytest.approx(0.9, abs=1e-3)


def test_sparse_round_trip_and_index_types():
    rng = np.random.default_rng(2)
    params = {"Conv_0": {"kernel": rng.normal(size=(3, 3, 2, 300)).astype(np.float32), "bias": np.ones(300, np.float32)},
              "Dense_0": {"kernel": rng.normal(size=(70, 5)).astype(np.float32)}}
    for leaf in (params["Conv_0"]["kernel"], params["Dense_0"]["kernel"]):
        leaf[rng.random(leaf.shape) < 0.85] = 0
    params["Dense_0"]["kernel"][3] = 0  # an empty row
    arrays = prune.to_sparse_arrays(params)
    assert arrays["Conv_0/kernel:col"].dtype == np.uint16 and arrays["Dense_0/kernel:col"].dtype == np.uint8
    assert arrays["Conv_0/bias:dense"].shape == (300,)
    back = prune.from_sparse_arrays(arrays, params)
    jax.tree.map(np.testing.assert_array_equal, back, params)


def test_bad_prune_config_values_name_the_key(tmp_path):
    for key, value, match in (("method", "l1", "prune.method.*magnitude, random"),
                              ("scope", "local", "prune.scope.*global, layerwise"),
                              ("schedule", "linear", "prune.schedule.*cubic, oneshot"),
                              ("sparsity", 1.0, "prune.sparsity"),
                              ("frequency", 70, "frequency")):
        c = tiny()
        c.prune[key] = value
        with pytest.raises(JaxmlError, match=match):
            prune.train(c, tmp_path)
