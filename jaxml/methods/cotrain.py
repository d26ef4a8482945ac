"""Co-training (Blum & Mitchell 1998) on two views of Fashion-MNIST images, against self-training on
one view with the same labels.

Views (`cotrain.views`, a name of `data.paired.VIEWS`): by default the left and the right half of each
image. Each seed draws `cotrain.labels_per_class` labelled images per class from a pool of the first
`cotrain.pool_size` training images; the rest of the pool is unlabelled.

- Co-training: one labelled set L shared by two classifiers, h1 on view 1 and h2 on view 2. Each
  round both are fitted on their view of L; then h1 labels, among the unlabelled images, the
  `cotrain.per_class` it is most confident of for every class it predicts (confidence = its top
  probability, at least `cotrain.threshold`), and h2 does the same among the images h1 did not take.
  Their labels join L (each image is labelled at most once, by one classifier), so each classifier
  learns from the other's confident predictions. The final prediction multiplies the two
  classifiers' class probabilities.
- Self-training, on view 1 and (separately) on view 2: one classifier adds its own 2 x `per_class`
  most confident images per class each round -- as many as co-training adds.

Every classifier (`config.model`, an MLP) is refitted from scratch each round: `cotrain.steps`
full-batch AdamW updates on the current labelled set, all seeds and learners (co-training's two,
self-training's two) in one `vmap`-ed program; the labelled sets are padded to one of `cotrain.buckets`
sizes (fewer programs to compile). After `cotrain.rounds` rounds the
final sets are fitted once more and scored on the first `cotrain.test_size` test images.

result.json (means over the seeds, `_std` their spread): `cotrain_accuracy` (the two views
combined), `cotrain_view1_accuracy`, `cotrain_view2_accuracy` (each co-trained classifier alone),
`self_view1_accuracy`, `self_view2_accuracy`, `self_combined_accuracy` (the two self-trained
classifiers' probabilities multiplied: an ensemble without the exchange),
`supervised_view{1,2}_accuracy` / `supervised_combined_accuracy` (the labelled images only, round 0),
`cotrain_gain` (co-training minus the better self-training), `cotrain_view_gain`
(mean over the two views of co-trained minus self-trained classifier on the same view),
`cotrain_pseudo_accuracy` / `self_pseudo_accuracy` (share of added labels that are right) and
`labelled_final` (labelled-set size after the last round). docs/references.md#multimodal-learning.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core import config as config_lib
from jaxml.core.registry import choose
from jaxml.data import paired
from jaxml.errors import JaxmlError
from jaxml.models.build import build_model

log = logging.getLogger("jaxml")


def check_cotrain_config(config: ml_collections.ConfigDict) -> None:
    c = config.cotrain
    choose(paired.VIEWS, str(c.views), "config.cotrain.views")
    for key in ("labels_per_class", "per_class", "rounds", "steps", "pool_size", "test_size", "buckets"):
        config_lib.check_int(c[key], f"config.cotrain.{key}")
    config_lib.check_int(config.seeds, "config.seeds")
    config_lib.check_number(c.threshold, "config.cotrain.threshold", lo=0.0, hi=1.0)
    config_lib.check_number(config.learning_rate, "config.learning_rate", lo=0.0)


# ------------------------------------------------------------------------------------------ selection

def select_confident(probs: np.ndarray, available: np.ndarray, per_class: int,
                     threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(indices, labels) of at most `per_class` available rows per predicted class, the most confident
    first (confidence = top probability, at least `threshold`; ties to the lower index)."""
    conf, pred = probs.max(axis=1), probs.argmax(axis=1)
    picked = []
    for c in range(probs.shape[1]):
        cand = np.flatnonzero(available & (pred == c) & (conf >= threshold))
        picked.append(cand[np.argsort(-conf[cand], kind="stable")[:per_class]])
    idx = np.concatenate(picked).astype(np.int64)
    return idx, pred[idx].astype(np.int32)


def cotrain_picks(probs_1: np.ndarray, probs_2: np.ndarray, available: np.ndarray, per_class: int,
                  threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """One co-training exchange: view 1's confident picks, then view 2's among the images view 1 left."""
    idx_1, y_1 = select_confident(probs_1, available, per_class, threshold)
    rest = available.copy()
    rest[idx_1] = False
    idx_2, y_2 = select_confident(probs_2, rest, per_class, threshold)
    return np.concatenate([idx_1, idx_2]), np.concatenate([y_1, y_2])


@dataclasses.dataclass
class LabelledSet:
    """Indices into the pool and their labels (given or predicted); `given` of them came labelled."""

    idx: np.ndarray
    labels: np.ndarray
    given: int

    def add(self, idx: np.ndarray, labels: np.ndarray) -> None:
        if np.intersect1d(self.idx, idx).size or len(np.unique(idx)) != len(idx):
            raise JaxmlError("an unlabelled image was labelled twice")  # cannot happen: picks are disjoint
        self.idx = np.concatenate([self.idx, idx])
        self.labels = np.concatenate([self.labels, labels])

    def available(self, n: int) -> np.ndarray:
        out = np.ones(n, bool)
        out[self.idx] = False
        return out


def initial_labels(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """`per_class` indices of each class, drawn by `rng`."""
    idx = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in np.unique(labels)]
    return np.sort(np.concatenate(idx))


# ----------------------------------------------------------------------------------------------- fits

def make_fit(model, steps: int, learning_rate: float, weight_decay: float) -> Callable:
    """fit(key, x [N, ...], idx [K], labels [K], weights [K]) -> params: `steps` full-batch AdamW
    updates on the weighted cross-entropy of the rows `idx` of `x` (weight 0 = padding)."""
    tx = optax.adamw(learning_rate, weight_decay=weight_decay)

    def fit(key, x, idx, labels, weights):
        xs = x[idx]
        params = model.init({"params": key}, xs[:1], train=False)["params"]

        def loss_fn(p):
            ce = optax.softmax_cross_entropy_with_integer_labels(model.apply({"params": p}, xs, train=False), labels)
            return jnp.sum(ce * weights) / jnp.maximum(jnp.sum(weights), 1.0)

        def step(carry, _):
            p, opt = carry
            grads = jax.grad(loss_fn)(p)
            updates, opt = tx.update(grads, opt, p)
            return (optax.apply_updates(p, updates), opt), None

        return jax.lax.scan(step, (params, tx.init(params)), None, length=steps)[0][0]

    return fit


def standardised_views(images: np.ndarray, view: Callable, stats: Sequence[tuple[float, float]] | None = None):
    """([2, N, ...] float32 views, per-view (mean, std)), standardised by `stats` (default their own)."""
    views = [np.asarray(v, np.float32) / 255.0 for v in view(images)]
    stats = stats or [(float(v.mean()), float(v.std() + 1e-6)) for v in views]
    return np.stack([(v - m) / s for v, (m, s) in zip(views, stats)]), stats


def padded(sets: Sequence[LabelledSet], capacity: int, buckets: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[F, K] indices, labels and weights of the sets, padded (weight 0) to the smallest of `buckets`
    equal steps up to `capacity` that holds the largest set (at most `buckets` program shapes)."""
    step = -(-capacity // buckets)
    k = min(-(-max(len(s.idx) for s in sets) // step) * step, step * buckets)
    idx, labels, weights = (np.zeros((len(sets), k), t) for t in (np.int32, np.int32, np.float32))
    for i, s in enumerate(sets):
        n = len(s.idx)
        idx[i, :n], labels[i, :n], weights[i, :n] = s.idx, s.labels, 1.0
    return idx, labels, weights


# ---------------------------------------------------------------------------------------------- train

def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    check_cotrain_config(config)
    c = config.cotrain
    data = paired.load_images(config.dataset, data_dir=config.data_dir or None, seed=int(config.data_seed))
    pool_y = np.asarray(data.train["label"][:int(c.pool_size)]).astype(np.int32)
    test_y = np.asarray(data.test["label"][:int(c.test_size)]).astype(np.int32)
    view = choose(paired.VIEWS, str(c.views), "config.cotrain.views")
    pool, stats = standardised_views(np.asarray(data.train["image"][:len(pool_y)]), view)
    test, _ = standardised_views(np.asarray(data.test["image"][:len(test_y)]), view, stats)
    n, num_classes, seeds = len(pool_y), data.num_classes, int(config.seeds)
    model = build_model(config, num_classes)
    fit = make_fit(model, int(c.steps), float(config.learning_rate), float(config.weight_decay))

    # learners: per seed (co-training view 1, co-training view 2, self-training view 1, self-training view 2)
    learner_view = np.tile(np.array([0, 1, 0, 1]), seeds)
    fit_all = jax.jit(jax.vmap(lambda key, v, idx, y, w, xs: fit(key, xs[v], idx, y, w),
                               in_axes=(0, 0, 0, 0, 0, None)))
    probs_all = jax.jit(jax.vmap(lambda p, v, xs: jax.nn.softmax(model.apply({"params": p}, xs[v], train=False)),
                                 in_axes=(0, 0, None)))
    pool_j, views_j = jnp.asarray(pool), jnp.asarray(learner_view)
    pool_and_test = jnp.concatenate([pool_j, jnp.asarray(test)], axis=1)  # one prediction program for both
    # the largest labelled set: the given labels and at most 2 x per_class per class each round
    capacity = int(c.labels_per_class) * num_classes + int(c.rounds) * 2 * int(c.per_class) * num_classes
    co_sets, self_sets = [], []
    for s in range(seeds):
        given = initial_labels(pool_y, int(c.labels_per_class), np.random.default_rng(int(config.seed) + s))
        co_sets.append(LabelledSet(given, pool_y[given], len(given)))
        self_sets.append([LabelledSet(given, pool_y[given], len(given)) for _ in range(2)])

    def learner_sets():
        return [x for s in range(seeds) for x in (co_sets[s], co_sets[s], *self_sets[s])]

    def fit_round(round_index: int):
        idx, y, w = padded(learner_sets(), capacity, int(c.buckets))
        keys = jax.random.split(jax.random.fold_in(jax.random.key(int(config.seed)), round_index), len(learner_view))
        return fit_all(keys, views_j, jnp.asarray(idx), jnp.asarray(y), jnp.asarray(w), pool_j)

    def predict(params) -> tuple[np.ndarray, np.ndarray]:
        """([seeds, 4, pool, C], [seeds, 4, test, C]) class probabilities of every learner."""
        p = np.asarray(probs_all(params, views_j, pool_and_test)).reshape(seeds, 4, -1, num_classes)
        return p[:, :, :n], p[:, :, n:]

    supervised = None
    for r in range(int(c.rounds)):
        probs, test_probs = predict(fit_round(r))
        if r == 0:
            supervised = test_probs
        for s in range(seeds):
            co = co_sets[s]
            co.add(*cotrain_picks(probs[s, 0], probs[s, 1], co.available(n), int(c.per_class), float(c.threshold)))
            for v in range(2):
                st = self_sets[s][v]
                st.add(*select_confident(probs[s, 2 + v], st.available(n), 2 * int(c.per_class), float(c.threshold)))
        log.info("round %d: labelled co-training %s, self-training %s", r + 1, [len(x.idx) for x in co_sets],
                 [[len(x.idx) for x in ss] for ss in self_sets])
    final = predict(fit_round(int(c.rounds)))[1]

    def acc(p: np.ndarray) -> np.ndarray:  # [seeds, N, C] -> [seeds]
        return np.mean(p.argmax(-1) == test_y[None], axis=1)

    def pseudo_accuracy(sets: Sequence[LabelledSet]) -> float:
        right = [np.mean(x.labels[x.given:] == pool_y[x.idx[x.given:]]) for x in sets if len(x.idx) > x.given]
        return float(np.mean(right)) if right else float("nan")

    per_seed = {
        "cotrain": acc(final[:, 0] * final[:, 1]),
        "cotrain_view1": acc(final[:, 0]), "cotrain_view2": acc(final[:, 1]),
        "self_view1": acc(final[:, 2]), "self_view2": acc(final[:, 3]),
        "self_combined": acc(final[:, 2] * final[:, 3]),
        "supervised_view1": acc(supervised[:, 0]), "supervised_view2": acc(supervised[:, 1]),
        "supervised_combined": acc(supervised[:, 0] * supervised[:, 1]),
    }
    result: dict[str, Any] = {}
    for k, v in per_seed.items():
        result[f"{k}_accuracy"], result[f"{k}_accuracy_std"] = float(v.mean()), float(v.std())
    result["cotrain_gain"] = result["cotrain_accuracy"] - max(result["self_view1_accuracy"],
                                                              result["self_view2_accuracy"])
    result["cotrain_view_gain"] = float(np.mean([result[f"cotrain_view{v}_accuracy"] - result[f"self_view{v}_accuracy"]
                                                 for v in (1, 2)]))
    result["cotrain_pseudo_accuracy"] = pseudo_accuracy(co_sets)
    result["self_pseudo_accuracy"] = pseudo_accuracy([x for ss in self_sets for x in ss])
    result["labelled_initial"] = int(c.labels_per_class) * num_classes
    result["labelled_final"] = float(np.mean([len(x.idx) for x in co_sets]))
    result["dataset_used"] = data.name
    return result
