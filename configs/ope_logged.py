"""Off-policy evaluation of a softmax target policy (temperature 0.3 on the true expected reward) from
10 000 rounds logged by an unrelated softmax policy with known propensities (10 actions, 5-dimensional
contexts, Bernoulli rewards with a sigmoid-quadratic mean), in the Open Bandit Pipeline's layout
(context, action, reward, pscore); IPW, self-normalised IPW, the direct method and doubly robust, the
last two with a per-action linear ridge reward model (misspecified); 100 independent logged data sets
give each estimator's bias, std and RMSE against the target policy's true value.

Command:   jaxml train ope_logged
Expected:  dr_relative_rmse <= 0.05 and dr_abs_bias <= 0.005 (DR unbiased with the true propensities
           although its reward model is misspecified; the direct method's bias is that model's).
Reference: IPW (Horvitz & Thompson 1952), SNIPW (Swaminathan & Joachims 2015), DR (Dudik, Langford
           & Li 2011) and the Open Bandit Pipeline's data layout (Saito et al. 2021)
           (docs/references.md#bandits-and-off-policy-evaluation).
Hardware:  2-core CPU, under a minute.
"""

from jaxml.defaults.bandits import ope_config

EXPECTED = {"metric": "dr_relative_rmse", "at_most": 0.05,
            "also": ({"metric": "dr_abs_bias", "at_most": 0.005},),
            "reference": "doubly robust OPE with known propensities "
                         "(docs/references.md#bandits-and-off-policy-evaluation)"}
SUITES = ("full",)


def get_config():
    return ope_config()
