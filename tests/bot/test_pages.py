"""The connected Page against the Page asked for at intake: a table of what counts as the same Page."""

from __future__ import annotations

import pytest

from bot.workflow.pages import PageCheck, RequestedPage, compare_page, parse_requested_page

ID, NAME = "104512345678901", "Acme Bikes"

TABLE = [
    # names: case, spacing and punctuation do not matter
    ("Acme Bikes", PageCheck.MATCH),
    ("  acme   BIKES ", PageCheck.MATCH),
    ("Acme-Bikes", PageCheck.MATCH),
    ("ACME BIKES!", PageCheck.MATCH),
    ("Acme Bicycles", PageCheck.MISMATCH),
    ("Acme", PageCheck.MISMATCH),
    # vanity URLs, with or without scheme, www./m. hosts and trailing slashes
    ("https://www.facebook.com/acmebikes", PageCheck.MATCH),
    ("https://m.facebook.com/AcmeBikes/", PageCheck.MATCH),
    ("facebook.com/acmebikes//", PageCheck.MATCH),
    ("www.facebook.com/acme.bikes", PageCheck.MATCH),
    ("https://facebook.com/acmebikes/about", PageCheck.MATCH),
    ("https://www.facebook.com/acmebikes?ref=page_internal", PageCheck.MATCH),
    ("https://www.facebook.com/acmebikesofficial", PageCheck.MISMATCH),
    ("https://business.facebook.com/otherpage", PageCheck.MISMATCH),
    # profile.php?id= URLs and numeric ids
    (f"https://www.facebook.com/profile.php?id={ID}", PageCheck.MATCH),
    (f"https://m.facebook.com/profile.php?id={ID}&ref=x", PageCheck.MATCH),
    ("https://www.facebook.com/profile.php?id=100099999999999", PageCheck.MISMATCH),
    (ID, PageCheck.MATCH),
    (f" {ID} ", PageCheck.MATCH),
    ("100099999999999", PageCheck.MISMATCH),
    (f"https://www.facebook.com/{ID}/", PageCheck.MATCH),
    (f"https://www.facebook.com/pages/Acme-Bikes/{ID}", PageCheck.MATCH),
    (f"https://www.facebook.com/people/Acme-Bikes/{ID}/", PageCheck.MATCH),
    (f"https://www.facebook.com/Acme-Bikes-{ID}", PageCheck.MATCH),
]


@pytest.mark.parametrize(("requested", "expected"), TABLE)
def test_the_requested_page_against_the_connected_one(requested: str, expected: PageCheck) -> None:
    assert compare_page(requested, page_id=ID, page_name=NAME) == expected


@pytest.mark.parametrize(("requested", "page_id", "page_name"), [
    ("Acme Bikes", ID, None),  # a name needs the connected Page's name
    (ID, None, NAME),  # an id needs its id
    ("https://www.facebook.com/acmebikes", None, None),
    ("https://www.facebook.com/", ID, NAME),  # nothing to compare
])
def test_without_what_the_comparison_needs_the_page_is_unverified(requested: str, page_id: str | None,
                                                                  page_name: str | None) -> None:
    assert compare_page(requested, page_id=page_id, page_name=page_name) == PageCheck.UNVERIFIED


@pytest.mark.parametrize(("text", "parsed"), [
    ("https://www.facebook.com/profile.php?id=123456789", RequestedPage(page_id="123456789")),
    ("https://www.facebook.com/profile.php?id=abc", RequestedPage()),
    ("fb.com/Acme.Bikes", RequestedPage(handle="acmebikes")),
    ("Café  Zürich", RequestedPage(name="cafézürich")),
    ("", RequestedPage()),
])
def test_parsing_the_intake_field(text: str, parsed: RequestedPage) -> None:
    assert parse_requested_page(text) == parsed
