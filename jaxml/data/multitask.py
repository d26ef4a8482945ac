"""Multi-task benchmarks: splits with one named array per input and per task target.

| benchmark        | input      | tasks (target arrays)                                                    |
|------------------|------------|--------------------------------------------------------------------------|
| `digits_parity`  | `image`    | `digit` (`label`, 10 classes), `parity` (`parity`, 2), `pixels` (`image`: per-pixel reconstruction of the 8x8 input) |
| `heteroscedastic`| `features` | `low_noise`, `high_noise`: 1-D regression, noise sigma 0.1 and 1.0 (known); noise-free `<task>_clean` |
| `gradnorm_toy`   | `features` | `task_0..task_{T-1}`: y_i = sigma_i tanh((B + eps_i) x) (Chen 2018), sigma_i spanning 1-100 |
| `multi_fashion`  | `image`    | `left` (`label_left`), `right` (`label_right`): Multi-Fashion-MNIST (Sener & Koltun's MultiMNIST construction) |
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Sequence

import jax
import numpy as np

from jaxml.core.registry import choose
from jaxml.data.datasets import Split, load_dataset

KINDS = ("classification", "regression", "pixel")


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """One task: its kind (`KINDS`; "pixel" is regression onto uint8 pixels read in [0, 1]), the output
    shape of its head (the class count for classification), the split array holding its target, and
    the array holding its noise-free target (synthetic regression) if there is one."""

    kind: str
    shape: tuple[int, ...]
    target: str
    clean: str | None = None


@dataclasses.dataclass
class Benchmark:
    """Train and test splits, the tasks, and the array the network reads (`input`). `eval_train`: also
    evaluate on the training split (its MSE is the residual variance); `task_scales`: the known output
    scale of each task (the GradNorm toy's sigma_i), in task order."""

    train: Split
    test: Split
    tasks: dict[str, TaskSpec]
    input: str
    eval_train: bool = False
    task_scales: np.ndarray | None = None


def heteroscedastic(seed: int, n_train: int = 4000, n_test: int = 2000, sigmas=(0.1, 1.0)) -> Benchmark:
    """Two 1-D regression tasks on x ~ U[-2, 2]^2 sharing structure, with noise sigma 0.1 and 1.0:
    f_low = sin(2 x0) cos(x1), f_high = cos(x0 + x1) + 0.5 x0 x1 / 2."""
    rng = np.random.default_rng([seed, 17])
    names = ("low_noise", "high_noise")

    def make(n):
        x = rng.uniform(-2, 2, size=(n, 2))
        f = np.stack([np.sin(2 * x[:, 0]) * np.cos(x[:, 1]), np.cos(x[:, 0] + x[:, 1]) + 0.25 * x[:, 0] * x[:, 1]], 1)
        y = f + rng.normal(size=f.shape) * np.asarray(sigmas)
        arrays = {"features": x.astype(np.float32)}
        for i, t in enumerate(names):
            arrays[t] = y[:, i:i + 1].astype(np.float32)
            arrays[f"{t}_clean"] = f[:, i:i + 1].astype(np.float32)
        return Split(arrays)

    tasks = {t: TaskSpec("regression", (1,), target=t, clean=f"{t}_clean") for t in names}
    return Benchmark(make(n_train), make(n_test), tasks, input="features", eval_train=True)


def gradnorm_toy(seed: int, num_tasks: int = 5, n_train: int = 5000, n_test: int = 1000,
                 scales: Sequence[float] | None = None) -> Benchmark:
    """Chen 2018's toy: x ~ N(0, 1)^250, y_i = sigma_i tanh((B + eps_i) x) in R^100 with B ~ N(0, 10)
    and eps_i ~ N(0, 3.5) elementwise (10 and 3.5 as variances, as in the paper), sigma_i log-spaced 1..100.
    Inputs and targets are standardised by the (B + eps_i) x scale so tanh is not saturated everywhere."""
    rng = np.random.default_rng([seed, 23])
    d_in, d_out = 250, 100
    sig = np.geomspace(1.0, 100.0, num_tasks) if scales is None else np.asarray(scales, np.float64)
    b = rng.normal(0, math.sqrt(10.0), (d_out, d_in))
    eps = rng.normal(0, math.sqrt(3.5), (num_tasks, d_out, d_in))
    names = [f"task_{i}" for i in range(num_tasks)]

    def make(n):
        x = rng.normal(size=(n, d_in))
        ys = [s * np.tanh((x @ (b + e).T) / math.sqrt(d_in * 13.5)) for s, e in zip(sig, eps)]
        return Split({"features": x.astype(np.float32), **{t: y.astype(np.float32) for t, y in zip(names, ys)}})

    tasks = {t: TaskSpec("regression", (d_out,), target=t) for t in names}
    return Benchmark(make(n_train), make(n_test), tasks, input="features", task_scales=sig)


def digits_parity(seed: int) -> Benchmark:
    """sklearn digits with three heads: the digit, its parity and a per-pixel reconstruction of the input."""
    data = load_dataset("digits", seed=seed)
    train, test = (s.replace(parity=np.asarray(s["label"]) % 2) for s in (data.train, data.test))
    tasks = {"digit": TaskSpec("classification", (10,), target="label"),
             "parity": TaskSpec("classification", (2,), target="parity"),
             "pixels": TaskSpec("pixel", data.train["image"].shape[1:], target="image")}
    return Benchmark(train, test, tasks, input="image")


def overlay_pairs(images: np.ndarray, labels: np.ndarray, partner: np.ndarray, canvas: int = 36,
                  size: int = 28) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MultiMNIST-style pairs: image i at the top-left and image partner[i] at the bottom-right of a
    canvas x canvas image (pixelwise max where they overlap), resized to size x size (bilinear).
    Returns uint8 [N, size, size, 1], the left labels and the right labels."""
    n, h, w = images.shape[:3]
    out = np.empty((n, size, size, 1), np.uint8)
    resize = jax.jit(lambda c: jax.image.resize(c, (c.shape[0], size, size), "bilinear", antialias=True))
    for lo in range(0, n, 5000):
        idx = np.arange(lo, min(lo + 5000, n))
        c = np.zeros((len(idx), canvas, canvas), np.float32)
        c[:, :h, :w] = images[idx, ..., 0]
        c[:, canvas - h:, canvas - w:] = np.maximum(c[:, canvas - h:, canvas - w:], images[partner[idx], ..., 0])
        out[idx, ..., 0] = np.clip(np.rint(np.asarray(resize(c))), 0, 255).astype(np.uint8)
    labels = np.asarray(labels, np.int32)
    return out, labels, labels[partner]


def multi_fashion(seed: int, data_dir: str | None) -> Benchmark:
    """Multi-Fashion-MNIST: every train (test) item on the left, a random other train (test) item on
    the right; 60k / 10k pairs."""
    data = load_dataset("fashion_mnist", data_dir=data_dir)
    rng = np.random.default_rng([seed, 31])
    splits = []
    for split in (data.train, data.test):
        n = len(split)
        partner = (np.arange(n) + rng.integers(1, n, size=n)) % n  # never the item itself
        image, left, right = overlay_pairs(split["image"], split["label"], partner)
        splits.append(Split(image=image, label_left=left, label_right=right))
    tasks = {"left": TaskSpec("classification", (10,), target="label_left"),
             "right": TaskSpec("classification", (10,), target="label_right")}
    return Benchmark(splits[0], splits[1], tasks, input="image")


@functools.lru_cache(maxsize=2)
def _multi_fashion_cached(seed: int, data_dir: str) -> Benchmark:
    return multi_fashion(seed, data_dir or None)


BENCHMARKS = {
    "digits_parity": lambda seed, data_dir, toy_tasks: digits_parity(seed),
    "heteroscedastic": lambda seed, data_dir, toy_tasks: heteroscedastic(seed),
    "gradnorm_toy": lambda seed, data_dir, toy_tasks: gradnorm_toy(seed, num_tasks=toy_tasks),
    "multi_fashion": lambda seed, data_dir, toy_tasks: _multi_fashion_cached(seed, data_dir),
}


def load_benchmark(name: str, *, seed: int, data_dir: str = "", toy_tasks: int = 5) -> Benchmark:
    """The benchmark `name` (`config.benchmark`) built from `seed` (and `data_dir`, `toy_tasks` where used)."""
    return choose(BENCHMARKS, name, "config.benchmark")(seed, data_dir or "", int(toy_tasks))
