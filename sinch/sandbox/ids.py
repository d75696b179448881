"""Identifiers shaped like Sinch's: ULID app ids, UUID project and key ids, opaque secrets."""

from __future__ import annotations

import re
import secrets
import uuid

__all__ = ["ULID_PATTERN", "new_access_token", "new_app_id", "new_key_secret", "new_page_token", "new_uuid"]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_PATTERN = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")


def new_app_id(now: float) -> str:
    """A 26-character Crockford base32 ULID: 48-bit millisecond time, then 80 random bits."""
    value = ((int(now * 1000) & (2**48 - 1)) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def new_uuid() -> str:
    """A project or key id."""
    return str(uuid.uuid4())


def new_key_secret() -> str:
    """An access key secret."""
    return secrets.token_urlsafe(24)


def new_access_token() -> str:
    """An opaque OAuth2 access token."""
    return secrets.token_urlsafe(32)


def new_page_token() -> str:
    """A stand-in for the Page access token Sinch stores for a MESSENGER credential."""
    return "EAASANDBOX" + secrets.token_hex(16)
