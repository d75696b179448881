"""Benchmarks: ack latency, poll-sweep scaling, memory, Slack pacing, register-project latency, idle cost.

Run with `python -m bench <name>`.

Each benchmark measures the bot against a baseline taken in the same run, prints a table of figures
against their targets and writes JSON to `bench/results/<name>.json`. A missed target is reported,
not raised: the exit status is non-zero only when a benchmark could not run. See bench/README.md.
"""

from __future__ import annotations

__all__ = ["BENCHMARKS", "SIZES"]

BENCHMARKS = ("ack", "sweep", "memory", "pacing", "register", "idle")
SIZES = ("tiny", "small", "full")
