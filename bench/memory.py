"""Memory: the bot process's peak RSS after a poll sweep over N cases (10,000 in full).

The bot process is `bench.sweep_worker` (the real runtime, built as `python -m bot run` builds it), reading
its own VmHWM from /proc/self/status after the sweep. The sweep is its first, so it also fills the per-key
token cache (one token per customer key), the worst case. The baseline is the same process sweeping no cases.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import BenchResult, Figure
from bench.sweep import run_sweep

__all__ = ["run"]

TARGET_MB = 200.0
PLANS = {"tiny": 200, "small": 1_000, "full": 10_000}
LATENCY_MS = 5.0  # memory does not depend on it; the sweep-time benchmark uses 50 ms


def run(size: str, *, profile_dir: Path | None = None, database_url: str | None = None) -> BenchResult:
    count = PLANS[size]
    result = BenchResult("memory", size)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        baseline = run_sweep(0, latency_ms=LATENCY_MS, workdir=Path(tmp), warmup=False, baseline=False,
                             database_url=database_url)
        data = run_sweep(count, latency_ms=LATENCY_MS, workdir=Path(tmp), warmup=False, baseline=False,
                         database_url=database_url)
    peak = float(data["rss_mb_after_sweep"]["VmHWM"])
    base_peak = float(baseline["rss_mb_after_sweep"]["VmHWM"])
    polled = int(data["sweep"]["report"]["polled"])
    result.figures += [
        Figure(f"peak RSS after sweeping {count:,} cases", round(peak, 1), "MB", f"≤ {TARGET_MB:g} MB",
               peak <= TARGET_MB, baseline=round(base_peak, 1)),
        Figure("  growth over the baseline", round(peak - base_peak, 1), "MB", "-", None),
        Figure("  per case", round((peak - base_peak) * 1024 / max(count, 1), 2), "KB", "-", None),
        Figure("cases polled", polled, "", f"= {count:,}", polled == count),
    ]
    result.details = {
        "cases": count, "polled": polled, "failed": data["sweep"]["report"]["failed"],
        "sweep_s": round(float(data["sweep"]["seconds"]), 2), "latency_ms": LATENCY_MS,
        "rss_mb": {"before_sweep": data["rss_mb_before"], "after_sweep": data["rss_mb_after_sweep"],
                   "baseline_before": baseline["rss_mb_before"], "baseline_after": baseline["rss_mb_after_sweep"]},
        "sandbox_token_requests": data["sandbox_token_requests"],
    }
    result.notes.append("MB = MiB (VmHWM / 1024). Baseline: the same bot process, same runtime, sweeping 0 cases.")
    result.notes.append(f"The sandbox's status route answers after {LATENCY_MS:g} ms here; memory does not depend "
                        "on it (the sweep-time benchmark uses 50 ms).")
    result.duration_s = time.perf_counter() - started
    return result
