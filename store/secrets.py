"""Sealing Sinch key secrets at rest with authenticated encryption (Fernet: AES-CBC + HMAC-SHA256).

`BOT_SECRET_KEY` is a keyring: one or more comma-separated Fernet keys. The first key seals; every key
can open. Rotation = put a new key first, run `python -m bot rotate-key`, then drop the old key.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["SecretBox", "SecretUnreadable", "generate_key", "validate_keyring"]


class SecretUnreadable(Exception):
    """A sealed secret could not be opened with any key in the keyring."""


def generate_key() -> str:
    """A new random key suitable for BOT_SECRET_KEY."""
    return Fernet.generate_key().decode("ascii")


def _parse_keyring(keyring: str) -> list[Fernet]:
    keys = [part.strip() for part in keyring.split(",") if part.strip()]
    if not keys:
        raise ValueError("no key given; create one with `python -m bot keygen`")
    fernets: list[Fernet] = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            # Never echo the key itself: it is a secret even when malformed.
            raise ValueError(
                f"key #{position} is not a valid key (32 url-safe base64 bytes); "
                "create one with `python -m bot keygen`"
            ) from None
    return fernets


def validate_keyring(keyring: str) -> None:
    """Raise ValueError (with a message free of key material) unless the keyring parses."""
    _parse_keyring(keyring)


class SecretBox:
    """Seals and opens short secrets with the keyring's first key; opens with any key."""

    def __init__(self, keyring: str) -> None:
        self._fernet = MultiFernet(_parse_keyring(keyring))

    def __repr__(self) -> str:
        return "SecretBox(<keyring>)"

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SecretUnreadable("a stored secret cannot be opened with BOT_SECRET_KEY") from None

    def reseal(self, sealed: str) -> str:
        """Re-encrypt under the current first key (used by key rotation)."""
        try:
            return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise SecretUnreadable("a stored secret cannot be opened with BOT_SECRET_KEY") from None
