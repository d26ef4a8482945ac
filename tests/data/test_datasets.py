"""Tests for dataset loading and validation splits."""

import os
import sys

import numpy as np
import pytest

from jaxml.data import datasets
from jaxml.data.datasets import DATASETS, Split, hold_out, load_dataset, per_class_subset, split_validation
from jaxml.data.idx import write_idx
from jaxml.errors import JaxmlError

REAL_DIR = datasets.SYSTEM_FASHION_MNIST_DIR


def _write_fake_fashion_mnist(directory, n_train=20, n_test=10, seed=0):
    """Writes the four Fashion-MNIST IDX .gz files with random content; returns the arrays."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    for key, filename in datasets.FASHION_MNIST_FILES.items():
        write_idx(directory / filename, arrays[key])
    return arrays


@pytest.fixture
def no_fashion_mnist(monkeypatch, tmp_path):
    """Makes every Fashion-MNIST search location empty."""
    monkeypatch.delenv(datasets.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(datasets, "SYSTEM_FASHION_MNIST_DIR", str(tmp_path / "nothing-here"))


def test_digits_shapes_and_dtypes():
    ds = load_dataset("digits")
    assert ds.name == "digits"
    assert ds.num_classes == 10 and len(ds.class_names) == 10
    assert len(ds.train) + len(ds.test) == 1797
    assert len(ds.test) == 360
    for split in (ds.train, ds.test):
        assert split["image"].dtype == np.uint8
        assert split["image"].shape == (len(split), 8, 8, 1)
        assert split["label"].dtype == np.int32
        assert split["label"].shape == (len(split),)
        assert split["label"].min() == 0 and split["label"].max() == 9
    assert ds.train["image"].max() == 255 and ds.train["image"].min() == 0


def test_digits_split_is_stratified_and_disjoint():
    ds = load_dataset("digits", seed=3)
    counts = np.bincount(ds.test["label"], minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37
    train_rows = {r.tobytes() + bytes([l]) for r, l in zip(ds.train["image"], ds.train["label"])}
    test_rows = {r.tobytes() + bytes([l]) for r, l in zip(ds.test["image"], ds.test["label"])}
    # digits has a few exact duplicates, so allow a tiny overlap, not a shared split.
    assert len(train_rows & test_rows) < 5


def test_digits_split_determinism():
    a, b, c = load_dataset("digits", seed=1), load_dataset("digits", seed=1), load_dataset("digits", seed=2)
    np.testing.assert_array_equal(a.test["image"], b.test["image"])
    np.testing.assert_array_equal(a.train["label"], b.train["label"])
    assert not np.array_equal(a.test["image"], c.test["image"])


def test_digits_ignores_data_dir(tmp_path):
    a = load_dataset("digits", seed=0)
    b = load_dataset("digits", seed=0, data_dir=str(tmp_path))
    np.testing.assert_array_equal(a.train["image"], b.train["image"])


def test_fashion_mnist_from_data_dir(tmp_path, no_fashion_mnist):
    arrays = _write_fake_fashion_mnist(tmp_path / "fm")
    ds = load_dataset("fashion_mnist", data_dir=str(tmp_path / "fm"))
    assert ds.num_classes == 10
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    assert ds.train["image"].shape == (20, 28, 28, 1) and ds.train["image"].dtype == np.uint8
    assert ds.test["label"].dtype == np.int32
    np.testing.assert_array_equal(ds.train["image"][..., 0], arrays["train_images"])
    np.testing.assert_array_equal(ds.test["label"], arrays["test_labels"])


@pytest.mark.parametrize("subdir", ["", "fashion-mnist"])
def test_fashion_mnist_from_env(tmp_path, monkeypatch, no_fashion_mnist, subdir):
    root = tmp_path / "root"
    arrays = _write_fake_fashion_mnist(root / subdir if subdir else root, n_train=12, seed=5)
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(root))
    ds = load_dataset("fashion_mnist")
    assert len(ds.train) == 12
    np.testing.assert_array_equal(ds.train["label"], arrays["train_labels"])


def test_data_dir_wins_over_env(tmp_path, monkeypatch, no_fashion_mnist):
    _write_fake_fashion_mnist(tmp_path / "arg", n_train=11)
    _write_fake_fashion_mnist(tmp_path / "env", n_train=13)
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path / "env"))
    assert len(load_dataset("fashion_mnist", data_dir=str(tmp_path / "arg")).train) == 11
    assert len(load_dataset("fashion_mnist").train) == 13


def test_missing_fashion_mnist_error(tmp_path, no_fashion_mnist):
    with pytest.raises(JaxmlError) as info:
        load_dataset("fashion_mnist", data_dir=str(tmp_path / "empty"))
    message = str(info.value)
    assert "\n" not in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "JAXML_DATA_DIR" in message
    assert "--config.dataset=digits" in message
    assert str(tmp_path / "empty") in message


def test_unknown_name_suggests_close_match():
    with pytest.raises(JaxmlError) as info:
        load_dataset("fashon_mnist")
    message = str(info.value)
    assert "'fashion_mnist'" in message.split("Did you mean")[1]
    for name in DATASETS:
        assert name in message


def test_tfds_without_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)
    with pytest.raises(JaxmlError, match=r"pip install -e '\.\[tfds\]'"):
        load_dataset("tfds:mnist")


def test_split_validation():
    split = Split(image=np.arange(100, dtype=np.uint8).reshape(100, 1, 1, 1), label=np.arange(100, dtype=np.int32))
    train, val = split_validation(split, 0.1, seed=0)
    assert len(train) == 90 and len(val) == 10
    assert sorted(np.concatenate([train["label"], val["label"]]).tolist()) == list(range(100))
    np.testing.assert_array_equal(val["image"][:, 0, 0, 0], val["label"])
    again = split_validation(split, 0.1, seed=0)[1]
    other = split_validation(split, 0.1, seed=1)[1]
    np.testing.assert_array_equal(again["label"], val["label"])
    assert not np.array_equal(other["label"], val["label"])
    with pytest.raises(JaxmlError):
        split_validation(split, 1.0, seed=0)


def test_hold_out_is_split_validation_by_count():
    split = Split(label=np.arange(100, dtype=np.int32))
    rest, held = hold_out(split, 25, seed=3, key="config.x")
    ref_rest, ref_held = split_validation(split, 0.25, seed=3)
    np.testing.assert_array_equal(held["label"], ref_held["label"])
    np.testing.assert_array_equal(rest["label"], ref_rest["label"])
    with pytest.raises(JaxmlError, match=r"config\.x=100 must be below the 100 training examples"):
        hold_out(split, 100, seed=0, key="config.x")


def test_split_takes_named_arrays_only():
    with pytest.raises(JaxmlError, match="named arrays"):
        Split(np.zeros((3, 2)))


def test_per_class_subset():
    labels = np.repeat(np.arange(3, dtype=np.int32), [5, 7, 9])
    split = Split(image=np.arange(21, dtype=np.uint8).reshape(21, 1, 1, 1), label=labels)
    few = per_class_subset(split, 4, 3, seed=0)
    assert np.bincount(few["label"], minlength=3).tolist() == [4, 4, 4]
    picked = few["image"][:, 0, 0, 0]
    assert len(set(picked.tolist())) == 12 and np.array_equal(split["label"][picked], few["label"])  # rows kept whole
    np.testing.assert_array_equal(per_class_subset(split, 4, 3, seed=0)["image"], few["image"])
    assert not np.array_equal(per_class_subset(split, 4, 3, seed=1)["image"], few["image"])
    with pytest.raises(JaxmlError, match="class 0 has 5 examples"):
        per_class_subset(split, 6, 3, seed=0)
    with pytest.raises(JaxmlError, match="per_class"):
        per_class_subset(split, 0, 3, seed=0)


def test_split_holds_named_arrays():
    split = Split(tokens=np.arange(12, dtype=np.int32).reshape(4, 3), length=np.array([3, 1, 2, 3], np.int32))
    assert split.keys() == ("tokens", "length") and len(split) == 4 and "tokens" in split and "image" not in split
    part = split.take(np.array([2, 0]))
    np.testing.assert_array_equal(part["tokens"], [[6, 7, 8], [0, 1, 2]])
    np.testing.assert_array_equal(part["length"], [2, 3])
    more = split.replace(language=np.zeros(4, np.int32), length=None)
    assert more.keys() == ("tokens", "language") and split.keys() == ("tokens", "length")  # a new Split
    with pytest.raises(JaxmlError, match="no array 'image'; it holds tokens, length"):
        split["image"]
    with pytest.raises(JaxmlError, match="reserved"):
        Split(tokens=np.zeros((2, 3)), mask=np.ones(2))
    with pytest.raises(JaxmlError, match="disagree in length"):
        split.replace(language=np.zeros(5, np.int32))


def test_split_length_mismatch():
    with pytest.raises(JaxmlError):
        Split(image=np.zeros((3, 2, 2, 1), np.uint8), label=np.zeros(4, np.int32))


@pytest.mark.skipif(
    not all(os.path.exists(os.path.join(REAL_DIR, f)) for f in datasets.FASHION_MNIST_FILES.values()),
    reason="real Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)",
)
def test_real_fashion_mnist(monkeypatch):
    monkeypatch.delenv(datasets.DATA_DIR_ENV, raising=False)
    ds = load_dataset("fashion_mnist")
    assert ds.train["image"].shape == (60000, 28, 28, 1)
    assert ds.test["image"].shape == (10000, 28, 28, 1)
    np.testing.assert_array_equal(np.bincount(ds.train["label"], minlength=10), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(ds.test["label"], minlength=10), [1000] * 10)
    assert load_dataset("fashion_mnist").train["image"] is ds.train["image"]  # cached
