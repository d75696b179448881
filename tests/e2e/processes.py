"""Starting the bot and the sandbox as real processes on loopback, for end-to-end tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from devslack import loopback

ROOT = Path(__file__).resolve().parents[2]


def wait_until(condition: Callable[[], object], *, timeout: float = 20.0, what: str = "condition") -> None:
    """Poll `condition` until it is truthy; a process test has no other way to see another process act."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def _python(args: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONUNBUFFERED": "1", **env}
    with log.open("wb") as output:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, env=full_env, stdout=output,
                                stderr=subprocess.STDOUT)


def bound_url(process: subprocess.Popen[bytes], log: Path, pattern: str) -> str:
    """The URL a process started on port 0 logged once it was listening (`pattern` has one group: the URL).

    Port 0 lets the kernel pick a free port at bind time: picking one here and passing it on would leave a
    window in which another process (a parallel test run) can take it.
    """
    found: list[str] = []

    def logged() -> bool:
        text = log.read_text(errors="replace")
        if process.poll() is not None:
            raise AssertionError(f"{log.stem} exited:\n{text}")
        found.extend(re.findall(pattern, text)[:1])
        return bool(found)

    wait_until(logged, what=f"{log.stem} to listen")
    return found[0]


def start_sandbox(tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`python -m bot sandbox` on a free port; returns the process and its base URL."""
    log = tmp_path / "sandbox.log"
    process = _python(["bot", "sandbox", "--port", "0"], {}, log)
    return process, bound_url(process, log, r"listening on (http://\S+)")


def start_bot(tmp_path: Path, env: Mapping[str, str], *, name: str = "bot") -> tuple[subprocess.Popen[bytes], str]:
    """`python -m bot run` in HTTP mode on a free port; returns the process and its base URL once healthy."""
    log = tmp_path / f"{name}.log"
    process = _python(["bot", "run", "--host", "127.0.0.1"], {**env, "PORT": "0"}, log)
    url = bound_url(process, log, r"listening for Slack on (http://[^/\s]+)/slack/events")

    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the bot exited:\n{log.read_text(errors='replace')}")
        try:
            return loopback.get(f"{url}/healthz", timeout=1.0).text == "ok"
        except httpx.TransportError:
            return False

    wait_until(healthy, what="the bot's /healthz")
    return process, url


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
