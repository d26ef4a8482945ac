"""DQN with proportional prioritised replay on gymnax CartPole-v1, 5 seeds vmapped.

The agent's defaults (CleanRL's / PureJaxRL's hyper-parameters, double-Q, hard target copy every 500
steps, 500k env steps; what `dqn_cartpole` ran before it had its own faster schedule) plus PER: alpha
0.6, beta annealed 0.4 -> 1.0 over the run, importance weights normalised by the max weight, new items
at max priority, priorities |td| + 1e-6.

Command:   jaxml train dqn_per_cartpole
Expected:  at least as sample-efficient as the same defaults without PER: eval_auc (mean over the 10
           evaluations of the seed-mean greedy return) against their 416.3 (`jaxml train dqn_cartpole`
           with these defaults, 2026-11-22, 2-core CPU), reported either way.
Reference: Schaul et al. 2016 (PER) reports faster learning on Atari; no anchor publishes CartPole.
Hardware:  2-core CPU; RESULTS.md has the measured time.
"""

from jaxml.defaults.rl import dqn, runner

EXPECTED = {"metric": "eval_return", "at_least": 475,
            "reference": "compare eval_auc with the defaults without PER (416.3)"}
SUITES = ("full",)


def get_config():
    c = runner.with_runner_keys(dqn.default_config())
    c.method = "dqn"
    c.per = True
    c.num_seeds = 5
    c.eval_every = 50_000
    return c
