"""CTC: optax's loss equals the brute-force sum over every alignment (float64 numpy); greedy decoding
collapses repeats and drops blanks; prefix beam search finds the most probable labelling; the edit
distance matches a plain recursive reference."""

import functools
import itertools

import jax
import numpy as np
import optax
import pytest

from jaxml.audio import ctc


def brute_force_nll(log_probs: np.ndarray, label: list[int]) -> float:
    """-log sum over every frame path that collapses to `label` of prod_t p_t(path_t)."""
    t, k = log_probs.shape
    probs = np.exp(log_probs.astype(np.float64))
    total = 0.0
    for path in itertools.product(range(k), repeat=t):
        if ctc.collapse(path) == label:
            total += np.prod(probs[np.arange(t), path])
    return -np.log(total)


def labelling_probs(log_probs: np.ndarray) -> dict[tuple, float]:
    t, k = log_probs.shape
    probs = np.exp(log_probs.astype(np.float64))
    out: dict[tuple, float] = {}
    for path in itertools.product(range(k), repeat=t):
        lab = tuple(ctc.collapse(path))
        out[lab] = out.get(lab, 0.0) + float(np.prod(probs[np.arange(t), path]))
    return out


CASES = [(3, [1]), (4, [1, 2]), (5, [1, 1]), (5, [2, 3, 2]), (4, [])]   # (frames, label) with 4 symbols


def test_ctc_loss_equals_the_brute_force_sum_over_alignments_and_ignores_padded_frames():
    t_max, k, n = 5, 4, 3
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(len(CASES), t_max, k)).astype(np.float32)
    logit_pad = np.ones((len(CASES), t_max), np.float32)
    labels = np.zeros((len(CASES), n), np.int32)
    label_pad = np.ones((len(CASES), n), np.float32)
    for b, (t, label) in enumerate(CASES):
        logit_pad[b, :t] = 0
        labels[b, :len(label)] = label
        label_pad[b, :len(label)] = 0
    losses = np.asarray(jax.jit(optax.ctc_loss)(logits, logit_pad, labels, label_pad))  # blank 0
    for b, (t, label) in enumerate(CASES):
        x = logits[b, :t].astype(np.float64)
        log_probs = x - np.log(np.exp(x).sum(-1, keepdims=True))
        assert losses[b] == pytest.approx(brute_force_nll(log_probs, label), rel=1e-5)


def test_greedy_decode_collapses_repeats_and_drops_blanks():
    assert ctc.collapse([1, 1, 0, 1, 2, 2, 0, 0, 3]) == [1, 1, 2, 3]
    assert ctc.collapse([0, 0, 0]) == []
    assert ctc.collapse([2, 2, 2]) == [2]
    assert ctc.collapse([1, 0, 1]) == [1, 1]       # a blank separates a doubled label
    assert ctc.collapse([3, 0, 3, 3, 0]) == [3, 3]
    paths = np.array([[1, 1, 0, 2, 0], [0, 3, 3, 3, 4]])
    scores = np.eye(5)[paths] * 5.0
    assert ctc.greedy_decode(scores, np.array([5, 3])) == [[1, 2], [3]]   # the second stops at its length


def test_prefix_beam_search_finds_the_most_probable_labelling():
    rng = np.random.default_rng(1)
    for _ in range(5):
        logits = rng.normal(size=(5, 3)) * 2
        log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        probs = labelling_probs(log_probs)
        best = max(probs, key=probs.get)
        assert tuple(ctc.prefix_beam_search(log_probs, beam=64)) == best
        assert len(ctc.prefix_beam_search(log_probs, beam=2)) <= 5


def test_prefix_beam_search_beats_the_best_path_where_they_differ():
    # each frame favours blank (0.6), but the three paths spelling "1" carry 0.64 together
    log_probs = np.log(np.array([[0.6, 0.4], [0.6, 0.4]]))
    assert ctc.greedy_decode(log_probs[None], np.array([2])) == [[]]
    assert ctc.prefix_beam_search(log_probs, beam=4) == [1]


@functools.lru_cache(maxsize=None)
def reference_distance(a: str, b: str) -> int:
    if not a or not b:
        return len(a) + len(b)
    return min(reference_distance(a[1:], b) + 1, reference_distance(a, b[1:]) + 1,
               reference_distance(a[1:], b[1:]) + (a[0] != b[0]))


def test_edit_distance_matches_a_plain_recursive_reference_on_random_strings():
    rng = np.random.default_rng(2)
    for _ in range(200):
        a = "".join(rng.choice(list("abc"), rng.integers(0, 8)))
        b = "".join(rng.choice(list("abc"), rng.integers(0, 8)))
        assert ctc.edit_distance(a, b) == reference_distance(a, b)
    assert ctc.edit_distance("kitten", "sitting") == 3


def test_error_rate_sums_edits_over_reference_lengths():
    assert ctc.error_rate(["123", "45"], ["13", "45"]) == pytest.approx(1 / 5)
    assert ctc.error_rate([["a", "b"]], [["a", "c", "d"]]) == pytest.approx(2 / 2)   # words
