"""Discrete SAC (categorical policy, twin critics with one value per action, learned temperature) on
gymnax CartPole-v1, 5 seeds vmapped.

Every expectation over the policy is an exact sum over the two actions (Christodoulou 2019,
docs/references.md#reinforcement-learning). Target entropy 0.5 * log 2 (`target_entropy_scale`
0.5: half the uniform policy's entropy; the paper's 0.98 keeps the policy near uniform on a
two-action task), Adam 3e-4 for actor, critics and temperature, batch 128, MLP 64-64, tau 0.005,
one env, one update per env step, learning from 1k env steps, 150k env steps, buffer 100k. Unlike PureJaxRL-style
CartPole agents it bootstraps time-limit truncations from the true final observation.

Command:   jaxml reproduce --suite full --only sac_cartpole   (or: jaxml train sac_cartpole)
Expected:  greedy eval_return >= 475 (mean over 5 seeds), Gym's CartPole-v1 "solved" line.
Reference: CartPole-v1's 475 (docs/references.md#reinforcement-learning); dqn_cartpole here: 500.0 at 500k.
Measured:  at 50k env steps (recorded 2026-12-02, idle 2-core CPU, 5 seeds, 112 s): greedy 256, 237, 233,
           226, 281 at 10k ... 50k: missed. Target entropy 0.2 log 2 with initial temperature 0.1, or
           0.1 log 2 with 0.05 and temperature lr 1e-3, changed nothing (231, 220 at 50k). At 150k
           env steps (`jaxml train`, same day, 173 s): 222, 378, 500, 500, 500 at 30k ... 150k, every
           seed 500 from 90k on. This config runs 150k.
Hardware:  2-core CPU.
"""

from jaxml.defaults.rl import runner, sac

EXPECTED = {"metric": "eval_return", "at_least": 475,
            "reference": "CartPole-v1 solved at 475 (Gym); dqn_cartpole 500.0 at 500k"}
SUITES = ("full",)


def get_config():
    c = runner.with_runner_keys(sac.default_config())
    c.method = "sac"
    c.env = "CartPole-v1"
    c.num_seeds = 5
    c.hidden = (64, 64)
    c.actor_lr = 3e-4
    c.critic_lr = 3e-4
    c.alpha_lr = 3e-4
    c.batch_size = 128
    c.target_entropy_scale = 0.5
    c.learning_starts = 1_000
    c.total_env_steps = 150_000
    c.eval_every = 30_000
    c.buffer_size = 100_000
    return c
