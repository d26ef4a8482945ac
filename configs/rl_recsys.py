"""PPO against LinUCB and linear Thompson sampling on the sequential recommender SeqRecsys-v0
(`jaxml/rl/envs_recsys.py`): sessions of 50 recommendations over 6 item categories to a user whose
boredom (per category) and satisfaction drift with what was recommended -- the more appealing
low-quality categories lower the engagement of every later recommendation -- so the myopic choice is
worse over a session than one that keeps the user satisfied. PPO (PureJaxRL's hyper-parameters, 16
envs x 64 steps, Adam 1e-3 annealed, 409,600 env steps; `jaxml.rl.runner`, unchanged) against the
bandits (per-arm ridge on the observation, learning online from the immediate rewards for 400
sessions, then greedy), the myopic oracle (argmax of the true immediate expected reward) and a uniform
random policy; every long-run return is the mean return of 1000 fresh sessions per seed, 5 seeds
vmapped.

Command:   jaxml reproduce --suite full --only rl_recsys   (or: jaxml train rl_recsys)
Expected:  rl_gain_over_linucb >= 0 and rl_gain_over_thompson >= 0 (PPO's long-run return above both
           bandits'), and linucb_vs_myopic >= 0.9 (the bandit has learned the immediate reward: its
           greedy return within 10 % of the myopic oracle's, so it is a fair bandit).
Reference: a recommender as an MDP (Shani, Heckerman & Brafman 2005) and a user whose state drifts
           with the recommendations, like RecSim's interest-evolution users (Ie et al. 2019), against
           LinUCB (Li et al. 2010) and linear Thompson sampling (Agrawal & Goyal 2013)
           (docs/references.md#bandits-and-off-policy-evaluation); the target is this project's.
Hardware:  2-core CPU, a few minutes.
"""

from jaxml.defaults.bandits import rl_recsys_config

EXPECTED = {"metric": "rl_gain_over_linucb", "at_least": 0.0,
            "also": ({"metric": "rl_gain_over_thompson", "at_least": 0.0},
                     {"metric": "linucb_vs_myopic", "at_least": 0.9}),
            "reference": "sequential recommendation as an MDP vs contextual bandits "
                         "(docs/references.md#bandits-and-off-policy-evaluation)"}
SUITES = ("full",)


def get_config():
    return rl_recsys_config()
