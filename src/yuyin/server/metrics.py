"""Prometheus metrics, one registry per app so several apps (tests) never collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["Metrics"]


class Metrics:
    """Requests, audio seconds, real-time factor and queue depth."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "yuyin_requests", "HTTP requests", ["route", "status"], registry=self.registry
        )
        self.audio_seconds = Counter(
            "yuyin_audio_seconds", "Seconds of audio transcribed", registry=self.registry
        )
        self.real_time_factor = Histogram(
            "yuyin_real_time_factor",
            "Processing time divided by audio duration, per request",
            buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0),
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "yuyin_queue_depth", "Requests waiting for a transcription slot", registry=self.registry
        )
        self.in_flight = Gauge(
            "yuyin_in_flight", "Transcriptions running now", registry=self.registry
        )
