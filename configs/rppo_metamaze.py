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
Expected:  eval_success_rate >= 0.309: feed-forward PPO's recorded greedy success on this task
           (ppo_metamaze, 5 seeds, the same 410k env steps and time input).
Reference: ppo_metamaze (feed-forward PPO, same env steps); no published anchor.
Measured:  recorded (2026-12-02, idle 2-core CPU, 5 seeds, 218 s): greedy success 0.056, 0.106, 0.076,
           0.109 at 102k ... 410k env steps, below feed-forward PPO's 0.164 (ppo_metamaze, same
           budget): MISSED. At 1.23M env steps through `jaxml train` (same day, 758 s): 0.108, 0.126,
           0.138 at 410k, 819k, 1.23M, against feed-forward PPO's 0.157, 0.190, 0.236. The one-seed
           run of 2026-12-01 that ended above feed-forward (0.130 against 0.070) did not hold over 5 seeds.
Recorded:  Re-recorded 2026-12-03 (idle 2-core AMD EPYC, 588 s, with the sampling policy also
           evaluated): greedy 0.129 (missed; feed-forward 0.171), sampled 0.508 (feed-forward 0.509).
           Re-recorded 2026-12-04 (same VM, 223 s) with the time input scaled
           (`env_params.normalize_time`: -1 + t / 50 instead of the raw step t = 0..200, an input
           far larger than the others): greedy success 0.516 against feed-forward's 0.309 (MET), greedy
           return 15.28 against 8.30; the sampling policy's success 0.552 against feed-forward's 0.656.
Hardware:  2-core CPU.
"""

from jaxml.defaults.rl import rppo, runner

EXPECTED = {"metric": "eval_success_rate", "at_least": 0.309,
            "reference": "feed-forward PPO (ppo_metamaze) greedy success 0.309, 5 seeds, same env steps and time input"}
SUITES = ("full",)


def get_config():
    c = runner.with_runner_keys(rppo.default_config())
    c.method = "rppo"
    c.num_seeds = 5
    c.total_env_steps = 409_600
    c.eval_every = 102_400     # 50 iterations of 16 x 128 env steps
    c.eval_episodes = 200
    c.eval_sampled = True      # also the sampling policy's success (eval_sampled_success_rate)
    c.env_params = {"normalize_time": True}   # time input -1 + t / 50 (-1..3), not the raw step t = 0..200
    return c
