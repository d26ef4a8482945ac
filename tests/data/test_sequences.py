"""Sequence data: HMM sampling statistics, Python token tags, token spans and span F1 on hand cases."""

import numpy as np
import pytest

from jaxml.data import sequences
from jaxml.errors import JaxmlError


def test_hmm_samples_follow_the_parameters_and_padding_is_zero():
    hmm = sequences.make_hmm(4, 7, stay=0.6, emission_peak=0.5, seed=3)
    np.testing.assert_allclose(hmm.transition.sum(1), 1.0)
    np.testing.assert_allclose(hmm.emission.sum(1), 1.0)
    split = sequences.sample_hmm(hmm, 3000, min_length=10, max_length=20, seed=0)
    sym, st, n = split["tokens"], split["tags"], split["length"]
    assert n.min() >= 10 and n.max() <= 20
    valid = np.arange(20)[None] < n[:, None]
    assert not sym[~valid].any() and not st[~valid].any()
    pairs = valid[:, 1:] & valid[:, :-1]
    counts = np.zeros((4, 4))
    np.add.at(counts, (st[:, :-1][pairs], st[:, 1:][pairs]), 1)
    np.testing.assert_allclose(counts / counts.sum(1, keepdims=True), hmm.transition, atol=0.02)
    emit = np.zeros((4, 7))
    np.add.at(emit, (st[valid], sym[valid]), 1)
    np.testing.assert_allclose(emit / emit.sum(1, keepdims=True), hmm.emission, atol=0.02)
    with pytest.raises(JaxmlError, match="stay"):
        sequences.make_hmm(4, 7, stay=1.5, emission_peak=0.5, seed=0)


def test_char_tags_and_spans_of_a_hand_written_line():
    src = 'x = f(10, "ab")  # c\n'
    tags = [sequences.TAGS[t] for t in sequences.char_tags(src)]
    assert tags[:6] == ["B-NAME", "O", "B-OP", "O", "B-NAME", "B-OP"]
    assert tags[6:8] == ["B-NUMBER", "I-NUMBER"] and tags[10:14] == ["B-STRING"] + ["I-STRING"] * 3
    assert tags[17:20] == ["B-COMMENT", "I-COMMENT", "I-COMMENT"] and tags[-1] == "O"
    kinds = {name: k for k, name in enumerate(sequences.TOKEN_TYPES)}
    assert sequences.spans(sequences.char_tags(src)) == {
        (0, 1, kinds["NAME"]), (2, 3, kinds["OP"]), (4, 5, kinds["NAME"]), (5, 6, kinds["OP"]),
        (6, 8, kinds["NUMBER"]), (8, 9, kinds["OP"]), (10, 14, kinds["STRING"]), (14, 15, kinds["OP"]),
        (17, 20, kinds["COMMENT"])}


def test_span_f1_hand_case_and_window_starts():
    b, i = sequences.TAGS.index("B-NAME"), sequences.TAGS.index("I-NAME")
    op = sequences.TAGS.index("B-OP")
    gold = np.array([[b, i, i, op, b, 0]])
    pred = np.array([[b, i, 0, op, b, i]])  # first NAME too short, OP right, last NAME too long
    m = sequences.span_f1(gold, pred, np.array([6]))
    assert m["precision"] == pytest.approx(1 / 3) and m["recall"] == pytest.approx(1 / 3)
    assert m["f1_OP"] == 1.0 and m["f1_NAME"] == 0.0
    w = sequences.windows(np.arange(1, 6), np.array([b, i, i, i, 0]), 2)
    assert w["length"].tolist() == [2, 2, 1] and w["tags"][1, 0] == b  # a token cut by a window restarts with B-


def test_pytoken_splits_hold_out_whole_files(tmp_path):
    for k in range(12):
        (tmp_path / f"m{k}.py").write_text(f"def f{k}(a):\n    return a + {k}  # n\n" * 3)
    (tmp_path / "broken.py").write_text("def f(:\n  '''\n")
    train, test = sequences.pytoken_splits(window=16, train_chars=10_000, test_chars=10_000, test_percent=30,
                                           directory=str(tmp_path))
    held = [p.name for p in sequences.stdlib_files(str(tmp_path)) if sequences.is_held_out(p, 30)]
    assert held and len(held) < 13
    assert train["tokens"].shape[1:] == train["tags"].shape[1:] == (16,)
    assert test["length"].sum() > 0 and train["length"].sum() > 0
    with pytest.raises(JaxmlError, match="no Python files"):
        sequences.stdlib_files(str(tmp_path / "empty"))
