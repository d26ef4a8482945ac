"""MovieLens ratings from TensorFlow Datasets as implicit feedback, for the recommendation methods on
machines with internet (docs/references.md#recommendation).

`load_movielens(name, min_rating)` reads a `movielens/<config>` ratings dataset (`RATINGS_CONFIGS`;
"100k-ratings" by default) through `tfds.data_source` (ArrayRecord random access; the movielens builder
needs no TensorFlow; TFDS downloads and prepares it the first time, where a network is there) and hands
its `user_id`, `movie_id`, `user_rating` and `timestamp` columns to `ratings_to_interactions`, which
builds the layout of data.implicit_feedback: a rating of at least `min_rating` stars is an interaction
(4 by default: "liked"; 0 keeps every rating), a user's repeated ratings of one movie count once (the
earliest), users and movies are numbered in sorted id order over the kept ratings, and each user's
movies are in time order (`position` 0 = first rated; ties by movie number), so both holdouts of
data.implicit_feedback.HOLDOUTS apply ("leave_last_out" then holds out each user's latest movie).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from jaxml.data.implicit_feedback import Interactions
from jaxml.data.tfds_source import _import_tfds
from jaxml.errors import JaxmlError

RATINGS_CONFIGS = ("100k-ratings", "1m-ratings", "20m-ratings", "25m-ratings", "latest-small-ratings")
COLUMNS = ("user_id", "movie_id", "user_rating", "timestamp")


class Feedback(NamedTuple):
    """The interactions and the dataset's ids of their users and items (`users[k]` is user k's id)."""
    interactions: Interactions
    user_ids: tuple[str, ...]
    item_ids: tuple[str, ...]


def text(value: Any) -> str:
    value = value.item() if isinstance(value, np.ndarray) else value
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def ratings_to_interactions(user_ids, movie_ids, ratings, timestamps, min_rating: float = 4.0) -> Feedback:
    """The implicit feedback of rating rows (the module docstring's rules); one JaxmlError when no
    rating reaches `min_rating`."""
    users = np.asarray([text(u) for u in user_ids], object)
    items = np.asarray([text(m) for m in movie_ids], object)
    ratings = np.asarray(ratings, np.float64).reshape(-1)
    times = np.asarray(timestamps, np.int64).reshape(-1)
    if not len(users) == len(items) == len(ratings) == len(times):
        raise JaxmlError(f"rating columns disagree in length: {len(users)} users, {len(items)} movies, "
                         f"{len(ratings)} ratings, {len(times)} timestamps")
    kept = ratings >= min_rating
    if not kept.any():
        raise JaxmlError(f"min_rating={min_rating}: none of the {len(ratings)} ratings reaches it; lower it "
                         "(0 keeps every rating)")
    user_names, u = np.unique(users[kept].astype(str), return_inverse=True)
    item_names, i = np.unique(items[kept].astype(str), return_inverse=True)
    t = times[kept]
    order = np.lexsort((i, t, u))                     # by user, then time, then movie
    u, i = u[order], i[order]
    _, first = np.unique(u.astype(np.int64) * len(item_names) + i, return_index=True)
    first = np.sort(first)                            # the earliest rating of each (user, movie)
    u, i = u[first], i[first]
    starts = np.searchsorted(u, np.arange(len(user_names)))
    position = np.arange(len(u)) - starts[u]
    interactions = Interactions(u.astype(np.int32), i.astype(np.int32), position.astype(np.int32),
                                len(user_names), len(item_names))
    return Feedback(interactions, tuple(user_names.tolist()), tuple(item_names.tolist()))


def read_columns(source: Any, size: int = 0) -> dict[str, list]:
    """COLUMNS of the first `size` records (all when 0) of a random-access source, one record at a time."""
    n = len(source) if size <= 0 else min(size, len(source))
    if n == 0:
        raise JaxmlError("the MovieLens source is empty")
    columns: dict[str, list] = {c: [] for c in COLUMNS}
    for k in range(n):
        example = source[k]
        missing = [c for c in COLUMNS if c not in example]
        if missing:
            raise JaxmlError(f"a MovieLens record lacks {', '.join(missing)}; it has {', '.join(sorted(example))}")
        for c in COLUMNS:
            columns[c].append(example[c])
    return columns


def load_movielens(name: str = "100k-ratings", min_rating: float = 4.0, *, size: int = 0,
                   data_dir: str | None = None) -> Feedback:
    """The implicit feedback of TFDS `movielens/<name>` (its one split, "train"; the first `size` ratings
    when `size` > 0)."""
    if name not in RATINGS_CONFIGS:
        raise JaxmlError(f"config.movielens.name={name!r} is not a MovieLens ratings dataset; choose one of "
                         f"{', '.join(RATINGS_CONFIGS)}")
    tfds = _import_tfds()
    import tensorflow_datasets.structured.movielens  # noqa: F401  registers the builder (no TensorFlow)

    try:
        source = tfds.data_source(f"movielens/{name}", split="train", data_dir=data_dir)
    except ModuleNotFoundError as e:
        raise JaxmlError(f"tfds movielens/{name} needs the package {e.name} to build the dataset "
                         f"(`pip install {e.name}`)") from e
    except Exception as e:  # a failed download or preparation: say what is needed, keep the cause chained
        raise JaxmlError(f"tfds movielens/{name} could not be read or prepared ({type(e).__name__}: {e}); the first "
                         "use downloads it (a network is needed once), later ones read it from data_dir "
                         "(default ~/tensorflow_datasets)") from e
    columns = read_columns(source, size)
    return ratings_to_interactions(*(columns[c] for c in COLUMNS), min_rating=min_rating)
