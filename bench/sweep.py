"""Poll-sweep scaling: N cases awaiting the customer, the sandbox's status route slowed to L ms.

For each size a fresh database and sandbox are seeded, then a separate bot process (`bench.sweep_worker`)
sweeps twice: once to warm the per-key token cache, then the measured sweep. Ideal = N·L / concurrency.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import BenchResult, Figure, python_env, run_python, step_database
from bench.pyspy import summarize
from bench.seed import seed_awaiting_customer, seed_sandbox_apps
from sinch.sandbox import make_app, start_in_thread
from store.db import make_engine, migrate
from store.models import utcnow
from store.secrets import SecretBox, generate_key

__all__ = ["STATUS_ROUTE", "SweepPlan", "run", "run_sweep", "sandbox_env"]

# The status read the sweep makes: GET .../apps/{app} (the Conversation API; Provisioning is opt-in).
STATUS_ROUTE = re.compile(r"/v1/projects/[^/]+/apps/[^/]+$")
CHANNEL = "C0ONBOARD"
TARGET_RATIO = 1.3  # issue 22 (was 1.25)


@dataclass(frozen=True)
class SweepPlan:
    sizes: tuple[int, ...]
    latency_ms: float


PLANS = {"tiny": SweepPlan((20,), 5.0), "small": SweepPlan((100, 1_000), 50.0),
         "full": SweepPlan((100, 1_000, 10_000), 50.0)}
STARTUP_ALLOWANCE_S = 6.0  # for several workers to import, build the runtime and wait at the start line


def sandbox_env(url: str, db_url: str, secret_key: str) -> dict[str, str]:
    """The bot's environment for a sweep: the sandbox for Sinch, Slack on a closed loopback port (never used)."""
    return {
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": "bench-signing-secret",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        "ONBOARDING_CHANNEL": CHANNEL,
        "APPROVERS": "U0LEAD",
        "BOT_SECRET_KEY": secret_key,
        "DATABASE_URL": db_url,
        "SINCH_AUTH_URL": url,
        "SINCH_CONVERSATION_URL": f"{url}/conversation/{{region}}",
        "SINCH_PROVISIONING_URL": f"{url}/provisioning",
        "LOG_LEVEL": "WARNING",
    }


def run_sweep(count: int, *, latency_ms: float, workdir: Path, warmup: bool, baseline: bool,
              profile: Path | None = None, timeout: float = 1800, processes: int = 1,
              database_url: str | None = None) -> dict[str, Any]:
    """Seed `count` cases, run the worker process(es), return the JSON plus the sandbox's view of the run.

    With several processes they share one database and start the measured sweep at the same moment; the
    result then holds each worker's JSON under "workers" and the sweep from the first start to the last end.
    """
    sandbox = make_app()
    apps = seed_sandbox_apps(sandbox.state, count)
    secret_key = generate_key()
    db_url = step_database(database_url, workdir, f"sweep-{count}")
    engine = make_engine(db_url)
    migrate(engine)
    seed_awaiting_customer(engine, SecretBox(secret_key), apps, now=utcnow(), channel=CHANNEL)
    engine.dispose()
    if latency_ms:
        sandbox.state.add_fault(path_regex=STATUS_ROUTE, method="GET", remaining=-1, latency_ms=latency_ms)
    running = start_in_thread(app=sandbox, threads=48)
    try:
        args = ["-m", "bench.sweep_worker"]
        # Several workers fill their token caches without a sweep, so that they start as warm as one does.
        args += ["--warmup"] if warmup else ["--warm-tokens"]
        args += ["--baseline"] if baseline else []
        # py-spy samples every thread of the worker, idle ones too: where the poll workers' wall time goes.
        prefix = ["py-spy", "record", "--idle", "--format", "raw", "--rate", "250", "--output", str(profile), "--"] \
            if profile else []
        env = python_env(sandbox_env(running.url, db_url, secret_key))
        if processes == 1:
            data = run_python(args, env, timeout=timeout, prefix=prefix)
        else:
            data = _shared_sweep(args, env, processes=processes, timeout=timeout)
    finally:
        running.stop()
    counts = sandbox.state.snapshot()["request_counts"]
    data["sandbox_status_reads"] = sum(v for k, v in counts.items() if k.startswith("GET ") and k.endswith("{app}"))
    data["sandbox_token_requests"] = counts.get("POST /oauth2/token", 0)
    return data


def _shared_sweep(args: list[str], env: dict[str, str], *, processes: int, timeout: float) -> dict[str, Any]:
    """`processes` workers on one database, each starting its sweep at the same wall-clock moment."""
    start_at = time.time() + STARTUP_ALLOWANCE_S + processes
    with ThreadPoolExecutor(max_workers=processes) as pool:
        workers = list(pool.map(lambda _: run_python([*args, "--start-at", f"{start_at:.3f}"], env, timeout=timeout),
                                range(processes)))
    statements: dict[str, Any] = {"total": 0, "by_kind": Counter(), "by_thread": Counter()}
    report: Counter[str] = Counter()
    for worker in workers:
        statements["total"] += worker["sweep"]["statements"]["total"]
        statements["by_kind"].update(worker["sweep"]["statements"]["by_kind"])
        statements["by_thread"].update(worker["sweep"]["statements"]["by_thread"])
        report.update({k: v for k, v in worker["sweep"]["report"].items() if isinstance(v, int)})
    late = max(worker["started_wall"] for worker in workers) - start_at
    seconds = max(worker["ended_wall"] for worker in workers) - min(worker["started_wall"] for worker in workers)
    return {"concurrency": workers[0]["concurrency"], "workers": workers, "latest_start_after_target_s": late,
            "sweep": {"seconds": seconds, "report": dict(report), "errors": [],
                      "statements": {**statements, "by_kind": dict(statements["by_kind"]),
                                     "by_thread": dict(statements["by_thread"])},
                      "per_worker_polled": [worker["sweep"]["report"]["polled"] for worker in workers]},
            "rss_mb_after_sweep": workers[0]["rss_mb_after_sweep"]}


def run(size: str, *, profile_dir: Path | None = None, processes: int = 1,
        database_url: str | None = None) -> BenchResult:
    plan = PLANS[size]
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
    result = BenchResult("sweep", size)
    started = time.perf_counter()
    per_size: dict[str, Any] = {}
    per_case: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        for count in plan.sizes:
            profile = profile_dir / f"sweep-{count}.pyspy.txt" if profile_dir is not None else None
            alone = processes == 1  # warm-up and the bare-reads baseline only when one process sweeps
            data = run_sweep(count, latency_ms=plan.latency_ms, workdir=Path(tmp), warmup=alone, baseline=alone,
                             profile=profile if alone else None, processes=processes, database_url=database_url)
            concurrency = int(data["concurrency"])
            ideal = count * plan.latency_ms / 1000 / concurrency / processes
            raw = float(data["raw_reads"]["seconds"]) if alone else None
            sweep = data["sweep"]
            seconds = float(sweep["seconds"])
            polled = int(sweep["report"]["polled"])
            statements = sweep["statements"]
            poll_statements = int(statements["by_thread"].get("poll", 0))
            per_case.append(poll_statements / max(polled, 1))
            ratio = seconds / ideal
            per_size[str(count)] = {
                "cases": count, "polled": polled, "failed": sweep["report"]["failed"],
                "sweep_s": round(seconds, 3), "ideal_s": round(ideal, 3), "ratio": round(ratio, 3),
                "raw_reads_s": round(raw, 3) if raw is not None else None,
                "raw_ratio": round(raw / ideal, 3) if raw is not None else None,
                "warmup_sweep_s": round(float(data["warmup"]["seconds"]), 3) if alone else None,
                "per_worker_polled": sweep.get("per_worker_polled"),
                "latest_start_after_target_s": data.get("latest_start_after_target_s"),
                "statements_total": statements["total"],
                "statements_per_case": round(poll_statements / max(polled, 1), 3),
                "statements_per_sweep_fixed": int(statements["by_thread"].get("sweep", 0)),
                "statements_by_kind": statements["by_kind"],
                "sandbox_status_reads": data["sandbox_status_reads"],
                "sandbox_token_requests": data["sandbox_token_requests"],
                "rss_mb": data["rss_mb_after_sweep"],
                "errors": sweep["errors"],
            }
            if profile is not None and profile.exists():
                per_size[str(count)]["profile"] = summarize(profile)
            label = f"N·L/(c·{processes})" if processes > 1 else "N·L/c"
            result.figures.append(Figure(
                f"sweep time, N={count:,}", seconds, "s", f"≤ {TARGET_RATIO}× ideal = {ideal * TARGET_RATIO:.3g} s",
                polled == count and ratio <= TARGET_RATIO, baseline=raw))
            result.figures.append(Figure(f"  ÷ ideal {label} = {ideal:.3g} s", ratio, "×", f"≤ {TARGET_RATIO}",
                                         ratio <= TARGET_RATIO, baseline=round(raw / ideal, 3) if raw else None))
    constant = max(per_case) - min(per_case) < 1e-9
    result.figures.append(Figure("SQL statements per case", per_case[-1], "", "constant across sizes", constant,
                                 baseline=" / ".join(f"{v:.2f}" for v in per_case)))
    result.details = {"latency_ms": plan.latency_ms, "sizes": per_size, "statements_per_case": per_case,
                      "processes": processes,
                      "database": "PostgreSQL" if database_url and database_url.startswith("postgres") else "SQLite"}
    if processes > 1:
        result.notes.append(f"{processes} worker processes share one sweep: each claims due cases in chunks "
                            "(store/leases.py) and they start at the same moment; instead of a warm-up sweep each "
                            "worker first fetches every key's token (not timed); no bare-reads baseline.")
    result.notes.append(f"L = {plan.latency_ms:g} ms on GET …/apps/{{app}}; c = POLL_CONCURRENCY = {concurrency}; "
                        "baseline = the same N status reads through the bot's SinchClient on a pool of c "
                        "threads, without the database.")
    result.notes.append("Statements per case = statements issued on poll worker threads ÷ cases polled "
                        "(the sweep's own due-query is the fixed part); the measured sweep follows a warm-up sweep "
                        "that fills the per-key token cache.")
    result.duration_s = time.perf_counter() - started
    return result
