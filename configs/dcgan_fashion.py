"""DCGAN (non-saturating loss, EMA generator) on Fashion-MNIST 28x28, scored by the domain FID.

Command:   jaxml train dcgan_fashion
Expected:  domain FID falls >= 5x from initialisation (`fid_ratio` = fid_init / fid) within a 10-minute
           CPU run (a project target, docs/references.md#project-targets); the IS analogue rises. The
           feature classifier is trained once (1500 steps) and cached on the first run.
Reference: no paper FID is comparable (the metric uses a local classifier,
           docs/references.md#generative-and-robust-models); real-data sanity numbers are in
           result.json (fid_train_test, fid_noise_*, is_real, is_single_class).
Hardware:  2-core CPU shared with other jobs; needs Debian's dataset-fashion-mnist (or JAXML_DATA_DIR).
"""

from jaxml.defaults.gan import base_config

EXPECTED = {"metric": "fid_ratio", "at_least": 5.0, "max_wall_s": 600,
            "reference": "project target: FID falls >= 5x from init in a 10-minute CPU run"}
SUITES = ("full",)


def get_config():
    c = base_config()
    c.dataset = "fashion_mnist"
    c.image_size = 28
    c.gan.loss = "ns"
    c.gan.gen_width = 32
    c.gan.disc_width = 32
    c.gan.ema_decay = 0.995
    c.fid.samples = 5000
    c.fid.classifier_steps = 1500
    c.steps = 2500
    c.batch_size = 64
    c.eval_batch_size = 1000
    c.log_every = 100
    c.eval_every = 500
    return c
