"""Co-training (Blum & Mitchell 1998) on Fashion-MNIST with the left and the right half of each image
as the two views, against self-training on one view with the same labels: 100 labels (10 per class,
3 seeds) in a pool of 10000 training images, 10 rounds; each co-training classifier adds its 10 most
confident pool images per class (probability >= 0.6) for both, each self-training classifier its own
20; one-hidden-layer MLPs (128 units) refitted each round, full-batch AdamW.

Command:   jaxml train cotrain_fashion
Expected:  co-training (the two views' probabilities multiplied) beats the better single-view
           self-training at the same 100 labels: cotrain_gain >= 0 (the project's multimodal issue asks
           for the comparison either way; the per-view comparison is cotrain_view_gain).
Reference: Blum & Mitchell 1998; self-training after Yarowsky 1995 (docs/references.md#multimodal-learning);
           measured here, docs/multimodal.md.
Hardware:  2-core CPU: see docs/multimodal.md for the recorded wall time.
"""

from jaxml.defaults.cotrain import base_config

EXPECTED = {"metric": "cotrain_gain", "at_least": 0.0,
            "reference": "co-training vs single-view self-training at the same labels (Blum & Mitchell 1998; "
                         "docs/references.md#multimodal-learning)"}
SUITES = ("full",)


def get_config():
    return base_config()
