"""Fine-tuning from another run's checkpoint: load a compatible subtree of its parameters by path,
and per-subtree learning rates and freezing in the optimizer (discriminative fine-tuning).

Loading (`config.init_from`, a workdir; the `config.transfer` group says what goes where):
- `source_params(workdir)` reads the newest readable checkpoint's `params` without knowing the
  source's recipe (orbax restores the saved tree as it is). The source workdir is only read: no
  lock, no temporary directory, no moved-aside checkpoint (the tests compare its files' bytes and
  mtimes before and after).
- `graft(target, source, source_prefix=, target_prefix=, fresh=, ignore=)` copies every leaf under
  `source_prefix` of the source to the same relative path under `target_prefix` of the target. It
  raises one `JaxmlError` listing every problem: target leaves of the subtree the source lacks
  ("missing", unless they match a `fresh` pattern), source leaves the target lacks ("unexpected",
  unless they match an `ignore` pattern) and leaves whose shapes differ ("mis-shaped"); a source
  that shares no path with the target at all (another architecture) is named as such.
- `init_from_config(config, state)` is the one hook `core.loop.run` calls on the freshly built
  state (before resuming the run's own checkpoint, which takes precedence): with `config.init_from`
  set it grafts the source into `state.params` and keeps each leaf's placement (sharding).

Optimizer (`wrap_optimizer(config, tx)`, called by `core.train_state.make_optimizer`):
- `config.transfer.lr_multipliers`: ("regex=multiplier", ...) on parameter path names
  ('trunk/block_0/mlp/fc1/kernel'); the first pattern found in a path wins, unmatched paths get 1;
  multiplier 0 freezes the leaf.
- `config.transfer.layer_decay` (ULMFiT's discriminative fine-tuning, the layer-wise decay of
  BEiT/ELECTRA; docs/references.md): a Transformer's `block_i` (of L) gets decay^(L - i), its
  embeddings decay^L, everything after the blocks (final norm, heads) 1; multiplied by the
  pattern's multiplier.
- Built with `optax.multi_transform`: the frozen leaves get `set_to_zero` (no optimizer moments,
  no share of the gradient-clipping norm), the others the base optimizer followed by a per-leaf
  scale of its updates (the same as scaling the learning rate: the updates of AdamW, Adam and SGD,
  weight decay included, are linear in it). With neither key set the base optimizer is returned
  unchanged.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Callable, Mapping

import jax
import ml_collections
import numpy as np
import optax

from jaxml.core.param_paths import map_named, named_leaves
from jaxml.errors import JaxmlError

log = logging.getLogger("jaxml")
FROZEN, TRAINED = "frozen", "trained"
_BLOCK = re.compile(r"(?:^|/)block_(\d+)/")
_EMBED = re.compile(r"(?:^|/)embed/")
_LIST_LIMIT = 8  # leaves named per kind in an error (then "... and N more")


# ------------------------------------------------------------------------------------------ loading

def source_params(workdir: str | Path) -> dict[str, np.ndarray]:
    """{path name: array} of the `params` of the newest readable checkpoint of `workdir`, read only."""
    import orbax.checkpoint as ocp

    workdir = Path(workdir)
    directory = workdir / "checkpoints"
    if not workdir.is_dir():
        raise JaxmlError(f"config.init_from={str(workdir)!r}: no such workdir")
    if not directory.is_dir():
        raise JaxmlError(f"config.init_from={str(workdir)!r} holds no checkpoints/ directory; train it first "
                         f"(with checkpoint_every > 0)")
    steps = sorted((int(p.name) for p in directory.iterdir() if p.name.isdigit()), reverse=True)
    if not steps:
        raise JaxmlError(f"config.init_from={str(workdir)!r}: {directory} holds no finished checkpoint")
    options = ocp.CheckpointManagerOptions(create=False, cleanup_tmp_directories=False, enable_async_checkpointing=False,
                                           read_only=True, save_interval_steps=0)
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)  # orbax's notes on a read-only directory are what we asked for
    manager = ocp.CheckpointManager(directory.absolute(), options=options)
    errors = []
    try:
        for step in steps:
            try:
                state = manager.restore(step, args=ocp.args.StandardRestore())
            except Exception as e:  # noqa: BLE001 - an unreadable checkpoint: try the previous one
                errors.append(f"step {step}: {type(e).__name__}")
                continue
            params = state.get("params") if isinstance(state, Mapping) else None
            if not params:
                raise JaxmlError(f"config.init_from={str(workdir)!r}: the checkpoint at step {step} holds no params "
                                 f"(its state has {', '.join(map(str, state)) if isinstance(state, Mapping) else '?'})")
            log.info("init_from: read the params of %s at step %d", directory, step)
            return {k: np.asarray(v) for k, v in named_leaves(params).items()}
    finally:
        manager.close()
        absl.setLevel(level)
    raise JaxmlError(f"config.init_from={str(workdir)!r}: no checkpoint could be read ({'; '.join(errors)})")


def _under(name: str, prefix: str) -> str | None:
    """`name` relative to `prefix` ('' = the whole tree), or None when it is not under it."""
    if not prefix:
        return name
    return name[len(prefix) + 1:] if name.startswith(prefix + "/") else None


def _listing(kind: str, names: list[str]) -> str:
    shown = ", ".join(names[:_LIST_LIMIT]) + (f" ... and {len(names) - _LIST_LIMIT} more" if len(names) > _LIST_LIMIT
                                               else "")
    return f"{len(names)} {kind}: {shown}"


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(re.search(p, name) for p in patterns)


def graft(target: Any, source: Mapping[str, Any], *, source_prefix: str = "", target_prefix: str = "",
          fresh: tuple[str, ...] = (), ignore: tuple[str, ...] = (), origin: str = "the source") -> Any:
    """`target` (a params tree) with the leaves under `target_prefix` replaced by the source's leaves
    (a {path name: array} dict) at the same path under `source_prefix`; one JaxmlError listing every
    missing, unexpected and mis-shaped leaf (see the module docstring)."""
    wanted = {rel: name for name in named_leaves(target) if (rel := _under(name, target_prefix)) is not None}
    given = {rel: name for name in source if (rel := _under(name, source_prefix)) is not None}
    if not wanted:
        raise JaxmlError(f"config.transfer.target={target_prefix!r} names no subtree of the model's parameters "
                         f"(top level: {', '.join(sorted({n.split('/')[0] for n in named_leaves(target)}))})")
    common = wanted.keys() & given.keys()
    if not common:
        raise JaxmlError(
            f"{origin} is another architecture: its parameters under {source_prefix or 'the root'!r} share no path "
            f"with the model's under {target_prefix or 'the root'!r} (source: {', '.join(sorted(given)[:4]) or 'none'}; "
            f"model: {', '.join(sorted(wanted)[:4])}); set config.transfer.source / .target")
    leaves = named_leaves(target)
    missing = sorted(wanted[r] for r in wanted.keys() - given.keys() if not _matches(wanted[r], fresh))
    unexpected = sorted(given[r] for r in given.keys() - wanted.keys() if not _matches(given[r], ignore))
    misshaped = sorted(f"{wanted[r]} {tuple(np.shape(leaves[wanted[r]]))} vs {tuple(np.shape(source[given[r]]))}"
                       for r in common if tuple(np.shape(leaves[wanted[r]])) != tuple(np.shape(source[given[r]])))
    problems = [_listing(kind, names) for kind, names in
                (("missing (in the model, not in the source; allow with config.transfer.fresh)", missing),
                 ("unexpected (in the source, not in the model; drop with config.transfer.ignore)", unexpected),
                 ("mis-shaped (model vs source)", misshaped)) if names]
    if problems:
        raise JaxmlError(f"cannot load {origin} into the model: " + "; ".join(problems))
    by_target = {wanted[r]: given[r] for r in common}

    def pick(name, leaf):
        if name not in by_target:
            return leaf
        return np.asarray(source[by_target[name]]).astype(leaf.dtype)  # leaf may be a tracer (inside an init)

    return map_named(pick, target)


def transfer_group(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The config's `transfer` group (empty when it has none)."""
    return config.get("transfer") or ml_collections.ConfigDict()


def load_into(config: ml_collections.ConfigDict, params: Any, workdir: str | Path | None = None) -> Any:
    """`params` with the subtree `config.transfer` names loaded from `workdir` (default `config.init_from`)."""
    t = transfer_group(config)
    workdir = workdir or config.get("init_from", "")
    return graft(params, source_params(workdir), source_prefix=str(t.get("source", "")),
                 target_prefix=str(t.get("target", "")), fresh=tuple(t.get("fresh", ())),
                 ignore=tuple(t.get("ignore", ())), origin=f"config.init_from={str(workdir)!r}")


def init_from_config(config: ml_collections.ConfigDict, state: Any) -> Any:
    """The hook `core.loop.run` calls on the freshly built state: with `config.init_from` set, its
    params loaded from that workdir (each leaf placed where the fresh one was); else `state`."""
    if not config.get("init_from", ""):
        return state
    if not hasattr(state, "params"):
        raise JaxmlError(f"config.init_from: method {config.get('method')!r} has no `params` in its train state")
    loaded = load_into(config, jax.device_get(state.params))
    params = jax.tree.map(lambda new, old: jax.device_put(new, old.sharding), loaded, state.params)
    return state.replace(params=params)


# ---------------------------------------------------------------------------------------- optimizer

def parse_multipliers(patterns: tuple[str, ...]) -> list[tuple[str, float]]:
    """("regex=multiplier", ...) -> [(regex, multiplier)]; one JaxmlError for a malformed entry."""
    out = []
    for entry in patterns:
        pattern, sep, value = str(entry).rpartition("=")
        try:
            mult = float(value)
            re.compile(pattern)
        except (ValueError, re.error):
            mult = None
        if not sep or not pattern or mult is None or mult < 0 or not np.isfinite(mult):
            raise JaxmlError(f"config.transfer.lr_multipliers entry {entry!r} is not valid; write 'REGEX=MULTIPLIER' "
                             f"with a multiplier >= 0 (0 freezes), e.g. 'trunk/embed=0' or 'block_0/=0.5'")
        out.append((pattern, mult))
    return out


def num_blocks(names: list[str]) -> int:
    """The number of Transformer blocks (`block_i` path components) among `names`."""
    found = [int(m.group(1)) for n in names if (m := _BLOCK.search(n))]
    return max(found) + 1 if found else 0


def layer_multiplier(name: str, decay: float, layers: int) -> float:
    """decay^(L - i) for `block_i`, decay^L for the embeddings, 1 for everything else."""
    if decay == 1.0 or not layers:
        return 1.0
    m = _BLOCK.search(name)
    if m:
        return decay ** (layers - int(m.group(1)))
    return decay ** layers if _EMBED.search(name) else 1.0


def multipliers(config: ml_collections.ConfigDict, params: Any) -> dict[str, float]:
    """{path name: learning-rate multiplier} of every leaf of `params` (0 = frozen)."""
    t = transfer_group(config)
    rules = parse_multipliers(tuple(t.get("lr_multipliers", ())))
    decay = float(t.get("layer_decay", 1.0))
    if not 0 < decay <= 1:
        raise JaxmlError(f"config.transfer.layer_decay={decay} is out of range: must be in (0, 1]")
    names = list(named_leaves(params))
    layers = num_blocks(names)
    out = {}
    for name in names:
        mult = next((m for p, m in rules if re.search(p, name)), 1.0)
        out[name] = mult * layer_multiplier(name, decay, layers)
    return out


def scale_by_multipliers(fn: Callable[[Any], Mapping[str, float]]) -> optax.GradientTransformation:
    """Multiplies each leaf's update by its multiplier (`fn(params)`, by path name); stateless."""

    def init(params):
        del params
        return optax.EmptyState()

    def update(updates, state, params=None):
        mult = fn(updates)
        return map_named(lambda n, u: u * mult[n] if mult[n] != 1.0 else u, updates), state

    return optax.GradientTransformation(init, update)


def wrap_optimizer(config: ml_collections.ConfigDict, tx: optax.GradientTransformation) -> optax.GradientTransformation:
    """`tx` with `config.transfer`'s per-subtree multipliers and freezing (`tx` itself when none)."""
    t = transfer_group(config)
    if not tuple(t.get("lr_multipliers", ())) and float(t.get("layer_decay", 1.0)) == 1.0:
        return tx
    parse_multipliers(tuple(t.get("lr_multipliers", ())))  # malformed entries fail when the optimizer is built

    def labels(params):
        mult = multipliers(config, params)
        return map_named(lambda n, _: FROZEN if mult[n] == 0 else TRAINED, params)

    return optax.chain(optax.multi_transform({FROZEN: optax.set_to_zero(), TRAINED: tx}, labels),
                       scale_by_multipliers(lambda tree: multipliers(config, tree)))


def trainable_count(config: ml_collections.ConfigDict, params: Any) -> int:
    """The number of parameters the optimizer updates (multiplier > 0)."""
    mult = multipliers(config, params)
    return int(sum(np.size(leaf) for name, leaf in named_leaves(params).items() if mult[name] > 0))
