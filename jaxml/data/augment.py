"""Jittable data augmentation for float image batches ``[B, H, W, C]``.

Per-example ops (shift, crop, flip, noise) draw each example's randomness from its own
key: ``per_example_keys(key, B)`` by default, or an explicit ``[B]`` array of keys passed
as ``keys=`` (then ``key`` is ignored and may be None). An example's result therefore
depends only on its own key and not on the batch size or its neighbours. Size-like
arguments (``max_shift``, ``crop_size``, ``pad``, and the switches of ``augment_batch``)
are static Python values; bind them with ``functools.partial`` before ``jax.jit``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import lax

from jaxml.errors import JaxmlError

Array = jax.Array


def per_example_keys(key: Array, batch_size: int) -> Array:
    """The default per-example keys for a batch: ``jax.random.split(key, batch_size)``."""
    return jax.random.split(key, batch_size)


def _map_examples(
    fn: Callable[[Array, Array], Array], key: Array | None, images: Array, keys: Array | None
) -> Array:
    """Applies ``fn(example_key, image)`` to each example with its own key."""
    batch = images.shape[0]
    if keys is None:
        if key is None:
            raise JaxmlError("Augmentation needs a key or per-example keys")
        keys = per_example_keys(key, batch)
    if keys.shape[0] != batch:
        raise JaxmlError(f"Got {keys.shape[0]} per-example keys for a batch of {batch}")
    return jax.vmap(fn)(keys, images)


def _check_non_negative(name: str, value: int) -> None:
    """Raises a JaxmlError unless ``value`` is a non-negative int."""
    try:
        is_int = operator.index(value) == value
    except TypeError:
        is_int = False
    if not is_int or value < 0:
        raise JaxmlError(f"{name} must be a non-negative integer, got {value}")


def _crop_one(key: Array, image: Array, pad: int, out_h: int, out_w: int) -> Array:
    """Zero-pads one ``[H, W, C]`` image by ``pad`` and takes a random ``out_h x out_w`` crop."""
    padded = jnp.pad(image, ((pad, pad), (pad, pad), (0, 0)))
    max_y = padded.shape[0] - out_h
    max_x = padded.shape[1] - out_w
    offsets = jax.random.randint(key, (2,), 0, jnp.array([max_y + 1, max_x + 1]))
    return lax.dynamic_slice(padded, (offsets[0], offsets[1], 0), (out_h, out_w, image.shape[2]))


def random_shift(key: Array | None, images: Array, max_shift: int, *, keys: Array | None = None) -> Array:
    """Shifts each image by random integer pixels in ``[-max_shift, max_shift]`` per axis, filling with 0."""
    _check_non_negative("max_shift", max_shift)
    if max_shift == 0:
        return images
    _, h, w, _ = images.shape
    return _map_examples(lambda k, im: _crop_one(k, im, max_shift, h, w), key, images, keys)


def random_crop(
    key: Array | None, images: Array, crop_size: int, pad: int = 0, *, keys: Array | None = None
) -> Array:
    """Zero-pads each image by ``pad`` and takes a random ``crop_size x crop_size`` crop."""
    _check_non_negative("pad", pad)
    _check_non_negative("crop_size", crop_size)
    _, h, w, _ = images.shape
    if crop_size < 1 or crop_size > min(h, w) + 2 * pad:
        raise JaxmlError(f"crop_size {crop_size} does not fit {h}x{w} images padded by {pad}")
    return _map_examples(lambda k, im: _crop_one(k, im, pad, crop_size, crop_size), key, images, keys)


def random_flip(key: Array | None, images: Array, *, keys: Array | None = None) -> Array:
    """Mirrors each image horizontally with probability 0.5."""

    def flip_one(k: Array, image: Array) -> Array:
        return jnp.where(jax.random.bernoulli(k), image[:, ::-1, :], image)

    return _map_examples(flip_one, key, images, keys)


def gaussian_noise(key: Array | None, images: Array, stddev: float, *, keys: Array | None = None) -> Array:
    """Adds zero-mean Gaussian noise with standard deviation ``stddev`` to every pixel."""

    def noise_one(k: Array, image: Array) -> Array:
        noise = jax.random.normal(k, image.shape, dtype=image.dtype)
        return image + jnp.asarray(stddev, image.dtype) * noise

    return _map_examples(noise_one, key, images, keys)


def mixup(key: Array, images: Array, labels_onehot: Array, alpha: float) -> tuple[Array, Array]:
    """Mixes the batch with a random permutation of itself, ``λ ~ Beta(alpha, alpha)`` per batch.

    This is a batch-level op: unlike the per-example ops it takes no per-example keys.
    """
    if isinstance(alpha, (int, float)) and alpha <= 0:
        raise JaxmlError(f"mixup alpha must be positive, got {alpha}")
    k_lam, k_perm = jax.random.split(key)
    lam = jax.random.beta(k_lam, alpha, alpha)
    perm = jax.random.permutation(k_perm, images.shape[0])
    lam_x = lam.astype(images.dtype)
    lam_y = lam.astype(labels_onehot.dtype)
    mixed_images = lam_x * images + (1 - lam_x) * images[perm]
    mixed_labels = lam_y * labels_onehot + (1 - lam_y) * labels_onehot[perm]
    return mixed_images, mixed_labels


def augment_batch(
    key: Array | None,
    images: Array,
    *,
    shift: int = 0,
    flip: bool = False,
    noise: float = 0.0,
    keys: Array | None = None,
) -> Array:
    """Applies the enabled per-example ops in order: random_shift, random_flip, gaussian_noise.

    ``shift``, ``flip`` and ``noise`` must be Python values (they choose which ops run).
    """
    if not shift and not flip and not noise:
        return images
    if keys is None:
        if key is None:
            raise JaxmlError("augment_batch needs a key or per-example keys")
        keys = per_example_keys(key, images.shape[0])
    op_keys = jax.vmap(lambda k: jax.random.split(k, 3))(keys)
    if shift:
        images = random_shift(None, images, shift, keys=op_keys[:, 0])
    if flip:
        images = random_flip(None, images, keys=op_keys[:, 1])
    if noise:
        images = gaussian_noise(None, images, noise, keys=op_keys[:, 2])
    return images
