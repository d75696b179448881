"""`python -m bench <ack|sweep|memory|pacing|register|idle|all> [--size tiny|small|full] [--processes N]
[--database-url URL] [--json PATH] [--profile DIR] [--minutes M --cases N … --mode http|socket …]`.

Prints each benchmark's table and writes its JSON (default `bench/results/<name>.json`). The exit status is
1 only when a benchmark could not run; a missed target is reported in the table and the JSON, not raised.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import BENCHMARKS, SIZES
from bench.common import BenchResult, print_table, write_result


def _runner(name: str, profile: Path | None, processes: int, database_url: str | None,
            args: argparse.Namespace) -> Callable[[str], BenchResult]:
    if name == "idle":
        from bench import idle

        return lambda size: idle.run(size, minutes=args.minutes, cases=args.cases, modes=args.mode,
                                     database_url=database_url, profile_dir=profile)
    if name == "ack":
        from bench import ack

        return lambda size: ack.run(size, profile_dir=profile, processes=processes, database_url=database_url)
    if name == "sweep":
        from bench import sweep

        return lambda size: sweep.run(size, profile_dir=profile, processes=processes, database_url=database_url)
    if name == "memory":
        from bench import memory

        return lambda size: memory.run(size, database_url=database_url)
    if name == "register":
        from bench import register

        return lambda size: register.run(size, database_url=database_url)
    from bench import pacing

    return lambda size: pacing.run(size, processes=processes, database_url=database_url)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=[*BENCHMARKS, "all"])
    parser.add_argument("--size", choices=SIZES, default="full",
                        help="tiny: a smoke run in seconds (what CI runs); small: a few minutes; full: the figures "
                             "(default)")
    parser.add_argument("--json", type=Path, help="where to write the JSON (one benchmark only; default "
                                                  "bench/results/<name>.json)")
    parser.add_argument("--processes", type=int, default=1, metavar="N",
                        help="ack, sweep, pacing: how many bot processes share the database (default 1)")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="ack, sweep, idle: record the bot process with py-spy into DIR and summarise it")
    parser.add_argument("--database-url", metavar="URL",
                        help="run on this scratch database (e.g. postgresql+psycopg://…/benchdb); EVERY TABLE IN IT "
                             "IS DROPPED before each step (default: temporary SQLite files)")
    parser.add_argument("--minutes", type=float, metavar="M", help="idle: the measured window (default by size: "
                                                                     "0.1, 2, 10)")
    parser.add_argument("--cases", type=int, action="append", metavar="N",
                        help="idle: open cases awaiting the customer, one run each (repeatable; default 0 and 1000)")
    parser.add_argument("--mode", choices=("http", "socket"), action="append",
                        help="idle: HTTP or Socket Mode (repeatable; default both)")
    args = parser.parse_args(argv)
    if args.processes < 1:
        parser.error("--processes must be at least 1")
    names = list(BENCHMARKS) if args.name == "all" else [args.name]
    if args.json is not None and len(names) > 1:
        parser.error("--json takes one benchmark; `all` writes bench/results/<name>.json each")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    failed = []
    for name in names:
        try:
            result = _runner(name, args.profile, args.processes, args.database_url, args)(args.size)
        except Exception:
            traceback.print_exc()
            print(f"\n{name}: could not run (see the traceback above)", file=sys.stderr)
            failed.append(name)
            continue
        if args.size == "tiny":
            result.notes.append("tiny size: a smoke run, too small for its figures to be judged against the targets")
        print_table(result)
        print(f"  JSON: {write_result(result, args.json)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
