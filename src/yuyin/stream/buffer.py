"""A growable sample buffer addressed by absolute sample index, cut from the front cheaply."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["SampleBuffer"]


class SampleBuffer:
    """float32 samples appended at the back and dropped from the front without copies.

    The samples live in one preallocated array; dropping moves an index, and the array is
    compacted (one copy) only when an append does not fit, i.e. once per `capacity - size`
    appended samples. It grows only when asked to hold more than its capacity at once.

    Args:
        capacity: samples preallocated.
        start: absolute index of the first sample that will be appended.
    """

    def __init__(self, capacity: int, start: int = 0) -> None:
        self._data = np.zeros(max(capacity, 1), dtype=np.float32)
        self._head = 0
        self._tail = 0
        self._start = start

    @property
    def start(self) -> int:
        """Absolute index of the first sample held."""
        return self._start

    @property
    def end(self) -> int:
        """Absolute index one past the last sample held."""
        return self._start + self.size

    @property
    def size(self) -> int:
        """Samples held."""
        return self._tail - self._head

    @property
    def capacity(self) -> int:
        """Samples the storage holds before it must grow."""
        return int(self._data.size)

    def append(self, samples: NDArray[np.float32]) -> None:
        """Add samples at the back.

        Args:
            samples: 1-D float32 samples.
        """
        n = int(samples.size)
        if self._tail + n > self._data.size:
            size = self.size
            if size + n > self._data.size:
                grown = np.zeros(max(2 * self._data.size, size + n), dtype=np.float32)
                grown[:size] = self._data[self._head : self._tail]
                self._data = grown
            else:
                self._data[:size] = self._data[self._head : self._tail]
            self._head, self._tail = 0, size
        self._data[self._tail : self._tail + n] = samples
        self._tail += n

    def drop_until(self, index: int) -> None:
        """Forget the samples before absolute index `index`.

        Args:
            index: absolute sample index; clamped to what is held.
        """
        n = min(max(index - self._start, 0), self.size)
        self._head += n
        self._start += n
        if self._head == self._tail:
            self._head = self._tail = 0

    def view(self, begin: int | None = None, end: int | None = None) -> NDArray[np.float32]:
        """The samples between two absolute indexes (default: all), without a copy.

        Args:
            begin: absolute index of the first sample (clamped).
            end: absolute index one past the last sample (clamped).
        """
        lo = self._head + min(
            max((begin if begin is not None else self._start) - self._start, 0), self.size
        )
        hi = self._head + min(
            max((end if end is not None else self.end) - self._start, 0), self.size
        )
        return self._data[lo : max(lo, hi)]

    def clear(self, start: int) -> None:
        """Drop everything; the next sample appended has absolute index `start`.

        Args:
            start: absolute sample index.
        """
        self._head = self._tail = 0
        self._start = start
