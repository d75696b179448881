"""Slack pacing: N status changes in one channel, delivered by the real OutboxDispatcher.

N cases in one channel, each with its status card already posted, see their Messenger channel go PENDING
through `workflow.apply_channel_status` (as a poll sweep would), all committed at once: N card updates and
N thread replies queued. The dispatcher (post_interval=1.0, the 429-honouring background WebClient) delivers
them to the fake Slack with its per-channel post rate limiter on (1/s, burst 1) and 50 ms latency; a few
extra 429s with Retry-After are injected along the way. Checked: every reply delivered exactly once (outbox
ids in message metadata), ≤ 1 post/s in the channel, every 429 waited out; reported: total time against the
floor of (N-1) × 1 s between the first and the last post.

`--size full` runs in real time (about 9 minutes). Only `--size tiny` runs on a scaled clock (every clock and
sleep the dispatcher, its WebClient and the fake Slack use), so the smoke test takes well under a second.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import col, select

from bench.common import BenchResult, Figure, step_database
from bench.seed import SeededApp, seed_awaiting_customer
from bot import workflow
from bot.background.outbox import METADATA_EVENT, OutboxDispatcher
from bot.config import Settings
from bot.slack.client import make_web_client
from devslack import FakeSlackState, start_fake_slack
from sinch.models import ChannelStatus, MessengerStatus, Region
from store.db import make_engine, migrate, session_scope
from store.models import OutboxKind, OutboxMessage, OutboxStatus, utcnow
from store.secrets import SecretBox, generate_key

__all__ = ["PacingPlan", "run"]

CHANNEL = "C0ONBOARD"
POST_INTERVAL = 1.0
SLACK_LATENCY_MS = 50
INJECTED_RETRY_AFTER = 2  # seconds, on the injected 429s
TOLERANCE = 0.005  # seconds of clock slack when checking gaps and waits


@dataclass(frozen=True)
class PacingPlan:
    changes: int
    time_scale: float  # real seconds per benchmark second; 1.0 = real time
    injected_429s: int


PLANS = {"tiny": PacingPlan(changes=5, time_scale=0.05, injected_429s=1),
         "small": PacingPlan(changes=60, time_scale=1.0, injected_429s=1),
         "full": PacingPlan(changes=500, time_scale=1.0, injected_429s=3)}
SPAN_TARGET = 1.02  # first → last post at most this many times the floor of (N - 1) intervals


class Timebase:
    """Clocks and sleep for the run: the real ones at scale 1.0, else all running `1/scale` times faster."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self._mono0, self._wall0 = time.monotonic(), time.time()

    def monotonic(self) -> float:
        if self.scale == 1.0:
            return time.monotonic()
        return self._mono0 + (time.monotonic() - self._mono0) / self.scale

    def wall(self) -> float:
        if self.scale == 1.0:
            return time.time()
        return self._wall0 + (time.time() - self._wall0) / self.scale

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds * self.scale)

    def sleeper(self) -> Callable[[float], None]:
        return time.sleep if self.scale == 1.0 else self.sleep


def _settings(state: FakeSlackState, url: str, db_url: str) -> Settings:
    return Settings.from_env({
        "SLACK_BOT_TOKEN": state.bot_token, "SLACK_SIGNING_SECRET": "bench-signing-secret",
        "SLACK_API_URL": url, "ONBOARDING_CHANNEL": CHANNEL, "APPROVERS": "U0LEAD",
        "BOT_SECRET_KEY": generate_key(), "DATABASE_URL": db_url,
    })


def _max_in_window(times: list[float], window: float) -> int:
    """The most events in any half-open window [t, t + window)."""
    best, start = 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def run(size: str, *, processes: int = 1, database_url: str | None = None) -> BenchResult:
    """`processes` dispatchers, each with its own name in the leases and its own Slack client, share the
    database as that many bot processes would (they run as threads of this process, on the shared clock)."""
    plan = PLANS[size]
    result = BenchResult("pacing", size)
    started = time.perf_counter()
    clock = Timebase(plan.time_scale)
    state = FakeSlackState(clock=clock.wall, sleep=clock.sleeper())
    state.add_user("U0REQ", "rita")
    state.add_user("U0LEAD", "lena")
    slack = start_fake_slack(state=state, threads=8)
    tmp = tempfile.TemporaryDirectory(prefix="bench-pacing-")
    stop = threading.Event()
    workers: list[threading.Thread] = []
    try:
        db_url = step_database(database_url, Path(tmp.name), "pacing")
        settings = _settings(state, slack.url, db_url)
        engine = make_engine(db_url)
        migrate(engine)

        # N cases awaiting the customer, their status cards already in the channel (the thread parents).
        parents = [state.post_message(CHANNEL, text=f"Status card {i}").ts for i in range(plan.changes)]
        apps = [SeededApp(f"project-{i}", f"key-{i}", "secret", f"APP{i:022d}", Region.EU)
                for i in range(plan.changes)]
        now = utcnow()
        ids = seed_awaiting_customer(engine, SecretBox(settings.bot_secret_key.reveal()), apps, now=now,
                                     channel=CHANNEL, thread_ts=parents)
        # The status changes, as a sweep would apply them: one transaction per case.
        # No Page name: a named Page that is not the requested one would add a mismatch reply per case.
        pending = MessengerStatus(status=ChannelStatus.PENDING)
        for case_id in ids:
            with session_scope(engine) as session:
                workflow.apply_channel_status(session=session, onboarding_id=case_id, reading=pending, now=now)
        with session_scope(engine) as session:
            replies = {int(row.id or 0): row.onboarding_id for row in session.exec(
                select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.REPLY))}
        if len(replies) != plan.changes:
            raise RuntimeError(f"expected {plan.changes} queued replies, found {len(replies)}")

        waits: list[float] = []
        dispatchers = [
            OutboxDispatcher(engine=engine, client=make_web_client(settings, background=True, sleep=clock.sleeper(),
                                                                   on_rate_limit=waits.append),
                             approvers=("U0LEAD",), clock=utcnow, owner=f"process-{number}",
                             post_interval=POST_INTERVAL, wall=clock.wall, sleep=clock.sleeper(),
                             on_rate_limit=waits.append)
            for number in range(processes)]
        state.latency_ms = SLACK_LATENCY_MS
        state.enable_post_rate_limit(per_channel_per_second=1.0 / POST_INTERVAL, burst=1)

        began_virtual, began_real = clock.wall(), time.perf_counter()
        workers = [threading.Thread(target=outbox.run, args=(stop,), kwargs={"idle_seconds": 0.5}, daemon=True,
                                    name=f"outbox-{number}") for number, outbox in enumerate(dispatchers)]
        for worker in workers:
            worker.start()
        # Watch (bounded: 3 benchmark-seconds per change plus a minute), injecting 429s at even intervals.
        marks = [plan.changes * (k + 1) // (plan.injected_429s + 1) for k in range(plan.injected_429s)]
        deadline = time.monotonic() + (plan.changes * 3 * POST_INTERVAL + 60) * plan.time_scale
        delivered = 0
        while time.monotonic() < deadline:
            with session_scope(engine) as session:
                delivered = len(session.exec(select(OutboxMessage.id).where(OutboxMessage.kind == OutboxKind.REPLY)
                                             .where(OutboxMessage.status == OutboxStatus.DELIVERED)).all())
            while marks and delivered >= marks[0]:
                marks.pop(0)
                state.add_fault("chat.postMessage", status=429, retry_after=INJECTED_RETRY_AFTER, count=1)
            if delivered >= plan.changes:
                break
            time.sleep(min(1.0, max(0.01, POST_INTERVAL * plan.time_scale / 2)))
        finished_virtual, finished_real = clock.wall(), time.perf_counter()
        stop.set()
        for outbox, worker in zip(dispatchers, workers, strict=True):
            outbox.wake()
            worker.join(timeout=30)

        with session_scope(engine) as session:
            statuses = Counter(row.status.value for row in session.exec(
                select(OutboxMessage).where(col(OutboxMessage.id).in_(list(replies)))))
        engine.dispose()
    finally:
        stop.set()
        slack.stop()
        tmp.cleanup()

    # What reached Slack: replies in the channel carrying our metadata, and every postMessage attempt.
    posted = [m for m in state.messages(CHANNEL) if m.is_reply and (m.metadata or {}).get("event_type")
              == METADATA_EVENT]
    posted_ids = [int((m.metadata or {})["event_payload"]["outbox_id"]) for m in posted]
    duplicates = len(posted_ids) - len(set(posted_ids))
    lost = sorted(set(replies) - set(posted_ids))
    calls = state.calls_to("chat.postMessage")
    ok_times = sorted(c.time for c in calls if c.status == 200 and c.error is None)
    refused = [c for c in calls if c.status == 429]
    updates = len(state.calls_to("chat.update"))
    # Each 429 must be followed by a wait of its Retry-After, and the retry must arrive no sooner.
    honoured = len(waits) == len(refused)
    for call, wait in zip(refused, waits, strict=False):
        later = [c.time for c in calls if c.time > call.time]
        if not later or min(later) + TOLERANCE < call.time + wait:
            honoured = False
    gaps = [b - a for a, b in zip(ok_times, ok_times[1:], strict=False)]
    span = ok_times[-1] - ok_times[0] if len(ok_times) > 1 else 0.0
    floor = (plan.changes - 1) * POST_INTERVAL
    sustained = (len(ok_times) - 1) / span if span else 0.0
    per_second = _max_in_window(ok_times, POST_INTERVAL - TOLERANCE) if ok_times else 0
    per_minute = _max_in_window(ok_times, 60.0) if ok_times else 0
    total = finished_virtual - began_virtual

    exactly_once = statuses.get("delivered", 0) == plan.changes and not lost and duplicates == 0
    result.figures += [
        Figure("replies delivered exactly once", len(set(posted_ids)), "", f"= {plan.changes}",
               exactly_once and len(posted_ids) == plan.changes, baseline=f"{duplicates} dup / {len(lost)} lost"),
        Figure("first → last post", round(span, 1), "s", "≥ floor (pacing)", span + TOLERANCE >= floor,
               baseline=f"floor {floor:g} s"),
        Figure("  ÷ floor", round(span / floor, 3) if floor else None, "×", f"≤ {SPAN_TARGET}",
               bool(floor) and span / floor <= SPAN_TARGET),
        Figure("total: changes committed → last delivered", round(total, 1), "s", "-", None,
               baseline=f"{plan.changes * POST_INTERVAL:g} s (N × 1 s)"),
        Figure("sustained posts/s in the channel", round(sustained, 3), "/s", "≤ 1", sustained <= 1.0 + 1e-6),
        Figure("most posts in any 1 s", per_second, "", "≤ 1", per_second <= 1),
        Figure("shortest gap between posts", round(min(gaps), 3) if gaps else None, "s", "-", None,
               baseline=f"mean {sum(gaps) / len(gaps):.3f} s" if gaps else None),
        Figure("429s answered", len(refused), "", "-", None,
               baseline=f"{plan.injected_429s} injected"),
        Figure("429s waited out (Retry-After)", len(waits), "", f"= {len(refused)}, retry ≥ Retry-After later",
               honoured),
    ]
    result.details = {
        "processes": processes, "database": _kind(database_url),
        "changes": plan.changes, "time_scale": plan.time_scale, "post_interval_s": POST_INTERVAL,
        "slack_latency_ms": SLACK_LATENCY_MS, "rate_limit": {"per_channel_per_second": 1.0, "burst": 1},
        "delivered_rows": dict(statuses), "posted": len(posted_ids), "duplicates": duplicates, "lost": lost[:20],
        "post_attempts": len(calls), "rate_limited": len(refused), "retry_after_waits_s": waits,
        "card_updates": updates, "first_to_last_post_s": span, "floor_s": floor,
        "total_virtual_s": total, "total_real_s": finished_real - began_real,
        "gaps_s": {"min": min(gaps) if gaps else None, "max": max(gaps) if gaps else None,
                   "mean": sum(gaps) / len(gaps) if gaps else None},
        "max_posts_in_1s": per_second, "max_posts_in_60s": per_minute, "sustained_per_s": sustained,
    }
    if plan.time_scale != 1.0:
        result.notes.append(f"Scaled clock: 1 benchmark second = {plan.time_scale:g} real seconds "
                            "(tiny smoke mode only); figures are in benchmark seconds.")
    result.notes.append(f"{processes} dispatcher(s) sharing the outbox and the channel's slot through the "
                        f"{_kind(database_url)} database, each with its own lease name and "
                        "Slack client (threads of one process standing in for separate bot processes).")
    result.notes.append(f"{plan.changes} channel-status changes (AWAITING_CUSTOMER → ACTIVATING) in one channel: "
                        f"{plan.changes} thread replies (paced posts) and {plan.changes} card updates (chat.update, "
                        "not paced). Fake Slack: 1 post/s/channel, burst 1, 50 ms latency; "
                        f"{plan.injected_429s} extra 429 (Retry-After {INJECTED_RETRY_AFTER} s) injected.")
    result.duration_s = time.perf_counter() - started
    return result


def _kind(database_url: str | None) -> str:
    return "PostgreSQL" if database_url and database_url.startswith("postgres") else "SQLite"
