"""`jaxml serve`: an HTTP inference server (Starlette on uvicorn) with dynamic batching.

- `options.py`   the server's settings (buckets, batch and wait budget, limits), checked; no jax
- `model.py`     a workdir or a `jax.export` artifact -> one compiled program per batch-size bucket
- `payload.py`   request bodies -> validated arrays, outputs -> JSON (numpy only)
- `batcher.py`   gathers concurrent requests into one padded batch and splits the results back
- `prometheus.py` request / latency / batch-size counters in the Prometheus text format
- `app.py`       the routes; `server.py` runs them under uvicorn

See docs/serving.md.
"""
