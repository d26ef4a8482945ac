"""Knowledge distillation on Fashion-MNIST: a CNN teacher -> an MLP 784-64-10 student (fixed logits).

Command:   jaxml train distill_fashion
Expected:  gap_closed >= 0.4: the distilled students close at least 40% of the test-accuracy gap between
           the same student trained from scratch on labels and the teacher (3 seeds each, mean ± std).
Reference: Hinton et al. 2015, MNIST: teacher 67 test errors, student from scratch 146, distilled at
           T=20: 74 (91% of the gap closed; REFERENCES.md).
Hardware:  2-core CPU; needs Debian's dataset-fashion-mnist (or JAXML_DATA_DIR).
Status:    not yet reproduced with 3 seeds. Single-seed runs (seed 0, 2000 steps, 2-core CPU shared with
           other jobs, 2026-11-22) with this teacher (test accuracy 0.9005, trained by the teacher group's
           settings) missed the target: student from scratch 0.8751; distilled (fixed, T=4) 0.8652 at
           alpha=0.9 and 0.8714 at alpha=0.5 (`jaxml train distill_fashion --config.seeds=1
           --config.teacher_workdir=<teacher run> --config.distill.alpha=...`). The teacher is too close to
           the student; a stronger teacher (e.g. cnn_fashion, 0.93) is the next thing to try.
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
