"""Scores of zero-shot classification: classes held out of training are recognised from a
description of them (an attribute signature, a text prompt), not from examples.

`scores` [N, C] are any per-class scores (DAP's attribute log-likelihoods, CLIP's prompt similarities).

- `accuracy_among(scores, labels, classes)`: accuracy of the argmax restricted to `classes`;
- `zero_shot_report(scores, labels, held_out)`: `unseen_accuracy` (held-out images among the held-out
  classes only: conventional zero-shot, chance 1 / len(held_out)) and generalised zero-shot (every
  test image among all classes, seen and unseen): `gzsl_seen` and `gzsl_unseen`, the accuracies on
  the seen and the unseen classes' images, and their harmonic mean `gzsl_h` = 2su / (s + u), which is
  high only when both are (docs/references.md#multimodal-learning).
"""

from __future__ import annotations

from typing import Sequence

import jax.numpy as jnp
import numpy as np


def accuracy_among(scores, labels, classes: Sequence[int]) -> float:
    """Share of rows whose best-scoring class among `classes` is their label."""
    classes = np.asarray(list(classes))
    if len(labels) == 0:
        return 0.0
    pred = classes[np.asarray(jnp.argmax(jnp.asarray(scores)[:, classes], axis=1))]
    return float(np.mean(pred == np.asarray(labels)))


def harmonic_mean(a: float, b: float) -> float:
    """2ab / (a + b); 0 when both are 0."""
    return 0.0 if a + b <= 0 else 2.0 * a * b / (a + b)


def zero_shot_report(scores, labels, held_out: Sequence[int]) -> dict[str, float]:
    """{unseen_accuracy, gzsl_seen, gzsl_unseen, gzsl_h} of per-class `scores` [N, C] for `labels` [N]."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    num_classes = scores.shape[1]
    unseen = np.isin(labels, np.asarray(list(held_out)))
    everything = range(num_classes)
    s = accuracy_among(scores[~unseen], labels[~unseen], everything)
    u = accuracy_among(scores[unseen], labels[unseen], everything)
    return {"unseen_accuracy": accuracy_among(scores[unseen], labels[unseen], held_out), "gzsl_seen": s,
            "gzsl_unseen": u, "gzsl_h": harmonic_mean(s, u)}
