"""MovieLens through TFDS (`jaxml/data/tfds_movielens.py`): the ratings -> implicit-feedback conversion on
hand-made rows, `movielens/100k-ratings` read through tfds.data_source under tfds.testing.mock_data (no
TensorFlow, nothing downloaded), and one clear JaxmlError for each mistake."""

from __future__ import annotations

import numpy as np
import pytest

from jaxml.data import implicit_feedback, tfds_movielens
from jaxml.errors import JaxmlError


def test_ratings_become_time_ordered_implicit_feedback():
    #        user   movie  stars  time
    rows = [("u2", "m9", 5.0, 30), ("u1", "m3", 4.0, 20), ("u1", "m1", 2.0, 5), ("u2", "m3", 4.5, 10),
            ("u1", "m9", 5.0, 10), ("u1", "m3", 5.0, 40), (b"u3", b"m1", 1.0, 1)]
    fb = tfds_movielens.ratings_to_interactions(*zip(*rows), min_rating=4.0)
    x = fb.interactions
    assert fb.user_ids == ("u1", "u2") and fb.item_ids == ("m3", "m9")  # u3 and m1 have no rating >= 4
    assert (x.num_users, x.num_items) == (2, 2)
    got = [(fb.user_ids[u], fb.item_ids[i], p) for u, i, p in zip(x.users, x.items, x.position)]
    # u1: m9 at t=10, m3 at t=20 (its second rating at t=40 counts once); u2: m3 at t=10, m9 at t=30
    assert got == [("u1", "m9", 0), ("u1", "m3", 1), ("u2", "m3", 0), ("u2", "m9", 1)]
    assert x.users.dtype == x.items.dtype == x.position.dtype == np.int32
    everything = tfds_movielens.ratings_to_interactions(*zip(*rows), min_rating=0)
    assert everything.interactions.num_users == 3 and len(everything.interactions.users) == 6
    held = implicit_feedback.holdout(x, implicit_feedback.leave_last_out, 0.0, 0)
    assert held.test.items.tolist() == [0, 1]  # each user's latest movie: u1's m3, u2's m9


def test_conversion_mistakes_are_one_clear_error():
    with pytest.raises(JaxmlError, match="min_rating=6.0: none of the 2 ratings reaches it"):
        tfds_movielens.ratings_to_interactions(["a", "b"], ["x", "y"], [5.0, 3.0], [1, 2], min_rating=6.0)
    with pytest.raises(JaxmlError, match="rating columns disagree in length"):
        tfds_movielens.ratings_to_interactions(["a"], ["x", "y"], [5.0], [1])
    with pytest.raises(JaxmlError, match="a MovieLens record lacks timestamp"):
        tfds_movielens.read_columns([{"user_id": "a", "movie_id": "x", "user_rating": 5.0}])
    with pytest.raises(JaxmlError, match="config.movielens.name='100k'.*choose one of 100k-ratings, 1m-ratings"):
        tfds_movielens.load_movielens("100k")


def test_movielens_100k_under_mock_data(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=8):
        fb = tfds_movielens.load_movielens("100k-ratings", min_rating=0.0, data_dir=str(tmp_path))
    x = fb.interactions
    assert 1 <= len(x.users) <= 8 and x.num_users == len(fb.user_ids) and x.num_items == len(fb.item_ids)
    assert x.users.max() < x.num_users and x.items.max() < x.num_items
    for u in range(x.num_users):  # each user's positions are 0, 1, ... in order
        assert x.position[x.users == u].tolist() == list(range(int(np.sum(x.users == u))))


def test_the_recommender_reads_movielens_as_a_held_out_split(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    from jaxml.defaults.recsys import recsys_config
    from jaxml.methods import recsys

    c = recsys_config()
    c.dataset, c.holdout, c.movielens.min_rating, c.movielens.data_dir = "movielens", "leave_last_out", 0.0, str(tmp_path)
    with tfds.testing.mock_data(num_examples=6):
        split = recsys.DATASETS[c.dataset](c)
    assert len(split.train.users) + len(split.test.users) >= 1 and split.test.num_items == split.train.num_items
    assert len(np.unique(split.test.users)) == len(split.test.users)  # one latest movie per user
