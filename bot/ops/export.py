"""`python -m bot export`: the audit trail of every onboarding, as CSV or JSON."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import IO

from sqlalchemy.engine import Engine

from bot.ops.review_export import review_rows
from store import repo
from store.db import session_scope
from store.models import AuditEvent

__all__ = ["COLUMNS", "export_audit"]

# OWASP's CSV injection rule: a spreadsheet runs a cell that starts with one of these as a formula (a typed
# customer name `=HYPERLINK(...)` would become a live link), so such a cell is prefixed with a quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

COLUMNS = ("onboarding_id", "customer_name", "contact_email", "region", "channels", "at", "actor", "action",
           "from_state", "to_state", "detail")


def _rows(engine: Engine) -> Iterable[dict[str, str]]:
    with session_scope(engine) as session:
        cases = {case.id: case for case in repo.all_onboardings(session=session)}
        events: list[AuditEvent] = repo.audit_trail(session=session)
    for event in events:
        case = cases.get(event.onboarding_id)
        yield {
            "onboarding_id": str(event.onboarding_id),
            "customer_name": case.customer_name if case else "",
            "contact_email": case.contact_email if case else "",
            "region": case.region.value if case else "",
            "channels": ",".join(c.value for c in case.requested_channels) if case else "",
            "at": event.at.isoformat(),
            "actor": event.actor,
            "action": event.action,
            "from_state": event.from_state.value if event.from_state else "",
            "to_state": event.to_state.value if event.to_state else "",
            "detail": event.detail,
        }


def _inert(cell: str) -> str:
    """The cell as a spreadsheet shows it, never runs it (JSON keeps the text as it is)."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def export_audit(engine: Engine, out: IO[str], *, fmt: str = "csv") -> int:
    """Write every audit event (oldest case first) to `out`; returns how many were written."""
    rows = [*_rows(engine), *review_rows(engine)]
    if fmt == "json":
        json.dump(rows, out, indent=2)
        out.write("\n")
    else:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({key: _inert(value) for key, value in row.items()} for row in rows)
    return len(rows)
