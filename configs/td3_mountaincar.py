"""TD3 on gymnax MountainCarContinuous-v0 (999-step episodes, +100 at the goal, -0.1 a^2 per step;
terminates at the goal), 5 seeds vmapped. A hard-exploration task for Gaussian action noise.

Settings: the td3_pendulum recipe (MLP 64-64, Adam 1e-3, tau 0.005, batch 256) with exploration
noise 0.5 of the half action range (5x the Pendulum value), 5k uniform-random warm-up steps, 30k
env steps; see get_config.

Command:   jaxml reproduce --suite full --only td3_mountaincar   (or: jaxml train td3_mountaincar)
Expected:  greedy eval_return >= -1 (mean over 5 seeds): the policy learns to save energy, i.e.
           to stand still. It does NOT reach the goal with these settings (see Measured); a goal-
           reaching policy scores about +90, which would need better exploration (e.g. OU or
           larger/longer noise, more steps) than this config has.
Reference: TD3 with Gaussian noise commonly fails this task (a standing-still local optimum at
           about 0); goal-reaching policies score about 90-95.
Measured:  on 2026-11-23 (2-core CPU shared with many other jobs), through `jaxml.rl.runner.train`
           with exactly these settings (not yet recorded with `jaxml reproduce`): greedy
           eval_return -0.042 at 10k env steps and -0.057 at 30k, per seed
           [-0.089, -0.040, -0.043, -0.114, -0.0003]: no seed reached the goal (1176 s wall).
Hardware:  2-core CPU shared with other jobs.
"""

from jaxml.defaults.rl import ddpg, runner

EXPECTED = {"metric": "eval_return", "at_least": -1,
            "reference": "Gaussian-noise TD3 often stays at ~0 (stands still); goal-reaching policies ~90-95"}
SUITES = ("full",)


def get_config():
    c = runner.with_runner_keys(ddpg.default_config("td3"))
    c.method = "td3"
    c.env = "MountainCarContinuous-v0"
    c.num_seeds = 5
    c.hidden = (64, 64)
    c.exploration_noise = 0.5
    c.learning_starts = 5_000
    c.total_env_steps = 30_000
    c.eval_every = 10_000
    return c
