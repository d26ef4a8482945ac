"""Choosing k: the elbow (inertia against k) and the mean silhouette against k, and their plot.

The k values are looped in Python, one jitted k-means per k (its n_init restarts vmapped inside):
k is the shape of the centre array, so vmapping over k would mean padding every fit to the largest k
with masked centres -- each small k would then pay for k_max centres in every distance computation,
and the k-means++ trial count (2 + int(log k)) would have to be padded too. The curves have ~10-20
points; one compilation per k is the smaller cost.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import jax
import numpy as np

from jaxml.classic.cluster_metrics import silhouette_score
from jaxml.classic.kmeans import kmeans
from jaxml.classic.points import Points
from jaxml.core.plots import pyplot, save_figure


def k_curves(key: jax.Array, points: Points, ks: Sequence[int], *, init: str = "k-means++", n_init: int = 4,
             max_iter: int = 300, tol: float = 1e-4) -> dict[str, list]:
    """{"k": [...], "inertia": [...], "silhouette": [...]} of k-means for every k in `ks` (k = 1 has no
    silhouette: NaN)."""
    out: dict[str, list] = {"k": [], "inertia": [], "silhouette": []}
    num_labels = max(int(k) for k in ks)  # one silhouette compilation for every k (labels < k <= num_labels)
    for k in ks:
        result = kmeans(jax.random.fold_in(key, int(k)), points, int(k), init=init, n_init=n_init,
                        max_iter=max_iter, tol=tol)
        sil = silhouette_score(points.x, result.labels, num_labels, points.w) if k > 1 else float("nan")
        out["k"].append(int(k))
        out["inertia"].append(float(result.inertia))
        out["silhouette"].append(float(sil))
    return out


def plot_k_curves(curves: dict[str, list], out: str | Path, title: str = "",
                  reference: dict[str, list] | None = None) -> Path:
    """Elbow and silhouette panels side by side; `reference` (same keys) is drawn dashed beside them."""
    plt = pyplot()
    fig, (ax_in, ax_sil) = plt.subplots(1, 2, figsize=(9, 3.4))
    for curves_, style, label in ((curves, "o-", "jaxml"), (reference, "s--", "scikit-learn (reference)")):
        if not curves_:
            continue
        ax_in.plot(curves_["k"], curves_["inertia"], style, ms=3, label=label)
        ax_sil.plot(curves_["k"], curves_["silhouette"], style, ms=3, label=label)
    ax_in.set_xlabel("k"); ax_in.set_ylabel("inertia"); ax_in.set_title("elbow"); ax_in.grid(alpha=0.3)
    ax_sil.set_xlabel("k"); ax_sil.set_ylabel("mean silhouette"); ax_sil.set_title("silhouette"); ax_sil.grid(alpha=0.3)
    best = int(np.nanargmax(curves["silhouette"])) if np.any(np.isfinite(curves["silhouette"])) else None
    if best is not None:
        ax_sil.axvline(curves["k"][best], color="gray", lw=0.8, ls=":")
    ax_in.legend(); ax_sil.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, out, dpi=90)
