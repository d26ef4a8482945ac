"""Paired image-caption data: deterministic in the seed, captions built from the class and the image,
the noise shares as configured, the tokens decode to the captions, the digit attribute table, the views."""

import numpy as np
import pytest

from jaxml.data import paired
from jaxml.errors import JaxmlError


@pytest.fixture(scope="module")
def pairs():
    return paired.paired_dataset("digits", seed=3, train_size=600, test_size=100)


def test_pairs_are_deterministic_in_the_seed_and_tokens_decode_to_the_captions(pairs):
    again = paired.paired_dataset("digits", seed=3, train_size=600, test_size=100)
    assert again.train_captions == pairs.train_captions
    np.testing.assert_array_equal(again.train["tokens"], pairs.train["tokens"])
    other = paired.paired_dataset("digits", seed=4, train_size=600, test_size=100)
    assert other.train_captions != pairs.train_captions
    for i in range(5):
        assert pairs.tokenizer.decode(pairs.train["tokens"][i]) == pairs.train_captions[i]
    assert pairs.tokenizer.id(paired.PAD) == 0


def test_captions_carry_the_class_the_image_attributes_and_the_colour(pairs):
    split, captions = pairs.train, pairs.train_captions
    kinds = np.asarray(split["caption_kind"])
    bins = pairs.bins(np.asarray(split["image"]))
    for i in range(len(split)):
        words = captions[i]
        assert paired.COLOUR_WORDS[split["colour"][i]] in words.split()
        assert paired.TEXTURE_WORDS[bins[i, 2]] in words.split()
        text = pairs.class_text[split["label"][i]]
        if kinds[i] == 0:
            assert text.description in words
        elif kinds[i] == 1:
            assert text.group in words and not any(t.description in words for t in pairs.class_text)
        else:
            assert text.description not in words
    shares = np.bincount(kinds, minlength=3) / len(kinds)
    np.testing.assert_allclose(shares, [0.7, 0.2, 0.1], atol=0.05)
    np.testing.assert_array_equal(split["fused_label"], 2 * split["label"] + split["colour"])


def test_noise_out_of_range_and_a_short_max_len_are_one_clear_error():
    with pytest.raises(JaxmlError, match="config.captions.wrong"):
        paired.CaptionNoise(wrong=1.5)
    with pytest.raises(JaxmlError, match="config.captions.max_len"):
        paired.paired_dataset("digits", max_len=10, train_size=20, test_size=20)


def test_prompts_are_the_class_descriptions(pairs):
    prompts = pairs.prompts(template="a photo of a {description}")
    assert pairs.tokenizer.decode(prompts[1]) == "a photo of a " + pairs.class_text[1].description
    with pytest.raises(JaxmlError, match="config.zeroshot.template"):
        pairs.prompts(template="no slot")


def test_digit_attribute_table_is_binary_and_tells_every_digit_apart():
    table = paired.DIGIT_ATTRIBUTES
    assert table.shape == (10, len(paired.DIGIT_ATTRIBUTE_NAMES))
    assert len({tuple(r) for r in table.tolist()}) == 10
    np.testing.assert_array_equal(table[8, :7], np.ones(7))   # 8 lights every segment
    np.testing.assert_array_equal(table[1, :7], [0, 1, 1, 0, 0, 0, 0])
    glyphs = paired.DIGIT_GLYPHS
    assert glyphs.shape == (10, paired.GRID[0] * paired.GRID[1]) and len({tuple(r) for r in glyphs.tolist()}) == 10
    np.testing.assert_array_equal(glyphs[1].reshape(paired.GRID)[:, 1], np.ones(5))   # 1: the middle column
    for t in paired.DIGIT_ATTRIBUTE_TABLES.values():
        assert len(t.cells) == t.table.shape[1]


def test_two_views_split_the_image_and_see_its_edges():
    images = np.zeros((2, 8, 8, 1), np.uint8)
    images[:, 2:6, 3:5] = 255
    left, right = paired.VIEWS["halves"](images)
    assert left.shape == right.shape == (2, 8, 4, 1)
    pixels, edges = paired.VIEWS["pixels_edges"](images)
    np.testing.assert_array_equal(pixels, images)
    assert edges.dtype == np.uint8 and edges[0, 0, 0, 0] == 0 and edges.max() == 255


def test_extent_words_add_the_ink_box_and_change_nothing_else(pairs):
    richer = paired.paired_dataset("digits", seed=3, train_size=600, test_size=100, extent=True, max_len=96)
    np.testing.assert_array_equal(richer.train["colour"], pairs.train["colour"])
    np.testing.assert_array_equal(richer.train["caption_kind"], pairs.train["caption_kind"])
    bins = richer.bins.extent_bins(np.asarray(richer.train["image"]))
    for i in range(20):
        words = richer.train_captions[i].split()
        extra = [paired.EXTENT_WORDS[0][bins[i, 0]], paired.EXTENT_WORDS[1][bins[i, 1]]]
        assert [w for w in words if w not in extra] == pairs.train_captions[i].split()
        assert all(w in words for w in extra)
    images = np.zeros((1, 8, 8, 1), np.uint8)
    images[0, 2:5, 1:7] = 255
    np.testing.assert_array_equal(paired.ink_extent(images), [[3, 6]])
