"""SIGKILL between the two channels' status posts of one poll: after the restart each is posted exactly once.

One poll of a Messenger-and-Instagram case writes both channels' replies in one transaction; the bot is
killed while Slack slowly accepts the first of them, and restarted on the same database.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.slack.ids import ActionId
from tests.e2e.test_crash_restart import CHANNEL, LEAD, REQUESTER, STAFF, Scene

pytestmark = pytest.mark.e2e
CASE = 1


@pytest.fixture
def scene(tmp_path: Path, migrated_database_url: str) -> Iterator[Scene]:
    running = Scene(tmp_path, migrated_database_url)
    try:
        yield running
    finally:
        running.close()


def replies(scene: Scene) -> list[str]:
    return [m.text for m in scene.thread(CASE)[1:]]


def test_sigkill_between_the_two_channel_posts_posts_each_once(scene: Scene) -> None:
    bot = scene.bot
    bot.start()
    before = scene.last_view(REQUESTER)
    scene.send(scene.sim().slash_command(REQUESTER, text="", channel_id=CHANNEL))
    scene.send(scene.sim().submit_view(REQUESTER, view_id=scene.new_view(REQUESTER, before), values={
        "customer_name": "Alpha Bikes", "contact_email": "owner@alpha.test", "region": "eu",
        "page": "https://www.facebook.com/alphabikes", "page_type": "business", "notes": "",
        "channels": "messenger_instagram", "instagram_username": "@alpha.bikes",
        "prerequisites": ["business_verified", "page_admin", "chat_button", "ig_professional", "ig_page_linked",
                          "ig_messages_access"]}))
    scene.click(LEAD, CASE, ActionId.APPROVE)
    scene.register_project(CASE)
    scene.wait_states({CASE: "inviting"})
    scene.click(STAFF, CASE, ActionId.INVITATION_SENT)
    scene.wait_states({CASE: "awaiting_customer"})
    scene.wait(lambda: not bot.query("SELECT id FROM outbox WHERE status != 'delivered'"), "the outbox to drain")

    # The customer connects both channels; the next poll reads both PENDING and writes two replies at once.
    slow_post = scene.slack_state.add_fault("chat.postMessage", error="", retry_after=None, latency_ms=2500)
    project, app_id = scene.creds[CASE].project_id, bot.case(CASE)["app_id"]
    scene.sandbox.connect_page(project, app_id)
    scene.sandbox.connect_instagram(project, app_id, username="alpha.bikes")

    def first_post_in_flight() -> list[int]:
        if slow_post.count:
            return []
        sending = bot.query("SELECT id FROM outbox WHERE status = 'sending' AND kind = 'reply'")
        waiting = bot.query("SELECT id FROM outbox WHERE status = 'pending' AND kind = 'reply'")
        return [row[0] for row in sending] if sending and waiting else []

    scene.wait(first_post_in_flight, "the first channel's post in flight, the second one waiting")
    in_doubt = first_post_in_flight()
    bot.kill()
    scene.wait(lambda: set(in_doubt) & set(scene.posted_outbox_ids()), "Slack to finish the orphaned post")

    bot.start()
    scene.wait_states({CASE: "revoking"})
    scene.click(STAFF, CASE, ActionId.ACCESS_REMOVED)
    scene.wait_states({CASE: "completed"})
    scene.wait(lambda: not bot.query("SELECT id FROM outbox WHERE status != 'delivered'"), "the outbox to drain")
    bot.kill()

    posted = Counter(scene.posted_outbox_ids())
    assert [row_id for row_id, times in posted.items() if times > 1] == []
    texts = replies(scene)
    for channel in ("Messenger", "Instagram"):
        assert texts.count(f"{channel} channel PENDING") == 1, texts
        assert texts.count(f"{channel} channel ACTIVE") == 1, texts
    assert texts.count("Remove the customer's access") == 1 and texts.count("Access removed") == 1
    contents = Counter(m.text + json.dumps(m.blocks) for m in scene.thread(CASE)[1:])
    assert [text for text, times in contents.items() if times > 1] == []
