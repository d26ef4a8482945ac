"""Hyper-parameter search in one program: a population of one classifier config that differ only in
the learning rate (and optionally the weight decay), trained together under vmap by
`core.population` (one compile, one pass over the data), once per strategy of `config.sweep.strategies`
(fixed grid, successive halving, population-based training; PBT explores the hyper-parameters that
differ between the members, the learning rate when none does).

Members are compared on `sweep.validation_examples` held out of the training split (the strategies
and the final choice see only those); the test split is reported, never used to choose. Every
member of a population starts from the same initial state and sees the same batches and keys, so a
fixed member is its single run (`jaxml train` of the `classify` config with that learning rate).

result.json: `learning_rates` (the grid), `fixed_test_accuracy_per_member`, `fixed_best_test_accuracy`
(the member best on validation) and its `fixed_best_learning_rate`, `fixed_median_test_accuracy`;
for each other strategy S: `S_test_accuracy` (its member best on validation at the end),
`S_learning_rate` (that member's final learning rate) and `S_minus_median` (its test accuracy minus
the fixed median); `test_accuracy` is PBT's (else the last strategy's). Each population's rounds
(hyper-parameters, validation and test accuracy per member, PBT's copies) are in
`populations/<strategy>.json`, which a re-run reuses; `plots/sweep.png` shows them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import jax
import ml_collections
import numpy as np

from jaxml.core import population, supervised
from jaxml.core.plots import pyplot, save_figure
from jaxml.data.datasets import hold_out
from jaxml.errors import JaxmlError

log = logging.getLogger("jaxml")


def member_hypers(config: ml_collections.ConfigDict) -> dict[str, list[float]]:
    """{hyper-parameter: one value per member} from `config.sweep` (empty weight decays: the config's)."""
    sweep = config.sweep
    lrs = [float(v) for v in sweep.learning_rates]
    if not lrs:
        raise JaxmlError("config.sweep.learning_rates=() is empty; give one learning rate per member")
    wds = [float(v) for v in sweep.weight_decays] or [float(config.weight_decay)] * len(lrs)
    if len(wds) != len(lrs):
        raise JaxmlError(f"config.sweep.weight_decays has {len(wds)} values for {len(lrs)} learning rates; give "
                         "one per member or none")
    for name in sweep.strategies:
        if name not in population.STRATEGIES:
            raise JaxmlError(f"config.sweep.strategies: {name!r} is not valid; choose from "
                             f"{', '.join(population.STRATEGIES)}")
    if not sweep.strategies:
        raise JaxmlError(f"config.sweep.strategies=() is empty; choose from {', '.join(population.STRATEGIES)}")
    for key, ok, rule in (("rounds", int(sweep.rounds) >= 1, ">= 1"), ("eta", int(sweep.eta) >= 2, ">= 2"),
                          ("quantile", 0.0 < float(sweep.quantile) <= 0.5, "in (0, 0.5]")):
        if not ok:
            raise JaxmlError(f"config.sweep.{key}={sweep[key]!r} must be {rule}")
    try:
        population.check_hypers({"learning_rate": lrs, "weight_decay": wds})
    except JaxmlError as e:
        raise JaxmlError(f"config.sweep.learning_rates / weight_decays: {e}") from None
    return {"learning_rate": lrs, "weight_decay": wds}


def signature(config: ml_collections.ConfigDict, strategy: str) -> str:
    """What a stored population depends on: the whole config but its list of strategies, and the strategy."""
    c = config.to_dict()
    c["sweep"] = {k: v for k, v in c["sweep"].items() if k != "strategies"}
    c.pop("name", None)
    return json.dumps([c, strategy], sort_keys=True, default=str)


def run_strategy(config: ml_collections.ConfigDict, strategy: str, train, val, test, num_classes: int,
                 hypers: dict[str, list[float]]) -> dict[str, Any]:
    """One population trained with `strategy`: its rounds and each member's final metrics."""
    sweep = config.sweep
    varied = tuple(k for k, v in hypers.items() if len(set(v)) > 1) or ("learning_rate",)
    options = population.StrategyOptions(eta=int(sweep.eta), quantile=float(sweep.quantile), explore=varied)
    run = population.train_population(
        lambda tx: supervised.make_recipe(config, train, {"val": val, "test": test}, num_classes, tx=tx),
        config, hypers, strategy, rounds=int(sweep.rounds), select="val", options=options,
        strategy_seed=int(sweep.strategy_seed), member_chunk=int(sweep.get("member_chunk", 0)))
    best = population.best_member(run, "val")
    return {"strategy": strategy, "history": run.history, "best": best, "active": run.active.tolist(),
            "val_accuracy": run.metrics["val"]["accuracy"].tolist(),
            "test_accuracy": run.metrics["test"]["accuracy"].tolist(),
            **{k: v.tolist() for k, v in run.hypers.items()}}


def plot_sweep(outcomes: dict[str, dict[str, Any]], lrs: list[float], out: Path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    ax = axes[0]
    if "fixed" in outcomes:
        ax.plot(lrs, outcomes["fixed"]["test_accuracy"], "o-", color="tab:blue", label="fixed members")
        ax.axhline(float(np.median(outcomes["fixed"]["test_accuracy"])), color="tab:blue", ls=":", label="fixed median")
    for name, color in (("halving", "tab:green"), ("pbt", "tab:red")):
        if name in outcomes:
            o = outcomes[name]
            ax.axhline(o["test_accuracy"][o["best"]], color=color, ls="--", label=f"{name}'s member")
    ax.set_xscale("log"); ax.set_xlabel("learning rate (start)"); ax.set_ylabel("test accuracy"); ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax = axes[1]
    if "pbt" in outcomes:
        rows = outcomes["pbt"]["history"]
        steps = [r["step"] for r in rows]
        rates = np.array([r["learning_rate"] for r in rows])
        for i in range(rates.shape[1]):
            ax.plot(steps, rates[:, i], lw=0.8, alpha=0.7)
        ax.set_yscale("log"); ax.set_xlabel("step (end of round)"); ax.set_ylabel("PBT members' learning rate")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, out, dpi=90)


def summarise(outcomes: dict[str, dict[str, Any]], lrs: list[float], steps: int) -> dict[str, Any]:
    out: dict[str, Any] = {"learning_rates": lrs, "members": len(lrs)}
    median = None
    if "fixed" in outcomes:
        f = outcomes["fixed"]
        median = float(np.median(f["test_accuracy"]))
        out.update({"fixed_test_accuracy_per_member": f["test_accuracy"],
                    "fixed_val_accuracy_per_member": f["val_accuracy"],
                    "fixed_best_test_accuracy": f["test_accuracy"][f["best"]],
                    "fixed_best_learning_rate": lrs[f["best"]], "fixed_median_test_accuracy": median})
    for name, o in outcomes.items():
        if name == "fixed":
            continue
        out[f"{name}_test_accuracy"] = o["test_accuracy"][o["best"]]
        out[f"{name}_learning_rate"] = o["learning_rate"][o["best"]]
        if median is not None:
            out[f"{name}_minus_median"] = out[f"{name}_test_accuracy"] - median
    last = "pbt" if "pbt" in outcomes else list(outcomes)[-1]
    o = outcomes[last]
    out["test_accuracy"] = o["test_accuracy"][o["best"]]
    out["steps"] = steps
    return out


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    workdir = Path(workdir)
    hypers = member_hypers(config)
    data = supervised.load_data(config)
    train_split, val_split = hold_out(data.train, int(config.sweep.validation_examples), int(config.data_seed),
                                      "config.sweep.validation_examples")
    store = workdir / "populations"
    store.mkdir(parents=True, exist_ok=True)
    outcomes: dict[str, dict[str, Any]] = {}
    for strategy in config.sweep.strategies:
        path, sig = store / f"{strategy}.json", signature(config, strategy)
        if path.exists():
            kept = json.loads(path.read_text())
            if kept.get("signature") == sig:
                log.info("%s: reusing %s", strategy, path)
                outcomes[strategy] = kept
                continue
        outcomes[strategy] = {**run_strategy(config, strategy, train_split, val_split, data.test, data.num_classes,
                                             hypers), "signature": sig}
        if jax.process_index() == 0:
            path.write_text(json.dumps(outcomes[strategy]) + "\n")
    lrs = hypers["learning_rate"]
    if jax.process_index() == 0:
        plot_sweep(outcomes, lrs, workdir / "plots" / "sweep.png")
    result = summarise(outcomes, lrs, int(config.steps))
    for name, o in outcomes.items():
        log.info("%s: member %d (learning rate now %.3g): val %.4f, test %.4f", name, o["best"],
                 o["learning_rate"][o["best"]], o["val_accuracy"][o["best"]], o["test_accuracy"][o["best"]])
    return result
