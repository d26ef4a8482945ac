"""jaxml.rl.ppo: GAE against a float64 Python loop (terminations and truncations), policy
log-probs against numpy, a jit+vmap short run, Anakin (4 fake CPU devices) equal to one device,
Pendulum (continuous) smoke, config errors, learning CartPole, and the CLI on 2 devices."""

import json
import math
import subprocess

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import REPO, cli_env, jaxml_cmd
from jaxml.defaults.rl import ppo as ppo_defaults
from jaxml.errors import JaxmlError
from jaxml.rl import ppo


def keys(*seeds):
    return jnp.stack([jax.random.key(s) for s in seeds])


def tiny_config(**overrides):
    c = ppo_defaults.default_config()
    c.num_envs = 8
    c.num_steps = 16
    c.num_minibatches = 2
    c.update_epochs = 2
    c.hidden = (16, 16)
    c.total_env_steps = 8 * 16 * 3
    for k, v in overrides.items():
        if k == "num_devices":
            c.parallel.num_devices = v
        else:
            c[k] = v
    return c


def run(c, seeds=(0, 1), iterations=None):
    init, chunk = ppo.make_train(c)
    n = iterations or c.total_env_steps // ppo.steps_per_iteration(c)
    return jax.jit(jax.vmap(lambda k: chunk(init(k), n)))(keys(*seeds))


# ----------------------------------------------------------------------------------- GAE


def gae_reference(rewards, values, next_values, terminated, truncated, gamma, lam):
    """Plain Python, float64, one env at a time, written from the definitions."""
    T, N = rewards.shape
    adv = np.zeros((T, N))
    for n in range(N):
        running = 0.0
        for t in reversed(range(T)):
            bootstrap = 0.0 if terminated[t, n] else next_values[t, n]
            delta = rewards[t, n] + gamma * bootstrap - values[t, n]
            if terminated[t, n] or truncated[t, n]:
                running = 0.0   # the next step belongs to another episode
            running = delta + gamma * lam * running
            adv[t, n] = running
    return adv, adv + values


def test_gae_matches_python_loop():
    rng = np.random.default_rng(0)
    T, N = 37, 5
    rewards, values, next_values = (rng.normal(size=(T, N)) for _ in range(3))
    terminated = rng.random((T, N)) < 0.1
    truncated = (rng.random((T, N)) < 0.1) & ~terminated
    assert terminated.sum() > 5 and truncated.sum() > 5
    dones = terminated | truncated
    want_adv, want_ret = gae_reference(rewards, values, next_values, terminated, truncated, 0.97, 0.9)
    adv, ret = jax.jit(ppo.gae, static_argnums=(5, 6))(
        *(jnp.asarray(x, jnp.float32) for x in (rewards, values, next_values)),
        jnp.asarray(terminated), jnp.asarray(dones), 0.97, 0.9)
    np.testing.assert_allclose(adv, want_adv, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ret, want_ret, rtol=1e-5, atol=1e-5)


def test_gae_truncation_bootstraps_but_cuts_the_recursion():
    # step 0: truncated (bootstrap from V(next_obs)=10, no advantage from step 1's episode);
    # step 1: terminated (no bootstrap); step 2: ordinary, last step of the rollout
    rewards = jnp.array([1.0, 2.0, 3.0])
    values = jnp.array([0.5, 0.25, 1.0])
    next_values = jnp.array([10.0, 99.0, 4.0])
    terminated = jnp.array([False, True, False])
    dones = jnp.array([True, True, False])
    adv, _ = ppo.gae(rewards, values, next_values, terminated, dones, 0.9, 0.5)
    np.testing.assert_allclose(adv, [1.0 + 0.9 * 10.0 - 0.5, 2.0 - 0.25, 3.0 + 0.9 * 4.0 - 1.0], rtol=1e-6)


def test_minibatch_rows_gather_each_envs_permuted_steps_in_order():
    # minibatch m, slot (t, n) in step-major order: step perms[n, t] of env n, t in the m-th slice
    rng = np.random.default_rng(1)
    num_envs, num_steps, num_mb = 3, 8, 4
    perms = np.stack([rng.permutation(num_steps) for _ in range(num_envs)])
    x = rng.normal(size=(num_steps, num_envs, 2))
    rows = np.asarray(ppo.minibatch_rows(jnp.asarray(perms), num_mb))
    got = x.reshape(num_steps * num_envs, 2)[rows]
    per = num_steps // num_mb
    want = np.array([[x[perms[n, t], n] for t in range(m * per, (m + 1) * per) for n in range(num_envs)]
                     for m in range(num_mb)])
    assert rows.shape == (num_mb, per * num_envs)
    np.testing.assert_array_equal(got, want)
    assert sorted(rows.ravel().tolist()) == list(range(num_steps * num_envs))   # every row once


def test_env_params_reach_the_env_and_a_wrong_name_is_one_error():
    def config(**env_params):
        c = ppo_defaults.default_config()
        c.env = "MetaMaze-misc"
        if env_params:
            c.env_params = env_params
        return c

    cfg, _, env_params, *_ = ppo._setup(config(normalize_time=True))
    assert cfg.env_params == (("normalize_time", True),) and bool(env_params.normalize_time)
    assert not bool(ppo._setup(config())[2].normalize_time)   # without it, gymnax's own default
    with pytest.raises(JaxmlError, match="unknown parameter.*normalise_time.*valid fields.*normalize_time"):
        ppo._setup(config(normalise_time=True))
    bad = config().to_dict()   # a ConfigDict cannot even take a non-dict here; a plain dict config can
    bad["env_params"] = 3
    with pytest.raises(JaxmlError, match="config.env_params must be a dict"):
        ppo.PPOConfig.from_config(bad)


# ----------------------------------------------------------------------------------- policy


def test_log_prob_and_entropy_against_numpy():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(6, 3))
    action = rng.integers(0, 3, size=6)
    logp, ent = ppo._log_prob_entropy(jnp.asarray(logits, jnp.float32), None, jnp.asarray(action), False)
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(logp, np.log(p[np.arange(6), action]), rtol=1e-5)
    np.testing.assert_allclose(ent, -(p * np.log(p)).sum(-1), rtol=1e-5)

    mean, log_std, a = rng.normal(size=(6, 2)), rng.normal(size=2) * 0.3, rng.normal(size=(6, 2))
    logp, ent = ppo._log_prob_entropy(*(jnp.asarray(x, jnp.float32) for x in (mean, log_std, a)), True)
    std = np.exp(log_std)
    want = (-0.5 * ((a - mean) / std) ** 2 - np.log(std * math.sqrt(2 * math.pi))).sum(-1)
    np.testing.assert_allclose(logp, want, rtol=1e-5)
    np.testing.assert_allclose(ent, np.full(6, (np.log(std) + 0.5 + 0.5 * math.log(2 * math.pi)).sum()), rtol=1e-5)


# ----------------------------------------------------------------------------------- short runs

PENDULUM = dict(env="Pendulum-v1", normalize_obs=True, reward_scale=0.1, total_env_steps=8 * 16 * 14)


@pytest.fixture(scope="module")
def cartpole_one():
    return run(tiny_config())


@pytest.fixture(scope="module")
def pendulum_one():
    return run(tiny_config(**PENDULUM))


def test_short_run_shapes_finite_and_seeds_differ(cartpole_one):
    c = tiny_config()
    state, m = cartpole_one
    for name in ("loss", "policy_loss", "value_loss", "entropy", "approx_kl", "clip_frac",
                 "learning_rate", "env_steps", "return", "length", "episodes"):
        assert m[name].shape == (2, 3), name
        assert np.all(np.isfinite(np.asarray(m[name], np.float64))), name
    np.testing.assert_array_equal(m["env_steps"][0], [128, 256, 384])
    np.testing.assert_array_equal(state.env_steps, [384, 384])
    # linear annealing over the whole run: 3 iterations x 2 epochs x 2 minibatches = 12 updates
    np.testing.assert_allclose(m["learning_rate"][0], c.learning_rate * np.array([1, 8 / 12, 4 / 12]), rtol=1e-5)
    assert np.all(np.asarray(m["episodes"])[:, -1] > 0)
    assert np.all(np.asarray(m["entropy"]) > 0.5)  # 2 actions, near-uniform initial policy: ln 2 = 0.69
    assert not np.allclose(m["loss"][0], m["loss"][1])
    w0 = jax.tree.leaves(state.params)[0]
    assert not np.allclose(w0[0], w0[1])
    # parameters moved from their initial values
    init, _ = ppo.make_train(c)
    p0 = jax.tree.leaves(jax.jit(init)(jax.random.key(0)).params)[0]
    assert not np.allclose(w0[0], p0)
    ev = jax.jit(jax.vmap(lambda s, k: ppo.greedy_eval(c, s, k)))(state, keys(5, 6))
    assert ev["return_mean"].shape == (2,) and np.all(np.asarray(ev["return_mean"]) >= 8)


def test_pendulum_continuous_smoke(pendulum_one):
    c = tiny_config(**PENDULUM)
    state, m = pendulum_one
    assert "log_std" in state.params["params"]
    # Pendulum never terminates; its 200-step episodes end by truncation (8 envs x 224 steps)
    np.testing.assert_array_equal(m["episodes"][:, -1], [8, 8])
    assert np.all(np.asarray(m["return"])[:, -1] < 0)
    for k in ("loss", "value_loss", "entropy"):
        assert np.all(np.isfinite(np.asarray(m[k]))), k
    np.testing.assert_array_equal(state.norm.count, [8 * 16 * 14] * 2)
    ev = jax.jit(jax.vmap(lambda s, k: ppo.greedy_eval(c, s, k)))(state, keys(3, 4))
    assert np.all(np.asarray(ev["lengths"]) == 200)
    # a Gaussian sample outside the bounds is clipped for the env, while its log-prob is the
    # unclipped one: log-probs of samples beyond +-2 are finite
    out = jnp.zeros((4, 1))
    a = ppo._sample(jax.random.split(jax.random.key(0), 4), out, jnp.array([1.5]), True)
    assert np.any(np.abs(np.asarray(a)) > 2)
    logp, _ = ppo._log_prob_entropy(out, jnp.array([1.5]), a, True)
    assert np.all(np.isfinite(logp))


# ----------------------------------------------------------------------------------- Anakin


@pytest.mark.parametrize("name", ["cartpole", "pendulum"])
def test_four_devices_equal_one_device(name, request):
    """Same parameters, normaliser, env states and metrics with the 8 envs on 4 fake CPU devices
    as on one device (seed vmap outside the shard_map)."""
    assert len(jax.devices()) >= 4
    one = request.getfixturevalue(f"{name}_one")
    four = run(tiny_config(**(PENDULUM if name == "pendulum" else {}), num_devices=4))
    assert len(four[0].env.obs.sharding.device_set) == 4   # the envs really were spread out
    for a, b in zip(jax.tree.leaves((one[0].params, one[0].norm, one[0].env.obs)),
                    jax.tree.leaves((four[0].params, four[0].norm, four[0].env.obs))):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for k in ("loss", "return", "episodes", "approx_kl"):
        np.testing.assert_allclose(one[1][k], four[1][k], rtol=1e-5, atol=1e-6, err_msg=k)


# ----------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("overrides,match", [
    ({"num_minibatches": 3}, "num_minibatches=3 must divide config.num_steps=16"),
    ({"num_devices": 3}, "num_envs=8 must be divisible by config.parallel.num_devices=3"),
    ({"num_devices": 0}, "parallel.num_devices must be an int >= 1"),
    ({"num_devices": 16, "num_envs": 16}, "parallel.num_devices=16 but only 8 devices"),
    ({"total_env_steps": 100}, "total_env_steps=100 < num_envs"),
    ({"activation": "gelu"}, "choose one of tanh, relu"),
    ({"learning_rate": 0.0}, "learning_rate must be a number > 0, got 0.0"),
    ({"gamma": 1.5}, r"gamma must be a number in \[0, 1\], got 1.5"),
    ({"env": "Pendulum-v2"}, "Pendulum-v1"),
])
def test_config_errors(overrides, match):
    with pytest.raises(JaxmlError, match=match) as e:
        ppo.make_train(tiny_config(**overrides))
    assert "\n" not in str(e.value)


# ----------------------------------------------------------------------------------- learning


def test_learns_cartpole():
    """PureJaxRL hyper-parameters, 100k env steps."""
    c = ppo_defaults.default_config()
    c.total_env_steps = 100_352  # 196 iterations of 4 x 128
    state, _ = run(c, seeds=(0, 1))
    ev = jax.jit(jax.vmap(lambda s, k: ppo.greedy_eval(c, s, k)))(state, keys(7, 8))
    assert np.all(np.asarray(ev["return_mean"]) >= 150), ev["return_mean"]


# ----------------------------------------------------------------------------------- CLI


def test_cli_two_devices(tmp_path):
    out = subprocess.run(jaxml_cmd("train", "ppo_cartpole", "--workdir", str(tmp_path),
                                   "--config.total_env_steps=512", "--config.eval_every=256",
                                   "--config.num_envs=4", "--config.num_steps=32", "--config.update_epochs=1",
                                   "--config.hidden=(16,)", "--config.num_seeds=2",
                                   "--config.parallel.num_devices=2", "--config.eval_episodes=2",
                                   "--config.tensorboard=false"),
                         cwd=REPO, env=cli_env(2), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["env_steps"] == 512 and len(result["eval_return_per_seed"]) == 2
    assert result["devices"] == "cpu x2"


def test_env_action_is_greedy_without_a_key_and_a_draw_of_the_policy_with_one():
    logits = jnp.log(jnp.array([[0.1, 0.6, 0.3]] * 20000))
    np.testing.assert_array_equal(ppo.env_action(logits[:3], None, False, None, None), [1, 1, 1])
    drawn = np.asarray(ppo.env_action(logits, None, False, None, None, jax.random.key(0)))
    np.testing.assert_allclose(np.bincount(drawn, minlength=3) / len(drawn), [0.1, 0.6, 0.3], atol=0.015)
    mean, log_std = jnp.full((20000, 1), 0.2), jnp.log(jnp.array([0.5]))
    low, high = jnp.array([-1.0]), jnp.array([1.0])
    assert float(ppo.env_action(mean[:1], log_std, True, low, high)[0, 0]) == pytest.approx(0.2)
    a = np.asarray(ppo.env_action(mean, log_std, True, low, high, jax.random.key(1)))[:, 0]
    assert a.min() >= -1.0 and a.max() <= 1.0  # clipped like the rollout's env action
    inside = (a > -1.0) & (a < 1.0)
    raw = 0.2 + 0.5 * np.random.default_rng(0).standard_normal(200000)
    assert inside.mean() == pytest.approx(((raw > -1) & (raw < 1)).mean(), abs=0.01)
    assert np.median(a) == pytest.approx(0.2, abs=0.02)
