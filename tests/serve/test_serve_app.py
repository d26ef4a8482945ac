"""The serving app on a tiny trained MLP, in process (Starlette's TestClient): predictions equal the
model's own outputs (workdir and artifact) and give `jaxml eval`'s test accuracy, /v1/generate is a
404 for a classifier, /v1/models, /healthz, /metrics, 4xx errors that keep the
server serving, concurrent requests batched with no compilation after warm-up, the request timeout."""

import base64
import concurrent.futures
import copy
import json
import time

import numpy as np
import pytest
from starlette.testclient import TestClient

from jaxml.core import config as config_lib
from jaxml.methods import classify, export
from jaxml.serve.app import build_app
from jaxml.serve.model import compile_count, load_model
from jaxml.serve.options import ServeOptions

from tiny_workdir import train_tiny_classifier

BUCKETS = (1, 8, 32)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_tiny_classifier(tmp_path_factory.mktemp("serve") / "mlp")


@pytest.fixture(scope="module")
def served(trained):
    return load_model(trained[0], BUCKETS)


def client_for(model, **options):
    return TestClient(build_app(model, ServeOptions(buckets=BUCKETS, **options)), raise_server_exceptions=False)


def test_predict_equals_the_model_outputs(trained, served):
    workdir, fn, images = trained
    expected = np.asarray(fn(images[:5]))
    with client_for(served) as client:
        r = client.post("/v1/predict", json={"inputs": images[:5].tolist()})
        assert r.status_code == 200, r.text
        body = r.json()
        np.testing.assert_allclose(body["logits"], expected, rtol=1e-5, atol=1e-5)
        assert body["labels"] == expected.argmax(-1).tolist()
        assert body["label_names"] == [str(i) for i in body["labels"]]
        np.testing.assert_allclose(np.sum(body["probabilities"], axis=1), 1.0, rtol=1e-5)
        b64 = {"b64": base64.b64encode(images[5:7].tobytes()).decode(), "dtype": "uint8", "shape": [2, 8, 8, 1]}
        r = client.post("/v1/predict", json={"inputs": b64, "return": ["labels"]})
        assert r.status_code == 200 and set(r.json()) == {"model", "version", "labels", "label_names"}
        assert r.json()["labels"] == np.asarray(fn(images[5:7])).argmax(-1).tolist()


def test_served_labels_give_jaxml_evals_test_accuracy(trained, served):
    """The whole test split through /v1/predict (in requests of up to 32 rows): its accuracy is the one
    `jaxml eval` computes from the same checkpoint."""
    workdir = trained[0]
    config = config_lib.from_json((workdir / "config.json").read_text())
    test = classify.load_data(config).test
    images, labels = np.asarray(test["image"]), np.asarray(test["label"])
    with client_for(served) as client:
        predicted = np.concatenate([client.post("/v1/predict", json={"inputs": images[i: i + 32].tolist(),
                                                                      "return": ["labels"]}).json()["labels"]
                                    for i in range(0, len(images), 32)])
        r = client.post("/v1/generate", json={"prompt": "def "})
    assert r.status_code == 404 and "does not generate text" in r.json()["error"]["message"]
    np.testing.assert_allclose(np.mean(predicted == labels), classify.evaluate(config, workdir)["test_accuracy"],
                               rtol=0, atol=1e-9)


def test_models_healthz_and_metrics(trained, served):
    with client_for(served) as client:
        assert client.get("/healthz").json() == {"status": "ok", "model": served.info["name"]}
        (info,) = client.get("/v1/models").json()["models"]
        assert info["input"] == {"shape": ["n", 8, 8, 1], "dtype": "uint8", "range": [0, 255]}
        assert info["version"] == "step-40" and info["method"] == "classify" and info["buckets"] == list(BUCKETS)
        assert 0 <= info["metrics"]["test_accuracy"] <= 1 and info["class_names"][:2] == ["0", "1"]
        compiles = client.get("/metrics").text.split("jaxml_compilations_after_warmup ")[-1].split()[0]
        client.post("/v1/predict", json={"inputs": trained[2][:1].tolist()})
        text = client.get("/metrics").text
    assert 'jaxml_requests_total{route="/v1/predict",status="200"} 1' in text
    assert 'jaxml_batch_rows_bucket{le="1"} 1' in text and 'jaxml_batch_rows_bucket{le="+Inf"} 1' in text
    assert f"jaxml_compilations_after_warmup {compiles}\n" in text  # a prediction compiles nothing


def test_mistakes_are_one_line_4xx_and_the_server_keeps_serving(trained, served):
    image = trained[2][:1].tolist()
    with_nan = np.asarray(image, np.float64)
    with_nan[0, 3, 4, 0] = np.nan
    with_nan = with_nan.tolist()  # json.dumps writes NaN, which Python's JSON reader (the server's) accepts
    with client_for(served, max_body_bytes=4096, max_request_rows=4) as client:
        cases = [
            (client.post("/v1/predict", content=b'{"inputs": [1,', headers={"content-type": "application/json"}),
             400, "not valid JSON"),
            (client.post("/v1/predict", json={"inputs": [[1, 2, 3]]}), 422, "expected shape [n, 8, 8, 1] (uint8)"),
            (client.post("/v1/predict", json={"inputs": (np.asarray(image) / 2).tolist()}), 422, "floating-point"),
            (client.post("/v1/predict", content=json.dumps({"inputs": with_nan}).encode()), 422,
             "expected integers (uint8) in [0, 255]; got NaN or infinite values"),
            (client.post("/v1/predict", json={"inputs": (np.asarray(image, np.int64) + 300).tolist()}), 422,
             "[0, 255]"),
            (client.post("/v1/predict", content=b"[" + b"0," * 5000 + b"0]"), 413, "exceeds the limit of 4096"),
            (client.post("/v1/predict", json={"inputs": image * 5}), 413, "limit of 4 per request"),
            (client.get("/v1/nothing"), 404, "no route /v1/nothing"),
            (client.get("/v1/predict"), 405, "GET is not allowed"),
        ]
        for r, status, text in cases:
            assert r.status_code == status, (status, r.text)
            message = r.json()["error"]["message"]
            assert text in message and "\n" not in message and "Traceback" not in r.text, (status, message)
        assert client.post("/v1/predict", json={"inputs": image}).status_code == 200
        assert client.get("/healthz").status_code == 200


def test_concurrent_requests_are_batched_without_recompiling(trained, served):
    _, fn, images = trained
    before = compile_count()
    sizes = [1, 2, 3] * 12
    starts = np.cumsum([0] + sizes[:-1]) % (len(images) - 3)
    with client_for(served, max_wait_ms=50) as client:
        def ask(i):
            x = images[starts[i]: starts[i] + sizes[i]]
            return client.post("/v1/predict", json={"inputs": x.tolist(), "return": ["logits"]})

        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(ask, range(len(sizes))))
        metrics = client.app.state.metrics
    assert compile_count() == before  # every batch ran one of the warmed bucket programs
    for i, r in enumerate(answers):
        assert r.status_code == 200, r.text
        one_by_one = np.asarray(fn(images[starts[i]: starts[i] + sizes[i]]))
        np.testing.assert_allclose(r.json()["logits"], one_by_one, rtol=1e-5, atol=1e-5)
    assert metrics.batch_rows.sum == sum(sizes) and metrics.mean_batch_rows() > 1


def test_a_slow_answer_is_a_504(trained, served):
    slow = copy.copy(served)
    slow.run = lambda x: (time.sleep(0.5), served.run(x))[1]
    with client_for(slow, timeout_s=0.05) as client:
        r = client.post("/v1/predict", json={"inputs": trained[2][:1].tolist()})
    assert r.status_code == 504 and "no answer within 0.05 s (--timeout-s)" in r.json()["error"]["message"]


def test_an_exported_artifact_serves_the_same_outputs(trained, served, tmp_path):
    workdir, fn, images = trained
    out = export.export_workdir(workdir, "jax", tmp_path / "export")
    artifact = load_model(out, (1, 8))
    assert artifact.info["source"] == "artifact" and artifact.info["version"].startswith("sha256-")
    with client_for(artifact) as client:
        r = client.post("/v1/predict", json={"inputs": images[:3].tolist()})
    np.testing.assert_allclose(r.json()["logits"], np.asarray(fn(images[:3])), rtol=1e-5, atol=1e-5)
