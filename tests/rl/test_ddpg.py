"""jaxml.rl.ddpg (DDPG and TD3): target policy smoothing, clipped double-Q and the TD target against
float64 references and hand-built cases, terminated vs truncated bootstrap, the policy delay (counted
update by update), the DDPG path (one critic, no smoothing), a jit+vmap short run, greedy eval,
config errors and the CLI."""

import json
import subprocess

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import REPO, cli_env, jaxml_cmd
from jaxml.defaults.rl import ddpg as ddpg_defaults
from jaxml.errors import JaxmlError
from jaxml.rl import ddpg

pytestmark = pytest.mark.xdist_group("ddpg")  # short_run is computed once, on one worker


def keys(*seeds):
    return jnp.stack([jax.random.key(s) for s in seeds])


# ----------------------------------------------------------------------------------- references


def ref_smoothed(action, noise, policy_noise, noise_clip, low, high):
    """Float64 plain-Python TD3 smoothing, element by element."""
    out = []
    for a, n in zip(np.ravel(action), np.ravel(noise)):
        half = (high - low) / 2.0
        eps = min(max(policy_noise * float(n), -noise_clip), noise_clip) * half
        out.append(min(max(float(a) + eps, low), high))
    return np.asarray(out).reshape(np.shape(action))


def ref_target(reward, terminated, next_q, gamma, clipped):
    out = []
    for i in range(len(reward)):
        v = min(next_q[k][i] for k in range(len(next_q))) if clipped else next_q[0][i]
        out.append(reward[i] + (0.0 if terminated[i] else gamma * v))
    return np.asarray(out)


# ----------------------------------------------------------------------------------- pure pieces


def test_smoothed_target_action_clips_noise_then_action():
    # bounds [-2, 2] (half range 2), policy_noise 0.2, noise_clip 0.5 -> noise within +-1.0 torque
    action = jnp.array([[0.0], [0.5], [1.9], [-1.0], [0.3]])
    noise = jnp.array([[0.0], [1.0], [5.0], [-5.0], [-2.5]])
    out = ddpg.smoothed_target_action(action, noise, 0.2, 0.5, jnp.float32(-2.0), jnp.float32(2.0))
    # 0.2*1 = 0.2 (unclipped) -> +0.4; 0.2*5 = 1.0 -> clipped to 0.5 -> +1.0 -> 2.9 -> bound 2.0;
    # -1.0 -> -0.5 -> -1.0 -> -2.0 (exactly the bound); -0.5 -> -0.5 (at the clip) -> -1.0 -> -0.7
    np.testing.assert_allclose(out[:, 0], [0.0, 0.9, 2.0, -2.0, -0.7], rtol=1e-6, atol=1e-6)


def test_smoothed_target_action_matches_float64_reference():
    rng = np.random.default_rng(0)
    low, high = -1.0, 1.0
    action = rng.uniform(low, high, (64, 1))
    noise = rng.normal(size=(64, 1)) * 4.0
    out = np.asarray(ddpg.smoothed_target_action(jnp.asarray(action, jnp.float32),
                                                 jnp.asarray(noise, jnp.float32), 0.3, 0.5,
                                                 jnp.float32(low), jnp.float32(high)))
    np.testing.assert_allclose(out, ref_smoothed(action, noise, 0.3, 0.5, low, high), atol=1e-6)
    assert np.all(np.abs(out - action) <= 0.5 + 1e-6)        # |noise| <= noise_clip * half (= 0.5)
    assert np.all((out >= low) & (out <= high))
    assert np.any(np.abs(noise * 0.3) > 0.5)                  # the clip was exercised


def test_td3_target_min_of_two_critics_and_ddpg_first_critic():
    reward = np.array([1.0, -2.0, 0.5, 0.0])
    terminated = np.array([False, False, True, False])
    next_q = np.array([[3.0, -1.0, 100.0, 2.0],
                       [4.0, -5.0, -100.0, 2.0]])
    td3 = ddpg.td3_target(jnp.asarray(reward), jnp.asarray(terminated), jnp.asarray(next_q), 0.9, True)
    np.testing.assert_allclose(td3, [1.0 + 0.9 * 3.0, -2.0 + 0.9 * -5.0, 0.5, 0.9 * 2.0], rtol=1e-6)
    plain = ddpg.td3_target(jnp.asarray(reward), jnp.asarray(terminated), jnp.asarray(next_q[:1]), 0.9, False)
    np.testing.assert_allclose(plain, [1.0 + 0.9 * 3.0, -2.0 + 0.9 * -1.0, 0.5, 0.9 * 2.0], rtol=1e-6)
    with pytest.raises(JaxmlError, match="2 critics"):
        ddpg.td3_target(jnp.asarray(reward), jnp.asarray(terminated), jnp.asarray(next_q[:1]), 0.9, True)


def test_td3_target_matches_float64_reference():
    rng = np.random.default_rng(1)
    reward = rng.normal(size=32)
    terminated = rng.random(32) < 0.3
    next_q = rng.normal(size=(2, 32)) * 10
    for clipped in (True, False):
        got = ddpg.td3_target(jnp.asarray(reward, jnp.float32), jnp.asarray(terminated),
                              jnp.asarray(next_q, jnp.float32), 0.99, clipped)
        np.testing.assert_allclose(got, ref_target(reward, terminated, next_q, 0.99, clipped),
                                   rtol=1e-5, atol=1e-4)


def test_td3_target_bootstraps_on_truncation():
    """A truncated (time-limit) step is not terminated: it bootstraps; only `terminated` cuts."""
    reward = jnp.array([1.0, 1.0])
    terminated = jnp.array([True, False])   # row 1 is a truncated step (terminated False)
    next_q = jnp.array([[10.0, 10.0], [20.0, 20.0]])
    np.testing.assert_allclose(ddpg.td3_target(reward, terminated, next_q, 0.5, True), [1.0, 6.0])


def test_scale_action_and_polyak():
    low, high = jnp.array([-2.0]), jnp.array([2.0])
    np.testing.assert_allclose(ddpg.scale_action(jnp.array([[-50.0], [0.0], [50.0]]), low, high)[:, 0],
                               [-2.0, 0.0, 2.0], atol=1e-6)
    out = ddpg.polyak({"w": jnp.array([1.0])}, {"w": jnp.array([3.0])}, 0.25)
    np.testing.assert_allclose(out["w"], [2.5])


# ----------------------------------------------------------------------------------- short runs


def tiny_config(variant="td3", **kw):
    c = ddpg_defaults.default_config(variant)
    c.method = variant
    c.total_env_steps = 600
    c.learning_starts = 200
    c.buffer_size = 1_000
    c.batch_size = 32
    c.hidden = (16, 16)
    c.eval_episodes = 2
    for k, v in kw.items():
        c[k] = v
    return c


@pytest.fixture(scope="module")
def short_run():
    c = tiny_config(num_envs=2, updates_per_step=2)
    init, chunk = ddpg.make_train(c)
    n_iter = c.total_env_steps // c.num_envs
    state, m = jax.jit(jax.vmap(lambda k: chunk(init(k), n_iter)))(keys(0, 1))
    ev = jax.jit(jax.vmap(lambda s, k: ddpg.greedy_eval(c, s, k)))(state, keys(5, 6))
    return c, n_iter, state, m, ev


def test_short_run_finite_counts_and_seeds(short_run):
    c, n_iter, state, m, ev = short_run
    for name in ("critic_loss", "actor_loss", "q_mean", "trained", "actor_updated", "env_steps",
                 "return", "length", "episodes"):
        assert m[name].shape == (2, n_iter), name
    np.testing.assert_array_equal(m["env_steps"][0], np.arange(1, n_iter + 1) * c.num_envs)
    trained = np.asarray(m["env_steps"][0]) >= c.learning_starts
    np.testing.assert_array_equal(m["trained"][0], trained)
    # updates_per_step critic updates per trained iteration; one actor/target update per policy_delay
    n_critic = trained.sum() * c.updates_per_step
    np.testing.assert_array_equal(state.learner.critic_updates, [n_critic] * 2)
    np.testing.assert_array_equal(state.learner.actor_updates, [n_critic // c.policy_delay] * 2)
    for k in ("critic_loss", "actor_loss", "q_mean"):
        v = np.asarray(m[k])
        assert np.all(np.isfinite(v)), k
        assert np.all(v[:, ~trained] == 0), k
    assert np.all(np.asarray(m["critic_loss"])[:, trained] > 0)
    # Pendulum episodes are 200 steps (truncated only); each env ran total_env_steps / num_envs steps
    per_env = c.total_env_steps // c.num_envs
    assert np.all(np.asarray(m["episodes"])[:, -1] == c.num_envs * (per_env // 200))
    np.testing.assert_array_equal(np.asarray(m["length"])[:, -1], 200)
    assert not np.allclose(m["critic_loss"][0], m["critic_loss"][1])
    # two critics stacked on a leading axis
    assert all(x.shape[:2] == (2, 2) for x in jax.tree.leaves(state.learner.critic))
    # greedy eval: deterministic actor, finite returns in Pendulum's range
    assert ev["return_mean"].shape == (2,) and np.all(np.isfinite(ev["returns"]))
    assert np.all(np.asarray(ev["returns"]) <= 0) and np.all(np.asarray(ev["lengths"]) == 200)


def test_buffer_actions_in_bounds_and_pendulum_always_bootstraps(short_run):
    c, _, state, _, _ = short_run
    size = int(state.buffer.size[0])
    assert size == c.total_env_steps
    data = jax.tree.map(lambda x: np.asarray(x[0, :size]), state.buffer.data)
    assert data.action.shape == (size, 1)
    assert np.all(np.abs(data.action) <= 2.0) and np.abs(data.action).max() > 1.5
    assert not data.terminated.any()           # Pendulum never terminates: every step bootstraps
    assert data.truncated.sum() == c.num_envs * (size // c.num_envs // 200)
    # the true next observation at a truncation is the pendulum one step on (continuous angle), not
    # the fresh reset observation that the env continues from
    obs, nxt = data.obs.reshape(-1, c.num_envs, 3), data.next_obs.reshape(-1, c.num_envs, 3)
    trunc = data.truncated.reshape(-1, c.num_envs)
    assert trunc[:-1].any()
    np.testing.assert_allclose(nxt[:-1][~trunc[:-1]], obs[1:][~trunc[:-1]], atol=1e-6)
    angle_step = np.abs(np.arctan2(nxt[..., 1], nxt[..., 0]) - np.arctan2(obs[..., 1], obs[..., 0]))
    angle_step = np.minimum(angle_step, 2 * np.pi - angle_step)
    assert np.all(angle_step <= 8.0 * 0.05 + 1e-4)          # |theta_dot| <= 8, dt = 0.05
    assert np.any(np.abs(nxt[:-1][trunc[:-1]] - obs[1:][trunc[:-1]]) > 1e-3)


def _leaves_equal(a, b):
    return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


@pytest.mark.parametrize("method,delay", [("td3", 3), ("ddpg", 1)])
def test_actor_and_targets_update_every_policy_delay(method, delay):
    """Step one iteration at a time: the critic changes at every update, the actor and both target
    networks only at every `policy_delay`-th critic update (DDPG: every update)."""
    c = tiny_config(method, policy_delay=delay, learning_starts=40, total_env_steps=60)
    init, chunk = ddpg.make_train(c)
    step = jax.jit(lambda s: chunk(s, 1))
    state = jax.jit(init)(jax.random.key(0))
    seen = []
    for _ in range(c.total_env_steps):
        new, m = step(state)
        a, b = state.learner, new.learner
        trained = bool(m["trained"][0])
        assert int(b.critic_updates) == int(a.critic_updates) + trained
        assert _leaves_equal(a.critic, b.critic) == (not trained)
        due = trained and int(b.critic_updates) % delay == 0
        assert bool(m["actor_updated"][0]) == due
        assert int(b.actor_updates) == int(a.actor_updates) + due
        for name in ("actor", "actor_target", "critic_target"):
            assert _leaves_equal(getattr(a, name), getattr(b, name)) == (not due), name
        seen.append(due)
        state = new
    assert int(state.learner.critic_updates) == c.total_env_steps - c.learning_starts + 1
    assert sum(seen) == int(state.learner.critic_updates) // delay > 0


def test_ddpg_path_one_critic_no_smoothing(monkeypatch):
    calls = []
    real = ddpg.smoothed_target_action
    monkeypatch.setattr(ddpg, "smoothed_target_action", lambda *a: calls.append(1) or real(*a))
    for method, critics, smoothed in (("ddpg", 1, False), ("td3", 2, True)):
        calls.clear()
        c = tiny_config(method, total_env_steps=220)
        init, chunk = ddpg.make_train(c)
        state, m = jax.jit(lambda k: chunk(init(k), 220))(jax.random.key(0))
        assert all(x.shape[0] == critics for x in jax.tree.leaves(state.learner.critic))
        assert bool(calls) == smoothed, method
        assert np.all(np.isfinite(np.asarray(m["critic_loss"])))


def test_mountaincar_terminates_and_runs():
    """MountainCarContinuous-v0 (bounds [-1, 1], terminates at the goal): a short run is finite."""
    c = tiny_config(env="MountainCarContinuous-v0", total_env_steps=300)
    init, chunk = ddpg.make_train(c)
    state, m = jax.jit(lambda k: chunk(init(k), 300))(jax.random.key(0))
    assert np.all(np.isfinite(np.asarray(m["critic_loss"])))
    assert np.all(np.abs(np.asarray(state.buffer.data.action)) <= 1.0)


# ----------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("change,match", [
    ({"env": "CartPole-v1"}, "continuous"),
    ({"env": "Pendulm-v1"}, "Pendulum-v1"),
    ({"batch_size": 5_000}, "batch_size"),
    ({"policy_delay": 0}, "policy_delay"),
    ({"exploration_noise": -0.1}, "exploration_noise"),
    ({"hidden": ()}, "hidden"),
    ({"tau": 1.5}, "tau"),
    ({"method": "sac"}, "ddpg, td3"),
])
def test_config_errors(change, match):
    c = tiny_config("td3", **change)
    with pytest.raises(JaxmlError, match=match):
        ddpg.make_train(c)


def test_ddpg_method_refuses_td3_switches():
    c = tiny_config("ddpg", clipped_double_q=True)
    with pytest.raises(JaxmlError, match="plain DDPG"):
        ddpg.make_train(c)
    with pytest.raises(JaxmlError, match="ddpg, td3"):
        ddpg_defaults.default_config("sac")


# ----------------------------------------------------------------------------------- CLI


def test_cli_train_td3_pendulum_writes_result(tmp_path):
    args = ["--config.total_env_steps=400", "--config.eval_every=200", "--config.num_seeds=2",
            "--config.learning_starts=100", "--config.buffer_size=500", "--config.batch_size=16",
            "--config.hidden=(8,8)", "--config.eval_episodes=2", "--config.tensorboard=false"]
    out = subprocess.run(jaxml_cmd("train", "td3_pendulum", "--workdir", str(tmp_path), *args), cwd=REPO,
                         env=cli_env(1), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["env_steps"] == 400 and len(result["eval_return_per_seed"]) == 2
    assert all(np.isfinite(result["eval_return_per_seed"]))
    rows = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in rows if r["split"] == "train"]
    assert train and all(np.isfinite(r["critic_loss"]) and np.isfinite(r["actor_loss"]) for r in train)
