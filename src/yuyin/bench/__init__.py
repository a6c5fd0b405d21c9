"""Honest speed, memory and concurrency benchmarks; engine comparisons (issue 10)."""
