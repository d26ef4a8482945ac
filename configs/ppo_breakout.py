"""PPO on gymnax Breakout-MinAtar (10x10x4 binary observation, 3 actions), 5 seeds vmapped.

An MLP on the flattened observation (separate 256-256 relu actor and critic), 64 envs x 128 steps
per iteration, 4 epochs x 8 minibatches, Adam lr 5e-4 annealed to 0 over 10M env steps, gamma
0.99, GAE lambda 0.95, clip 0.2, entropy 0.01, value 0.5, max grad norm 0.5.

NOT trained to completion here. What was measured (2-core CPU, 2026-11-22, CPU shared with many
other jobs, load average ~20-40): the first 40 iterations (327,680 env steps) of this config, one
seed, with the 10M-step lr schedule, via `python` on the jaxml.rl.ppo API (init + train_chunk(40),
jitted): 686 s including compilation, i.e. ~480 env steps/s on that loaded CPU; the training return
rose 0.4 -> 6.5 (mean of the last finished episode over envs) and the greedy return after it was 6.6
(10 episodes). The full 10M-step, 5-seed run was not made; the target below is the issue's, unverified.

Command:   jaxml train ppo_breakout
Expected:  greedy eval_return >= 20 within 10M env steps (not verified here).
Reference: gymnax-blines PPO 22.9 at 9.9M steps (REFERENCES.md).
Hardware:  meant for an accelerator; on the 2-core CPU above a 10M-step run would take hours.
"""

from jaxml.rl import ppo, runner

EXPECTED = {"metric": "eval_return", "at_least": 20,
            "reference": "gymnax-blines PPO 22.9 at 9.9M steps"}
SUITES = ("full",)


def get_config():
    c = runner.with_runner_keys(ppo.default_config())
    c.method = "ppo"
    c.env = "Breakout-MinAtar"
    c.num_envs = 64
    c.num_steps = 128
    c.update_epochs = 4
    c.num_minibatches = 8
    c.learning_rate = 5e-4
    c.hidden = (256, 256)
    c.activation = "relu"
    c.num_seeds = 5
    c.seed_loop = True         # on a few-core CPU the 5 seeds run faster one after another than vmapped
    c.eval_every = 909_312     # 111 iterations of 64 x 128 env steps
    c.total_env_steps = 10_002_432
    return c
