"""A population of one recipe's configs that differ only in float hyper-parameters, trained together
in one program: one compile, one pass over the data (every member sees the same batches and keys).

The varied hyper-parameters (`HYPERS`: the learning rate and the weight decay) are traced arrays,
not Python constants: `population_optimizer` wraps the config's optimizer (`make_optimizer`) in
`optax.inject_hyperparams`, so each member's values live in its optimizer state
(`opt_state.hyperparams`) and the step is `vmap`-ed over the members' states. A member therefore
computes exactly what a single run of its config computes (the peak learning rate multiplies the
schedule of peak 1 instead of being folded into it: float rounding apart).

Between rounds (equal spans of steps) a strategy from `STRATEGIES` looks at each member's
validation score and returns a `Decision`: from which member each member continues (its whole state,
optimizer state and hyper-parameters included), its new hyper-parameters and whether it still
trains. Strategies are pure numpy functions of (scores, hypers, active, rng, round):

- `fixed`: nothing changes (a grid search in one program);
- `halving`: successive halving (Jamieson & Talwalkar 2016, docs/references.md): after each round
  the better 1/eta of the still-training members go on, the others are frozen (their state stops
  changing; under vmap they still cost compute, the program's shape never changes);
- `pbt`: population-based training (Jaderberg et al. 2017, docs/references.md), truncation
  selection: each member of the bottom quantile copies the state of a member drawn from the top
  quantile (exploit) and multiplies each explored hyper-parameter (`StrategyOptions.explore`, default
  all) by 0.8 or 1.25 (explore).

A diverged member (a non-finite score) ranks last.

With `distinct=True` (a deep ensemble rather than a sweep) member i instead starts from its own
initial state, `init(fold_in(init key, i))`, and its train steps get their own keys
(`fold_in(step key, i)`: dropout, augmentation); the batches stay shared (one data order).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core import loop, parallel, xla_schedule
from jaxml.core.registry import choose
from jaxml.core.train_state import make_optimizer
from jaxml.data.batching import train_batches
from jaxml.errors import JaxmlError

log = logging.getLogger("jaxml")

HYPERS = ("learning_rate", "weight_decay")


def population_optimizer(config: ml_collections.ConfigDict) -> optax.GradientTransformation:
    """The config's optimizer with `HYPERS` injected: traced values in `opt_state.hyperparams`."""
    def factory(learning_rate, weight_decay):
        return make_optimizer(config, learning_rate=learning_rate, weight_decay=weight_decay)

    return optax.inject_hyperparams(factory)(learning_rate=float(config.learning_rate),
                                             weight_decay=float(config.get("weight_decay", 0.0)))


def check_hypers(hypers: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """{name: float32 [M]} of the members' values; an unknown name or unequal lengths are a JaxmlError."""
    bad = sorted(set(hypers) - set(HYPERS))
    if bad:
        raise JaxmlError(f"population hyper-parameter {bad[0]!r} is not traced; valid: {', '.join(HYPERS)}")
    out = {k: np.asarray(v, np.float32).reshape(-1) for k, v in hypers.items()}
    sizes = {len(v) for v in out.values()}
    if len(sizes) != 1 or 0 in sizes:
        raise JaxmlError(f"population hyper-parameters need one value per member, got lengths "
                         f"{ {k: len(v) for k, v in out.items()} }")
    for k, v in out.items():
        if not np.all(np.isfinite(v)) or np.any(v < 0) or (k == "learning_rate" and np.any(v <= 0)):
            raise JaxmlError(f"population {k} values must be finite and positive, got {v.tolist()}")
    return out


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class PopulationState:
    """The members' states stacked on a leading axis, and which members still train."""

    members: Any
    active: jax.Array


def with_hypers(members: Any, hypers: Mapping[str, jax.Array]) -> Any:
    """`members` (a stacked TrainState) with its injected hyper-parameters replaced."""
    opt = members.opt_state
    values = {**opt.hyperparams, **{k: jnp.asarray(v, opt.hyperparams[k].dtype) for k, v in hypers.items()}}
    return members.replace(opt_state=opt._replace(hyperparams=values))


def hypers_of(state: PopulationState) -> dict[str, np.ndarray]:
    return {k: np.asarray(jax.device_get(v)) for k, v in state.members.opt_state.hyperparams.items()}


def member_keys(key: jax.Array, size: int) -> jax.Array:
    """[size] keys fold_in(key, i)."""
    return jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(size))


def over_members(fn: Callable, members_args: tuple, shared_args: tuple, chunk: int) -> Any:
    """fn(*member_args_i, *shared_args) for every member i (the leading axis of each `members_args`
    tree): one `vmap` over all members when `chunk` is 0 or covers them, else `lax.map` over groups of
    `chunk` members vmapped inside (the same numbers, a working set `chunk` members wide)."""
    def one(args):
        return fn(*args, *shared_args)

    size = jax.tree.leaves(members_args)[0].shape[0]
    if not chunk or chunk >= size:
        return jax.vmap(one)(members_args)
    return jax.lax.map(one, members_args, batch_size=int(chunk))


def population_recipe(base: loop.Recipe, hypers: Mapping[str, np.ndarray], distinct: bool = False,
                      member_chunk: int = 0) -> loop.Recipe:
    """`base` (built with `population_optimizer`) over len(hypers[...]) members: init broadcasts the
    single run's initial state (same key) and sets each member's hyper-parameters; the train step is
    `base.train_step` vmapped over the members (same batch, same key), frozen members kept as they
    were; eval sums gain a leading member axis. `distinct`: each member's own initial state and step
    keys (`member_keys`), the batch still shared. `member_chunk`: the train step runs the members
    `member_chunk` at a time (`over_members`; 0: all at once)."""
    size = len(next(iter(hypers.values())))
    if int(member_chunk) < 0:
        raise JaxmlError(f"population member_chunk={member_chunk} must be >= 0 (0: all members at once)")

    def init(key):
        if distinct:
            members = jax.vmap(base.init)(member_keys(key, size))
        else:
            one = base.init(key)
            members = jax.tree.map(lambda x: jnp.broadcast_to(x, (size,) + x.shape), one)
        return PopulationState(members=with_hypers(members, hypers), active=jnp.ones((size,), bool))

    def train_step(state: PopulationState, batch, key):
        if distinct:
            stepped, metrics = over_members(lambda m, k, b: base.train_step(m, b, k),
                                            (state.members, member_keys(key, size)), (batch,), member_chunk)
        else:
            stepped, metrics = over_members(base.train_step, (state.members,), (batch, key), member_chunk)
        keep = state.active

        def pick(new, old):
            return jnp.where(keep.reshape(keep.shape + (1,) * (new.ndim - 1)), new, old)

        return dataclasses.replace(state, members=jax.tree.map(pick, stepped, state.members)), metrics

    def eval_step(state: PopulationState, batch):
        return jax.vmap(base.eval_step, in_axes=(0, None))(state.members, batch)

    return dataclasses.replace(base, init=init, train_step=train_step, eval_step=eval_step, evaluators={})


# ---------------------------------------------------------------------------------------------- strategies

@dataclasses.dataclass(frozen=True)
class Decision:
    """What happens between two rounds: member i continues from member `source[i]`'s state, with
    hyper-parameters `hypers[k][i]`, training if `active[i]`."""

    source: np.ndarray
    hypers: dict[str, np.ndarray]
    active: np.ndarray


@dataclasses.dataclass(frozen=True)
class StrategyOptions:
    eta: int = 2               # halving: keep the best 1/eta of the active members each round
    quantile: float = 0.25     # pbt: the bottom / top fraction that exploits / is copied
    perturb: tuple[float, ...] = (0.8, 1.25)  # pbt: explore multiplies each hyper-parameter by one of these
    explore: tuple[str, ...] | None = None  # pbt: the hyper-parameters explore perturbs (None: all)


def ranking_scores(scores: np.ndarray) -> np.ndarray:
    """Scores with non-finite ones (diverged members) at -inf."""
    scores = np.asarray(scores, np.float64)
    return np.where(np.isfinite(scores), scores, -np.inf)


def fixed(scores, hypers, active, rng, options: StrategyOptions) -> Decision:
    return Decision(np.arange(len(scores)), dict(hypers), np.asarray(active, bool))


def halving(scores, hypers, active, rng, options: StrategyOptions) -> Decision:
    active = np.asarray(active, bool)
    alive = np.flatnonzero(active)
    keep = max(1, len(alive) // int(options.eta))
    order = alive[np.argsort(-ranking_scores(scores)[alive], kind="stable")]
    new_active = np.zeros_like(active)
    new_active[order[:keep]] = True
    return Decision(np.arange(len(scores)), dict(hypers), new_active)


def pbt(scores, hypers, active, rng: np.random.Generator, options: StrategyOptions) -> Decision:
    size = len(scores)
    cut = max(1, int(round(size * float(options.quantile))))
    if 2 * cut > size:
        return fixed(scores, hypers, active, rng, options)
    order = np.argsort(-ranking_scores(scores), kind="stable")  # best first
    top, bottom = order[:cut], order[size - cut:]
    source = np.arange(size)
    new = {k: np.array(v, np.float32) for k, v in hypers.items()}
    for i in bottom:
        j = int(rng.choice(top))
        source[i] = j
        for k in new:
            explored = options.explore is None or k in options.explore
            new[k][i] = np.float32(hypers[k][j] * rng.choice(options.perturb)) if explored else new[k][j]
    return Decision(source, new, np.ones(size, bool))


STRATEGIES: dict[str, Callable[..., Decision]] = {"fixed": fixed, "halving": halving, "pbt": pbt}


# ---------------------------------------------------------------------------------------------- driver

@dataclasses.dataclass
class PopulationRun:
    """The outcome of `train_population`: the final state, per-member final metrics per split
    ({split: {metric: [M]}}), the final hyper-parameters and a row per round."""

    state: PopulationState
    metrics: dict[str, dict[str, np.ndarray]]
    hypers: dict[str, np.ndarray]
    active: np.ndarray
    history: list[dict[str, Any]]


def member_metrics(sums: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Per-member eval sums [M] -> means [M]."""
    sums = jax.device_get(sums)
    count = np.asarray(sums["count"], np.float64)
    return {k: np.asarray(v, np.float64) / count for k, v in sums.items() if k != "count"}


def apply_decision(state: PopulationState, decision: Decision) -> PopulationState:
    """Member i takes member `source[i]`'s whole state (parameters, model and optimizer state), then
    its new hyper-parameters and activity."""
    source = jnp.asarray(decision.source)
    members = jax.tree.map(lambda x: x[source], state.members)
    return PopulationState(members=with_hypers(members, decision.hypers), active=jnp.asarray(decision.active))


def train_population(make_recipe: Callable[[optax.GradientTransformation], loop.Recipe],
                     config: ml_collections.ConfigDict, hypers: Mapping[str, Any], strategy: str, *,
                     rounds: int, select: str, metric: str = "accuracy", options: StrategyOptions = StrategyOptions(),
                     strategy_seed: int = 0, distinct: bool = False, member_chunk: int = 0) -> PopulationRun:
    """Trains the population for `config.steps` steps in `rounds` rounds; after every round but the
    last, `strategy` decides on the members' `select`-split `metric` (higher is better); the other
    eval splits are evaluated at the end.
    `make_recipe(tx)` builds the single run's recipe with optimizer `tx`; `distinct`, `member_chunk`:
    as `population_recipe`'s."""
    decide = choose(STRATEGIES, strategy, "the population strategy")
    hypers = check_hypers(hypers)
    base = make_recipe(population_optimizer(config))
    if select not in base.eval_splits:
        raise JaxmlError(f"population selection split {select!r} is not an eval split: {', '.join(base.eval_splits)}")
    recipe = population_recipe(base, hypers, distinct, member_chunk)
    total, seed, global_batch = int(config.steps), int(config.seed), int(config.batch_size)
    rounds = max(1, min(int(rounds), total))
    bounds = [round(total * (r + 1) / rounds) for r in range(rounds)]
    log_every = max(1, int(config.log_every))
    mesh = recipe.sharding.make_mesh(config.parallel)
    parallel.check_batch_size(global_batch, mesh)
    state = recipe.sharding.place_state(lambda: recipe.init(loop.init_key(seed)), mesh)
    chunk = loop.make_train_chunk(recipe, mesh, xla_schedule.compiler_options(config))
    evaluate = loop.make_eval(recipe, mesh)
    decide_on_mesh = jax.jit(lambda s, source, new, active: apply_decision(s, Decision(source, new, active)),
                             out_shardings=recipe.sharding.state_shardings(state, mesh))
    eval_batch = int(config.get("eval_batch_size", global_batch))
    eval_data = {name: loop.shard_eval_split(split, eval_batch, mesh, recipe.sharding)
                 for name, split in recipe.eval_splits.items()}
    key = parallel.on_mesh(lambda: loop.train_key(seed), mesh)
    rng = np.random.default_rng([strategy_seed, 7])
    history: list[dict[str, Any]] = []
    step, by_split, train_loss = 0, {}, np.zeros(len(next(iter(hypers.values()))))
    for r, end in enumerate(bounds):
        while step < end:
            num = min(log_every, end - step)
            host = train_batches(recipe.train_split, start_step=step, num_steps=num, global_batch=global_batch,
                                 seed=seed, process_index=jax.process_index(), process_count=jax.process_count())
            state, metrics = chunk(state, recipe.sharding.shard_batch(host, mesh, batch_axis=1), key, jnp.int32(step))
            train_loss = np.asarray(jax.device_get(metrics["loss"]))[-1]
            step += num
        last = r + 1 == rounds  # between rounds only the selection split is needed
        by_split = {name: member_metrics(evaluate(state, batches)) for name, batches in eval_data.items()
                    if last or name == select}
        current, active = hypers_of(state), np.asarray(jax.device_get(state.active))
        history.append({"round": r, "step": step, "active": active.tolist(), "train_loss": train_loss.tolist(),
                        **{k: v.tolist() for k, v in current.items()},
                        **{f"{s}_{m}": v.tolist() for s, ms in by_split.items() for m, v in ms.items()}})
        scores = by_split[select][metric]
        log.info("%s round %d/%d (step %d): best %s %s %.4f, %d training", strategy, r + 1, rounds, step, select,
                 metric, float(np.max(ranking_scores(scores))), int(active.sum()))
        if r + 1 < rounds:
            decision = decide(scores, current, active, rng, options)
            history[-1]["source"] = decision.source.tolist()
            state = decide_on_mesh(state, decision.source, decision.hypers, decision.active)
    return PopulationRun(state=state, metrics=by_split, hypers=hypers_of(state),
                         active=np.asarray(jax.device_get(state.active)), history=history)


def best_member(run: PopulationRun, select: str, metric: str = "accuracy") -> int:
    """The member with the best `select` `metric` among those still training at the end."""
    scores = ranking_scores(run.metrics[select][metric])
    return int(np.argmax(np.where(run.active, scores, -np.inf)))
