"""Sealing key secrets at rest."""

from __future__ import annotations

import pytest

from store.secrets import SecretBox, SecretUnreadable, generate_key, validate_keyring


def test_a_sealed_secret_opens_and_does_not_contain_the_plaintext() -> None:
    box = SecretBox(generate_key())
    sealed = box.seal("s3cret-value")
    assert "s3cret-value" not in sealed
    assert box.open(sealed) == "s3cret-value"


def test_a_secret_sealed_under_another_key_is_unreadable() -> None:
    sealed = SecretBox(generate_key()).seal("x")
    with pytest.raises(SecretUnreadable):
        SecretBox(generate_key()).open(sealed)


def test_a_tampered_secret_is_unreadable() -> None:
    box = SecretBox(generate_key())
    sealed = box.seal("x")
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(SecretUnreadable):
        box.open(tampered)


def test_rotation_reseals_under_the_new_first_key() -> None:
    old, new = generate_key(), generate_key()
    sealed_old = SecretBox(old).seal("rotate-me")
    resealed = SecretBox(f"{new},{old}").reseal(sealed_old)
    assert SecretBox(new).open(resealed) == "rotate-me"


def test_a_malformed_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError) as exc_info:
        validate_keyring("not-a-real-key-but-secret")
    assert "not-a-real-key-but-secret" not in str(exc_info.value)
    assert "keygen" in str(exc_info.value)
    assert "SecretBox" in repr(SecretBox(generate_key())) and "=" not in repr(SecretBox(generate_key()))
