"""Tests for jittable augmentation.

Compilation dominates the run time on CPU, so the tests share module-level jitted
functions and one batch shape ([8, 6, 7, 2]) to reuse compiled programs.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.data.augment import (
    augment_batch,
    gaussian_noise,
    mixup,
    per_example_keys,
    random_crop,
    random_flip,
    random_shift,
)
from jaxml.errors import JaxmlError

KEY = jax.random.PRNGKey(0)
B = 8

shift_jit = jax.jit(random_shift, static_argnames=("max_shift",))
crop_jit = jax.jit(random_crop, static_argnames=("crop_size", "pad"))
flip_jit = jax.jit(random_flip)
noise_jit = jax.jit(gaussian_noise)
augment_jit = jax.jit(augment_batch, static_argnames=("shift", "flip", "noise"))
mixup_jit = jax.jit(mixup)

# name -> (jitted fn, static kwargs); each is called as fn(key, images, **kwargs[, keys=...]).
OPS = {
    "shift": (shift_jit, {"max_shift": 2}),
    "crop": (crop_jit, {"crop_size": 5, "pad": 1}),
    "flip": (flip_jit, {}),
    "noise": (noise_jit, {"stddev": 0.3}),
    "augment_batch": (augment_jit, {"shift": 2, "flip": True, "noise": 0.3}),
}


def _images(b=B, h=6, w=7, c=2, seed=0):
    """Strictly positive float images, so zero fill is distinguishable from content."""
    return jnp.asarray(np.random.default_rng(seed).uniform(1.0, 2.0, (b, h, w, c)).astype(np.float32))


def _shifted(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Reference: ``out[i, j] = image[i - dy, j - dx]``, zero where that is outside."""
    out = np.roll(image, (dy, dx), axis=(0, 1))
    if dy > 0:
        out[:dy] = 0
    elif dy < 0:
        out[dy:] = 0
    if dx > 0:
        out[:, :dx] = 0
    elif dx < 0:
        out[:, dx:] = 0
    return out


@pytest.mark.parametrize("name", ["shift", "flip", "noise", "augment_batch"])
def test_shape_dtype_under_jit(name):
    fn, kwargs = OPS[name]
    x = _images()
    out = fn(KEY, x, **kwargs)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert not np.array_equal(np.asarray(out), np.asarray(x))


def test_eager_matches_jit():
    x = _images()
    np.testing.assert_array_equal(
        np.asarray(random_shift(KEY, x, 2)), np.asarray(shift_jit(KEY, x, max_shift=2))
    )


def test_shift_zero_is_identity():
    x = _images()
    np.testing.assert_array_equal(np.asarray(random_shift(KEY, x, 0)), np.asarray(x))


def test_shift_is_integer_shift_of_input():
    m = 2
    x = _images()
    seen = set()
    for key in (KEY, jax.random.PRNGKey(1)):
        out = np.asarray(shift_jit(key, x, max_shift=m))
        for b in range(B):
            matches = [
                (dy, dx)
                for dy, dx in itertools.product(range(-m, m + 1), repeat=2)
                if np.array_equal(out[b], _shifted(np.asarray(x[b]), dy, dx))
            ]
            assert len(matches) == 1, f"example {b} is not a zero-filled integer shift"
            seen.add(matches[0])
    assert len(seen) > 1  # examples get different shifts


def test_random_crop_is_window_of_padded_input():
    fn, kwargs = OPS["crop"]
    x = _images()
    out = np.asarray(fn(KEY, x, **kwargs))
    assert out.shape == (B, 5, 5, 2)
    padded = np.pad(np.asarray(x), ((0, 0), (1, 1), (1, 1), (0, 0)))
    for b in range(B):
        assert any(
            np.array_equal(out[b], padded[b, y : y + 5, x0 : x0 + 5]) for y in range(4) for x0 in range(5)
        )
    with pytest.raises(JaxmlError):
        random_crop(KEY, x, crop_size=11, pad=2)


def test_flip_is_identity_or_mirror():
    x = _images()
    flipped, same = [], []
    for seed in range(4):
        out, xn = np.asarray(flip_jit(jax.random.PRNGKey(seed), x)), np.asarray(x)
        flipped += [np.array_equal(out[b], xn[b, :, ::-1]) for b in range(B)]
        same += [np.array_equal(out[b], xn[b]) for b in range(B)]
    assert all(f != s for f, s in zip(flipped, same))
    assert 0 < sum(flipped) < len(flipped)


def test_noise_statistics():
    x = jnp.zeros((B, 6, 7, 2), jnp.float32)
    out = np.asarray(noise_jit(KEY, x, stddev=0.5))
    assert abs(out.mean()) < 0.1
    assert abs(out.std() - 0.5) < 0.1


def test_mixup_convex_combination():
    x = _images()
    labels = jax.nn.one_hot(jnp.arange(B) % 3, 3)
    mixed, mixed_labels = mixup_jit(KEY, x, labels, 0.4)
    assert mixed.shape == x.shape and mixed.dtype == x.dtype
    np.testing.assert_allclose(np.asarray(mixed_labels).sum(-1), 1.0, rtol=1e-6)
    assert np.asarray(mixed_labels).min() >= 0
    xn, mn = np.asarray(x), np.asarray(mixed)
    # Each mixed image is lam * x[b] + (1 - lam) * x[j] for some partner j.
    for b in range(B):
        found = False
        for j in range(B):
            d = xn[b] - xn[j]
            if j == b:
                found = found or np.allclose(mn[b], xn[b], atol=1e-5)
                continue
            lam = float(((mn[b] - xn[j]) * d).sum() / (d * d).sum())
            if -1e-6 <= lam <= 1 + 1e-6 and np.allclose(lam * xn[b] + (1 - lam) * xn[j], mn[b], atol=1e-5):
                found = True
        assert found, f"mixed image {b} is not a convex combination of two inputs"
    with pytest.raises(JaxmlError):
        mixup(KEY, x, labels, alpha=0.0)


@pytest.mark.parametrize("name", sorted(OPS))
def test_per_example_independence(name):
    """The first 4 of a batch of 8 equal augmenting just those 4 with their own keys."""
    fn, kwargs = OPS[name]
    x = _images()
    full = np.asarray(fn(KEY, x, **kwargs))
    keys = per_example_keys(KEY, B)
    first = np.asarray(fn(None, x[:4], **kwargs, keys=keys[:4]))
    np.testing.assert_allclose(first, full[:4], rtol=1e-6, atol=1e-6)
    # Changing the other examples does not change the first four.
    other = x.at[4:].set(0.0)
    np.testing.assert_array_equal(np.asarray(fn(KEY, other, **kwargs))[:4], full[:4])


def test_typed_keys_work():
    x = _images()
    out = flip_jit(jax.random.key(1), x)
    assert out.shape == x.shape
    np.testing.assert_array_equal(np.asarray(flip_jit(jax.random.key(1), x)), np.asarray(out))


def test_augment_batch_disabled_is_identity_and_key_errors():
    x = _images()
    assert augment_batch(KEY, x) is x
    with pytest.raises(JaxmlError):
        random_flip(None, x)
    with pytest.raises(JaxmlError):
        random_flip(None, x, keys=per_example_keys(KEY, 3))
    with pytest.raises(JaxmlError):
        random_shift(KEY, x, -1)
    with pytest.raises(JaxmlError):
        random_shift(KEY, x, 1.5)


# ------------------------------------------------------------- views for self- and semi-supervision

from jaxml.data.augment import (  # noqa: E402
    STRONG_OPS,
    brightness_contrast,
    cutout,
    rand_augment,
    random_resized_crop,
    view_augment,
)

VIEW_OPS = {
    "resized_crop": jax.jit(lambda k, x: random_resized_crop(k, x, 0.3)),
    "brightness_contrast": jax.jit(lambda k, x: brightness_contrast(k, x, 0.4, 0.4)),
    "cutout": jax.jit(lambda k, x: cutout(k, x, 3)),
    "view": jax.jit(lambda k, x: view_augment(k, x, crop_scale=0.3, brightness=0.4, contrast=0.4, cutout_size=3,
                                              noise=0.1)),
    "rand_augment": jax.jit(lambda k, x: rand_augment(k, x, 2, 3)),
}


def _unit_images(b=B, seed=0):
    return jnp.asarray(np.random.default_rng(seed).uniform(0.0, 1.0, (b, 10, 10, 1)).astype(np.float32))


@pytest.mark.parametrize("name", sorted(VIEW_OPS))
def test_views_keep_shape_and_range_and_are_deterministic_per_key(name):
    fn, x = VIEW_OPS[name], _unit_images()
    out = np.asarray(fn(KEY, x))
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(out, np.asarray(fn(KEY, x)))
    assert not np.array_equal(out, np.asarray(fn(jax.random.PRNGKey(1), x)))
    assert not np.array_equal(out, np.asarray(x))


def test_an_examples_view_depends_only_on_its_own_key():
    x = _unit_images()
    keys = per_example_keys(KEY, B)
    fn = jax.jit(lambda ks, im: view_augment(None, im, crop_scale=0.3, brightness=0.4, contrast=0.4, keys=ks))
    full = np.asarray(fn(keys, x))
    np.testing.assert_allclose(np.asarray(fn(keys[3:5], x[3:5])), full[3:5], rtol=1e-6, atol=1e-6)


def test_full_area_crop_is_the_identity_and_cutout_zeroes_a_square():
    x = _unit_images()
    np.testing.assert_allclose(np.asarray(random_resized_crop(KEY, x, 1.0, 0.0)), np.asarray(x), atol=1e-5)
    ones = jnp.ones((64, 10, 10, 1))
    zeros = (np.asarray(cutout(KEY, ones, 4)) == 0).sum(axis=(1, 2, 3))
    assert zeros.max() == 16 and zeros.min() >= 4  # a whole 4x4 square, cut at the border at worst


def test_every_strong_op_keeps_range_and_identity_magnitude_zero_keeps_geometric_ops():
    x = _unit_images()[0]
    for op in STRONG_OPS:
        out = np.clip(np.asarray(op(x, jnp.float32(0.7), jnp.float32(-1.0))), 0, 1)
        assert out.shape == x.shape
    for op in STRONG_OPS[7:]:  # rotate, shear, translate at magnitude 0 are the identity
        np.testing.assert_allclose(np.asarray(op(x, jnp.float32(0.0), jnp.float32(1.0))), np.asarray(x), atol=1e-5)


def test_view_and_crop_errors_name_the_argument():
    with pytest.raises(JaxmlError, match="min_scale"):
        random_resized_crop(KEY, _unit_images(), 0.0)
    with pytest.raises(JaxmlError, match="view_augment needs a key"):
        view_augment(None, _unit_images(), crop_scale=0.5)
