"""CLIP-style dual encoder on Fashion-MNIST paired with generated captions (class word or synonym,
the class's attribute description, brightness / size / texture read from the image, a colour only the
caption carries; 15% word dropout, 20% ambiguous and 10% wrong captions). CNN image tower and a
2-layer character Transformer text tower into 64 dimensions, symmetric InfoNCE with a learned
temperature, 1500 steps of 256 pairs.

Command:   jaxml train clip_fashion
Expected:  image->text and text->image Recall@1 >= 10x chance (0.01) and Recall@10 >= 0.5 on the first
           1000 test pairs (project targets, docs/references.md#multimodal-learning; r1_over_chance is the smaller
           direction's R@1 / chance).
Reference: the method of Radford et al. 2021 (docs/references.md#multimodal-learning); the numbers are
           measured here, docs/multimodal.md.
Hardware:  2-core CPU, not yet recorded: 400 steps took about 30 min on the contended machine (0.2-0.3
           steps/s at load ~9); on two free cores an estimated 15-25 min.
"""

from jaxml.defaults.contrastive import base_config

EXPECTED = {"metric": "r1_over_chance", "at_least": 10.0,
            "also": ({"metric": "retrieval_i2t_r10", "at_least": 0.5}, {"metric": "retrieval_t2i_r10", "at_least": 0.5}),
            "reference": "R@1 >= 10x chance, R@10 >= 0.5 on 1000 held-out pairs; CLIP, Radford et al. 2021 "
                         "(docs/references.md#multimodal-learning)"}
SUITES = ("full",)


def get_config():
    return base_config()
