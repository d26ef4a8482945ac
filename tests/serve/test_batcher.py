"""The dynamic batcher and the request payloads, without a model: gathering, splitting, limits,
dropped callers, and one-line validation errors (numpy only, fast)."""

import asyncio
import base64

import numpy as np
import pytest

from jaxml.errors import JaxmlError
from jaxml.serve.batcher import Batcher, split_rows
from jaxml.serve.model import Signature, pad_rows, smallest_bucket
from jaxml.serve.options import ServeOptions, parse_buckets
from jaxml.serve.payload import RequestError, decode_inputs, encode_outputs, parse_json
from jaxml.serve.prometheus import Histogram, ServerMetrics


def double(x):
    return x * 2.0


def test_buckets_padding_and_splitting():
    assert [smallest_bucket(n, (1, 8, 32)) for n in (1, 2, 8, 9, 32)] == [1, 8, 8, 32, 32]
    with pytest.raises(ValueError):
        smallest_bucket(33, (1, 8, 32))
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    padded = pad_rows(x, 8)
    assert padded.shape == (8, 2) and (padded[:3] == x).all() and (padded[3:] == 0).all()
    parts = split_rows(np.arange(6), [1, 3, 2])
    assert [p.tolist() for p in parts] == [[0], [1, 2, 3], [4, 5]]


def test_concurrent_requests_share_batches_and_get_their_own_rows():
    sizes = [1, 3, 2, 1, 4, 1, 2, 2] * 4
    inputs = [np.full((n, 2), i, np.float32) for i, n in enumerate(sizes)]
    batches = []

    def run(x):
        assert len(x) <= 8
        return double(x)

    async def main():
        batcher = Batcher(run, max_batch=8, max_wait_s=0.05, on_batch=batches.append)
        batcher.start()
        outs = await asyncio.gather(*(batcher.submit(x) for x in inputs))
        await batcher.drain()
        return outs

    outs = asyncio.run(main())
    for x, out in zip(inputs, outs):
        np.testing.assert_array_equal(out, double(x))  # as one-by-one calls give
    assert sum(batches) == sum(sizes) and max(batches) <= 8
    assert np.mean(batches) > 1 and len(batches) < len(sizes)


def test_a_caller_that_gave_up_is_dropped_and_a_failure_reaches_every_request():
    ran = []

    async def main():
        batcher = Batcher(lambda x: ran.append(len(x)) or x, max_batch=4, max_wait_s=0.0)
        batcher.start()
        with pytest.raises(asyncio.TimeoutError):  # no event-loop turn before the deadline: never batched
            await asyncio.wait_for(batcher.submit(np.zeros((2, 1))), 0)
        out = await batcher.submit(np.ones((1, 1)))
        await batcher.drain()
        failing = Batcher(lambda x: 1 / 0, max_batch=4, max_wait_s=0.01)
        failing.start()
        results = await asyncio.gather(failing.submit(np.ones((1, 1))), failing.submit(np.ones((1, 1))),
                                       return_exceptions=True)
        await failing.drain()
        return out, results

    out, results = asyncio.run(main())
    assert out.tolist() == [[1.0]] and ran == [1]
    assert all(isinstance(r, ZeroDivisionError) for r in results)


def test_options_are_checked():
    assert ServeOptions(buckets=(32, 1, 8)).buckets == (1, 8, 32)
    assert ServeOptions(buckets=(1, 8)).max_batch == 8 and ServeOptions(buckets=(1, 8)).max_request_rows == 8
    assert parse_buckets("1, 8,32") == (1, 8, 32)
    for bad, match in (({"buckets": ()}, "--buckets"), ({"buckets": (0, 4)}, "--buckets"),
                       ({"max_batch": 200}, r"--max-batch must be in \[1, 128\]"),
                       ({"max_batch": 8, "max_request_rows": 9}, "--max-request-rows"),
                       ({"max_wait_ms": -1}, "--max-wait-ms"), ({"timeout_s": 0}, "--timeout-s")):
        with pytest.raises(JaxmlError, match=match):
            ServeOptions(**bad)
    with pytest.raises(JaxmlError, match="comma-separated"):
        parse_buckets("1,eight")


IMAGES = Signature((2, 2), np.dtype(np.uint8), (0, 255))
FEATURES = Signature((3,), np.dtype(np.float32), None)
TOKENS = Signature((4,), np.dtype(np.int32), (0, 9))


def refused(body, signature, max_rows=4):
    with pytest.raises(RequestError) as e:
        decode_inputs(body, signature, max_rows)
    assert "\n" not in e.value.message
    return e.value


def test_inputs_as_lists_and_base64_decode_to_the_model_dtype():
    x, wanted = decode_inputs({"inputs": [[[0, 255], [3, 4]]]}, IMAGES, 4)
    assert x.dtype == np.uint8 and x.shape == (1, 2, 2) and wanted == ("logits", "probabilities", "labels")
    raw = np.arange(8, dtype=np.uint8).reshape(2, 2, 2)
    b64 = {"b64": base64.b64encode(raw.tobytes()).decode(), "dtype": "uint8", "shape": [2, 2, 2]}
    y, wanted = decode_inputs({"inputs": b64, "return": ["labels"]}, IMAGES, 4)
    np.testing.assert_array_equal(y, raw)
    assert wanted == ("labels",)
    f, _ = decode_inputs({"inputs": [[1, 2.5, -3]]}, FEATURES, 4)
    assert f.dtype == np.float32 and f.tolist() == [[1.0, 2.5, -3.0]]


def test_bad_inputs_name_the_field_and_what_was_expected():
    e = refused({"inputs": [[1, 2, 3, 4]]}, IMAGES)
    assert (e.status, e.field) == (422, "inputs") and "expected shape [n, 2, 2] (uint8); got [1, 4]" in e.message
    assert "floating-point" in refused({"inputs": [[[0.5, 1], [2, 3]]]}, IMAGES).message
    assert "got NaN or infinite" in refused({"inputs": [[[float("nan"), 1], [2, 3]]]}, IMAGES).message
    assert "[0, 255]" in refused({"inputs": [[[0, 256], [2, 3]]]}, IMAGES).message
    assert "[0, 9]" in refused({"inputs": [[1, 2, 3, 10]]}, TOKENS).message
    assert "finite float32" in refused(parse_json(b'{"inputs": [[1, NaN, 2]]}'), FEATURES).message
    assert "finite" in refused({"inputs": [[1, float("inf"), 2]]}, FEATURES).message
    assert "rectangular" in refused({"inputs": [[1, 2], [3]]}, FEATURES).message
    assert "rectangular" in refused({"inputs": [["a", "b", "c"]]}, FEATURES).message
    assert "booleans" in refused({"inputs": [[True, False, True]]}, FEATURES).message
    assert "n >= 1" in refused({"inputs": []}, FEATURES).message
    assert refused({"inputs": [[0, 0, 0]] * 5}, FEATURES).status == 413
    assert refused({"input": [[0, 0, 0]]}, FEATURES).field == "input"
    assert refused({"inputs": [[0, 0, 0]], "return": ["scores"]}, FEATURES).field == "return"
    assert refused({"return": ["labels"]}, FEATURES).message.startswith("inputs is missing; expected a batch of shape")
    assert refused([1, 2], FEATURES).status == 422
    b64 = {"b64": base64.b64encode(b"\0" * 7).decode(), "dtype": "uint8", "shape": [2, 2, 2]}
    assert "7 bytes do not fill shape [2, 2, 2]" in refused({"inputs": b64}, IMAGES).message
    assert refused({"inputs": {**b64, "dtype": "complex64"}}, IMAGES).field == "inputs.dtype"
    assert refused({"inputs": {**b64, "b64": "%%%"}}, IMAGES).field == "inputs.b64"
    assert refused({"inputs": {"b64": "", "dtype": "uint8"}}, IMAGES).field == "inputs.shape"
    with pytest.raises(RequestError) as e:
        parse_json(b'{"inputs": [1,')
    assert e.value.status == 400 and "not valid JSON" in e.value.message


def test_outputs_and_metrics_text():
    logits = np.array([[0.0, 2.0], [3.0, 1.0]], np.float32)
    out = encode_outputs(logits, ("logits", "probabilities", "labels"), class_names=["a", "b"])
    assert out["labels"] == [1, 0] and out["label_names"] == ["b", "a"]
    np.testing.assert_allclose(np.sum(out["probabilities"], axis=1), 1.0, rtol=1e-6)
    assert set(encode_outputs(logits, ("labels",))) == {"labels"}
    h = Histogram((1, 8))
    for v in (1, 2, 8, 9):
        h.observe(v)
    assert h.lines("b") == ['b_bucket{le="1"} 1', 'b_bucket{le="8"} 3', 'b_bucket{le="+Inf"} 4', "b_sum 20",
                            "b_count 4"]
    m = ServerMetrics((1, 8))
    m.record_request("/v1/predict", 200, 0.003)
    m.record_batch(3)
    text = m.render({"jaxml_compilations_after_warmup": ("compiles", 0)})
    assert 'jaxml_requests_total{route="/v1/predict",status="200"} 1' in text
    assert "# TYPE jaxml_request_latency_seconds histogram" in text and "jaxml_compilations_after_warmup 0" in text
    assert m.mean_batch_rows() == 3
