"""MAML 5-way 1-shot on Fashion-MNIST classes held out of meta-training, beside a pretrained-then-fine-tuned
baseline. 5-shot: --config.shots=5.

Meta-train on classes 0-4 (T-shirt, trouser, pullover, dress, coat) of the train split, meta-test on
classes 5-9 (sandal, shirt, sneaker, bag, ankle boot) of the test split: 600 fixed episodes, 15 query
images per class. CNN conv16-pool-conv32-pool-dense5 (no BatchNorm); one inner SGD step of 0.4 in
training and 3 at test (the Omniglot recipe of Finn 2017); meta-batch 8 episodes (vmapped), Adam 1e-3, 300 meta-updates (CPU budget; far
fewer than the paper's 60k).
Baseline: the same CNN trained to classify classes 0-4 on the same episode stream, then per test episode
a zero-initialised head fine-tuned on the support set (100 SGD steps of 0.1, features frozen).

Command:   jaxml train maml_fashion
Expected:  test_accuracy (mean over 600 episodes, with ci95) above the baseline's (`maml_minus_baseline`
           > 0); measured: RESULTS.md / docs/results/maml_fashion.json.
Reference: Finn 2017, Omniglot 5-way 1-shot 98.7% (a different, easier dataset); no published number
           for this split.
Hardware:  2-core CPU shared with other jobs.
"""

from jaxml.defaults.maml import base_config

EXPECTED = {"metric": "maml_minus_baseline", "at_least": 0.0,
            "reference": "MAML should beat the fine-tuned pretrained baseline in 1-shot; Omniglot 5-way 1-shot 98.7% (Finn 2017)"}
SUITES = ("full",)


def get_config():
    c = base_config()
    c.dataset = "fashion_mnist"
    c.benchmark = "fashion"
    c.model = dict(name="cnn", features=(16, 32), dense=(), dropout=0.0, batch_norm=False,
                   conv_impl="auto", pool_impl="auto")
    c.ways = 5
    c.shots = 1
    c.queries = 15
    c.test_queries = 15
    c.test_tasks = 600
    c.inner_steps = 1
    c.inner_lr = 0.4
    c.eval_steps = 3
    c.baseline_steps = 100
    c.baseline_lr = 0.1
    c.compare = ("pretrained",)
    c.batch_size = 8
    c.eval_batch_size = 50
    c.steps = 300  # sized for a 2-core CPU shared with other jobs (about 1 meta-step/s measured there)
    c.log_every = 100
    c.eval_every = 300
    c.checkpoint_every = 300
    return c
