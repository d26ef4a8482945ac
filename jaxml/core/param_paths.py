"""Named views of a params tree: 'Conv_0/kernel'-style paths, and which leaves are weight kernels.

Compression methods (pruning, quantization) act on the weight kernels of Dense/Conv layers and leave
biases and normalisation parameters alone; they report per-layer numbers under these path names.
"""

from __future__ import annotations

from typing import Any, Callable

import jax


def path_name(path: tuple) -> str:
    """A `jax.tree_util` key path as 'Dense_0/kernel'."""
    parts = []
    for k in path:
        for attr in ("key", "name", "idx"):
            if hasattr(k, attr):
                parts.append(str(getattr(k, attr)))
                break
        else:
            parts.append(str(k))
    return "/".join(parts)


def named_leaves(tree: Any) -> dict[str, Any]:
    """{path name: leaf} in tree-flattening order."""
    return {path_name(p): leaf for p, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]}


def is_kernel(name: str, leaf: Any) -> bool:
    """True for the weight matrix/tensor of a Dense or Conv layer (a leaf named 'kernel', ndim >= 2)."""
    return name.rsplit("/", 1)[-1] == "kernel" and getattr(leaf, "ndim", 0) >= 2


def map_named(fn: Callable[[str, Any], Any], tree: Any, *rest: Any) -> Any:
    """`jax.tree.map` whose function also receives each leaf's path name: fn(name, leaf, *rest_leaves)."""
    return jax.tree_util.tree_map_with_path(lambda p, x, *r: fn(path_name(p), x, *r), tree, *rest)
