"""Learning-curve plots from metrics.jsonl, and the two figure steps every plot of jaxml shares:
`pyplot` (matplotlib on the headless Agg backend) and `save_figure`."""

from __future__ import annotations

from pathlib import Path

from jaxml.core.metrics import read_metrics


def pyplot():
    """`matplotlib.pyplot` on the headless Agg backend (imported on first use)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, out: str | Path, *, dpi: int, **options) -> Path:
    """Writes `fig` to `out` (creating its folder) at `dpi` (`options` go to `savefig`), closes it and
    returns the path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, **options)
    pyplot().close(fig)
    return out


def plot_learning_curves(workdir: str | Path, title: str = "", out: str | Path | None = None) -> Path | None:
    """train loss and every evaluated accuracy against step -> <workdir>/plots/learning_curve.png."""
    plt = pyplot()
    rows = read_metrics(workdir)
    if any(r.get("split") == "eval" and "return_mean" in r for r in rows):
        return plot_returns(rows, title, out or Path(workdir) / "plots" / "learning_curve.png")
    train = [r for r in rows if r.get("split") == "train" and r.get("loss") is not None]
    if not train:
        return None
    evals: dict[str, list[dict]] = {}
    for r in rows:
        if r.get("split") not in (None, "train"):
            evals.setdefault(r["split"], []).append(r)
    has_acc = train[0].get("accuracy") is not None or any(rs and rs[0].get("accuracy") is not None
                                                          for rs in evals.values())
    if has_acc:
        fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4))
    else:  # GANs, language models: the loss panel alone
        fig, ax_loss = plt.subplots(1, 1, figsize=(5, 3.4))
    ax_loss.plot([r["step"] for r in train], [r["loss"] for r in train], label="train loss", lw=1)
    for split, rs in evals.items():
        if rs and rs[0].get("loss") is not None:
            ax_loss.plot([r["step"] for r in rs], [r["loss"] for r in rs], "o-", ms=3, label=f"{split} loss")
    ax_loss.set_xlabel("step"); ax_loss.set_ylabel("loss"); ax_loss.set_yscale("log"); ax_loss.legend()
    if has_acc and train[0].get("accuracy") is not None:
        ax_acc.plot([r["step"] for r in train], [r["accuracy"] for r in train], label="train accuracy", lw=1)
    for split, rs in evals.items():
        if has_acc and rs and rs[0].get("accuracy") is not None:
            ax_acc.plot([r["step"] for r in rs], [r["accuracy"] for r in rs], "o-", ms=3, label=f"{split} accuracy")
    if has_acc:
        ax_acc.set_xlabel("step"); ax_acc.set_ylabel("accuracy"); ax_acc.legend(); ax_acc.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, out or Path(workdir) / "plots" / "learning_curve.png", dpi=90)


def plot_returns(rows: list[dict], title: str, out: str | Path) -> Path:
    """RL: greedy eval return against env steps, mean +- std over seeds, thin lines per seed."""
    import numpy as np

    plt = pyplot()
    evals = [r for r in rows if r.get("split") == "eval" and "return_mean" in r]
    steps = np.array([r["step"] for r in evals])
    mean = np.array([r["return_mean"] for r in evals])
    std = np.array([r["return_std"] for r in evals])
    per_seed = np.array([r["return_per_seed"] for r in evals])
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for curve in per_seed.T:
        ax.plot(steps, curve, lw=0.6, alpha=0.4, color="tab:blue")
    ax.plot(steps, mean, "o-", ms=3, color="tab:blue", label=f"greedy eval return ({per_seed.shape[1]} seeds)")
    ax.fill_between(steps, mean - std, mean + std, alpha=0.2, color="tab:blue")
    ax.set_xlabel("env steps"); ax.set_ylabel("return"); ax.grid(alpha=0.3); ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, out, dpi=90)
