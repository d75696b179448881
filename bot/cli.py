"""The command line: `python -m bot <command>`.

Each subcommand is a small function taking the parsed arguments and returning an exit code.
Reading `.env` (from the working directory) and logging configuration happen here and nowhere else; every
variable is read through the settings (bot/config.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from dotenv import find_dotenv, load_dotenv

from bot.config import ConfigError, LoggingSettings, Settings, database_url_from_env, keyring_from_env
from bot.config_env import secrets_from_env
from bot.logs import configure_logging
from store.db import DatabaseDriverMissing

logger = logging.getLogger(__name__)

Command = Callable[[argparse.Namespace], int]


def _keygen(args: argparse.Namespace) -> int:
    """Print a fresh key for BOT_SECRET_KEY."""
    from store.secrets import generate_key

    print(generate_key())
    return 0


def _migrate(args: argparse.Namespace) -> int:
    """Bring the database schema up to date."""
    from store.db import make_engine, migrate

    url = database_url_from_env(os.environ)
    engine = make_engine(url)
    revision = migrate(engine)
    print(f"database at revision {revision}")
    return 0


def _rotate_key(args: argparse.Namespace) -> int:
    """Re-seal stored Sinch key secrets under the first key of BOT_SECRET_KEY."""
    from bot.ops.maintenance import rotate_key
    from store.db import make_engine, migrate
    from store.secrets import SecretBox, SecretUnreadable

    keyring = keyring_from_env(os.environ)
    if not keyring:
        raise ConfigError(["BOT_SECRET_KEY is required: put the new key first, then the old one, comma-separated"])
    try:
        box = SecretBox(keyring)
    except ValueError as exc:
        raise ConfigError([f"BOT_SECRET_KEY: {exc}"]) from None
    engine = make_engine(database_url_from_env(os.environ))
    migrate(engine)
    try:
        count = rotate_key(engine, box)
    except SecretUnreadable as exc:
        print(f"nothing changed: {exc}; include the old key after the new one", file=sys.stderr)
        return 1
    print(f"re-sealed {count} stored secret(s) under the first key; you can now drop the old key")
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    """Serve the Sinch sandbox (API stand-in plus dashboard control routes)."""
    from sinch.sandbox import serve

    serve(host=args.host, port=args.port)
    return 0


def _settings() -> Settings:
    return Settings.from_env(os.environ)


def _run(args: argparse.Namespace) -> int:
    """Run the bot: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on PORT; SIGTERM/SIGINT stop it gracefully."""
    import threading

    from bot.runtime import build_runtime
    from bot.serving import freeze_startup_heap, serve, stop_signals
    from bot.slack.socket_mode import SocketModeAuthError

    settings = _settings()
    stop = threading.Event()
    with stop_signals(stop):
        runtime = build_runtime(settings)
        freeze_startup_heap()
        runtime.start_background()
        try:
            serve(runtime, host=args.host, stop=stop)
        except SocketModeAuthError as exc:
            if not runtime.stop.is_set():  # refused at start: nothing was stopped yet
                runtime.shutdown(timeout=settings.shutdown_timeout)
            print(f"cannot connect to Slack: {exc}", file=sys.stderr)
            return 1
    logger.info("stopped")
    return 0


def _demo(args: argparse.Namespace) -> int:
    """One onboarding end to end against the built-in stand-ins; no credentials, no network."""
    from bot.ops.demo import run_demo

    return run_demo(socket_mode=args.socket_mode, database_url=args.database_url)


def _check(args: argparse.Namespace) -> int:
    """Validate configuration, database, Slack token and Sinch reachability."""
    from bot.ops.check import run_checks

    return 0 if run_checks(os.environ, sys.stdout) else 1


def _export(args: argparse.Namespace) -> int:
    """Write the audit trail of every onboarding to stdout."""
    from bot.ops.export import export_audit
    from store.db import make_engine

    engine = make_engine(database_url_from_env(os.environ))
    try:
        export_audit(engine, sys.stdout, fmt=args.format)
    finally:
        engine.dispose()
    return 0


def _review(args: argparse.Namespace) -> int:
    """`review --post-now`: open an access review now (the one the schedule owes, else a new one) and post it."""
    from bot.ops.review import post_review_now

    if not args.post_now:
        print("nothing to do: say --post-now to post an access review now", file=sys.stderr)
        return 2
    print(post_review_now(_settings()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Onboard an ASP's customers to Sinch's Facebook Messenger channel from Slack.",
    )
    parser.add_argument("--log-level", default=None,
                        help="DEBUG, INFO, WARNING… (default: LOG_LEVEL, else INFO; WARNING for demo)")
    commands = parser.add_subparsers(dest="command", metavar="<command>", required=True)

    demo = commands.add_parser("demo", help="run one onboarding end to end locally (no credentials, no network)")
    demo.add_argument("--socket-mode", action="store_true", help="connect to the Slack stand-in over Socket Mode")
    demo.add_argument("--database-url", default=None, metavar="URL",
                      help="keep the demo's case in this database (default: a temporary SQLite file); "
                           "DATABASE_URL is not read, so the demo never writes to a real bot's database")
    demo.set_defaults(handler=_demo)

    check = commands.add_parser("check", help="check configuration, database, Slack token and Sinch")
    check.set_defaults(handler=_check)

    export = commands.add_parser("export", help="print the audit trail of every onboarding")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.set_defaults(handler=_export)

    review = commands.add_parser("review", help="the weekly access review (ACCESS_REVIEW_SCHEDULE)")
    review.add_argument("--post-now", action="store_true",
                        help="post an access review now (once, even against a scheduled one at the same moment)")
    review.set_defaults(handler=_review)

    keygen = commands.add_parser("keygen", help="print a new key for BOT_SECRET_KEY")
    keygen.set_defaults(handler=_keygen)

    migrate = commands.add_parser("migrate", help="apply database migrations (DATABASE_URL)")
    migrate.set_defaults(handler=_migrate)

    run = commands.add_parser("run", help="run the bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP on PORT)")
    run.add_argument("--host", default="0.0.0.0", help="HTTP mode bind address (default 0.0.0.0)")
    run.set_defaults(handler=_run)

    rotate = commands.add_parser("rotate-key", help="re-encrypt stored secrets under the first BOT_SECRET_KEY key")
    rotate.set_defaults(handler=_rotate_key)

    sandbox = commands.add_parser("sandbox", help="serve the local Sinch sandbox")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.set_defaults(handler=_sandbox)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # The working directory's .env, whether the bot runs from its checkout or an installed package; the
    # environment wins over it.
    load_dotenv(find_dotenv(usecwd=True))
    parser = build_parser()
    args = parser.parse_args(argv)
    quiet_by_default = args.command in ("demo", "keygen", "export", "check")
    try:
        logging_settings = LoggingSettings.from_env(os.environ)
    except ConfigError as exc:
        if args.command != "check":
            print(f"configuration error:\n{exc}", file=sys.stderr)
            return 2
        # `check` reports a bad LOG_* on its configuration line, one line per check like every other problem.
        logging_settings = LoggingSettings(level=None, log_format="text", secrets=secrets_from_env(os.environ))
    configure_logging(args.log_level or logging_settings.level or ("WARNING" if quiet_by_default else "INFO"),
                      logging_settings.log_format, secrets=logging_settings.secrets)
    from bot.ops.preflight import foreign_sinch

    if args.command != "keygen" and (problem := foreign_sinch()):
        print(f"cannot start: {problem}", file=sys.stderr)
        return 2
    handler: Command = args.handler
    try:
        return handler(args)
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    except DatabaseDriverMissing as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


__all__ = ["Settings", "build_parser", "main"]
