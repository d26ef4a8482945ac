"""Host-side datasets: the built-in ``digits``, ``fashion_mnist`` from IDX files, and ``tfds:<name>``."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
from typing import Any, Mapping

import numpy as np

from jaxml.data.idx import read_idx
from jaxml.errors import JaxmlError

DATASETS: tuple[str, ...] = ("digits", "fashion_mnist")
"""Built-in dataset names; ``"tfds:<name>"`` is accepted as well."""

TFDS_PREFIX = "tfds:"
DATA_DIR_ENV = "JAXML_DATA_DIR"
SYSTEM_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"

FASHION_MNIST_FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


class Split:
    """One split held on the host: named arrays of equal length (the batch contract).

    ``Split(image=uint8 [N, H, W, C], label=int32 [N])`` for image classification; any other names
    (``tokens``, ``targets``, ``lengths``, ``language``, ``user``, ``item``, ``audio``, ...) a method
    needs. A value is a numpy array or an array-like with ``shape``, ``dtype`` and ``__getitem__``
    on an index array (examples built on indexing, e.g. meta-learning episodes). Batching, resumable
    order, per-process slicing, eval masking and sharding work for any keys (``data/batching.py``).
    ``mask`` is reserved for the eval batches' padding mask. Equality and hashing are by identity.
    """

    __slots__ = ("_arrays",)

    def __init__(self, arrays: Mapping[str, Any] | None = None, /, **named: Any) -> None:
        if arrays is not None and not isinstance(arrays, Mapping):
            raise JaxmlError("a Split takes named arrays: Split(image=..., label=...) or Split({name: array, ...})")
        arrays = {**(dict(arrays) if arrays is not None else {}), **named}
        if not arrays:
            raise JaxmlError("a Split needs at least one named array")
        if "mask" in arrays:
            raise JaxmlError("'mask' is reserved for the eval padding mask; name the array otherwise")
        lengths = {k: int(v.shape[0]) if getattr(v, "ndim", 1) else -1 for k, v in arrays.items()}
        if len(set(lengths.values())) != 1 or -1 in lengths.values():
            shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in arrays.items())
            raise JaxmlError(f"Split arrays disagree in length: {shapes}")
        object.__setattr__(self, "_arrays", arrays)

    def __setattr__(self, name, value):
        raise AttributeError("Split is immutable; build a new one with .replace(...) or .take(...)")

    def __getitem__(self, key: str) -> Any:
        try:
            return self._arrays[key]
        except KeyError:
            raise JaxmlError(f"this split has no array {key!r}; it holds {', '.join(self._arrays)}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._arrays

    def __len__(self) -> int:
        """Number of examples."""
        return int(next(iter(self._arrays.values())).shape[0])

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={getattr(v, 'dtype', '?')}{list(v.shape)}" for k, v in self._arrays.items())
        return f"Split({inner})"

    def keys(self) -> tuple[str, ...]:
        return tuple(self._arrays)

    def items(self):
        return self._arrays.items()

    def take(self, indices: np.ndarray) -> "Split":
        """The examples at ``indices`` (a 1-D index array) of every array, as a new Split."""
        return Split({k: v[indices] for k, v in self._arrays.items()})

    def replace(self, **arrays: Any) -> "Split":
        """A Split with these arrays added or replaced (``name=None`` drops one)."""
        merged = {**self._arrays, **arrays}
        return Split({k: v for k, v in merged.items() if v is not None})

    def gather(self, indices: np.ndarray) -> dict[str, np.ndarray]:
        """``{name: array[indices]}`` for an index array of any shape (the batching primitive)."""
        return {k: np.asarray(v[indices]) for k, v in self._arrays.items()}


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A named dataset with a train and a test split."""

    name: str
    train: Split
    test: Split
    num_classes: int
    class_names: tuple[str, ...]


def _readonly(array: np.ndarray) -> np.ndarray:
    """Marks ``array`` read-only (cached arrays are shared between callers) and returns it."""
    array.flags.writeable = False
    return array


def _subset(images: np.ndarray, labels: np.ndarray, indices: np.ndarray) -> Split:
    """Returns the examples at ``indices`` as an image/label Split."""
    return Split(image=images[indices], label=labels[indices])


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Loads sklearn digits as uint8 [N, 8, 8, 1] images (0..16 scaled to 0..255) and int32 labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.rint(np.asarray(bunch.images, dtype=np.float64) * (255.0 / 16.0))
    images = np.clip(images, 0, 255).astype(np.uint8)[..., None]
    labels = np.asarray(bunch.target, dtype=np.int32)
    return _readonly(images), _readonly(labels)


def _load_digits(seed: int) -> Dataset:
    """The sklearn digits data with a stratified 80/20 train/test split seeded by ``seed``."""
    from sklearn.model_selection import train_test_split

    images, labels = _digits_arrays()
    train_idx, test_idx = train_test_split(
        np.arange(len(labels)), test_size=0.2, random_state=seed, stratify=labels
    )
    return Dataset(
        name="digits",
        train=_subset(images, labels, np.sort(train_idx)),
        test=_subset(images, labels, np.sort(test_idx)),
        num_classes=10,
        class_names=tuple(str(d) for d in range(10)),
    )


def _fashion_mnist_candidates(data_dir: str | None) -> list[str]:
    """Directories searched for the Fashion-MNIST IDX files, in order."""
    candidates: list[str] = []
    roots = [data_dir, os.environ.get(DATA_DIR_ENV)]
    for root in roots:
        if root:
            root = os.path.expanduser(root)
            candidates += [root, os.path.join(root, "fashion-mnist")]
    candidates.append(SYSTEM_FASHION_MNIST_DIR)
    return list(dict.fromkeys(candidates))


def _find_file(directory: str, filename: str) -> str | None:
    """Path of ``filename`` (or its uncompressed variant) in ``directory``, if present."""
    for name in (filename, filename.removesuffix(".gz")):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    return None


@functools.lru_cache(maxsize=4)
def _fashion_mnist_arrays(directory: str) -> dict[str, np.ndarray]:
    """Decodes the four Fashion-MNIST IDX files in ``directory`` (cached per directory)."""
    arrays: dict[str, np.ndarray] = {}
    for key, filename in FASHION_MNIST_FILES.items():
        path = _find_file(directory, filename)
        assert path is not None  # Checked by the caller.
        arrays[key] = read_idx(path)
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or images.dtype != np.uint8 or labels.ndim != 1 or len(images) != len(labels):
            raise JaxmlError(
                f"Fashion-MNIST {part} files in {directory} are malformed: "
                f"images {images.shape} {images.dtype}, labels {labels.shape}"
            )
        if labels.size and (labels.min() < 0 or labels.max() >= len(FASHION_MNIST_CLASSES)):
            raise JaxmlError(f"Fashion-MNIST {part} labels in {directory} are outside 0..9")
        arrays[f"{part}_images"] = _readonly(images[..., None])
        arrays[f"{part}_labels"] = _readonly(labels.astype(np.int32))
    return arrays


def _load_fashion_mnist(data_dir: str | None) -> Dataset:
    """Fashion-MNIST from the first searched directory holding all four IDX files."""
    candidates = _fashion_mnist_candidates(data_dir)
    for directory in candidates:
        if all(_find_file(directory, f) is not None for f in FASHION_MNIST_FILES.values()):
            arrays = _fashion_mnist_arrays(os.path.abspath(directory))
            return Dataset(
                name="fashion_mnist",
                train=Split(image=arrays["train_images"], label=arrays["train_labels"]),
                test=Split(image=arrays["test_images"], label=arrays["test_labels"]),
                num_classes=len(FASHION_MNIST_CLASSES),
                class_names=FASHION_MNIST_CLASSES,
            )
    raise JaxmlError(
        f"Fashion-MNIST not found (searched: {', '.join(candidates)}). "
        "Install it with `sudo apt-get install dataset-fashion-mnist`, "
        f"or set {DATA_DIR_ENV} to a folder holding the four IDX .gz files "
        f"({', '.join(FASHION_MNIST_FILES.values())}); "
        "or use the built-in dataset with --config.dataset=digits."
    )


def load_dataset(name: str, *, data_dir: str | None = None, seed: int = 0) -> Dataset:
    """Loads dataset ``name`` (one of DATASETS, or ``"tfds:<name>"``).

    ``seed`` only affects datasets without a fixed train/test split (digits).
    """
    if name == "digits":
        return _load_digits(seed)
    if name == "fashion_mnist":
        return _load_fashion_mnist(data_dir)
    if name.startswith(TFDS_PREFIX) and len(name) > len(TFDS_PREFIX):
        from jaxml.data.tfds_source import load_tfds

        return load_tfds(name[len(TFDS_PREFIX) :], data_dir)
    close = difflib.get_close_matches(name, DATASETS, n=2)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise JaxmlError(
        f"Unknown dataset {name!r}; choose one of {', '.join(DATASETS)} or tfds:<name>.{hint}"
    )


def split_validation(split: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """Splits off a random ``fraction`` of ``split`` as validation; returns ``(train, validation)``.

    The examples are chosen by a permutation seeded with ``seed``; both parts keep the
    original order of their examples.
    """
    n = len(split)
    if not 0.0 < fraction < 1.0:
        raise JaxmlError(f"Validation fraction must be in (0, 1), got {fraction}")
    num_val = int(round(n * fraction))
    if num_val < 1 or num_val >= n:
        raise JaxmlError(f"Validation fraction {fraction} of {n} examples leaves an empty part")
    perm = np.random.default_rng(seed).permutation(n)
    val_idx, train_idx = np.sort(perm[:num_val]), np.sort(perm[num_val:])
    return split.take(train_idx), split.take(val_idx)


def hold_out(split: Split, count: int, seed: int, key: str) -> tuple[Split, Split]:
    """``(rest, held_out)``: ``count`` examples of ``split`` held out (validation, calibration), chosen
    as `split_validation` chooses them; a ``count`` that leaves nothing to train on is a JaxmlError
    naming the config ``key``."""
    if count >= len(split):
        raise JaxmlError(f"{key}={count} must be below the {len(split)} training examples")
    return split_validation(split, count / len(split), seed)


def validation_as_test(data: Dataset, count: int, seed: int, key: str) -> Dataset:
    """``data`` with ``count`` > 0 training examples (`hold_out`, drawn by ``seed``) taking the test
    split's place, so that a run choosing settings never sees the test set; ``count`` = 0 is ``data``
    unchanged. ``key`` names the config key in errors."""
    if count < 0:
        raise JaxmlError(f"{key}={count} must be >= 0 (0: evaluate on the test split)")
    if count == 0:
        return data
    rest, held = hold_out(data.train, count, seed, key)
    return dataclasses.replace(data, train=rest, test=held)


def per_class_indices(labels: np.ndarray, per_class: int, num_classes: int, seed: int) -> np.ndarray:
    """Indices of ``per_class`` examples of each class of ``labels``, drawn by a permutation per class
    from ``np.random.default_rng(seed)`` (class-major order: all of class 0, then class 1, ...)."""
    if per_class < 1:
        raise JaxmlError(f"per_class must be >= 1, got {per_class}")
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(num_classes):
        members = np.flatnonzero(np.asarray(labels) == k)
        if len(members) < per_class:
            raise JaxmlError(f"class {k} has {len(members)} examples, fewer than the {per_class} per class asked for")
        parts.append(rng.permutation(members)[:per_class])
    return np.concatenate(parts)


def per_class_subset(split: Split, per_class: int, num_classes: int, seed: int) -> Split:
    """``per_class`` examples of each class of ``split`` (`per_class_indices`)."""
    return split.take(per_class_indices(np.asarray(split["label"]), per_class, num_classes, seed))
