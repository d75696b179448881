"""The intake form as a typed value, and its validation rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from bot.workflow.errors import IntakeInvalid
from bot.workflow.text import clean_block as _clean_block
from bot.workflow.text import clean_line as _clean_line
from sinch import Region
from store.models import Channel, PageType

__all__ = ["Intake", "PageType", "parse_intake", "INTAKE_FIELDS"]

MAX_NAME = 100
MAX_PAGE = 300
MAX_NOTES = 2000
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+$")
# A Page URL's host is one of these or a real subdomain of one (m.facebook.com, www.…, business.…).
_FACEBOOK_DOMAINS = ("facebook.com", "fb.com", "fb.me")
# Text that starts like a host and a path ("evilfacebook.com/acme") is a URL, not a Page name.
_HOST_AND_PATH = re.compile(r"^[\w-]+(?:\.[\w-]+)+[/\\]")


# Field names double as the modal's block ids, so errors land under the right input.
INTAKE_FIELDS = (
    "customer_name",
    "contact_email",
    "region",
    "channels",
    "instagram_username",
    "page",
    "page_type",
    "prerequisites",
    "notes",
)
REQUIRED_PREREQUISITES = ("business_verified", "page_admin")
INSTAGRAM_PREREQUISITES = ("ig_professional", "ig_page_linked", "ig_messages_access")
# The intake's channel choice (option values) and what each asks for, in order.
CHANNEL_CHOICES = {
    "messenger": (Channel.MESSENGER,),
    "instagram": (Channel.INSTAGRAM,),
    "messenger_instagram": (Channel.MESSENGER, Channel.INSTAGRAM),
}
_USERNAME = re.compile(r"^[A-Za-z0-9._]{1,30}$")
_PROFILE_URL = re.compile(r"^(?:https?://)?(?:www\.|m\.)?(?:instagram\.com|instagr\.am)/([^/?#]+)/?(?:[?#].*)?$",
                          re.IGNORECASE)


@dataclass(frozen=True)
class Intake:
    """A validated intake form."""

    customer_name: str
    contact_email: str
    region: Region
    page: str
    page_type: PageType
    business_verified: bool
    page_admin: bool
    chat_button: bool
    notes: str = ""
    channels: tuple[Channel, ...] = (Channel.MESSENGER,)
    instagram_username: str | None = None  # without "@", lower-case

    @property
    def channels_value(self) -> str | None:
        """The stored `channels` column: None for Messenger only, as every case before Instagram."""
        return None if self.channels == (Channel.MESSENGER,) else ",".join(c.value for c in self.channels)


def parse_instagram_username(text: str) -> str | None:
    """`@name`, `name` or a profile URL as the bare username (lower-case), or None when it is not one."""
    cleaned = text.strip()
    if (found := _PROFILE_URL.match(cleaned)) is not None:
        cleaned = found.group(1)
    cleaned = cleaned.removeprefix("@")
    return cleaned.lower() if _USERNAME.match(cleaned) else None


def _check_page(page: str) -> str | None:
    if not page:
        return "Enter the Facebook Page name or its URL."
    if len(page) > MAX_PAGE:
        return f"Keep it under {MAX_PAGE} characters."
    if "://" in page or page.lower().startswith(("www.", "facebook.com", "fb.com")) or _HOST_AND_PATH.match(page):
        parsed = urlparse(page if "://" in page else f"https://{page}")
        host = (parsed.hostname or "").lower()
        # Userinfo and backslashes are how a look-alike hides its real host from one parser or another.
        if (parsed.scheme not in ("http", "https") or "\\" in page or "@" in parsed.netloc
                or not _facebook_host(host)):
            return "A Page URL must be a facebook.com address; otherwise give the Page name."
    return None


def _facebook_host(host: str) -> bool:
    """facebook.com, fb.com, fb.me or a real subdomain of one; never a look-alike such as evilfacebook.com."""
    return any(host == domain or host.endswith("." + domain) for domain in _FACEBOOK_DOMAINS)


def parse_intake(form: Mapping[str, object]) -> Intake:
    """Validate raw form values (strings, booleans, a list of prerequisites); raise IntakeInvalid."""
    errors: dict[str, str] = {}

    name = _clean_line(form.get("customer_name"))
    if not name:
        errors["customer_name"] = "Enter the customer's name."
    elif len(name) > MAX_NAME:
        errors["customer_name"] = f"Keep the name under {MAX_NAME} characters."

    email = _clean_line(form.get("contact_email")).lower()
    if not email:
        errors["contact_email"] = "Enter the e-mail address the customer will log in with."
    elif len(email) > 254 or not _EMAIL.match(email):
        errors["contact_email"] = "That does not look like an e-mail address."

    region_value = _clean_line(form.get("region")).lower()
    try:
        region = Region(region_value)
    except ValueError:
        errors["region"] = "Choose the region where the customer's data must live: US, EU or BR."
        region = Region.US

    choice = _clean_line(form.get("channels")) or "messenger"  # forms from before Instagram have no choice
    channels = CHANNEL_CHOICES.get(choice)
    if channels is None:
        errors["channels"] = "Choose Messenger, Instagram, or both."
        channels = (Channel.MESSENGER,)
    messenger, instagram = Channel.MESSENGER in channels, Channel.INSTAGRAM in channels

    username: str | None = None
    if instagram:
        raw_username = _clean_line(form.get("instagram_username"))
        username = parse_instagram_username(raw_username)
        if not raw_username:
            errors["instagram_username"] = "Enter the Instagram account's username (@name) or its profile URL."
        elif username is None:
            errors["instagram_username"] = ("An Instagram username has 1-30 letters, digits, periods and "
                                            "underscores (e.g. @acme.bikes), or give its instagram.com URL.")

    page = _clean_line(form.get("page"))
    page_problem = _check_page(page) if messenger or page else None
    if page_problem:
        errors["page"] = page_problem

    try:
        page_type = PageType(_clean_line(form.get("page_type")).lower())
    except ValueError:
        if messenger:
            errors["page_type"] = "Choose who owns the Page: a person, or a business in Meta Business Manager."
        page_type = PageType.PERSONAL

    raw_checks = form.get("prerequisites")
    # Only strings count: a list holding an object or a list would otherwise make set() raise TypeError.
    listed = raw_checks if isinstance(raw_checks, list | tuple | set | frozenset) else ()
    checks = {item for item in listed if isinstance(item, str)}
    missing = [item for item in REQUIRED_PREREQUISITES if item not in checks] if messenger else []
    if missing:
        errors["prerequisites"] = (
            "The customer's business must be verified in Meta and they must be an admin of the Page "
            "before we invite them."
        )
    elif instagram and any(item not in checks for item in INSTAGRAM_PREREQUISITES):
        errors["prerequisites"] = (
            "For Instagram the account must be a professional account, connected to a Facebook Page the customer "
            "administers, with access to messages allowed for connected tools, before we invite them."
        )

    notes = _clean_block(form.get("notes"))
    if len(notes) > MAX_NOTES:
        errors["notes"] = f"Keep notes under {MAX_NOTES} characters."

    if errors:
        raise IntakeInvalid(errors)
    return Intake(
        customer_name=name,
        contact_email=email,
        region=region,
        page=page,
        page_type=page_type,
        business_verified="business_verified" in checks,
        page_admin="page_admin" in checks,
        chat_button="chat_button" in checks,
        notes=notes,
        channels=channels,
        instagram_username=username,
    )
