"""CLIP-style dual encoder on Fashion-MNIST paired with generated captions (class word or synonym,
the class's attribute description, brightness / size / texture and the ink's height / width
(`captions.extent`) read from the image, a colour only the caption carries; 15% word dropout, 20%
ambiguous and 10% wrong captions). CNN image tower and a
2-layer character Transformer text tower into 64 dimensions, symmetric InfoNCE with a learned
temperature, 1500 steps of 256 pairs.

Command:   jaxml train clip_fashion
Expected:  image->text and text->image Recall@1 >= 10x chance (0.01) and Recall@10 >= 0.5 on the first
           1000 test pairs (project targets, docs/references.md#multimodal-learning; r1_over_chance is the smaller
           direction's R@1 / chance).
Reference: the method of Radford et al. 2021 (docs/references.md#multimodal-learning); the numbers are
           measured here, docs/multimodal.md.
Measured:  `jaxml reproduce --record --suite full --only clip_fashion` (2026-12-02, 1216 s, with the extent
           words): R@1 0.127 / 0.128 (127x chance, met), R@10 0.574 / 0.585 (met), zero-shot accuracy
           0.268 (the class prompts have no extent words). Without them (2026-12-01): R@10 0.467 / 0.454,
           missed (docs/multimodal.md).
Hardware:  2-core CPU, about 20 minutes.
"""

from jaxml.defaults.contrastive import base_config

EXPECTED = {"metric": "r1_over_chance", "at_least": 10.0,
            "also": ({"metric": "retrieval_i2t_r10", "at_least": 0.5}, {"metric": "retrieval_t2i_r10", "at_least": 0.5}),
            "reference": "R@1 >= 10x chance, R@10 >= 0.5 on 1000 held-out pairs; CLIP, Radford et al. 2021 "
                         "(docs/references.md#multimodal-learning)"}
SUITES = ("full",)


def get_config():
    c = base_config()
    c.captions.extent = True  # height / width words of the ink's bounding box in every caption
    c.captions.max_len = 104
    return c
