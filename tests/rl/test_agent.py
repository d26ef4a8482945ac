"""jaxml.rl.agent.clipped_adam: the flat (one-vector) and the leaf-by-leaf versions step alike, the
bound changes the steps, and 0 turns the clipping off (exactly optax.adam)."""

import jax
import numpy as np
import optax

from jaxml.rl.agent import clipped_adam


def tree(seed, scale):
    k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
    return {"dense": {"kernel": scale * jax.random.normal(k1, (4, 3)), "bias": scale * jax.random.normal(k2, (3,))},
            "head": scale * jax.random.normal(k3, (3, 2))}


def steps(tx, params, grads_list):
    state = tx.init(params)
    out = []
    for g in grads_list:
        updates, state = tx.update(g, state, params)
        params = optax.apply_updates(params, updates)
        out.append(params)
    return out


def test_flat_equals_leaf_by_leaf_with_and_without_clipping():
    params = tree(0, 1.0)
    grads = [tree(1 + i, s) for i, s in enumerate((0.1, 5.0, 0.01, 20.0))]  # norms below and above 1
    for max_norm in (0.0, 1.0):
        flat = steps(clipped_adam(1e-2, max_norm, flat=True), params, grads)
        leaves = steps(clipped_adam(1e-2, max_norm), params, grads)
        for a, b in zip(flat, leaves):
            jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7), a, b)


def test_the_bound_changes_the_steps_and_zero_means_plain_adam():
    params = tree(0, 1.0)
    big = tree(7, 50.0)
    assert float(optax.tree.norm(big)) > 1.0
    # max_grad_norm = 0: exactly optax.adam, bit for bit, however large the gradient
    off = steps(clipped_adam(1e-3, 0.0), params, [big, big])
    ref = steps(optax.adam(1e-3), params, [big, big])
    for a, b in zip(off, ref):
        jax.tree.map(np.testing.assert_array_equal, a, b)
    # with the bound, Adam's moments see the clipped gradient: the second step differs from unclipped
    # (Adam's first step is about lr * sign(g) whatever the scale, so it cannot show the clipping)
    on = steps(clipped_adam(1e-3, 1.0), params, [big, tree(8, 0.01)])
    ref2 = steps(optax.adam(1e-3), params, [big, tree(8, 0.01)])
    assert any(not np.allclose(x, y) for x, y in zip(jax.tree.leaves(on[1]), jax.tree.leaves(ref2[1])))
