"""The HTTP API (Starlette): `POST /v1/predict`, `POST /v1/generate`, `GET /v1/models`, `GET /healthz`,
`GET /metrics`.

`/v1/generate` (language models) runs the model's `generation.Generator` one step at a time on one
generation thread (the steps of concurrent requests interleave there; a generation is not batched
with others). With `"stream": true` the answer is server-sent events: one `event: token` per new
token as soon as its step has run, then one `event: done` with the whole answer (or `event: error`).

Every error is JSON `{"error": {"field": ..., "message": ...}}` with a 4xx status (5xx for the
server's own failures) and a one-line message; no stack trace reaches a client. Bodies above
`max_body_bytes` and requests of more than `max_request_rows` rows are 413; a request not answered
within `timeout_s` is 504; once shutdown has begun new predictions are 503 while the accepted ones
finish.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import time

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route

from jaxml.serve.batcher import Batcher
from jaxml.serve.model import ServedModel, compile_count
from jaxml.serve.options import ServeOptions
from jaxml.serve.payload import (GenerateRequest, RequestError, decode_generate, decode_inputs, encode_outputs,
                                 parse_json)
from jaxml.serve.prometheus import ServerMetrics

log = logging.getLogger("jaxml")


def error_response(status: int, field: str | None, message: str) -> JSONResponse:
    return JSONResponse(RequestError(status, field, message).body(), status_code=status)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it (or its declared Content-Length) passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, None, f"the body of {int(declared)} bytes exceeds the limit of {limit} bytes "
                                      f"(--max-body-mb)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, None, f"the body exceeds the limit of {limit} bytes (--max-body-mb)")
        chunks.append(chunk)
    return b"".join(chunks)


class MetricsMiddleware:
    """Counts every response by route (unknown paths as "other") and status, and its latency."""

    def __init__(self, app, metrics: ServerMetrics, routes: set[str]):
        self.app, self.metrics, self.routes = app, metrics, routes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status = time.perf_counter(), {"code": 500}

        async def send_and_note(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope["path"] if scope["path"] in self.routes else "other"
            self.metrics.record_request(route, status["code"], time.perf_counter() - start)


def sse(event: str, data: dict) -> bytes:
    """One server-sent event (the data on one line)."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


class Generation:
    """One `/v1/generate` request: its tokens, each step run on `executor`, and the answer's body."""

    def __init__(self, model: ServedModel, request: GenerateRequest, executor, counter: dict):
        self.model, self.request, self.executor, self.counter = model, request, executor, counter
        self.ids: list[int] = []
        self.text = ""
        self.finish_reason = "length"

    async def pieces(self):
        """(token id, its text) as each step finishes, until max_tokens or the stop string (which, with
        the rest of its token, is left out of the text; `ids` keeps every generated token)."""
        loop = asyncio.get_running_loop()
        steps = self.model.generator.tokens(self.request)
        decode, stop = self.model.generator.tokenizer.decode, self.request.stop
        while (token := await loop.run_in_executor(self.executor, next, steps, None)) is not None:
            piece = decode([token])
            self.ids.append(token)
            self.counter["tokens"] += 1
            text = self.text + piece
            if stop and (cut := text.find(stop, max(0, len(self.text) - len(stop) + 1))) >= 0:
                self.text, self.finish_reason = text[:cut], "stop"
                return
            self.text = text
            yield token, piece

    def answer(self) -> dict:
        return {"model": self.model.info["name"], "version": self.model.info["version"], "text": self.text,
                "tokens": self.ids, "finish_reason": self.finish_reason,
                "usage": {"prompt_tokens": len(self.request.prompt_ids), "completion_tokens": len(self.ids)}}


def build_app(model: ServedModel, options: ServeOptions) -> Starlette:
    metrics = ServerMetrics(model.buckets)
    batcher = Batcher(model.run, options.max_batch, options.max_wait_ms / 1000.0, on_batch=metrics.record_batch)
    state = {"closing": False}
    generated = {"tokens": 0}
    generation_thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="jaxml-generate")

    async def healthz(request: Request):
        if state["closing"]:
            return JSONResponse({"status": "shutting down"}, status_code=503)
        return JSONResponse({"status": "ok", "model": model.info["name"]})

    async def models(request: Request):
        return JSONResponse({"models": [model.describe()]})

    async def predict(request: Request):
        if state["closing"]:
            return error_response(503, None, "the server is shutting down; retry on another replica")
        try:
            body = parse_json(await read_body(request, options.max_body_bytes))
            inputs, wanted = decode_inputs(body, model.signature, options.max_request_rows)
        except RequestError as e:
            return JSONResponse(e.body(), status_code=e.status)
        try:
            outputs = await asyncio.wait_for(batcher.submit(inputs), options.timeout_s)
        except asyncio.TimeoutError:
            return error_response(504, None, f"no answer within {options.timeout_s:g} s (--timeout-s)")
        return JSONResponse({"model": model.info["name"], "version": model.info["version"],
                             **encode_outputs(outputs, wanted, model.meta.get("class_names"))})

    async def generate(request: Request):
        if model.generator is None:
            return error_response(404, None, f"{model.info['name']} ({model.info['method']}) does not generate "
                                             f"text; /v1/generate serves a language model's workdir (method lm)")
        if state["closing"]:
            return error_response(503, None, "the server is shutting down; retry on another replica")
        try:
            body = parse_json(await read_body(request, options.max_body_bytes))
            wanted = decode_generate(body, model.generator.tokenizer, model.generator.max_len,
                                     default_seed=time.time_ns() % 2**32)
        except RequestError as e:
            return JSONResponse(e.body(), status_code=e.status)
        job = Generation(model, wanted, generation_thread, generated)
        if not wanted.stream:
            async def collect():
                async for _ in job.pieces():
                    pass
            try:
                await asyncio.wait_for(collect(), options.timeout_s)
            except asyncio.TimeoutError:
                return error_response(504, None, f"no answer within {options.timeout_s:g} s (--timeout-s)")
            return JSONResponse(job.answer())

        async def events():
            deadline = time.monotonic() + options.timeout_s
            async for token, piece in job.pieces():
                yield sse("token", {"index": len(job.ids) - 1, "token": token, "text": piece})
                if time.monotonic() > deadline:
                    yield sse("error", RequestError(504, None, f"no answer within {options.timeout_s:g} s "
                                                               f"(--timeout-s)").body())
                    return
            yield sse("done", job.answer())

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache", "x-accel-buffering": "no"})

    async def metrics_page(request: Request):
        gauges = {"jaxml_compilations_after_warmup": ("XLA compilations since the buckets were warmed.",
                                                      compile_count() - model.compiles_at_warmup),
                  "jaxml_requests_in_flight": ("Predictions accepted and not yet answered.", batcher.in_flight),
                  "jaxml_mean_batch_rows": ("Mean rows per batch run.", metrics.mean_batch_rows()),
                  "jaxml_generated_tokens": ("Tokens generated by /v1/generate since start-up.", generated["tokens"])}
        return PlainTextResponse(metrics.render(gauges), media_type="text/plain; version=0.0.4")

    async def http_error(request: Request, exc: HTTPException):
        what = {404: f"no route {request.url.path}; the routes are /v1/predict, /v1/generate, /v1/models, "
                     f"/healthz, /metrics",
                405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code, exc.detail)
        return error_response(exc.status_code, None, what)

    async def server_error(request: Request, exc: Exception):
        log.error("serve: %s on %s: %s", type(exc).__name__, request.url.path, exc)
        return error_response(500, None, f"internal error ({type(exc).__name__}); see the server's log")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        batcher.start()
        yield
        state["closing"] = True  # new predictions are refused; the accepted ones finish
        await batcher.drain()
        generation_thread.shutdown(wait=True)

    routes = [Route("/healthz", healthz), Route("/v1/models", models), Route("/v1/predict", predict, methods=["POST"]),
              Route("/v1/generate", generate, methods=["POST"]), Route("/metrics", metrics_page)]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, Exception: server_error})
    app.add_middleware(MetricsMiddleware, metrics=metrics, routes={r.path for r in routes})
    app.state.metrics, app.state.batcher, app.state.model, app.state.generated = metrics, batcher, model, generated
    return app
