"""Dynamic batching: concurrent requests gathered into one batch, run once, split back.

The first waiting request opens a batch; requests that arrive within `max_wait_s` join it while the
rows fit in `max_batch` (a request that does not fit opens the next batch). The batch is concatenated,
padded to the smallest compiled bucket by the model, run on one worker thread (the event loop keeps
accepting requests meanwhile), and each request gets its own rows back. A request whose caller gave
up (timeout) before its batch ran is dropped from it.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import dataclasses
from typing import Callable

import numpy as np


@dataclasses.dataclass
class Pending:
    rows: np.ndarray
    future: asyncio.Future


def split_rows(outputs: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """outputs of a concatenated batch -> one slice per request, in order."""
    return np.split(outputs, np.cumsum(sizes)[:-1]) if sizes else []


class Batcher:
    """`await batcher.submit(rows)` -> the model's outputs for those rows, computed in a shared batch."""

    def __init__(self, run: Callable[[np.ndarray], np.ndarray], max_batch: int, max_wait_s: float,
                 on_batch: Callable[[int], None] = lambda rows: None):
        self.run, self.max_batch, self.max_wait_s, self.on_batch = run, max_batch, max_wait_s, on_batch
        self._waiting: collections.deque[Pending] = collections.deque()
        self._arrived: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="jaxml-batch")
        self.in_flight = 0  # submitted and not yet answered

    def start(self) -> None:
        self._arrived = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def submit(self, rows: np.ndarray) -> np.ndarray:
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(Pending(rows, future))
        self._arrived.set()
        self.in_flight += 1
        try:
            return await future
        finally:
            self.in_flight -= 1

    async def drain(self) -> None:
        """Waits until every submitted request is answered, then stops the loop."""
        while self.in_flight or self._waiting:
            await asyncio.sleep(0.01)
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=True)

    def _take(self, batch: list[Pending], rows: int) -> int:
        """Moves waiting requests into the batch while they fit; returns the batch's rows."""
        while self._waiting:
            head = self._waiting[0]
            if head.future.done():  # its caller gave up
                self._waiting.popleft()
                continue
            if rows + len(head.rows) > self.max_batch:
                break
            batch.append(self._waiting.popleft())
            rows += len(head.rows)
        return rows

    async def _gather(self) -> list[Pending]:
        loop = asyncio.get_running_loop()
        while not self._waiting:
            self._arrived.clear()
            await self._arrived.wait()
        batch: list[Pending] = []
        rows = self._take(batch, 0)
        deadline = loop.time() + self.max_wait_s
        while rows < self.max_batch and not self._waiting and loop.time() < deadline:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), deadline - loop.time())
            except asyncio.TimeoutError:
                break
            rows = self._take(batch, rows)
        return batch

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [p for p in await self._gather() if not p.future.done()]
            if not batch:
                continue
            sizes = [len(p.rows) for p in batch]
            x = np.concatenate([p.rows for p in batch])
            self.on_batch(len(x))
            try:
                outputs = await loop.run_in_executor(self._executor, self.run, x)
            except Exception as e:  # the model failed: every request of the batch learns why
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(e)
                continue
            for p, out in zip(batch, split_rows(outputs, sizes)):
                if not p.future.done():
                    p.future.set_result(out)
