"""CRF: forward algorithm and Viterbi equal brute-force enumeration over all K^T paths (float64)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.models import crf


def brute_force(emissions, params, length):
    """Every path's score over the first `length` steps, in plain numpy float64."""
    trans, start, end = (np.asarray(p, np.float64) for p in params)
    k = emissions.shape[1]
    paths = list(itertools.product(range(k), repeat=length))
    scores = []
    for p in paths:
        s = start[p[0]] + end[p[-1]] + sum(emissions[t, p[t]] for t in range(length))
        s += sum(trans[p[t - 1], p[t]] for t in range(1, length))
        scores.append(s)
    return np.array(paths), np.array(scores)


def random_problem(seed, t, k):
    rng = np.random.default_rng(seed)
    params = crf.CRFParams(*(jnp.asarray(rng.normal(size=s) * 2.0) for s in ((k, k), (k,), (k,))))
    return jnp.asarray(rng.normal(size=(t, k)) * 2.0), params


@pytest.mark.parametrize("t,k", [(1, 4), (4, 3), (6, 3)])
def test_log_partition_score_and_viterbi_equal_brute_force(t, k):
    with jax.enable_x64(True):
        for length in sorted({1, (t + 1) // 2, t}):  # full and padded sequences
            emissions, params = random_problem(10 * t + k + length, t, k)
            mask = jnp.arange(t) < length
            paths, scores = brute_force(np.asarray(emissions), params, length)
            log_z = float(jax.jit(crf.log_partition)(emissions, params, mask))
            assert log_z == pytest.approx(np.logaddexp.reduce(scores), rel=1e-12, abs=1e-10)
            padded = np.zeros((len(paths), t), np.int32)
            padded[:, :length] = paths
            every = jax.jit(jax.vmap(crf.path_score, in_axes=(None, 0, None, None)))(emissions, padded, params, mask)
            np.testing.assert_allclose(np.asarray(every), scores, rtol=1e-12)  # every path's score
            tags, best = jax.jit(crf.viterbi)(emissions, params, mask)
            assert float(best) == pytest.approx(scores.max(), rel=1e-12)
            np.testing.assert_array_equal(np.asarray(tags[:length]), paths[np.argmax(scores)])
            assert not np.asarray(tags[length:]).any()  # padding decodes to 0


def test_nll_is_a_normalised_distribution_and_batched_vmap_matches():
    with jax.enable_x64(True):
        check_nll_and_vmap()


def check_nll_and_vmap():
    emissions, params = random_problem(0, 4, 3)
    paths, _ = brute_force(np.asarray(emissions), params, 4)
    probs = jnp.exp(-jax.vmap(crf.nll, in_axes=(None, 0, None))(emissions, jnp.asarray(paths), params))
    assert float(probs.sum()) == pytest.approx(1.0, rel=1e-12)
    batch = jnp.stack([emissions, emissions[::-1]])
    masks = jnp.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)
    z = jax.vmap(crf.log_partition, in_axes=(0, None, 0))(batch, params, masks)
    assert float(z[1]) == pytest.approx(float(crf.log_partition(emissions[::-1][:2], params)), rel=1e-12)


def test_tagger_shapes_and_padding_invariance():
    model = crf.CRFTagger(vocab_size=11, num_tags=5, hidden=8, embed_dim=4)
    tokens = jnp.array([[1, 2, 3, 4, 0, 0], [5, 6, 7, 8, 9, 10]])
    lengths = jnp.array([4, 6])
    variables = model.init(jax.random.key(0), tokens, lengths)
    emissions, params = model.apply(variables, tokens, lengths)
    assert emissions.shape == (2, 6, 5) and params.transitions.shape == (5, 5)
    # the backward LSTM starts at each sequence's own end: changing padding leaves valid emissions alone
    other, _ = model.apply(variables, tokens.at[0, 4:].set(3), lengths)
    np.testing.assert_allclose(np.asarray(other[0, :4]), np.asarray(emissions[0, :4]), rtol=1e-6, atol=1e-6)
