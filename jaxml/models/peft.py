"""Parameter-efficient fine-tuning: small trained modules on a frozen model, without changing its code.

Both methods act on the `models.layers.Dense` projections whose module path (e.g.
'trunk/block_0/self_attention/query') matches one of `targets` (regexes, `re.search`): while the
frozen model is applied inside `apply_with(...)`, a `flax.linen.intercept_methods` interceptor adds
the adapter's term to each targeted layer's output. The adapter parameters are their own tree,
nested by the module path ({'trunk': {'block_0': {'self_attention': {'query': {...}}}}}), so a train
state can hold them alone: the optimizer state and the checkpoint then have nothing else.

- `LoRA(rank, alpha, targets)` (Hu et al. 2021, docs/references.md): y = x W + b + (alpha / rank)
  (x A) B with A [in, r] ~ N(0, 1/in) and B [r, out] = 0, so training starts at the frozen model
  exactly. `merge(base, adapters)` folds it into the weights, W + (alpha / rank) A B, for export: the
  merged model computes what the adapted one does (tested). Default targets: the attention query
  and value projections (the paper's choice); the MLP's fc1/fc2 and the attention key/out are
  targets too.
- `BottleneckAdapter(size, targets)` (Houlsby et al. 2019): after each targeted projection (default:
  the attention output and the MLP's fc2, the two sub-layers' outputs before the residual sum),
  y + up(gelu(down(y))) with a `size`-wide bottleneck; `up` starts at zero (the identity). It is
  non-linear and cannot be merged: export applies it with `apply_with`.

`select_leaves(base, patterns)` picks base parameters to train beside either method (a config's
`train_also`, e.g. the layer norms) and `overlay(base, subset)` puts them back in place.

`PEFT_METHODS` maps the config's names to the classes; `from_config(name, group)` builds one from a
config group (unknown keys and bad values are one `JaxmlError`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxml.core.param_paths import named_leaves
from jaxml.errors import JaxmlError
from jaxml.models.layers import Dense, matmul


def dense_layers(params: Any) -> dict[str, tuple[int, int]]:
    """{module path of every Dense-style layer (a 2-D 'kernel'): (in, out) features}."""
    return {name.rsplit("/", 1)[0]: tuple(np.shape(leaf)) for name, leaf in named_leaves(params).items()
            if name.endswith("/kernel") and np.ndim(leaf) == 2}


def _nest(flat: Mapping[str, Any]) -> dict:
    out: dict = {}
    for path, value in flat.items():
        node = out
        *parents, last = path.split("/")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return out


def _lookup(tree: Mapping[str, Any], path: tuple[str, ...]) -> Mapping[str, Any] | None:
    node: Any = tree
    for p in path:
        if not isinstance(node, Mapping) or p not in node:
            return None
        node = node[p]
    return node


@dataclasses.dataclass(frozen=True)
class PeftMethod:
    """What the two methods share: target selection, the interceptor and the application."""

    targets: tuple[str, ...]

    def targeted(self, base_params: Any) -> dict[str, tuple[int, int]]:
        """{module path: (in, out)} of the Dense layers of `base_params` that `targets` select."""
        found = {p: s for p, s in dense_layers(base_params).items() if any(re.search(t, p) for t in self.targets)}
        if not found:
            raise JaxmlError(f"{type(self).__name__} targets {list(self.targets)} match no Dense layer; layers: "
                             f"{', '.join(sorted(dense_layers(base_params))[:8])} ...")
        return found

    def init(self, key: jax.Array, base_params: Any) -> dict:
        """The adapter parameters of every targeted layer, nested by module path."""
        layers = self.targeted(base_params)
        keys = jax.random.split(key, len(layers))
        return _nest({p: self.init_layer(k, *shape) for k, (p, shape) in zip(keys, sorted(layers.items()))})

    def init_layer(self, key: jax.Array, fan_in: int, fan_out: int) -> dict:
        raise NotImplementedError

    def adapt(self, next_fun: Callable, x: jax.Array, adapter: Mapping[str, jax.Array], dtype: Any) -> jax.Array:
        raise NotImplementedError

    def interceptor(self, adapters: Mapping[str, Any]) -> Callable:
        def intercept(next_fun, args, kwargs, context):
            module = context.module
            if context.method_name != "__call__" or not isinstance(module, Dense):
                return next_fun(*args, **kwargs)
            adapter = _lookup(adapters, tuple(module.path))
            if adapter is None:
                return next_fun(*args, **kwargs)
            return self.adapt(lambda x: next_fun(x, *args[1:], **kwargs), args[0], adapter, module.dtype)

        return intercept

    def apply_with(self, model: nn.Module, variables: Mapping[str, Any], adapters: Mapping[str, Any], *args,
                   **kwargs) -> Any:
        """`model.apply(variables, *args, **kwargs)` with the adapters in place."""
        with nn.intercept_methods(self.interceptor(adapters)):
            return model.apply(variables, *args, **kwargs)


@dataclasses.dataclass(frozen=True)
class LoRA(PeftMethod):
    targets: tuple[str, ...] = (r"self_attention/(query|value)$",)
    rank: int = 8
    alpha: float = 16.0

    @property
    def scale(self) -> float:
        return float(self.alpha) / int(self.rank)

    def init_layer(self, key, fan_in, fan_out):
        a = jax.random.normal(key, (fan_in, self.rank), jnp.float32) / np.sqrt(fan_in)
        return {"lora_a": a, "lora_b": jnp.zeros((self.rank, fan_out), jnp.float32)}

    def adapt(self, next_fun, x, adapter, dtype):
        low = matmul(matmul(x, adapter["lora_a"], dtype), adapter["lora_b"], dtype)
        return next_fun(x) + self.scale * low

    def merge(self, base_params: Any, adapters: Mapping[str, Any]) -> Any:
        """`base_params` with every adapted kernel W replaced by W + (alpha / rank) A B."""
        def walk(node, path):
            if isinstance(node, Mapping) and "lora_a" in node:
                return {path: node}
            return {k: v for key, child in node.items() for k, v in walk(child, path + (key,)).items()}

        merged = jax.tree.map(lambda x: x, base_params)
        merged = flax_unfrozen(merged)
        for path, ad in walk(adapters, ()).items():
            layer = _lookup(merged, path)
            if layer is None or "kernel" not in layer:
                raise JaxmlError(f"LoRA adapter {'/'.join(path)} has no layer in the base parameters")
            layer["kernel"] = layer["kernel"] + self.scale * (ad["lora_a"] @ ad["lora_b"])
        return merged


@dataclasses.dataclass(frozen=True)
class BottleneckAdapter(PeftMethod):
    targets: tuple[str, ...] = (r"self_attention/out$", r"mlp/fc2$")
    size: int = 8

    def init_layer(self, key, fan_in, fan_out):
        down = jax.random.normal(key, (fan_out, self.size), jnp.float32) * 1e-2
        return {"down": {"kernel": down, "bias": jnp.zeros((self.size,), jnp.float32)},
                "up": {"kernel": jnp.zeros((self.size, fan_out), jnp.float32),
                       "bias": jnp.zeros((fan_out,), jnp.float32)}}

    def adapt(self, next_fun, x, adapter, dtype):
        y = next_fun(x)
        h = nn.gelu(matmul(y, adapter["down"]["kernel"], dtype) + adapter["down"]["bias"])
        return y + matmul(h, adapter["up"]["kernel"], dtype) + adapter["up"]["bias"]


def select_leaves(base_params: Any, patterns: tuple[str, ...], what: str = "train_also") -> dict:
    """The leaves of `base_params` whose path name (e.g. 'trunk/block_0/ln_self/scale') matches one of
    `patterns` (regexes, `re.search`), nested by path: base parameters trained beside the adapters (layer
    norms, say, as many LoRA set-ups do). `()` selects nothing; patterns that match no leaf are an error."""
    names = named_leaves(base_params)
    picked = {n: leaf for n, leaf in names.items() if any(re.search(t, n) for t in patterns)}
    if patterns and not picked:
        raise JaxmlError(f"config {what}={list(patterns)} matches no parameter; parameters: "
                         f"{', '.join(sorted(names)[:8])} ...")
    return _nest(picked)


def overlay(base_params: Any, subset: Mapping[str, Any]) -> Any:
    """`base_params` with the leaves of the nested `subset` (the same paths) put in their place."""
    if not isinstance(subset, Mapping):
        return subset
    out = dict(base_params)
    for key, child in subset.items():
        if key not in out:
            raise JaxmlError(f"parameter {key!r} is not in the base parameters")
        out[key] = overlay(out[key], child)
    return out


def flax_unfrozen(tree: Any) -> Any:
    """A plain nested-dict copy of a params tree (FrozenDict or dict) whose dicts may be edited."""
    if isinstance(tree, Mapping):
        return {k: flax_unfrozen(v) for k, v in tree.items()}
    return tree


PEFT_METHODS: dict[str, type[PeftMethod]] = {"lora": LoRA, "adapter": BottleneckAdapter}


def from_config(name: str, group: Mapping[str, Any]) -> PeftMethod:
    """The PEFT method `name` with the fields of a config group (e.g. config.lora: rank, alpha, targets)."""
    if name not in PEFT_METHODS:
        raise JaxmlError(f"PEFT method {name!r} is not valid; choose one of {', '.join(PEFT_METHODS)}")
    cls = PEFT_METHODS[name]
    fields = {f.name for f in dataclasses.fields(cls)}
    spec = {k: v for k, v in dict(group).items() if k in fields}
    for k in ("rank", "size"):
        if k in spec and (isinstance(spec[k], bool) or not isinstance(spec[k], int) or spec[k] < 1):
            raise JaxmlError(f"config.{name}.{k}={spec[k]!r} must be an int >= 1")
    if "alpha" in spec and not float(spec["alpha"]) > 0:
        raise JaxmlError(f"config.{name}.alpha={spec['alpha']!r} must be > 0")
    if "targets" in spec:
        spec["targets"] = tuple(spec["targets"])
        if not spec["targets"]:
            raise JaxmlError(f"config.{name}.targets=() is empty; name the layers, e.g. 'self_attention/query$'")
    return cls(**spec)
