"""Deterministic, resumable batching on the host.

The example order of an epoch is a function of ``(seed, epoch)`` only and the position
within it a function of ``step`` only, so any step's batch can be rebuilt after a restart
and does not depend on how steps are grouped into calls. Incomplete final batches of an
epoch are dropped for training; evaluation pads and returns a mask instead.
"""

from __future__ import annotations

import functools

import numpy as np

from jaxml.data.datasets import Split
from jaxml.errors import JaxmlError


@functools.lru_cache(maxsize=4)
def _cached_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """Read-only permutation of ``range(n)`` for ``(seed, epoch)``, cached."""
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    perm.flags.writeable = False
    return perm


def epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order of examples in ``epoch``: ``default_rng([seed, epoch]).permutation(n)`` (read-only)."""
    if seed < 0 or epoch < 0 or n < 0:
        raise JaxmlError(f"epoch_permutation needs non-negative seed, epoch and n, got {seed}, {epoch}, {n}")
    return _cached_permutation(int(seed), int(epoch), int(n))


def steps_per_epoch(n: int, global_batch: int) -> int:
    """Full batches per epoch (the remainder is dropped); JaxmlError if there are none."""
    if global_batch <= 0:
        raise JaxmlError(f"Batch size must be positive, got {global_batch}")
    steps = n // global_batch
    if steps == 0:
        raise JaxmlError(f"Batch size {global_batch} is larger than the {n} training examples")
    return steps


def global_batch_indices(step: int, *, n: int, global_batch: int, seed: int) -> np.ndarray:
    """Example indices (``[global_batch]``) of the global batch for ``step``."""
    if step < 0:
        raise JaxmlError(f"Step must be non-negative, got {step}")
    epoch, position = divmod(step, steps_per_epoch(n, global_batch))
    perm = epoch_permutation(seed, epoch, n)
    return perm[position * global_batch : (position + 1) * global_batch].copy()


def _check_processes(global_batch: int, process_index: int, process_count: int) -> int:
    """Validates the process layout and returns the per-process batch size."""
    if process_count <= 0 or not 0 <= process_index < process_count:
        raise JaxmlError(f"Bad process index {process_index} for {process_count} processes")
    if global_batch % process_count:
        raise JaxmlError(f"Global batch {global_batch} is not divisible by {process_count} processes")
    return global_batch // process_count


def process_slice(indices: np.ndarray, process_index: int, process_count: int) -> np.ndarray:
    """This process's contiguous share of ``indices`` (along the first axis)."""
    per_process = _check_processes(len(indices), process_index, process_count)
    return indices[process_index * per_process : (process_index + 1) * per_process]


def gather(split: Split, indices: np.ndarray) -> dict[str, np.ndarray]:
    """The examples at ``indices`` (any shape) of every named array of ``split``."""
    return split.gather(indices)


def train_batches(
    split: Split,
    *,
    start_step: int,
    num_steps: int,
    global_batch: int,
    seed: int,
    process_index: int = 0,
    process_count: int = 1,
) -> dict[str, np.ndarray]:
    """This process's batches for steps ``[start_step, start_step + num_steps)``.

    Returns arrays with leading dims ``[num_steps, global_batch // process_count]``.
    """
    if start_step < 0 or num_steps < 0:
        raise JaxmlError(f"Bad step range: start {start_step}, {num_steps} steps")
    n = len(split)
    spe = steps_per_epoch(n, global_batch)
    per_process = _check_processes(global_batch, process_index, process_count)
    lo = process_index * per_process
    rows: list[np.ndarray] = []
    step, end = start_step, start_step + num_steps
    while step < end:
        epoch, position = divmod(step, spe)
        count = min(end - step, spe - position)
        perm = epoch_permutation(seed, epoch, n)
        block = perm[position * global_batch : (position + count) * global_batch].reshape(count, global_batch)
        rows.append(block[:, lo : lo + per_process])
        step += count
    indices = np.concatenate(rows) if rows else np.zeros((0, per_process), dtype=np.int64)
    return gather(split, indices)


def eval_batches(
    split: Split,
    *,
    global_batch: int,
    process_index: int = 0,
    process_count: int = 1,
) -> dict[str, np.ndarray]:
    """The whole split in order, padded to full global batches, with a float32 ``"mask"``.

    Returns arrays with leading dims ``[num_batches, global_batch // process_count]``; each
    process gets its contiguous slice of every global batch. ``mask`` is 1 for real
    examples and 0 for padding (padding repeats example 0).
    """
    if global_batch <= 0:
        raise JaxmlError(f"Batch size must be positive, got {global_batch}")
    per_process = _check_processes(global_batch, process_index, process_count)
    n = len(split)
    if n == 0:
        raise JaxmlError("Cannot evaluate on an empty split")
    num_batches = -(-n // global_batch)
    padded = num_batches * global_batch
    indices = np.zeros(padded, dtype=np.int64)
    indices[:n] = np.arange(n)
    mask = np.zeros(padded, dtype=np.float32)
    mask[:n] = 1.0
    lo = process_index * per_process
    indices = indices.reshape(num_batches, global_batch)[:, lo : lo + per_process]
    mask = mask.reshape(num_batches, global_batch)[:, lo : lo + per_process]
    return {**gather(split, indices), "mask": np.ascontiguousarray(mask)}
