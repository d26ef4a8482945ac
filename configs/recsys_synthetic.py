"""Top-20 recommendation from planted implicit feedback (2000 users, 1000 items, 16 planted factors,
affinity temperature 0.35, Zipfian item popularity with exponent 0.7; each user 10 to 40 items drawn
by softmax affinity), a random 20 % of each user's items held out; popularity, BPR-MF, the two-tower
model with in-batch sampled softmax without and with the log-Q correction, and implicit ALS
(conjugate gradient), every model's training items masked from its top 20; 3 seeds.

Command:   jaxml train recsys_synthetic
Expected:  two-tower (log-Q corrected) and BPR-MF above popularity on Recall@20 and NDCG@20 by a clear
           margin (each ratio to popularity >= 1.5); the log-Q correction's effect (logq_effect_*) and ALS
           reported beside them.
Reference: BPR (Rendle et al. 2009), implicit ALS (Hu, Koren & Volinsky 2008), sampled softmax with
           the log-Q correction (Yi et al. 2019) (docs/references.md#recommendation); the margin target
           is this project's.
Hardware:  2-core CPU, 103 s recorded on the shared VM.
"""

from jaxml.defaults.recsys import recsys_config

EXPECTED = {"metric": "two_tower_logq_recall_at_20_vs_popularity", "at_least": 1.5,
            "also": ({"metric": "two_tower_logq_ndcg_at_20_vs_popularity", "at_least": 1.5},
                     {"metric": "bpr_mf_recall_at_20_vs_popularity", "at_least": 1.5},
                     {"metric": "bpr_mf_ndcg_at_20_vs_popularity", "at_least": 1.5}),
            "reference": "personalised retrieval beats the popularity baseline "
                         "(docs/references.md#recommendation)"}
SUITES = ("full",)


def get_config():
    return recsys_config()
