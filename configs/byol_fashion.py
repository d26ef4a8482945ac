"""BYOL on Fashion-MNIST: simclr_fashion's encoder, views, probes and controls, trained by BYOL instead.

The online network (encoder, projector 256-64, predictor 256-64) regresses the EMA target network's
projection of the other view (loss 2 − 2·cos, symmetrised); the target decays from τ_base = 0.99 to 1
on BYOL's cosine schedule. No negatives, so the loss does not need the global batch; batch 256, AdamW
2e-3, 1800 steps (each step also runs the target network: in the former rows a BYOL step cost about
1.7x a SimCLR step, so 1800 steps take about as long as simclr_fashion's 3000).

Command:   jaxml train byol_fashion
Expected:  probe_linear_all >= 0.85; also gain_linear_all >= 0.10 over the randomly initialised
           encoder and beats_supervised > 0 with 10 labels per class.
Reference: Grill et al. 2020 (BYOL); docs/references.md#self-supervised-and-semi-supervised-learning.
           Screening on 10k validation images (`--config.probe.validation=10000`), 400 steps
           (2026-12-02; docs/few_labels.md): linear_all 0.8308 vs 0.8216 at random initialisation;
           10-per-class probe 0.6665 vs the supervised control's 0.7167 on this encoder.
Hardware:  2-core CPU; estimated from simclr_fashion's step rate, about 15 min of training plus about
           2 min of probes on two free cores (not yet measured at full length); needs Debian's
           dataset-fashion-mnist (or JAXML_DATA_DIR).
"""

from pathlib import Path

from jaxml.experiments import load_module

EXPECTED = {"metric": "probe_linear_all", "at_least": 0.85,
            "reference": "BYOL (Grill et al. 2020) linear evaluation; random-init control: random_linear_all"}
SUITES = ("full",)


def get_config():
    c = load_module(Path(__file__).with_name("simclr_fashion.py")).get_config()
    c.ssl.objective = "byol"
    c.ssl.ema_base = 0.99
    c.steps = 1800
    return c
