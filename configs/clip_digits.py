"""CLIP-style dual encoder on sklearn's 8x8 digits paired with generated captions: clip_fashion's
method on built-in data and smaller towers, for the quick suite.

CNN conv16-pool-conv32-pool-Dense 64 image tower, 1-layer character Transformer (width 32) text
tower, 32-dimensional joint space, learned temperature; 150 steps of 128 pairs (13 epochs of the 1437
training digits); retrieval on the first 300 test pairs.

Command:   jaxml train clip_digits   (in the quick suite: make demo)
Expected:  r1_over_chance >= 5 (the smaller of image->text and text->image Recall@1 is at least 5x
           chance, 1/300) and image->text Recall@10 >= 0.3 (10x its chance).
Reference: measured here (2026-12-01, 2-core CPU at load ~20): R@1 0.063 / 0.037 (i2t / t2i, 11x
           chance), R@10 0.40 / 0.40, median rank 15 of 300; zero-shot from the class prompts 0.47
           over 10 digits. Method: Radford et al. 2021, docs/references.md#multimodal-learning.
Hardware:  2-core CPU: 25 s of CPU time (109 s wall at load ~20), so under 30 s on two free cores.
"""

from jaxml.defaults.contrastive import base_config

EXPECTED = {"metric": "r1_over_chance", "at_least": 5.0,
            "also": ({"metric": "retrieval_i2t_r10", "at_least": 0.3},),
            "reference": "measured here: R@1 11x chance, R@10 0.40 on 300 test pairs (CLIP method, Radford et al. "
                         "2021)"}
SUITES = ("quick", "full")


def get_config():
    c = base_config()
    c.dataset = "digits"
    c.update(steps=150, batch_size=128, warmup_steps=15, eval_batch_size=300, checkpoint_every=150)
    c.retrieval.size = 300
    c.image_model.update(features=(16, 32), dense=(64,))
    c.text_model.update(num_layers=1, embed_dim=32, num_heads=2)
    c.clip.embed_dim = 32
    return c
