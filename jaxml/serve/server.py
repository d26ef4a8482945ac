"""`jaxml serve PATH`: load and warm the model, then serve the app under uvicorn until SIGTERM / Ctrl-C.

On SIGTERM uvicorn stops accepting connections and waits for the open requests; the app's shutdown
then answers every prediction still queued before the process exits (exit 0)."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from jaxml.errors import JaxmlError
from jaxml.serve.options import ServeOptions

log = logging.getLogger("jaxml")


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
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=30,
                            lifespan="on")
    server = uvicorn.Server(config)
    log.info("serve: listening on http://%s:%d (POST /v1/predict%s, GET /v1/models, /healthz, /metrics)", host, port,
             "" if model.generator is None else ", POST /v1/generate")
    server.run()
    log.info("serve: stopped")
