"""Support vector machines: a linear SVM solved in the primal by L-BFGS, one-vs-rest over the classes
(vmapped), and a kernel SVM through random Fourier features feeding the same solver.

The objective (scikit-learn's `LinearSVC(loss="squared_hinge", penalty="l2")`, liblinear's primal
L2-regularised L2-loss SVC; docs/references.md#classic-learners), for one binary problem with labels
y_i in {-1, +1}:

    f(w) = 0.5 ||w||^2 + C sum_i max(0, 1 - y_i w^T x~_i)^2

The intercept is handled as LinearSVC's `intercept_scaling`: every point is augmented with a constant
feature s (x~ = [x, s]); its weight is regularised like the others and the intercept is s * w_last.
So f is exactly the function liblinear minimises, and the two solutions can be compared by f's value.
`fit_intercept=False` drops the constant feature.

f is convex and continuously differentiable with a Lipschitz gradient (the squared hinge is C^1), and
strongly convex (the 0.5 ||w||^2 term), so its minimiser is unique. `solve` runs optax's L-BFGS (zoom
line search, strong Wolfe conditions) on the full data in one jitted `lax.while_loop` until
||grad f(w)|| <= tol * ||grad f(0)|| or `max_iter` iterations.

Multi-class is one-vs-rest, as LinearSVC's default: class k's problem has y = +1 for class k and -1 for
the rest; the K problems are `vmap`ped over one shared design matrix, and a point is predicted as the
class of the largest decision value.

Kernels are feature maps in `KERNELS`: "linear" (the identity) and "rbf", random Fourier features
(Rahimi & Recht 2007) for k(x, x') = exp(-gamma ||x - x'||^2): z(x) = sqrt(2 / D) cos(W^T x + b), with
W's entries ~ N(0, 2 gamma) and b ~ U[0, 2 pi], so that E[z(x)^T z(x')] = k(x, x') and the error of
the D-feature estimate shrinks like 1 / sqrt(D); and "nystroem", the same kernel through Nystroem
features on D training points.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxml.core.config import check_int, check_number
from jaxml.core.registry import choose
from jaxml.errors import JaxmlError

HIGHEST = jax.lax.Precision.HIGHEST  # full-precision products (TF32 on a GPU would move the solution)


class LinearSVM(NamedTuple):
    coef: jax.Array       # [K, d] one row per one-vs-rest problem
    intercept: jax.Array  # [K]
    n_iter: jax.Array     # [K] L-BFGS iterations
    grad_ratio: jax.Array  # [K] ||grad f(w)|| / ||grad f(0)|| at the end


def augment(x: jax.Array, fit_intercept: bool, intercept_scaling: float) -> jax.Array:
    """x with the constant feature `intercept_scaling` appended (x~), or x itself."""
    if not fit_intercept:
        return x
    return jnp.concatenate([x, jnp.full((x.shape[0], 1), intercept_scaling, x.dtype)], axis=1)


def objective(w: jax.Array, x_aug: jax.Array, y: jax.Array, C: float) -> jax.Array:
    """f(w) = 0.5 ||w||^2 + C sum_i max(0, 1 - y_i w^T x~_i)^2 for one binary problem (y in {-1, +1})."""
    slack = jnp.maximum(1.0 - y * jnp.dot(x_aug, w, precision=HIGHEST), 0.0)
    return 0.5 * jnp.vdot(w, w) + C * jnp.sum(slack * slack)


def one_vs_rest(labels: jax.Array, num_classes: int, dtype: Any) -> jax.Array:
    """[K, n] targets: +1 where the label is k, -1 elsewhere."""
    return jnp.where(labels[None, :] == jnp.arange(num_classes)[:, None], 1.0, -1.0).astype(dtype)


def solve(x_aug: jax.Array, y: jax.Array, C: float, tol: float, max_iter: int,
          memory_size: int = 20) -> tuple[jax.Array, jax.Array, jax.Array]:
    """argmin_w f(w) from w = 0 by L-BFGS: (w, iterations, ||grad f(w)|| / ||grad f(0)||)."""
    fun = functools.partial(objective, x_aug=x_aug, y=y, C=C)
    opt = optax.lbfgs(memory_size=memory_size)
    value_and_grad = optax.value_and_grad_from_state(fun)
    w0 = jnp.zeros(x_aug.shape[1], x_aug.dtype)
    g0 = jnp.linalg.norm(jax.grad(fun)(w0))
    scale = jnp.where(g0 > 0, g0, 1.0)

    def grad_ratio(state):
        return jnp.linalg.norm(optax.tree_utils.tree_get(state, "grad")) / scale

    def step(carry):
        w, state, i = carry
        value, grad = value_and_grad(w, state=state)
        updates, state = opt.update(grad, state, w, value=value, grad=grad, value_fn=fun)
        return optax.apply_updates(w, updates), state, i + 1

    def going(carry):
        _, state, i = carry
        return (i == 0) | ((i < max_iter) & (grad_ratio(state) > tol))

    w, state, n_iter = jax.lax.while_loop(going, step, (w0, opt.init(w0), jnp.asarray(0)))
    # the state's gradient is that of the iterate before the last update: report the final one's
    return w, n_iter, jnp.linalg.norm(jax.grad(fun)(w)) / scale


@functools.partial(jax.jit, static_argnames=("num_classes", "max_iter", "memory_size", "fit_intercept"))
def fit(x: jax.Array, labels: jax.Array, num_classes: int, C: float = 1.0, *, tol: float = 1e-8,
        max_iter: int = 1000, memory_size: int = 20, fit_intercept: bool = True,
        intercept_scaling: float = 1.0) -> LinearSVM:
    """One-vs-rest linear SVM of x [n, d] with integer labels [n] in 0..num_classes-1: the K binary
    problems are vmapped over the shared design matrix."""
    x_aug = augment(x, fit_intercept, intercept_scaling)
    targets = one_vs_rest(labels, num_classes, x.dtype)
    w, n_iter, ratio = jax.vmap(lambda y: solve(x_aug, y, C, tol, max_iter, memory_size))(targets)
    if fit_intercept:
        return LinearSVM(w[:, :-1], intercept_scaling * w[:, -1], n_iter, ratio)
    return LinearSVM(w, jnp.zeros(num_classes, x.dtype), n_iter, ratio)


def decision_function(model: LinearSVM, x: jax.Array) -> jax.Array:
    """[n, K] decision values w_k^T x + b_k."""
    return jnp.dot(x, model.coef.T, precision=HIGHEST) + model.intercept


def predict(model: LinearSVM, x: jax.Array) -> jax.Array:
    return jnp.argmax(decision_function(model, x), axis=-1)


def weights(model: LinearSVM, fit_intercept: bool, intercept_scaling: float) -> jax.Array:
    """[K, d(+1)] the w of f (the intercept back as the weight of the constant feature)."""
    if not fit_intercept:
        return model.coef
    return jnp.concatenate([model.coef, (model.intercept / intercept_scaling)[:, None]], axis=1)


# ------------------------------------------------------------------------------------------ kernels

class RandomFourierFeatures(NamedTuple):
    weights: jax.Array  # [d, D] entries ~ N(0, 2 gamma)
    offsets: jax.Array  # [D] ~ U[0, 2 pi]


def random_fourier_features(key: jax.Array, num_inputs: int, num_features: int, gamma: float,
                            dtype: Any = jnp.float32) -> RandomFourierFeatures:
    kw, kb = jax.random.split(key)
    w = jax.random.normal(kw, (num_inputs, num_features), dtype) * jnp.sqrt(jnp.asarray(2.0 * gamma, dtype))
    b = jax.random.uniform(kb, (num_features,), dtype, 0.0, 2.0 * math.pi)
    return RandomFourierFeatures(w, b)


def rff_transform(features: RandomFourierFeatures, x: jax.Array) -> jax.Array:
    """z(x) = sqrt(2 / D) cos(W^T x + b): [n, D]."""
    d = features.offsets.shape[0]
    return jnp.sqrt(jnp.asarray(2.0 / d, x.dtype)) * jnp.cos(jnp.dot(x, features.weights, precision=HIGHEST)
                                                              + features.offsets)


def rbf_kernel(x: jax.Array, x2: jax.Array, gamma: float) -> jax.Array:
    """The exact kernel exp(-gamma ||x - x'||^2): [n, m]."""
    sq = jnp.sum(x * x, 1)[:, None] + jnp.sum(x2 * x2, 1)[None, :] - 2.0 * jnp.dot(x, x2.T, precision=HIGHEST)
    return jnp.exp(-gamma * jnp.maximum(sq, 0.0))


def rff_map(key: jax.Array, x_train: jax.Array, *, num_features: int, gamma: float,
            dtype: Any) -> RandomFourierFeatures:
    return random_fourier_features(key, x_train.shape[1], num_features, gamma, dtype)


class Nystroem(NamedTuple):
    landmarks: jax.Array   # [m, d] training points
    normaliser: jax.Array  # [m, m] K_mm^(-1/2) (pseudo-inverse square root)
    gamma: jax.Array


def nystroem(key: jax.Array, x_train: jax.Array, *, num_features: int, gamma: float, dtype: Any) -> Nystroem:
    """Nystroem features (Williams & Seeger 2001) of the RBF kernel on `num_features` training points
    drawn without replacement: z(x) = k(x, L) K_LL^(-1/2), so that z(x)^T z(x') is the kernel
    projected on the landmarks' span (exact on the landmarks themselves). Eigenvalues of K_LL below
    1e-12 times the largest are dropped (a pseudo-inverse)."""
    idx = jax.random.choice(key, x_train.shape[0], (num_features,), replace=False)
    landmarks = jnp.asarray(x_train[idx], dtype)
    gamma = jnp.asarray(gamma, dtype)
    evals, evecs = jnp.linalg.eigh(rbf_kernel(landmarks, landmarks, gamma))
    keep = evals > 1e-12 * evals[-1]
    inv_sqrt = jnp.where(keep, 1.0 / jnp.sqrt(jnp.where(keep, evals, 1.0)), 0.0)
    return Nystroem(landmarks, jnp.dot(evecs * inv_sqrt, evecs.T, precision=HIGHEST), gamma)


def nystroem_transform(features: Nystroem, x: jax.Array) -> jax.Array:
    return jnp.dot(rbf_kernel(x, features.landmarks, features.gamma), features.normaliser, precision=HIGHEST)


class Kernel(NamedTuple):
    """A feature map: make(key, x_train, *, num_features, gamma, dtype) -> params; apply(params, x).
    `uses_gamma`: it is an RBF approximation; `landmarks`: its features are training points, so
    num_features <= the number of training points."""
    make: Callable[..., Any]
    apply: Callable[[Any, jax.Array], jax.Array]
    uses_gamma: bool = True
    landmarks: bool = False


KERNELS: dict[str, Kernel] = {
    "linear": Kernel(make=lambda key, x_train, **settings: None, apply=lambda params, x: x, uses_gamma=False),
    "rbf": Kernel(make=rff_map, apply=rff_transform),
    "nystroem": Kernel(make=nystroem, apply=nystroem_transform, landmarks=True),
}


def check_positive(value: Any, name: str) -> float:
    value = check_number(value, name)
    if value <= 0:
        raise JaxmlError(f"{name} must be > 0, got {value!r}")
    return value


def check_args(kernel: str, C: Any, gamma: Any, num_features: Any, tol: Any, max_iter: Any,
               prefix: str = "", gamma_key: str = "gamma", num_points: int | None = None) -> Kernel:
    """The chosen kernel; a bad value is one JaxmlError naming `prefix + key` (gamma's key: `gamma_key`).
    `num_points`: the training points, which bound a landmark kernel's num_features."""
    chosen = choose(KERNELS, kernel, f"{prefix}kernel")
    check_positive(C, f"{prefix}C")
    check_positive(tol, f"{prefix}tol")
    check_int(max_iter, f"{prefix}max_iter", 1)
    if chosen.uses_gamma:
        check_positive(gamma, f"{prefix}{gamma_key}")
        check_int(num_features, f"{prefix}num_features", 1)
    if chosen.landmarks and num_points is not None and num_features > num_points:
        raise JaxmlError(f"{prefix}num_features={num_features} must be <= the number of training points "
                         f"({num_points}) for kernel {kernel!r}")
    return chosen
