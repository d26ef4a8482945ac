"""Segment profiles: what each found cluster looks like in the original feature units, which planted
segment it recovers, and a heat map of the profiles beside a 2-D projection of the points.

`segment_profiles` is numpy on the host (a table of k rows); the projection is the points' first two
principal components (`jnp.linalg.svd` of the centred standardised data).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import jax.numpy as jnp
import numpy as np

from jaxml.core.plots import pyplot, save_figure


def segment_profiles(raw: np.ndarray, labels: np.ndarray, k: int, features: Sequence[str],
                     planted: np.ndarray | None = None, planted_names: Sequence[str] = ()) -> list[dict]:
    """One row per found segment, largest first: `segment` (the cluster id), `size`, `share`, the mean
    and median of every feature in raw units (`<feature>_mean`, `<feature>_median`), and with `planted`
    the planted segment most of its members come from (`planted`) and that share (`purity`)."""
    rows = []
    for c in range(k):
        members = labels == c
        row = {"segment": c, "size": int(members.sum()), "share": float(members.mean())}
        for j, name in enumerate(features):
            values = raw[members, j]
            row[f"{name}_mean"] = float(values.mean()) if len(values) else float("nan")
            row[f"{name}_median"] = float(np.median(values)) if len(values) else float("nan")
        if planted is not None and members.any():
            counts = np.bincount(planted[members], minlength=max(len(planted_names), int(planted.max()) + 1))
            best = int(counts.argmax())
            row["planted"] = planted_names[best] if planted_names else best
            row["purity"] = float(counts[best] / members.sum())
        rows.append(row)
    return sorted(rows, key=lambda r: -r["size"])


def profile_markdown(rows: list[dict], features: Sequence[str], title: str = "") -> str:
    """The profile rows as a markdown table (medians for the features: robust to the outliers)."""
    planted = "planted" in rows[0]
    head = ["segment", "size", "share"] + (["planted", "purity"] if planted else []) + [f"{f} (median)" for f in features]
    lines = ([f"# {title}", ""] if title else []) + ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [str(r["segment"]), str(r["size"]), f"{r['share']:.3f}"]
        if planted:
            cells += [str(r.get("planted", "")), f"{r.get('purity', float('nan')):.3f}"]
        cells += [f"{r[f'{f}_median']:.3g}" for f in features]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def principal_components(x: np.ndarray, num: int = 2) -> np.ndarray:
    """[n, num] projection of x onto its first `num` principal components."""
    xc = jnp.asarray(x) - jnp.mean(jnp.asarray(x), axis=0)
    _, _, vt = jnp.linalg.svd(xc, full_matrices=False)
    return np.asarray(xc @ vt[:num].T)


def plot_profiles(x_std: np.ndarray, labels: np.ndarray, rows: list[dict], features: Sequence[str], out: str | Path,
                  title: str = "", max_points: int = 4000) -> Path:
    """Left: per found segment (rows, largest first) the mean of each standardised feature (a diverging
    heat map, annotated). Right: the points on their first two principal components, coloured by
    found segment (at most `max_points`, evenly spaced)."""
    plt = pyplot()
    order = [r["segment"] for r in rows]
    means = np.stack([x_std[labels == c].mean(0) if np.any(labels == c) else np.zeros(x_std.shape[1]) for c in order])
    fig, (ax_h, ax_p) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1.4, 1]})
    lim = float(np.abs(means).max()) or 1.0
    im = ax_h.imshow(means, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax_h.set_xticks(range(len(features)), features, rotation=35, ha="right", fontsize=8)
    names = [f"{r['segment']}: {r.get('planted', '')} ({r['size']})" for r in rows]
    ax_h.set_yticks(range(len(rows)), names, fontsize=8)
    for i in range(means.shape[0]):
        for j in range(means.shape[1]):
            ax_h.text(j, i, f"{means[i, j]:.1f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax_h, label="mean (standardised)")
    ax_h.set_title("segment profiles")
    proj = principal_components(x_std)
    step = max(1, len(proj) // max_points)
    cmap = plt.get_cmap("tab10")
    for i, c in enumerate(order):
        pts = proj[::step][labels[::step] == c]
        ax_p.scatter(pts[:, 0], pts[:, 1], s=4, alpha=0.5, color=cmap(i % 10), label=str(c))
    ax_p.set_xlabel("PC 1"); ax_p.set_ylabel("PC 2"); ax_p.set_title("first two principal components")
    ax_p.legend(markerscale=3, fontsize=7, title="segment")
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, out, dpi=90)
