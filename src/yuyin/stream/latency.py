"""Keeping a long stream in real time: measure compute / audio time and step down on purpose.

Users of every Whisper streaming project report a lag that grows after minutes or after
pauses: once decoding a step takes longer than the audio it covers, the buffer grows, each
step gets slower still, and the delay never comes back (issue 4). `LatencyMonitor` measures
the ratio over a sliding window of audio and walks a ladder of degradations (skipping the
second pass, decoding only uncommitted audio, a larger step), one rung at a time, with
hysteresis, and back down when the ratio allows it. Cheaper steps come before larger ones:
a live driver already hands over everything that arrived during a slow step, so a larger
minimum step adds latency and mainly frees the CPU for other streams.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

from yuyin.stream.events import Degradation

__all__ = [
    "LARGER_STEP",
    "SECOND_PASS_SKIPPED",
    "UNCOMMITTED_ONLY",
    "UNDO_COST",
    "LatencyMonitor",
    "LatencyOptions",
]

log = logging.getLogger(__name__)

#: Decode every other step only: twice the audio per decoding step.
LARGER_STEP = "larger-step"
#: Cut the buffer at the last committed word after each step: committed (stable) audio is
#: not decoded again; the prompt still carries its text.
UNCOMMITTED_ONLY = "uncommitted-only"
#: Two-pass mode: finals keep the fast model's text instead of re-decoding the utterance.
SECOND_PASS_SKIPPED = "second-pass-skipped"


@dataclass(frozen=True, slots=True)
class LatencyOptions:
    """When to step down and back up.

    Attributes:
        enabled: False measures but never changes level (computation-unaware replay).
        window_sec: seconds of audio over which compute / audio time is averaged.
        settle_sec: seconds of audio measured at a level before the next change.
        degrade_above: step down when the ratio is above this (1.0 = exactly real time).
        recover_below: step back up when the ratio expected without the last rung (the
            measured ratio times that rung's `UNDO_COST`) is below this.
    """

    enabled: bool = True
    window_sec: float = 20.0
    settle_sec: float = 5.0
    degrade_above: float = 0.9
    recover_below: float = 0.7


#: How much more compute per second of audio undoing a rung is expected to cost: decoding
#: every step instead of every other one doubles it; re-decoding committed audio again
#: (a longer buffer, same 30 s encoder window) costs about half as much again; the second
#: pass runs a larger model once per utterance.
UNDO_COST: dict[str, float] = {LARGER_STEP: 2.0, UNCOMMITTED_ONLY: 1.5, SECOND_PASS_SKIPPED: 2.0}


class LatencyMonitor:
    """Tracks compute / audio time and the current rung of a degradation ladder.

    Args:
        ladder: the actions switched on at levels 1, 2, ... in order.
        options: thresholds and window.
    """

    def __init__(
        self,
        ladder: tuple[str, ...] = (UNCOMMITTED_ONLY, LARGER_STEP),
        options: LatencyOptions | None = None,
    ) -> None:
        self.ladder = ladder
        self.options = options or LatencyOptions()
        self.level = 0
        self._window: deque[tuple[float, float]] = deque()
        self._compute = 0.0
        self._audio = 0.0
        self._since_change = 0.0

    @property
    def ratio(self) -> float:
        """Compute time / audio time over the window (0 before any audio)."""
        return self._compute / self._audio if self._audio > 0 else 0.0

    @property
    def state(self) -> Degradation:
        """The current level, ratio and active actions."""
        return Degradation(self.level, round(self.ratio, 3), self.ladder[: self.level])

    def active(self, action: str) -> bool:
        """Whether `action` is switched on at the current level."""
        return action in self.ladder[: self.level]

    def _undo_cost(self) -> float:
        return UNDO_COST.get(self.ladder[self.level - 1], 2.0)

    def record(self, compute_sec: float, audio_sec: float) -> Degradation | None:
        """Add one step's compute time and the audio it advanced; return a new state on change.

        Args:
            compute_sec: seconds spent decoding.
            audio_sec: seconds of new audio this step covered (0 for a second pass).
        """
        self._window.append((compute_sec, audio_sec))
        self._compute += compute_sec
        self._audio += audio_sec
        self._since_change += audio_sec
        while len(self._window) > 1 and self._audio - self._window[0][1] >= self.options.window_sec:
            old_compute, old_audio = self._window.popleft()
            self._compute -= old_compute
            self._audio -= old_audio
        opts = self.options
        if not opts.enabled or self._since_change < opts.settle_sec:
            return None
        ratio = self.ratio
        if ratio > opts.degrade_above and self.level < len(self.ladder):
            self.level += 1
        elif self.level > 0 and ratio * self._undo_cost() < opts.recover_below:
            self.level -= 1
        else:
            return None
        state = self.state
        log.info(
            "stream latency: compute/audio %.2f, level %d %s", ratio, self.level, state.actions
        )
        # Measure the new level on its own, not on the steps that caused the change.
        self._window.clear()
        self._compute = self._audio = self._since_change = 0.0
        return state
