"""CRF tagger: reaches the true-parameter Viterbi accuracy on HMM data; pytokens pipeline runs; bad config."""

import pytest

from jaxml.defaults import sequence_labeling as sl_defaults
from jaxml.errors import JaxmlError
from jaxml.methods import sequence_labeling as sl


def tiny(**kw):
    c = sl_defaults.base_config()
    c.hmm.update(dict(states=3, symbols=6, stay=0.8, emission_peak=0.6, train_size=1500, test_size=600,
                      min_length=8, max_length=16))
    c.model.update(dict(encoder="embedding", embed_dim=8))
    c.steps, c.batch_size, c.eval_batch_size, c.learning_rate = 300, 32, 200, 0.05
    c.log_every, c.eval_every, c.checkpoint_every = 100, 300, 0
    c.warmup_steps, c.tensorboard, c.parallel.num_devices = 10, False, 1
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def test_embedding_crf_matches_the_true_hmm_viterbi(tmp_path):
    # an embedding-only CRF can represent the HMM posterior exactly, so it should get close to the ceiling
    r = sl.train(tiny(), tmp_path)
    assert r["bayes_marginal_accuracy"] >= r["bayes_viterbi_accuracy"] - 0.005
    assert r["bayes_viterbi_accuracy"] > 0.6
    assert r["gap_to_bayes_viterbi"] <= 0.02, r
    assert r["test_loss"] < 1.0 and r["test_tokens"] == pytest.approx(600 * 12, rel=0.1)


def test_bilstm_crf_and_softmax_tagger_on_python_tokens(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    for k in range(10):
        (src / f"mod{k}.py").write_text(f"# module {k}\ndef f{k}(a, b=2.5):\n    return a * {k} + 'x'\n" * 4)
    for use_crf in (True, False):
        c = tiny(dataset="pytokens", data_dir=str(src), steps=100, use_crf=use_crf, learning_rate=0.01)
        c.pytokens.update(dict(window=32, train_chars=4000, test_chars=2000, test_percent=30))
        c.model.update(dict(encoder="bilstm", hidden=16, embed_dim=8))
        r = sl.train(c, tmp_path / f"run_{use_crf}")
        assert 0.5 < r["f1"] <= 1.0 and r["test_accuracy"] > 0.7, r


@pytest.mark.parametrize("key,value,match", [("dataset", "conll", "hmm, pytokens"),
                                             ("model.encoder", "gru", "bilstm, embedding")])
def test_bad_config_names_the_choices(tmp_path, key, value, match):
    c = tiny()
    obj, name = (c.model, "encoder") if key == "model.encoder" else (c, key)
    setattr(obj, name, value)
    with pytest.raises(JaxmlError, match=match):
        sl.train(c, tmp_path)
