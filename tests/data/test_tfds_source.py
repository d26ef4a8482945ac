"""Tests for the TFDS source, using ``tfds.testing.mock_data`` (needs only ``tensorflow-datasets``).

Findings (tensorflow-datasets 4.9.x, no TensorFlow installed): ``mock_data`` works with
``tfds.data_source`` without TensorFlow under the default ``MockPolicy.AUTO`` (which falls
back to ``USE_CODE`` as no metadata files are bundled), but with ``USE_CODE`` the split
names are unknown, so ``data_source(name)`` with no ``split`` returns an empty dict.
``load_tfds`` therefore always passes ``split=["train", "test"]``. The mocked source's
batched ``__getitems__`` is broken (a ``functools.partial`` missing ``self``), so
``load_tfds`` reads records one at a time with ``source[i]``. The mock yields the same
random examples for every split.
"""

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")

from jaxml.data.datasets import load_dataset  # noqa: E402
from jaxml.data.tfds_source import load_tfds  # noqa: E402
from jaxml.errors import JaxmlError  # noqa: E402


def test_load_tfds_mnist_mock(tmp_path):
    with tfds.testing.mock_data(num_examples=6):
        ds = load_tfds("mnist", data_dir=str(tmp_path))
    assert ds.name == "tfds:mnist"
    assert ds.num_classes == 10
    assert ds.class_names == tuple(str(i) for i in range(10))
    for split in (ds.train, ds.test):
        assert len(split) == 6
        assert split["image"].shape == (6, 28, 28, 1) and split["image"].dtype == np.uint8
        assert split["label"].shape == (6,) and split["label"].dtype == np.int32
        assert split["label"].min() >= 0 and split["label"].max() < 10
    assert ds.train["image"].max() > 0


def test_load_dataset_dispatches_tfds(tmp_path):
    with tfds.testing.mock_data(num_examples=3):
        ds = load_dataset("tfds:fashion_mnist", data_dir=str(tmp_path))
    assert ds.name == "tfds:fashion_mnist"
    assert len(ds.train) == 3
    assert ds.class_names[0] == "T-shirt/top"


def test_unknown_tfds_dataset():
    with pytest.raises(JaxmlError, match="no_such_dataset_xyz"):
        load_tfds("no_such_dataset_xyz")
