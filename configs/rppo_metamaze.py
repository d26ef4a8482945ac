"""Recurrent PPO (GRU actor-critic) on gymnax MetaMaze-misc, 5 seeds vmapped.

The task as in ppo_metamaze (a 9x9 maze through a 3x3 window, +10 per visit of a hidden goal, a
random restart in the same maze after each visit, 200 steps; docs/references.md#reinforcement-learning).
The GRU remembers where it has been and where the goal was; its hidden state is zeroed at each
episode start. Success: the goal reached at least once in a greedy episode (return > 0).

PPO's hyper-parameters as ppo_metamaze (PureJaxRL's: 4 epochs, clip 0.2, GAE lambda 0.95, entropy
0.01, Adam 2.5e-4 annealed) with PureJaxRL's recurrent layout: a 128-unit embedding, a GRU of 128,
128-unit actor and critic heads; 16 envs x 128 steps, 4 minibatches of 4 whole env sequences each
(truncated BPTT over the 128-step rollout); 409,600 env steps; 200 greedy episodes per seed.

Command:   jaxml reproduce --suite full --only rppo_metamaze   (or: jaxml train rppo_metamaze)
Expected:  eval_success_rate >= 0.125: above feed-forward PPO's best greedy success on this task
           (ppo_metamaze's one-seed run: 0.110, 0.125, 0.060, 0.070 at 102k ... 410k env steps).
Reference: ppo_metamaze (feed-forward PPO, same env steps); no published anchor.
Measured:  one seed through the jaxml.rl.rppo API (2026-12-01, 2-core CPU shared with other jobs,
           734 s, 150 s of it the first compile): greedy success 0.125, 0.120, 0.120, 0.130 at 102k,
           205k, 307k, 410k env steps (feed-forward PPO: 0.110, 0.125, 0.060, 0.070); training
           return of the sampling policy 7.5, 3.75, 6.9, 9.4 (feed-forward: 8.1, 5.6, 5.0, 3.1).
           The 5-seed row is not recorded yet.
Hardware:  2-core CPU shared with other jobs.
"""

from jaxml.defaults.rl import rppo, runner

EXPECTED = {"metric": "eval_success_rate", "at_least": 0.125,
            "reference": "feed-forward PPO (ppo_metamaze) best greedy success 0.125, one seed, same env steps"}
SUITES = ("full",)


def get_config():
    c = runner.with_runner_keys(rppo.default_config())
    c.method = "rppo"
    c.num_seeds = 5
    c.total_env_steps = 409_600
    c.eval_every = 102_400     # 50 iterations of 16 x 128 env steps
    c.eval_episodes = 200
    return c
