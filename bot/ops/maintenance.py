"""Operator maintenance: re-sealing stored key secrets under a new BOT_SECRET_KEY."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from store.db import session_scope
from store.models import Onboarding
from store.secrets import SecretBox

__all__ = ["rotate_key"]


def rotate_key(engine: Engine, box: SecretBox) -> int:
    """Re-encrypt every stored secret under the keyring's first key, in one transaction; returns the count.

    Raises SecretUnreadable (and changes nothing) if any secret cannot be opened with the keyring.
    """
    with session_scope(engine) as session:
        cases = session.exec(select(Onboarding).where(col(Onboarding.key_secret_sealed).is_not(None))).all()
        for case in cases:
            assert case.key_secret_sealed is not None
            case.key_secret_sealed = box.reseal(case.key_secret_sealed)
            session.add(case)
    return len(cases)
