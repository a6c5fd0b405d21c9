"""Admission control: a fixed number of transcriptions at once and a bounded queue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from yuyin.server.errors import ApiError

__all__ = ["Admission"]


class Admission:
    """Let `running` requests work and `queued` wait; refuse the rest with 429."""

    def __init__(self, running: int, queued: int, retry_after_s: int = 5) -> None:
        self._slots = asyncio.Semaphore(running)
        self._capacity = running + queued
        self._retry_after_s = retry_after_s
        self.waiting = 0
        self.active = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a transcription slot for the duration of the block, or raise 429."""
        if self.waiting + self.active >= self._capacity:
            raise ApiError(
                429,
                "the server is busy: too many transcriptions running and queued; retry later",
                code="server_busy",
                headers={"Retry-After": str(self._retry_after_s)},
            )
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1
            self._slots.release()
