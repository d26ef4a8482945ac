"""TFDS image-caption pairs: ai2dcaption read through tfds.data_source under tfds.testing.mock_data
(no TensorFlow), and one clear JaxmlError for an unknown dataset and for coco_captions without TensorFlow."""

import importlib.util

import numpy as np
import pytest

from jaxml.data import tfds_pairs
from jaxml.errors import JaxmlError

tfds = pytest.importorskip("tensorflow_datasets")


def test_mock_ai2dcaption_pairs_are_resized_images_with_their_captions():
    with tfds.testing.mock_data(num_examples=3):
        images, captions = tfds_pairs.load_tfds_pairs("ai2dcaption", "test", image_size=(16, 12))
    assert images.shape == (3, 16, 12, 1) and images.dtype == np.uint8
    assert len(captions) == 3 and all(isinstance(c, str) for c in captions)
    split, tok = tfds_pairs.encode_pairs(images, captions, max_len=8)
    assert split["tokens"].shape == (3, 8) and split["tokens"].dtype == np.int32
    assert tok.decode(split["tokens"][0]) == captions[0][:8]


def test_first_caption_of_a_sequence_and_bytes():
    assert tfds_pairs.first_caption({"captions": {"text": [b"a dog", b"x"]}}, ("captions", "text")) == "a dog"
    rgb = np.zeros((5, 7, 3), np.uint8)
    assert tfds_pairs.resize(rgb, (4, 4), 3).shape == (4, 4, 3)


def test_unknown_dataset_and_missing_tensorflow_are_one_clear_error():
    with pytest.raises(JaxmlError, match="choose one of tfds:ai2dcaption, tfds:coco_captions"):
        tfds_pairs.load_tfds_pairs("mnist", "train")
    if importlib.util.find_spec("tensorflow") is not None:
        pytest.skip("tensorflow is installed: coco_captions would build")
    with pytest.raises(JaxmlError, match="needs the package tensorflow.*choose one of tfds:ai2dcaption"):
        tfds_pairs.load_tfds_pairs("coco_captions", "train")
