"""`jaxml serve PATH`: load and warm the model, then serve the app under uvicorn until SIGTERM / Ctrl-C.

On SIGTERM uvicorn stops accepting connections and waits for the open requests; the app's shutdown
then answers every prediction still queued before the process exits (exit 0)."""

from __future__ import annotations

import gc
import importlib.util
import logging
from pathlib import Path

from jaxml.errors import JaxmlError
from jaxml.serve.options import ServeOptions

log = logging.getLogger("jaxml")


def http_stack() -> str:
    """The HTTP parser and event loop uvicorn's "auto" choices pick here."""
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"uvicorn on {http} + {loop}"


def serve(path: str | Path, options: ServeOptions, host: str = "127.0.0.1", port: int = 8000) -> None:
    missing = [m for m in ("starlette", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise JaxmlError(f"jaxml serve needs {' and '.join(missing)}, which is not installed; "
                         f"`pip install starlette uvicorn` (or `pip install -e .`)")
    import uvicorn

    from jaxml.core.run import STOP
    from jaxml.serve.app import build_app
    from jaxml.serve.model import load_model

    model = load_model(path, options.buckets)
    log.info("serve: %s (%s) warmed for batch sizes %s%s", model.info["name"], model.info["version"],
             ",".join(map(str, model.buckets)),
             "" if model.generator is None else
             f"; generation warmed for prompt chunks {','.join(map(str, model.generator.chunks))}")
    if STOP.signal:  # asked to stop while loading: nothing accepted, nothing to finish
        log.info("serve: %s before start-up; not serving", STOP.signal)
        return
    app = build_app(model, options)
    # what start-up made (jax, the compiled programs, the libraries) goes to the permanent generation, so
    # the collector's passes under load walk only the requests' young objects
    gc.collect()
    gc.freeze()
    # uvicorn's "auto" stack: the httptools parser and uvloop where installed (h11 and asyncio otherwise)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=30,
                            lifespan="on", access_log=False, http="auto", loop="auto")
    server = uvicorn.Server(config)
    log.info("serve: listening on http://%s:%d (POST /v1/predict%s, GET /v1/models, /healthz, /metrics; %s)", host,
             port, "" if model.generator is None else ", POST /v1/generate", http_stack())
    server.run()
    log.info("serve: stopped")
