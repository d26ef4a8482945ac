"""BYOL on Fashion-MNIST: simclr_fashion's encoder, views, probes and controls, trained by BYOL instead.

The online network (encoder, projector 256-64, predictor 256-64) regresses the EMA target network's
projection of the other view (loss 2 − 2·cos, symmetrised); the target decays from τ_base = 0.99 to 1
on BYOL's cosine schedule. No negatives, so the loss does not need the global batch; batch 256, AdamW
2e-3, 1500 steps (each step also runs the target network, about 1.35x a SimCLR step).

Command:   jaxml train byol_fashion
Expected:  probe_linear_all >= 0.85; also gain_linear_all >= 0.10 over the randomly initialised
           encoder and beats_supervised > 0 with 10 labels per class.
Reference: Grill et al. 2020 (BYOL); docs/references.md#self-supervised-and-semi-supervised-learning.
           Random-init control measured here (2026-12-01): linear_all 0.7796.
Hardware:  2-core CPU; extrapolated from simclr_fashion's step rate, about the same time (15-20 min on
           two free cores, about 45 min on the shared machine) plus about 4 min of probes; needs Debian's
           dataset-fashion-mnist (or JAXML_DATA_DIR).
"""

from pathlib import Path

from jaxml.experiments import load_module

EXPECTED = {"metric": "probe_linear_all", "at_least": 0.85,
            "reference": "BYOL (Grill et al. 2020) linear evaluation; random-init encoder 0.7796 here"}
SUITES = ("full",)


def get_config():
    c = load_module(Path(__file__).with_name("simclr_fashion.py")).get_config()
    c.ssl.objective = "byol"
    c.ssl.ema_base = 0.99
    c.steps = 1500
    return c
