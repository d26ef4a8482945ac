"""The server's settings as one checked value (light: no jax, so the CLI refuses a bad flag at once)."""

from __future__ import annotations

import dataclasses

from jaxml.errors import JaxmlError

DEFAULT_BUCKETS = (1, 8, 32, 128)


@dataclasses.dataclass(frozen=True)
class ServeOptions:
    """buckets: the compiled batch sizes (a batch is padded to the smallest that holds it);
    max_batch: rows gathered into one batch (<= the largest bucket; default: the largest bucket);
    max_wait_ms: how long the first request of a batch waits for more; timeout_s: per request;
    max_body_bytes: the largest request body (413 above it); max_request_rows: rows in one request
    (413 above it; default max_batch)."""

    buckets: tuple[int, ...] = DEFAULT_BUCKETS
    max_batch: int | None = None
    max_wait_ms: float = 5.0
    timeout_s: float = 30.0
    max_body_bytes: int = 16 * 2**20
    max_request_rows: int | None = None

    def __post_init__(self):
        buckets = tuple(sorted(set(int(b) for b in self.buckets)))
        if not buckets or buckets[0] < 1 or buckets[-1] > 65536:
            raise JaxmlError(f"--buckets must be batch sizes in [1, 65536], e.g. 1,8,32,128; got {self.buckets}")
        object.__setattr__(self, "buckets", buckets)
        max_batch = buckets[-1] if self.max_batch is None else int(self.max_batch)
        if not 1 <= max_batch <= buckets[-1]:
            raise JaxmlError(f"--max-batch must be in [1, {buckets[-1]}] (the largest bucket); got {max_batch}")
        object.__setattr__(self, "max_batch", max_batch)
        rows = max_batch if self.max_request_rows is None else int(self.max_request_rows)
        if not 1 <= rows <= max_batch:
            raise JaxmlError(f"--max-request-rows must be in [1, {max_batch}] (--max-batch); got {rows}")
        object.__setattr__(self, "max_request_rows", rows)
        for name, value, lo, hi in (("--max-wait-ms", self.max_wait_ms, 0.0, 10_000.0),
                                    ("--timeout-s", self.timeout_s, 0.001, 3600.0),
                                    ("--max-body-mb", self.max_body_bytes / 2**20, 1 / 2**20, 4096.0)):
            if not lo <= value <= hi:
                raise JaxmlError(f"{name} must be in [{lo:g}, {hi:g}]; got {value:g}")


def parse_buckets(text: str) -> tuple[int, ...]:
    """'1,8,32,128' -> (1, 8, 32, 128); anything else is one clear error."""
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise JaxmlError(f"--buckets must be comma-separated batch sizes, e.g. 1,8,32,128; got {text!r}") from None
