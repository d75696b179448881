"""Every benchmark at its tiny size, through `python -m bench`, so they keep working (figures are not judged).

Each writes its JSON to a temporary file; the tests check its shape and that the run was sane: every request
answered, every case polled, every Slack message delivered exactly once. Loopback only, well under a minute.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from bench.__main__ import main

KEYS = {"name", "size", "all_targets_met", "figures", "details", "notes", "started_at", "duration_s", "machine"}
FIGURE_KEYS = {"metric", "measured", "unit", "target", "met", "baseline"}


def run_bench(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], database_url: str) -> dict[str, Any]:
    """Run the benchmark on the suite's database (SQLite or PostgreSQL), through `--database-url`."""
    path = tmp_path / f"{name}.json"
    assert main([name, "--size", "tiny", "--json", str(path), "--database-url", database_url]) == 0
    printed = capsys.readouterr().out
    assert f"== {name} (tiny)" in printed and "all targets met:" in printed
    data: dict[str, Any] = json.loads(path.read_text())
    assert KEYS <= set(data)
    assert (data["name"], data["size"]) == (name, "tiny")
    assert data["figures"] and all(FIGURE_KEYS <= set(figure) for figure in data["figures"])
    assert isinstance(data["all_targets_met"], bool)
    assert data["machine"]["nproc"] and data["machine"]["python"]
    for moment in ("host_at_start", "host_at_end"):  # how fast and how busy the machine was (bench.common)
        loop = data["machine"][moment]["python_loop_ms"]
        assert 0 < loop["fastest"] <= loop["median"]
    assert "host at start: fixed Python loop" in printed
    return data


@pytest.mark.e2e
def test_ack(tmp_path: Path, capsys: pytest.CaptureFixture[str], database_url: str) -> None:
    data = run_bench("ack", tmp_path, capsys, database_url)
    phases = data["details"]["phases"]
    assert set(phases) == {"paced", "burst"}
    for phase in phases.values():
        for server in ("bot", "baseline", "floor"):
            stats = phase[server]
            assert stats["requests"] == data["details"]["clients"] * phase["per_client"]
            assert stats["statuses"] == {"200": stats["requests"]}, "every request answered 200"
            assert 0 < stats["p50"] <= stats["p95"] <= stats["p99"] < 3000
        assert phase["bot"]["approved_after_ack"] == phase["clicks"] > 0, "each click approved its case"


@pytest.mark.e2e
def test_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str], database_url: str) -> None:
    data = run_bench("sweep", tmp_path, capsys, database_url)
    sizes = data["details"]["sizes"]
    assert sizes
    for size in sizes.values():
        assert size["polled"] == size["cases"] and size["failed"] == 0, "every case polled"
        assert size["sandbox_status_reads"] >= 2 * size["cases"]  # warm-up and measured sweep (plus baseline)
        assert size["sweep_s"] > 0 and size["ideal_s"] > 0 and math.isfinite(size["ratio"])
    per_case = data["details"]["statements_per_case"]
    assert per_case[0] > 0 and len(set(per_case)) == 1


@pytest.mark.e2e
def test_memory(tmp_path: Path, capsys: pytest.CaptureFixture[str], database_url: str) -> None:
    data = run_bench("memory", tmp_path, capsys, database_url)
    details = data["details"]
    assert details["polled"] == details["cases"] > 0 and details["failed"] == 0
    peak = details["rss_mb"]["after_sweep"]["VmHWM"]
    baseline = details["rss_mb"]["baseline_after"]["VmHWM"]
    assert 10 < baseline <= peak < 2000


def test_pacing(tmp_path: Path, capsys: pytest.CaptureFixture[str], database_url: str) -> None:
    data = run_bench("pacing", tmp_path, capsys, database_url)
    details = data["details"]
    changes = details["changes"]
    assert details["delivered_rows"] == {"delivered": changes}
    assert details["posted"] == changes and details["duplicates"] == 0 and details["lost"] == []
    # At --size tiny one benchmark second is 50 ms, so the bench's 5 ms tolerance is a quarter of a real
    # millisecond: a send the machine wakes a little late (bot/background/pacing.py lets it go up to a quarter
    # of a slot late) can arrive less than a second after the one before. CI saw 2 in a second once in many
    # runs. Slots stay a second apart, so never 3; the pace shows in the span (never under the floor), and the
    # "≤ 1 post in any 1 s" figure is measured at real-time sizes (bench/README.md).
    assert 1 <= details["max_posts_in_1s"] <= 2
    assert details["rate_limited"] >= 1 and len(details["retry_after_waits_s"]) == details["rate_limited"]
    assert details["first_to_last_post_s"] >= details["floor_s"]


@pytest.mark.e2e
def test_register(tmp_path: Path, capsys: pytest.CaptureFixture[str], database_url: str) -> None:
    data = run_bench("register", tmp_path, capsys, database_url)
    details = data["details"]
    assert len(details["latencies_ms"]) == 3 and all(0 < ms < 3000 for ms in details["latencies_ms"])
    assert {f["metric"]: f["measured"] for f in data["figures"]}["registrations refused"] == 0


@pytest.mark.e2e
def test_idle(tmp_path: Path, capsys: pytest.CaptureFixture[str], database_url: str) -> None:
    data = run_bench("idle", tmp_path, capsys, database_url)
    runs = data["details"]["runs"]
    assert {(run["mode"], run["cases"]) for run in runs} == {("http", 0), ("http", 20), ("socket", 0), ("socket", 20)}
    for run in runs:
        assert run["window_s"] >= 5 and 0 <= run["cpu_s"] < run["window_s"], "a real process, measured over the window"
        assert run["status_reads"] >= 0
    if database_url.startswith("postgresql"):  # each run's database beside the scratch one is gone again
        engine = create_engine(database_url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                left = connection.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :prefix"),
                                          {"prefix": f"{make_url(database_url).database}_%"}).scalars().all()
        finally:
            engine.dispose()
        assert left == []
