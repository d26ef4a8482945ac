"""Knowledge distillation on Fashion-MNIST: a CNN teacher -> an MLP 784-64-10 student (fixed logits).

Command:   jaxml train distill_fashion
Expected:  gap_closed >= 0.4: the distilled students close at least 40% of the test-accuracy gap between
           the same student trained from scratch on labels and the teacher (3 seeds each, mean ± std).
Reference: Hinton et al. 2015, MNIST: teacher 67 test errors, student from scratch 146, distilled at
           T=20: 74 (91% of the gap closed; REFERENCES.md).
Hardware:  2-core CPU; needs Debian's dataset-fashion-mnist (or JAXML_DATA_DIR).
Status:    not yet reproduced with 3 seeds; every single-seed probe so far missed the 40% target.
           2026-11-22 (CPU shared): this config's CNN teacher (0.9005), 2000 steps: scratch 0.8751,
           distilled (fixed, T=4) 0.8652 at alpha=0.9, 0.8714 at alpha=0.5.
           2026-11-23 (CPU shared), teacher = a `jaxml train cnn_fashion` run (0.9307), fixed logits,
           alpha=0.9, seed 0, `--config.teacher_workdir=<that run> --config.seeds=1`:
             MLP 784-64-10,  10k steps, T=4:  scratch 0.8889, distilled 0.8877 (gap closed -0.03)
             MLP 784-256-10, 10k steps, T=4:  scratch 0.8979, distilled 0.9025 (0.14)
             MLP 784-256-10, 30k steps, T=20: scratch 0.8956, distilled 0.8990 (0.10; the scratch
               student's test loss rose 0.36 -> 0.73 while the distilled one's fell to 0.31)
             CNN conv16-conv32-dense64, 4000 steps, T=4: scratch 0.9177, distilled 0.9141 (-0.28)
             MLP 784-256-10, 10k steps, consistent teacher (scores the student's augmented batch),
               T=2, alpha=1, mixup 0.4, 1-px shifts: scratch (same augmentation) 0.8942, distilled 0.8940
           Distillation regularises (test loss) but moves accuracy by under half a point here; much
           longer consistent schedules (Beyer 2022 trains for thousands of epochs) and a smaller
           teacher/student capacity gap are the next things to try.
"""

from jaxml.methods.distill import base_config

EXPECTED = {"metric": "gap_closed", "at_least": 0.4,
            "reference": "Hinton 2015 MNIST: 146 -> 74 errors vs teacher 67 (91% of the gap closed)"}
SUITES = ("full",)


def get_config():
    c = base_config()
    c.dataset = "fashion_mnist"
    c.model = dict(name="mlp", hidden=(64,), dropout=0.0)
    c.learning_rate = 2e-3
    c.weight_decay = 1e-4
    c.warmup_steps = 100
    c.steps = 2000
    c.batch_size = 128
    c.eval_batch_size = 1000
    c.log_every = 100
    c.eval_every = 500
    c.checkpoint_every = 1000
    c.distill.mode = "fixed"
    c.distill.temperature = 4.0
    c.distill.alpha = 0.5
    c.seeds = 3
    t = c.teacher
    t.model = dict(name="cnn", features=(16, 32), dense=(128,), dropout=0.3, batch_norm=False)
    t.augment.shift = 0
    t.learning_rate = 2e-3
    t.weight_decay = 5e-4
    t.warmup_steps = 200
    t.steps = 2000
    t.batch_size = 128
    t.eval_batch_size = 1000
    t.log_every = 100
    t.eval_every = 1000
    t.checkpoint_every = 1000
    return c
