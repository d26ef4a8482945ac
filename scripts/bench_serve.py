"""Load benchmark of `jaxml serve`: a served CNN under concurrent HTTP clients vs the same inference
function called in process (the ceiling).

Usage: python scripts/bench_serve.py [--workdir DIR | --experiment cnn_digits] [--concurrency 1,8,32,128]
       [--requests 2000] [--rounds 3] [--buckets 1,8,32,128] [--max-wait-ms 5] [--payload json,b64]
       [--client raw,httpx] [--out bench_out/serve.json]

Without --workdir it writes a workdir of `--experiment`'s model at its initial parameters (throughput
does not depend on the weights) into a temporary directory. It starts `jaxml serve WORKDIR` in a
subprocess, waits for /healthz, sends one untimed warm-up round per case (client x payload x
concurrency), then runs `--rounds` interleaved rounds: for each case, `--requests` one-image
POST /v1/predict requests holding C requests in flight, then (with the server idle) the in-process
ceiling: the inference function jit-compiled for the largest bucket, called on full batches for as
many rows. Two load generators, both real HTTP/1.1 over TCP with C keep-alive connections and one
request per image: `raw`, a lean client on asyncio streams (on uvloop where installed) that sends
pre-encoded request bytes and reads each Content-Length answer, and `httpx`'s async client (more
Python per request). Reported per case (medians over rounds): served requests/s, p50 / p99 request
latency (all timed requests), the served model's mean rows per batch over the timed rounds (from
/metrics), the in-process rows/s and the ratio served / in-process; the server's HTTP stack; and
its XLA compilations after warm-up (`jaxml_compilations_after_warmup`, expected 0). Client and
server share this machine's cores, as they would on one host, so the client's own CPU lowers the
served figure.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2  # noqa: E402
import jax  # noqa: E402
import numpy as np  # noqa: E402

from jaxml.core import config as config_lib  # noqa: E402
from jaxml.methods import export  # noqa: E402
from jaxml.serve.server import http_stack  # noqa: E402


def initial_workdir(experiment: str, directory: Path) -> Path:
    """A workdir of the experiment's model whose one checkpoint holds its initial parameters."""
    from jaxml.experiments import load_experiment_config
    from jaxml.core import loop
    from jaxml.core.checkpoint import Checkpointer

    _, config = load_experiment_config(experiment, [])
    config.parallel.num_devices = 1
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(config_lib.to_json(config))
    inference = export.inference_of(config)
    checkpointer = Checkpointer(directory)
    checkpointer.save(0, jax.device_get(jax.jit(inference.init)(loop.init_key(config.seed))))
    checkpointer.close()
    return directory


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workdir: Path, port: int, buckets: str, max_wait_ms: float) -> subprocess.Popen:
    env = {**os.environ, "JAXML_PROGRESS": "0", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.Popen([sys.executable, "-m", "jaxml.cli", "serve", str(workdir), "--port", str(port),
                             "--buckets", buckets, "--max-wait-ms", str(max_wait_ms)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: {proc.communicate()[1][-2000:]}")
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx2.TransportError:
            pass
        if time.time() > deadline:
            proc.kill()
            raise SystemExit("the server did not answer /healthz within 600 s")
        time.sleep(0.2)


def metric(text: str, name: str) -> float:
    return float(text.split(f"\n{name} ")[-1].split()[0])


def request_body(image: np.ndarray, payload: str) -> str:
    """One image [1, ...] as a /v1/predict body: nested lists ("json") or base64 raw bytes ("b64")."""
    if payload == "b64":
        inputs = {"b64": base64.b64encode(np.ascontiguousarray(image).tobytes()).decode(), "dtype": str(image.dtype),
                  "shape": list(image.shape)}
    else:
        inputs = image.tolist()
    return json.dumps({"inputs": inputs, "return": ["labels"]})


async def httpx_round(url: str, bodies: list[bytes], concurrency: int) -> tuple[list[float], int]:
    """httpx's async client (HTTP/1.1, one pooled keep-alive connection per request in flight)."""
    latencies: list[float] = []
    failures = 0
    queue = iter(bodies)
    async with httpx2.AsyncClient(base_url=url, timeout=120,
                                  limits=httpx2.Limits(max_connections=concurrency,
                                                       max_keepalive_connections=concurrency)) as client:
        async def worker():
            nonlocal failures
            for body in queue:
                start = time.perf_counter()
                r = await client.post("/v1/predict", content=body, headers={"content-type": "application/json"})
                latencies.append(time.perf_counter() - start)
                failures += r.status_code != 200

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, failures


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response with a Content-Length body: (status, body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:
        raise RuntimeError(f"a response without Content-Length: {head[:200]!r}")
    return status, await reader.readexactly(length)


async def raw_round(url: str, bodies: list[bytes], concurrency: int) -> tuple[list[float], int]:
    """A lean HTTP/1.1 client on asyncio streams: `concurrency` keep-alive TCP connections, each sending
    one pre-encoded POST /v1/predict (one image) and reading its whole answer before the next."""
    host, port = url.split("//")[1].split(":")
    head = (f"POST /v1/predict HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
            f"content-length: ")
    requests = [head.encode() + str(len(b)).encode() + b"\r\n\r\n" + b for b in bodies]
    latencies: list[float] = []
    failures = 0
    queue = iter(requests)

    async def worker():
        nonlocal failures
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for request in queue:
                start = time.perf_counter()
                writer.write(request)
                status, _ = await read_response(reader)
                latencies.append(time.perf_counter() - start)
                failures += status != 200
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, failures


CLIENTS = {"raw": raw_round, "httpx": httpx_round}


def event_loop():
    """uvloop's event loop where it is installed (for the client; the server picks its own), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def served_round(url: str, images: np.ndarray, requests: int, concurrency: int, payload: str = "json",
                 client: str = "raw") -> dict:
    bodies = [request_body(images[i % len(images): i % len(images) + 1], payload).encode() for i in range(requests)]
    with asyncio.Runner(loop_factory=event_loop) as runner:
        start = time.perf_counter()
        latencies, failures = runner.run(CLIENTS[client](url, bodies, concurrency))
        seconds = time.perf_counter() - start
    return {"requests_per_s": requests / seconds, "latencies": latencies, "failures": failures}


def in_process_rows_per_s(program, batch: np.ndarray, rows: int) -> float:
    calls = max(1, -(-rows // len(batch)))
    start = time.perf_counter()
    for _ in range(calls):
        jax.block_until_ready(program(batch))
    return calls * len(batch) / (time.perf_counter() - start)


def batch_stats(url: str) -> tuple[float, float]:
    text = httpx2.get(url + "/metrics", timeout=10).text
    return metric(text, "jaxml_batch_rows_sum"), metric(text, "jaxml_batch_rows_count")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", help="a trained workdir to serve (default: --experiment at its initial parameters)")
    p.add_argument("--experiment", default="cnn_digits")
    p.add_argument("--concurrency", default="32", help="comma-separated client concurrencies (default 32)")
    p.add_argument("--requests", type=int, default=2000, help="timed requests per round and concurrency")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--buckets", default="1,8,32,128")
    p.add_argument("--max-wait-ms", type=float, default=5.0)
    p.add_argument("--payload", default="json",
                   help="comma-separated: request inputs as nested JSON lists (json) and/or base64 raw bytes (b64)")
    p.add_argument("--client", default="raw,httpx",
                   help="comma-separated load generators: raw (asyncio streams, pre-encoded requests) and/or httpx")
    p.add_argument("--out", help="write the report as JSON here")
    args = p.parse_args()
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    payloads, clients = args.payload.split(","), args.client.split(",")
    for name, given, valid in (("--payload", payloads, ("json", "b64")), ("--client", clients, tuple(CLIENTS))):
        if not given or any(g not in valid for g in given):
            p.error(f"{name} takes a comma-separated list of {', '.join(valid)}; got {','.join(given)!r}")
    cases = [(client, payload, c) for client in clients for payload in payloads for c in concurrencies]

    with tempfile.TemporaryDirectory(prefix="jaxml-bench-serve-") as tmp:
        workdir = Path(args.workdir) if args.workdir else initial_workdir(args.experiment, Path(tmp) / "workdir")
        config = config_lib.from_json((workdir / "config.json").read_text())
        fn, example, _ = export.trained_inference(config, workdir)
        largest = max(int(b) for b in args.buckets.split(","))
        images = np.asarray(example)
        batch = np.resize(images, (largest, *images.shape[1:]))
        program = jax.jit(fn).lower(batch).compile()
        jax.block_until_ready(program(batch))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(workdir, port, args.buckets, args.max_wait_ms)
        try:
            for client, payload, c in cases:  # warm-up: connections, the loop, every bucket's first real batch
                served_round(url, images, min(args.requests, 8 * c), c, payload, client)
            compiles_at_start = metric(httpx2.get(url + "/metrics").text, "jaxml_compilations_after_warmup")
            rounds: dict[tuple, list] = {case: [] for case in cases}
            for _ in range(args.rounds):
                for case in cases:
                    client, payload, c = case
                    sum0, count0 = batch_stats(url)
                    served = served_round(url, images, args.requests, c, payload, client)
                    sum1, count1 = batch_stats(url)
                    served["mean_batch"] = (sum1 - sum0) / max(count1 - count0, 1)
                    served["in_process_rows_per_s"] = in_process_rows_per_s(program, batch, args.requests)
                    rounds[case].append(served)
            compiles = metric(httpx2.get(url + "/metrics").text, "jaxml_compilations_after_warmup")
        finally:
            proc.terminate()
            proc.communicate(timeout=60)

    report = {"experiment": config.get("name") or args.experiment, "workdir": args.workdir, "buckets": args.buckets,
              "max_wait_ms": args.max_wait_ms, "requests_per_round": args.requests, "rounds": args.rounds,
              "compilations_after_warmup": compiles, "compilations_during_timed_rounds": compiles - compiles_at_start,
              "jax": jax.__version__, "devices": str(jax.devices()[0].device_kind), "cpus": os.cpu_count(),
              "server_stack": http_stack(), "rows": []}
    print(f"{'client':>6} {'payload':>7} {'concurrency':>11} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'mean batch':>10} {'in-proc rows/s':>14} {'ratio':>6}")
    for (client, payload, c), rs in rounds.items():
        latencies = np.concatenate([r["latencies"] for r in rs]) * 1000
        row = {"client": client, "payload": payload, "concurrency": c,
               "requests_per_s": statistics.median(r["requests_per_s"] for r in rs),
               "p50_ms": float(np.percentile(latencies, 50)), "p99_ms": float(np.percentile(latencies, 99)),
               "mean_batch": statistics.median(r["mean_batch"] for r in rs),
               "in_process_rows_per_s": statistics.median(r["in_process_rows_per_s"] for r in rs),
               "failures": sum(r["failures"] for r in rs)}
        row["ratio"] = row["requests_per_s"] / row["in_process_rows_per_s"]
        report["rows"].append(row)
        print(f"{client:>6} {payload:>7} {c:>11} {row['requests_per_s']:>9.1f} {row['p50_ms']:>8.2f} "
              f"{row['p99_ms']:>8.2f} {row['mean_batch']:>10.2f} {row['in_process_rows_per_s']:>14.1f} "
              f"{row['ratio']:>6.3f}")
    print(f"server stack: {report['server_stack']}")
    print(f"compilations after warm-up: {compiles:g} (during the timed rounds: {compiles - compiles_at_start:g})")
    print(json.dumps(report))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
