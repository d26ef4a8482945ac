"""DCGAN (non-saturating loss, EMA generator) on sklearn's digits up-sampled to 16x16, 300 steps, scored
by the domain FID: dcgan_fashion on built-in data for the quick suite.

dcgan_fashion's GAN (widths 32, latent 64, Adam 2e-4 / beta1 0.5, EMA 0.995, batch 64) on the digits
(always present; Fashion-MNIST needs a Debian package) at 16x16, for 300 steps. The domain FID uses a
digits feature classifier (CNN, 300 steps, about 0.99 test accuracy) trained on the first run and
cached (`~/.cache/jaxml/features`); FID on 1000 samples of the EMA generator against the 360 test
images, before training and after.

Command:   jaxml train dcgan_digits   (in the quick suite: make demo)
Expected:  fid_ratio (fid_init / fid) >= 5: dcgan_fashion's project target, FID falls >= 5x from
           initialisation (docs/references.md#project-targets).
Reference: none comparable (the FID uses a local classifier, docs/references.md#generative-and-robust-models);
           real-data sanity in result.json (seed 1 run): fid_train_test 3.9, fid_noise_0.2 22.6, is_real 9.7.
Measured:  2026-12-01, 2-core CPU shared with other jobs, feature classifier trained in the run: recorded
           (`jaxml reproduce --suite quick --record --only dcgan_digits`, load ~7) seed 0 fid 549 -> 32.0
           (ratio 17.1), IS analogue 6.3, 66 s; at load ~10 seed 1 536 -> 36.0 (ratio 14.9), 82 s; seed 0
           with 500-sample FID ratio 16.0 (92 s). A cached classifier saves about 20 s.
Hardware:  2-core CPU, 1-1.5 minutes.
"""

from pathlib import Path

from jaxml.experiments import load_module

EXPECTED = {"metric": "fid_ratio", "at_least": 5.0,
            "reference": "project target (dcgan_fashion): FID falls >= 5x from initialisation"}
SUITES = ("quick", "full")


def get_config():
    c = load_module(Path(__file__).with_name("dcgan_fashion.py")).get_config()
    c.dataset = "digits"
    c.image_size = 16
    c.fid.samples = 1000
    c.fid.classifier_steps = 300
    c.steps = 300
    c.eval_batch_size = 120
    c.eval_every = 300
    return c
