"""Whether this process is part of a multi-process job, decided from the environment alone (no jax
import, so the CLI can answer it before the heavy imports): JAXML_DISTRIBUTED=1, or a TPU VM slice
with several workers."""

from __future__ import annotations

import os


def multi_worker_tpu() -> bool:
    hosts = os.environ.get("TPU_WORKER_HOSTNAMES", "")
    return len([h for h in hosts.split(",") if h.strip()]) > 1


def distributed_requested() -> bool:
    return os.environ.get("JAXML_DISTRIBUTED") == "1" or multi_worker_tpu()
