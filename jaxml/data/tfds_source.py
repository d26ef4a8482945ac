"""TensorFlow Datasets source: reads a prepared TFDS dataset into host memory via ``tfds.data_source``.

``tfds.data_source`` gives random-access (ArrayRecord) sources and does not need TensorFlow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jaxml.data.datasets import Dataset, Split
from jaxml.errors import JaxmlError

SPLITS: tuple[str, str] = ("train", "test")


def _import_tfds() -> Any:
    """Imports tensorflow_datasets, or raises a JaxmlError saying how to install it."""
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise JaxmlError(
            f"tfds datasets need tensorflow_datasets, which is not importable ({e}); "
            "install it with `pip install -e '.[tfds]'`."
        ) from e
    return tfds


def _source_to_split(source: Any, name: str, split: str) -> Split:
    """Reads every ``image``/``label`` record of a random-access source into a Split."""
    n = len(source)
    if n == 0:
        raise JaxmlError(f"tfds:{name} split {split!r} is empty")
    images, labels = [], []
    for i in range(n):
        example = source[i]
        if "image" not in example or "label" not in example:
            raise JaxmlError(
                f"tfds:{name} has features {sorted(example)}; jaxml needs 'image' and 'label'"
            )
        images.append(np.asarray(example["image"]))
        labels.append(np.asarray(example["label"]))
    image_array = np.stack(images)
    if image_array.ndim == 3:
        image_array = image_array[..., None]
    if image_array.ndim != 4 or image_array.dtype != np.uint8:
        raise JaxmlError(
            f"tfds:{name} images have shape {image_array.shape[1:]} and dtype {image_array.dtype}; "
            "jaxml needs uint8 [H, W, C]"
        )
    return Split(image=image_array, label=np.asarray(labels).astype(np.int32).reshape(n))


def load_tfds(name: str, data_dir: str | None = None) -> Dataset:
    """Loads the ``train`` and ``test`` splits of TFDS dataset ``name`` into a Dataset."""
    tfds = _import_tfds()
    try:
        sources = tfds.data_source(name, split=list(SPLITS), data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as e:
        raise JaxmlError(
            f"Unknown TFDS dataset {name!r}; see https://www.tensorflow.org/datasets/catalog for names"
        ) from e
    train_source, test_source = sources
    features = train_source.dataset_info.features
    if "image" not in features or "label" not in features:
        raise JaxmlError(f"tfds:{name} has features {sorted(features)}; jaxml needs 'image' and 'label'")
    label_feature = features["label"]
    num_classes = int(getattr(label_feature, "num_classes", 0) or 0)
    if num_classes < 2:
        raise JaxmlError(f"tfds:{name} 'label' is not a class label with at least 2 classes")
    names = tuple(str(n) for n in (label_feature.names or ()))
    class_names = names if len(names) == num_classes else tuple(str(i) for i in range(num_classes))
    return Dataset(
        name=f"tfds:{name}",
        train=_source_to_split(train_source, name, "train"),
        test=_source_to_split(test_source, name, "test"),
        num_classes=num_classes,
        class_names=class_names,
    )
