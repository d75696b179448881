"""Optional profiling of a benchmark's bot process with py-spy (`pip install py-spy` into the venv).

`--profile` attaches `py-spy record --gil` to the bot process for the measured phase and summarises the
collapsed stacks it writes: where the GIL-holding (CPU) samples went, by library and by function.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

__all__ = ["PySpy", "available", "summarize"]

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::(?P<line>\d+))?\)$")
# Which part of the stack a file belongs to, first match wins.
_AREAS = (
    ("bot/", "bot"), ("store/", "store"), ("sinch/", "sinch"), ("bench/", "bench"),
    ("sqlalchemy/", "sqlalchemy"), ("sqlmodel/", "sqlmodel"), ("slack_bolt/", "slack_bolt"),
    ("slack_sdk/", "slack_sdk"), ("waitress/", "waitress"), ("httpx/", "httpx"), ("httpcore/", "httpcore"),
    ("cryptography/", "cryptography"), ("logging/", "logging"), ("json/", "json"), ("urllib/", "urllib"),
    ("http/", "http"), ("concurrent/", "concurrent"), ("threading.py", "threading"), ("ssl.py", "ssl"),
    ("sqlite3/", "sqlite3"), ("pydantic", "pydantic"), ("apscheduler/", "apscheduler"),
)


def available() -> bool:
    return shutil.which("py-spy") is not None


class PySpy:
    """`py-spy record` attached to a running process until `stop()`."""

    def __init__(self, pid: int, output: Path, *, gil: bool = True, rate: int = 250) -> None:
        if not available():
            raise RuntimeError("--profile needs py-spy: pip install py-spy (into the venv)")
        self.output = output
        args = ["py-spy", "record", "--pid", str(pid), "--format", "raw", "--output", str(output),
                "--rate", str(rate), "--nonblocking"]
        if gil:
            args.append("--gil")
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)


def _area(file: str) -> str:
    for marker, name in _AREAS:
        if marker in file:
            return name
    return "other"


def _parse(line: str) -> tuple[list[tuple[str, str]], int] | None:
    stack, _, count = line.rstrip("\n").rpartition(" ")
    if not stack or not count.isdigit():
        return None
    frames = []
    for raw in stack.split(";"):
        match = _FRAME.match(raw.strip())
        if match:
            frames.append((match["func"], match["file"] or ""))
        else:
            frames.append((raw.strip(), ""))
    return frames, int(count)


def summarize(path: Path, *, top: int = 12) -> dict[str, Any]:
    """Samples by leaf area, hottest leaf functions, and the bot/store/sinch functions most often on stack."""
    total = 0
    leaf_area: Counter[str] = Counter()
    leaf_func: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    entry: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parsed = _parse(line)
        if parsed is None:
            continue
        frames, count = parsed
        total += count
        func, file = frames[-1]
        leaf_area[_area(file)] += count
        leaf_func[f"{func} ({Path(file).name})"] += count
        seen: set[str] = set()
        for func, file in frames:
            if _area(file) in ("bot", "store", "sinch") and "devslack" not in file:
                key = f"{func} ({file.split('site-packages/')[-1]})"
                if key not in seen:
                    ours[key] += count
                    seen.add(key)
        # What the sampled thread was doing, at the level of the bot: its outermost bot/store/sinch frame.
        outer = next((f"{func} ({Path(file).name})" for func, file in frames
                      if _area(file) in ("bot", "store", "sinch")), "(no bot frame: server/framework)")
        entry[outer] += count

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [{"what": key, "samples": n, "pct": round(100 * n / total, 1) if total else 0.0}
                for key, n in counter.most_common(top)]

    return {"samples": total, "by_leaf_area": share(leaf_area), "hottest_leaf_functions": share(leaf_func),
            "bot_functions_inclusive": share(ours), "by_outermost_bot_frame": share(entry)}
