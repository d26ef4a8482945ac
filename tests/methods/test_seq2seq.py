"""Translation: number-words data, temperature sampling, chrF hand cases, and greedy/beam decoding of a
small trained encoder-decoder (beam width 1 == greedy; the KV-cached greedy score == the teacher-forced
log-probability of its output; best beam score >= greedy score)."""

import jax
import numpy as np
import pytest

from jaxml.core import loop
from jaxml.core.checkpoint import Checkpointer
from jaxml.data import sequences
from jaxml.defaults import seq2seq as seq2seq_defaults
from jaxml.errors import JaxmlError
from jaxml.methods import seq2seq


def tiny(**kw):
    c = seq2seq_defaults.base_config()
    c.languages, c.train_counts, c.test_per_language, c.max_digits = ("en", "es"), (70, 10), 20, 2
    c.temperatures, c.sampling_temperature = (5.0,), 5.0
    c.model.update(dict(encoder_layers=1, decoder_layers=1, embed_dim=32, mlp_dim=64, num_heads=2))
    c.steps, c.batch_size, c.eval_batch_size, c.learning_rate, c.warmup_steps = 400, 32, 40, 5e-3, 20
    c.log_every, c.eval_every, c.checkpoint_every, c.tensorboard, c.parallel.num_devices = 100, 400, 400, False, 1
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def test_chrf_hand_cases():
    assert sequences.chrf(["forty two"], ["forty two"]) == pytest.approx(100.0)
    assert sequences.chrf(["a b"], ["ab"]) == pytest.approx(100.0)  # whitespace is ignored
    assert sequences.chrf(["xyz"], ["abc"]) == 0.0
    # "ab" vs "abc": unigrams P=1 R=2/3, bigrams P=1 R=1/2, no hypothesis trigrams -> P=1, R=7/12
    assert sequences.chrf(["ab"], ["abc"]) == pytest.approx(100 * 5 * (7 / 12) / (4 + 7 / 12))
    # corpus level: counts are summed over sentences first; orders 1-3: P=1, R=(5/6 + 3/4 + 1/2)/3 = 25/36
    assert sequences.chrf(["ab", "xyz"], ["abc", "xyz"]) == pytest.approx(100 * 125 / 169)


def test_chrf_equals_sacrebleu_when_installed():
    # sacrebleu is in the dev extra, so `make test` runs this; agreed with sacrebleu 2.6.0 when checked
    sacrebleu = pytest.importorskip(
        "sacrebleu", reason="sacrebleu is not installed; it comes with the dev extra: pip install -e '.[dev]'"
    )
    hyps, refs = ["quatre-vingt-dix-neuf", "mille deux cent", "ab"], ["quatre-vingt-dix-sept", "mille deux cents", "abc"]
    assert sequences.chrf(hyps, refs) == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score, rel=1e-9)


def test_chrf_equals_sacrebleu_on_random_corpora():
    # 200 random corpora of short strings over a small alphabet, with references as short as one
    # character (shorter than some n-gram orders: those hypothesis n-grams are not counted)
    sacrebleu = pytest.importorskip(
        "sacrebleu", reason="sacrebleu is not installed; it comes with the dev extra: pip install -e '.[dev]'"
    )
    rng = np.random.default_rng(0)
    alphabet = np.array(list("abcd e"))

    def sentence(max_len):
        return "".join(rng.choice(alphabet, size=rng.integers(1, max_len + 1)))

    short_ref = 0
    for _ in range(200):
        size = int(rng.integers(1, 6))
        hyps = [sentence(9) for _ in range(size)]
        refs = [sentence(int(rng.choice([2, 4, 9]))) for _ in range(size)]
        short_ref += any(len("".join(r.split())) < 6 for r in refs)
        assert sequences.chrf(hyps, refs) == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score, abs=1e-6)
    assert short_ref >= 100  # the case the test is about is well covered


def test_number_data_is_disjoint_per_language_and_sampling_follows_the_temperature():
    data = sequences.number_data(("en", "fr"), (300, 30), test_per_language=50, max_digits=3, seed=1)
    assert [len(p) for p in data.pools] == [300, 30] and len(data.test) == 100
    for li, pool in enumerate(data.pools):
        test_src = {tuple(r) for r in data.test["tokens"][data.test["language"] == li]}
        assert not test_src & {tuple(r) for r in pool["tokens"]}
        assert (pool["tokens"][:, 0] == li + 1).all()  # the language tag
    src, tgt = data.pools[1]["tokens"][0], data.pools[1]["targets"][0]
    digits = "".join(str(int(d) - 3) for d in src[1:] if d)
    assert data.decode_target(tgt[1:]) == sequences.number_words(int(digits), "fr")
    np.testing.assert_allclose(sequences.language_probabilities([300, 30], 1.0), [300 / 330, 30 / 330])
    p5 = sequences.language_probabilities([300, 30], 5.0)
    assert p5[1] == pytest.approx(30 ** 0.2 / (300 ** 0.2 + 30 ** 0.2))
    split = sequences.resample_languages(data, 5.0, 20000, seed=0)
    assert np.mean(split["language"] == 1) == pytest.approx(p5[1], abs=0.01)
    low = split["tokens"][split["language"] == 1]
    _, counts = np.unique(low, axis=0, return_counts=True)
    assert len(counts) == 30 and counts.max() - counts.min() <= 1  # a small pool is repeated evenly
    with pytest.raises(JaxmlError, match="temperature"):
        sequences.language_probabilities([1, 2], 0.0)


def test_bad_sampling_temperature_names_the_choices(tmp_path):
    with pytest.raises(JaxmlError, match="must be one of"):
        seq2seq.train(tiny(sampling_temperature=2.0), tmp_path)


def test_train_then_greedy_and_beam_search(tmp_path):
    c = tiny()
    result = seq2seq.train(c, tmp_path)
    assert result["exact_match_en"] > 0.2 and result["chrf_en"] > 60, result
    assert result["exact_match_high_min"] == result["exact_match_en"]
    assert (tmp_path / "plots" / "learning_curve.png").exists()
    # decode properties of the trained model, restored from its final checkpoint
    data = seq2seq.load_data(c)
    model = seq2seq.Translator(c, data)
    template = seq2seq.make_recipe(c, model, data.test, {}).init(loop.init_key(c.seed))
    step, state = Checkpointer(tmp_path / "temperature_5", keep=2).restore_latest(template)
    assert step == c.steps
    params = state.params
    src = data.test["tokens"]
    greedy, greedy_score = model.greedy_jit(params, src)
    beam1, beam1_score = model.beam_jit(params, src, 1)
    beam4, beam4_score = model.beam_jit(params, src, 4)
    np.testing.assert_array_equal(np.asarray(beam1), np.asarray(greedy))
    np.testing.assert_allclose(np.asarray(beam1_score), np.asarray(greedy_score), rtol=1e-6)
    assert (np.asarray(beam4_score) >= np.asarray(greedy_score) - 1e-4).all()
    bos = np.full((len(src), 1), sequences.BOS)
    losses, _, _ = model.token_losses(params, src, np.concatenate([bos, np.asarray(greedy)], 1))
    np.testing.assert_allclose(-np.asarray(losses.sum(1)), np.asarray(greedy_score), rtol=1e-4, atol=1e-4)
