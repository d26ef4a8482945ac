"""Attribute-based zero-shot learning (DAP) on sklearn's 8x8 digits: an MLP learns the 11 attributes of
the digits (seven segments, closed loop, vertical / diagonal stroke, curved) from the images of 7
seen classes; the 3 held-out classes are recognised from their attribute signatures alone.
Averaged over 5 splits of held-out classes drawn by the seed.

Command:   jaxml train zeroshot_digits
Expected:  unseen_accuracy >= 0.667: twice chance (1/3) among the 3 held-out classes, mean of 5 splits
           (project target, docs/references.md#multimodal-learning, chance doubled as in docs/multimodal.md).
Reference: the method of Lampert et al. 2009 (docs/references.md#multimodal-learning). Measured here
           (2026-12-01): 0.414 (0.324-0.578 by split), a miss; GZSL seen 0.959, unseen 0.026, H 0.050
           (docs/multimodal.md).
Hardware:  2-core CPU, 34 s wall at load ~20 (the fit of the 5 splits at once, vmapped, is seconds).
"""

from jaxml.defaults.zeroshot import base_config

EXPECTED = {"metric": "unseen_accuracy", "at_least": 0.667,
            "reference": "2x chance among 3 held-out digits; DAP, Lampert et al. 2009 "
                         "(docs/references.md#multimodal-learning)"}
SUITES = ("full",)


def get_config():
    return base_config()
