"""Parameter-efficient fine-tuning (`models.peft`) and the fine-tuning study (`methods.finetune`):
LoRA and adapters start at the frozen model, LoRA merges into the weights for export, and a LoRA run's
train state, optimizer state and checkpoint hold only the adapters and the head."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxml.core import transfer
from jaxml.core.checkpoint import Checkpointer
from jaxml.core.param_paths import named_leaves
from jaxml.core.train_state import TrainState
from jaxml.data.datasets import Split
from jaxml.defaults.finetune import base_config
from jaxml.errors import JaxmlError
from jaxml.methods import finetune, lm
from jaxml.models import peft
from jaxml.models.transformer import Decoder, SequenceClassifier, TransformerConfig

CFG = TransformerConfig(vocab_size=11, num_layers=1, num_heads=2, embed_dim=8, max_len=6)
TOKENS = jnp.array([[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 9]])
MODEL = SequenceClassifier(CFG, 3)


@pytest.fixture(scope="module")
def base():
    return jax.jit(MODEL.init)(jax.random.key(0), TOKENS, TOKENS > 0)["params"]


def forward(method=None):
    """The compiled classifier: params (, adapters) -> logits; with `method` its adapters in place."""
    if method is None:
        return jax.jit(lambda params: MODEL.apply({"params": params}, TOKENS, TOKENS > 0))
    return jax.jit(lambda params, adapters: method.apply_with(MODEL, {"params": params}, adapters, TOKENS, TOKENS > 0))


def perturbed(tree, seed):
    leaves, treedef = jax.tree.flatten(tree)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    return jax.tree.unflatten(treedef, [x + 0.3 * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys)])


def test_lora_starts_at_the_base_model_and_its_merged_weights_compute_the_adapted_model(base):
    lora = peft.LoRA(rank=2, alpha=4.0, targets=(r"self_attention/(query|value)$", r"mlp/fc1$"))
    adapters = lora.init(jax.random.key(1), base)
    assert sorted(n for n in named_leaves(adapters)) == sorted(
        f"trunk/block_0/{m}/{ab}" for m in ("self_attention/query", "self_attention/value", "mlp/fc1")
        for ab in ("lora_a", "lora_b"))
    assert not np.any(adapters["trunk"]["block_0"]["mlp"]["fc1"]["lora_b"])  # B = 0
    plain_fn, adapted_fn = forward(), forward(lora)
    plain = plain_fn(base)
    np.testing.assert_array_equal(adapted_fn(base, adapters), plain)
    trained = perturbed(adapters, 2)
    adapted = adapted_fn(base, trained)
    assert np.abs(adapted - plain).max() > 1e-2
    merged = plain_fn(lora.merge(base, trained))
    np.testing.assert_allclose(merged, adapted, rtol=1e-5, atol=1e-5)


def test_bottleneck_adapter_starts_at_the_identity_and_bad_settings_are_clear_errors(base):
    ad = peft.BottleneckAdapter(size=3)
    adapters = ad.init(jax.random.key(1), base)
    assert set(adapters["trunk"]["block_0"]) == {"self_attention", "mlp"}
    plain, adapted_fn = forward()(base), forward(ad)
    np.testing.assert_array_equal(adapted_fn(base, adapters), plain)
    assert np.abs(adapted_fn(base, perturbed(adapters, 3)) - plain).max() > 1e-2
    with pytest.raises(JaxmlError, match="match no Dense layer"):
        peft.LoRA(targets=("nothing",)).init(jax.random.key(0), base)
    with pytest.raises(JaxmlError, match="config.lora.rank=0 must be an int >= 1"):
        peft.from_config("lora", {"rank": 0})
    with pytest.raises(JaxmlError, match="choose one of lora, adapter"):
        peft.from_config("prefix", {})
    with pytest.raises(JaxmlError, match="config.study.modes"):
        finetune.check_modes(("full", "ia3"))


class TinyVerses:
    """What `methods.finetune` reads of `methods.mlm.VerseData`, on random 'verses' (no KJV needed):
    "<cls>" + 4-15 characters of a 17-character alphabet, padded, with a genre label."""

    def __init__(self, config, n_train=64, n_test=32):
        rng = np.random.default_rng(0)
        seq = int(config.seq_len)

        def split(n):
            tokens = np.zeros((n, seq), np.uint8)
            tokens[:, 0] = 2
            for i, length in enumerate(rng.integers(4, seq, n)):
                tokens[i, 1:length] = rng.integers(3, 20, length - 1)
            return Split(tokens=tokens, label=rng.integers(0, 6, n).astype(np.int32))

        self.tokenizer = type("Tokenizer", (), {"vocab_size": 20})()
        self.train, self.test, self.num_classes = split(n_train), split(n_test), 6

    def labelled_subset(self, n, seed):
        return self.train.take(np.random.default_rng([seed, n]).choice(len(self.train), n, replace=False))


def tiny_config():
    c = base_config()
    c.pretrain_cache = False
    c.seq_len = 16
    c.model.update(num_layers=1, embed_dim=16, num_heads=2)
    c.log_every = 2
    c.parallel.num_devices = 1
    c.finetune.update(steps=2, batch_size=8, warmup_steps=0, checkpoint_every=2)
    c.study.update(modes=("lora", "full"), label_counts=(8,), seeds=(0,))
    return c


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A tiny study (LoRA and full fine-tuning, 8 labels, 2 steps) from a GPT source workdir saved
    directly (its params as a language model's), which must stay untouched."""
    root = tmp_path_factory.mktemp("finetune")
    c = tiny_config()
    data = TinyVerses(c)
    cfg = lm.model_config(c, data.tokenizer.vocab_size)
    params = Decoder(cfg).init(jax.random.key(5), jnp.zeros((1, 16), jnp.int32))["params"]
    ck = Checkpointer(root / "gpt")
    ck.save(7, TrainState(params=params, model_state={}, opt_state=optax.adam(1e-3).init(params)))
    ck.close()
    before = {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted((root / "gpt").rglob("*")) if p.is_file()}
    c.init_from = str(root / "gpt")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(finetune, "VerseData", TinyVerses)
        result = finetune.train(c, root / "run")
    after = {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted((root / "gpt").rglob("*")) if p.is_file()}
    return root, c, data, params, result, before == after


def test_study_reports_every_mode_and_leaves_the_source_untouched(study):
    root, c, _, _, result, untouched = study
    assert untouched
    for key in ("lora_n8_mean", "full_n8_mean", "lora_minus_full_min", "trained_fraction_lora", "lora_wall_s"):
        assert key in result
    assert result["trained_fraction_full"] == 1.0
    assert 0 < result["trained_fraction_lora"] < 0.2


def test_lora_run_keeps_only_adapters_and_head_in_its_state_and_checkpoint(study):
    root, c, data, source, _, _ = study
    fc = finetune.mode_config(c, "lora", 0, 8, root / "gpt")
    recipe, counts = finetune.make_recipe(fc, data, data.labelled_subset(8, 0), "lora", root / "gpt")
    state = recipe.init(jax.random.key(0))
    assert set(state.params) == {"head", "adapters"}
    adapter_leaves = {n for n in named_leaves(state.params) if n.startswith("adapters/")}
    assert adapter_leaves and all(n.endswith(("lora_a", "lora_b")) for n in adapter_leaves)
    moments = sum(x.size for x in jax.tree.leaves(state.opt_state) if x.ndim)
    assert moments == 2 * counts["trained"]  # AdamW's mu and nu of the trained leaves, nothing else
    saved = transfer.source_params(root / "run" / "lora_n8_seed0")
    assert set(saved) == set(named_leaves(state.params))
    # the full fine-tuning run started from the source's trunk (loaded by config.init_from)
    full = finetune.mode_config(c, "full", 0, 8, root / "gpt")
    assert full.init_from == str(root / "gpt") and full.transfer.target == "trunk"
    loaded = transfer.load_into(full, jax.device_get(recipe_init_params(full, data)))
    np.testing.assert_array_equal(loaded["trunk"]["embed"]["positions"], source["embed"]["positions"])


def test_lora_train_also_trains_the_named_base_leaves_from_their_loaded_values(study, base):
    root, c, data, source, _, _ = study
    lora_only = finetune.make_recipe(finetune.mode_config(c, "lora", 0, 8, root / "gpt"), data,
                                     data.labelled_subset(8, 0), "lora", root / "gpt")[1]
    c = c.copy_and_resolve_references()
    c.lora.train_also = ("ln_",)
    fc = finetune.mode_config(c, "lora", 0, 8, root / "gpt")
    recipe, counts = finetune.make_recipe(fc, data, data.labelled_subset(8, 0), "lora", root / "gpt")
    params = recipe.init(jax.random.key(0)).params
    assert set(params) == {"head", "adapters", "also"}
    also = named_leaves(params["also"])
    assert len(also) == 2 * 3 and all("/ln_" in n for n in also)  # block_0's two norms and the final one
    for name, leaf in also.items():  # from the source (the trunk is the source's decoder), not from init
        np.testing.assert_array_equal(leaf, named_leaves(source)[name.removeprefix("trunk/")])
    assert counts["trained"] == lora_only["trained"] + sum(x.size for x in also.values())
    c.lora.train_also = ("no_such_layer",)
    with pytest.raises(JaxmlError, match=r"config.lora.train_also=\['no_such_layer'\] matches no parameter"):
        finetune.make_recipe(finetune.mode_config(c, "lora", 0, 8, root / "gpt"), data,
                             data.labelled_subset(8, 0), "lora", root / "gpt")
    # overlay puts a subset back in place and leaves every other leaf as it was
    subset = perturbed(peft.select_leaves(base, ("ln_",)), 4)
    merged = named_leaves(peft.overlay(base, subset))
    for name, leaf in named_leaves(base).items():
        expected = named_leaves(subset).get(name, leaf)
        np.testing.assert_array_equal(merged[name], expected)
    assert set(merged) == set(named_leaves(base))


def recipe_init_params(config, data):
    recipe, _ = finetune.make_recipe(config, data, data.labelled_subset(8, 0), "full", None)
    return recipe.init(jax.random.key(0)).params


def test_validation_view_holds_out_whole_training_chapters_and_never_the_test_chapters():
    from jaxml.methods.mlm import VerseData

    data = object.__new__(VerseData)  # the split logic only: 40 chapters of 5 verses, verse i's token = i
    chapters = np.repeat(np.arange(40), 5)
    data.train = Split(tokens=np.arange(200)[:, None], label=chapters % 6)
    data.test = Split(tokens=np.arange(200, 230)[:, None], label=np.zeros(30, np.int32))
    data.train_chapter = chapters
    view = data.validation_view(0.25, seed=3)
    train_ids, val_ids = view.train["tokens"][:, 0], view.test["tokens"][:, 0]
    assert len(val_ids) == 50 and len(train_ids) == 150  # 10 of 40 chapters, whole
    assert not set(chapters[train_ids]) & set(chapters[val_ids])
    assert sorted(np.concatenate([train_ids, val_ids])) == list(range(200))  # the test verses are in neither
    assert set(view.labelled_subset(20, 0)["tokens"][:, 0]) <= set(train_ids)
    assert np.array_equal(data.validation_view(0.25, seed=3).test["tokens"], view.test["tokens"])
    assert len(data.train) == 200  # the original is unchanged
    with pytest.raises(JaxmlError, match="validation fraction"):
        data.validation_view(1.0, seed=0)
