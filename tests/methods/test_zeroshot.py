"""DAP zero-shot: the scores against a plain float64 loop, valid held-out splits, one clear error for a bad
config, and a tiny fit on digits whose report is consistent."""

import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.data.paired import DIGIT_ATTRIBUTE_TABLES, DIGIT_ATTRIBUTES
from jaxml.defaults.zeroshot import base_config
from jaxml.errors import JaxmlError
from jaxml.methods import zeroshot


def test_dap_scores_match_a_plain_loop():
    rng = np.random.default_rng(0)
    probs = rng.uniform(0.01, 0.99, size=(5, 4))
    signatures = rng.integers(0, 2, size=(3, 4)).astype(np.float64)
    prior = rng.uniform(0.2, 0.8, size=4)
    want = np.zeros((5, 3))
    for n in range(5):
        for c in range(3):
            for m in range(4):
                a = signatures[c, m]
                want[n, c] += np.log(probs[n, m] if a else 1 - probs[n, m]) - np.log(prior[m] if a else 1 - prior[m])
    got = zeroshot.dap_scores(jnp.asarray(probs, jnp.float32), jnp.asarray(signatures, jnp.float32),
                              jnp.asarray(prior, jnp.float32))
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4)


def test_held_out_splits_are_distinct_and_leave_every_attribute_learnable():
    splits = zeroshot.draw_splits(10, 3, 6, np.asarray(DIGIT_ATTRIBUTES), seed=1)
    assert len(set(splits)) == 6 and all(len(s) == 3 for s in splits)
    for s in splits:
        seen = DIGIT_ATTRIBUTES[[c for c in range(10) if c not in s]]
        assert np.all(seen.min(0) == 0) and np.all(seen.max(0) == 1)
    assert splits == zeroshot.draw_splits(10, 3, 6, np.asarray(DIGIT_ATTRIBUTES), seed=1)


def test_bad_config_is_one_clear_error(tmp_path):
    c = base_config()
    c.zeroshot.held_out = 9
    with pytest.raises(JaxmlError, match="config.zeroshot.held_out"):
        zeroshot.train(c, tmp_path)
    for key in ("attributes", "predictor"):
        c = base_config()
        c.zeroshot[key] = "nope"
        with pytest.raises(JaxmlError, match=f"config.zeroshot.{key}='nope' is not valid; choose one of"):
            zeroshot.check_zeroshot_config(c, 10)


def test_local_predictor_reads_only_the_pixels_around_each_cell():
    masks = zeroshot.cell_masks(DIGIT_ATTRIBUTE_TABLES["glyph"], (8, 8, 1), 0.75).reshape(15, 8, 8)
    assert masks[0, 0, 0] == 1 and masks[0, 7, 7] == 0       # the top-left cell sees the top-left corner only
    assert masks[14, 7, 7] == 1 and masks[14, 0, 0] == 0
    assert np.all(masks.reshape(15, -1).sum(1) > 0)
    seg = zeroshot.cell_masks(DIGIT_ATTRIBUTE_TABLES["segments"], (8, 8, 1), 0.75).reshape(11, 8, 8)
    assert np.all(seg[7:] == 1) and seg[0, 0].sum() > 0 and seg[0, 7].sum() == 0   # shape attributes: anywhere


def test_tiny_fit_reports_zero_shot_and_generalised_accuracies(tmp_path):
    c = base_config()
    c.steps = 5
    c.model.hidden = (8,)
    c.zeroshot.splits = 2
    r = zeroshot.train(c, tmp_path)
    assert r["chance"] == pytest.approx(1 / 3)
    assert r["unseen_accuracy_min"] <= r["unseen_accuracy"] <= r["unseen_accuracy_max"]
    assert 0 <= r["gzsl_h"] <= max(r["gzsl_seen"], r["gzsl_unseen"])
    assert len(r["splits"].split()) == 2


def test_mlp_predictor_fits_the_segment_table_per_split():
    c = base_config()
    c.steps = 3
    c.model.hidden = (4,)
    c.zeroshot.update(attributes="segments", predictor="mlp")
    table = DIGIT_ATTRIBUTE_TABLES["segments"]
    x = np.random.default_rng(0).normal(size=(40, 8, 8, 1)).astype(np.float32)
    y = np.arange(40) % 10
    probs, losses = zeroshot.fit_splits(c, table, x, y, x[:6], [(0, 8, 9), (1, 2, 3)])
    assert probs.shape == (2, 6, 11) and losses.shape == (2,)
    assert np.all((np.asarray(probs) > 0) & (np.asarray(probs) < 1))
