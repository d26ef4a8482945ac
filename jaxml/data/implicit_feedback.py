"""Implicit feedback (who interacted with what) generated from planted user and item factors with a
popularity skew, and its per-user holdout splits (docs/references.md#recommendation).

`planted_interactions` (deterministic from its seed, numpy `default_rng`): user factors u [U, d] and
item factors v [I, d] are standard normal; item popularity is Zipfian, pop_i proportional to
rank_i^-skew over a random ranking of the items; user u's affinity for item i is
logit_ui = u . v_i / (sqrt(d) temperature) + log pop_i. Each user draws n_u ~ U{min_items, ...,
max_items} distinct items without replacement with probabilities softmax(logit_u) (the Gumbel top-k
trick: the n_u largest logit_ui + Gumbel noise), in the order drawn -- a Plackett-Luce sequence, the
user's "time" order, more preferred items tending to come first.

Holdouts are values of `HOLDOUTS`, each (interactions, fraction, rng) -> a test mask over them:
"leave_last_out" holds out each user's last drawn item; "random" a `fraction` of each user's items
(at least one, and at least one left in training), chosen uniformly.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from jaxml.errors import JaxmlError


class Interactions(NamedTuple):
    """Interaction lists (user, item) [n] int32, each user's items in their drawn order."""
    users: np.ndarray
    items: np.ndarray
    position: np.ndarray  # [n] the item's place in its user's sequence (0 = first drawn)
    num_users: int
    num_items: int


class Split(NamedTuple):
    train: Interactions
    test: Interactions


def subset(x: Interactions, keep: np.ndarray) -> Interactions:
    return Interactions(x.users[keep], x.items[keep], x.position[keep], x.num_users, x.num_items)


def planted_interactions(num_users: int, num_items: int, dim: int, min_items: int, max_items: int,
                         popularity_skew: float, temperature: float, seed: int) -> Interactions:
    """The generated feedback of the module docstring."""
    if not 1 <= min_items <= max_items <= num_items:
        raise JaxmlError(f"need 1 <= min_items <= max_items <= num_items, got {min_items}, {max_items}, {num_items}")
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((num_users, dim))
    v = rng.standard_normal((num_items, dim))
    log_pop = -popularity_skew * np.log1p(rng.permutation(num_items))
    logits = u @ v.T / (np.sqrt(dim) * temperature) + log_pop[None]
    order = np.argsort(-(logits + rng.gumbel(size=logits.shape)), axis=1)[:, :max_items]
    counts = rng.integers(min_items, max_items + 1, num_users)
    position = np.broadcast_to(np.arange(max_items), order.shape)
    taken = position < counts[:, None]
    users = np.broadcast_to(np.arange(num_users)[:, None], order.shape)
    return Interactions(users[taken].astype(np.int32), order[taken].astype(np.int32),
                        position[taken].astype(np.int32), num_users, num_items)


def leave_last_out(x: Interactions, fraction: float, rng: np.random.Generator) -> np.ndarray:
    last = np.zeros(x.num_users, np.int64)
    np.maximum.at(last, x.users, x.position)
    return x.position == last[x.users]


def random_holdout(x: Interactions, fraction: float, rng: np.random.Generator) -> np.ndarray:
    counts = np.bincount(x.users, minlength=x.num_users)
    held = np.clip(np.round(fraction * counts), 1, np.maximum(counts - 1, 1)).astype(np.int64)
    rank = np.empty(len(x.users), np.int64)  # a random order within each user
    order = np.lexsort((rng.random(len(x.users)), x.users))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank[order] = np.arange(len(x.users)) - starts[x.users[order]]
    return rank < held[x.users]


HOLDOUTS: dict[str, Callable[[Interactions, float, np.random.Generator], np.ndarray]] = {
    "leave_last_out": leave_last_out, "random": random_holdout}


def holdout(x: Interactions, how: Callable, fraction: float, seed: int) -> Split:
    test = how(x, fraction, np.random.default_rng(seed))
    return Split(subset(x, ~test), subset(x, test))
