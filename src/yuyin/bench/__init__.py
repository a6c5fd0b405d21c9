"""Honest speed, memory and concurrency benchmarks, and side-by-side engine comparisons (issue 10)."""
