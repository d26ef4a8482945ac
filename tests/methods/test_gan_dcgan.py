"""GAN losses, Fréchet distance and IS against plain references; FID sanity on digits (real vs real
≪ real vs generator at init, monotone in added noise, single class: IS ≈ 1 and large FID); a short
DCGAN run lowers FID and resumes; WGAN-GP and the conditional hinge variant train."""

import json

import numpy as np
import jax
import jax.numpy as jnp
import pytest
import scipy.linalg

from jaxml.core import feature_metrics, loop
from jaxml.defaults import gan as gan_defaults
from jaxml.errors import JaxmlError
from jaxml.methods import gan
from jaxml.core.feature_classifier import load_feature_classifier
from jaxml.models.gan import Discriminator, Generator, depth_to_space

pytestmark = pytest.mark.xdist_group("gan_dcgan")  # fc_cache: the classifier trains once, on one worker


def test_frechet_distance_matches_scipy_sqrtm_reference():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(200, 6)), rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6)) + 0.5
    (m1, s1), (m2, s2) = feature_metrics.feature_statistics(a), feature_metrics.feature_statistics(b)
    ref = np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * np.real(scipy.linalg.sqrtm(s1 @ s2)))
    assert feature_metrics.frechet_distance(m1, s1, m2, s2) == pytest.approx(ref, rel=1e-8)
    assert feature_metrics.frechet_distance(m1, s1, m1, s1) == pytest.approx(0.0, abs=1e-9)


def test_inception_score_references():
    k = 4
    assert feature_metrics.inception_score(np.eye(k)[np.arange(40) % k]) == pytest.approx(k)
    assert feature_metrics.inception_score(np.tile([[0.7, 0.1, 0.1, 0.1]], (10, 1))) == pytest.approx(1.0)
    p = np.random.default_rng(1).dirichlet(np.ones(k), size=50)
    marg = p.mean(0)
    ref = np.exp(np.mean([np.sum(r * np.log(r / marg)) for r in p]))
    assert feature_metrics.inception_score(p) == pytest.approx(ref, rel=1e-12)


def test_losses_match_numpy_references():
    rng = np.random.default_rng(2)
    r, f = rng.normal(size=16), rng.normal(size=16)
    sp = lambda v: np.log1p(np.exp(v))
    ns, hinge_loss, wgan = (gan.gan_loss(k) for k in ("ns", "hinge", "wgan_gp"))
    assert float(ns.discriminator(r, f)) == pytest.approx(np.mean(sp(-r)) + np.mean(sp(f)), rel=1e-5)
    assert float(ns.generator(f)) == pytest.approx(np.mean(sp(-f)), rel=1e-5)
    hinge = np.mean(np.maximum(0, 1 - r)) + np.mean(np.maximum(0, 1 + f))
    assert float(hinge_loss.discriminator(r, f)) == pytest.approx(hinge, rel=1e-5)
    assert float(wgan.discriminator(r, f)) == pytest.approx(f.mean() - r.mean(), rel=1e-5, abs=1e-6)
    assert float(hinge_loss.generator(f)) == pytest.approx(-f.mean(), rel=1e-5, abs=1e-6)
    assert wgan.gradient_penalty and not ns.gradient_penalty and not hinge_loss.gradient_penalty
    with pytest.raises(JaxmlError, match="config.gan.loss='lsgan'.*ns, hinge, wgan_gp"):
        gan.gan_loss("lsgan")


def test_gradient_penalty_of_linear_critic_is_exact():
    w = jnp.arange(12.0).reshape(2, 2, 3) / 10
    disc = lambda x: jnp.sum(x * w, axis=(1, 2, 3))
    real = jax.random.normal(jax.random.key(0), (5, 2, 2, 3))
    fake = jax.random.normal(jax.random.key(1), (5, 2, 2, 3))
    expected = (float(jnp.linalg.norm(w)) - 1.0) ** 2
    assert float(gan.gradient_penalty(disc, real, fake, jax.random.key(2))) == pytest.approx(expected, rel=1e-5)


def test_depth_to_space_matches_loop_reference():
    x = np.random.default_rng(3).normal(size=(2, 3, 4, 8)).astype(np.float32)
    ref = np.zeros((2, 6, 8, 2), np.float32)
    for h in range(3):
        for w in range(4):
            for i in range(2):
                for j in range(2):
                    ref[:, 2 * h + i, 2 * w + j, :] = x[:, h, w, (i * 2 + j) * 2:(i * 2 + j + 1) * 2]
    np.testing.assert_array_equal(np.asarray(depth_to_space(jnp.asarray(x))), ref)


def test_models_shapes_and_range():
    g = Generator(image_size=16, channels=1, width=8, num_classes=10)
    d = Discriminator(width=8, num_classes=10)
    z, y = jnp.ones((3, 5)), jnp.array([0, 4, 9])
    gv = g.init(jax.random.key(0), z, y, train=False)
    x = g.apply(gv, z, y, train=False)
    assert x.shape == (3, 16, 16, 1) and float(jnp.abs(x).max()) <= 1.0
    dv = d.init(jax.random.key(1), x, y, train=False)
    assert d.apply(dv, x, y, train=False).shape == (3,)
    k = gv["params"]["Dense_0"]["kernel"]
    assert abs(float(jnp.std(k)) - 0.02) < 0.004  # N(0, 0.02) init


def tiny(**kw):
    c = gan_defaults.base_config()
    c.steps = 200
    c.eval_every = 100
    c.log_every = 50
    c.fid.samples = 500
    c.fid.classifier_steps = 300
    c.parallel.num_devices = 2
    for k, v in kw.items():
        setattr(c, k, v)
    return c


@pytest.fixture(scope="module")
def fc_cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("fid_cache"))


def test_fid_sanity_on_digits(fc_cache):
    c = tiny()
    c.fid.cache_dir = fc_cache
    data = gan.load_data(c)
    fc = load_feature_classifier(c, data)
    assert fc.test_accuracy > 0.9
    ref = feature_metrics.feature_statistics(fc(gan.to_unit(data.test["image"]))[0])
    s = gan.real_data_sanity(fc, data, ref, 500, 0)
    recipe = gan.make_recipe(c, data)
    state = jax.device_get(recipe.init(loop.init_key(0)))
    sampler = gan.make_sampler(c, 10, 1)
    samples = sampler(state["ema"], state["gen"].model_state, jax.random.key(0), np.zeros(500, np.int32))
    init = feature_metrics.sample_quality(fc, samples, ref)
    assert s["fid_train_test"] * 20 < init["fid"]
    assert s["fid_train_test"] < s["fid_noise_0.1"] < s["fid_noise_0.2"] < s["fid_noise_0.4"]
    assert s["is_single_class"] < 1.2 and s["is_real"] > 8
    assert s["fid_single_class"] > 10 * s["fid_train_test"]
    # cached: a second load reads the same weights instead of training
    again = load_feature_classifier(c, data)
    np.testing.assert_array_equal(jax.tree.leaves(again.variables)[0], jax.tree.leaves(fc.variables)[0])


def test_dcgan_lowers_fid_and_resumes(tmp_path, fc_cache):
    c = tiny(eval_every=200)  # one FID evaluation besides step 0: CI time
    c.fid.cache_dir = fc_cache
    r = gan.train(c, tmp_path)
    assert r["fid"] < r["fid_init"] / 2 and r["inception_score"] > r["inception_score_init"]
    assert [s for s, _ in r["fid_curve"]] == [0, 200]
    assert (tmp_path / "plots" / "samples_000200.png").exists() and (tmp_path / "plots" / "fid.png").exists()
    again = gan.train(c, tmp_path)  # finished run: resumes, recomputes nothing
    assert again["fid"] == r["fid"]
    rows = [json.loads(l) for l in (tmp_path / "sample_quality.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [0, 200]


@pytest.mark.parametrize("loss,conditional", [("wgan_gp", False), ("hinge", True)])
def test_variants_train_finite(tmp_path, loss, conditional):
    c = tiny(steps=20)
    c.log_every = 10
    c.gan.loss = loss
    c.gan.conditional = conditional
    c.gan.d_steps = 2 if loss == "wgan_gp" else 1
    c.checkpoint_every = 0
    data = gan.load_data(c)
    _, metrics = loop.run(gan.make_recipe(c, data), c, tmp_path)
    rows = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["d_loss"]) and np.isfinite(r["g_loss"]) for r in rows if r["split"] == "train")


def test_wgan_gp_with_batchnorm_is_a_clear_error():
    c = tiny()
    c.gan.loss = "wgan_gp"
    c.gan.disc_norm = "batch"
    with pytest.raises(JaxmlError, match="gradient penalty"):
        gan.build_models(c, 10, 1)
