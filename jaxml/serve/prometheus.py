"""Server metrics in the Prometheus text exposition format (version 0.0.4): request counts by route
and status, a request-latency histogram, a batch-size histogram, and gauges."""

from __future__ import annotations

import collections
import threading

LATENCY_BOUNDS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Histogram:
    """Cumulative buckets with upper bounds `bounds` (+Inf added), a sum and a count."""

    def __init__(self, bounds):
        self.bounds = tuple(float(b) for b in bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        i = next((k for k, b in enumerate(self.bounds) if value <= b), len(self.bounds))
        self.counts[i] += 1
        self.sum += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def lines(self, name: str) -> list[str]:
        out, total = [], 0
        for bound, n in zip((*self.bounds, float("inf")), self.counts):
            total += n
            le = "+Inf" if bound == float("inf") else f"{bound:g}"
            out.append(f'{name}_bucket{{le="{le}"}} {total}')
        return out + [f"{name}_sum {self.sum:g}", f"{name}_count {total}"]


class ServerMetrics:
    """What the server counts; `render(gauges)` is the /metrics page."""

    def __init__(self, batch_bounds):
        self._lock = threading.Lock()
        self.requests: collections.Counter[tuple[str, int]] = collections.Counter()
        self.latency = Histogram(LATENCY_BOUNDS_S)
        self.batch_rows = Histogram(batch_bounds)

    def record_request(self, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[route, status] += 1
            self.latency.observe(seconds)

    def record_batch(self, rows: int) -> None:
        with self._lock:
            self.batch_rows.observe(rows)

    def mean_batch_rows(self) -> float:
        return self.batch_rows.sum / self.batch_rows.count if self.batch_rows.count else 0.0

    def render(self, gauges: dict[str, tuple[str, float]]) -> str:
        with self._lock:
            lines = ["# HELP jaxml_requests_total HTTP requests answered, by route and status.",
                     "# TYPE jaxml_requests_total counter"]
            lines += [f'jaxml_requests_total{{route="{route}",status="{status}"}} {n}'
                      for (route, status), n in sorted(self.requests.items())]
            lines += ["# HELP jaxml_request_latency_seconds Time from request to response.",
                      "# TYPE jaxml_request_latency_seconds histogram",
                      *self.latency.lines("jaxml_request_latency_seconds"),
                      "# HELP jaxml_batch_rows Rows per batch the model ran (before padding to a bucket).",
                      "# TYPE jaxml_batch_rows histogram", *self.batch_rows.lines("jaxml_batch_rows")]
        for name, (help_text, value) in gauges.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value:g}"]
        return "\n".join(lines) + "\n"
