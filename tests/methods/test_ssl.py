"""SimCLR / BYOL: NT-Xent against a float64 reference, on 8 devices with the all-gather equal to one
device, ≈ ln(2N − 1) for random directions; BYOL's target is the EMA of the online network; the
probes against plain references; a tiny end-to-end run on digits."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec as P

from jaxml.core import loop, probe, sharding
from jaxml.data.datasets import Dataset, Split
from jaxml.defaults.ssl import base_config
from jaxml.errors import JaxmlError
from jaxml.methods import ssl


def nt_xent64(z1, z2, temperature):
    """Float64 NT-Xent: mean over the 2N anchors of −log softmax over the 2N − 1 others at the positive."""
    z = np.concatenate([z1, z2]).astype(np.float64)
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    n = z1.shape[0]
    sims = z @ z.T / temperature
    total = 0.0
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        others = np.delete(sims[i], i)
        m = others.max()
        total += m + np.log(np.exp(others - m).sum()) - sims[i, j]
    return total / (2 * n)


@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0])
def test_nt_xent_matches_float64_reference(temperature):
    rng = np.random.default_rng(int(temperature * 10))
    z1, z2 = rng.normal(size=(2, 24, 16))
    z2 = z2 + 0.5 * z1  # correlated positives
    got = ssl.nt_xent(jnp.asarray(z1, jnp.float32), jnp.asarray(z2, jnp.float32), temperature)
    np.testing.assert_allclose(float(got), nt_xent64(z1, z2, temperature), rtol=1e-5)


def test_nt_xent_all_gathered_over_8_devices_equals_one_device():
    assert jax.device_count() == 8
    mesh = sharding.make_mesh(base_config().parallel)
    assert mesh.shape["data"] == 8
    rng = np.random.default_rng(0)
    z1, z2 = (jnp.asarray(a, jnp.float32) for a in rng.normal(size=(2, 32, 8)))
    spread = NamedSharding(mesh, P(sharding.BATCH_AXES))
    global_loss = ssl.batch_global_nt_xent(mesh)
    f8 = jax.jit(jax.value_and_grad(lambda a, b: global_loss(a, b, 0.2), argnums=(0, 1)))
    loss8, grads8 = f8(jax.device_put(z1, spread), jax.device_put(z2, spread))
    loss1, grads1 = jax.value_and_grad(lambda a, b: ssl.nt_xent(a, b, 0.2), argnums=(0, 1))(z1, z2)
    np.testing.assert_allclose(float(loss8), float(loss1), rtol=1e-6)
    np.testing.assert_allclose(float(loss8), nt_xent64(np.asarray(z1), np.asarray(z2), 0.2), rtol=1e-5)
    for g8, g1 in zip(grads8, grads1):
        np.testing.assert_allclose(np.asarray(g8), np.asarray(g1), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("n", [16, 64, 128])
def test_nt_xent_at_random_directions_is_log_2n_minus_1(n):
    z1, z2 = jax.random.normal(jax.random.key(n), (2, n, 4096))
    got = float(ssl.nt_xent(z1, z2, 0.5))
    assert abs(got - np.log(2 * n - 1)) < 0.01, (got, np.log(2 * n - 1))


def tiny_data(n=64, size=8, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, size, size, 1)).astype(np.uint8)
    labels = (np.arange(n) % classes).astype(np.int32)
    split = Split(image=images, label=labels)
    return Dataset(name="tiny", train=split, test=split, num_classes=classes, class_names=tuple("abcd"))


def tiny_config(objective, **over):
    c = base_config(objective)
    c.model.features = (4,)
    c.ssl.update(feature_dim=8, proj_hidden=16, proj_dim=8, pred_hidden=16)
    c.probe.update(labels_per_class=(4, 0), steps=20, batch_size=32, knn_k=3)
    c.batch_size, c.steps, c.warmup_steps = 16, 10, 0
    c.parallel.num_devices = 1
    c.update(over)
    return c


def test_byol_target_is_the_ema_of_the_online_network():
    c = tiny_config("byol", steps=20)
    recipe = ssl.make_recipe(c, tiny_data())
    state = recipe.init(jax.random.key(0))
    step = jax.jit(recipe.train_step)
    online_history = [state.online.params]
    images = np.asarray(recipe.train_split["image"])
    for k in range(4):
        state, metrics = step(state, {"image": jnp.asarray(images[16 * k:16 * (k + 1)])}, jax.random.key(k))
        online_history.append(state.online.params)
    # reference: xi_0 = theta_0; xi_{k+1} = tau_k xi_k + (1 - tau_k) theta_{k+1}, float64
    ref = {k: jax.tree.map(lambda x: np.asarray(x, np.float64), online_history[0][k]) for k in ("encoder", "projector")}
    for k in range(4):
        tau = 1 - (1 - c.ssl.ema_base) * (np.cos(np.pi * k / c.steps) + 1) / 2
        theta = {n: online_history[k + 1][n] for n in ref}
        ref = jax.tree.map(lambda x, o: tau * x + (1 - tau) * np.asarray(o, np.float64), ref, theta)
    assert int(state.step) == 4
    jax.tree.map(lambda got, want: np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-7),
                 state.target, ref)
    assert not np.allclose(np.asarray(state.target["encoder"]["Conv_0"]["kernel"]),
                           np.asarray(state.online.params["encoder"]["Conv_0"]["kernel"]))
    assert "predictor" in state.online.params and "predictor" not in state.target


def test_simclr_has_no_target_and_its_step_lowers_the_loss():
    c = tiny_config("simclr", learning_rate=1e-2)
    recipe = ssl.make_recipe(c, tiny_data())
    state = recipe.init(jax.random.key(0))
    assert state.target == {} and "predictor" not in state.online.params
    step = jax.jit(recipe.train_step)
    batch = {"image": jnp.asarray(recipe.train_split["image"][:16])}
    losses = []
    for k in range(15):
        state, metrics = step(state, batch, jax.random.key(0))
        losses.append(float(metrics["loss"]))
    assert losses[-1] < losses[0]


def test_linear_probe_and_knn_match_references():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 5)) * 3
    y = np.arange(90) % 3
    x = centres[y] + rng.normal(size=(90, 5))
    tx, ty, qx, qy = x[:60], y[:60], x[60:], y[60:]
    acc = float(probe.linear_probe_accuracy(jnp.asarray(tx), jnp.asarray(ty), jnp.asarray(qx), jnp.asarray(qy), 3,
                                            steps=300, learning_rate=0.05))
    from sklearn.linear_model import LogisticRegression
    ref = LogisticRegression(max_iter=1000).fit((tx - tx.mean(0)) / tx.std(0), ty).score((qx - tx.mean(0)) / tx.std(0), qy)
    assert abs(acc - ref) <= 1 / 30 + 1e-9
    # weighted kNN against a plain loop
    k, T = 5, 0.07
    bank = tx / np.linalg.norm(tx, axis=1, keepdims=True)
    correct = 0
    for q, label in zip(qx / np.linalg.norm(qx, axis=1, keepdims=True), qy):
        sims = bank @ q
        top = np.argsort(-sims)[:k]
        votes = np.zeros(3)
        for i in top:
            votes[ty[i]] += np.exp(sims[i] / T)
        correct += votes.argmax() == label
    got = float(probe.knn_accuracy(jnp.asarray(tx, jnp.float32), jnp.asarray(ty), jnp.asarray(qx, jnp.float32),
                                   jnp.asarray(qy), 3, k=k, temperature=T, chunk=7))
    assert got == pytest.approx(correct / 30)


def test_unknown_objective_is_one_clear_error():
    with pytest.raises(JaxmlError, match="config.ssl.objective='moco' is not valid; choose one of simclr, byol"):
        ssl.make_recipe(tiny_config("moco"), tiny_data())


@pytest.mark.parametrize("objective", ["simclr", "byol"])
def test_tiny_run_on_digits_writes_the_probe_random_and_supervised_metrics(tmp_path, objective):
    c = tiny_config(objective, dataset="digits", steps=4, log_every=2, checkpoint_every=4, tensorboard=False)
    c.probe.labels_per_class = (10,)
    c.baseline.update(steps=4, batch_size=20)
    result = ssl.train(c, tmp_path / objective)
    for key in ("probe_linear_10", "probe_knn_10", "random_linear_10", "gain_knn_10", "supervised_accuracy",
                "beats_supervised"):
        assert 0.0 <= abs(result[key]) <= 1.0, key
    assert result["steps"] == 4
    json.dumps(result)


def test_simclr_in_the_loop_on_8_devices_trains_as_on_one(tmp_path):
    """The shard_map'd loss inside the loop's compiled global-array step: 8 devices = 1 device. (SGD: the
    bias of the encoder's last layer feeds the batch-normalised head, which cancels it, so its gradient
    is rounding noise; Adam's normalised update would blow that noise up to +-lr per step.)"""
    finals = {}
    for devices in (1, 8):
        c = tiny_config("simclr", steps=3, log_every=3, eval_every=0, checkpoint_every=0, tensorboard=False,
                        optimizer="sgd", learning_rate=0.05)
        c.parallel.num_devices = devices
        c.probe.labels_per_class = (4,)
        recipe = ssl.make_recipe(c, tiny_data())
        state, _ = loop.run(recipe, c, tmp_path / f"d{devices}")
        finals[devices] = jax.device_get(state.online.params)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-6), finals[1], finals[8])


def test_probe_validation_holds_out_training_images_as_the_test_split():
    c = tiny_config("simclr", dataset="digits")
    full = ssl.load_data(c)
    c.probe.validation = 200
    held = ssl.load_data(c)
    assert len(held.test) == 200 and len(held.train) == len(full.train) - 200
    rows = lambda s: {bytes(x) for x in np.asarray(s["image"]).reshape(len(s), -1)}
    assert rows(held.test) | rows(held.train) == rows(full.train)
    c.probe.validation = len(full.train)
    with pytest.raises(JaxmlError, match="config.probe.validation"):
        ssl.load_data(c)
