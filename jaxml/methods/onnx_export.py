"""A small jaxpr -> ONNX converter for `jaxml export --format onnx` (run with onnxruntime).

`to_onnx(fn, example)` traces `fn` with a symbolic batch dimension (`jax.export.symbolic_shape`; a
function that needs a concrete batch is traced at the example's) and writes one ONNX node (or a few)
per jaxpr equation, with the closed-over parameters as initializers. The batch size stays a
dimension parameter "b" of the graph: where a shape parameter depends on it (a reshape, a broadcast,
a slice bound) the converter builds that shape at run time from the input's shape. Sub-jaxprs
(`jit`, `custom_jvp_call`, `custom_vjp_call`, `closed_call`, `remat`) are inlined.

The converted primitives are the keys of `RULES`: what the MLP and CNN inference functions use
(dot_general, conv_general_dilated, the elementwise arithmetic and comparisons, max as ReLU,
reshape, transpose, broadcast_in_dim, pad, slice, concatenate, reduce_max/min/sum, reduce_window_max
as max-pooling, exp, log, tanh, logistic, integer_pow, select_n, convert_element_type, ...). gather is
covered only in the form a static slice takes under a symbolic batch (a dynamic slice). Any other
primitive or form (a gather as an embedding lookup, scan, while, cumsum, sort, ...) is one JaxmlError
that names it; nothing is approximated. docs/serving.md has the table of the families that export.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np

from jaxml.errors import JaxmlError

OPSET = 18
BATCH = "b"


class Graph:
    """The ONNX graph under construction: nodes, initializers, fresh names, run-time shapes."""

    def __init__(self, onnx_module):
        self.onnx = onnx_module
        self.helper = onnx_module.helper
        self.nodes: list = []
        self.initializers: list = []
        self._count = 0
        self.batch: str | None = None  # int64 [1]: the input's batch size, when it is symbolic

    def fresh(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, value: Any, dtype=None) -> str:
        array = np.asarray(value, dtype=dtype)
        if array.dtype == np.float64 and dtype is None:
            array = array.astype(np.float32)
        name = self.fresh("const")
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], outputs: int = 1, **attrs) -> list[str]:
        names = [self.fresh(op.lower()) for _ in range(outputs)]
        self.nodes.append(self.helper.make_node(op, inputs, names, **attrs))
        return names

    def one(self, op: str, inputs: list[str], **attrs) -> str:
        return self.node(op, inputs, **attrs)[0]

    def dim(self, d) -> str | int:
        """A dimension: an int, or (a linear function of the batch) an int64 [1] tensor computed at run time."""
        if isinstance(d, (int, np.integer)):
            return int(d)
        try:
            names = {str(v) for v in d._get_vars()}
            c = int(d._evaluate({BATCH: 0}))
            k = int(d._evaluate({BATCH: 1})) - c
            linear = names == {BATCH} and int(d._evaluate({BATCH: 7})) == 7 * k + c
        except Exception:  # noqa: BLE001 - not an expression of the batch size
            linear = False
        if not linear or self.batch is None:
            raise JaxmlError(f"ONNX export: the shape dimension {d} is not a linear function of the batch size")
        out = self.batch if k == 1 else self.one("Mul", [self.batch, self.const([k], np.int64)])
        return out if c == 0 else self.one("Add", [out, self.const([c], np.int64)])

    def shape(self, dims) -> str:
        """An int64 [len(dims)] tensor of `dims` (a constant unless one depends on the batch)."""
        parts = [self.dim(d) for d in dims]
        if all(isinstance(p, int) for p in parts):
            return self.const(parts, np.int64)
        pieces = [self.const([p], np.int64) if isinstance(p, int) else p for p in parts]
        return self.one("Concat", pieces, axis=0)


def _onnx_dtype(onnx_module, dtype) -> int:
    try:
        return onnx_module.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    except (KeyError, TypeError, ValueError):
        raise JaxmlError(f"ONNX export: the dtype {dtype} has no ONNX type here") from None


def _shape_of(var) -> tuple:
    return tuple(var.aval.shape)


# --- rules: (graph, eqn, input names) -> output names -----------------------------------------------

def _elementwise(op: str) -> Callable:
    return lambda g, eqn, xs: [g.one(op, xs)]


def _not_equal(g, eqn, xs):
    return [g.one("Not", [g.one("Equal", xs)])]


def _rsqrt(g, eqn, xs):
    return [g.one("Reciprocal", [g.one("Sqrt", xs)])]


def _square(g, eqn, xs):
    return [g.one("Mul", [xs[0], xs[0]])]


def _identity(g, eqn, xs):
    return [g.one("Identity", xs[:1])]


def _integer_pow(g, eqn, xs):
    y, x = int(eqn.params["y"]), xs[0]
    if y == 0:
        return [g.one("Expand", [g.const(1, eqn.outvars[0].aval.dtype), g.one("Shape", [x])])]
    out = x
    for _ in range(abs(y) - 1):  # repeated products, as XLA computes integer_pow
        out = g.one("Mul", [out, x])
    return [g.one("Reciprocal", [out]) if y < 0 else out]


def _convert(g, eqn, xs):
    return [g.one("Cast", xs, to=_onnx_dtype(g.onnx, eqn.params["new_dtype"]))]


def _reshape(g, eqn, xs):
    if eqn.params.get("dimensions") is not None:
        raise JaxmlError("ONNX export: reshape with `dimensions` (a transposing reshape) is not covered")
    return [g.one("Reshape", [xs[0], g.shape(eqn.params["new_sizes"])])]


def _to_out_shape(g, eqn, xs):  # squeeze, expand_dims: a reshape to the output's shape
    return [g.one("Reshape", [xs[0], g.shape(_shape_of(eqn.outvars[0]))])]


def _transpose(g, eqn, xs):
    return [g.one("Transpose", xs, perm=[int(p) for p in eqn.params["permutation"]])]


def _broadcast_in_dim(g, eqn, xs):
    shape, dims = eqn.params["shape"], eqn.params["broadcast_dimensions"]
    operand = _shape_of(eqn.invars[0])
    x = xs[0]
    if operand:  # operand axes at `dims`, size 1 elsewhere, then broadcast
        full = [1] * len(shape)
        for axis, size in zip(dims, operand):
            full[axis] = size
        x = g.one("Reshape", [x, g.shape(full)])
    return [g.one("Expand", [x, g.shape(shape)])]


def _reduce(op: str) -> Callable:
    def rule(g, eqn, xs):
        axes = [int(a) for a in eqn.params["axes"]]
        if not axes:
            return [g.one("Identity", xs)]
        return [g.one(op, [xs[0], g.const(axes, np.int64)], keepdims=0)]
    return rule


def _arg(op: str) -> Callable:
    def rule(g, eqn, xs):
        (axis,) = eqn.params["axes"]
        index = g.one(op, xs, axis=int(axis), keepdims=0, select_last_index=0)
        return [g.one("Cast", [index], to=_onnx_dtype(g.onnx, eqn.params["index_dtype"]))]
    return rule


def _select_n(g, eqn, xs):
    which, cases = xs[0], xs[1:]
    if np.dtype(eqn.invars[0].aval.dtype) == np.bool_:
        if len(cases) != 2:
            raise JaxmlError("ONNX export: select_n with a boolean predicate takes two cases")
        return [g.one("Where", [which, cases[1], cases[0]])]
    out = cases[0]
    for i, case in enumerate(cases[1:], start=1):
        hit = g.one("Equal", [which, g.const(i, eqn.invars[0].aval.dtype)])
        out = g.one("Where", [hit, case, out])
    return [out]


def _clamp(g, eqn, xs):
    lo, x, hi = xs
    return [g.one("Max", [g.one("Min", [x, hi]), lo])]


def _pad(g, eqn, xs):
    config = eqn.params["padding_config"]
    if any(interior for _, _, interior in config):
        raise JaxmlError("ONNX export: pad with interior padding is not covered")
    pads = [int(lo) for lo, _, _ in config] + [int(hi) for _, hi, _ in config]
    return [g.one("Pad", [xs[0], g.const(pads, np.int64), xs[1]], mode="constant")]


def _slice(g, eqn, xs):
    starts, limits = eqn.params["start_indices"], eqn.params["limit_indices"]
    strides = eqn.params["strides"] or (1,) * len(starts)
    axes = list(range(len(starts)))
    return [g.one("Slice", [xs[0], g.shape(starts), g.shape(limits), g.const(axes, np.int64),
                            g.const([int(s) for s in strides], np.int64)])]


def _concatenate(g, eqn, xs):
    return [g.one("Concat", xs, axis=int(eqn.params["dimension"]))]


def _split(g, eqn, xs):
    sizes = g.shape(eqn.params["sizes"])
    return g.node("Split", [xs[0], sizes], outputs=len(eqn.outvars), axis=int(eqn.params["axis"]))


def _iota(g, eqn, xs):
    shape, dimension = eqn.params["shape"], int(eqn.params["dimension"])
    if not all(isinstance(d, (int, np.integer)) for d in shape):
        raise JaxmlError("ONNX export: iota over the batch dimension is not covered")
    ramp = np.arange(shape[dimension], dtype=eqn.params["dtype"])
    view = [1] * len(shape)
    view[dimension] = shape[dimension]
    return [g.const(np.broadcast_to(ramp.reshape(view), shape).copy())]


def _dot_general(g, eqn, xs):
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    lhs, rhs = _shape_of(eqn.invars[0]), _shape_of(eqn.invars[1])
    out_dtype = np.dtype(eqn.outvars[0].aval.dtype)
    if not lb and tuple(lc) == (len(lhs) - 1,) and tuple(rc) == (0,) and len(rhs) == 2:
        out = g.one("MatMul", xs)  # [..., K] @ [K, N]: the dense layer
    else:  # any contraction as an einsum: batch axes, then the lhs free axes, then the rhs free axes
        letters = iter("abcdefghijklmnopqrstuvwxyz")
        left, right = [None] * len(lhs), [None] * len(rhs)
        for i, j in zip(lb, rb):
            left[i] = right[j] = next(letters)
        for i, j in zip(lc, rc):
            left[i] = right[j] = next(letters)
        free_l = [i for i in range(len(lhs)) if left[i] is None]
        free_r = [j for j in range(len(rhs)) if right[j] is None]
        for i in free_l:
            left[i] = next(letters)
        for j in free_r:
            right[j] = next(letters)
        result = [left[i] for i in lb] + [left[i] for i in free_l] + [right[j] for j in free_r]
        out = g.one("Einsum", xs, equation=f"{''.join(left)},{''.join(right)}->{''.join(result)}")
    if np.dtype(eqn.invars[0].aval.dtype) != out_dtype:
        out = g.one("Cast", [out], to=_onnx_dtype(g.onnx, out_dtype))
    return [out]


def _window_slice(g, x: str, starts: str, axes, sizes, dims) -> str:
    """x[starts[i] : starts[i] + sizes[i]] along `axes`, the starts (an int [len(axes)] tensor) clamped
    into range as XLA clamps a dynamic slice's."""
    starts = g.one("Cast", [starts], to=g.onnx.TensorProto.INT64)
    if not all(isinstance(dims[a], (int, np.integer)) for a in axes):
        raise JaxmlError("ONNX export: a dynamic slice along the batch dimension is not covered")
    highest = g.const([int(dims[a]) - int(sizes[a]) for a in axes], np.int64)
    starts = g.one("Max", [g.one("Min", [starts, highest]), g.const([0] * len(axes), np.int64)])
    ends = g.one("Add", [starts, g.const([int(sizes[a]) for a in axes], np.int64)])
    return g.one("Slice", [x, starts, ends, g.const([int(a) for a in axes], np.int64)])


def _point_gather(g, eqn, xs, fill: bool) -> str:
    """A gather that picks single positions along the `start_index_map` axes (collapsed) and keeps
    every other axis whole — a strided slice under a symbolic batch, an embedding lookup — as GatherND;
    with `fill` an out-of-range index gives NaN (jnp.take's default fill for floats), else XLA's clamp."""
    numbers = eqn.params["dimension_numbers"]
    operand, indices = _shape_of(eqn.invars[0]), _shape_of(eqn.invars[1])
    picked = [int(a) for a in numbers.start_index_map]
    kept = [a for a in range(len(operand)) if a not in picked]
    data = g.one("Transpose", [xs[0]], perm=picked + kept)
    raw = g.one("Cast", [xs[1]], to=g.onnx.TensorProto.INT64)
    highest = g.const([int(operand[a]) - 1 for a in picked], np.int64)  # GatherND fails out of range
    index = g.one("Max", [g.one("Min", [raw, highest]), g.const(0, np.int64)])
    out = g.one("GatherND", [data, index], batch_dims=0)  # [index batch..., kept...]
    rank, batch = len(eqn.outvars[0].aval.shape), len(indices) - 1
    if fill:
        dtype = np.dtype(eqn.outvars[0].aval.dtype)
        if not np.issubdtype(dtype, np.floating):
            raise JaxmlError("ONNX export: a gather that fills out-of-range indices is covered for float outputs only")
        inside = g.one("Cast", [g.one("Equal", [raw, index])], to=g.onnx.TensorProto.INT64)
        inside = g.one("ReduceMin", [inside, g.const([-1], np.int64)], keepdims=0)  # [index batch...]
        inside = g.one("Reshape", [inside, g.one("Concat", [g.one("Shape", [inside]),
                                                           g.const([1] * len(kept), np.int64)], axis=0)])
        out = g.one("Where", [g.one("Cast", [inside], to=g.onnx.TensorProto.BOOL), out, g.const(np.nan, dtype)])
    offset = [int(d) for d in numbers.offset_dims]
    batch_positions = [d for d in range(rank) if d not in offset]
    perm = [batch + offset.index(d) if d in offset else batch_positions.index(d) for d in range(rank)]
    return g.one("Transpose", [out], perm=perm)


def _gather(g, eqn, xs):
    """Two forms: a dynamic slice (every operand axis kept, one start index per sliced axis: a static
    slice under a symbolic batch) and a point gather (single positions along some axes, the others
    whole: a strided slice under a symbolic batch, or an embedding lookup). Any other gather (partial
    windows at index-array positions, batched gathers) is not covered."""
    numbers, sizes = eqn.params["dimension_numbers"], eqn.params["slice_sizes"]
    operand, indices = _shape_of(eqn.invars[0]), _shape_of(eqn.invars[1])
    mode = str(eqn.params["mode"])
    fill = "FILL_OR_DROP" in mode
    in_bounds = "PROMISE_IN_BOUNDS" in mode or "CLIP" in mode
    picked = tuple(int(a) for a in numbers.start_index_map)
    whole = all(sizes[a] == operand[a] for a in range(len(operand)) if a not in picked)
    if (in_bounds or fill) and not numbers.operand_batching_dims and indices and indices[-1] == len(picked):
        if in_bounds and tuple(numbers.offset_dims) == tuple(range(len(operand))) \
                and not numbers.collapsed_slice_dims and len(indices) == 1:
            return [_window_slice(g, xs[0], xs[1], picked, sizes, operand)]
        if sorted(numbers.collapsed_slice_dims) == sorted(picked) and whole and all(sizes[a] == 1 for a in picked):
            return [_point_gather(g, eqn, xs, fill)]
    raise JaxmlError(f"ONNX export does not cover this form of the jax primitive 'gather' (mode {mode.split('.')[-1]}, "
                     f"{numbers}); covered: a dynamic slice and a point gather (a strided slice, an embedding lookup)")


def _dynamic_slice(g, eqn, xs):
    operand = _shape_of(eqn.invars[0])
    starts = g.one("Concat", [g.one("Reshape", [i, g.const([1], np.int64)]) for i in xs[1:]], axis=0)
    return [_window_slice(g, xs[0], starts, range(len(operand)), eqn.params["slice_sizes"], operand)]


def _inverse(perm) -> list[int]:
    return [list(perm).index(i) for i in range(len(perm))]


def _conv(g, eqn, xs):
    p = eqn.params
    if any(d != 1 for d in p["lhs_dilation"]) or p["batch_group_count"] != 1:
        raise JaxmlError("ONNX export: conv_general_dilated with lhs_dilation or batch_group_count is not covered")
    numbers = p["dimension_numbers"]
    lhs_spec, rhs_spec, out_spec = numbers.lhs_spec, numbers.rhs_spec, numbers.out_spec
    x = g.one("Transpose", [xs[0]], perm=list(lhs_spec))  # -> N, C, spatial
    w = g.one("Transpose", [xs[1]], perm=list(rhs_spec))  # -> O, I, spatial
    pads = [int(lo) for lo, _ in p["padding"]] + [int(hi) for _, hi in p["padding"]]
    y = g.one("Conv", [x, w], strides=[int(s) for s in p["window_strides"]], pads=pads,
              dilations=[int(d) for d in p["rhs_dilation"]], group=int(p["feature_group_count"]))
    return [g.one("Transpose", [y], perm=_inverse(out_spec))]


def _max_pool(g, eqn, xs):
    p = eqn.params
    window, strides = p["window_dimensions"], p["window_strides"]
    rank = len(window)
    if (rank < 3 or window[0] != 1 or strides[0] != 1 or window[-1] != 1 or strides[-1] != 1
            or any(d != 1 for d in (*p["base_dilation"], *p["window_dilation"]))):
        raise JaxmlError("ONNX export: reduce_window_max is covered as max-pooling over the axes between the "
                         "batch (first) and the channels (last) only")
    to_nchw = [0, rank - 1, *range(1, rank - 1)]
    x = g.one("Transpose", xs, perm=to_nchw)
    pads = [int(lo) for lo, _ in p["padding"][1:-1]] + [int(hi) for _, hi in p["padding"][1:-1]]
    if any(pads):  # XLA pads a max with -inf
        x = g.one("Pad", [x, g.const([0, 0] + pads[: rank - 2] + [0, 0] + pads[rank - 2:], np.int64),
                          g.const(-np.inf, eqn.invars[0].aval.dtype)], mode="constant")
    y = g.one("MaxPool", [x], kernel_shape=[int(w) for w in window[1:-1]], strides=[int(s) for s in strides[1:-1]])
    return [g.one("Transpose", [y], perm=_inverse(to_nchw))]


def _inline(key: str) -> Callable:
    def rule(g, eqn, xs):
        closed = eqn.params[key]
        jaxpr, consts = (closed.jaxpr, closed.consts) if hasattr(closed, "consts") else (closed, ())
        return convert_jaxpr(g, jaxpr, consts, xs)
    return rule


RULES: dict[str, Callable] = {
    **{name: _elementwise(op) for name, op in (
        ("add", "Add"), ("sub", "Sub"), ("mul", "Mul"), ("div", "Div"), ("max", "Max"), ("min", "Min"),
        ("pow", "Pow"), ("neg", "Neg"), ("exp", "Exp"), ("log", "Log"), ("tanh", "Tanh"), ("logistic", "Sigmoid"),
        ("sqrt", "Sqrt"), ("abs", "Abs"), ("sign", "Sign"), ("floor", "Floor"), ("ceil", "Ceil"), ("erf", "Erf"),
        ("sin", "Sin"), ("cos", "Cos"), ("eq", "Equal"), ("lt", "Less"), ("le", "LessOrEqual"),
        ("gt", "Greater"), ("ge", "GreaterOrEqual"), ("and", "And"), ("or", "Or"), ("not", "Not"))},
    "ne": _not_equal, "rsqrt": _rsqrt, "square": _square, "integer_pow": _integer_pow,
    "stop_gradient": _identity, "copy": _identity, "copy_p": _identity, "optimization_barrier": _identity,
    "convert_element_type": _convert, "reshape": _reshape, "squeeze": _to_out_shape, "expand_dims": _to_out_shape,
    "transpose": _transpose, "broadcast_in_dim": _broadcast_in_dim,
    "reduce_max": _reduce("ReduceMax"), "reduce_min": _reduce("ReduceMin"), "reduce_sum": _reduce("ReduceSum"),
    "reduce_prod": _reduce("ReduceProd"), "argmax": _arg("ArgMax"), "argmin": _arg("ArgMin"),
    "select_n": _select_n, "clamp": _clamp, "pad": _pad, "slice": _slice, "concatenate": _concatenate,
    "split": _split, "iota": _iota, "dot_general": _dot_general, "conv_general_dilated": _conv,
    "reduce_window_max": _max_pool, "gather": _gather, "dynamic_slice": _dynamic_slice,
    "jit": _inline("jaxpr"), "pjit": _inline("jaxpr"), "closed_call": _inline("call_jaxpr"),
    "core_call": _inline("call_jaxpr"), "remat": _inline("jaxpr"), "checkpoint": _inline("jaxpr"),
    "custom_jvp_call": _inline("call_jaxpr"), "custom_vjp_call": _inline("call_jaxpr"),
    "custom_vjp_call_jaxpr": _inline("fun_jaxpr"),
}


def convert_jaxpr(g: Graph, jaxpr, consts, inputs: list[str]) -> list[str]:
    """Adds the equations of `jaxpr` to `g`; returns the names of its outputs."""
    from jax.extend.core import Literal

    env: dict = {}
    for var, value in zip(jaxpr.constvars, consts):
        env[var] = g.const(np.asarray(value), np.asarray(value).dtype)
    for var, name in zip(jaxpr.invars, inputs):
        env[var] = name

    def read(atom) -> str:
        if isinstance(atom, Literal):
            return g.const(np.asarray(atom.val, dtype=atom.aval.dtype), atom.aval.dtype)
        return env[atom]

    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        rule = RULES.get(name)
        if rule is None:
            raise JaxmlError(f"ONNX export does not cover the jax primitive {name!r}; the converter covers "
                             f"{', '.join(sorted(RULES))} (jaxml/methods/onnx_export.py)")
        outs = rule(g, eqn, [read(a) for a in eqn.invars])
        for var, out in zip(eqn.outvars, outs):
            env[var] = out
    return [read(v) for v in jaxpr.outvars]


def trace(fn: Callable, example: np.ndarray):
    """(closed jaxpr of fn on a symbolic batch — or on the example's concrete batch when fn needs one —,
    whether the batch is symbolic)."""
    (b,) = jax.export.symbolic_shape(BATCH)
    try:
        return jax.make_jaxpr(fn)(jax.ShapeDtypeStruct((b, *example.shape[1:]), example.dtype)), True
    except Exception:  # noqa: BLE001 - a model that needs a concrete batch size
        return jax.make_jaxpr(fn)(jax.ShapeDtypeStruct(example.shape, example.dtype)), False


def _value_info(g: Graph, name: str, aval) -> Any:
    dims = [d if isinstance(d, (int, np.integer)) else str(d) for d in aval.shape]
    return g.helper.make_tensor_value_info(name, _onnx_dtype(g.onnx, aval.dtype), dims)


def to_onnx(fn: Callable, example: np.ndarray, name: str = "jaxml") -> Any:
    """fn (one array in, one array out) -> a checked `onnx.ModelProto` with input "inputs" and output
    "outputs"; the batch dimension is symbolic ("b") when fn traces with one."""
    import onnx

    closed, symbolic = trace(fn, np.asarray(example))
    if len(closed.jaxpr.invars) != 1 or len(closed.jaxpr.outvars) != 1:
        raise JaxmlError("ONNX export takes a function of one array to one array")
    g = Graph(onnx)
    if symbolic:
        g.batch = g.one("Slice", [g.one("Shape", ["inputs"]), g.const([0], np.int64), g.const([1], np.int64)])
    (out,) = convert_jaxpr(g, closed.jaxpr, closed.consts, ["inputs"])
    g.nodes.append(g.helper.make_node("Identity", [out], ["outputs"]))
    graph = g.helper.make_graph(g.nodes, name, [_value_info(g, "inputs", closed.jaxpr.invars[0].aval)],
                                [_value_info(g, "outputs", closed.jaxpr.outvars[0].aval)], g.initializers)
    model = g.helper.make_model(graph, opset_imports=[g.helper.make_opsetid("", OPSET)],
                                producer_name="jaxml", producer_version=jax.__version__)
    model.ir_version = min(model.ir_version, 10)  # what onnxruntime 1.2x reads
    onnx.checker.check_model(model)
    return model


def onnx_runner(model_bytes: bytes) -> Callable[[np.ndarray], np.ndarray]:
    """inputs -> the model's outputs under onnxruntime (CPU), one session for every call."""
    import onnxruntime

    session = onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    return lambda inputs: session.run(["outputs"], {"inputs": np.asarray(inputs)})[0]


def run_onnx(model_bytes: bytes, inputs: np.ndarray) -> np.ndarray:
    return onnx_runner(model_bytes)(inputs)
