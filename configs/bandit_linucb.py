"""Epsilon-greedy (epsilon 0.1), LinUCB (alpha 0.5) and linear Thompson sampling (v 0.1), each with
per-arm ridge regression (lambda 1), on a linear contextual bandit with 10 arms, 10-dimensional
contexts and reward noise 0.1, for 2000 rounds, vmapped over 10 seeds (each seed its own reward
parameters; every agent sees the same problems).

Command:   jaxml train bandit_linucb
Expected:  LinUCB's and Thompson sampling's cumulative regret grows sub-linearly
           (regret_exponent = log2(R(T) / R(T/2)) <= 0.8; epsilon-greedy keeps a linear term) and is below
           epsilon-greedy's (regret_vs_epsilon_greedy <= 0.5).
Reference: LinUCB (Li et al. 2010) and linear Thompson sampling (Agrawal & Goyal 2013), both with
           O~(d sqrt(T)) regret (docs/references.md#bandits-and-off-policy-evaluation).
Hardware:  2-core CPU, under a minute.
"""

from jaxml.defaults.bandits import bandit_config

EXPECTED = {"metric": "linucb_regret_exponent", "at_most": 0.8,
            "also": ({"metric": "thompson_regret_exponent", "at_most": 0.8},
                     {"metric": "linucb_regret_vs_epsilon_greedy", "at_most": 0.5},
                     {"metric": "thompson_regret_vs_epsilon_greedy", "at_most": 0.5}),
            "reference": "O~(d sqrt T) regret of LinUCB and linear Thompson sampling "
                         "(docs/references.md#bandits-and-off-policy-evaluation)"}
SUITES = ("quick", "full")


def get_config():
    return bandit_config()
