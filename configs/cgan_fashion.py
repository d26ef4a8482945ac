"""Class-conditional DCGAN (projection discriminator) on Fashion-MNIST, plus the few-label study:
a CNN trained on 100 labels per class with and without 500 cGAN samples per class.

Command:   jaxml train cgan_fashion
Expected:  conditional samples are classified as their conditioning class by the feature classifier
           >= 80% of the time (`conditional_accuracy`; a project target,
           docs/references.md#project-targets). The few-label study reports `fewshot_accuracy`,
           `fewshot_gan_accuracy`, `fewshot_gain` (no target; the cGAN saw all 60k labels, so this
           measures transfer from the generator, not a strict few-label setting).
Reference: Miyato & Koyama 2018 (projection discriminator); no comparable published number.
Hardware:  2-core CPU shared with other jobs; needs Debian's dataset-fashion-mnist (or JAXML_DATA_DIR).
"""

from jaxml.defaults.gan import base_config

EXPECTED = {"metric": "conditional_accuracy", "at_least": 0.8,
            "reference": "project target: conditional samples classified as their class >= 80%"}
SUITES = ("full",)


def get_config():
    c = base_config()
    c.dataset = "fashion_mnist"
    c.image_size = 28
    c.gan.loss = "ns"
    c.gan.conditional = True
    c.gan.gen_width = 32
    c.gan.disc_width = 32
    c.gan.ema_decay = 0.995
    c.fid.samples = 5000
    c.fid.classifier_steps = 1500
    c.augment_study.enabled = True
    c.augment_study.labels_per_class = 100
    c.augment_study.synthetic_per_class = 500
    c.augment_study.classifier_steps = 1000
    c.steps = 2500
    c.batch_size = 64
    c.eval_batch_size = 1000
    c.log_every = 100
    c.eval_every = 500
    return c
