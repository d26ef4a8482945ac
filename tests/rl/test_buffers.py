"""Replay buffers: ring semantics, sum-tree invariants, sampling distributions, jit/vmap, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.errors import JaxmlError
from jaxml.rl import buffers as B

# Shared jitted functions: each test reuses the same compiled programs where the shapes agree.
uadd = jax.jit(B.uniform_add)
usample = jax.jit(B.uniform_sample, static_argnums=2)
padd = jax.jit(B.per_add)
pupdate = jax.jit(B.per_update)
psample = jax.jit(B.per_sample, static_argnums=2)

EXAMPLE = {"obs": np.zeros((2,), np.float32), "action": np.int32(0)}


def items(start, n):
    """n transitions whose contents identify them: obs = [k, -k], action = k."""
    k = np.arange(start, start + n)
    return {"obs": np.stack([k, -k], 1).astype(np.float32), "action": k.astype(np.int32)}


def key(seed):
    return jax.random.key(seed)


def fill(buf, n, start=0):
    """Adds items start..start+n-1 one at a time: every test shares the compiled N=1 `per_add`."""
    for k in range(start, start + n):
        buf = padd(buf, items(k, 1))
    return buf


def pad8(indices, td):
    """Pads an update to 8 entries with index -1 (ignored): all tests share one compiled update."""
    indices = np.concatenate([np.asarray(indices, np.int32), np.full(8 - len(indices), -1, np.int32)])
    td = np.concatenate([np.asarray(td, np.float32), np.zeros(8 - len(td), np.float32)])
    return jnp.asarray(indices), jnp.asarray(td)


def per_with_priorities(priorities, alpha=1.0, eps=0.5):
    """A capacity-8 PER buffer holding len(priorities) items whose leaves are `priorities`.

    With alpha=1, td = p - eps gives p exactly when p - eps and eps are exact in float32.
    """
    priorities = np.asarray(priorities, np.float64)
    n = len(priorities)
    buf = fill(B.per_init(EXAMPLE, 8, alpha=alpha, eps=eps), n)
    return pupdate(buf, *pad8(np.arange(n), priorities ** (1 / alpha) - eps))


def check_tree(buf, exact=None):
    """Each node == the float32 sum of its children's row (exactly for fan-out 2, where the sum has
    one order), and every level ~ a float64 rebuild from the leaves."""
    F = buf.fanout
    levels = [np.asarray(level) for level in buf.levels]
    exact = F == 2 if exact is None else exact
    ref = levels[0].astype(np.float64)
    for lower, upper in zip(levels, levels[1:]):
        sums = lower.reshape(-1, F).sum(1, dtype=np.float32)
        assert np.all(upper[len(sums):] == 0.0)
        if exact:
            np.testing.assert_array_equal(upper[:len(sums)], sums)
        ref = ref.reshape(-1, F).sum(1)
        np.testing.assert_allclose(upper[:len(sums)], ref, rtol=1e-5, atol=0)
        ref = np.concatenate([ref, np.zeros(len(upper) - len(ref))])
    assert len(levels[-1]) == F
    np.testing.assert_allclose(float(B.total_priority(buf)), levels[0].astype(np.float64).sum(), rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# Uniform buffer.
# ---------------------------------------------------------------------------------------------

def test_uniform_wraparound_matches_numpy_ring():
    capacity = 7
    buf = B.uniform_init(EXAMPLE, capacity)
    assert buf.capacity == capacity
    ref_obs = np.zeros((capacity, 2), np.float32)
    ref_act = np.zeros((capacity,), np.int32)
    pos = size = count = 0
    for n in (3, 5, 7, 2, 6, 1):
        batch = items(count, n)
        for j in range(n):
            ref_obs[(pos + j) % capacity] = batch["obs"][j]
            ref_act[(pos + j) % capacity] = batch["action"][j]
        pos, size, count = (pos + n) % capacity, min(size + n, capacity), count + n
        buf = uadd(buf, batch)
        np.testing.assert_array_equal(buf.data["obs"], ref_obs)
        np.testing.assert_array_equal(buf.data["action"], ref_act)
        assert int(buf.position) == pos and int(buf.size) == size
    # After 24 items the newest 7 (17..23) are stored, each at slot k % 7.
    np.testing.assert_array_equal(np.sort(ref_act), np.arange(17, 24))
    np.testing.assert_array_equal(ref_act % capacity, np.arange(capacity))


def test_uniform_samples_only_valid_items_when_not_full():
    buf = uadd(B.uniform_init(EXAMPLE, 16), items(100, 5))
    batch, idx = usample(buf, key(0), 2000)
    idx = np.asarray(idx)
    assert idx.dtype == np.int32 and idx.min() >= 0 and idx.max() < 5
    assert set(idx.tolist()) == set(range(5))
    np.testing.assert_array_equal(batch["action"], 100 + idx)
    np.testing.assert_array_equal(batch["obs"][:, 1], -(100.0 + idx))
    freq = np.bincount(idx, minlength=5) / idx.size
    np.testing.assert_allclose(freq, 0.2, atol=0.04)


def test_can_sample():
    buf = B.uniform_init(EXAMPLE, 16)
    assert not bool(B.can_sample(buf, 1))
    buf = uadd(buf, items(0, 5))
    assert bool(B.can_sample(buf, 5)) and bool(B.can_sample(buf, 3))
    assert not bool(B.can_sample(buf, 6))
    assert bool(B.can_sample(per_with_priorities([1.0, 2.0]), 2))


def test_uniform_jit_and_vmap_match_unbatched():
    # Capacity 16, adds of 5 then 14 (wraps), batch 2000: the unbatched side reuses compiled code.
    first = [jax.tree.map(lambda x, s=s: x + 100 * s, items(0, 5)) for s in range(3)]
    second = [jax.tree.map(lambda x, s=s: x + 100 * s, items(5, 14)) for s in range(3)]
    stack = lambda trees: jax.tree.map(lambda *xs: np.stack(xs), *trees)  # noqa: E731
    examples = stack([EXAMPLE] * 3)
    keys = jax.random.split(key(1), 3)

    @jax.jit
    def run_batched(examples, first, second, keys):
        buf = jax.vmap(lambda e: B.uniform_init(e, 16))(examples)
        buf = jax.vmap(B.uniform_add)(buf, first)
        buf = jax.vmap(B.uniform_add)(buf, second)
        batch, idx = jax.vmap(lambda b, k: B.uniform_sample(b, k, 2000))(buf, keys)
        return buf, batch, idx

    vbuf, vbatch, vidx = run_batched(examples, stack(first), stack(second), keys)
    for s in range(3):
        buf = uadd(uadd(B.uniform_init(EXAMPLE, 16), first[s]), second[s])
        batch, idx = usample(buf, keys[s], 2000)
        for got, want in zip(jax.tree.leaves((vbuf, vbatch, vidx)), jax.tree.leaves((buf, batch, idx))):
            np.testing.assert_array_equal(np.asarray(got)[s], want)
        expected = np.concatenate([np.arange(16, 19), np.arange(3, 16)]) + 100 * s
        np.testing.assert_array_equal(buf.data["action"], expected)
    assert int(vbuf.position[0]) == 3 and int(vbuf.size[0]) == 16
    # The three buffers really are independent (different contents were written).
    assert not np.array_equal(vbuf.data["action"][0], vbuf.data["action"][1])


# ---------------------------------------------------------------------------------------------
# Prioritised buffer (capacity 8 unless the test is about capacity; batches 8 or 20000).
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fanout, sizes", [(2, (10, 6, 4, 2)), (3, (12, 6, 3)), (32, (32,))])
def test_per_tree_invariant_and_leaves_after_random_adds_and_updates(fanout, sizes):
    rng = np.random.default_rng(0)
    capacity, alpha, eps = 10, 0.6, 1e-6  # not a multiple of the fan-out: padded leaves stay unused
    buf = B.per_init(EXAMPLE, capacity, alpha=alpha, eps=eps, fanout=fanout)
    assert tuple(len(level) for level in buf.levels) == sizes and float(buf.max_priority) == 1.0
    ref = np.zeros(capacity)  # float64 model of the leaves
    max_p, pos, size, count = 1.0, 0, 0, 0
    for step in range(8):
        n = int(rng.choice([1, 3]))
        buf = padd(buf, items(count, n))
        for j in range(n):
            ref[(pos + j) % capacity] = max_p
        pos, size, count = (pos + n) % capacity, min(size + n, capacity), count + n
        idx = rng.integers(0, size, 6)
        td = rng.normal(0, 3, 6).astype(np.float32)
        if step == 4:
            td[0] = 40.0  # raises max_priority for later adds
        buf = pupdate(buf, jnp.asarray(idx, jnp.int32), jnp.asarray(td))
        for i, t in zip(idx, td):  # sequential assignment: the last occurrence wins
            ref[i] = (abs(float(t)) + eps) ** alpha
        written = {i: (abs(float(t)) + eps) ** alpha for i, t in zip(idx, td)}
        max_p = max(max_p, *written.values())
        check_tree(buf)
        np.testing.assert_allclose(B.leaf_priorities(buf), ref, rtol=1e-5)
        np.testing.assert_array_equal(np.asarray(buf.levels[0])[capacity:], 0.0)
        np.testing.assert_allclose(float(buf.max_priority), max_p, rtol=1e-5)
        np.testing.assert_allclose(float(B.total_priority(buf)), ref.sum(), rtol=1e-5)
        assert int(buf.size) == size and int(buf.position) == pos
    assert count > capacity  # the ring wrapped


def test_per_sampling_frequencies_proportional_to_priorities():
    p = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    buf = per_with_priorities(p)
    batch, idx, _ = psample(buf, key(2), 20000, 0.4)
    idx = np.asarray(idx)
    freq = np.bincount(idx, minlength=8) / idx.size
    np.testing.assert_allclose(freq[:5], p / p.sum(), atol=0.01)
    assert freq[5:].sum() == 0
    np.testing.assert_array_equal(batch["action"], idx)


@pytest.mark.parametrize("fanout", [2, 4, 16, 32])
def test_per_multilevel_sampling_frequencies_match_priorities(fanout):
    """100 items with random priorities through 2-7 levels: frequencies within 4 sigma of P(i)."""
    rng = np.random.default_rng(7)
    p = rng.exponential(1.0, 100).astype(np.float32) + 0.05
    buf = B.per_init(EXAMPLE, 100, alpha=1.0, eps=0.01, fanout=fanout)
    buf = padd(buf, items(0, 100))
    buf = jax.jit(B.per_update)(buf, jnp.arange(100, dtype=jnp.int32), jnp.asarray(p - 0.01))
    check_tree(buf)
    n = 50_000
    _, idx, _ = jax.jit(B.per_sample, static_argnums=2)(buf, key(11), n, 0.4)
    freq = np.bincount(np.asarray(idx), minlength=100) / n
    prob = p.astype(np.float64) / p.sum()
    sigma = np.sqrt(prob * (1 - prob) / n)
    assert np.all(np.abs(freq - prob) < 4 * sigma + 1e-4)


def test_per_stratified_sampling_returns_each_segments_item():
    # Priorities 1,3,2,2 (exact in float32): cumulative 1,4,6,8, total 8, 8 segments of width 1.
    buf = per_with_priorities([1.0, 3.0, 2.0, 2.0])
    np.testing.assert_array_equal(B.leaf_priorities(buf), [1.0, 3.0, 2.0, 2.0, 0, 0, 0, 0])
    for seed in range(4):
        _, idx, _ = psample(buf, key(seed), 8, 0.5)
        np.testing.assert_array_equal(idx, [0, 1, 1, 1, 2, 2, 3, 3])


@pytest.mark.parametrize("beta", [0.7, 1.0, 0.0])
def test_per_importance_weights_match_numpy_formula(beta):
    rng = np.random.default_rng(1)
    buf = fill(B.per_init(EXAMPLE, 8), 5)  # default alpha=0.6, eps=1e-6
    buf = pupdate(buf, *pad8(np.arange(5), rng.exponential(2.0, 5)))
    _, idx, w = psample(buf, key(3), 8, beta)
    leaves = np.asarray(B.leaf_priorities(buf), np.float64)[:5]
    prob = leaves[np.asarray(idx)] / leaves.sum()
    ref = (5 * prob) ** (-beta)
    ref /= ref.max()
    np.testing.assert_allclose(w, ref, rtol=1e-5)
    assert np.max(w) == 1.0
    if beta > 0:
        assert np.min(w) < 0.9  # not trivially all ones


def test_per_new_items_get_max_priority_and_are_sampled_accordingly():
    buf = fill(B.per_init(EXAMPLE, 8, alpha=1.0, eps=0.5), 4)
    np.testing.assert_array_equal(B.leaf_priorities(buf)[:4], 1.0)  # initial max_priority
    buf = pupdate(buf, *pad8(np.arange(4), [0.1, 5.0, 0.2, 0.3]))
    np.testing.assert_allclose(float(buf.max_priority), 5.5, rtol=1e-6)
    buf = fill(buf, 1, start=4)
    assert float(B.leaf_priorities(buf)[4]) == float(buf.max_priority)
    _, idx, _ = psample(buf, key(4), 20000, 0.4)
    freq = np.bincount(np.asarray(idx), minlength=8) / 20000
    p = np.array([0.1, 5.0, 0.2, 0.3, 5.0]) + 0.5
    np.testing.assert_allclose(freq[:5], p / p.sum(), atol=0.01)
    assert freq[5:].sum() == 0


def test_per_zero_td_error_keeps_positive_probability():
    buf = per_with_priorities([0.5, 1.5, 1.5, 1.5])  # td = 0, 1, 1, 1 with eps = 0.5
    assert float(B.leaf_priorities(buf)[0]) == 0.5
    _, idx, _ = psample(buf, key(5), 20000, 0.5)
    np.testing.assert_allclose(np.mean(np.asarray(idx) == 0), 0.5 / 5.0, atol=0.01)
    # With the default tiny eps and alpha, a zero TD error still leaves a strictly positive leaf.
    buf = pupdate(fill(B.per_init(EXAMPLE, 8), 4), *pad8(np.arange(4), np.zeros(4)))
    np.testing.assert_allclose(B.leaf_priorities(buf)[:4], (1e-6) ** 0.6, rtol=1e-5)
    assert np.all(B.leaf_priorities(buf)[:4] > 0)


def test_per_update_duplicate_indices_is_deterministic_last_wins():
    buf = per_with_priorities([1.0, 1.0, 1.0, 1.0, 1.0])
    update = pad8([2, 2, 3, 2], [9.0, 5.0, 3.0, 2.0])
    a = pupdate(buf, *update)
    b = pupdate(buf, *update)
    for x, y in zip(a.levels, b.levels):
        np.testing.assert_array_equal(x, y)
    assert float(a.max_priority) == float(b.max_priority)
    eps = 0.5
    np.testing.assert_array_equal(B.leaf_priorities(a)[:5], [1.0, 1.0, 2.0 + eps, 3.0 + eps, 1.0])
    # Only written values count: 9 was overwritten by the later 2 at index 2.
    assert float(a.max_priority) == 3.0 + eps
    check_tree(a)


def test_per_update_ignores_indices_without_items():
    buf = fill(B.per_init(EXAMPLE, 8, alpha=1.0, eps=0.5), 3)
    new = pupdate(buf, *pad8([5, -1, 1, 9, 8], [7.0, 7.0, 1.5, 7.0, 7.0]))
    np.testing.assert_array_equal(B.leaf_priorities(new), [1.0, 2.0, 1.0, 0, 0, 0, 0, 0])
    assert float(new.max_priority) == 2.0
    check_tree(new)


def test_per_never_samples_beyond_size():
    buf = fill(B.per_init(EXAMPLE, 8, fanout=2), 3)
    # A root above the leaves' sum (as from round-off) must not reach the empty leaves either.
    inflated = buf.replace(levels=buf.levels[:-1] + (buf.levels[-1] * 1.5,))
    for b in (buf, inflated):
        for seed in range(3):
            _, idx, w = psample(b, key(seed), 20000, 0.5)
            idx = np.asarray(idx)
            assert idx.min() >= 0 and idx.max() < 3
            assert np.all(np.isfinite(w))
        assert set(idx.tolist()) == {0, 1, 2}
    # Empty buffer: no error, index 0, weight 1.
    _, idx, w = psample(B.per_init(EXAMPLE, 8), key(0), 8, 0.5)
    np.testing.assert_array_equal(idx, 0)
    np.testing.assert_array_equal(w, 1.0)


def test_per_vmapped_over_seeds_matches_unbatched():
    rng = np.random.default_rng(2)
    adds = [jax.tree.map(lambda x: x + rng.normal(size=x.shape).astype(x.dtype), items(0, 4)) for _ in range(3)]
    updates = [pad8(rng.integers(0, 4, 6), rng.normal(0, 3, 6)) for _ in range(3)]
    keys = jax.random.split(key(8), 3)
    beta = B.beta_schedule(0.4, 1.0, 10)

    @jax.jit
    @jax.vmap
    def run(add, update, k):
        buf = B.per_add(B.per_init(EXAMPLE, 8), add)
        buf = B.per_update(buf, *update)
        return (buf, *B.per_sample(buf, k, 8, beta(jnp.int32(3))))

    stack = lambda trees: jax.tree.map(lambda *xs: np.stack(xs), *trees)  # noqa: E731
    batched = run(stack(adds), stack(updates), keys)
    for s in range(3):
        buf = B.per_init(EXAMPLE, 8)
        for j in range(4):  # one at a time: must equal the batched add of 4
            buf = padd(buf, jax.tree.map(lambda x, j=j: x[j:j + 1], adds[s]))
        buf = pupdate(buf, *updates[s])
        single = (buf, *psample(buf, keys[s], 8, 0.58))
        for got, want in zip(jax.tree.leaves(batched), jax.tree.leaves(single)):
            np.testing.assert_allclose(np.asarray(got)[s], want, rtol=1e-6)
    assert not np.array_equal(batched[0].levels[0][0], batched[0].levels[0][1])


def test_beta_schedule_endpoints():
    f = B.beta_schedule(0.4, 1.0, 100)
    np.testing.assert_allclose(f(0), 0.4, rtol=1e-6)
    np.testing.assert_allclose(f(50), 0.7, rtol=1e-6)
    np.testing.assert_allclose(f(100), 1.0, rtol=1e-6)
    np.testing.assert_allclose(f(10_000), 1.0, rtol=1e-6)
    assert f(jnp.int32(25)).dtype == jnp.float32


# ---------------------------------------------------------------------------------------------
# User errors.
# ---------------------------------------------------------------------------------------------

_U = B.uniform_init(EXAMPLE, 4)
_P = B.per_init(EXAMPLE, 4)


@pytest.mark.parametrize("call, match", [
    (lambda: B.uniform_init(EXAMPLE, 0), "capacity"),
    (lambda: B.uniform_init(EXAMPLE, -3), "capacity"),
    (lambda: B.uniform_init(EXAMPLE, 2.5), "capacity"),
    (lambda: B.uniform_init({}, 4), "no array leaves"),
    (lambda: B.per_init(EXAMPLE, 0), "capacity"),
    (lambda: B.per_init(EXAMPLE, 4, alpha=-0.1), "alpha"),
    (lambda: B.per_init(EXAMPLE, 4, eps=0.0), "eps"),
    (lambda: B.uniform_add(_U, items(0, 5)), "capacity 4"),
    (lambda: B.per_add(_P, items(0, 5)), "capacity 4"),
    (lambda: B.uniform_add(_U, {"obs": np.zeros((2, 3)), "action": np.zeros(2)}), "shape"),
    (lambda: B.uniform_add(_U, {"obs": np.zeros((2, 2))}), "structure"),
    (lambda: B.uniform_add(_U, {"obs": np.zeros((2, 2)), "action": np.zeros(3)}), "batch size"),
    (lambda: B.uniform_sample(_U, key(0), 0), "batch_size"),
    (lambda: B.per_sample(_P, key(0), 0, 0.4), "batch_size"),
    (lambda: B.per_sample(_P, key(0), 2, -0.4), "beta"),
    (lambda: B.per_update(_P, np.zeros((2,), np.int32), np.zeros(3)), "td_errors"),
    (lambda: B.per_update(_P, np.zeros((2,)), np.zeros(2)), "integers"),
    (lambda: B.can_sample(_U, 5), "min_size"),
    (lambda: B.can_sample(_U, 0), "min_size"),
    (lambda: B.beta_schedule(0.4, 1.0, 0), "steps"),
    (lambda: B.beta_schedule(-0.1, 1.0, 10), "beta start"),
])
def test_bad_input_raises_jaxml_error(call, match):
    with pytest.raises(JaxmlError, match=match) as info:
        call()
    assert "\n" not in str(info.value)
