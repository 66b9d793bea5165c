"""The hub's append-only audit trail (``audit_event``): who did what, when.

Review decisions and erasures write here in the same transaction as what they record, so
an action and its audit entry are committed together or not at all.  The detail names
tables, rules, counts and row ids only, never personal data (no subjects, no names).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa

from warehouse.schema import audit_event

LINK_DECISION = "link_decision"
ERASURE = "erasure"


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # stored naive, as UTC (like link_decision)


def record(conn: sa.Connection, actor: str, action: str, detail: str, at: datetime | None = None) -> None:
    """Append one entry; the caller's transaction commits it with the action itself."""
    conn.execute(audit_event.insert().values(at=at or utc_now(), actor=actor, action=action, detail=detail))


def audit_trail(engine: sa.Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(sa.select(audit_event).order_by(audit_event.c.id))
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
