"""The real command: `jaxml serve WORKDIR --port P` in a subprocess (one server for the module, on the tiny
character GPT's workdir: it answers both /v1/predict and /v1/generate), called over HTTP with httpx:

- the served next-character logits of the validation windows give `jaxml eval`'s val_loss;
- 200 concurrent predictions are all answered as the same windows are answered alone, in batches of
  more than one request (mean batch rows > 1 on /metrics), with no compilation after warm-up;
- malformed JSON, a wrong shape, a wrong dtype, NaN, an oversized body and an unknown route are each
  the right 4xx with a one-line message, and the server keeps serving;
- /v1/generate at temperature 0 equals `lm.generate`'s greedy decode token for token, as JSON and as
  a stream of server-sent events (one event per token, then `done`);
- last: a SIGTERM while requests wait in an open batch answers every accepted one, then exits 0.

Serving a classifier (and an exported artifact) is tested in process (test_serve_app.py)."""

import asyncio
import json
import signal
import socket
import subprocess
import threading
import time

import httpx2
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import cli_env, jaxml_cmd
from jaxml.core import config as config_lib
from jaxml.methods import lm

from tiny_workdir import served_tiny_lm, shared, untrained_lm_workdir

WAIT_MS = 2000  # the batch wait budget: long enough to hold requests in an open batch at the SIGTERM


# one worker runs the module in order: one server process, and the SIGTERM test last
pytestmark = pytest.mark.xdist_group("serve_process")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(proc, url: str, seconds: float = 180) -> None:
    deadline = time.time() + seconds
    while True:
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        try:
            if httpx2.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        assert time.time() < deadline, f"the server did not answer /healthz within {seconds} s"
        time.sleep(0.2)


def gauge(client, name: str) -> float:
    return float(client.get("/metrics").text.split(f"\n{name} ")[-1].split()[0])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = shared(untrained_lm_workdir, tmp_path_factory)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(jaxml_cmd("serve", str(workdir), "--port", str(port), "--buckets", "1,32",
                                      "--max-wait-ms", str(WAIT_MS), "--max-body-mb", "1"),
                            env=cli_env(1), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_healthy(proc, url)
        with httpx2.Client(base_url=url, timeout=60) as client:
            yield {"proc": proc, "url": url, "client": client, "workdir": workdir}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.fixture(scope="module")
def reference(server, tmp_path_factory):
    """In process, on the same checkpoint: `jaxml eval`'s metrics, the validation windows, the decoder
    (restored in process for test_generate.py too)."""
    workdir = server["workdir"]
    config = config_lib.from_json((workdir / "config.json").read_text())
    return {"eval": lm.evaluate(config, workdir), "val": np.asarray(lm.load_data(config).val["tokens"]),
            "generator": served_tiny_lm(tmp_path_factory).generator}


def mean_nll(logits: np.ndarray, targets: np.ndarray) -> float:
    z = logits.astype(np.float64)
    z = z - z.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return float(-np.take_along_axis(logp, targets[..., None], -1).mean())


@pytest.fixture(scope="module")
def served_eval_batch(server, reference):
    """The served logits of the validation windows, sent as one request (the eval batch)."""
    val = reference["val"]
    r = server["client"].post("/v1/predict", json={"inputs": val[:, :-1].tolist(), "return": ["logits"]})
    assert r.status_code == 200, r.text
    server["val_labels"] = np.asarray(r.json()["logits"]).argmax(-1)
    return np.asarray(r.json()["logits"])


def test_served_logits_give_jaxml_evals_val_loss(reference, served_eval_batch):
    val, logits = reference["val"], served_eval_batch
    assert 1 < len(val) <= 32
    assert logits.shape == (len(val), val.shape[1] - 1, reference["generator"].tokenizer.vocab_size)
    np.testing.assert_allclose(mean_nll(logits, val[:, 1:]), reference["eval"]["val_loss"], rtol=1e-5)


def test_200_concurrent_requests_are_batched_and_answered_correctly(server, reference, served_eval_batch):
    val, labels = reference["val"], server["val_labels"]
    picks = np.random.default_rng(0).integers(0, len(val), 200)

    async def main():
        async with httpx2.AsyncClient(base_url=server["url"], timeout=60,
                                      limits=httpx2.Limits(max_connections=200)) as client:
            return await asyncio.gather(*(client.post("/v1/predict", json={"inputs": val[i: i + 1, :-1].tolist(),
                                                                           "return": ["labels"]}) for i in picks))

    answers = asyncio.run(main())
    for i, r in zip(picks, answers):
        assert r.status_code == 200, r.text
        assert r.json()["labels"] == labels[i: i + 1].tolist()  # as the window was answered in the eval batch
    client = server["client"]
    assert gauge(client, "jaxml_mean_batch_rows") > 1
    assert gauge(client, "jaxml_compilations_after_warmup") == 0


def test_mistakes_are_one_line_4xx_over_http_and_the_server_keeps_serving(server, reference):
    client, window = server["client"], reference["val"][:1, :-1]
    with_nan = window.astype(float)
    with_nan[0, 5] = np.nan
    post = lambda body: client.post("/v1/predict", content=body, headers={"content-type": "application/json"})
    cases = [(post(b'{"inputs": [[1, 2'), 400, "not valid JSON"),
             (post(json.dumps({"inputs": window[:, :10].tolist()}).encode()), 422, "expected shape [n, 64] (int32)"),
             (post(json.dumps({"inputs": (window + 0.5).tolist()}).encode()), 422, "floating-point values"),
             (post(json.dumps({"inputs": with_nan.tolist()}).encode()), 422, "NaN or infinite values"),
             (post(b"[" + b"1," * 600_000 + b"1]"), 413, "exceeds the limit of 1048576 bytes"),
             (client.get("/v1/nothing"), 404, "no route /v1/nothing"),
             (client.post("/v1/generate", json={"prompt": "def ", "top_k": -1}), 422, "top_k must be an int")]
    for r, status, text in cases:
        assert r.status_code == status, (status, r.text)
        message = r.json()["error"]["message"]
        assert text in message and "\n" not in message and "Traceback" not in r.text, (status, message)
    assert client.post("/v1/predict", json={"inputs": window.tolist(), "return": ["labels"]}).status_code == 200
    assert client.get("/healthz").json()["status"] == "ok"


def test_generation_over_http_equals_the_greedy_decode_as_json_and_as_a_stream(server, reference):
    decoding, client = reference["generator"], server["client"]
    prompt = "import os\nimport sys\n\n\nclass Reader(object):\n"  # prefilled in chunks of 32, 8 and 1
    n = decoding.cfg.max_len - len(prompt)
    toks, _ = lm.generate(decoding.cfg, decoding.params, jnp.asarray(decoding.tokenizer.encode(prompt))[None], n,
                          jax.random.key(0), temperature=0.0)
    expected = np.asarray(toks[0]).tolist()
    body = client.post("/v1/generate", json={"prompt": prompt, "max_tokens": n, "temperature": 0}).json()
    assert body["tokens"] == expected and body["text"] == decoding.tokenizer.decode(expected)
    events = []
    with client.stream("POST", "/v1/generate", json={"prompt": prompt, "max_tokens": n, "stream": True}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[len("data: "):])))
    assert [e for e, _ in events] == ["token"] * n + ["done"]
    assert [d["token"] for _, d in events[:-1]] == expected == events[-1][1]["tokens"]
    assert gauge(client, "jaxml_compilations_after_warmup") == 0


def test_a_sigterm_loses_no_accepted_request(server, reference, served_eval_batch):
    """Last in the module: it stops the shared server."""
    proc, client, val, labels = server["proc"], server["client"], reference["val"], server["val_labels"]
    answers = {}

    def ask(i):
        answers[i] = client.post("/v1/predict", json={"inputs": val[i: i + 1, :-1].tolist(), "return": ["labels"]})

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    deadline = time.time() + WAIT_MS / 1000 * 0.9
    while gauge(client, "jaxml_requests_in_flight") < 12:  # every request accepted and waiting in the open batch
        assert time.time() < deadline, "the requests did not all arrive within the wait budget"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(timeout=60)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err and "serve: stopped" in err
    assert sorted(answers) == list(range(12))
    for i, r in answers.items():
        assert r.status_code == 200, r.text
        assert r.json()["labels"] == labels[i: i + 1].tolist()
