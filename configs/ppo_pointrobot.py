"""PPO (Gaussian policy) on gymnax PointRobot-misc, 5 seeds vmapped.

The task: a point mass on the plane, pushed by a force of at most 0.1 per axis per step, must find a
goal it cannot see, on the unit circle; +1 for every step within 0.2 of the goal, after which the
robot restarts at random (100 steps; docs/references.md#reinforcement-learning). The observation
(position, last action, last reward, normalised time) lets a memoryless policy sweep the circle as a
function of time. Success: the goal reached at least once in a greedy episode (return > 0).

PPO (PureJaxRL's hyper-parameters: 4 epochs x 4 minibatches, clip 0.2, GAE lambda 0.95, entropy
0.01, lr annealed) with 16 envs x 128 steps, Adam 3e-4, log-std init -1 (std 0.37, the force range
is +-0.1 and the Gaussian is clipped to it), 64-64 tanh.

Command:   jaxml reproduce --suite full --only ppo_pointrobot   (or: jaxml train ppo_pointrobot)
Expected:  eval_success_rate >= 0.9 (seed mean of the fraction of greedy episodes reaching the goal).
Reference: no published PPO number on PointRobot-misc; the target is the one set for this task.
Measured:  one seed through the jaxml.rl.ppo API at 409,600 env steps (2026-12-01, 2-core CPU shared
           with other jobs, 374 s): greedy success 0.155, 0.635, 0.645, 0.580 at 102k, 205k, 307k, 410k
           env steps; short of 0.9 there (flat since 205k). This config runs 1M; not recorded yet.
Hardware:  2-core CPU shared with other jobs.
"""

from jaxml.defaults.rl import ppo, runner

EXPECTED = {"metric": "eval_success_rate", "at_least": 0.9,
            "reference": "the goal reached on >= 90 % of greedy episodes (project target; no published anchor)"}
SUITES = ("full",)


def get_config():
    c = runner.with_runner_keys(ppo.default_config())
    c.method = "ppo"
    c.env = "PointRobot-misc"
    c.num_seeds = 5
    c.num_envs = 16
    c.learning_rate = 3e-4
    c.log_std_init = -1.0
    c.total_env_steps = 1_015_808      # 496 iterations of 16 x 128
    c.eval_every = 253_952             # 124 iterations
    c.eval_episodes = 200
    return c
