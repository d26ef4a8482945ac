"""Back-translation on the numbers task: the reversed task's data, the monolingual text (disjoint from
both splits of its language), the reading of reverse outputs, and a tiny end-to-end run."""

import numpy as np
import pytest

from jaxml.data import backtranslation as bt, sequences
from jaxml.data.sequences import BOS, EOS
from jaxml.defaults import seq2seq as seq2seq_defaults
from jaxml.methods import backtranslate


@pytest.fixture(scope="module")
def data():
    return sequences.number_data(("en", "es"), (60, 10), test_per_language=20, max_digits=2, seed=0)


def test_the_reversed_task_spells_the_same_pairs_backwards(data):
    rev = bt.reverse_data(data)
    vocab = bt.reverse_vocab(data)
    first_char = 1 + len(data.languages)
    for li, (pool, rpool) in enumerate(zip(data.pools, rev.pools)):
        assert rpool["tokens"].shape == (len(pool), vocab.src_len) and rpool["targets"].shape[1] == vocab.tgt_len
        assert (rpool["tokens"][:, 0] == 1 + li).all()
        for src, tgt, rsrc, rtgt in zip(pool["tokens"], pool["targets"], rpool["tokens"], rpool["targets"]):
            words = data.decode_target(tgt[1:])
            assert "".join(data.chars[i - first_char] for i in rsrc[1:] if i) == words
            number = bt.decode_number(rtgt[1:])
            assert rtgt[0] == BOS and number == bt.source_numbers(data, src[None])[0]
            assert sequences.number_words(number, data.languages[li]) == words
    assert rev.test["language"].tolist() == data.test["language"].tolist()
    assert max(int(p["tokens"].max()) for p in rev.pools) < vocab.src_vocab


def test_monolingual_text_is_new_to_its_language_and_fits_the_vocabulary(data):
    targets, numbers = bt.monolingual_targets(data, 1, 30, seed=3)
    assert len(targets) == len(numbers) == 30 and len(set(numbers)) == 30
    seen = set(bt.source_numbers(data, data.pools[1]["tokens"]))
    seen |= set(bt.source_numbers(data, data.test["tokens"][data.test["language"] == 1]))
    assert not seen & set(numbers)
    for row, n in zip(targets, numbers):
        assert row[0] == BOS and data.decode_target(row[1:]) == sequences.number_words(n, "es")
    assert bt.monolingual_targets(data, 1, 30, seed=3)[1] == numbers  # deterministic


def test_reading_reverse_outputs_and_growing_the_pool(data):
    d = bt.DIGIT0
    assert bt.decode_number(np.array([d + 4, d + 2, EOS, 0])) == 42
    assert bt.decode_number(np.array([d + 0, EOS])) == 0
    assert bt.decode_number(np.array([d + 0, d + 7, EOS])) is None  # a leading zero
    assert bt.decode_number(np.array([EOS, d + 1])) is None          # no digit
    assert bt.decode_number(np.array([d + 1, 1, EOS])) is None       # BOS is not a digit
    targets, _ = bt.monolingual_targets(data, 1, 5, seed=0)
    sources = bt.forward_sources(data, 1, [7, 12, 30, 4, 99])
    assert bt.source_numbers(data, sources) == [7, 12, 30, 4, 99] and (sources[:, 0] == 2).all()
    grown = bt.with_synthetic_pairs(data, 1, sources, targets)
    assert len(grown.pools[1]) == len(data.pools[1]) + 5 and grown.pools[0] is data.pools[0]
    np.testing.assert_array_equal(grown.pools[1]["targets"][-5:], targets)


def test_a_tiny_run_reports_both_variants(tmp_path):
    c = seq2seq_defaults.backtranslation_config()
    c.languages, c.train_counts, c.test_per_language, c.max_digits = ("en", "es"), (60, 10), 20, 2
    c.model.update(dict(encoder_layers=1, decoder_layers=1, embed_dim=16, mlp_dim=32, num_heads=2))
    c.steps, c.batch_size, c.eval_batch_size, c.warmup_steps, c.beam_width = 20, 16, 40, 5, 2
    c.log_every, c.eval_every, c.checkpoint_every, c.tensorboard, c.parallel.num_devices = 10, 20, 20, False, 1
    c.num_seeds, c.backtranslation.monolingual, c.backtranslation.reverse_steps = 1, 30, 20
    out = backtranslate.train(c, tmp_path)
    assert out["low_resource_language"] == "es" and out["monolingual_sentences"] == 30
    assert 0 <= out["synthetic_pairs"] <= 30 and 0.0 <= out["reverse_exact_match"] <= 1.0
    for variant in ("baseline", "backtranslation"):
        assert len(out[f"exact_match_es_{variant}_per_seed"]) == 1
        assert (tmp_path / f"{variant}_seed0" / "checkpoints").is_dir()
    assert out["exact_match_gain"] == pytest.approx(out["exact_match_es_backtranslation_mean"]
                                                    - out["exact_match_es_baseline_mean"])
