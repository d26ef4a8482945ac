"""Loading another run's parameters by path (`core.transfer`): the subtree copied, one clear error
per bad source (missing workdir, another architecture, mis-shaped leaves), the source left untouched,
and per-subtree learning rates / freezing / layer-wise decay in the optimizer."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from jaxml.core import transfer
from jaxml.core.checkpoint import Checkpointer
from jaxml.core.param_paths import named_leaves
from jaxml.core.train_state import TrainState, make_optimizer
from jaxml.defaults.training import training_config
from jaxml.errors import JaxmlError
from jaxml.models.transformer import Decoder, SequenceClassifier, TransformerConfig

CFG = TransformerConfig(vocab_size=11, num_layers=2, num_heads=2, embed_dim=8, max_len=6)
TOKENS = jnp.array([[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 9]])


def save_state(workdir, params, step=3):
    ck = Checkpointer(workdir)
    ck.save(step, TrainState(params=params, model_state={}, opt_state=optax.adam(1e-3).init(params)))
    ck.close()


def files_of(workdir):
    """{relative path: (bytes, mtime)} of every file and the mtime of every directory under `workdir`."""
    return {str(p.relative_to(workdir)): (p.read_bytes() if p.is_file() else b"", p.stat().st_mtime_ns)
            for p in sorted(workdir.rglob("*"))}


@pytest.fixture(scope="module")
def gpt_source(tmp_path_factory):
    """A 'GPT language model' workdir: a Decoder's params in a checkpoint."""
    workdir = tmp_path_factory.mktemp("gpt_source")
    params = Decoder(CFG).init(jax.random.key(0), TOKENS)["params"]
    save_state(workdir, params)
    return workdir, jax.device_get(params)


@pytest.fixture(scope="module")
def classifier_params():
    return jax.device_get(SequenceClassifier(CFG, 3).init(jax.random.key(1), TOKENS, TOKENS > 0)["params"])


def test_init_from_loads_the_gpt_trunk_into_a_classifier_and_leaves_the_source_untouched(gpt_source,
                                                                                           classifier_params):
    workdir, source = gpt_source
    before = files_of(workdir)
    config = training_config("x")
    config.init_from = str(workdir)
    config.transfer.target = "trunk"
    state = TrainState(params=jax.device_put(classifier_params), model_state={}, opt_state=())
    loaded = transfer.init_from_config(config, state).params
    for name, leaf in named_leaves(source).items():
        np.testing.assert_array_equal(named_leaves(loaded)[f"trunk/{name}"], leaf)
    np.testing.assert_array_equal(loaded["head"]["kernel"], classifier_params["head"]["kernel"])
    assert files_of(workdir) == before  # nothing written, moved or touched in the source workdir
    assert transfer.init_from_config(training_config("x"), state) is state  # no init_from: unchanged


def test_every_bad_source_is_one_clear_error(tmp_path, gpt_source, classifier_params):
    workdir, source = gpt_source
    with pytest.raises(JaxmlError, match="no such workdir"):
        transfer.source_params(tmp_path / "nowhere")
    with pytest.raises(JaxmlError, match="no checkpoints/ directory"):
        transfer.source_params(tmp_path)
    other = tmp_path / "mlp"
    save_state(other, {"Dense_0": {"kernel": np.ones((4, 3), np.float32), "bias": np.zeros(3, np.float32)}})
    with pytest.raises(JaxmlError, match="another architecture"):
        transfer.graft(classifier_params, transfer.source_params(other), target_prefix="trunk")
    wide_cfg = TransformerConfig(vocab_size=11, num_layers=2, num_heads=2, embed_dim=16, max_len=6)
    shapes = jax.eval_shape(lambda: Decoder(wide_cfg).init(jax.random.key(0), TOKENS)["params"])
    wide = {k: np.zeros(s.shape, s.dtype) for k, s in named_leaves(shapes).items()}
    with pytest.raises(JaxmlError, match=r"mis-shaped \(model vs source\): .*trunk/block_0/mlp/fc1/kernel \(8, 32\) vs \(16, 64\)"):
        transfer.graft(classifier_params, wide, target_prefix="trunk")
    # a one-layer source: block_1 is missing; an extra source leaf is unexpected; both named in one error
    partial = {k: v for k, v in named_leaves(source).items() if not k.startswith("block_1/")}
    partial["lm_head/kernel"] = np.zeros((8, 11), np.float32)
    with pytest.raises(JaxmlError) as err:
        transfer.graft(classifier_params, partial, target_prefix="trunk")
    assert "missing" in str(err.value) and "trunk/block_1/mlp/fc1/kernel" in str(err.value)
    assert "unexpected" in str(err.value) and "lm_head/kernel" in str(err.value)
    grafted = transfer.graft(classifier_params, partial, target_prefix="trunk", fresh=(r"trunk/block_1/",),
                             ignore=(r"^lm_head/",))
    np.testing.assert_array_equal(grafted["trunk"]["block_1"]["mlp"]["fc1"]["kernel"],
                                  classifier_params["trunk"]["block_1"]["mlp"]["fc1"]["kernel"])
    with pytest.raises(JaxmlError, match="names no subtree"):
        transfer.graft(classifier_params, partial, target_prefix="encoder")


def sgd_config(**transfer_keys):
    c = training_config("x", learning_rate=0.1, steps=10, optimizer="sgd", momentum=0.0, grad_clip=0.0,
                        schedule="constant")
    c.transfer.update(transfer_keys)
    return c


def test_lr_multipliers_freeze_and_scale_subtrees_and_frozen_leaves_have_no_moments(classifier_params):
    params = jax.tree.map(jnp.asarray, classifier_params)
    grads = jax.tree.map(jnp.ones_like, params)
    base = make_optimizer(sgd_config())
    tx = make_optimizer(sgd_config(lr_multipliers=(r"^trunk/embed/=0", r"^trunk/block_0/=0.5")))
    ref, _ = base.update(grads, base.init(params), params)
    upd, _ = tx.update(grads, tx.init(params), params)
    for name, u in named_leaves(upd).items():
        expect = 0.0 if name.startswith("trunk/embed/") else 0.5 if name.startswith("trunk/block_0/") else 1.0
        np.testing.assert_allclose(u, expect * named_leaves(ref)[name], rtol=1e-6)
    adam = make_optimizer(training_config("x", learning_rate=1e-3, steps=10,
                                          transfer=ml_collections.ConfigDict({"lr_multipliers": ("^trunk/=0",)})))
    moments = sum(x.size for x in jax.tree.leaves(adam.init(params)) if x.ndim)
    head = sum(x.size for x in jax.tree.leaves(params["head"]))
    assert moments == 2 * head  # Adam's mu and nu of the head only
    assert transfer.trainable_count(sgd_config(lr_multipliers=("^trunk/=0",)), params) == head


def test_layer_decay_is_ulmfit_style_and_bad_entries_are_clear_errors(classifier_params):
    mult = transfer.multipliers(sgd_config(layer_decay=0.5), classifier_params)
    assert mult["trunk/block_1/mlp/fc1/kernel"] == 0.5 and mult["trunk/block_0/mlp/fc1/kernel"] == 0.25
    assert mult["trunk/embed/positions"] == 0.25 and mult["trunk/ln_final/scale"] == 1.0
    assert mult["head/kernel"] == 1.0
    for bad in (("trunk",), ("trunk=-1",), ("[=1",)):
        with pytest.raises(JaxmlError, match="REGEX=MULTIPLIER"):
            make_optimizer(sgd_config(lr_multipliers=bad))
    with pytest.raises(JaxmlError, match="layer_decay"):
        transfer.multipliers(sgd_config(layer_decay=1.5), classifier_params)
    assert make_optimizer(sgd_config()) is not None
