"""The speech method on a tiny synthesised corpus (skipped without espeak-ng): a multi-task run with
uncertainty weighting over every head trains, reports CER per SNR, enhancement and language / voice accuracy;
seeds vmapped in one program train as their single-seed runs; the runs of a strategy comparison; config
errors name the key."""

import dataclasses
import math

import jax
import ml_collections
import numpy as np
import pytest

from jaxml.core import loop, vmapped_seeds
from jaxml.core.metrics import read_metrics
from jaxml.data import speech as speech_data
from jaxml.defaults.speech import speech_config
from jaxml.errors import JaxmlError
from jaxml.methods import speech
from jaxml.models.multihead import HEAD_PREFIX, SHARED_LAYER

needs_espeak = pytest.mark.skipif(not speech_data.espeak_available(), reason=speech_data.missing_espeak_message())


def tiny_config(tmp_path, tasks=("ctc", "enhance", "language", "voice")):
    c = speech_config(tasks)
    c.data_dir = str(tmp_path / "data")
    c.data = ml_collections.ConfigDict(dict(num_train=8, num_val=4, num_test=4, min_digits=1, max_digits=2, seed=5))
    c.model = ml_collections.ConfigDict(dict(channels=4, hidden=8, width=8, layers=1))
    c.frontend.n_mels = 16
    c.eval_snrs = (0,)
    c.steps, c.batch_size, c.eval_batch_size, c.log_every, c.checkpoint_every = 2, 8, 4, 2, 0
    c.beam, c.beam_examples = 2, 2
    c.tensorboard = False
    c.parallel.num_devices = 1
    return c


@pytest.fixture(scope="module")
def tiny_recipe(tmp_path_factory):
    if not speech_data.espeak_available():
        pytest.skip(speech_data.missing_espeak_message())
    c = tiny_config(tmp_path_factory.mktemp("speech"))
    c.weighting = "uncertainty"
    return c, speech.make_recipe(c, speech.load_data(c))


@pytest.fixture(scope="module")
def tiny_runs(tiny_recipe, tmp_path_factory):
    """Two steps of the recipe through core.loop for seed 1, and for seeds (0, 1) vmapped in one program
    (core.vmapped_seeds); no eval splits, the evaluators only: (config, workdir, (state, metrics) of
    the single run, (stacked state, per-seed metrics))."""
    c, recipe = tiny_recipe
    recipe = dataclasses.replace(recipe, eval_splits={})
    root = tmp_path_factory.mktemp("speech_runs")
    single = ml_collections.ConfigDict(c.to_dict())
    single.seed = 1
    return c, root, loop.run(recipe, single, root / "single"), vmapped_seeds.run_seeds(recipe, c, (0, 1), root / "seeds")


@needs_espeak
def test_a_step_over_every_head_trains_and_the_evaluators_report_every_metric(tiny_runs):
    # the recipe's own functions in core.loop's compiled steps (the loop itself is tested in tests/core)
    c, root, (state, metrics), _ = tiny_runs
    assert int(state.step) == c.steps
    train = [r for r in read_metrics(root / "single") if r["split"] == "train"][-1]
    for t in ("ctc", "enhance", "language", "voice"):
        assert math.isfinite(float(train[f"loss_{t}"])) and float(train[f"weight_{t}"]) > 0
    result = {k.split("_", 1)[1]: v for k, v in metrics.items() if k.startswith((speech.HELDOUT + "_", speech.SEEN + "_"))}
    for key in ("clean_cer", "clean_cer_beam", "snr0_cer", "clean_language_accuracy", "snr0_snr_in_db",
                "snr0_snr_out_db", "snr0_snr_gain_db", "snr0_logmel_rmse_out_db", "voice_accuracy"):
        assert math.isfinite(result[key]), key
    assert result["clean_cer"] >= 0 and 0 <= result["voice_accuracy"] <= 1
    assert result["snr0_snr_gain_db"] == pytest.approx(result["snr0_snr_out_db"] - result["snr0_snr_in_db"])
    assert -3 < result["snr0_snr_in_db"] < 6   # 0 dB waveform SNR, measured on the mel magnitude


@needs_espeak
def test_vmapped_seeds_train_as_their_single_seed_runs(tiny_runs):
    # seed 1 of the vmapped pair: the same parameters, weighting state and metrics as loop.run with seed 1
    c, root, (state, metrics), (stacked, per_seed) = tiny_runs
    assert int(stacked.step[1]) == int(state.step) == c.steps
    one = vmapped_seeds.seed_slice(stacked, 1)
    for got, want in zip(jax.tree.leaves((one.net.params, one.weighting)), jax.tree.leaves((state.net.params, state.weighting))):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-4, atol=1e-6)
    assert set(per_seed[1]) == set(metrics)
    for k, v in metrics.items():
        assert per_seed[1][k] == pytest.approx(v, rel=1e-4, abs=1e-5), k
    # seed 0 is a different run (its own init, batch order and keys), and each seed's evaluations are logged
    first = jax.tree.leaves(vmapped_seeds.seed_slice(stacked, 0).net.params)[0]
    assert not np.allclose(np.asarray(first), np.asarray(jax.tree.leaves(state.net.params)[0]))
    splits = {r["split"] for r in read_metrics(root / "seeds")}
    assert {f"{speech.HELDOUT}_seed0", f"{speech.HELDOUT}_seed1", f"{speech.SEEN}_seed1"} <= splits


@needs_espeak
def test_the_net_names_the_shared_layer_and_heads_as_the_weightings_expect(tiny_recipe):
    # GradNorm reads params["shared"]["kernel"]; PCGrad leaves the "head_<task>" gradients unprojected
    c, recipe = tiny_recipe
    params = jax.eval_shape(recipe.init, jax.random.key(0)).net.params
    assert SHARED_LAYER in params and "kernel" in params[SHARED_LAYER]
    assert {k for k in params if k.startswith(HEAD_PREFIX)} == {HEAD_PREFIX + t for t in c.tasks}


def test_a_strategy_comparison_trains_each_strategy_and_each_single_task_model(tmp_path):
    c = tiny_config(tmp_path, ("ctc", "enhance"))
    c.strategies = ("equal", "pcgrad")
    c.single_task_baselines = True
    runs = speech.runs_of(c)
    assert [name for name, _ in runs] == ["equal", "pcgrad", "only_ctc", "only_enhance"]
    assert [r.weighting for _, r in runs] == ["equal", "pcgrad", "equal", "equal"]
    assert [list(r.tasks) for _, r in runs] == [["ctc", "enhance"]] * 2 + [["ctc"], ["enhance"]]


def test_config_mistakes_name_the_key_and_the_choices(tmp_path):
    c = tiny_config(tmp_path)
    c.tasks = ml_collections.ConfigDict({"ctc": {"weight": 1.0}, "denoise": {"weight": 1.0}})
    with pytest.raises(JaxmlError, match="config.tasks entry='denoise'.*ctc, enhance, language, voice"):
        speech.check_config(c)
    c = tiny_config(tmp_path)
    c.noise.kinds = ("white", "traffic")
    with pytest.raises(JaxmlError, match="config.noise.kinds entry='traffic'"):
        speech.check_config(c)
    c = tiny_config(tmp_path)
    c.weighting = "mgda"
    with pytest.raises(JaxmlError, match="config.weighting='mgda'"):
        speech.check_config(c)
