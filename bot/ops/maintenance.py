"""Operator maintenance: re-sealing stored key secrets under a new BOT_SECRET_KEY."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from store import repo
from store.db import session_scope
from store.secrets import SecretBox

__all__ = ["rotate_key"]


def rotate_key(engine: Engine, box: SecretBox) -> int:
    """Re-encrypt every stored secret under the keyring's first key, in one transaction; returns the count.

    Raises SecretUnreadable (and changes nothing) if any secret cannot be opened with the keyring.
    """
    with session_scope(engine) as session:
        cases = repo.with_sealed_secret(session=session)
        for case in cases:
            if case.key_secret_sealed is not None:  # selected for having one; the check is for the type checker
                case.key_secret_sealed = box.reseal(case.key_secret_sealed)
                session.add(case)
    return len(cases)
