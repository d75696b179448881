"""What every benchmark shares: figures against targets, the table, the JSON file, the machine, loopback helpers."""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "RESULTS",
    "ROOT",
    "BenchResult",
    "Figure",
    "collector_paused",
    "free_port",
    "host_reading",
    "machine",
    "percentile",
    "peak_rss_mb",
    "print_table",
    "step_database",
    "stop_process",
    "wait_healthy",
    "write_result",
]

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
LOOPBACK = "127.0.0.1"


@dataclass
class Figure:
    """One measured figure, its target and the in-run baseline it is compared with."""

    metric: str
    measured: float | None
    unit: str
    target: str
    met: bool | None  # None: informational, no target
    baseline: float | str | None = None

    def cells(self) -> list[str]:
        return [self.metric, _fmt(self.measured, self.unit), self.target, _fmt(self.baseline, self.unit),
                {True: "yes", False: "NO", None: "-"}[self.met]]


@dataclass
class BenchResult:
    """A benchmark's outcome: its figures, the details behind them, and where it ran."""

    name: str
    size: str
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    duration_s: float = 0.0
    host_at_start: dict[str, Any] = field(default_factory=lambda: host_reading())

    @property
    def all_met(self) -> bool:
        return all(f.met is not False for f in self.figures)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "size": self.size,
            "all_targets_met": self.all_met,
            "figures": [asdict(f) for f in self.figures],
            "details": self.details,
            "notes": self.notes,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 2),
            "machine": {**machine(), "host_at_start": self.host_at_start, "host_at_end": host_reading()},
        }


def _fmt(value: float | str | None, unit: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int):
        text = f"{value:,}"
    elif abs(value) >= 1000:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return f"{text} {unit}".strip()


def print_table(result: BenchResult) -> None:
    """The figures as a fixed-width table on stdout, then the notes."""
    header = ["figure", "measured", "target", "baseline", "met"]
    rows = [header, *(f.cells() for f in result.figures)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print(f"\n== {result.name} ({result.size}) — {result.duration_s:.1f} s ==")
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print(line)
    for note in result.notes:
        print(f"  * {note}")
    print(f"  host at start: {_describe(result.host_at_start)}")
    print(f"  all targets met: {'yes' if result.all_met else 'NO'}")


def write_result(result: BenchResult, path: Path | None = None) -> Path:
    """Write the JSON to `path` (default bench/results/<name>.json) and return where it went."""
    target = path or RESULTS / f"{result.name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result.to_json(), indent=2, default=str) + "\n", encoding="utf-8")
    return target


@contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection in this (the load generator's) process while it measures, as `timeit` does.

    The load generator holds the fake Slack's every message and the seeded cases: a full collection of
    that heap took 100-285 ms with the GIL held (gc.callbacks, python -m bench ack on a 2-core AMD EPYC), and
    every request in flight was timed as that much slower, whichever server it went to. What is there before
    the phase is frozen out of collections; the garbage the phase leaves is collected after it, between
    measurements.
    """
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()
        gc.collect()


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _mem_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def machine() -> dict[str, Any]:
    """Where the figures came from: cores, memory, CPU, Python, OS, commit."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "mem_total": _mem_total(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": _git_commit(),
    }


def host_reading() -> dict[str, Any]:
    """How fast and how busy this machine is right now, so that runs on different days can be told apart.

    The same code's figures moved threefold between two machines of one kind (bench/README.md, issue
    22, eleventh and twelfth passes): the bot's acks are bound by CPU, bare Bolt's by its own sleeps, so their
    ratio follows the machine. `python_loop_ms` times one fixed pure-Python loop, fastest and median of five:
    the fastest is the core's speed, a median well above it says something else was running. `cpu_pressure` is
    Linux's share of time some task waited for a core (/proc/pressure/cpu "some", %), the bench's own load included.
    """
    times = sorted(_timed_loop() for _ in range(5))
    reading: dict[str, Any] = {"python_loop_ms": {"fastest": round(times[0], 2), "median": round(times[2], 2)}}
    try:
        fields = Path("/proc/pressure/cpu").read_text().splitlines()[0].split()[1:4]
        reading["cpu_pressure"] = {name: float(value) for name, value in (f.split("=") for f in fields)}
    except (OSError, IndexError, ValueError):
        pass
    return reading


def _timed_loop() -> float:
    """Milliseconds of wall time for a fixed loop of the bytecode a server spends its time in: dict stores,
    integer arithmetic, a builtin call."""
    started = time.perf_counter()
    table: dict[int, int] = {}
    total = 0
    for number in range(100_000):
        table[number & 1023] = total
        total += abs(number * 7 % 13)
    return (time.perf_counter() - started) * 1000


def _describe(reading: Mapping[str, Any]) -> str:
    loop = reading["python_loop_ms"]
    text = f"fixed Python loop {loop['fastest']:.1f} ms (fastest of 5), {loop['median']:.1f} ms (median)"
    pressure = reading.get("cpu_pressure")
    if pressure is not None:
        text += f"; CPU pressure {pressure['avg10']:g} % (10 s), {pressure['avg60']:g} % (60 s)"
    return text


def peak_rss_mb() -> dict[str, float]:
    """This process's peak (VmHWM) and current (VmRSS) resident set, in MB (MiB)."""
    values: dict[str, float] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmHWM", "VmRSS"):
                values[name] = int(rest.split()[0]) / 1024
    except OSError:
        import resource

        values["VmHWM"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return values


def free_port() -> int:
    """A free TCP port on loopback (bind to port 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[bytes], *, timeout: float = 60.0) -> None:
    """Wait until GET `url` answers 200; raise if the process exits first or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode} before it was healthy")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback URL we built
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not healthy after {timeout:.0f} s")


def stop_process(process: subprocess.Popen[bytes], *, timeout: float = 15.0) -> None:
    """Interrupt a child we started (Ctrl-C, so it shuts down cleanly), kill it if it will not stop."""
    if process.poll() is not None:
        return
    import signal

    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def python_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment for a child Python: this one minus the bot's variables, plus `extra`."""
    prefixes = ("SLACK_", "SINCH_", "BOT_", "DATABASE_URL", "ONBOARDING_", "APPROVERS", "ALLOW_SELF", "POLL_",
                "CUSTOMER_", "REVOKE_", "MANUAL_STEP", "SWEEP_", "PORT", "INTAKE_",
                "LEASE_TTL", "APP_RETRY")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    # Loopback traffic must never go through a developer's proxy.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(name, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def run_python(args: Iterable[str], env: Mapping[str, str], *, timeout: float,
               prefix: Sequence[str] = ()) -> dict[str, Any]:
    """Run `python <args>` (under `prefix`, e.g. a profiler) to completion; its last stdout line is JSON."""
    args = list(args)
    completed = subprocess.run([*prefix, sys.executable, *args], env=dict(env), cwd=ROOT, capture_output=True,
                               text=True, timeout=timeout, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({completed.returncode}):\n{completed.stderr[-4000:]}")
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]  # not a profiler's chatter
    if not lines:
        raise RuntimeError(f"{' '.join(args)} printed nothing:\n{completed.stderr[-4000:]}")
    data: dict[str, Any] = json.loads(lines[-1])
    return data


def step_database(database_url: str | None, workdir: Path, name: str) -> str:
    """The empty database a benchmark step runs on: a new SQLite file `name`.db in `workdir`, or the scratch
    database `database_url` (SQLite or PostgreSQL, from --database-url) with every table in it dropped first,
    so that no step sees another's rows."""
    if database_url is None:
        return f"sqlite:///{workdir / f'{name}.db'}"
    from sqlalchemy import MetaData

    from store.db import make_engine

    engine = make_engine(database_url)
    try:
        tables = MetaData()
        tables.reflect(engine)
        tables.drop_all(engine)
    finally:
        engine.dispose()
    return database_url
