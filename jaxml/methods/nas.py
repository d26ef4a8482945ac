"""Architecture search over a CNN/MLP family: regularised evolution (Real et al. 2019) and random
search as the control, each with a fixed budget of candidate trainings.

Search space (`config.nas`): family (cnn | mlp), depth (conv stages or hidden layers), width (first-stage
features, doubled per stage; MLP hidden units = width * `mlp_width_multiplier`), kernel size (CNN) and
activation (models/candidate.py). Every candidate gets the same fixed training budget (`config.steps`
steps of `config.batch_size`, the supervised optimizer defaults) and is scored by its accuracy on
`nas.validation_examples` held out of the training split; its test accuracy is recorded but never used
for selection.

- Random search: `population + children * generations` random architectures.
- Regularised (aging) evolution: `population` random architectures (the same ones random search starts
  with, for the same search seed), then `generations` rounds in which each of `children` children is a
  one-gene mutation of the fittest of `sample` architectures drawn from the population; after each
  round the children join and the oldest leave.
All searches (both methods x `search_seeds`) advance in lockstep. Each round's new architectures are
grouped by shape (everything but the activation, which is a traced index), and each group is trained in
one `vmap`-ed call through the shared loop (`vmap_candidates=False` trains them one by one instead: the
benchmark's baseline). An architecture is trained once per run: its result depends only on the
architecture and the config (init key from a hash of the architecture, one data order), so repeats are
looked up; results are appended to `workdir/candidates.jsonl`, and re-running the command resumes.

result.json: `test_accuracy` (mean over search seeds of the test accuracy of evolution's best-by-validation
architecture) and `test_accuracy_std`; `evolution_best_val_accuracy` / `random_best_val_accuracy` (mean,
`_std`, `_per_seed`) and the same for `_test_accuracy`; `evolution_wins` (seeds where evolution's best
validation accuracy beats random search's); `candidate_trainings` (per search), `unique_trainings`;
`best_architecture` (a `classify` model config), its `params` and `flops`. Plots: `plots/pareto.png`
(accuracy vs parameters and vs FLOPs, Pareto front marked) and `plots/learning_curve.png` (best
validation accuracy so far against candidate trainings).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import time
import zlib
from pathlib import Path
from typing import Any, Iterable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core import loop, supervised
from jaxml.core.plots import pyplot, save_figure
from jaxml.core.steps import Normaliser, apply_gradients
from jaxml.core.train_state import TrainState, make_optimizer
from jaxml.data.datasets import Split, hold_out
from jaxml.errors import JaxmlError
from jaxml.models.candidate import FAMILIES, CandidateNet, forward_flops
from jaxml.models.layers import ACTIVATIONS

log = logging.getLogger("jaxml")


@dataclasses.dataclass(frozen=True)
class Arch:
    family: str
    depth: int
    width: int
    kernel: int  # 0 for the MLP family
    activation: str

    @property
    def shape_key(self) -> tuple:
        return (self.family, self.depth, self.width, self.kernel)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Space:
    """Samples and mutates architectures from the choices in `config.nas`."""

    def __init__(self, nas: ml_collections.ConfigDict):
        self.families = tuple(nas.families)
        self.depths = tuple(int(d) for d in nas.depths)
        self.widths = tuple(int(w) for w in nas.widths)
        self.kernels = tuple(int(k) for k in nas.kernel_sizes)
        self.activations = tuple(nas.activations)

    def _kernel(self, family: str, rng: np.random.Generator) -> int:
        return int(rng.choice(self.kernels)) if family == "cnn" else 0

    def sample(self, rng: np.random.Generator) -> Arch:
        family = str(rng.choice(self.families))
        return Arch(family, int(rng.choice(self.depths)), int(rng.choice(self.widths)), self._kernel(family, rng),
                    str(rng.choice(self.activations)))

    def genes(self, arch: Arch) -> dict[str, tuple]:
        g = {"family": self.families, "depth": self.depths, "width": self.widths, "activation": self.activations}
        if arch.family == "cnn":
            g["kernel"] = self.kernels
        return {k: v for k, v in g.items() if len(v) > 1}

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Changes one gene (drawn uniformly among those with a choice) to a different value."""
        genes = self.genes(arch)
        if not genes:
            return arch
        gene = str(rng.choice(sorted(genes)))
        value = rng.choice([v for v in genes[gene] if v != getattr(arch, gene)])
        value = str(value) if gene in ("family", "activation") else int(value)
        child = dataclasses.replace(arch, **{gene: value})
        if gene == "family":
            child = dataclasses.replace(child, kernel=self._kernel(child.family, rng))
        return child


class RandomSearch:
    name = "random"

    def __init__(self, space: Space, seed: int, nas: ml_collections.ConfigDict):
        self.space, self.nas = space, nas
        self.init_rng = np.random.default_rng([seed, 0])  # the initial population: shared with evolution
        self.rng = np.random.default_rng([seed, 1])
        self.history: list[tuple[Arch, float]] = []

    def initial(self) -> list[Arch]:
        return [self.space.sample(self.init_rng) for _ in range(int(self.nas.population))]

    def propose(self, generation: int) -> list[Arch]:
        if generation == 0:
            return self.initial()
        return [self.space.sample(self.rng) for _ in range(int(self.nas.children))]

    def observe(self, archs: list[Arch], fitness: list[float]) -> None:
        self.history += list(zip(archs, fitness))


class Evolution(RandomSearch):
    """Regularised evolution with `children` children per round (the asynchronous-workers variant)."""

    name = "evolution"

    def __init__(self, space: Space, seed: int, nas: ml_collections.ConfigDict):
        super().__init__(space, seed, nas)
        self.rng = np.random.default_rng([seed, 2])
        self.population: collections.deque[tuple[Arch, float]] = collections.deque()

    def propose(self, generation: int) -> list[Arch]:
        if generation == 0:
            return self.initial()
        children = []
        for _ in range(int(self.nas.children)):
            idx = self.rng.choice(len(self.population), size=min(int(self.nas.sample), len(self.population)), replace=False)
            parent = max((self.population[i] for i in sorted(idx)), key=lambda af: af[1])[0]
            children.append(self.space.mutate(parent, self.rng))
        return children

    def observe(self, archs: list[Arch], fitness: list[float]) -> None:
        super().observe(archs, fitness)
        self.population.extend(zip(archs, fitness))
        while len(self.population) > int(self.nas.population):
            self.population.popleft()  # aging: the oldest dies, whatever its fitness


def check_config(config: ml_collections.ConfigDict) -> None:
    nas = config.nas
    for key, valid in (("families", FAMILIES), ("activations", tuple(ACTIVATIONS))):
        bad = [v for v in nas[key] if v not in valid]
        if bad or not nas[key]:
            raise JaxmlError(f"config.nas.{key}={tuple(nas[key])} is not valid; choose from {', '.join(valid)}")
    for key in ("depths", "widths", "kernel_sizes"):
        if not nas[key] or any(int(v) < 1 for v in nas[key]):
            raise JaxmlError(f"config.nas.{key}={tuple(nas[key])} must be a non-empty tuple of positive ints")
    for key in ("population", "sample", "children", "search_seeds", "validation_examples", "mlp_width_multiplier"):
        if int(nas[key]) < 1:
            raise JaxmlError(f"config.nas.{key}={nas[key]} must be >= 1")
    if int(nas.generations) < 0:
        raise JaxmlError(f"config.nas.generations={nas.generations} must be >= 0")
    if int(nas.sample) > int(nas.population):
        raise JaxmlError(f"config.nas.sample={nas.sample} must not exceed config.nas.population={nas.population}")


class Trainer:
    """Trains groups of same-shape candidates (one vmapped call through core.loop) and scores them."""

    def __init__(self, config: ml_collections.ConfigDict, workdir: Path, train: Split, val: Split, test: Split,
                 num_classes: int):
        self.config, self.workdir = config, workdir
        self.train, self.val, self.test = train, val, test
        self.num_classes = num_classes
        self.activations = tuple(config.nas.activations)
        self.prepare = Normaliser.fit(train)
        image_shape = tuple(train["image"].shape[1:])
        self.input_shape = image_shape if len(image_shape) == 3 else image_shape + (1,)
        self.loop_config = ml_collections.ConfigDict(config.to_dict())
        self.loop_config.eval_every = 0
        self.loop_config.checkpoint_every = 0
        self.loop_config.tensorboard = False
        self.loop_config.log_every = min(int(config.log_every), int(config.steps))
        self.calls = 0

    def model(self, arch: Arch) -> CandidateNet:
        width = arch.width * (int(self.config.nas.mlp_width_multiplier) if arch.family == "mlp" else 1)
        return CandidateNet(self.num_classes, family=arch.family, depth=arch.depth, width=width,
                            kernel_size=arch.kernel or 3, activations=self.activations)

    def init_key(self, arch: Arch) -> jax.Array:
        return jax.random.fold_in(jax.random.key(int(self.config.seed)), zlib.crc32(repr(arch).encode()) & 0x7FFFFFFF)

    def describe(self, arch: Arch) -> dict[str, Any]:
        m = self.model(arch)
        shape = self.input_shape
        params = jax.eval_shape(lambda: m.init(jax.random.key(0), jnp.zeros((1,) + shape), jnp.int32(0)))["params"]
        return {"params": loop.count_params(params),
                "flops": forward_flops(arch.family, arch.depth, m.width, m.kernel_size, shape, self.num_classes)}

    def train_group(self, archs: list[Arch]) -> list[dict[str, Any]]:
        """Trains same-shape `archs` together; returns one result dict per architecture."""
        assert len({a.shape_key for a in archs}) == 1
        model = self.model(archs[0])
        tx = make_optimizer(self.config)
        acts = jnp.array([self.activations.index(a.activation) for a in archs], jnp.int32)
        keys = jnp.stack([self.init_key(a) for a in archs])
        sample = jnp.zeros((1,) + self.input_shape, jnp.float32)
        prepare, shape = self.prepare, self.input_shape

        def init(_key):
            params = jax.vmap(lambda k: model.init(k, sample, jnp.int32(0))["params"])(keys)
            return TrainState(params=params, model_state={"activation": acts}, opt_state=jax.vmap(tx.init)(params))

        def step_one(state: TrainState, x, y):
            def loss_fn(params):
                logits = model.apply({"params": params}, x, state.model_state["activation"])
                return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), logits

            (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
            metrics = {"loss": loss, "accuracy": jnp.mean(jnp.argmax(logits, -1) == y)}
            return apply_gradients(state, tx, grads, metrics, grad_norm=False)

        def train_step(state, batch, key):
            x = prepare(batch["image"]).reshape((-1,) + shape)
            state, m = jax.vmap(step_one, in_axes=(0, None, None))(state, x, batch["label"])
            finite = jnp.isfinite(m["loss"])  # a diverged candidate scores badly; it must not stop the search
            return state, {"loss": jnp.sum(jnp.where(finite, m["loss"], 0.0)) / jnp.maximum(jnp.sum(finite), 1),
                           "accuracy": jnp.mean(m["accuracy"]), "diverged": jnp.sum(~finite).astype(jnp.float32)}

        recipe = loop.Recipe(init=init, train_step=train_step, eval_step=lambda s, b: {}, train_split=self.train,
                             eval_splits={})
        self.calls += 1
        workdir = self.workdir / "candidates" / f"call_{self.calls:04d}"
        state, _ = loop.run(recipe, self.loop_config, workdir, desc=f"{len(archs)} x {archs[0].shape_key}")
        params = jax.device_get(state.params)

        chunk = min(1000, len(self.val), len(self.test))

        @jax.jit
        def correct(params, x, y, mask):
            logits = jax.vmap(lambda p, a: model.apply({"params": p}, prepare(x).reshape((-1,) + shape), a))(params, acts)
            return jnp.sum((jnp.argmax(logits, -1) == y) * mask, axis=-1)

        def score(split: Split) -> np.ndarray:
            """Accuracy of every candidate; one compiled program for both splits (the last chunk is padded)."""
            hits = 0
            for i in range(0, len(split), chunk):
                x, y = split["image"][i:i + chunk], split["label"][i:i + chunk]
                pad = chunk - len(y)
                mask = np.concatenate([np.ones(len(y), np.float32), np.zeros(pad, np.float32)])
                if pad:
                    x = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)])
                    y = np.concatenate([y, np.zeros(pad, y.dtype)])
                hits = hits + np.asarray(correct(params, x, y, mask))
            return hits / len(split)

        val, test = score(self.val), score(self.test)
        info = self.describe(archs[0])
        return [{**a.to_dict(), "val_accuracy": float(v), "test_accuracy": float(t), **info}
                for a, v, t in zip(archs, val, test)]

    def train_all(self, archs: list[Arch], vmapped: bool, on_results=None) -> list[dict[str, Any]]:
        """Trains `archs`: one call per shape (vmapped) or per architecture; `on_results(rows)` after each call."""
        groups: dict[tuple, list[Arch]] = {}
        for a in archs:
            groups.setdefault(a.shape_key, []).append(a)
        results = []
        for group in groups.values():
            for chunk in ([group] if vmapped else [[a] for a in group]):
                rows = self.train_group(chunk)
                if on_results is not None:
                    on_results(rows)
                results += rows
        return results


def budget_signature(config: ml_collections.ConfigDict) -> str:
    keys = ("dataset", "data_seed", "seed", "steps", "batch_size", "optimizer", "learning_rate", "weight_decay",
            "warmup_steps", "schedule", "momentum", "grad_clip")
    nas = config.nas
    return json.dumps([config.get(k) for k in keys] + [int(nas.validation_examples), int(nas.mlp_width_multiplier),
                                                       list(nas.activations)])


def load_cache(path: Path, signature: str) -> dict[Arch, dict[str, Any]]:
    cache = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if row.get("signature") == signature:
                cache[Arch(row["family"], row["depth"], row["width"], row["kernel"], row["activation"])] = row
    return cache


def pareto_front(points: Iterable[tuple[float, float]]) -> list[int]:
    """Indices of the points not dominated (lower cost and higher accuracy), sorted by cost."""
    pts = list(points)
    order = sorted(range(len(pts)), key=lambda i: (pts[i][0], -pts[i][1]))
    front, best = [], -np.inf
    for i in order:
        if pts[i][1] > best:
            front.append(i)
            best = pts[i][1]
    return front


def plot_search(searches: list[RandomSearch], results: dict[Arch, dict], workdir: Path) -> None:
    plt = pyplot()
    out = workdir / "plots"
    rows = list(results.values())
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, cost in zip(axes, ("params", "flops")):
        for fam, marker in (("cnn", "o"), ("mlp", "s")):
            sel = [r for r in rows if r["family"] == fam]
            ax.scatter([r[cost] for r in sel], [r["test_accuracy"] for r in sel], marker=marker, s=18, alpha=0.6,
                       label=f"{fam} candidates")
        front = pareto_front((r[cost], r["test_accuracy"]) for r in rows)
        ax.plot([rows[i][cost] for i in front], [rows[i]["test_accuracy"] for i in front], "k.-", lw=1, label="Pareto front")
        ax.set_xscale("log"); ax.set_xlabel("parameters" if cost == "params" else "forward FLOPs per example")
        ax.set_ylabel("test accuracy"); ax.grid(alpha=0.3); ax.legend(fontsize=8)
    fig.suptitle(f"architecture search: {len(rows)} trained candidates")
    fig.tight_layout()
    save_figure(fig, out / "pareto.png", dpi=80)

    fig, ax = plt.subplots(figsize=(6, 3.4))
    colors = {"evolution": "tab:red", "random": "tab:blue"}
    for s in searches:
        best = np.maximum.accumulate([f for _, f in s.history])
        ax.plot(np.arange(1, len(best) + 1), best, color=colors[s.name], alpha=0.7, lw=1.2,
                label=s.name if s is next(x for x in searches if x.name == s.name) else None)
    ax.set_xlabel("candidate trainings"); ax.set_ylabel("best validation accuracy so far"); ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, out / "learning_curve.png", dpi=90)


def mean_std(values: list[float], prefix: str) -> dict[str, Any]:
    return {prefix: float(np.mean(values)), f"{prefix}_std": float(np.std(values)),
            f"{prefix}_per_seed": [float(v) for v in values]}


def best_model_config(arch: Arch, nas: ml_collections.ConfigDict) -> dict[str, Any]:
    """The best architecture as a `classify` model config (the same network as the candidate)."""
    if arch.family == "cnn":
        return {"name": "cnn", "features": [arch.width * 2 ** i for i in range(arch.depth)], "kernel_size": arch.kernel,
                "convs_per_stage": 1, "dense": [], "dropout": 0.0, "activation": arch.activation}
    return {"name": "mlp", "hidden": [arch.width * int(nas.mlp_width_multiplier)] * arch.depth, "dropout": 0.0,
            "activation": arch.activation}


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    check_config(config)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    nas = config.nas
    data = supervised.load_data(config)
    train_split, val_split = hold_out(data.train, int(nas.validation_examples), int(config.data_seed),
                                      "config.nas.validation_examples")
    trainer = Trainer(config, workdir, train_split, val_split, data.test, data.num_classes)
    space = Space(nas)
    seeds = [int(config.seed) + i for i in range(int(nas.search_seeds))]
    searches: list[RandomSearch] = [cls(space, s, nas) for s in seeds for cls in (Evolution, RandomSearch)]

    signature = budget_signature(config)
    cache_path = workdir / "candidates.jsonl"
    results = load_cache(cache_path, signature)
    if results:
        log.info("resuming: %d trained candidates in %s", len(results), cache_path)
    t0 = time.time()
    trained = 0
    for generation in range(int(nas.generations) + 1):
        proposals = [s.propose(generation) for s in searches]
        new = list(dict.fromkeys(a for p in proposals for a in p if a not in results))

        def record(rows: list[dict[str, Any]]) -> None:  # after every call, so that an interrupted run resumes
            for row in rows:
                arch = Arch(row["family"], row["depth"], row["width"], row["kernel"], row["activation"])
                results[arch] = {**row, "signature": signature}
                with cache_path.open("a") as f:
                    f.write(json.dumps(results[arch]) + "\n")

        trainer.train_all(new, bool(nas.vmap_candidates), on_results=record)
        trained += len(new)
        for s, p in zip(searches, proposals):
            s.observe(p, [results[a]["val_accuracy"] for a in p])
        log.info("round %d/%d: %d new candidates trained (%d unique so far); best validation accuracy: %s",
                 generation, int(nas.generations), len(new), len(results),
                 ", ".join(f"{s.name}[{i // 2}] {max(f for _, f in s.history):.4f}" for i, s in enumerate(searches)))

    def best(s: RandomSearch) -> Arch:
        return max(s.history, key=lambda af: af[1])[0]

    evo = [s for s in searches if s.name == "evolution"]
    rnd = [s for s in searches if s.name == "random"]
    out: dict[str, Any] = {}
    for name, group in (("evolution", evo), ("random", rnd)):
        out.update(mean_std([results[best(s)]["val_accuracy"] for s in group], f"{name}_best_val_accuracy"))
        out.update(mean_std([results[best(s)]["test_accuracy"] for s in group], f"{name}_best_test_accuracy"))
    out["evolution_wins"] = int(sum(results[best(e)]["val_accuracy"] > results[best(r)]["val_accuracy"]
                                    for e, r in zip(evo, rnd)))
    out["search_seeds"] = len(seeds)
    out["test_accuracy"] = out["evolution_best_test_accuracy"]
    out["test_accuracy_std"] = out["evolution_best_test_accuracy_std"]
    out["candidate_trainings"] = len(searches[0].history)
    out["unique_trainings"] = len(results)
    out["trainings_this_run"] = trained
    out["search_wall_s"] = round(time.time() - t0, 1)
    top = max((best(s) for s in evo), key=lambda a: results[a]["val_accuracy"])
    out["best_architecture"] = best_model_config(top, nas)
    out["best_val_accuracy"] = results[top]["val_accuracy"]
    out["params"] = results[top]["params"]
    out["flops"] = results[top]["flops"]
    out["steps"] = int(config.steps)
    (workdir / "best_architecture.json").write_text(json.dumps(out["best_architecture"], indent=2) + "\n")
    if jax.process_index() == 0:
        plot_search(searches, results, workdir)
    log.info("evolution best %.4f +- %.4f vs random best %.4f +- %.4f (validation, %d seeds; evolution ahead on %d)",
             out["evolution_best_val_accuracy"], out["evolution_best_val_accuracy_std"], out["random_best_val_accuracy"],
             out["random_best_val_accuracy_std"], len(seeds), out["evolution_wins"])
    return out
