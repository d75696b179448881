"""Ack latency: 20 concurrent clients sending signed `/onboard` commands and Approve clicks over HTTP.

The bot runs as `python -m bot run --host 127.0.0.1` in its own process (waitress, HTTP mode), the fake
Slack (50 ms injected latency on every Web API call) and the Sinch sandbox run on loopback in this
process. The baseline, in the same run and with the same requests, is a minimal Bolt app that only acks
(`bench.baseline_server`) on the same server stack; the floor (`bench.floor_server`) adds to it only the work no
bot can skip, in SQL written once as text. The figure is the HTTP response time Slack would see.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import col, func, select

from bench import common
from bench.ack_client import CHANNEL, LEAD, Client, Sample, floor_figures, ramp_figures
from bench.ack_seed import fake_slack, seed_approval_requests
from bench.baseline_server import BASELINE_THREADS
from bench.common import BenchResult, Figure, free_port, percentile, python_env, stop_process, wait_healthy
from bench.pyspy import PySpy, summarize
from bot.serving import HTTP_THREADS
from devslack import FakeMessage, RunningFakeSlack, SlackUserSimulator
from sinch.sandbox import start_in_thread
from store.db import make_engine, session_scope
from store.models import Onboarding
from store.secrets import generate_key
from store.states import OnboardingState

__all__ = ["AckPlan", "run"]

SIGNING_SECRET = "bench-signing-secret-0123456789"
SLACK_LATENCY_MS = 50
P99_LIMIT_MS = 100.0
P99_RATIO = 1.5  # paced: the ack path itself
BURST_P99_RATIO = 3.0  # back to back (issue 22): the server runs flat out, so this is throughput as much as latency


@dataclass(frozen=True)
class Phase:
    """One load shape: every client sends `per_client` requests, `interval_ms` apart (0: back to back);
    `clients` overrides the plan's count (the ramp's steps)."""

    name: str
    per_client: int
    interval_ms: float
    clients: int | None = None


@dataclass(frozen=True)
class AckPlan:
    clients: int
    phases: tuple[Phase, ...]
    warmup: int  # sequential requests per server before measuring (not counted)


# "burst": the literal reading of the issue, each client sends its next request as soon as the last one is
# answered, so the server runs flat out and latency = clients / throughput. "paced": the same 20 clients,
# each sending every 200 ms (100 requests/s in all, far above this bot's real traffic), so the figure is
# the ack path itself rather than how fast the post-ack work drains. The ramp (issue 22): closed loops of 20,
# 50, 100 and 200 clients, for the headroom: where the slowest ack nears Slack's 3 s.
RAMP_CLIENTS = (20, 50, 100, 200)
RAMP_MAX_MS = 2000.0  # the slowest ack at 200 clients


def _ramp(per_client: int) -> tuple[Phase, ...]:
    return tuple(Phase(f"ramp-{clients}", per_client, 0, clients=clients) for clients in RAMP_CLIENTS)


PLANS = {
    "tiny": AckPlan(clients=20, phases=(Phase("paced", 1, 200), Phase("burst", 1, 0)), warmup=4),
    "small": AckPlan(clients=20, phases=(Phase("paced", 15, 200), Phase("burst", 15, 0), *_ramp(4)), warmup=8),
    "full": AckPlan(clients=20, phases=(Phase("paced", 50, 200), Phase("burst", 50, 0), *_ramp(10)), warmup=20),
}


def _clients(plan: AckPlan, phase: Phase) -> int:
    return phase.clients if phase.clients is not None else plan.clients


# -- setting the scene -------------------------------------------------------------------------


def _bot_env(slack: RunningFakeSlack, sandbox_url: str, db_url: str, port: int) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": slack.state.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_APP_TOKEN": "",  # HTTP mode
        "SLACK_API_URL": slack.url,
        "ONBOARDING_CHANNEL": CHANNEL,
        "APPROVERS": f"{LEAD},S0LEADS",
        "BOT_SECRET_KEY": generate_key(),
        "DATABASE_URL": db_url,
        "SINCH_AUTH_URL": sandbox_url,
        "SINCH_CONVERSATION_URL": f"{sandbox_url}/conversation/{{region}}",
        "SINCH_PROVISIONING_URL": f"{sandbox_url}/provisioning",
        # Thousands of seeded cases for four requesters: the hourly limit would turn every `/onboard` into
        # a refusal (no views.open) and measure something else.
        "INTAKE_LIMIT_PER_HOUR": "0",
        "SINCH_USE_PROVISIONING": "false",
        "ALLOW_SELF_APPROVAL": "false",
        "PORT": str(port),
        "LOG_LEVEL": "INFO",
    }


# -- load --------------------------------------------------------------------------------------


def _schedule(plan: AckPlan, phase: Phase, clicks: list[FakeMessage]) -> list[list[tuple[str, FakeMessage | None]]]:
    """Per client: (kind, message) in order, commands and clicks alternating; each click on its own case."""
    queue = iter(clicks)
    return [[("click", next(queue)) if (number + step) % 2 else ("command", None) for step in range(phase.per_client)]
            for number in range(_clients(plan, phase))]


def _clicks_in(plan: AckPlan, phase: Phase) -> int:
    return sum((number + step) % 2 for number in range(_clients(plan, phase)) for step in range(phase.per_client))


def _load(ports: list[int], sim: SlackUserSimulator, plan: AckPlan, phase: Phase,
          clicks: list[FakeMessage]) -> tuple[list[Sample], float]:
    """All clients start together; each sends its schedule back to back or every `interval_ms`."""
    schedule = _schedule(plan, phase, clicks)
    clients = _clients(plan, phase)
    samples: list[Sample] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    errors: list[BaseException] = []
    interval = phase.interval_ms / 1000

    def client_loop(number: int) -> None:
        client = Client(ports, sim, first=number)
        mine: list[Sample] = []
        try:
            barrier.wait()
            # Paced clients are spread over the first interval, then keep their own cadence.
            due = time.perf_counter() + interval * number / clients
            for step, (kind, message) in enumerate(schedule[number]):
                if interval:
                    time.sleep(max(0.0, due - time.perf_counter()))
                    due += interval
                mine.append(client.send(kind, number * phase.per_client + step, message))
        except BaseException as exc:  # reported after the join
            errors.append(exc)
        finally:
            client.close_all()
            with lock:
                samples.extend(mine)

    threads = [threading.Thread(target=client_loop, args=(n,), name=f"client-{n}") for n in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=600)
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} client(s) failed: {errors[0]!r}")
    return samples, elapsed


def _serve_and_load(name: str, args: list[str], envs: list[dict[str, str]], ports: list[int], workdir: Path,
                    sim: SlackUserSimulator, plan: AckPlan, warmup: list[FakeMessage],
                    clicks: dict[str, list[FakeMessage]], settle: Callable[[int], int] | None = None,
                    profile_dir: Path | None = None) -> dict[str, Any]:
    """Start the server(s), warm up, run every phase; `settle(n)` waits for n approvals between phases."""
    logs = [(workdir / f"{name}-{index}.log").open("wb") for index in range(len(ports))]
    processes = [subprocess.Popen([sys.executable, *args], env=env, cwd=str(workdir), stdout=log, stderr=log)
                 for env, log in zip(envs, logs, strict=True)]
    out: dict[str, Any] = {}
    approved = 0
    try:
        for port, process in zip(ports, processes, strict=True):
            wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
        warm = Client(ports, sim)
        warm_queue = iter(warmup)
        for index in range(plan.warmup):
            kind = "click" if index % 2 else "command"
            sample = warm.send(kind, index, next(warm_queue) if kind == "click" else None)
            if sample.status != 200:
                raise RuntimeError(f"{name}: warm-up request answered {sample.status}")
        warm.close_all()
        approved += plan.warmup // 2
        if settle is not None:
            settle(approved)
        time.sleep(0.5)  # the warm-up's post-ack work (views.open, outbox) is done or nearly
        for phase in plan.phases:
            profile = profile_dir / f"ack-{name}-{phase.name}.pyspy.txt" if profile_dir is not None else None
            spy = PySpy(processes[0].pid, profile) if profile is not None else None
            server_cpu, own_cpu = sum(_cpu_seconds(p.pid) for p in processes), _own_cpu_seconds()
            try:
                with common.collector_paused():
                    samples, elapsed = _load(ports, sim, plan, phase, clicks[phase.name])
            finally:
                if spy is not None:
                    spy.stop()
            summary = _summary(samples, elapsed)
            summary["cpu_pct"] = {
                "servers": round(100 * (sum(_cpu_seconds(p.pid) for p in processes) - server_cpu) / elapsed, 1),
                "load_generator_and_fakes": round(100 * (_own_cpu_seconds() - own_cpu) / elapsed, 1)}
            approved += _clicks_in(plan, phase)
            if settle is not None:
                waited = time.perf_counter()
                summary["approved_after_ack"] = settle(approved) - (approved - _clicks_in(plan, phase))
                summary["post_ack_backlog_drained_s"] = round(time.perf_counter() - waited, 2)
            if profile is not None and profile.exists():
                summary["profile"] = summarize(profile)
            out[phase.name] = summary
    finally:
        for process in processes:
            stop_process(process)
        for log in logs:
            log.close()
    return out


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (from /proc; 0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def _summary(samples: list[Sample], elapsed: float) -> dict[str, Any]:
    def stats(values: list[float]) -> dict[str, float]:
        return {f"p{p}": round(percentile(values, p), 2) for p in (50, 95, 99)} | {
            "max": round(max(values), 2) if values else float("nan"), "count": len(values)}

    everything = [s.ms for s in samples]
    return {
        **stats(everything),
        "by_kind": {kind: stats([s.ms for s in samples if s.kind == kind]) for kind in ("command", "click")},
        "statuses": {str(code): sum(1 for s in samples if s.status == code) for code in sorted({s.status
                                                                                                for s in samples})},
        "requests": len(samples),
        "throughput_rps": round(len(samples) / elapsed, 1) if elapsed else None,
    }


def _approved(db_url: str, expected: int, *, timeout: float = 60.0) -> int:
    """Wait (bounded) until the bot has approved `expected` cases in all; how many it has."""
    engine = make_engine(db_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with session_scope(engine) as session:
                approved = int(session.exec(select(func.count()).select_from(Onboarding).where(
                    col(Onboarding.state) == OnboardingState.CREATING_PROJECT)).one())
            if approved >= expected or time.monotonic() > deadline:
                return approved
            time.sleep(0.1)
    finally:
        engine.dispose()


def run(size: str, *, profile_dir: Path | None = None, processes: int = 1,
        database_url: str | None = None) -> BenchResult:
    plan = PLANS[size]
    result = BenchResult("ack", size)
    started = time.perf_counter()
    needed = {phase.name: _clicks_in(plan, phase) for phase in plan.phases}
    warm_clicks = plan.warmup // 2
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-ack-") as tmp:
        workdir = Path(tmp)
        slack = fake_slack()
        sandbox = start_in_thread(threads=8)
        try:
            db_url = common.step_database(database_url, workdir, "ack")
            messages = iter(seed_approval_requests(db_url, slack, warm_clicks + sum(needed.values())))
            warmup = [next(messages) for _ in range(warm_clicks)]
            clicks = {name: [next(messages) for _ in range(count)] for name, count in needed.items()}
            slack.state.latency_ms = SLACK_LATENCY_MS
            sim = SlackUserSimulator.for_server(slack, signing_secret=SIGNING_SECRET)
            runs: dict[str, dict[str, Any]] = {}
            # The floor goes last and approves the bot's cases again, from the requests as they were posted
            # (the bot's outbox has since replaced their buttons); its SQL does not look at the state.
            unanswered = copy.deepcopy((warmup, clicks))
            for name, args in (("baseline", ["-m", "bench.baseline_server"]),
                               ("bot", ["-m", "bot", "run", "--host", "127.0.0.1"]),
                               ("floor", ["-m", "bench.floor_server"])):
                ports = [free_port() for _ in range(processes)]
                envs = [python_env(_bot_env(slack, sandbox.url, db_url, port)) for port in ports]
                settle = (lambda n: _approved(db_url, n)) if name == "bot" else None
                runs[name] = _serve_and_load(name, args, envs, ports, workdir, sim, plan,
                                             *(unanswered if name == "floor" else (warmup, clicks)),
                                             settle=settle, profile_dir=profile_dir)
        finally:
            sandbox.stop()
            slack.stop()

    for phase in plan.phases:
        bot, base = runs["bot"][phase.name], runs["baseline"][phase.name]
        result.figures += floor_figures(phase.name, runs["floor"][phase.name], base)
        if phase.clients is not None:
            result.figures += ramp_figures(phase.name, phase.clients, bot, base, needed[phase.name],
                                           limit_ms=RAMP_MAX_MS if phase.clients == max(RAMP_CLIENTS) else None)
            continue
        shape = f"every {phase.interval_ms:g} ms" if phase.interval_ms else "back to back"
        label = f"{phase.name} ({shape})"
        ratio = bot["p99"] / base["p99"] if base["p99"] else float("inf")
        ratio_limit = P99_RATIO if phase.interval_ms else BURST_P99_RATIO
        result.figures += [
            Figure(f"{label}: p50", bot["p50"], "ms", "-", None, baseline=base["p50"]),
            Figure(f"{label}: p95", bot["p95"], "ms", "-", None, baseline=base["p95"]),
            Figure(f"{label}: p99", bot["p99"], "ms", f"< {P99_LIMIT_MS:g} ms", bot["p99"] < P99_LIMIT_MS,
                   baseline=base["p99"]),
            Figure(f"{label}: p99 ÷ baseline p99", round(ratio, 2), "×", f"≤ {ratio_limit:g}", ratio <= ratio_limit),
            Figure(f"{label}: answered 200", bot["statuses"].get("200", 0), "", f"= {bot['requests']}",
                   bot["statuses"] == {"200": bot["requests"]}, baseline=base["statuses"].get("200", 0)),
            Figure(f"{label}: approvals applied", bot["approved_after_ack"], "", f"= {needed[phase.name]}",
                   bot["approved_after_ack"] == needed[phase.name]),
            Figure(f"{label}: throughput", bot["throughput_rps"], "req/s", "-", None,
                   baseline=base["throughput_rps"]),
        ]
    result.details = {
        "processes": processes, "database": _kind(database_url),
        "clients": plan.clients, "slack_latency_ms": SLACK_LATENCY_MS,
        "phases": {phase.name: {"clients": _clients(plan, phase), "per_client": phase.per_client,
                                "interval_ms": phase.interval_ms,
                                "clicks": needed[phase.name], "bot": runs["bot"][phase.name],
                                "baseline": runs["baseline"][phase.name],
                                "floor": runs["floor"][phase.name]} for phase in plan.phases},
    }
    result.notes.append(f"{plan.clients} clients, alternating `/onboard` (the bot opens the intake modal, then "
                        "answers) and Approve clicks (each on its own case; the approval commits, then the bot "
                        "answers); times are per HTTP request as a loopback client sees them.")
    result.notes.append(f"{processes} process(es) of each server on one "
                        f"{_kind(database_url)} database; each client sends its requests to them "
                        "in turn (round robin).")
    result.notes.append("All three servers: waitress behind `bot.runtime.make_wsgi_app`, in their own process, the "
                        f"bot and the floor with {HTTP_THREADS} threads (HTTP_THREADS), the baseline with "
                        f"{BASELINE_THREADS} (bare Bolt's best: bench/baseline_server.py); fake Slack (50 ms per "
                        "Web API call) and Sinch sandbox on loopback.")
    result.duration_s = time.perf_counter() - started
    return result


def _kind(database_url: str | None) -> str:
    return "PostgreSQL" if database_url and database_url.startswith("postgres") else "SQLite"
