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

`POST /v1/predict`, the route under load, is answered by `PredictRoute`, a plain ASGI middleware in
front of Starlette's routing: the same answers, without building a Request, a Response and the
routing per call.
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
from starlette.requests import ClientDisconnect, Request
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


async def read_body(declared: str | None, chunks, limit: int) -> bytes:
    """The body from its async chunks, refused with 413 as soon as it (or its declared Content-Length,
    `declared`) passes `limit` bytes."""
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, None, f"the body of {int(declared)} bytes exceeds the limit of {limit} bytes "
                                      f"(--max-body-mb)")
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise RequestError(413, None, f"the body exceeds the limit of {limit} bytes (--max-body-mb)")
        parts.append(chunk)
    return b"".join(parts)


def request_body(request: Request, limit: int):
    return read_body(request.headers.get("content-length"), request.stream(), limit)


async def asgi_chunks(receive):
    """The body chunks of a plain ASGI request (Starlette's `Request.stream` without the Request)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        if message.get("body"):
            yield message["body"]
        if not message.get("more_body", False):
            return


def internal_error(path: str, exc: Exception) -> tuple[int, dict]:
    """The server's own failure: logged, and answered as a one-line 500 without the stack trace."""
    log.error("serve: %s on %s: %s", type(exc).__name__, path, exc)
    return 500, RequestError(500, None, f"internal error ({type(exc).__name__}); see the server's log").body()


def json_bytes(content) -> bytes:
    """As Starlette's JSONResponse renders its content."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()


class PredictRoute:
    """`POST /v1/predict`, the hot route, answered in plain ASGI as the app's outermost middleware (no
    Request, Response or routing per call; the same answers as the Starlette route, which still serves
    every other method and path); its requests are counted in `metrics` as MetricsMiddleware counts the
    rest."""

    def __init__(self, app, answer, metrics: ServerMetrics, path: str = "/v1/predict"):
        self.app, self.answer, self.metrics, self.path = app, answer, metrics, path

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        start, status = time.perf_counter(), 500
        try:
            declared = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"content-length"), None)
            try:
                status, content = await self.answer(declared, asgi_chunks(receive))
            except ClientDisconnect:
                raise
            except Exception as e:  # as the Starlette app's handler answers its own failures
                status, content = internal_error(self.path, e)
            body = json_bytes(content)
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-length", str(len(body)).encode()),
                                    (b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
        except ClientDisconnect:
            pass
        finally:
            self.metrics.record_request(self.path, status, time.perf_counter() - start)


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

    async def answer_predict(declared: str | None, chunks) -> tuple[int, dict]:
        """(status, JSON content) of one prediction request (its Content-Length header, its body chunks)."""
        if state["closing"]:
            return 503, RequestError(503, None, "the server is shutting down; retry on another replica").body()
        try:
            body = parse_json(await read_body(declared, chunks, options.max_body_bytes))
            inputs, wanted = decode_inputs(body, model.signature, options.max_request_rows)
        except RequestError as e:
            return e.status, e.body()
        try:
            outputs = await asyncio.wait_for(batcher.submit(inputs), options.timeout_s)
        except asyncio.TimeoutError:
            return 504, RequestError(504, None, f"no answer within {options.timeout_s:g} s (--timeout-s)").body()
        return 200, {"model": model.info["name"], "version": model.info["version"],
                     **encode_outputs(outputs, wanted, model.meta.get("class_names"))}

    async def predict(request: Request):
        status, content = await answer_predict(request.headers.get("content-length"), request.stream())
        return JSONResponse(content, status_code=status)

    async def generate(request: Request):
        if model.generator is None:
            return error_response(404, None, f"{model.info['name']} ({model.info['method']}) does not generate "
                                             f"text; /v1/generate serves a language model's workdir (method lm)")
        if state["closing"]:
            return error_response(503, None, "the server is shutting down; retry on another replica")
        try:
            body = parse_json(await request_body(request, options.max_body_bytes))
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
        status, content = internal_error(request.url.path, exc)
        return JSONResponse(content, status_code=status)

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
    app.add_middleware(PredictRoute, answer=answer_predict, metrics=metrics)  # added last: the outermost
    app.state.metrics, app.state.batcher, app.state.model, app.state.generated = metrics, batcher, model, generated
    return app
