"""Image + text fusion on Fashion-MNIST paired with generated captions. The fused label is the class
(from the image; the caption names it only when it is faithful: 20% ambiguous, 10% wrong, 15% of class
words dropped) times a colour that only the caption carries (the images are grey): 20 classes, so
neither modality alone suffices. Single-modality baselines (image, caption) and four fusions (early,
late with mean / learned weights, attention from caption tokens to image patches), each fusion with
and without modality dropout 0.5; 3 seeds vmapped per strategy; 200 steps of 64 on the first 20000
training pairs; scored on the first 2000 test pairs with both modalities, without the caption and
without the image.

Command:   jaxml train fusion_fashion
Expected:  every fusion beats the better single-modality model by >= 3 points (fusion_margin_min >=
           0.03), and with one modality dropped at test time every modality-dropout fusion loses less
           than the same fusion trained without it (dropout_advantage_min >= 0, over the fusions and
           both dropped modalities); project targets, docs/references.md#multimodal-learning.
Reference: fusion taxonomy of Baltrusaitis et al. 2019, modality dropout after Neverova et al. 2016
           (docs/references.md#multimodal-learning); measured here, docs/multimodal.md.
Recorded:  (`jaxml reproduce --suite full --only fusion_fashion`, 2026-12-01, 2-core CPU, 400 s) image
           only 0.408, caption only 0.809; early 0.906, late mean 0.912, late learned 0.913, attention
           0.858 (fusion_margin_min 0.049); dropout_advantage_min 0.021 (table in docs/multimodal.md).
Hardware:  2-core CPU, about 7 minutes on the shared VM.
"""

from jaxml.defaults.fusion import base_config

EXPECTED = {"metric": "fusion_margin_min", "at_least": 0.03,
            "also": ({"metric": "dropout_advantage_min", "at_least": 0.0},),
            "reference": "fusion >= 3 points over each single modality; modality dropout loses less with a "
                         "modality missing (Baltrusaitis et al. 2019, Neverova et al. 2016; "
                         "docs/references.md#multimodal-learning)"}
SUITES = ("full",)


def get_config():
    return base_config()
