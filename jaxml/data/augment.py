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


# ------------------------------------------------------------------ views for self- and semi-supervision
# The ops below take images with pixel values in [0, 1] (before standardisation) and return images in
# [0, 1]: fills are 0 (the background of Fashion-MNIST and digits), every op clips its output.


def _warp_one(image: Array, matrix: Array, offset: Array) -> Array:
    """Bilinear resampling of one ``[H, W, C]`` image: output pixel ``(i, j)`` reads the input at
    ``matrix @ (i, j) + offset`` (zero outside)."""
    h, w, _ = image.shape
    ii, jj = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32), jnp.arange(w, dtype=jnp.float32), indexing="ij")
    grid = jnp.stack([ii.ravel(), jj.ravel()])
    coords = matrix @ grid + offset[:, None]
    sample = lambda channel: jax.scipy.ndimage.map_coordinates(channel, [coords[0], coords[1]], order=1,
                                                                mode="constant", cval=0.0)
    out = jax.vmap(sample, in_axes=2, out_axes=1)(image)
    return out.reshape(image.shape).astype(image.dtype)


def _centred_warp(image: Array, matrix: Array, shift: Array) -> Array:
    """``_warp_one`` about the image centre: input = matrix @ (out - c) + c + shift."""
    h, w, _ = image.shape
    centre = jnp.array([(h - 1) / 2.0, (w - 1) / 2.0], jnp.float32)
    return _warp_one(image, matrix, centre - matrix @ centre + shift)


def _resized_crop_one(key: Array, image: Array, min_scale: float, log_ratio: float) -> Array:
    """One random resized crop (Szegedy et al. 2015; SimCLR's main augmentation): a box of area
    ``U(min_scale, 1)`` of the image and aspect ratio ``exp(U(-log_ratio, log_ratio))``, resized back."""
    h, w, _ = image.shape
    k_area, k_ratio, k_y, k_x = jax.random.split(key, 4)
    area = jax.random.uniform(k_area, (), minval=min_scale, maxval=1.0)
    ratio = jnp.exp(jax.random.uniform(k_ratio, (), minval=-log_ratio, maxval=log_ratio))
    box_h = jnp.minimum(jnp.sqrt(area / ratio), 1.0) * h
    box_w = jnp.minimum(jnp.sqrt(area * ratio), 1.0) * w
    top = jax.random.uniform(k_y, ()) * (h - box_h)
    left = jax.random.uniform(k_x, ()) * (w - box_w)
    scale = jnp.stack([box_h / h, box_w / w])
    offset = jnp.stack([top, left]) + 0.5 * scale - 0.5  # pixel centres of the box
    return _warp_one(image, jnp.diag(scale), offset)


def random_resized_crop(key: Array | None, images: Array, min_scale: float, max_log_ratio: float = 0.2877,
                        *, keys: Array | None = None) -> Array:
    """Crops each image to a random box (area fraction in ``[min_scale, 1]``, log aspect ratio in
    ``[-max_log_ratio, max_log_ratio]``; default ln(4/3)) and resizes it back to ``H x W`` (bilinear)."""
    if not 0.0 < min_scale <= 1.0:
        raise JaxmlError(f"random_resized_crop min_scale must be in (0, 1], got {min_scale}")
    return _map_examples(lambda k, im: _resized_crop_one(k, im, min_scale, max_log_ratio), key, images, keys)


def brightness_contrast(key: Array | None, images: Array, brightness: float, contrast: float, *,
                        keys: Array | None = None) -> Array:
    """Per image: pixels times ``1 + U(-brightness, brightness)``, then contrast about the image's mean
    by ``1 + U(-contrast, contrast)``; clipped to [0, 1]."""

    def one(k: Array, image: Array) -> Array:
        kb, kc = jax.random.split(k)
        b = 1.0 + jax.random.uniform(kb, (), minval=-brightness, maxval=brightness)
        c = 1.0 + jax.random.uniform(kc, (), minval=-contrast, maxval=contrast)
        x = image * b
        mean = jnp.mean(x)
        return jnp.clip((x - mean) * c + mean, 0.0, 1.0).astype(image.dtype)

    return _map_examples(one, key, images, keys)


def _cutout_one(key: Array, image: Array, size: int) -> Array:
    """Zeroes the ``size x size`` square (cut at the border) around a uniformly random centre pixel
    (DeVries & Taylor 2017)."""
    h, w, _ = image.shape
    cy, cx = jax.random.randint(key, (2,), 0, jnp.array([h, w]))
    top, left = cy - size // 2, cx - size // 2
    ii, jj = jnp.arange(h)[:, None], jnp.arange(w)[None, :]
    inside = (ii >= top) & (ii < top + size) & (jj >= left) & (jj < left + size)
    return jnp.where(inside[:, :, None], jnp.zeros((), image.dtype), image)


def cutout(key: Array | None, images: Array, size: int, *, keys: Array | None = None) -> Array:
    """Zeroes one random ``size x size`` square of each image (0: unchanged)."""
    _check_non_negative("cutout size", size)
    if size == 0:
        return images
    return _map_examples(lambda k, im: _cutout_one(k, im, size), key, images, keys)


def view_augment(key: Array | None, images: Array, *, crop_scale: float = 0.0, shift: int = 0, flip: bool = False,
                 brightness: float = 0.0, contrast: float = 0.0, cutout_size: int = 0, noise: float = 0.0,
                 keys: Array | None = None) -> Array:
    """One random view of each [0, 1] image, the enabled ops in order: resized crop (``crop_scale`` > 0
    is its minimum area fraction), shift, flip, brightness / contrast, cutout, gaussian noise, clip to
    [0, 1]. Two calls with different keys give the two views of SimCLR / BYOL. The switches are static."""
    if keys is None:
        if key is None:
            raise JaxmlError("view_augment needs a key or per-example keys")
        keys = per_example_keys(key, images.shape[0])
    op_keys = jax.vmap(lambda k: jax.random.split(k, 6))(keys)
    if crop_scale:
        images = random_resized_crop(None, images, crop_scale, keys=op_keys[:, 0])
    if shift:
        images = random_shift(None, images, shift, keys=op_keys[:, 1])
    if flip:
        images = random_flip(None, images, keys=op_keys[:, 2])
    if brightness or contrast:
        images = brightness_contrast(None, images, brightness, contrast, keys=op_keys[:, 3])
    if cutout_size:
        images = cutout(None, images, cutout_size, keys=op_keys[:, 4])
    if noise:
        images = gaussian_noise(None, images, noise, keys=op_keys[:, 5])
    return jnp.clip(images, 0.0, 1.0)


# RandAugment-like strong augmentation (Cubuk et al. 2020, as FixMatch uses it: each op's magnitude drawn
# uniformly per example). Each op is `op(image, m, sign) -> image` with magnitude m in [0, 1], sign +-1.

def _rotate(image, m, sign):
    angle = sign * m * jnp.pi / 6  # up to 30 degrees
    c, s = jnp.cos(angle), jnp.sin(angle)
    return _centred_warp(image, jnp.array([[c, -s], [s, c]]), jnp.zeros(2))


def _shear(axis):
    def op(image, m, sign):
        shear = sign * 0.3 * m
        matrix = jnp.eye(2).at[axis, 1 - axis].set(shear)
        return _centred_warp(image, matrix, jnp.zeros(2))
    return op


def _translate(axis):
    def op(image, m, sign):
        return _centred_warp(image, jnp.eye(2), jnp.zeros(2).at[axis].set(sign * 0.3 * m * image.shape[axis]))
    return op


def _autocontrast(image, m, sign):
    lo, hi = jnp.min(image), jnp.max(image)
    return jnp.where(hi > lo, (image - lo) / jnp.maximum(hi - lo, 1e-6), image)


def _solarize(image, m, sign):
    return jnp.where(image >= 1.0 - m, 1.0 - image, image)


def _posterize(image, m, sign):
    levels = 2.0 ** jnp.round(8.0 - 4.0 * m)  # 8 .. 4 bits
    return jnp.floor(image * (levels - 1) + 0.5) / (levels - 1)


def _scale_about_mean(image, factor):
    return (image - jnp.mean(image)) * factor + jnp.mean(image)


def _contrast(image, m, sign):
    return _scale_about_mean(image, 1.0 + sign * 0.9 * m)


def _brightness(image, m, sign):
    return image * (1.0 + sign * 0.9 * m)


def _sharpness(image, m, sign):
    kernel = jnp.array([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]) / 13.0
    blur = jax.vmap(lambda ch: jax.scipy.signal.convolve2d(ch, kernel, mode="same"), in_axes=2, out_axes=2)(image)
    return blur + (1.0 + sign * 0.9 * m) * (image - blur)


def _identity(image, m, sign):
    return image


STRONG_OPS: tuple[Callable, ...] = (_identity, _autocontrast, _brightness, _contrast, _sharpness, _posterize,
                                    _solarize, _rotate, _shear(0), _shear(1), _translate(0), _translate(1))
"""The RandAugment-like op set on [0, 1] images (colour ops that need RGB are left out)."""


def rand_augment(key: Array | None, images: Array, num_ops: int = 2, cutout_size: int = 0, *,
                 keys: Array | None = None) -> Array:
    """Strong augmentation: per image, ``num_ops`` ops drawn uniformly from ``STRONG_OPS``, each with a
    magnitude ``U(0, 1)`` and a random sign, then cutout of ``cutout_size`` (FixMatch's RandAugment +
    Cutout); output clipped to [0, 1]."""
    _check_non_negative("num_ops", num_ops)

    def one(k: Array, image: Array) -> Array:
        k_ops, k_cut = jax.random.split(k)
        for k_op in jax.random.split(k_ops, num_ops):
            k_which, k_mag, k_sign = jax.random.split(k_op, 3)
            which = jax.random.randint(k_which, (), 0, len(STRONG_OPS))
            m = jax.random.uniform(k_mag, ())
            sign = jnp.where(jax.random.bernoulli(k_sign), 1.0, -1.0)
            image = jnp.clip(lax.switch(which, STRONG_OPS, image, m, sign), 0.0, 1.0).astype(image.dtype)
        if cutout_size:
            image = _cutout_one(k_cut, image, cutout_size)
        return image

    return _map_examples(one, key, images, keys)
