"""The bot process of the sweep and memory benchmarks: `python -m bench.sweep_worker [options]`.

Builds the real runtime from the environment (as `python -m bot run` does, minus serving Slack), runs
`bot.background.jobs.poll_sweep` over the seeded cases and prints one JSON line: sweep times, SQL statements (counted
with SQLAlchemy's `before_cursor_execute` event), and this process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, func
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bench.common import peak_rss_mb
from bot.background.app_creation import credentials_for
from bot.background.jobs import poll_sweep
from bot.config import Settings
from bot.runtime import build_runtime
from sinch import SinchCredentials
from store.db import session_scope
from store.models import Onboarding, utcnow
from store.states import POLLED_STATES


class ShiftableClock:
    """Real UTC time plus an offset, so a second sweep finds every case due again without waiting."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset


class StatementCounter:
    """Counts every statement SQLAlchemy sends to the driver, by kind and by thread (sweep or poll worker)."""

    def __init__(self, engine: Engine) -> None:
        self._lock = threading.Lock()
        self.by_kind: Counter[str] = Counter()
        self.by_thread: Counter[str] = Counter()
        event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                    executemany: bool) -> None:
        words = statement.split(None, 2)
        kind = " ".join(words[:2]).upper() if words[:1] == ["BEGIN"] else (words[0].upper() if words else "?")
        where = "poll" if threading.current_thread().name.startswith("poll") else "sweep"
        with self._lock:
            self.by_kind[kind] += 1
            self.by_thread[where] += 1

    def reset(self) -> None:
        with self._lock:
            self.by_kind.clear()
            self.by_thread.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"total": sum(self.by_kind.values()), "by_kind": dict(self.by_kind),
                    "by_thread": dict(self.by_thread)}


def _due(engine: Engine, now: datetime) -> int:
    with session_scope(engine) as session:
        statement = select(func.count()).select_from(Onboarding).where(col(Onboarding.state).in_(POLLED_STATES)) \
            .where(col(Onboarding.next_poll_at) <= now)
        return int(session.exec(statement).one())


def _sweep(deps: Any, counter: StatementCounter) -> dict[str, Any]:
    counter.reset()
    started = time.perf_counter()
    report = poll_sweep(deps)
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "report": {k: v for k, v in asdict(report).items() if k != "errors"},
            "errors": report.errors[:5], "statements": counter.snapshot()}


def _targets(deps: Any) -> list[tuple[SinchCredentials, str]]:
    """Every polled case's key and app."""
    with session_scope(deps.engine) as session:
        cases = list(session.exec(select(Onboarding).where(col(Onboarding.state).in_(POLLED_STATES))))
    targets = []
    for case in cases:
        assert case.project_id and case.key_id and case.key_secret_sealed and case.app_id
        creds = credentials_for(deps, project_id=case.project_id, key_id=case.key_id,
                                sealed_secret=case.key_secret_sealed, region=case.region)
        targets.append((creds, case.app_id))
    return targets


def _raw_reads(deps: Any) -> dict[str, Any]:
    """The in-run baseline: the same status reads through the same client and pool size, no database work."""
    targets = _targets(deps)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=deps.settings.timers.poll_concurrency, thread_name_prefix="raw") as pool:
        statuses = list(pool.map(lambda target: deps.sinch.messenger.status(*target).status, targets))
    return {"seconds": time.perf_counter() - started, "reads": len(statuses)}


def _warm_tokens(deps: Any) -> dict[str, Any]:
    """Fill the token cache for every case's key without polling (several workers cannot warm up with a
    sweep: the first to sweep would leave nothing due for the others)."""
    targets = _targets(deps)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=deps.settings.timers.poll_concurrency, thread_name_prefix="warm") as pool:
        list(pool.map(lambda target: deps.sinch.fetch_token(target[0]), targets))
    return {"seconds": time.perf_counter() - started, "keys": len(targets)}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep_worker")
    parser.add_argument("--warmup", action="store_true", help="sweep once first (fills the token cache)")
    parser.add_argument("--warm-tokens", action="store_true", help="fetch every key's token first (no sweep)")
    parser.add_argument("--baseline", action="store_true", help="also time the bare status reads")
    parser.add_argument("--start-at", type=float, default=0.0, metavar="EPOCH",
                        help="start the measured sweep at this time (several workers sharing one sweep)")
    args = parser.parse_args()
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"))

    settings = Settings.from_env(os.environ)
    clock = ShiftableClock()
    runtime = build_runtime(settings, clock=clock, token_verification=False)
    deps = runtime.deps
    counter = StatementCounter(deps.engine)
    out: dict[str, Any] = {"rss_mb_before": peak_rss_mb(), "due": _due(deps.engine, clock()),
                           "concurrency": settings.timers.poll_concurrency}
    try:
        if args.warmup:
            out["warmup"] = _sweep(deps, counter)
            clock.offset += timedelta(hours=2)  # every case is due again
            out["due_after_warmup"] = _due(deps.engine, clock())
        if args.warm_tokens:
            out["token_warmup"] = _warm_tokens(deps)
        time.sleep(max(0.0, args.start_at - time.time()))
        out["started_wall"] = time.time()
        out["sweep"] = _sweep(deps, counter)
        out["ended_wall"] = time.time()
        out["rss_mb_after_sweep"] = peak_rss_mb()
        if args.baseline:
            out["raw_reads"] = _raw_reads(deps)
    finally:
        runtime.shutdown()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
