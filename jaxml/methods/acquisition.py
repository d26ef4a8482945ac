"""Acquisition functions of pool-based active learning (docs/references.md#learning-from-few-labels):
which unlabelled pool points to label next.

Each is a value in `ACQUISITIONS`: `select(key, probs, features, labelled, batch) -> indices [batch]`
with probs [samples, n, classes] the model's predictive probabilities on the pool (samples > 1: MC
dropout, Gal et al. 2017; the others average them), features [n, d] the points the diversity strategy
measures distances on, labelled [n] bool. A labelled point is never selected.

- random: uniform among the unlabelled points.
- least_confidence: the largest 1 - max_c p(c).
- margin: the smallest p(top 1) - p(top 2).
- entropy: the largest predictive entropy H(p).
- bald: the largest mutual information between the label and the weights, H(mean_s p_s) - mean_s H(p_s)
  (Houlsby et al. 2011 / Gal et al. 2017; needs MC-dropout samples).
- kcenter: k-center greedy core-set (Sener & Savarese 2018): repeatedly the point farthest from the
  labelled and already chosen points.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from jaxml.classic.distances import sq_dists


class Acquisition(NamedTuple):
    select: Callable[..., jax.Array]
    mc_samples: bool  # whether it uses several MC-dropout samples of the predictions


def entropy(p: jax.Array) -> jax.Array:
    return -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0), axis=-1)


def least_confidence_score(key, probs):
    return 1.0 - jnp.max(jnp.mean(probs, 0), axis=-1)


def margin_score(key, probs):
    top2 = jax.lax.top_k(jnp.mean(probs, 0), 2)[0]
    return top2[:, 1] - top2[:, 0]  # higher = smaller margin


def entropy_score(key, probs):
    return entropy(jnp.mean(probs, 0))


def bald_score(key, probs):
    return entropy(jnp.mean(probs, 0)) - jnp.mean(entropy(probs), 0)


def random_score(key, probs):
    return jax.random.uniform(key, probs.shape[1:2])


def top_scores(score: Callable[[jax.Array, jax.Array], jax.Array]) -> Callable[..., jax.Array]:
    """select = the `batch` unlabelled points of the highest score (ties: the lower index)."""

    def select(key, probs, features, labelled, batch):
        s = jnp.where(labelled, -jnp.inf, score(key, probs))
        return jax.lax.top_k(s, batch)[1].astype(jnp.int32)

    return select


def kcenter_select(key, probs, features, labelled, batch):
    """k-center greedy: each pick the unlabelled point whose squared distance to its nearest labelled or
    already picked point is largest; then that distance is updated with the new centre."""
    d2 = sq_dists(features, features)
    nearest = jnp.min(jnp.where(labelled[None, :], d2, jnp.inf), axis=1)

    def pick(carry, _):
        nearest, taken = carry
        i = jnp.argmax(jnp.where(taken, -jnp.inf, nearest)).astype(jnp.int32)
        return (jnp.minimum(nearest, d2[i]), taken.at[i].set(True)), i

    _, chosen = jax.lax.scan(pick, (nearest, labelled), None, length=batch)
    return chosen


ACQUISITIONS: dict[str, Acquisition] = {
    "random": Acquisition(top_scores(random_score), False),
    "least_confidence": Acquisition(top_scores(least_confidence_score), False),
    "margin": Acquisition(top_scores(margin_score), False),
    "entropy": Acquisition(top_scores(entropy_score), False),
    "bald": Acquisition(top_scores(bald_score), True),
    "kcenter": Acquisition(kcenter_select, False),
}
