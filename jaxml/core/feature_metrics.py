"""Sample-quality metrics on the features of a trained classifier: Fréchet distance (FID) and the
Inception Score, computed in float64 on the host.

Nothing here knows where the images come from (a generator, a decoder, real data with noise): a
`FeatureClassifier` maps images in [0, 1] to (penultimate features, class probabilities), and
`sample_quality` scores a set of images against reference feature statistics.

- FID (Heusel et al. 2017): the Fréchet distance between Gaussians fitted to the features of two
  image sets, ‖μ1 − μ2‖² + tr Σ1 + tr Σ2 − 2 tr (Σ1^½ Σ2 Σ1^½)^½;
- IS (Salimans et al. 2016): exp(E_x KL(p(y|x) ‖ p(y))), between 1 and the number of classes.
With a small locally trained classifier in place of Inception-v3 these are domain analogues, not
comparable to published numbers.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.core.steps import Normaliser


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (float64, unbiased) of features [N, D]."""
    f = np.asarray(features, np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _psd_sqrt(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """‖μ1 − μ2‖² + tr Σ1 + tr Σ2 − 2 tr (Σ1^½ Σ2 Σ1^½)^½, in float64 (symmetric eigendecompositions:
    tr (Σ1 Σ2)^½ equals the trace of the PSD square root of Σ1^½ Σ2 Σ1^½)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    r1 = _psd_sqrt(s1)
    inner = r1 @ s2 @ r1
    w = np.linalg.eigvalsh((inner + inner.T) / 2)
    tr_sqrt = np.sum(np.sqrt(np.clip(w, 0.0, None)))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)


def inception_score(probs: np.ndarray) -> float:
    """exp(mean_x KL(p(y|x) ‖ p(y))) in float64, p(y) the mean of p(y|x) over the samples."""
    p = np.asarray(probs, np.float64)
    p = p / p.sum(axis=1, keepdims=True)
    marginal = p.mean(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * (np.log(p) - np.log(marginal)), 0.0).sum(axis=1)
    return float(np.exp(kl.mean()))


@dataclasses.dataclass
class FeatureClassifier:
    """A trained classifier as a feature extractor: images in [0, 1] -> (post-ReLU activations of its
    last hidden Dense layer, softmax probabilities). `normaliser` standardises the [0, 1] inputs as in
    its training; `test_accuracy` is recorded beside the metrics it produces."""

    model: Any
    variables: Any
    normaliser: Normaliser
    test_accuracy: float

    def __post_init__(self):
        def apply(x):
            logits, inter = self.model.apply(self.variables, self.normaliser.standardise(x), train=False,
                                             capture_intermediates=True, mutable=["intermediates"])
            dense = sorted(k for k in inter["intermediates"] if k.startswith("Dense_"))
            hidden = inter["intermediates"][dense[-2]]["__call__"][0]  # last hidden Dense, pre-activation
            return jax.nn.relu(hidden), jax.nn.softmax(logits)

        self._apply = jax.jit(apply)

    def __call__(self, images01: np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        feats, probs = [], []
        for i in range(0, len(images01), batch_size):
            f, p = jax.device_get(self._apply(jnp.asarray(images01[i:i + batch_size], jnp.float32)))
            feats.append(f)
            probs.append(p)
        return np.concatenate(feats), np.concatenate(probs)


def sample_quality(fc: FeatureClassifier, images01: np.ndarray, reference: tuple[np.ndarray, np.ndarray],
                   labels: np.ndarray | None = None) -> dict[str, float]:
    """FID against `reference` (mean, cov), the IS and (with `labels`) `conditional_accuracy`: how
    often the classifier assigns an image the class it was generated for."""
    feats, probs = fc(images01)
    out = {"fid": frechet_distance(*feature_statistics(feats), *reference), "inception_score": inception_score(probs)}
    if labels is not None:
        out["conditional_accuracy"] = float(np.mean(probs.argmax(-1) == labels))
    return out
