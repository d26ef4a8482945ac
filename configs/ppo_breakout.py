"""PPO on gymnax Breakout-MinAtar (10x10x4 binary observation, 3 actions), 5 seeds run in turn.

gymnax-blines' PPO settings for this task (docs/references.md#reinforcement-learning): an MLP on the
flattened observation (separate 256-256 relu actor and critic), 64 envs x 128 steps per iteration,
4 epochs x 8 minibatches, Adam 5e-4 held constant (gymnax-blines warms it up over the first 5%; not
done here), gamma 0.999, GAE lambda 0.95, clip 0.2, entropy 0.01, value 0.5, max grad norm 0.5.
gymnax-blines' 22.9 is the return of its sampling policy (its evaluation draws every action from the
policy), so the row's metric is `eval_sampled_return_mean`; the greedy return is reported beside it.

Recorded 2026-12-04 (`jaxml reproduce --record --suite full --only ppo_breakout`, the idle 2-core AMD
EPYC VM, 1685 s): sampled-policy return **33.42** (10 episodes per seed), greedy **38.10 ± 13.96**, per
seed 28.8, 60.5, 24.6, 28.2, 48.4 (all 5 seeds >= 22.9): MET. Seed-mean greedy return by 0.9M-step
evaluation: 11.4, 14.6, 18.9, 21.9, 24.4, 24.8, 25.5, 27.2, 27.4, 33.4, 38.1 (still rising at 10M).
Before (2026-11-23, gamma 0.99 and the learning rate annealed to 0, otherwise the same): greedy
19.12 ± 3.93 at 10M (per seed 17.2, 23.0, 13.6, 24.2, 17.6), 12.9 at 2.7M where this run had 18.9;
two seeds sat at exactly 7.0 until 4.5M. The two settings changed together; not separated.
Speed: one seed runs about 19-31k env steps/s through an unbatched program on this CPU, 5 seeds vmapped
about 16k in total, so `seed_loop = True` runs the seeds in turn (runner.seeds_in_turn).

Command:   jaxml train ppo_breakout
Expected:  sampled-policy eval return >= 22.9 within 10M env steps (measured 33.42: met).
Reference: gymnax-blines PPO 22.9 at 9.9M steps (docs/references.md#reinforcement-learning).
Hardware:  about half an hour on the 2-core CPU (5 seeds x 10M env steps).
"""

from jaxml.defaults.rl import ppo, runner

EXPECTED = {"metric": "eval_sampled_return_mean", "at_least": 22.9,
            "reference": "gymnax-blines PPO 22.9 at 9.9M steps (the return of its sampling policy)"}
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
    c.anneal_lr = False        # gymnax-blines: a constant 5e-4 (after a 5% warm-up, not done here)
    c.gamma = 0.999            # gymnax-blines' discount for MinAtar
    c.hidden = (256, 256)
    c.activation = "relu"
    c.num_seeds = 5
    c.seed_loop = True         # on a few-core CPU the 5 seeds run faster one after another than vmapped
    c.eval_every = 909_312     # 111 iterations of 64 x 128 env steps
    c.eval_sampled = True      # gymnax-blines evaluates its sampling policy: eval_sampled_return_mean
    c.total_env_steps = 10_002_432
    return c
