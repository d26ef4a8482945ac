"""The real command: `jaxml serve ARTIFACT --port P` in a subprocess (an export of an untrained MLP: the
quicker start; serving a trained workdir is tested in process) answers /healthz and predictions over HTTP,
and a SIGTERM while requests are in flight answers every accepted one, then exits 0."""

import signal
import socket
import subprocess
import threading
import time

import httpx2
import numpy as np

from conftest import cli_env, jaxml_cmd
from tiny_workdir import untrained_artifact


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(proc, url: str, seconds: float = 120) -> None:
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


def in_flight(client) -> int:
    text = client.get("/metrics").text
    return int(float(text.split("jaxml_requests_in_flight ")[-1].split()[0]))


def test_the_command_serves_and_a_sigterm_loses_no_accepted_request(tmp_path):
    artifact, fn, images = untrained_artifact(tmp_path / "export")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # A wait budget of 1.5 s holds the concurrent requests in one open batch while the SIGTERM arrives.
    proc = subprocess.Popen(jaxml_cmd("serve", str(artifact), "--port", str(port), "--buckets", "1,16",
                                      "--max-wait-ms", "1500"),
                            env=cli_env(1), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_healthy(proc, url)
        with httpx2.Client(base_url=url, timeout=60) as client:
            r = client.post("/v1/predict", json={"inputs": images[:2].tolist()})
            np.testing.assert_allclose(r.json()["logits"], np.asarray(fn(images[:2])), rtol=1e-5, atol=1e-5)
            answers = {}

            def ask(i):
                answers[i] = client.post("/v1/predict", json={"inputs": images[i: i + 1].tolist()})

            threads = [threading.Thread(target=ask, args=(i,)) for i in range(12)]
            for t in threads:
                t.start()
            deadline = time.time() + 1.2
            while in_flight(client) < 12:  # every request accepted and waiting in the open batch
                assert time.time() < deadline, "the requests did not all arrive within the wait budget"
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            for t in threads:
                t.join(timeout=60)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err and "serve: stopped" in err
    assert sorted(answers) == list(range(12))
    for i, r in answers.items():
        assert r.status_code == 200, r.text
        np.testing.assert_allclose(r.json()["logits"], np.asarray(fn(images[i: i + 1])), rtol=1e-5, atol=1e-5)
