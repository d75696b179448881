"""The ack benchmark's baseline: a minimal Bolt app that only acks, on the bot's server stack.

`python -m bench.baseline_server` serves it exactly as `python -m bot run` serves the bot: Bolt's WSGI
adapter behind `bot.runtime.make_wsgi_app`, in the bot's own waitress server (`bot.serving.create_http_server`),
on loopback PORT.
"""

from __future__ import annotations

import logging
import os
import re

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.runtime import make_wsgi_app
from bot.serving import create_http_server  # the same server as the bot's, always
from bot.slack.ids import COMMAND

# Bare Bolt acks from a listener thread while the request's thread polls for the ack every 10 ms
# (slack_bolt/listener/thread_runner.py), so its throughput follows its worker count: ~360 req/s with 4,
# ~700 with 8, no better with 16 (bench/README.md, ninth pass). The baseline runs at its best, whatever the
# bot's own HTTP_THREADS, so the bot is measured against the fastest bare Bolt on this stack.
# BENCH_BASELINE_THREADS overrides it, to measure that.
BASELINE_THREADS = 8


def build_app() -> App:
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"], timeout=5)
    app = App(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"],
              raise_error_for_unhandled_request=False)

    @app.command(COMMAND)
    def on_command(ack: Ack) -> None:
        ack()

    @app.action(re.compile(".*"))
    def on_action(ack: Ack) -> None:
        ack()

    return app


def main() -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    threads = int(os.environ.get("BENCH_BASELINE_THREADS", BASELINE_THREADS))
    create_http_server(make_wsgi_app(build_app()), host="127.0.0.1", port=int(os.environ["PORT"]),
                       name="bench-baseline", threads=threads).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
