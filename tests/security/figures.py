"""Figures the security tests report at the end of a run (races run, payloads sent, secrets scanned)."""

from __future__ import annotations

from collections import Counter

FIGURES: Counter[str] = Counter()
