"""The linear SVM (squared hinge, C form, regularised constant feature) against scikit-learn's LinearSVC
on random data, its optimality conditions, one-vs-rest vmapped against a loop, and random Fourier
features against the exact RBF kernel.

Why the tolerances hold: f is 1-strongly convex (the 0.5 ||w||^2 term), so for any w,
||w - w*|| <= ||grad f(w)|| and f(w) - f(w*) <= ||grad f(w)||^2 / 2. Both solutions are
scored by the same float64 f; jaxml stops at ||grad f|| <= 1e-8 ||grad f(0)||, LinearSVC runs at
tol=1e-10, so their objectives agree to ~1e-12 relative and their weights to within the sum of their
gradient norms.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxml.classic import svm


def blobs(seed, n=240, d=8, k=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = np.argmax(x @ rng.normal(size=(d, k)) + 0.7 * rng.normal(size=(n, k)), axis=1)  # overlapping classes
    return x, y.astype(np.int32)


def linear_svc(x, y, C, fit_intercept=True, intercept_scaling=1.0):
    from sklearn.svm import LinearSVC

    m = LinearSVC(C=C, loss="squared_hinge", dual=False, tol=1e-10, max_iter=100_000, fit_intercept=fit_intercept,
                  intercept_scaling=intercept_scaling).fit(x, y)
    w = m.coef_
    if fit_intercept:
        w = np.concatenate([w, (m.intercept_ / intercept_scaling)[:, None]], axis=1)
    return w


@pytest.mark.parametrize("C, fit_intercept, scaling", [(0.05, True, 1.0), (1.0, True, 1.0), (20.0, True, 3.0),
                                                        (1.0, False, 1.0)])
def test_objective_and_weights_match_linear_svc(C, fit_intercept, scaling):
    with jax.enable_x64(True):
        x, y = blobs(0)
        model = svm.fit(jnp.asarray(x), jnp.asarray(y), 3, C, fit_intercept=fit_intercept, intercept_scaling=scaling)
        ours = np.asarray(svm.weights(model, fit_intercept, scaling))
        ref = linear_svc(x, y, C, fit_intercept, scaling)
        x_aug = svm.augment(jnp.asarray(x), fit_intercept, scaling)
        targets = svm.one_vs_rest(jnp.asarray(y), 3, jnp.float64)
        for k in range(3):
            f = lambda w: svm.objective(w, x_aug, targets[k], C)
            f_ours, f_ref = float(f(jnp.asarray(ours[k]))), float(f(jnp.asarray(ref[k])))
            assert f_ours <= f_ref * (1 + 1e-10), (k, f_ours, f_ref)
            bound = float(jnp.linalg.norm(jax.grad(f)(jnp.asarray(ours[k])))
                          + jnp.linalg.norm(jax.grad(f)(jnp.asarray(ref[k]))))
            assert np.linalg.norm(ours[k] - ref[k]) <= bound + 1e-12, (k, bound)
        from sklearn.svm import LinearSVC
        sk = LinearSVC(C=C, dual=False, tol=1e-10, max_iter=100_000, fit_intercept=fit_intercept,
                       intercept_scaling=scaling).fit(x, y)
        np.testing.assert_allclose(np.asarray(svm.decision_function(model, jnp.asarray(x))), sk.decision_function(x),
                                   atol=1e-5)
        assert np.array_equal(np.asarray(svm.predict(model, jnp.asarray(x))), sk.predict(x))


def test_gradient_vanishes_at_the_solution():
    """KKT of the smooth problem: grad f(w) = w - 2 C sum_i y_i max(0, 1 - y_i w^T x~_i) x~_i = 0."""
    with jax.enable_x64(True):
        x, y = blobs(1)
        C = 2.0
        model = svm.fit(jnp.asarray(x), jnp.asarray(y), 3, C, tol=1e-9)
        assert np.all(np.asarray(model.grad_ratio) <= 1e-9) and np.all(np.asarray(model.n_iter) < 1000)
        w = svm.weights(model, True, 1.0)
        x_aug = svm.augment(jnp.asarray(x), True, 1.0)
        targets = svm.one_vs_rest(jnp.asarray(y), 3, jnp.float64)
        for k in range(3):
            slack = jnp.maximum(1 - targets[k] * (x_aug @ w[k]), 0)
            grad = w[k] - 2 * C * x_aug.T @ (targets[k] * slack)
            g0 = jnp.linalg.norm(2 * C * x_aug.T @ targets[k])  # ||grad f(0)||
            assert float(jnp.linalg.norm(grad)) <= 1e-9 * float(g0) * 1.01
            assert float(jnp.sum(slack > 0)) > 0  # a non-trivial problem: some margins are violated


def test_binary_problem_is_linear_svc_binary_classifier():
    """Two classes: sklearn fits one classifier (class 1 positive); one-vs-rest's two are w and -w."""
    with jax.enable_x64(True):
        x, y = blobs(2, k=2)
        model = svm.fit(jnp.asarray(x), jnp.asarray(y), 2, 0.5)
        w = np.asarray(svm.weights(model, True, 1.0))
        np.testing.assert_allclose(w[0], -w[1], atol=1e-7)
        np.testing.assert_allclose(w[1], linear_svc(x, y, 0.5)[0], atol=1e-6)


def test_one_vs_rest_vmapped_equals_a_loop_over_classes():
    with jax.enable_x64(True):
        x, y = blobs(3, k=4)
        model = svm.fit(jnp.asarray(x), jnp.asarray(y), 4, 1.0)
        x_aug = svm.augment(jnp.asarray(x), True, 1.0)
        for k in range(4):
            w, n_iter, _ = jax.jit(svm.solve, static_argnums=(3, 4))(
                x_aug, jnp.where(jnp.asarray(y) == k, 1.0, -1.0), 1.0, 1e-8, 1000)
            np.testing.assert_allclose(np.asarray(svm.weights(model, True, 1.0))[k], np.asarray(w), rtol=1e-9,
                                       atol=1e-11)
            assert int(model.n_iter[k]) == int(n_iter)


def test_float32_fit_predicts_like_float64():
    x, y = blobs(4)
    model32 = svm.fit(jnp.asarray(x, jnp.float32), jnp.asarray(y), 3, 1.0, tol=1e-5)
    with jax.enable_x64(True):
        model64 = svm.fit(jnp.asarray(x), jnp.asarray(y), 3, 1.0)
        pred64 = np.asarray(svm.predict(model64, jnp.asarray(x)))
    assert model32.coef.dtype == jnp.float32
    assert np.mean(np.asarray(svm.predict(model32, jnp.asarray(x, jnp.float32))) == pred64) >= 0.99


def test_random_fourier_features_approximate_the_rbf_kernel_at_one_over_sqrt_d():
    """Mean |z(x)^T z(x') - k(x, x')| over 60 x 60 pairs, averaged over 4 draws, shrinks like 1/sqrt(D):
    quadrupling D halves it (each entry is a mean of D i.i.d. terms of variance O(1))."""
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(60, 5)), jnp.float32)
    gamma = 0.1
    exact = svm.rbf_kernel(x, x, gamma)
    errors = []
    for d in (100, 400, 1600, 6400):
        errs = []
        for seed in range(4):
            rff = svm.random_fourier_features(jax.random.key(seed), 5, d, gamma)
            z = svm.rff_transform(rff, x)
            errs.append(float(jnp.mean(jnp.abs(z @ z.T - exact))))
        errors.append(np.mean(errs))
    errors = np.array(errors)
    ratios = errors[:-1] / errors[1:]
    assert np.all((ratios > 1.6) & (ratios < 2.5)), (errors, ratios)
    assert errors[-1] < 0.02
    scaled = errors * np.sqrt([100, 400, 1600, 6400])
    assert scaled.max() / scaled.min() < 1.3, scaled


def test_rff_weights_have_the_rbf_spectral_density():
    rff = svm.random_fourier_features(jax.random.key(0), 20, 5000, 0.3)
    assert abs(float(jnp.std(rff.weights)) - np.sqrt(0.6)) < 0.01 and abs(float(jnp.mean(rff.weights))) < 0.01
    b = np.asarray(rff.offsets)
    assert b.min() >= 0 and b.max() <= 2 * np.pi and abs(b.mean() - np.pi) < 0.1


def test_kernels_are_registry_values():
    x = jnp.ones((3, 4))
    make = lambda name: svm.KERNELS[name].make(jax.random.key(0), x, num_features=2, gamma=1.0, dtype=jnp.float32)
    assert svm.KERNELS["linear"].apply(make("linear"), x) is x
    assert svm.KERNELS["rbf"].apply(make("rbf"), x).shape == (3, 2)
    assert svm.KERNELS["nystroem"].apply(make("nystroem"), x).shape == (3, 2)


def test_nystroem_is_exact_on_its_landmarks_and_improves_with_more():
    with jax.enable_x64(True):
        x = jnp.asarray(np.random.default_rng(1).normal(size=(80, 5)))
        gamma = 0.1
        exact = svm.rbf_kernel(x, x, gamma)
        every = svm.nystroem(jax.random.key(0), x, num_features=80, gamma=gamma, dtype=jnp.float64)
        z = svm.nystroem_transform(every, x)
        np.testing.assert_allclose(np.asarray(z @ z.T), np.asarray(exact), atol=1e-6)
        errors = [float(jnp.mean(jnp.abs(z @ z.T - exact))) for z in (
            svm.nystroem_transform(svm.nystroem(jax.random.key(0), x, num_features=m, gamma=gamma,
                                                dtype=jnp.float64), x) for m in (5, 20, 60))]
        assert errors[0] > errors[1] > errors[2], errors


@pytest.mark.parametrize("args, needle", [
    (dict(kernel="poly"), "kernel='poly' is not valid; choose one of linear, rbf"),
    (dict(C=0.0), "C must be > 0"),
    (dict(C=-1.0), "C must be > 0"),
    (dict(gamma=0.0), "gamma must be > 0"),
    (dict(num_features=0), "num_features must be an int >= 1"),
    (dict(kernel="nystroem", num_features=11), "num_features=11 must be <= the number of training points (10) for kernel 'nystroem'"),
    (dict(tol=0.0), "tol must be > 0"),
    (dict(max_iter=0), "max_iter must be an int >= 1"),
])
def test_check_args_names_the_key(args, needle):
    from jaxml.errors import JaxmlError

    kwargs = dict(kernel="rbf", C=1.0, gamma=0.1, num_features=10, tol=1e-6, max_iter=10, num_points=10) | args
    with pytest.raises(JaxmlError, match="svm." + needle.replace("(", r"\(").replace(")", r"\)")):
        svm.check_args(prefix="svm.", **kwargs)
