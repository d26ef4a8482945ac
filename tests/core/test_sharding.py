"""Sharding by rules (core/sharding.py) on the char GPT: data-parallel(8), FSDP(8), FSDP(4) x tensor(2)
and 1 device train to the same parameters; FSDP holds <= 1/6 of data parallelism's parameter +
optimizer bytes per device; the rules table maps names as documented; bad sizes are one clear error;
an FSDP resume is bitwise an uninterrupted run."""

import json
import re
import shutil
import subprocess

import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from conftest import REPO, cli_env, jaxml_cmd
from jaxml.core import loop, sharding
from jaxml.core.param_paths import named_leaves
from jaxml.defaults import lm as lm_defaults
from jaxml.errors import JaxmlError
from jaxml.methods import lm
from jaxml.models.transformer import PARAM_AXES, Decoder, TransformerConfig

pytestmark = pytest.mark.xdist_group("sharding")


def tiny_config(fsdp=1, tensor=1, num_devices=0, steps=20, checkpoint_every=0, **model):
    c = lm_defaults.base_config()
    c.corpus = "stdlib"
    c.max_chars = 30_000
    c.seq_len = 16
    c.train_stride = 16
    c.model.update({"num_layers": 1, "num_heads": 2, "embed_dim": 32, "dropout": 0.1, **model})
    c.steps = steps
    c.batch_size = 16
    c.eval_batch_size = 64
    c.learning_rate = 1e-2
    c.warmup_steps = 5
    c.log_every = 10
    c.eval_every = steps
    c.checkpoint_every = checkpoint_every
    c.tensorboard = False
    c.parallel.num_devices = num_devices
    c.parallel.fsdp = fsdp
    c.parallel.tensor = tensor
    c.sample.num_chars = 0
    c.attention_text = ""
    return c


@pytest.fixture(scope="module")
def data():
    return lm.load_data(tiny_config())


def train(data, workdir, **kw):
    config = tiny_config(**kw)
    state, metrics = loop.run(lm.make_recipe(config, data), config, workdir)
    return state, metrics


def relative_differences(a, b):
    """{path: ||a - b|| / ||b||} over the leaves of two trees."""
    b = named_leaves(jax.device_get(b))
    return {k: float(np.linalg.norm(np.asarray(x) - b[k]) / max(np.linalg.norm(b[k]), 1e-12))
            for k, x in named_leaves(jax.device_get(a)).items()}


def specs(state):
    return {k: v.sharding.spec for k, v in named_leaves(state).items()}


LAYOUTS = {"data_parallel_8": dict(), "fsdp_8": dict(fsdp=8), "fsdp_4_tensor_2": dict(fsdp=4, tensor=2)}


# The key projection's bias has a zero gradient in exact arithmetic (it adds q.b to every logit of a
# softmax row), so its Adam updates are normalised rounding noise whatever the layout: it is left out
# of the parameter comparison, and the logits (which it cannot change) are compared instead.
NOISE_ONLY = re.compile(r"attention/key/bias$")


def logits(params, data):
    cfg = lm.model_config(tiny_config(), data.tokenizer.vocab_size)
    tokens = jax.random.randint(jax.random.key(3), (32, 16), 0, cfg.vocab_size)
    return np.asarray(Decoder(cfg).apply({"params": jax.device_get(params)}, tokens))


def test_layouts_train_to_the_same_parameters(data, tmp_path):
    assert jax.device_count() == 8
    one, m1 = train(data, tmp_path / "one", num_devices=1)
    init = jax.device_get(lm.make_recipe(tiny_config(), data).init(loop.init_key(0)).params)
    assert max(relative_differences(one.params, init).values()) > 1e-2  # training moved the parameters
    reference = logits(one.params, data)
    for name, layout in LAYOUTS.items():
        state, metrics = train(data, tmp_path / name, **layout)
        diffs = relative_differences(state.params, one.params)
        worst = max(v for k, v in diffs.items() if not NOISE_ONLY.search(k))
        out = np.linalg.norm(logits(state.params, data) - reference) / np.linalg.norm(reference)
        print(f"{name} vs 1 device: max relative parameter difference {worst:.2e}, logits {out:.2e}, "
              f"val_loss {metrics['val_loss']:.7f} vs {m1['val_loss']:.7f}")
        assert worst <= 1e-5, (name, worst)
        assert out <= 1e-5, (name, out)
        assert metrics["val_loss"] == pytest.approx(m1["val_loss"], rel=1e-5)
    # the trained state kept the layout the rules give (out_shardings), e.g. FSDP x tensor:
    assert specs(state)["params/block_0/mlp/fc1/kernel"] == P("fsdp", "tensor")
    assert specs(state)["opt_state/1/0/mu/block_0/mlp/fc1/kernel"] == P("fsdp", "tensor")


def placed_state(data, **layout):
    config = tiny_config(**layout)
    recipe = lm.make_recipe(config, data)
    mesh = recipe.sharding.make_mesh(config.parallel)
    return recipe.sharding.place_state(lambda: recipe.init(loop.init_key(0)), mesh)


def test_fsdp_holds_a_sixth_of_data_parallel_memory(data):
    dp, fsdp = placed_state(data), placed_state(data, fsdp=8)
    held = {name: sharding.bytes_per_device((s.params, s.opt_state)) for name, s in (("dp", dp), ("fsdp", fsdp))}
    assert held["dp"] == sharding.replicated_bytes((dp.params, dp.opt_state))  # everything replicated
    ratio = held["fsdp"] / held["dp"]
    print(f"per-device parameter + optimizer bytes: FSDP(8) {held['fsdp']} / data-parallel {held['dp']} = {ratio:.3f}")
    assert ratio <= 1 / 6, ratio
    # the same values, only placed differently
    assert max(relative_differences(fsdp.params, dp.params).values()) == 0.0


def test_rules_table_maps_names_as_documented(data):
    mesh = sharding.make_mesh(tiny_config(fsdp=4, tensor=2).parallel)
    assert dict(mesh.shape) == {"data": 1, "fsdp": 4, "tensor": 2}
    abstract = jax.eval_shape(lm.make_recipe(tiny_config(fsdp=4, tensor=2), data).init, jax.random.key(0))
    got = {k: v.spec for k, v in named_leaves(sharding.state_shardings(abstract, mesh, PARAM_AXES)).items()}
    expected = {
        "params/embed/tokens/embedding": P(None, "fsdp"),  # vocab replicated, embed over fsdp
        "params/embed/positions": P(None, "fsdp"),
        "params/block_0/self_attention/query/kernel": P("fsdp", "tensor"),  # embed x heads
        "params/block_0/self_attention/query/bias": P("tensor"),
        "params/block_0/self_attention/out/kernel": P("tensor", "fsdp"),
        "params/block_0/self_attention/out/bias": P("fsdp"),
        "params/block_0/mlp/fc1/kernel": P("fsdp", "tensor"),  # embed x mlp
        "params/block_0/mlp/fc2/kernel": P("tensor", "fsdp"),
        "params/block_0/ln_mlp/scale": P(None),  # norms replicated
        "params/ln_final/bias": P(None),
    }
    for path, spec in expected.items():
        assert got[path] == spec, path
        assert got[path.replace("params/", "opt_state/1/0/mu/", 1)] == spec  # Adam moments mirror params
        assert got[path.replace("params/", "opt_state/1/0/nu/", 1)] == spec
    assert got["opt_state/1/0/count"] == P()
    # data parallelism: everything replicated; batches over (data, fsdp); no tensor axis on a batch
    dp_mesh = sharding.make_mesh(tiny_config().parallel)
    assert all(entry is None for s in jax.tree.leaves(sharding.state_shardings(abstract, dp_mesh, PARAM_AXES))
               for entry in s.spec)
    assert sharding.batch_sharding(dp_mesh, 1).spec == P(None, "data")
    assert sharding.batch_sharding(sharding.make_mesh(tiny_config(fsdp=2, tensor=2).parallel), 1).spec == \
        P(None, ("data", "fsdp"))
    rules = dict(sharding.activation_rules(mesh))
    assert rules["batch"] == "fsdp" and rules["act_heads"] == "tensor" and rules["act_mlp"] == "tensor"
    assert rules["act_embed"] is None and rules["act_vocab"] is None
    # an odd-sized dimension stays replicated; a mesh axis is used once per array
    assert sharding.logical_spec(("embed",), (30,), mesh) == P(None)
    assert sharding.logical_spec(("embed", "embed"), (32, 32), mesh) == P("fsdp", None)
    # every parameter of the Transformer family has a rule (cross-attention, untied head, rotary)
    cfg = TransformerConfig(vocab_size=11, num_layers=1, num_heads=2, embed_dim=8, max_len=8, tie_embeddings=False)
    tokens = jax.numpy.zeros((1, 4), jax.numpy.int32)
    params = jax.eval_shape(lambda: Decoder(cfg, cross_attention=True).init(
        jax.random.key(0), tokens, jax.numpy.zeros((1, 3, 8)))["params"])
    assert named_leaves(sharding.state_shardings(params, mesh, PARAM_AXES))["lm_head/kernel"].spec == P("fsdp", None)
    with pytest.raises(JaxmlError, match="'extra/kernel' matches no pattern"):
        sharding.state_shardings({"extra": {"kernel": params["lm_head"]["kernel"]}}, mesh, PARAM_AXES)


def test_bad_sizes_are_one_clear_error(data, tmp_path):
    with pytest.raises(JaxmlError, match=r"config.parallel.fsdp=3 must divide the 8 devices.*valid: 1, 2, 4, 8"):
        lm.make_recipe(tiny_config(fsdp=3), data)
    with pytest.raises(JaxmlError, match=r"config.parallel.tensor=3 must divide the 8 devices; valid: 1, 2, 4, 8"):
        lm.make_recipe(tiny_config(tensor=3), data)
    with pytest.raises(JaxmlError, match=r"config.parallel.fsdp=8 must divide config.model.embed_dim=36; "
                                         r"valid config.parallel.fsdp for this model: 1, 2, 3, 4, 6, 9, 12, 18, 36"):
        lm.make_recipe(tiny_config(fsdp=8, embed_dim=36), data)
    with pytest.raises(JaxmlError, match=r"config.parallel.tensor=4 must divide config.model.num_heads=2"):
        lm.make_recipe(tiny_config(tensor=4), data)
    with pytest.raises(JaxmlError, match=r"config.parallel.fsdp must be an int >= 1, got 0"):
        lm.make_recipe(tiny_config(fsdp=0), data)
    # and on the command line it is one line, exit code 2
    out = subprocess.run(jaxml_cmd("train", "gpt_kjv", "--workdir", str(tmp_path / "cli"),
                                   "--config.corpus=stdlib", "--config.parallel.fsdp=3"),
                         cwd=REPO, env=cli_env(8), capture_output=True, text=True, timeout=240)
    assert out.returncode == 2, out.stderr[-2000:]
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("jaxml: error: config.parallel.fsdp=3 must divide the 8 devices"), out.stderr[-2000:]
    assert "Traceback" not in out.stderr


def test_fsdp_resume_is_bitwise_an_uninterrupted_run(data, tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    s1, m1 = train(data, straight, fsdp=8, checkpoint_every=10)
    # the resumed run: the same workdir as it was at step 10 (the step-20 checkpoint never written)
    shutil.copytree(straight, resumed)
    shutil.rmtree(resumed / "checkpoints" / "20")
    s2, m2 = train(data, resumed, fsdp=8, checkpoint_every=10)
    rows = [json.loads(r) for r in (resumed / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["split"] == "train"] == [10, 20]
    for k, x in named_leaves(jax.device_get(s1)).items():
        np.testing.assert_array_equal(x, named_leaves(jax.device_get(s2))[k], err_msg=k)
    assert specs(s2)["params/block_0/mlp/fc2/kernel"] == P(None, "fsdp")  # restored into the FSDP layout
    assert m1["val_loss"] == m2["val_loss"]
    # an FSDP checkpoint evaluates on another layout (orbax reshards into the abstract state)
    config = tiny_config(num_devices=1, checkpoint_every=10)
    again = loop.evaluate_checkpoint(lm.make_recipe(config, data), config, resumed)
    assert again["step"] == 20 and again["val_loss"] == pytest.approx(m1["val_loss"], rel=1e-5)
