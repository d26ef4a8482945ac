"""Feed-forward PPO on gymnax MetaMaze-misc, 5 seeds vmapped: the memoryless comparison for
rppo_metamaze.

The task: a 9x9 maze seen through a 3x3 window (plus the last action, the last reward and the time,
scaled by gymnax's normalize_time to -1 + t / 50 here);
+10 each time the hidden goal is reached, after which the agent restarts at random in the same maze
with the same goal; 200 steps (docs/references.md#reinforcement-learning). Success: the goal reached
at least once in a greedy episode (return > 0). A memoryless greedy policy sees the same window in
many places, so it can walk in a loop.

PPO with PureJaxRL's hyper-parameters (4 epochs x 4 minibatches, clip 0.2, GAE lambda 0.95, entropy
0.01, Adam 2.5e-4 annealed, 64-64 tanh), 16 envs x 128 steps, 409,600 env steps, 200 greedy
episodes per seed.

Command:   jaxml reproduce --suite full --only ppo_metamaze   (or: jaxml train ppo_metamaze)
Expected:  eval_success_rate >= 0.05 (a floor: this row is the baseline rppo_metamaze must beat).
Reference: no published PPO number on MetaMaze-misc; the comparison is rppo_metamaze.
Measured:  recorded (2026-12-02, idle 2-core CPU, 5 seeds, 22 s): greedy success 0.090, 0.123, 0.143,
           0.164 at 102k ... 410k env steps. At 1.23M env steps through `jaxml train` (same day, 55 s):
           0.157, 0.190, 0.236 at 410k, 819k, 1.23M.
Recorded:  Re-recorded 2026-12-03 (idle 2-core AMD EPYC, 54 s) with the sampling policy also
           evaluated: greedy 0.171, sampled 0.509. Re-recorded 2026-12-04 (same VM, 26 s) with the
           time input scaled (`env_params.normalize_time`: -1 + t / 50, so -1..3; gymnax's MetaMaze
           otherwise feeds the raw step count t = 0..200 into the network): greedy 0.309, sampled 0.656.
Hardware:  2-core CPU.
"""

from jaxml.defaults.rl import ppo, runner

EXPECTED = {"metric": "eval_success_rate", "at_least": 0.05,
            "reference": "baseline for rppo_metamaze (no published anchor)"}
SUITES = ("full",)


def get_config():
    c = runner.with_runner_keys(ppo.default_config())
    c.method = "ppo"
    c.env = "MetaMaze-misc"
    c.num_seeds = 5
    c.num_envs = 16
    c.total_env_steps = 409_600
    c.eval_every = 102_400     # 50 iterations of 16 x 128 env steps
    c.eval_episodes = 200
    c.eval_sampled = True      # also the sampling policy's success (eval_sampled_success_rate)
    c.env_params = {"normalize_time": True}   # time input -1 + t / 50 (-1..3), not the raw step t = 0..200
    return c
