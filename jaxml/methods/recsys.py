"""Top-K recommendation from implicit feedback: popularity, BPR matrix factorisation, a two-tower model
with in-batch sampled softmax (with or without the log-Q correction) and implicit ALS
(docs/references.md#recommendation).

Models are values of `MODELS`, bundles `Recommender(fit, score)`: fit(key, data) -> params and
score(params, users [B]) -> [B, I] scores (higher = recommend first).

- "popularity": every user gets the items with the most training interactions.
- "bpr_mf" (Rendle et al. 2009): x_ui = p_u . q_i + b_i, Adam on -log sigma(x_ui - x_uj) for a training
  pair (u, i) and a uniform item j (an unobserved one with high probability: the few collisions with u's
  own items are not rejected), plus `bpr.l2` (|p_u|^2 + |q_i|^2 + |q_j|^2 + b_i^2 + b_j^2).
- "two_tower" / "two_tower_logq": towers id -> embedding -> MLP -> L2-normalised vector, logits
  u . v / temperature; softmax cross-entropy of each training pair's item against the other items of
  the batch (in-batch negatives, a batch item's own duplicates masked). In-batch negatives are drawn
  with the items' training frequency q_j, so the uncorrected model learns p(i | u) / q_i; the log-Q
  correction (Yi et al. 2019) subtracts log q_j from every logit during training only, so it learns
  p(i | u). `two_tower(config, logq_correction)` is the switch; the two names are its two settings.
- "als" (Hu, Koren & Volinsky 2008): confidence c_ui = 1 + alpha for observed pairs (1 otherwise),
  preference 1 / 0; alternating solves x_u = (Y^T C_u Y + lambda I)^-1 Y^T C_u p_u, the solver a value
  of `ALS_SOLVES`: "exact" (each user's k x k system assembled by segment sums and solved) or "cg"
  (matrix-free conjugate gradient on Y^T Y x + alpha sum_{i in u} y_i y_i^T x + lambda x, warm-started
  from the previous factors, `als.cg_steps` steps: the implicit library's approach).

Evaluation (`evaluate`): each user's training items are masked out of their scores, the top K come from
one `lax.top_k` in a jitted `lax.map` over user chunks; Recall@K = hits / min(K, n_test) and NDCG@K =
sum_{hits at rank j} 1 / log2(j + 1) over the ideal sum_{j <= min(K, n_test)} 1 / log2(j + 1),
averaged over users with a test item; coverage@K, the fraction of all items in someone's top K.

`train(config, workdir)` fits every model of `config.models` for `config.num_seeds` seeds (`vmap`-ed;
the data fixed by data_seed) on `config.dataset`: "planted" (data.implicit_feedback), or "movielens",
TFDS MovieLens ratings of at least `config.movielens.min_rating` stars (data.tfds_movielens; needs
tensorflow_datasets, and a network the first time). result.json per model: `<model>_recall_at_<K>`, `_ndcg_at_<K>` (means;
`_std`, `_per_seed`), `_coverage_at_<K>`; `<model>_<metric>_vs_popularity` (ratios) when popularity
runs; `logq_effect_<metric>` = two_tower_logq - two_tower when both run; `summary_plot`:
plots/recall.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxml.core.config import check_int, check_number
from jaxml.core.plots import pyplot, save_figure
from jaxml.core.registry import choose
from jaxml.data import implicit_feedback, tfds_movielens
from jaxml.errors import JaxmlError


class TrainData(NamedTuple):
    """The training interactions on the device, and each item's share of them (q_i)."""
    users: jax.Array
    items: jax.Array
    item_frequency: jax.Array  # [I] training interactions of the item / all of them


class Recommender(NamedTuple):
    fit: Callable[[jax.Array, TrainData], Any]
    score: Callable[[Any, jax.Array], jax.Array]


def draw_pairs(key: jax.Array, data: TrainData, batch: int) -> tuple[jax.Array, jax.Array]:
    """`batch` training pairs drawn uniformly with replacement."""
    rows = jax.random.randint(key, (batch,), 0, data.users.shape[0])
    return data.users[rows], data.items[rows]


def adam_scan(loss_fn: Callable, params: Any, steps: int, learning_rate: float, key: jax.Array) -> Any:
    """params after `steps` Adam steps on loss_fn(params, fold_in(key, step))."""
    tx = optax.adam(learning_rate)

    def step(carry, i):
        params, opt = carry
        grads = jax.grad(loss_fn)(params, jax.random.fold_in(key, i))
        updates, opt = tx.update(grads, opt, params)
        return (optax.apply_updates(params, updates), opt), None

    return jax.lax.scan(step, (params, tx.init(params)), jnp.arange(steps))[0][0]


def normal_table(key: jax.Array, rows: int, dim: int, scale: float) -> jax.Array:
    return scale * jax.random.normal(key, (rows, dim))


# ------------------------------------------------------------------------------------------ models

def popularity(c: ml_collections.ConfigDict, num_users: int, num_items: int) -> Recommender:
    return Recommender(lambda key, data: data.item_frequency,
                       lambda freq, users: jnp.broadcast_to(freq, (users.shape[0], freq.shape[0])))


def bpr_score(params: dict, users: jax.Array) -> jax.Array:
    return params["user"][users] @ params["item"].T + params["bias"][None]


def bpr_loss(params: dict, users: jax.Array, pos: jax.Array, neg: jax.Array, l2: float) -> jax.Array:
    """Mean -log sigma(x_ui - x_uj) + l2 (|p_u|^2 + |q_i|^2 + |q_j|^2 + b_i^2 + b_j^2)."""
    p, q, b = params["user"][users], params["item"], params["bias"]
    x_ui = jnp.sum(p * q[pos], -1) + b[pos]
    x_uj = jnp.sum(p * q[neg], -1) + b[neg]
    reg = jnp.sum(p ** 2, -1) + jnp.sum(q[pos] ** 2, -1) + jnp.sum(q[neg] ** 2, -1) + b[pos] ** 2 + b[neg] ** 2
    return jnp.mean(-jax.nn.log_sigmoid(x_ui - x_uj) + l2 * reg)


def bpr_mf(c: ml_collections.ConfigDict, num_users: int, num_items: int) -> Recommender:
    b = c.bpr
    dim, steps = check_int(b.dim, "config.bpr.dim", 1), check_int(b.steps, "config.bpr.steps", 1)
    batch = check_int(b.batch_size, "config.bpr.batch_size", 1)
    l2, lr = check_number(b.l2, "config.bpr.l2", 0.0), check_number(b.learning_rate, "config.bpr.learning_rate", 0.0)

    def fit(key, data):
        ku, ki, train_key = jax.random.split(key, 3)
        params = {"user": normal_table(ku, num_users, dim, 0.1), "item": normal_table(ki, num_items, dim, 0.1),
                  "bias": jnp.zeros(num_items)}

        def loss(params, k):
            pick, neg = jax.random.split(k)
            users, pos = draw_pairs(pick, data, batch)
            return bpr_loss(params, users, pos, jax.random.randint(neg, (batch,), 0, num_items), l2)

        return adam_scan(loss, params, steps, lr, train_key)

    return Recommender(fit, bpr_score)


def tower_init(key: jax.Array, rows: int, dim: int, hidden: int, out: int) -> dict:
    ke, k1, k2 = jax.random.split(key, 3)
    return {"embed": normal_table(ke, rows, dim, 0.1),
            "w1": jax.random.normal(k1, (dim, hidden)) / np.sqrt(dim), "b1": jnp.zeros(hidden),
            "w2": jax.random.normal(k2, (hidden, out)) / np.sqrt(hidden), "b2": jnp.zeros(out)}


def tower(params: dict, ids: jax.Array) -> jax.Array:
    """id -> embedding -> ReLU layer -> linear -> unit vector."""
    e = params["embed"][ids]
    h = jax.nn.relu(e @ params["w1"] + params["b1"])
    z = h @ params["w2"] + params["b2"]
    return z / jnp.sqrt(jnp.sum(z * z, -1, keepdims=True) + 1e-12)


def in_batch_softmax_loss(params: dict, users: jax.Array, items: jax.Array, log_q: jax.Array,
                          temperature: float) -> jax.Array:
    """Mean softmax cross-entropy of each row's item among the batch's items; `log_q` [I] is subtracted
    from the logit of each column's item (zeros: no correction); a row's other copies of its own item
    are masked out."""
    u, v = tower(params["user"], users), tower(params["item"], items)
    logits = u @ v.T / temperature - log_q[items][None]
    b = items.shape[0]
    duplicate = (items[:, None] == items[None]) & ~jnp.eye(b, dtype=bool)
    logits = jnp.where(duplicate, -jnp.inf, logits)
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, jnp.arange(b)))


def two_tower(c: ml_collections.ConfigDict, num_users: int, num_items: int, logq_correction: bool) -> Recommender:
    t = c.two_tower
    dim, hidden, out = (check_int(t[k], f"config.two_tower.{k}", 1) for k in ("dim", "hidden", "out"))
    steps, batch = check_int(t.steps, "config.two_tower.steps", 1), check_int(t.batch_size, "config.two_tower.batch_size", 2)
    temperature = check_number(t.temperature, "config.two_tower.temperature", 1e-6)
    lr = check_number(t.learning_rate, "config.two_tower.learning_rate", 0.0)

    def fit(key, data):
        ku, ki, train_key = jax.random.split(key, 3)
        params = {"user": tower_init(ku, num_users, dim, hidden, out), "item": tower_init(ki, num_items, dim, hidden, out)}
        log_q = jnp.log(jnp.maximum(data.item_frequency, 1e-12)) if logq_correction else jnp.zeros(num_items)

        def loss(params, k):
            users, items = draw_pairs(k, data, batch)
            return in_batch_softmax_loss(params, users, items, log_q, temperature)

        return adam_scan(loss, params, steps, lr, train_key)

    def score(params, users):
        return tower(params["user"], users) @ tower(params["item"], jnp.arange(num_items)).T

    return Recommender(fit, score)


# ---------------------------------------------------------------------------------------- ALS

def als_exact(y: jax.Array, rows: jax.Array, cols: jax.Array, num_rows: int, alpha: float, lam: float,
              x0: jax.Array, cg_steps: int) -> jax.Array:
    """[num_rows, k]: each row's (Y^T Y + alpha sum_{its cols} y y^T + lambda I)^-1 (1 + alpha) sum y."""
    k = y.shape[1]
    yc = y[cols]
    gram = y.T @ y + lam * jnp.eye(k)
    a = gram[None] + alpha * jax.ops.segment_sum(yc[:, :, None] * yc[:, None, :], rows, num_rows)
    b = (1.0 + alpha) * jax.ops.segment_sum(yc, rows, num_rows)
    return jnp.linalg.solve(a, b[..., None])[..., 0]


def als_cg(y: jax.Array, rows: jax.Array, cols: jax.Array, num_rows: int, alpha: float, lam: float,
           x0: jax.Array, cg_steps: int) -> jax.Array:
    """The same systems solved by `cg_steps` conjugate-gradient steps from x0, never forming A_u:
    A_u x = (Y^T Y + lambda I) x + alpha sum_{i in u} y_i (y_i . x)."""
    k = y.shape[1]
    gram = y.T @ y + lam * jnp.eye(k)
    yc = y[cols]
    b = (1.0 + alpha) * jax.ops.segment_sum(yc, rows, num_rows)

    def matvec(x):
        return x @ gram + alpha * jax.ops.segment_sum(yc * jnp.sum(yc * x[rows], -1, keepdims=True), rows, num_rows)

    def body(carry, _):
        x, r, p, rs = carry
        ap = matvec(p)
        step = rs / jnp.maximum(jnp.sum(p * ap, -1, keepdims=True), 1e-30)
        x, r = x + step * p, r - step * ap
        rs_new = jnp.sum(r * r, -1, keepdims=True)
        return (x, r, r + rs_new / jnp.maximum(rs, 1e-30) * p, rs_new), None

    r = b - matvec(x0)
    return jax.lax.scan(body, (x0, r, r, jnp.sum(r * r, -1, keepdims=True)), None, length=cg_steps)[0][0]


ALS_SOLVES: dict[str, Callable[..., jax.Array]] = {"exact": als_exact, "cg": als_cg}


def als(c: ml_collections.ConfigDict, num_users: int, num_items: int) -> Recommender:
    a = c.als
    dim, sweeps = check_int(a.dim, "config.als.dim", 1), check_int(a.sweeps, "config.als.sweeps", 1)
    alpha, lam = check_number(a.alpha, "config.als.alpha", 0.0), check_number(a.l2, "config.als.l2", 0.0)
    cg_steps = check_int(a.cg_steps, "config.als.cg_steps", 1)
    solve = choose(ALS_SOLVES, a.solve, "config.als.solve")

    def fit(key, data):
        ku, ki = jax.random.split(key)
        x, y = normal_table(ku, num_users, dim, 0.01), normal_table(ki, num_items, dim, 0.01)

        def sweep(carry, _):
            x, y = carry
            x = solve(y, data.users, data.items, num_users, alpha, lam, x, cg_steps)
            y = solve(x, data.items, data.users, num_items, alpha, lam, y, cg_steps)
            return (x, y), None

        (x, y), _ = jax.lax.scan(sweep, (x, y), None, length=sweeps)
        return {"user": x, "item": y}

    return Recommender(fit, lambda p, users: p["user"][users] @ p["item"].T)


MODELS: dict[str, Callable[[ml_collections.ConfigDict, int, int], Recommender]] = {
    "popularity": popularity, "bpr_mf": bpr_mf,
    "two_tower": lambda c, u, i: two_tower(c, u, i, logq_correction=False),
    "two_tower_logq": lambda c, u, i: two_tower(c, u, i, logq_correction=True),
    "als": als}


# ----------------------------------------------------------------------------------- evaluation

def item_lists(users: np.ndarray, items: np.ndarray, num_users: int) -> np.ndarray:
    """[num_users, M] each user's items, padded with -1 (M the most any user has, at least 1)."""
    counts = np.bincount(users, minlength=num_users)
    out = np.full((num_users, max(int(counts.max(initial=0)), 1)), -1, np.int32)
    order = np.argsort(users, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out[users[order], np.arange(len(users)) - starts[users[order]]] = items[order]
    return out


def top_k_metrics(scores: jax.Array, train_items: jax.Array, test_items: jax.Array, k: int
                  ) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(recall [B], ndcg [B], top-k items [B, k]) with each user's training items ([B, M] lists, -1
    padded) masked out before one `lax.top_k`; test_items [B, M'] likewise."""
    b, num_items = scores.shape
    rows = jnp.arange(b)[:, None]
    masked = scores.at[rows, jnp.where(train_items < 0, num_items, train_items)].set(-jnp.inf, mode="drop")
    _, top = jax.lax.top_k(masked, k)
    hit = jnp.any((top[:, :, None] == test_items[:, None, :]) & (test_items[:, None, :] >= 0), -1)
    n_test = jnp.sum(test_items >= 0, -1)
    discount = 1.0 / jnp.log2(jnp.arange(k) + 2.0)
    ideal = jnp.cumsum(discount)[jnp.clip(jnp.minimum(n_test, k) - 1, 0)]
    recall = jnp.sum(hit, -1) / jnp.maximum(jnp.minimum(n_test, k), 1)
    return recall, jnp.sum(hit * discount, -1) / ideal, top


def evaluate(model: Recommender, k: int, chunk: int) -> Callable:
    """fn(params, users [U], train_lists [U, M], test_lists [U, M']) -> (recall [U], ndcg [U], top [U, k]),
    one jitted `lax.map` over chunks of `chunk` users (padded with user 0, dropped)."""
    @jax.jit
    def fn(params, users, train_lists, test_lists):
        n = users.shape[0]
        pad = -n % chunk
        blocks = [jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1)).reshape(-1, chunk, *a.shape[1:])
                  for a in (users, train_lists, test_lists)]

        def one(block):
            u, tr, te = block
            return top_k_metrics(model.score(params, u), tr, te, k)

        return [a.reshape(-1, *a.shape[2:])[:n] for a in jax.lax.map(one, blocks)]

    return fn


# ------------------------------------------------------------------------------------------ data

def planted_data(config: ml_collections.ConfigDict) -> implicit_feedback.Split:
    p = config.planted
    x = implicit_feedback.planted_interactions(
        check_int(p.num_users, "config.planted.num_users", 1), check_int(p.num_items, "config.planted.num_items", 2),
        check_int(p.dim, "config.planted.dim", 1), check_int(p.min_items, "config.planted.min_items", 2),
        check_int(p.max_items, "config.planted.max_items", 2),
        check_number(p.popularity_skew, "config.planted.popularity_skew", 0.0),
        check_number(p.temperature, "config.planted.temperature", 1e-6), int(config.data_seed))
    return held_out(config, x)


def held_out(config: ml_collections.ConfigDict, x: implicit_feedback.Interactions) -> implicit_feedback.Split:
    """`x` split by `config.holdout` (seeded by data_seed + 1)."""
    how = choose(implicit_feedback.HOLDOUTS, config.holdout, "config.holdout")
    fraction = check_number(config.holdout_fraction, "config.holdout_fraction", 0.0, 1.0)
    return implicit_feedback.holdout(x, how, fraction, int(config.data_seed) + 1)


def movielens_data(config: ml_collections.ConfigDict) -> implicit_feedback.Split:
    """TFDS movielens/<config.movielens.name> as implicit feedback (data.tfds_movielens), held out."""
    m = config.movielens
    feedback = tfds_movielens.load_movielens(
        m.name, check_number(m.min_rating, "config.movielens.min_rating", 0.0),
        size=check_int(m.size, "config.movielens.size", 0), data_dir=m.data_dir or None)
    return held_out(config, feedback.interactions)


DATASETS: dict[str, Callable[[ml_collections.ConfigDict], implicit_feedback.Split]] = {
    "planted": planted_data, "movielens": movielens_data}


def plot_recall(per_seed: dict[str, np.ndarray], k: int, out: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    names = list(per_seed)
    ax.bar(names, [v.mean() for v in per_seed.values()], yerr=[v.std() for v in per_seed.values()], capsize=3)
    ax.set_ylabel(f"test Recall@{k}"); ax.grid(alpha=0.3, axis="y")
    ax.set_title(f"Recall@{k}, mean +- std over seeds")
    fig.tight_layout()
    return save_figure(fig, out, dpi=90)


def train(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    split = choose(DATASETS, config.dataset, "config.dataset")(config)
    num_users, num_items = split.train.num_users, split.train.num_items
    models = {name: choose(MODELS, name, "config.models")(config, num_users, num_items) for name in config.models}
    if not models:
        raise JaxmlError(f"config.models=() is empty; choose from {', '.join(MODELS)}")
    k = check_int(config.top_k, "config.top_k", 1)
    if k > num_items:
        raise JaxmlError(f"config.top_k={k} must be <= the number of items ({num_items})")
    num_seeds = check_int(config.num_seeds, "config.num_seeds", 1)
    chunk = check_int(config.eval_chunk, "config.eval_chunk", 1)
    tr, te = split.train, split.test
    freq = np.bincount(tr.items, minlength=num_items) / len(tr.items)
    data = TrainData(jnp.asarray(tr.users), jnp.asarray(tr.items), jnp.asarray(freq, jnp.float32))
    eval_users = np.unique(te.users).astype(np.int32)
    lists = [jnp.asarray(item_lists(x.users, x.items, num_users)[eval_users]) for x in (tr, te)]
    keys = jax.vmap(jax.random.key)(int(config.seed) + jnp.arange(num_seeds))
    out: dict[str, Any] = {"dataset": config.dataset, "holdout": config.holdout, "num_users": num_users,
                           "num_items": num_items, "num_train": len(tr.users), "num_test": len(te.users),
                           "num_eval_users": len(eval_users), "num_seeds": num_seeds, "top_k": k}
    recalls = {}
    for name, model in models.items():
        params = jax.jit(jax.vmap(model.fit, in_axes=(0, None)))(keys, data)
        recall, ndcg, top = jax.device_get(jax.vmap(evaluate(model, k, chunk), in_axes=(0, None, None, None))(
            params, jnp.asarray(eval_users), *lists))
        for metric, values in ((f"recall_at_{k}", recall.mean(1)), (f"ndcg_at_{k}", ndcg.mean(1))):
            out[f"{name}_{metric}"] = float(values.mean())
            out[f"{name}_{metric}_std"] = float(values.std())
            out[f"{name}_{metric}_per_seed"] = [float(v) for v in values]
        out[f"{name}_coverage_at_{k}"] = float(np.mean([len(np.unique(t)) / num_items for t in top]))
        recalls[name] = recall.mean(1)
    for metric in (f"recall_at_{k}", f"ndcg_at_{k}"):
        if "popularity" in models:
            for name in models:
                if name != "popularity":
                    out[f"{name}_{metric}_vs_popularity"] = out[f"{name}_{metric}"] / out[f"popularity_{metric}"]
        if {"two_tower", "two_tower_logq"} <= set(models):
            out[f"logq_effect_{metric}"] = out[f"two_tower_logq_{metric}"] - out[f"two_tower_{metric}"]
    if jax.process_index() == 0:
        plot_recall(recalls, k, Path(workdir) / "plots" / "recall.png")
    out["summary_plot"] = "plots/recall.png"
    return out
