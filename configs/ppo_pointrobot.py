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
Measured:  recorded at 1,015,808 env steps (2026-12-02, idle 2-core CPU, 5 seeds, 32 s): greedy success
           0.42, 0.48, 0.44, 0.49 at 254k ... 1.02M. Longer runs through `jaxml train` (same day):
           4.06M env steps, 16 envs: 0.616, 0.652, 0.675, 0.668 at 1.02M ... 4.06M (120 s); 64 envs:
           0.491, 0.498, 0.594, 0.614 (116 s); 64 envs and 128-128: 0.465, 0.518, 0.598, 0.589 (184 s).
           This config runs the 16-env 4.06M setting; still short of 0.9 (it levels off near 0.67).
           Its greedy return (3.85 goal visits per episode) beats a hand-written full sweep's (3.0-3.6
           at success 1.0, scripts/pointrobot_sweep.py): without memory, covering less pays more
           (docs/rl.md).
Hardware:  2-core CPU.
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
    c.total_env_steps = 4_063_232      # 1984 iterations of 16 x 128
    c.eval_every = 1_015_808           # 496 iterations
    c.eval_episodes = 200
    return c
