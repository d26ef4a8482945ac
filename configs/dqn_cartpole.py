"""DQN on gymnax CartPole-v1 in 200k env steps, 5 seeds vmapped: double-Q, 3-step returns, Polyak targets,
a learning rate annealed to 0.

The agent's defaults (`jaxml.defaults.rl.dqn`) are CleanRL's / PureJaxRL's CartPole values (10 envs,
buffer 10k, batch 128, lr 2.5e-4, epsilon 1.0 -> 0.05 over 250k steps, learning from 10k, hard target
copy every 500, 500k env steps; docs/references.md#reinforcement-learning), kept for like-for-like
benchmarks. This experiment changes them to solve sooner: 3-step returns, batch 64, Adam 1e-3 annealed
linearly to 0 over the run (which steadies the final policy), learning from 5k steps, epsilon over the
first 36k, a Polyak target (tau 0.02 every 10 env steps), 200k env steps, greedy evaluation every 20k.
Unlike PureJaxRL it bootstraps on `terminated` only and uses the true final observation at time-limit
truncations.

Command:   jaxml train dqn_cartpole
Expected:  greedy eval_return >= 475 (mean over seeds; the project target asks >= 475 of >= 4/5 seeds,
           after Gym's CartPole-v1 solved line 475: docs/references.md#project-targets).
Reference: CleanRL dqn_jax 498.4 +- 2.3 at 500k steps; PureJaxRL DQN 500
           (docs/references.md#reinforcement-learning).
Screened:  2026-12-04, the 2-core CPU, `--config.seed` 0-4 (5 vmapped seeds each; the annealing then
           through optax's linear_schedule): every seed >= 475 at 100k-160k env steps, final greedy
           478-500. Recorded on this code: 500.0 on 5/5 (RESULTS.md). With the PureJaxRL values the
           same agent solved at 400k-450k (BENCHMARKS.md, time to solve).
Hardware:  2-core CPU; RESULTS.md has the measured time.
"""

from jaxml.defaults.rl import dqn, runner

EXPECTED = {"metric": "eval_return", "at_least": 475,
            "reference": "CleanRL dqn_jax 498.4 ± 2.3 at 500k steps; PureJaxRL DQN 500"}
SUITES = ("full",)


def get_config():
    c = runner.with_runner_keys(dqn.default_config())
    c.method = "dqn"
    c.num_seeds = 5
    c.total_env_steps = 200_000
    c.learning_starts = 5_000
    c.eps_fraction = 0.18
    c.learning_rate = 1e-3
    c.anneal_lr = True
    c.batch_size = 64
    c.n_step = 3
    c.tau = 0.02
    c.target_update_every = 10
    c.eval_every = 20_000
    return c
