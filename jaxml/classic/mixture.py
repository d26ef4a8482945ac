"""Gaussian mixtures by expectation-maximisation, as scikit-learn's `GaussianMixture` fits them
(docs/references.md).

- Covariance types are values in `COVARIANCES` (`full`, `diag`): each bundles the M-step estimate of
  the covariances from responsibilities, the Cholesky factor of the precisions, and the per-component
  Gaussian log-density.
- M-step: N_k = sum_i w_i r_ik + 10 eps, mu_k = sum_i w_i r_ik x_i / N_k, Sigma_k the weighted scatter
  about mu_k / N_k plus `reg_covar` on the diagonal (full), or its diagonal plus `reg_covar` (diag);
  mixing weights N_k / sum_k N_k. (The diag variance is summed about mu_k in two passes, not as
  scikit-learn's E[x^2] - mu_k^2, which cancels in float32; likewise the densities are computed on
  x - mu_k, not on scikit-learn's expanded squares.)
- E-step in the log domain: log p(x_i, k) = log pi_k + log N(x_i; mu_k, Sigma_k), the per-point
  log-likelihood is their logsumexp over k and log r_ik the difference.
- Initialisation from hard labels (scikit-learn's default `init_params="kmeans"`: the labels of one
  k-means++ k-means run): responsibilities one-hot in the labels, then one M-step.
- Iteration in one `lax.while_loop`: E-step, M-step, stop when the mean log-likelihood (the lower
  bound, computed in the E-step, i.e. under the parameters before the M-step) changes by less than
  `tol`, or after `max_iter` iterations. Every lower bound is kept ([max_iter], NaN past the end) so
  that monotonicity can be checked. The reported `log_likelihood` is the mean over the points under the
  final parameters (scikit-learn's `score(X)`), `labels` the argmax of the final responsibilities.

Points are weighted (`points.Points`); padding has weight 0 and counts nowhere.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from jaxml.classic.distances import dot
from jaxml.classic.points import Points, weighted_mean
from jaxml.core.config import check_int, check_number
from jaxml.core.registry import choose
from jaxml.errors import JaxmlError


class Gaussians(NamedTuple):
    weights: jax.Array      # [k]
    means: jax.Array        # [k, d]
    covariances: jax.Array  # [k, d, d] (full) or [k, d] (diag)
    precisions_cholesky: jax.Array  # same shape: the Cholesky factor of the precision (inverse covariance)


@dataclasses.dataclass(frozen=True)
class Covariance:
    """One covariance type: `estimate(x, w, resp, nk, means, reg) -> covariances`,
    `precision_cholesky(covariances)`, `log_density(x, means, precisions_cholesky) -> [n, k]`."""
    estimate: Callable
    precision_cholesky: Callable
    log_density: Callable


def _full_estimate(x, w, resp, nk, means, reg):
    d = x.shape[1]
    def one(r, mu, n):
        diff = x - mu
        return dot((w * r)[None, :] * diff.T, diff) / n + reg * jnp.eye(d, dtype=x.dtype)
    return jax.vmap(one, in_axes=(1, 0, 0))(resp, means, nk)


def _full_precision_cholesky(cov):
    d = cov.shape[-1]
    chol = jnp.linalg.cholesky(cov)
    eye = jnp.broadcast_to(jnp.eye(d, dtype=cov.dtype), cov.shape)
    # Sigma = L L^T  ->  Sigma^-1 = L^-T L^-1 = U U^T with U = L^-T (upper triangular)
    return jnp.swapaxes(jax.scipy.linalg.solve_triangular(chol, eye, lower=True), -1, -2)


def _full_log_density(x, means, prec_chol):
    d = x.shape[1]
    log_det = jnp.sum(jnp.log(jnp.diagonal(prec_chol, axis1=1, axis2=2)), axis=1)  # [k]
    def one(mu, u):
        y = dot(x - mu, u)  # (not x U - mu U: both terms grow with the precision and cancel in float32)
        return jnp.sum(y * y, axis=1)
    sq = jax.vmap(one, out_axes=1)(means, prec_chol)  # [n, k]
    return -0.5 * (d * math.log(2 * math.pi) + sq) + log_det


def _diag_estimate(x, w, resp, nk, means, reg):
    # sum_i w_i r_ik (x_i - mu_k)^2 in two passes: scikit-learn's E[x^2] - mu^2 is the same in exact
    # arithmetic but cancels in float32 (a feature constant within a cluster then gets a negative
    # variance larger than reg_covar, and the density a NaN)
    def one(r, mu):
        return dot(w * r, (x - mu) ** 2)
    return jax.vmap(one, in_axes=(1, 0))(resp, means) / nk[:, None] + reg


def _diag_precision_cholesky(cov):
    return 1.0 / jnp.sqrt(cov)


def _diag_log_density(x, means, prec_chol):
    d = x.shape[1]
    log_det = jnp.sum(jnp.log(prec_chol), axis=1)
    # sum_j ((x_j - mu_j) u_j)^2 per component, not the expanded square: with precisions up to
    # 1 / reg_covar the expansion's three terms cancel to ~1e-2 in float32
    sq = jax.vmap(lambda mu, u: jnp.sum(((x - mu) * u) ** 2, axis=1), out_axes=1)(means, prec_chol)
    return -0.5 * (d * math.log(2 * math.pi) + sq) + log_det


COVARIANCES: dict[str, Covariance] = {
    "full": Covariance(_full_estimate, _full_precision_cholesky, _full_log_density),
    "diag": Covariance(_diag_estimate, _diag_precision_cholesky, _diag_log_density),
}


def m_step(cov: Covariance, x: jax.Array, w: jax.Array, resp: jax.Array, reg: float) -> Gaussians:
    """Mixture parameters from responsibilities resp [n, k] (rows of padding carry w = 0)."""
    wr = w[:, None] * resp
    nk = jnp.sum(wr, axis=0) + 10 * jnp.finfo(x.dtype).eps
    means = dot(wr.T, x) / nk[:, None]
    covariances = cov.estimate(x, w, resp, nk, means, reg)
    return Gaussians(nk / jnp.sum(nk), means, covariances, cov.precision_cholesky(covariances))


def e_step(cov: Covariance, x: jax.Array, w: jax.Array, g: Gaussians) -> tuple[jax.Array, jax.Array]:
    """(weighted mean log-likelihood, log responsibilities [n, k])."""
    joint = cov.log_density(x, g.means, g.precisions_cholesky) + jnp.log(g.weights)[None, :]
    log_norm = logsumexp(joint, axis=1)
    return jnp.sum(w * log_norm) / jnp.sum(w), joint - log_norm[:, None]


class MixtureResult(NamedTuple):
    gaussians: Gaussians
    labels: jax.Array          # [n_pad] argmax of the final responsibilities
    log_likelihood: jax.Array  # mean log-likelihood per point under the final parameters
    lower_bounds: jax.Array    # [max_iter] the lower bound of each iteration, NaN after the last
    n_iter: jax.Array
    converged: jax.Array


@functools.partial(jax.jit, static_argnames=("k", "covariance_type", "max_iter"))
def _fit(points: Points, labels: jax.Array, tol, reg_covar, *, k, covariance_type, max_iter):
    cov = COVARIANCES[covariance_type]
    mean = weighted_mean(points)
    x, w = points.x - mean, points.w
    resp0 = (labels[:, None] == jnp.arange(k)[None, :]).astype(x.dtype)
    g0 = m_step(cov, x, w, resp0, reg_covar)

    def cond(c):
        i, _, _, _, converged = c
        return (i < max_iter) & ~converged

    def body(c):
        i, g, previous, bounds, _ = c
        bound, log_resp = e_step(cov, x, w, g)
        g = m_step(cov, x, w, jnp.exp(log_resp), reg_covar)
        return i + 1, g, bound, bounds.at[i].set(bound), jnp.abs(bound - previous) < tol

    bounds = jnp.full((max_iter,), jnp.nan, x.dtype)
    start = (jnp.int32(0), g0, jnp.asarray(-jnp.inf, x.dtype), bounds, jnp.bool_(False))
    n_iter, g, _, bounds, converged = jax.lax.while_loop(cond, body, start)
    log_likelihood, log_resp = e_step(cov, x, w, g)
    g = g._replace(means=g.means + mean)
    return MixtureResult(g, jnp.argmax(log_resp, axis=1).astype(jnp.int32), log_likelihood, bounds, n_iter, converged)


def check_args(k: int, covariance_type: str, max_iter: int, tol: float, reg_covar: float, prefix: str = "") -> None:
    check_int(k, f"{prefix}k", 1)
    choose(COVARIANCES, covariance_type, f"{prefix}covariance_type")
    check_int(max_iter, f"{prefix}max_iter", 1)
    check_number(tol, f"{prefix}tol", 0.0)
    check_number(reg_covar, f"{prefix}reg_covar", 0.0)


def gaussian_mixture(points: Points, labels: jax.Array, k: int, *, covariance_type: str = "full",
                     max_iter: int = 100, tol: float = 1e-3, reg_covar: float = 1e-6) -> MixtureResult:
    """EM from the hard assignment `labels` [n_pad] in [0, k) (module docstring)."""
    check_args(k, covariance_type, max_iter, tol, reg_covar)
    if labels.shape != points.w.shape:
        raise JaxmlError(f"labels must have one entry per (padded) point, shape {points.w.shape}; got {labels.shape}")
    return _fit(points, jnp.asarray(labels, jnp.int32), tol, reg_covar, k=k, covariance_type=covariance_type,
                max_iter=max_iter)

