"""TF-IDF features of a list of documents, with the options and conventions of scikit-learn's
`TfidfVectorizer` (docs/references.md#classic-learners), which the tests use as the reference.

Tokens: the words of `TOKEN_PATTERN` (runs of two or more word characters, scikit-learn's default),
lower-cased first when `lowercase`. `fit(train_docs, options)` builds the vocabulary on the training
documents only: document frequencies df(t); terms with df outside [min_df, max_df] dropped (an int is
a count of documents, a float a fraction of them); then, with `max_features`, the terms of highest
total count (ties by term order); the kept terms in sorted order. Its idf is

    idf(t) = ln((1 + n) / (1 + df(t))) + 1     (smooth_idf, as if one extra document held every term)
    idf(t) = ln(n / df(t)) + 1                 (otherwise)

`transform(model, docs)` counts the vocabulary's terms per document (out-of-vocabulary words are
skipped) on the host, then `weigh` (jitted) computes tf * idf, with tf = 1 + ln(count) when
`sublinear_tf`, and normalises each row by `NORMS[options.norm]` (l2, l1 or none; a row with no term
stays zero). The matrix is dense [n, V] float32: the vocabulary is meant to be capped (`max_features`).

When scikit-learn's `max_features` cut falls inside a run of equal total counts its choice among the
tied terms is not specified; this one keeps the alphabetically first.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxml.core.config import check_int
from jaxml.core.registry import choose
from jaxml.errors import JaxmlError

TOKEN_PATTERN = r"(?u)\b\w\w+\b"


def _l2(x: jax.Array) -> jax.Array:
    return jnp.sqrt(jnp.sum(x * x, axis=1, keepdims=True))


def _l1(x: jax.Array) -> jax.Array:
    return jnp.sum(jnp.abs(x), axis=1, keepdims=True)


NORMS: dict[str, Callable[[jax.Array], jax.Array] | None] = {"l2": _l2, "l1": _l1, "none": None}


@dataclasses.dataclass(frozen=True)
class TfidfOptions:
    lowercase: bool = True
    min_df: int | float = 1      # int: documents; float in [0, 1]: a fraction of them
    max_df: int | float = 1.0
    max_features: int | None = None
    sublinear_tf: bool = False
    smooth_idf: bool = True
    norm: str = "l2"


class TfidfModel(NamedTuple):
    terms: tuple[str, ...]   # the vocabulary, sorted; column j is terms[j]
    index: dict[str, int]
    idf: np.ndarray          # [V] float64
    options: TfidfOptions


def tokenize(doc: str, lowercase: bool = True) -> list[str]:
    return re.findall(TOKEN_PATTERN, doc.lower() if lowercase else doc)


def document_count(value: int | float, n_docs: int, name: str) -> float:
    """min_df / max_df as a number of documents: an int as it is, a float in [0, 1] times n_docs."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise JaxmlError(f"{name}={value!r} must be an int >= 0 (documents) or a float in [0, 1] (a fraction)")
    if isinstance(value, float):
        if not 0.0 <= value <= 1.0:
            raise JaxmlError(f"{name}={value!r} must be an int >= 0 (documents) or a float in [0, 1] (a fraction)")
        return value * n_docs
    if value < 0:
        raise JaxmlError(f"{name}={value!r} must be an int >= 0 (documents) or a float in [0, 1] (a fraction)")
    return float(value)


def fit(docs: Sequence[str], options: TfidfOptions = TfidfOptions(), prefix: str = "") -> TfidfModel:
    """The vocabulary and idf of `docs` (see the module docstring); an error names `prefix + option`."""
    choose(NORMS, options.norm, f"{prefix}norm")
    if options.max_features is not None:
        check_int(options.max_features, f"{prefix}max_features", 1)
    n = len(docs)
    if n == 0:
        raise JaxmlError("TF-IDF needs at least one document")
    df: dict[str, int] = {}
    total: dict[str, int] = {}
    for doc in docs:
        words = tokenize(doc, options.lowercase)
        for w in words:
            total[w] = total.get(w, 0) + 1
        for w in set(words):
            df[w] = df.get(w, 0) + 1
    low = document_count(options.min_df, n, f"{prefix}min_df")
    high = document_count(options.max_df, n, f"{prefix}max_df")
    if high < low:
        raise JaxmlError(f"{prefix}max_df={options.max_df!r} keeps fewer documents than min_df={options.min_df!r}")
    terms = sorted(t for t, d in df.items() if low <= d <= high)
    if options.max_features is not None and len(terms) > int(options.max_features):
        counts = np.array([total[t] for t in terms])
        keep = np.argsort(-counts, kind="stable")[:int(options.max_features)]
        terms = [terms[i] for i in np.sort(keep)]
    if not terms:
        raise JaxmlError(f"no term is left after {prefix}min_df={options.min_df!r} / max_df={options.max_df!r}")
    dfs = np.array([df[t] for t in terms], np.float64)
    idf = np.log((1.0 + n) / (1.0 + dfs)) + 1.0 if options.smooth_idf else np.log(n / dfs) + 1.0
    return TfidfModel(tuple(terms), {t: j for j, t in enumerate(terms)}, idf, options)


def counts(model: TfidfModel, docs: Sequence[str]) -> np.ndarray:
    """[n, V] float32 term counts of the vocabulary's terms."""
    rows, cols = [], []
    for i, doc in enumerate(docs):
        ids = [model.index[w] for w in tokenize(doc, model.options.lowercase) if w in model.index]
        rows.append(np.full(len(ids), i, np.int64))
        cols.append(np.asarray(ids, np.int64))
    v = len(model.terms)
    flat = np.concatenate(rows) * v + np.concatenate(cols) if rows else np.zeros(0, np.int64)
    return np.bincount(flat, minlength=len(docs) * v).reshape(len(docs), v).astype(np.float32)


@functools.partial(jax.jit, static_argnames=("sublinear_tf", "norm"))
def weigh(term_counts: jax.Array, idf: jax.Array, sublinear_tf: bool, norm: str) -> jax.Array:
    """tf * idf per row, normalised by NORMS[norm]."""
    tf = jnp.where(term_counts > 0, 1.0 + jnp.log(jnp.where(term_counts > 0, term_counts, 1.0)), 0.0) \
        if sublinear_tf else term_counts
    x = tf * idf.astype(tf.dtype)
    size = NORMS[norm]
    if size is None:
        return x
    s = size(x)
    return x / jnp.where(s > 0, s, 1.0)


def transform(model: TfidfModel, docs: Sequence[str], dtype: Any = jnp.float32) -> jax.Array:
    """[n, V] TF-IDF matrix of `docs` under `model`'s vocabulary and idf."""
    o = model.options
    return weigh(jnp.asarray(counts(model, docs), dtype), jnp.asarray(model.idf, dtype), o.sublinear_tf, o.norm)
