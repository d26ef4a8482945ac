"""Tests for deterministic, resumable batching."""

import numpy as np
import pytest

from jaxml.data.batching import (
    epoch_permutation,
    eval_batches,
    gather,
    global_batch_indices,
    process_slice,
    steps_per_epoch,
    train_batches,
)
from jaxml.data.datasets import Split
from jaxml.errors import JaxmlError


def _split(n: int) -> Split:
    """A split whose label and image both encode the example index."""
    images = (np.arange(n * 2 * 2, dtype=np.int64).reshape(n, 2, 2, 1) // 4 % 256).astype(np.uint8)
    return Split(image=images, label=np.arange(n, dtype=np.int32))


def test_epoch_permutation_matches_definition():
    np.testing.assert_array_equal(epoch_permutation(3, 2, 50), np.random.default_rng([3, 2]).permutation(50))


def test_steps_per_epoch():
    assert steps_per_epoch(103, 10) == 10
    with pytest.raises(JaxmlError):
        steps_per_epoch(5, 10)
    with pytest.raises(JaxmlError):
        steps_per_epoch(5, 0)


def test_each_index_once_per_epoch():
    n, gb, seed = 103, 10, 7
    spe = steps_per_epoch(n, gb)
    for epoch in range(3):
        idx = np.concatenate(
            [global_batch_indices(s, n=n, global_batch=gb, seed=seed) for s in range(epoch * spe, (epoch + 1) * spe)]
        )
        assert len(idx) == len(np.unique(idx)) == spe * gb
        assert idx.min() >= 0 and idx.max() < n


def test_train_batches_epoch_covers_all_labels():
    split = _split(40)
    batches = train_batches(split, start_step=0, num_steps=5, global_batch=8, seed=0)
    assert batches["image"].shape == (5, 8, 2, 2, 1) and batches["image"].dtype == np.uint8
    assert batches["label"].shape == (5, 8) and batches["label"].dtype == np.int32
    assert sorted(batches["label"].ravel().tolist()) == list(range(40))
    np.testing.assert_array_equal(batches["image"], split["image"][batches["label"]])


def test_batches_carry_any_named_arrays_and_array_likes():
    class Squares:  # an array-like built on indexing (like meta-learning episodes)
        shape, dtype, ndim = (12, 2), np.dtype(np.int64), 2

        def __getitem__(self, idx):
            idx = np.asarray(idx)
            return np.stack([idx, idx * idx], -1)

    split = Split(tokens=np.arange(36, dtype=np.int32).reshape(12, 3), length=np.arange(12, dtype=np.int32),
                  pair=Squares())
    batches = train_batches(split, start_step=0, num_steps=3, global_batch=4, seed=2)
    assert set(batches) == {"tokens", "length", "pair"} and batches["pair"].shape == (3, 4, 2)
    np.testing.assert_array_equal(batches["tokens"][..., 0] // 3, batches["length"])
    np.testing.assert_array_equal(batches["pair"][..., 1], batches["length"] ** 2)
    ev = eval_batches(split, global_batch=5)
    assert set(ev) == {"tokens", "length", "pair", "mask"} and ev["tokens"].shape == (3, 5, 3)
    assert ev["mask"].sum() == 12 and (ev["length"].reshape(-1)[:12] == np.arange(12)).all()


def test_chunking_does_not_change_batches():
    split = _split(37)
    kwargs = dict(global_batch=6, seed=11)
    whole = train_batches(split, start_step=0, num_steps=10, **kwargs)
    a = train_batches(split, start_step=0, num_steps=4, **kwargs)
    b = train_batches(split, start_step=4, num_steps=6, **kwargs)
    for key in ("image", "label"):
        np.testing.assert_array_equal(whole[key], np.concatenate([a[key], b[key]]))
    for step in (0, 5, 6, 9):  # 6 steps per epoch: crosses an epoch boundary
        np.testing.assert_array_equal(
            whole["label"][step], global_batch_indices(step, n=37, global_batch=6, seed=11)
        )
    single = [train_batches(split, start_step=s, num_steps=1, **kwargs)["label"][0] for s in range(10)]
    np.testing.assert_array_equal(whole["label"], np.stack(single))


def test_different_epochs_and_seeds_differ():
    n, gb = 64, 8
    spe = steps_per_epoch(n, gb)
    e0 = global_batch_indices(0, n=n, global_batch=gb, seed=0)
    e1 = global_batch_indices(spe, n=n, global_batch=gb, seed=0)
    s1 = global_batch_indices(0, n=n, global_batch=gb, seed=1)
    assert not np.array_equal(e0, e1)
    assert not np.array_equal(e0, s1)
    assert not np.array_equal(epoch_permutation(0, 0, n), epoch_permutation(0, 1, n))


def test_process_slices_concatenate_to_global_batch():
    split = _split(50)
    kwargs = dict(start_step=3, num_steps=7, global_batch=8, seed=2)
    full = train_batches(split, **kwargs)
    parts = [train_batches(split, process_index=p, process_count=2, **kwargs) for p in range(2)]
    assert parts[0]["label"].shape == (7, 4)
    for key in ("image", "label"):
        np.testing.assert_array_equal(np.concatenate([p[key] for p in parts], axis=1), full[key])
    idx = global_batch_indices(3, n=50, global_batch=8, seed=2)
    np.testing.assert_array_equal(np.concatenate([process_slice(idx, p, 2) for p in range(2)]), idx)
    np.testing.assert_array_equal(process_slice(idx, 1, 2), idx[4:])


def test_process_slice_not_divisible():
    with pytest.raises(JaxmlError):
        process_slice(np.arange(10), 0, 3)
    with pytest.raises(JaxmlError):
        train_batches(_split(30), start_step=0, num_steps=1, global_batch=10, seed=0, process_count=3)


def test_gather():
    split = _split(10)
    out = gather(split, np.array([[3, 1], [0, 9]]))
    np.testing.assert_array_equal(out["label"], [[3, 1], [0, 9]])
    assert out["image"].shape == (2, 2, 2, 2, 1)


@pytest.mark.parametrize("process_count", [1, 2, 4])
def test_eval_batches_cover_split_once(process_count):
    n, gb = 23, 8
    split = _split(n)
    parts = [
        eval_batches(split, global_batch=gb, process_index=p, process_count=process_count)
        for p in range(process_count)
    ]
    for p in parts:
        assert p["label"].shape == (3, gb // process_count)
        assert p["image"].shape == (3, gb // process_count, 2, 2, 1)
        assert p["mask"].dtype == np.float32
    labels = np.concatenate([p["label"] for p in parts], axis=1)
    mask = np.concatenate([p["mask"] for p in parts], axis=1)
    assert mask.sum() == n
    real = labels[mask == 1]
    np.testing.assert_array_equal(real, np.arange(n))  # in order, each once
    assert set(np.unique(mask)) == {0.0, 1.0}
