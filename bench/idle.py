"""Idle cost: CPU seconds per hour of one real `python -m bot run` replica that has (almost) nothing to do.

For each mode (HTTP; Socket Mode against devslack's stand-in) and each number of open cases (0; N cases
awaiting the customer, their polls spread over the slow interval as in steady state, at the default
cadence), a fresh database, fake Slack and Sinch sandbox are set up and the bot is started as its own
process. Once it is healthy and has settled, its CPU time (utime + stime, children included, from
/proc/<pid>/stat) is read at the start and at the end of the window. The runs go side by side (each
counts only its own process's CPU); with --database-url each gets its own scratch database beside it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, text, update
from sqlalchemy.engine import Connection
from sqlmodel import col

from bench.common import BenchResult, Figure, free_port, python_env, step_database, stop_process, wait_healthy
from bench.pyspy import PySpy, summarize
from bench.seed import seed_awaiting_customer, seed_sandbox_apps
from devslack import FakeSlackState, start_fake_slack
from sinch.sandbox import make_app, start_in_thread
from store.db import make_engine, migrate, session_scope
from store.models import Onboarding, utcnow
from store.secrets import SecretBox, generate_key

__all__ = ["IdlePlan", "cpu_seconds", "run"]

CHANNEL = "C0ONBOARD"
TARGET_CPU_S_PER_H = 36.0  # 1 % of a core, with no open case
SETTLE_S = 3.0  # after /healthz answers: the first sweeps and the Socket Mode handshake are start-up, not idle
SLOW_INTERVAL = timedelta(minutes=30)  # the default cadence of a case invited over a day ago


@dataclass(frozen=True)
class IdlePlan:
    seconds: float
    cases: tuple[int, ...]
    modes: tuple[str, ...] = ("http", "socket")


PLANS = {"tiny": IdlePlan(6.0, (0, 20)), "small": IdlePlan(120.0, (0, 1_000)),
         "full": IdlePlan(600.0, (0, 1_000))}


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and of its children it has waited for (/proc/<pid>/stat), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _database(database_url: str | None, workdir: Path, name: str) -> tuple[str, str | None]:
    """An empty database for one run: a SQLite file, or a PostgreSQL database `<scratch>_<name>` beside the
    scratch one (created if missing, its tables dropped), so that the runs can go side by side; and the name
    of the database this created, for `_drop_created` once the run is over (None if it made none)."""
    if database_url is None or not database_url.startswith("postgres"):
        return step_database(database_url, workdir, name), None
    url = make_url(database_url)
    own = url.set(database=f"{url.database}_{name}".replace("-", "_"))
    created = None
    with _server(database_url) as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                    {"name": own.database}).first()
        if exists is None:
            connection.execute(text(f'CREATE DATABASE "{own.database}"'))
            created = own.database
    return step_database(own.render_as_string(hide_password=False), workdir, name), created


@contextmanager
def _server(database_url: str) -> Iterator[Connection]:
    """A connection to the scratch database's server, outside any transaction (CREATE/DROP DATABASE)."""
    engine = make_engine(database_url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            yield connection
    finally:
        engine.dispose()


def _drop_created(database_url: str | None, name: str | None) -> None:
    if database_url is not None and name is not None:
        with _server(database_url) as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _seed(db_url: str, sandbox: Any, count: int, secret_key: str) -> None:
    """`count` cases awaiting the customer, invited two days ago, their next polls spread over the slow
    interval (the steady state: as many polls fall in any minute)."""
    engine = make_engine(db_url)
    try:
        migrate(engine)
        if not count:
            return
        now = utcnow()
        ids = seed_awaiting_customer(engine, SecretBox(secret_key), seed_sandbox_apps(sandbox.state, count),
                                     now=now, channel=CHANNEL)
        with session_scope(engine) as session:
            for index, case_id in enumerate(ids):
                session.execute(update(Onboarding).where(col(Onboarding.id) == case_id)
                                .values(next_poll_at=now + SLOW_INTERVAL * (index + 1) / count))
    finally:
        engine.dispose()


def measure(mode: str, cases: int, *, seconds: float, workdir: Path, database_url: str | None,
            setup: threading.Lock, profile: Path | None = None) -> dict[str, Any]:
    """One replica in `mode` with `cases` open cases, measured for `seconds` after it settled.

    `setup` is held while the database is made and seeded (Alembic's migration context is process-global)."""
    name = f"idle-{mode}-{cases}"
    sandbox = make_app()
    secret_key = generate_key()
    with setup:
        db_url, created = _database(database_url, workdir, name)
        _seed(db_url, sandbox, cases, secret_key)
    slack = start_fake_slack(state=FakeSlackState(), threads=8, socket_mode=mode == "socket")
    running = start_in_thread(app=sandbox, threads=8)
    port = free_port()
    env = python_env({
        "SLACK_BOT_TOKEN": slack.state.bot_token, "SLACK_SIGNING_SECRET": "bench-signing-secret",
        "SLACK_APP_TOKEN": slack.state.app_token if mode == "socket" else "",
        "SLACK_API_URL": slack.url, "ONBOARDING_CHANNEL": CHANNEL, "APPROVERS": "U0LEAD",
        "BOT_SECRET_KEY": secret_key, "DATABASE_URL": db_url, "SINCH_AUTH_URL": running.url,
        "SINCH_CONVERSATION_URL": f"{running.url}/conversation/{{region}}",
        "SINCH_PROVISIONING_URL": f"{running.url}/provisioning", "SINCH_USE_PROVISIONING": "false",
        "LOG_LEVEL": "WARNING", **({"HEALTH_PORT": str(port)} if mode == "socket" else {"PORT": str(port)}),
    })
    log = (workdir / f"{name}.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "bot", "run", "--host", "127.0.0.1"], env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    spy: PySpy | None = None
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        time.sleep(SETTLE_S)
        reads_before = _status_reads(sandbox)
        spy = PySpy(process.pid, profile, gil=True, rate=100) if profile is not None else None
        start_cpu, started = cpu_seconds(process.pid), time.monotonic()
        time.sleep(seconds)
        used, elapsed = cpu_seconds(process.pid) - start_cpu, time.monotonic() - started
        if process.poll() is not None:
            raise RuntimeError(f"{name}: the bot exited during the window ({process.returncode})")
    finally:
        if spy is not None:
            spy.stop()
        stop_process(process)
        log.close()
        running.stop()
        slack.stop()
        _drop_created(database_url, created)
    out: dict[str, Any] = {
        "mode": mode, "cases": cases, "window_s": round(elapsed, 1), "cpu_s": round(used, 3),
        "cpu_s_per_h": round(used / elapsed * 3600, 2), "status_reads": _status_reads(sandbox) - reads_before,
        "database": "PostgreSQL" if db_url.startswith("postgres") else "SQLite",
    }
    if profile is not None and profile.exists():
        out["profile"] = summarize(profile)
    return out


def _status_reads(sandbox: Any) -> int:
    counts = sandbox.state.snapshot()["request_counts"]
    return int(sum(v for k, v in counts.items() if k.startswith("GET ") and k.endswith("{app}")))


def run(size: str, *, minutes: float | None = None, cases: list[int] | None = None, modes: list[str] | None = None,
        database_url: str | None = None, profile_dir: Path | None = None) -> BenchResult:
    plan = PLANS[size]
    seconds = minutes * 60 if minutes is not None else plan.seconds
    counts = tuple(cases) if cases else plan.cases
    chosen = tuple(modes) if modes else plan.modes
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
    result = BenchResult("idle", size)
    started = time.perf_counter()
    runs = [(mode, count) for mode in chosen for count in counts]
    setup = threading.Lock()
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp, ThreadPoolExecutor(max_workers=len(runs)) as pool:
        measured = list(pool.map(lambda one: measure(
            one[0], one[1], seconds=seconds, workdir=Path(tmp), database_url=database_url, setup=setup,
            profile=profile_dir / f"idle-{one[0]}-{one[1]}.pyspy.txt" if profile_dir is not None else None), runs))
    for one in measured:
        label = f"CPU s per hour, {'Socket Mode' if one['mode'] == 'socket' else 'HTTP'}, {one['cases']:,} cases"
        if one["cases"] == 0:
            result.figures.append(Figure(label, one["cpu_s_per_h"], "s/h", f"≤ {TARGET_CPU_S_PER_H:g}",
                                         one["cpu_s_per_h"] <= TARGET_CPU_S_PER_H))
        else:
            result.figures.append(Figure(label, one["cpu_s_per_h"], "s/h", "reported", None,
                                         baseline=f"{one['status_reads']} status reads"))
    result.details = {"window_s": seconds, "runs": measured, "settle_s": SETTLE_S,
                      "database": measured[0]["database"] if measured else None}
    result.notes.append(f"One `python -m bot run` per row, measured over {seconds:g} s after /healthz answered and "
                        f"{SETTLE_S:g} s more; CPU = utime + stime (children included) from /proc/<pid>/stat. "
                        "Cases await the customer, invited two days ago (polled every 30 min), their polls spread "
                        "evenly over the 30 min; default timers (sweeps every 15 s).")
    result.duration_s = time.perf_counter() - started
    return result
