"""Neural-linear Thompson sampling (a 64-unit ReLU reward network refitted by 100 Adam steps, lr 0.003,
every 100 rounds; linear Thompson sampling on its hidden layer) against LinUCB and linear Thompson sampling on the
nonlinear contextual bandit (mean reward tanh(2 theta_a . x) + 0.5 cos(3 theta_a . x); 10 arms, d = 10,
noise 0.1), 5000 rounds, vmapped over 10 seeds; every agent on the same problems.

Command:   jaxml train bandit_neural
Expected:  neural_thompson_regret_vs_thompson <= 1.0 (the neural agent's cumulative regret below the
           linear Thompson agent's, whose linear model is misspecified here).
Reference: the neural-linear agent of Riquelme, Tucker & Snoek 2018, among the most robust agents of
           their "Deep Bayesian Bandits Showdown" (docs/references.md#bandits-and-off-policy-evaluation).
Hardware:  2-core CPU, a few minutes.
"""

from jaxml.defaults.bandits import bandit_config

EXPECTED = {"metric": "neural_thompson_regret_vs_thompson", "at_most": 1.0,
            "reference": "neural-linear Thompson sampling, Riquelme et al. 2018 "
                         "(docs/references.md#bandits-and-off-policy-evaluation)"}
SUITES = ("full",)


def get_config():
    c = bandit_config()
    c.reward_model = "nonlinear"
    c.horizon = 5000
    c.agents = ("linucb", "thompson", "neural_thompson")
    c.regret_baseline = "thompson"
    return c
