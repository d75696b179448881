"""Poll-sweep scaling: N cases awaiting the customer, the sandbox's status route slowed to L ms.

For each size a fresh database and sandbox are seeded, then a separate bot process (`bench.sweep_worker`)
sweeps twice: once to warm the per-key token cache, then the measured sweep. Ideal = N·L / concurrency.
"""

from __future__ import annotations

import re
import tempfile
import time
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
TARGET_RATIO = 1.25


@dataclass(frozen=True)
class SweepPlan:
    sizes: tuple[int, ...]
    latency_ms: float


PLANS = {"tiny": SweepPlan((20,), 5.0), "full": SweepPlan((100, 1_000, 10_000), 50.0)}


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
              profile: Path | None = None, timeout: float = 1800, database_url: str | None = None) -> dict[str, Any]:
    """Seed `count` cases, run the worker process, return its JSON plus the sandbox's view of the run."""
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
        args += ["--warmup"] if warmup else []
        args += ["--baseline"] if baseline else []
        # py-spy samples every thread of the worker, idle ones too: where the poll workers' wall time goes.
        prefix = ["py-spy", "record", "--idle", "--format", "raw", "--rate", "250", "--output", str(profile), "--"] \
            if profile else []
        data = run_python(args, python_env(sandbox_env(running.url, db_url, secret_key)), timeout=timeout,
                          prefix=prefix)
    finally:
        running.stop()
    counts = sandbox.state.snapshot()["request_counts"]
    data["sandbox_status_reads"] = sum(v for k, v in counts.items() if k.startswith("GET ") and k.endswith("{app}"))
    data["sandbox_token_requests"] = counts.get("POST /oauth2/token", 0)
    return data


def run(size: str, *, profile_dir: Path | None = None, database_url: str | None = None) -> BenchResult:
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
            data = run_sweep(count, latency_ms=plan.latency_ms, workdir=Path(tmp), warmup=True, baseline=True,
                             profile=profile, database_url=database_url)
            concurrency = int(data["concurrency"])
            ideal = count * plan.latency_ms / 1000 / concurrency
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
                "raw_reads_s": round(float(data["raw_reads"]["seconds"]), 3),
                "raw_ratio": round(float(data["raw_reads"]["seconds"]) / ideal, 3),
                "warmup_sweep_s": round(float(data["warmup"]["seconds"]), 3),
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
            result.figures.append(Figure(
                f"sweep time, N={count:,}", seconds, "s", f"≤ {TARGET_RATIO}× ideal = {ideal * TARGET_RATIO:.3g} s",
                polled == count and ratio <= TARGET_RATIO, baseline=float(data["raw_reads"]["seconds"])))
            result.figures.append(Figure(f"  ÷ ideal N·L/c = {ideal:.3g} s", ratio, "×", f"≤ {TARGET_RATIO}",
                                         ratio <= TARGET_RATIO, baseline=round(float(data["raw_reads"]["seconds"])
                                                                              / ideal, 3)))
    constant = max(per_case) - min(per_case) < 1e-9
    result.figures.append(Figure("SQL statements per case", per_case[-1], "", "constant across sizes", constant,
                                 baseline=" / ".join(f"{v:.2f}" for v in per_case)))
    result.details = {"latency_ms": plan.latency_ms, "sizes": per_size, "statements_per_case": per_case}
    result.notes.append(f"L = {plan.latency_ms:g} ms on GET …/apps/{{app}}; c = POLL_CONCURRENCY = {concurrency}; "
                        "baseline = the same N status reads through the bot's SinchClient on a pool of c "
                        "threads, without the database.")
    result.notes.append("Statements per case = statements issued on poll worker threads ÷ cases polled "
                        "(the sweep's own due-query is the fixed part); the measured sweep follows a warm-up sweep "
                        "that fills the per-key token cache.")
    result.duration_s = time.perf_counter() - started
    return result
