"""MAML (Finn 2017) on sinusoid regression, second-order, beside first-order MAML and a pretrained baseline.

Tasks y = A sin(x - phi), A ~ U[0.1, 5], phi ~ U[0, pi], x ~ U[-5, 5]; MLP 1-40-40-1 (ReLU); one inner SGD
step of alpha = 0.01 on K = 10 points; meta-batch 25 tasks (vmapped); Adam 1e-3. Evaluated on 500 fixed
test tasks (K = 10 support points, 100 query points) after 0..10 SGD steps of alpha = 0.01. The
pretrained baseline regresses the same task stream without adaptation and is fine-tuned the same way.
K = 5: add --config.shots=5 --config.queries=5.

Command:   jaxml train maml_sinusoid
Expected:  mse_1step <= 0.6 and mse_10step <= 0.3 (K = 10); the baseline >= 1.5 at every step count
           (`baseline_mse` is its lowest over 0..10 steps). Measured: RESULTS.md / docs/maml.md.
Reference: Finn 2017 Fig. 3 (read from the figure, K = 5: about 0.6-0.7 after 1 step, 0.3-0.4 after 10;
           pretrained about 2.2).
Hardware:  2-core CPU shared with other jobs.
"""

from jaxml.defaults.maml import base_config

EXPECTED = {"metric": "mse_1step", "at_most": 0.6,
            "reference": "Finn 2017 Fig. 3 (K=5): ~0.6-0.7 after 1 step, ~0.3-0.4 after 10; pretrained ~2.2"}
SUITES = ("full",)


def get_config():
    c = base_config()
    c.benchmark = "sinusoid"
    c.shots = 10
    c.queries = 10
    c.steps = 40000
    c.log_every = 1000
    c.eval_every = 10000
    c.checkpoint_every = 10000
    return c
