"""Data loading, deterministic batching and augmentation for jaxml."""

from jaxml.data.augment import (
    augment_batch,
    gaussian_noise,
    mixup,
    per_example_keys,
    random_crop,
    random_flip,
    random_shift,
)
from jaxml.data.batching import (
    epoch_permutation,
    eval_batches,
    gather,
    global_batch_indices,
    process_slice,
    steps_per_epoch,
    train_batches,
)
from jaxml.data.datasets import DATASETS, Dataset, Split, load_dataset, split_validation
from jaxml.data.idx import read_idx, write_idx

__all__ = [
    "DATASETS",
    "Dataset",
    "Split",
    "augment_batch",
    "epoch_permutation",
    "eval_batches",
    "gather",
    "gaussian_noise",
    "global_batch_indices",
    "load_dataset",
    "mixup",
    "per_example_keys",
    "process_slice",
    "random_crop",
    "random_flip",
    "random_shift",
    "read_idx",
    "split_validation",
    "steps_per_epoch",
    "train_batches",
    "write_idx",
]
