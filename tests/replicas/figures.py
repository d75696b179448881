"""Figures the several-processes tests report at the end of a run (posts, kills, takeovers, duplicates)."""

from __future__ import annotations

FIGURES: dict[str, object] = {}
