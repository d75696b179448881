"""Intake validation: clear errors per field, clean values when accepted."""

from __future__ import annotations

import pytest

from bot.slack.blocks.channel_replies import TOKEN_TYPE
from bot.workflow import IntakeInvalid, PageType, parse_intake
from sinch import Region

VALID = {
    "customer_name": "Acme Bikes",
    "contact_email": "Owner@Acme.test",
    "region": "eu",
    "page": "https://www.facebook.com/acmebikes",
    "page_type": "business",
    "prerequisites": ["business_verified", "page_admin"],
    "notes": "Call before noon",
}


def test_a_valid_form_is_accepted_and_normalised() -> None:
    intake = parse_intake(VALID)
    assert intake.contact_email == "owner@acme.test"
    assert intake.region is Region.EU
    assert intake.page_type is PageType.BUSINESS
    assert TOKEN_TYPE[intake.page_type] == "System User access token"
    assert (intake.business_verified, intake.page_admin, intake.chat_button) == (True, True, False)


def test_every_bad_field_gets_its_own_message() -> None:
    with pytest.raises(IntakeInvalid) as exc_info:
        parse_intake({"customer_name": "  ", "contact_email": "not-an-email", "region": "asia",
                      "page": "https://evil.example/page", "page_type": "robot", "prerequisites": ["page_admin"],
                      "notes": "x" * 2001})
    assert set(exc_info.value.errors) == {"customer_name", "contact_email", "region", "page", "page_type",
                                          "prerequisites", "notes"}


def test_control_characters_are_dropped_and_spacing_collapsed() -> None:
    intake = parse_intake({**VALID, "customer_name": "Acme\x00\x1b[31m   Bikes\n", "notes": "line1\nline2\x07"})
    assert intake.customer_name == "Acme[31m Bikes"
    assert intake.notes == "line1\nline2"


@pytest.mark.parametrize("value", [None, 42, ["a"], {"x": 1}])
def test_wrong_types_are_field_errors_not_crashes(value: object) -> None:
    with pytest.raises(IntakeInvalid) as exc_info:
        parse_intake({**VALID, "customer_name": value, "prerequisites": value})
    assert "customer_name" in exc_info.value.errors


def test_mention_syntax_is_kept_as_text_for_later_escaping() -> None:
    intake = parse_intake({**VALID, "customer_name": "<!channel> & <@U123>"})
    assert intake.customer_name == "<!channel> & <@U123>"


@pytest.mark.parametrize("page", ["https://evilfacebook.com/acmebikes", "https://notfb.com/x", "notfb.com/x",
                                  "https://evil.example\\@facebook.com/x", "https://evil.example@facebook.com/x",
                                  "https://facebook.com\\@evil.example/x", "https://facebook.com.evil.example/x",
                                  "evilfacebook.com/acmebikes", "https://user:pw@www.facebook.com/acme"])
def test_a_page_url_on_a_look_alike_host_is_refused(page: str) -> None:
    with pytest.raises(IntakeInvalid) as exc_info:
        parse_intake({**VALID, "page": page})
    assert set(exc_info.value.errors) == {"page"}


@pytest.mark.parametrize("page", ["https://www.facebook.com/acmebikes", "https://m.facebook.com/acmebikes",
                                  "https://facebook.com/acmebikes", "https://business.facebook.com/acme",
                                  "https://fb.com/acme", "https://www.fb.com/acme", "facebook.com/acmebikes",
                                  "www.facebook.com/acmebikes", "Acme Bikes", "Acme Bikes Inc."])
def test_a_facebook_url_or_a_page_name_is_accepted(page: str) -> None:
    assert parse_intake({**VALID, "page": page}).page == page
