"""Is the connected Facebook Page the one asked for at intake? A pure comparison, table-tested.

Intake takes a Page name, a URL with a vanity name (facebook.com/acmebikes), a profile.php?id= URL or a numeric
id; the Provisioning API reports the connected Page's id and name. Deselecting or picking the wrong Page is one
of the runbook's costly mistakes, so the removal of the customer's access waits for a person to look when the
two disagree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs, urlparse

__all__ = ["PageCheck", "RequestedPage", "compare_page", "parse_requested_page"]

_NUMERIC_ID = re.compile(r"^\d{5,20}$")
_NAME_WITH_ID = re.compile(r"^.+-(\d{8,20})$")  # old-style /Acme-Bikes-123456789012 addresses
_HOST_PREFIXES = ("www.", "m.", "mobile.", "web.", "business.", "touch.")
_FACEBOOK_HOSTS = ("facebook.com", "fb.com", "fb.me")


class PageCheck(StrEnum):
    """Stored on the case: what the bot knows about the connected Page."""

    MATCH = "match"
    MISMATCH = "mismatch"
    UNVERIFIED = "unverified"  # Sinch did not say which Page (no Provisioning API)
    WRONG_CONFIRMED = "wrong_confirmed"  # a person confirmed it is the wrong Page: the customer keeps access
    RIGHT_CONFIRMED = "right_confirmed"  # a person confirmed a mismatching Page is right after all


@dataclass(frozen=True)
class RequestedPage:
    """The intake's Page, normalised: at most one of the three is set."""

    page_id: str | None = None
    handle: str | None = None  # a vanity name from a URL, squashed
    name: str | None = None  # a Page name, squashed


def _squash(text: str) -> str:
    """Case, spacing, accents' width forms and punctuation do not tell two Page names apart."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def _looks_like_url(text: str) -> bool:
    lowered = text.lower()
    return "://" in lowered or lowered.startswith(_HOST_PREFIXES) or lowered.split("/")[0].endswith(_FACEBOOK_HOSTS)


def _from_url(text: str) -> RequestedPage:
    parsed = urlparse(text if "://" in text else f"https://{text}")
    segments = [segment for segment in parsed.path.split("/") if segment]
    if segments and segments[0].lower() == "profile.php":
        ids = parse_qs(parsed.query).get("id", [])
        return RequestedPage(page_id=ids[0].strip()) if ids and _NUMERIC_ID.match(ids[0].strip()) else RequestedPage()
    if segments and segments[0].lower() in ("pages", "people", "pg"):
        numeric = [segment for segment in segments[1:] if _NUMERIC_ID.match(segment)]
        if numeric:
            return RequestedPage(page_id=numeric[0])
        segments = segments[1:]
    if not segments:
        return RequestedPage()
    first = segments[0]
    if _NUMERIC_ID.match(first):
        return RequestedPage(page_id=first)
    if (old_style := _NAME_WITH_ID.match(first)) is not None:
        return RequestedPage(page_id=old_style.group(1))
    return RequestedPage(handle=_squash(first) or None)


def parse_requested_page(text: str) -> RequestedPage:
    """The intake's Page field as an id, a vanity name or a name."""
    cleaned = " ".join(text.split()).strip().rstrip("/")
    if not cleaned:
        return RequestedPage()
    if _NUMERIC_ID.match(cleaned):
        return RequestedPage(page_id=cleaned)
    if _looks_like_url(cleaned):
        return _from_url(cleaned)
    return RequestedPage(name=_squash(cleaned) or None)


def compare_page(requested: str, *, page_id: str | None, page_name: str | None) -> PageCheck:
    """MATCH, MISMATCH, or UNVERIFIED when Sinch did not report what the comparison needs."""
    wanted = parse_requested_page(requested)
    connected_name = _squash(page_name) if page_name else None
    if wanted.page_id is not None:
        if page_id is None:
            return PageCheck.UNVERIFIED
        return PageCheck.MATCH if page_id.strip() == wanted.page_id else PageCheck.MISMATCH
    if wanted.handle is not None or wanted.name is not None:
        if connected_name is None:
            return PageCheck.UNVERIFIED
        # A vanity name is usually the Page name without spaces; any other vanity name cannot be checked
        # against a name, so it counts as a mismatch a person has to look at.
        return PageCheck.MATCH if connected_name == (wanted.handle or wanted.name) else PageCheck.MISMATCH
    return PageCheck.UNVERIFIED
