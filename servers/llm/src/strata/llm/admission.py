"""Admission control: a fixed number of slots served first come, first served, and a bounded queue.

A request that finds every slot taken and the queue full is refused at once with BusyError instead
of piling up; the client can retry. Counters feed the ``status`` tool and ``/metrics``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from statistics import fmean

import anyio

from strata.llm.errors import BusyError
from strata.llm.types import ModelStatus

__all__ = ["Admission"]

RECENT_WINDOW = 32


class Admission:
    """FIFO slots (anyio's Semaphore wakes waiters in arrival order) plus a queue limit."""

    def __init__(self, name: str, slots: int, max_queue: int) -> None:
        self.name = name
        self.slots = slots
        self.max_queue = max_queue
        self._semaphore = anyio.Semaphore(slots)
        self.busy = 0
        self.queued = 0
        self.served = 0
        self.rejected = 0
        self.cancelled = 0
        self._recent_tps: deque[float] = deque(maxlen=RECENT_WINDOW)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the body; raise BusyError when the queue is already full."""
        if self.busy >= self.slots and self.queued >= self.max_queue:
            self.rejected += 1
            raise BusyError(
                f"model '{self.name}' is busy: {self.busy} running and {self.queued} queued "
                f"(max_queue {self.max_queue}); retry later"
            )
        self.queued += 1
        try:
            await self._semaphore.acquire()
        finally:
            self.queued -= 1
        self.busy += 1
        try:
            yield
        except anyio.get_cancelled_exc_class():
            self.cancelled += 1
            raise
        finally:
            self.busy -= 1
            self.served += 1
            self._semaphore.release()

    def record_speed(self, tokens_per_second: float | None) -> None:
        if tokens_per_second:
            self._recent_tps.append(tokens_per_second)

    @property
    def recent_tokens_per_second(self) -> float | None:
        return round(fmean(self._recent_tps), 2) if self._recent_tps else None

    def snapshot(self, *, loaded: bool) -> ModelStatus:
        """The live status of the model this admission guards."""
        return ModelStatus(
            name=self.name,
            loaded=loaded,
            instances=self.slots,
            busy=self.busy,
            queued=self.queued,
            max_queue=self.max_queue,
            requests_served=self.served,
            requests_rejected=self.rejected,
            requests_cancelled=self.cancelled,
            recent_tokens_per_second=self.recent_tokens_per_second,
        )
