"""PPO with a diagonal Gaussian policy on gymnax Pendulum-v1 (continuous), 5 seeds vmapped.

16 envs x 256 steps per iteration, 10 epochs x 8 minibatches, Adam lr 1e-3 annealed to 0,
gamma 0.95, GAE lambda 0.95, clip 0.2, no entropy bonus, value 0.5, max grad norm 0.5, separate
64-64 tanh actor and critic, state-independent log-std (init 0), running observation
normalisation, rewards x 0.1, 1M env steps. Pendulum never terminates: every episode ends by the
200-step truncation, which bootstraps from the true final observation.

Command:   jaxml train ppo_pendulum
Expected:  greedy eval_return >= -200 (mean over 5 seeds).
Reference: gymnax-blines PPO -200.6 at 1M steps (docs/references.md#reinforcement-learning).
Hardware:  2-core CPU; RESULTS.md has the measured time. Tuning runs (same code and steps,
           `python` on the jaxml.rl.ppo API, 2026-11-22, CPU shared with other jobs, ~600 s each for
           5 seeds): gamma 0.95 gave greedy returns -152.8 / -103.3 / -223.2 / -170.1 / -135.8 (mean
           -157.0); gamma 0.9 gave mean -173.7.
"""

from jaxml.defaults.rl import ppo, runner

EXPECTED = {"metric": "eval_return", "at_least": -200,
            "reference": "gymnax-blines PPO -200.6 at 1M steps"}
SUITES = ("full",)


def get_config():
    c = runner.with_runner_keys(ppo.default_config())
    c.method = "ppo"
    c.env = "Pendulum-v1"
    c.num_envs = 16
    c.num_steps = 256
    c.update_epochs = 10
    c.num_minibatches = 8
    c.learning_rate = 1e-3
    c.gamma = 0.95
    c.ent_coef = 0.0
    c.normalize_obs = True
    c.reward_scale = 0.1
    c.num_seeds = 5
    c.eval_every = 143_360     # 35 iterations of 16 x 256 env steps
    c.total_env_steps = 1_003_520
    return c
