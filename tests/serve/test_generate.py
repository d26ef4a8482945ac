"""`POST /v1/generate` on a tiny character GPT (its initial parameters), in process: with temperature 0 the served tokens
equal `lm.generate`'s greedy decode token for token (prompts that use every prefill chunk); streaming
sends each token as its own event as soon as its step has run (before the next step); top-k 1 is
greedy, a seed reproduces a sample, a stop string ends the text; mistakes are one-line 4xx naming the
field; nothing compiles after warm-up (a classifier's 404 on /v1/generate: test_serve_app.py)."""

import asyncio
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from starlette.testclient import TestClient

from jaxml.methods import lm
from jaxml.serve.app import build_app
from jaxml.serve.generation import prompt_chunks
from jaxml.serve.model import compile_count
from jaxml.serve.options import ServeOptions

from tiny_workdir import served_tiny_lm

PROMPT = "import os\nimport sys\n\n\nclass Reader(object):\n"  # 45 characters: prefilled in chunks 32 + 8 + 5 x 1


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    return served_tiny_lm(tmp_path_factory)


def client_for(model, **options):
    return TestClient(build_app(model, ServeOptions(buckets=(1,), **options)), raise_server_exceptions=False)


def greedy(tiny_lm, prompt: str, n: int) -> list[int]:
    g = tiny_lm.generator
    ids = jnp.asarray(g.tokenizer.encode(prompt))[None]
    toks, _ = lm.generate(g.cfg, g.params, ids, n, jax.random.key(0), temperature=0.0)
    return np.asarray(toks[0]).tolist()


@pytest.fixture(scope="module")
def expected(tiny_lm):
    """The in-process greedy decode of PROMPT to the end of the context (its prefixes are the greedy
    decodes of fewer tokens)."""
    return greedy(tiny_lm, PROMPT, tiny_lm.generator.max_len - len(PROMPT))


def test_greedy_generation_equals_the_in_process_decode(tiny_lm, expected):
    served = tiny_lm
    g = served.generator
    assert prompt_chunks(len(PROMPT), g.chunks) == [32, 8] + [1] * 5
    first = expected[:12]
    before = compile_count()
    with client_for(served) as client:
        for n in (len(expected), 12, 1):
            r = client.post("/v1/generate", json={"prompt": PROMPT, "max_tokens": n, "temperature": 0})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["tokens"] == expected[:n]
            assert body["text"] == g.tokenizer.decode(body["tokens"])
            assert body["finish_reason"] == "length" and body["usage"] == {"prompt_tokens": len(PROMPT),
                                                                           "completion_tokens": n}
        # another prompt length (4 = 4 x 1 chunks) runs the same programs
        assert client.post("/v1/generate", json={"prompt": "def ", "max_tokens": 60}).status_code == 200
        # top-k 1 at any temperature is the argmax; a seed reproduces a sample
        top1 = client.post("/v1/generate", json={"prompt": PROMPT, "max_tokens": 12, "temperature": 1.5,
                                                 "top_k": 1, "seed": 3}).json()
        assert top1["tokens"] == first
        sampled = [client.post("/v1/generate", json={"prompt": PROMPT, "max_tokens": 12, "temperature": 1.0,
                                                     "seed": 7}).json()["tokens"] for _ in range(2)]
        assert sampled[0] == sampled[1]
        assert all(0 <= t < g.tokenizer.vocab_size for t in sampled[0])
        stop = g.tokenizer.decode(first[3:5])
        cut = client.post("/v1/generate", json={"prompt": PROMPT, "max_tokens": 12, "stop": stop}).json()
        decoded = g.tokenizer.decode(first)
        assert cut["finish_reason"] == "stop" and cut["text"] == decoded[: decoded.index(stop)]
        (info,) = client.get("/v1/models").json()["models"]
        assert info["generate"] == {"max_len": g.max_len, "vocab_size": g.tokenizer.vocab_size}
    assert compile_count() == before  # every prompt length and setting ran the warmed programs


def asgi_call(app, path: str, body: dict):
    """Runs one request through the ASGI app directly; returns the `send` messages with, for each, the
    tokens the server had generated when it was sent."""
    incoming = [{"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}]
    sent = []

    async def main():
        async with app.router.lifespan_context(app):
            done = asyncio.Event()

            async def receive():
                if incoming:
                    return incoming.pop()
                await done.wait()
                return {"type": "http.disconnect"}

            async def send(message):
                sent.append((message, app.state.generated["tokens"]))
                if message["type"] == "http.response.body" and not message.get("more_body", False):
                    done.set()

            scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                     "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                     "headers": [(b"content-type", b"application/json")], "client": ("t", 1), "server": ("t", 80)}
            await app(scope, receive, send)

    asyncio.run(main())
    return sent


def test_streaming_sends_each_token_as_its_step_finishes(tiny_lm, expected):
    served = tiny_lm
    app = build_app(served, ServeOptions(buckets=(1,)))
    prompt, n = PROMPT, 10
    sent = asgi_call(app, "/v1/generate", {"prompt": prompt, "max_tokens": n, "stream": True})
    start = sent[0][0]
    assert start["type"] == "http.response.start" and start["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in start["headers"]
    chunks = [(m["body"].decode(), made) for m, made in sent[1:] if m.get("body")]
    events = [(text.split("\n")[0], json.loads(text.split("\n")[1][len("data: "):]), made) for text, made in chunks]
    tokens = [e for e in events if e[0] == "event: token"]
    assert len(tokens) == n and events[-1][0] == "event: done" and len(events) == n + 1
    # token i was on the wire while the server had generated i + 1 tokens: sent before the next step ran
    assert [made for _, _, made in tokens] == list(range(1, n + 1))
    assert [d["index"] for _, d, _ in tokens] == list(range(n))
    done = events[-1][1]
    assert [d["token"] for _, d, _ in tokens] == done["tokens"] == expected[:n]
    assert "".join(d["text"] for _, d, _ in tokens) == done["text"]


def test_generation_mistakes_are_one_line_4xx(tiny_lm):
    served = tiny_lm
    room = served.generator.max_len - 4
    vocab = served.generator.tokenizer.vocab_size
    with client_for(served) as client:
        cases = [({"prompt": ""}, "prompt", "non-empty string"),
                 ({"prompt": "\u00e9t\u00e9"}, "prompt", "not in the tokenizer's vocabulary"),
                 ({"prompt": "x" * served.generator.max_len}, "prompt", "leave room"),
                 ({"prompt": "def ", "max_tokens": room + 1}, "max_tokens", f"an int in [1, {room}]"),
                 ({"prompt": "def ", "max_tokens": 2.5}, "max_tokens", "an int"),
                 ({"prompt": "def ", "temperature": -1}, "temperature", "in [0, 100]"),
                 ({"prompt": "def ", "temperature": "hot"}, "temperature", "a number"),
                 ({"prompt": "def ", "top_k": vocab + 1}, "top_k", f"in [0, {vocab}]"),
                 ({"prompt": "def ", "seed": -1}, "seed", "seed must be"),
                 ({"prompt": "def ", "stream": "yes"}, "stream", "true or false"),
                 ({"prompt": "def ", "stop": ""}, "stop", "non-empty"),
                 ({"prompt": "def ", "tokens": 3}, "tokens", "unknown field 'tokens'"),
                 (["def "], None, "JSON object")]
        for body, field, text in cases:
            r = client.post("/v1/generate", json=body)
            assert r.status_code == 422, (body, r.text)
            error = r.json()["error"]
            assert error["field"] == field and text in error["message"] and "\n" not in error["message"], error
        bad = client.post("/v1/generate", content=b'{"prompt": ', headers={"content-type": "application/json"})
        assert bad.status_code == 400
        assert client.post("/v1/generate", json={"prompt": "def ", "max_tokens": 2}).status_code == 200
