"""A form body is read exactly as urllib's parse_qsl reads it (bot/slack/envelope.py, parse_form).

The fast path decodes Slack's forms at C speed; whatever it is given, forged or garbled, the fields must be
the ones Bolt's own reading would have produced, so a listener can never see a different request.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, quote, urlencode

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.slack.envelope import parse_form
from tests.hypothesis_profiles import examples


def urllib_reading(text: str) -> dict[str, str]:
    return dict(parse_qsl(text, keep_blank_values=True))


# The characters a form's structure and escapes are made of, and the ones that must send it to urllib.
form_text = st.text(alphabet=st.sampled_from(list("az09=&+%2F3DdEe_~*!\\ \n\t.é€")), max_size=60)


@settings(max_examples=examples(400))
@given(text=form_text)
@example(text="a=%zz&b=%4")  # escapes that are not two hex digits stay as they are
@example(text="a=b=c&&=d&e")  # a second "=", an empty pair, an empty name, a name alone
@example(text="t=%e2%82%ac+%2B+%ff")  # lower-case hex, "+" as a space, %2B as "+", a byte that is not UTF-8
def test_any_form_text_reads_as_urllib_reads_it(text: str) -> None:
    assert parse_form(text) == urllib_reading(text)


@settings(max_examples=examples(200))
@given(text=st.text(max_size=80))
def test_any_text_at_all_reads_as_urllib_reads_it(text: str) -> None:
    assert parse_form(text) == urllib_reading(text)


@settings(max_examples=examples(200))
@given(fields=st.dictionaries(st.text(max_size=20), st.text(max_size=60), max_size=6))
def test_an_encoded_form_reads_back_as_its_fields(fields: dict[str, str]) -> None:
    text = urlencode(fields)
    assert parse_form(text) == urllib_reading(text) == fields


def test_a_clicks_payload_with_every_kind_of_character_reads_back_whole() -> None:
    payload = {"type": "block_actions", "text": "Ünïcode 😀 = + % & \\ \"quoted\"", "user": {"id": "U0LEAD"}}
    text = "payload=" + quote(json.dumps(payload), safe="")
    assert json.loads(parse_form(text)["payload"]) == payload
