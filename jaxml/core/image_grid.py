"""`save_image_grid`: a square grid of images (samples of a generator, reconstructions) as a PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jaxml.core.plots import pyplot, save_figure


def save_image_grid(images01: np.ndarray, out: str | Path, rows: int = 10, title: str = "") -> Path:
    """The first rows × rows images [N, S, S, C] in [0, 1], row-major, as one PNG (matplotlib, headless)."""
    plt = pyplot()
    n = rows * rows
    x = np.asarray(images01[:n])
    s, c = x.shape[1], x.shape[-1]
    grid = x.reshape(rows, rows, s, s, c).transpose(0, 2, 1, 3, 4).reshape(rows * s, rows * s, c)
    fig = plt.figure(figsize=(3, 3.2 if title else 3))
    plt.imshow(grid[..., 0] if c == 1 else grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    plt.axis("off")
    if title:
        plt.title(title, fontsize=8)
    return save_figure(fig, out, dpi=100, bbox_inches="tight")
