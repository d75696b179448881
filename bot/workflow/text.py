"""The one rule for typed text: what a person types keeps no control, format or bidi character.

Dropped: controls (Cc: NUL, ESC, C1), format characters (Cf: U+202E right-to-left override, U+2066 isolates,
U+200B zero width space, U+FEFF) and lone surrogates (Cs): none has a place in a name, a reason or a search, and
the bidi ones can make a card read differently from what is stored. Kept: code points this Python's Unicode
tables call unassigned (Cn) or private use (Co): an emoji newer than those tables is "unassigned" here and is
still what the person typed.

A reason (reject, cancel) is checked before this rule runs: one holding a NUL or a lone surrogate is refused
under its field rather than cleaned (`bot.workflow.core.checked_reason`), so the person sees what cannot be kept.
"""

from __future__ import annotations

import unicodedata

__all__ = ["clean_block", "clean_line"]

_DROPPED = frozenset({"Cc", "Cf", "Cs"})


def clean_line(value: object) -> str:
    """One line of text: control characters dropped, whitespace collapsed."""
    if not isinstance(value, str):
        return ""
    kept = "".join(ch for ch in value if unicodedata.category(ch) not in _DROPPED or ch == " ")
    return " ".join(kept.split())


def clean_block(value: object) -> str:
    """Multi-line text: control characters other than newlines and tabs dropped."""
    if not isinstance(value, str):
        return ""
    kept = "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch) not in _DROPPED)
    return kept.strip()
