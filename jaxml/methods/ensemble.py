"""Deep ensembles (Lakshminarayanan, Pritzel & Blundell 2017, docs/references.md#classic-learners):
`config.ensemble.ensembles` ensembles of `config.ensemble.members` classifiers each, all trained in ONE
vmapped program by `core.population` (`distinct=True`: every member starts from its own initial
state, `init(fold_in(key, i))`, and gets its own step keys; the batches, hence the data order, are
shared, and every member has the config's learning rate and weight decay). Member m of ensemble e is
population member e * members + m, so the ensembles are the seeds of the whole experiment.
`config.ensemble.train_examples` > 0 trains on that many training examples (drawn with `data_seed`
as `hold_out` draws them) for several epochs: the regime, reached in a short run, where a single
network over-fits and becomes over-confident (0: the whole training split).

After training, every member's test-set probabilities come from one vmapped inference pass; an
ensemble predicts the mean of its members' probabilities. Per member and per ensemble: accuracy,
negative log-likelihood and expected calibration error (`core.calibration`, `config.ensemble.ece_bins`
equal-width bins).

result.json: `ensemble_{accuracy,nll,ece}` (mean over the ensembles, with `_std` and `_per_seed`),
`member_{accuracy,nll,ece}` (mean and `_std` over all members, `_per_member`), and per ensemble the
gain over its own members' mean, `{nll,ece}_gain_per_seed` (member mean minus ensemble), whose
minimum over the ensembles is `{nll,ece}_gain_min` (> 0: every ensemble is better calibrated and has
a lower NLL than its average member); `conv_impl` (the convolution the CNN resolved to on this
platform). `plots/reliability.png`: the reliability diagram of the first ensemble and its members.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxml.core import calibration, population, supervised
from jaxml.core.config import check_int
from jaxml.core.plots import pyplot, save_figure
from jaxml.core.steps import Normaliser
from jaxml.data.datasets import Split, hold_out
from jaxml.models.build import build_model
from jaxml.models.layers import resolve_impl

log = logging.getLogger("jaxml")


def population_size(config: ml_collections.ConfigDict) -> tuple[int, int]:
    e = config.ensemble
    return (check_int(e.ensembles, "config.ensemble.ensembles", 1),
            check_int(e.members, "config.ensemble.members", 2))


def member_probabilities(config: ml_collections.ConfigDict, members: Any, train_split: Split, test: Split,
                         num_classes: int) -> np.ndarray:
    """[P, n, K] softmax probabilities of every member on `test`, in batches of eval_batch_size."""
    model = build_model(config, num_classes)
    prepare = Normaliser.fit(train_split)

    @jax.jit
    def probs(members, images):
        x = prepare(images)
        return jax.vmap(lambda state: jax.nn.softmax(supervised.infer_logits(model, state, x), -1))(members)

    batch = int(config.eval_batch_size)
    images = test["image"]
    return np.concatenate([np.asarray(probs(members, images[s:s + batch])) for s in range(0, len(test), batch)],
                          axis=1)


def scores(probs: np.ndarray, labels: np.ndarray, bins: int) -> dict[str, float]:
    p, y = jnp.asarray(probs), jnp.asarray(labels)
    return {"accuracy": float(jnp.mean(jnp.argmax(p, -1) == y)),
            "nll": float(calibration.negative_log_likelihood(p, y)),
            "ece": float(calibration.expected_calibration_error(p, y, bins))}


def plot_reliability(members: np.ndarray, ensemble: np.ndarray, labels: np.ndarray, bins: int, out: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    centres = (np.arange(bins) + 0.5) / bins
    for i, p in enumerate(members):
        r = calibration.reliability(jnp.asarray(p), jnp.asarray(labels), bins)
        seen = np.asarray(r.count) > 0
        ax.plot(centres[seen], np.asarray(r.accuracy)[seen], color="tab:gray", lw=0.8, alpha=0.6,
                label="members" if i == 0 else None)
    r = calibration.reliability(jnp.asarray(ensemble), jnp.asarray(labels), bins)
    seen = np.asarray(r.count) > 0
    ax.plot(centres[seen], np.asarray(r.accuracy)[seen], "o-", color="tab:red", label="ensemble (mean probability)")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set_xlabel("confidence (bin centre)"); ax.set_ylabel("accuracy in bin"); ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out, dpi=90)


def summarise(member_scores: list[dict[str, float]], ensemble_scores: list[dict[str, float]], size: int
              ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for metric in ("accuracy", "nll", "ece"):
        per_member = np.array([s[metric] for s in member_scores])
        per_ensemble = np.array([s[metric] for s in ensemble_scores])
        out[f"member_{metric}"] = float(per_member.mean())
        out[f"member_{metric}_std"] = float(per_member.std())
        out[f"member_{metric}_per_member"] = per_member.tolist()
        out[f"ensemble_{metric}"] = float(per_ensemble.mean())
        out[f"ensemble_{metric}_std"] = float(per_ensemble.std())
        out[f"ensemble_{metric}_per_seed"] = per_ensemble.tolist()
        if metric != "accuracy":  # lower is better: gain = members' mean - ensemble
            gain = per_member.reshape(-1, size).mean(axis=1) - per_ensemble
            out[f"{metric}_gain_per_seed"] = gain.tolist()
            out[f"{metric}_gain_min"] = float(gain.min())
    out["accuracy_gain_per_seed"] = (np.array(out["ensemble_accuracy_per_seed"])
                                     - np.array(out["member_accuracy_per_member"]).reshape(-1, size).mean(1)).tolist()
    return out


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    workdir = Path(workdir)
    ensembles, size = population_size(config)
    bins = check_int(config.ensemble.ece_bins, "config.ensemble.ece_bins", 1)
    total = ensembles * size
    data = supervised.load_data(config)
    train_split = data.train
    subset = check_int(config.ensemble.train_examples, "config.ensemble.train_examples", 0)
    if subset:  # a random subset (as hold_out draws it) trained on for several epochs
        _, train_split = hold_out(data.train, subset, int(config.data_seed), "config.ensemble.train_examples")
    hypers = {"learning_rate": [float(config.learning_rate)] * total,
              "weight_decay": [float(config.weight_decay)] * total}
    run = population.train_population(
        lambda tx: supervised.make_recipe(config, train_split, {"test": data.test}, data.num_classes, tx=tx),
        config, hypers, "fixed", rounds=1, select="test", distinct=True)
    probs = member_probabilities(config, run.state.members, train_split, data.test, data.num_classes)
    labels = np.asarray(data.test["label"])
    member_scores = [scores(p, labels, bins) for p in probs]
    grouped = probs.reshape(ensembles, size, *probs.shape[1:])
    ensemble_scores = [scores(g.mean(axis=0), labels, bins) for g in grouped]
    if jax.process_index() == 0:
        plot_reliability(grouped[0], grouped[0].mean(axis=0), labels, bins, workdir / "plots" / "reliability.png")
    out = summarise(member_scores, ensemble_scores, size)
    out.update({"test_accuracy": out["ensemble_accuracy"], "ensembles": ensembles, "members": size,
                "train_examples": len(train_split),
                "steps": int(config.steps), "ece_bins": bins,
                "conv_impl": resolve_impl("conv", config.model.get("conv_impl", "auto"), jax.default_backend())})
    log.info("ensembles of %d: accuracy %.4f, NLL %.4f, ECE %.4f; single members: accuracy %.4f +- %.4f, NLL %.4f "
             "+- %.4f, ECE %.4f +- %.4f", size, out["ensemble_accuracy"], out["ensemble_nll"], out["ensemble_ece"],
             out["member_accuracy"], out["member_accuracy_std"], out["member_nll"], out["member_nll_std"],
             out["member_ece"], out["member_ece_std"])
    return out
