"""Memory and precision levers: gradient accumulation equals the big batch (MLP, CNN, GPT; masked
weights), activation checkpointing changes no number and (with the memory-optimised XLA:CPU
scheduler) lowers the compiled temp memory, dynamic loss scaling skips an overflowing step
and halves its scale and otherwise equals the unscaled step."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxml.core import gradients, loop, loss_scale, parallel, supervised, xla_schedule
from jaxml.data import text as text_lib
from jaxml.data.datasets import Split
from jaxml.defaults import classify as classify_defaults
from jaxml.defaults import lm as lm_defaults
from jaxml.errors import JaxmlError
from jaxml.methods import lm
from jaxml.models.transformer import Decoder, TransformerConfig

TEXT = "In the beginning God created the heaven and the earth.\nAnd the earth was without form, and void.\n" * 20


def linear_optimizer(c):
    """SGD without warm-up or clipping: the update is linear in the gradient, so the parameters
    compare the gradients themselves."""
    c.optimizer, c.schedule, c.warmup_steps, c.grad_clip, c.momentum = "sgd", "constant", 0, 0.0, 0.9
    c.learning_rate = 0.1
    return c


def classifier_config(model, **kw):
    c = linear_optimizer(classify_defaults.base_config())
    c.model = model
    c.batch_size = 32
    c.parallel.num_devices = 1
    for k, v in kw.items():
        c[k] = v
    return c


@pytest.fixture(scope="module")
def digits():
    return supervised.load_data(classifier_config({"name": "mlp", "hidden": (16,), "dropout": 0.0}))


@pytest.fixture(scope="module")
def mesh():
    return parallel.make_mesh(1)


def run_steps(recipe, mesh, batches, state=None):
    """The state and metrics after one chunk of steps on the host batches [steps, B, ...] (as the loop
    runs), from `state` (default: the recipe's initial state)."""
    chunk = loop.make_train_chunk(recipe, mesh)
    state = recipe.sharding.place_state(lambda: state or jax.jit(recipe.init)(jax.random.key(0)), mesh)
    state, metrics = chunk(state, recipe.sharding.shard_batch(batches, mesh, batch_axis=1), jax.random.key(1),
                           jnp.int32(0))
    return jax.device_get(state), jax.device_get(metrics)


def classifier_batches(split, steps=1, batch=32):
    n = steps * batch
    return {"image": np.asarray(split["image"][:n]).reshape(steps, batch, *split["image"].shape[1:]),
            "label": np.asarray(split["label"][:n]).reshape(steps, batch)}


def assert_relative(a, b, rtol):
    """|a - b| <= rtol |b| over all the parameters together (the L2 norm of the difference relative to
    the L2 norm of the parameters, and the largest difference relative to the largest parameter)."""
    x = np.concatenate([np.ravel(np.asarray(v, np.float64)) for v in jax.tree.leaves(a)])
    y = np.concatenate([np.ravel(np.asarray(v, np.float64)) for v in jax.tree.leaves(b)])
    assert np.linalg.norm(x - y) <= rtol * np.linalg.norm(y), np.linalg.norm(x - y) / np.linalg.norm(y)
    assert np.max(np.abs(x - y)) <= rtol * np.max(np.abs(y)), np.max(np.abs(x - y)) / np.max(np.abs(y))


@pytest.mark.parametrize("model", [{"name": "mlp", "hidden": (16,), "dropout": 0.0},
                                   {"name": "cnn", "features": (4,), "dense": (8,), "dropout": 0.0}],
                         ids=["mlp", "cnn"])
def test_four_micro_batches_equal_the_big_batch_step(model, digits, mesh):
    batches = classifier_batches(digits.train)
    if model["name"] == "cnn":
        batches["image"] = batches["image"].reshape(*batches["image"].shape[:2], 8, 8, 1)
        train = Split(image=np.asarray(digits.train["image"]).reshape(-1, 8, 8, 1), label=digits.train["label"])
    else:
        train = digits.train
    out = []
    for accum in (1, 4):
        recipe = supervised.make_recipe(classifier_config(model, grad_accum=accum), train, {}, digits.num_classes)
        assert recipe.grad_accum == accum
        out.append(run_steps(recipe, mesh, batches))
    (big, big_m), (acc, acc_m) = out
    assert_relative(acc.params, big.params, 1e-6)
    np.testing.assert_allclose(acc_m["loss"], big_m["loss"], rtol=1e-6)
    np.testing.assert_allclose(acc_m["accuracy"], big_m["accuracy"], rtol=1e-6)


def test_gpt_four_micro_batches_equal_the_big_batch_step(mesh):
    tok = text_lib.CharTokenizer(TEXT)
    windows = text_lib.lm_windows(tok.encode(TEXT), 16).astype(np.uint8)
    data = lm.LMData(tok, Split(tokens=windows), Split(tokens=windows[:8]), "test")
    out, state = [], None
    for accum in (1, 4):
        c = linear_optimizer(lm_defaults.base_config())
        c.update(seq_len=16, batch_size=8, grad_accum=accum)
        c.model.update(num_layers=1, num_heads=2, embed_dim=16)
        c.parallel.num_devices = 1
        recipe = lm.make_recipe(c, data)
        state = state or jax.device_get(jax.jit(recipe.init)(jax.random.key(0)))
        out.append(run_steps(recipe, mesh, {"tokens": windows[None, :8]}, state))
    assert_relative(out[1][0].params, out[0][0].params, 1e-6)


def test_weighted_micro_batches_give_the_weighted_mean_gradient():
    """Masked examples: each micro-batch counts by its real examples, so the accumulated gradient
    is that of the big batch's masked mean, however the mask falls across the micro-batches."""
    x = jax.random.normal(jax.random.key(0), (16, 3))
    y = jax.random.normal(jax.random.key(1), (16,))
    mask = jnp.array([1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0], jnp.float32)
    w = jnp.array([0.5, -1.0, 2.0])

    def loss_fn(params, batch, key, carry):
        err = (batch["x"] @ params - batch["y"]) ** 2
        return jnp.sum(err * batch["mask"]) / jnp.maximum(batch["mask"].sum(), 1.0), ({}, carry)

    batch = {"x": x, "y": y, "mask": mask}
    big, _, _, g_big = gradients.value_and_grad(loss_fn, w, batch, jax.random.key(2))
    acc, _, _, g_acc = gradients.value_and_grad(loss_fn, w, batch, jax.random.key(2), accum=4,
                                                weight=lambda b: b["mask"].sum())
    np.testing.assert_allclose(acc, big, rtol=1e-6)
    np.testing.assert_allclose(g_acc, g_big, rtol=1e-6)


def test_grad_accum_errors(digits, mesh):
    with pytest.raises(JaxmlError, match="batch_size=32 must be divisible .* grad_accum = 1 x 3"):
        gradients.accum_steps(classifier_config({"name": "mlp", "hidden": (4,)}, grad_accum=3))
    with pytest.raises(JaxmlError, match="grad_accum=0 must be an int >= 1"):
        gradients.accum_steps(classifier_config({"name": "mlp", "hidden": (4,)}, grad_accum=0))
    recipe = supervised.make_recipe(classifier_config({"name": "mlp", "hidden": (4,)}), digits.train, {}, 10)
    with pytest.raises(JaxmlError, match="takes one gradient per batch"):
        loop.check_grad_accum(recipe, classifier_config({"name": "mlp", "hidden": (4,)}, grad_accum=2), mesh)


def test_remat_changes_no_number():
    """The loss and gradient of a GPT (dropout on) under every checkpointing policy equal those
    without checkpointing, with the same parameter tree."""
    tokens = jax.random.randint(jax.random.key(0), (4, 17), 0, 13)
    cfg = TransformerConfig(vocab_size=13, num_layers=2, num_heads=2, embed_dim=16, max_len=16, dropout=0.1)
    params = jax.jit(Decoder(cfg).init)(jax.random.key(1), tokens[:, :-1])["params"]
    grads = {}
    for policy in ("none", "full", "dots_saveable"):
        model = Decoder(dataclasses.replace(cfg, remat=policy))
        shapes = jax.eval_shape(model.init, jax.random.key(1), tokens[:, :-1])["params"]
        assert jax.tree.structure(shapes) == jax.tree.structure(params)  # the same parameter paths

        def loss(p):
            logits = model.apply({"params": p}, tokens[:, :-1], train=True, rngs={"dropout": jax.random.key(2)})
            return lm.token_nll(logits, tokens[:, 1:]).mean()

        grads[policy] = jax.jit(jax.value_and_grad(loss))(params)
    for policy in ("full", "dots_saveable"):
        np.testing.assert_allclose(grads[policy][0], grads["none"][0], rtol=1e-6)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), grads[policy][1],
                     grads["none"][1])
    c = lm_defaults.base_config()
    c.remat = "sometimes"
    with pytest.raises(JaxmlError, match="config.remat='sometimes' is not valid; choose one of none, full"):
        lm.model_config(c, 13)


def test_remat_lowers_the_compiled_memory_under_the_memory_scheduler():
    """On XLA:CPU, "auto" compiles a checkpointed step with the memory-optimised scheduler, and that
    step needs less temp memory than the uncheckpointed one. (At XLA's default optimisation level the
    default, concurrency-optimised scheduler makes checkpointing save nothing, which is why "auto"
    switches: scripts/bench_memory.py; the tests compile at level 1, where both schedules agree.)"""
    tok = text_lib.CharTokenizer(TEXT)
    windows = text_lib.lm_windows(tok.encode(TEXT), 32).astype(np.uint8)[:8]
    data = lm.LMData(tok, Split(tokens=windows), Split(tokens=windows), "test")
    temp = {}
    for remat, scheduler in (("none", "auto"), ("full", "auto")):
        c = lm_defaults.base_config()
        c.update(seq_len=32, batch_size=8, remat=remat, cpu_scheduler=scheduler)
        c.model.update(num_layers=2, num_heads=2, embed_dim=32)
        c.parallel.num_devices = 1
        recipe = lm.make_recipe(c, data)
        one_device = recipe.sharding.make_mesh(c.parallel)
        state = jax.eval_shape(lambda: recipe.init(jax.random.key(0)))
        chunk = loop.make_train_chunk(recipe, one_device, xla_schedule.compiler_options(c))
        batches = jax.ShapeDtypeStruct((1,) + windows.shape, windows.dtype)
        compiled = chunk.lower(state, {"tokens": batches}, jax.random.key(0), jnp.int32(0)).compile()
        temp[remat, scheduler] = compiled.memory_analysis().temp_size_in_bytes
    assert xla_schedule.compiler_options(c) == {"xla_cpu_scheduler_type": "CPU_SCHEDULER_TYPE_MEMORY_OPTIMIZED"}
    assert temp["full", "auto"] < 0.95 * temp["none", "auto"], temp


def test_cpu_scheduler_choices():
    c = lm_defaults.base_config()
    assert xla_schedule.compiler_options(c, "cpu") == {}
    c.remat = "dots_saveable"
    assert xla_schedule.compiler_options(c, "cpu") == {"xla_cpu_scheduler_type": "CPU_SCHEDULER_TYPE_MEMORY_OPTIMIZED"}
    assert xla_schedule.compiler_options(c, "gpu") == {}
    c.cpu_scheduler = "fastest"
    with pytest.raises(JaxmlError, match="config.cpu_scheduler='fastest' is not valid; choose one of auto, default, memory"):
        xla_schedule.compiler_options(c)


@pytest.fixture(scope="module")
def scaled_runs(digits, mesh):
    """(config, recipe) of a small MLP with float16 compute ("auto" = dynamic loss scaling) and
    float32 with dynamic and with no loss scaling."""
    model = {"name": "mlp", "hidden": (16,), "dropout": 0.0}
    out = {}
    for name, dtype, mode in (("f16", "float16", "auto"), ("f32_dynamic", "float32", "dynamic"),
                              ("f32_none", "float32", "none")):
        c = classifier_config(model, dtype=dtype, loss_scale=mode)
        out[name] = supervised.make_recipe(c, digits.train, {}, digits.num_classes)
    return out


def test_loss_scale_overflow_skips_the_step_and_halves_the_scale(scaled_runs, digits, mesh):
    recipe = scaled_runs["f16"]
    state = recipe.init(jax.random.key(0))
    assert loss_scale.current(state.opt_state) == loss_scale.INIT_SCALE
    assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(state.params))  # float32 master weights
    huge = state.replace(opt_state=state.opt_state._replace(scale=jnp.float32(2.0 ** 40)))
    batch = jax.tree.map(lambda x: x[0], classifier_batches(digits.train, steps=1))
    step = jax.jit(recipe.train_step)
    after, metrics = step(huge, batch, jax.random.key(1))
    assert float(metrics["skipped"]) == 1.0 and float(metrics["grad_norm"]) == 0.0
    assert float(after.opt_state.scale) == 2.0 ** 39
    jax.tree.map(np.testing.assert_array_equal, after.params, huge.params)
    jax.tree.map(np.testing.assert_array_equal, after.opt_state.inner, huge.opt_state.inner)
    after, metrics = step(state, batch, jax.random.key(1))  # the default scale: a real step
    assert float(metrics["skipped"]) == 0.0 and np.isfinite(float(metrics["loss"]))
    assert int(after.opt_state.good_steps) == 1
    assert any(not np.array_equal(a, b) for a, b in zip(jax.tree.leaves(after.params), jax.tree.leaves(state.params)))


def test_loss_scale_without_overflow_equals_unscaled(scaled_runs, digits, mesh):
    batches = classifier_batches(digits.train)
    scaled, m = run_steps(scaled_runs["f32_dynamic"], mesh, batches)
    plain, _ = run_steps(scaled_runs["f32_none"], mesh, batches)
    assert not hasattr(plain.opt_state, "scale")  # no scaling: the optimizer state is the plain one
    np.testing.assert_array_equal(m["loss_scale"], loss_scale.INIT_SCALE)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8), scaled.params, plain.params)


def test_loss_scale_growth_and_floor():
    tx = loss_scale.dynamic(optax.sgd(1.0), init_scale=4.0, period=2)
    params = jnp.ones(2)
    state = tx.init(params)
    good, bad = jnp.ones(2), jnp.array([1.0, jnp.inf])
    scales = []
    for g in (good, good, bad, bad, bad, bad):
        _, state = tx.update(g, state, params)
        scales.append(float(state.scale))
    assert scales == [4.0, 8.0, 4.0, 2.0, 1.0, 1.0]
    with pytest.raises(JaxmlError, match="config.loss_scale='often' is not valid; choose one of auto, dynamic, none"):
        loss_scale.enabled(classifier_config({"name": "mlp"}, loss_scale="often"))
