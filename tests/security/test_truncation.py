"""Honest truncation: nothing is cut inside an entity, a mention or a line, lengths are counted as Slack
counts them (UTF-16 units, conservatively), and whatever does not fit is counted ("…and N more").

Generated texts made of the pieces that matter (entities, mentions, links, date tokens, emoji outside the
BMP, combining marks, newlines) are clipped at every limit from 1 to past their length, and at each limit
the blocks use (3,000 for sections and context, 2,000 for card fields, 150 for headers). `/onboard list`
with 500 open onboardings with hostile names goes through the signed HTTP endpoint.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from bot.slack.blocks.base import MAX_SECTION_TEXT, context, section
from bot.slack.blocks.home_view import home_view
from bot.slack.blocks.replies import NoticeContext, render_notice
from bot.slack.mrkdwn import ELLIPSIS, clip, escape, pack_lines, slack_length
from bot.workflow import STATE_LABELS
from bot.workflow.notices import Cancelled, Rejected
from sinch import Region
from store.db import session_scope
from store.models import Onboarding, PageType
from store.states import OPEN_STATES
from tests.bot.harness import CHANNEL, REQUESTER
from tests.hypothesis_profiles import examples
from tests.security.figures import FIGURES
from tests.security.hostile import Endpoint

HYPOTHESIS: Any = {"deadline": None, "database": None, "suppress_health_check": list(HealthCheck)}
BLOCK_LIMITS = (3000, 2000, 150)
PIECES = ["a", "b", " ", "\n", "&amp;", "&lt;", "&gt;", "<@U0REQ>", "<!subteam^S0LEADS>", "<#C0ONBOARD>",
          "<https://example.test/a?b=c|a link>", "<!date^1764061200^{date_short}|2026-11-25>", "🦄", "👩‍👩‍👧", "é",
          "e\u0301", "ᚠ", "&", "<", ">", "*", "_"]
text_from_pieces = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)
# An entity or an angle-bracket token, as mrkdwn.clip sees them.
_WHOLE = re.compile(r"&(?:[A-Za-z]{2,8}|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});|<[^<>\n]{1,1000}>")


def token_boundaries(text: str) -> set[int]:
    """Positions where a cut keeps every entity and angle-bracket token whole."""
    inside = {index for found in _WHOLE.finditer(text) for index in range(found.start() + 1, found.end())}
    return {index for index in range(len(text) + 1) if index not in inside}


def assert_honest_clip(text: str, clipped: str, limit: int) -> None:
    assert slack_length(clipped) <= limit, (limit, clipped)
    if slack_length(text) <= limit:
        assert clipped == text
        return
    more = re.search(r"\n…and (\d+) more lines?\Z", clipped)
    if more:  # cut between lines: the kept lines are whole, and the count is right
        kept = clipped[: more.start()].split("\n")
        assert text.split("\n")[: len(kept)] == kept
        assert len(kept) + int(more.group(1)) == len(text.split("\n"))
    else:
        assert clipped.endswith(ELLIPSIS)
        prefix = clipped[: -len(ELLIPSIS)]
        assert text.startswith(prefix) and len(prefix) in token_boundaries(text), (text, clipped)


@settings(max_examples=examples(150), **HYPOTHESIS)
@given(text=text_from_pieces)
def test_clip_at_every_limit(text: str) -> None:
    for limit in range(1, slack_length(text) + 3):
        assert_honest_clip(text, clip(text, limit), limit)
    FIGURES["truncation: texts clipped at every limit"] += 1


@settings(max_examples=examples(100), **HYPOTHESIS)
@given(pieces=st.lists(st.sampled_from(PIECES), min_size=1, max_size=8), limit=st.sampled_from(BLOCK_LIMITS),
       offset=st.integers(-3, 3), user_text=st.booleans())
def test_clip_at_the_block_limits(pieces: list[str], limit: int, offset: int, user_text: bool) -> None:
    """Texts around each limit the blocks use; typed text is escaped first (so `&` becomes `&amp;`)."""
    unit = "".join(pieces)
    raw = (unit * (limit // max(1, slack_length(unit)) + 2))
    raw = raw[: max(1, limit + offset)]
    text = escape(raw) if user_text else raw
    assert_honest_clip(text, clip(text, limit), limit)
    if limit == MAX_SECTION_TEXT:
        for block in (section(text), context(text)):
            shown = json.dumps(block.to_dict())  # slack_sdk validates the block's own limits here
            assert shown


@settings(max_examples=examples(100), **HYPOTHESIS)
@given(lines=st.lists(text_from_pieces.map(lambda t: t.replace("\n", " ")), max_size=40),
       limit=st.integers(20, 400), max_chunks=st.integers(0, 6))
def test_pack_lines_keeps_lines_whole_and_counts_the_rest(lines: list[str], limit: int, max_chunks: int) -> None:
    chunks, left_out = pack_lines(lines, limit, max_chunks=max_chunks)
    assert len(chunks) <= max_chunks
    packed = [line for chunk in chunks for line in chunk.split("\n")]
    assert len(packed) + left_out == len(lines)  # every line listed or counted
    for line, original in zip(packed, lines, strict=False):
        assert line == clip(original, limit)
    assert all(slack_length(chunk) <= limit for chunk in chunks)


# -- /onboard list with 500 hostile names, over HTTP -----------------------------------------------

HOSTILE_NAMES = ["&<>" * 30, "<!channel> & <!here>", "🦄" * 90, "a&lt;b", "<@U9HOSTILE|boss>" * 5, "x" * 100]


@pytest.fixture(scope="module")
def crowded(endpoint: Endpoint) -> Iterator[Endpoint]:
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    states = sorted(OPEN_STATES)
    with session_scope(endpoint.bot.deps.engine) as session:
        for number in range(500):
            name = f"{HOSTILE_NAMES[number % len(HOSTILE_NAMES)]}"[:95] + f" {number}"
            session.add(Onboarding(customer_name=name, customer_key=f"crowd {number}",
                                   contact_email=f"crowd{number}@hostile.test", region=Region.EU, page="P",
                                   page_type=PageType.BUSINESS, state=states[number % len(states)],
                                   requester_id=REQUESTER,
                                   state_entered_at=now, created_at=now, updated_at=now, slack_channel=CHANNEL,
                                   thread_ts=f"1764061200.{number:06d}"))
    yield endpoint


def test_onboard_list_lists_or_counts_every_open_onboarding(crowded: Endpoint) -> None:
    bot = crowded.bot
    with session_scope(bot.deps.engine) as session:
        open_cases = len(session.exec(select(Onboarding.id).where(col(Onboarding.state).in_(OPEN_STATES))).all())
    assert open_cases >= 500
    response = crowded.post(bot.sim.slash_command(REQUESTER, text="list", channel_id=CHANNEL).body)
    assert response.status_code == 200
    answers = [params for method, params in crowded.new_slack_writes() if method == "response_url"]
    assert answers, "no answer"
    blocks = answers[-1]["blocks"]
    texts = [element["text"] for block in blocks for element in
             ([block["text"]] if "text" in block else block.get("elements", []))]
    assert f"*Open onboardings ({open_cases})*" in texts[0]
    lines = [line for text in texts[1:] for line in text.split("\n") if not line.startswith("…and")]
    counted = sum(int(m.group(1)) for text in texts for m in re.finditer(r"…and (\d+) more", text))
    assert len(lines) + counted == open_cases, (len(lines), counted)
    for line in lines:  # every listed line is whole: from its emoji to its thread link
        assert line.endswith("|thread>"), line
        assert any(label in line for label in STATE_LABELS.values())
        assert len(line) in token_boundaries(line)
    for text in texts:
        assert slack_length(text) <= MAX_SECTION_TEXT
        assert "<!channel>" not in text and "<!here>" not in text and "<@U9HOSTILE" not in text
    FIGURES["truncation: open onboardings listed"] = len(lines)
    FIGURES["truncation: open onboardings counted in '…and N more'"] = counted


@settings(max_examples=examples(60), **HYPOTHESIS)
@given(reason=st.lists(st.sampled_from(["&", "<", ">", "<!channel>", "🦄", "a", " ", "\n", "&lt;"]), min_size=1,
                       max_size=1000).map("".join), kind=st.sampled_from(["rejected", "cancelled"]))
def test_reject_and_cancel_reasons_are_never_cut_inside_an_entity(reason: str, kind: str) -> None:
    """Up to REASON_MAX typed characters, escaped (up to five times longer): the reply keeps every token
    whole, stays within a section, and a cancel after the invite still says the access must be removed."""
    case = Onboarding(id=7, customer_name="Acme", customer_key="acme", contact_email="a@acme.test", region=Region.EU,
                      page="P", page_type=PageType.BUSINESS, requester_id=REQUESTER)
    notice: Rejected | Cancelled = (Rejected(by="U0LEAD", requester=REQUESTER, reason=reason) if kind == "rejected"
                                    else Cancelled(by="U0LEAD", reason=reason, needs_revoke=True))
    rendered = render_notice(notice, NoticeContext(case=case, approvers=()))
    text = rendered.block_dicts()[0]["text"]["text"]
    assert slack_length(text) <= MAX_SECTION_TEXT
    assert not re.search(r"&[A-Za-z]*$|&[A-Za-z]*[^A-Za-z;]", text.replace("&amp;", "").replace("&lt;", "")
                         .replace("&gt;", "")), "a cut entity"
    if kind == "cancelled":
        assert text.endswith("so their access must still be removed.")
    FIGURES["truncation: reasons rendered"] += 1


def test_the_home_tab_lists_or_counts_every_case_with_hostile_names() -> None:
    """The App Home packs whole lines too: 300 open cases with long escaped names and e-mails."""
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    states = sorted(OPEN_STATES)
    cases = [Onboarding(id=number + 1, customer_name=HOSTILE_NAMES[number % len(HOSTILE_NAMES)][:60],
                        customer_key=f"k{number}", contact_email=f"{'&' * 60}{number}@hostile.test", region=Region.EU,
                        page="P", page_type=PageType.BUSINESS, state=states[number % len(states)],
                        requester_id=REQUESTER,
                        state_entered_at=now - timedelta(days=3), created_at=now, updated_at=now,
                        invited_at=now - timedelta(days=2), slack_channel=CHANNEL, thread_ts=f"1.{number:06d}")
             for number in range(300)]
    view = home_view(cases, now, manual_after=timedelta(hours=1), revoke_after=timedelta(hours=1)).to_dict()
    assert len(view["blocks"]) <= 100
    listed = 0
    for block in view["blocks"]:
        texts = [block["text"]["text"]] if block.get("type") == "section" else [
            element.get("text", "") for element in block.get("elements", []) if block.get("type") == "context"]
        for text in texts:
            assert slack_length(text) <= MAX_SECTION_TEXT
            for line in text.split("\n"):
                if " · " in line:  # a case line: whole, from its name to its thread link
                    assert line.endswith("|thread>"), line
                    listed += 1
    assert listed > 0
