"""`member_history` (SCD type 2) and `member`: the register as at any date in one query,
the same register the pipeline uses (pipelines.store.snapshot_in_force)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from pipelines.feeds import FEEDS
from pipelines.ingest import ingest_feed
from pipelines.sources import LocalInbox
from pipelines.store import snapshot_in_force
from tests.builders import member
from tests.conftest import BOTH_WAREHOUSES

A = member("LDS-000001", "Ng", "Zoë", "1990-02-01")
B = member("LDS-000002", "Brown", "Sam", "1985-05-05", managing_division="NE", status="NOMINATED", selected_on="")
B_SELECTED = {**B, "status": "ACTIVE", "selected_on": "2026-11-05"}

AS_AT = (
    "SELECT iom_id, managing_division, status FROM member_history "
    "WHERE valid_from <= :d AND (valid_to IS NULL OR valid_to > :d) ORDER BY iom_id"
)


def load(hub) -> None:
    ingest_feed(hub.engine, LocalInbox(hub.inbox.root), FEEDS["cohort"], date(2026, 11, 30), settle_seconds=0)


@BOTH_WAREHOUSES
def test_each_interval_runs_from_a_change_to_the_next_and_the_register_at_any_date_is_one_query(hub):
    box = hub.inbox
    box.cohort(date(2026, 11, 1), [A, B])
    box.cohort(date(2026, 11, 8), [A, B_SELECTED])  # B selected
    box.cohort(date(2026, 11, 15), [{**A, "managing_division": "NE"}])  # A moves; B absent
    box.cohort(date(2026, 11, 22), [{**A, "managing_division": "CH"}, B_SELECTED])  # A back in CH ...
    load(hub)
    corrected = datetime(2026, 11, 22, 9, 0)  # ... no: a correction under the same name says NE
    box.cohort(date(2026, 11, 22), [{**A, "managing_division": "NE"}, B_SELECTED], arrived=corrected)
    load(hub)

    rows = hub.query(
        "SELECT iom_id, valid_from, valid_to, managing_division, status, snapshots FROM member_history ORDER BY iom_id, valid_from"
    )
    got = [
        (r.iom_id, str(r.valid_from), None if r.valid_to is None else str(r.valid_to), r.managing_division, r.status, r.snapshots)
        for r in rows
    ]
    assert got == [
        ("LDS-000001", "2026-11-01", "2026-11-15", "CH", "ACTIVE", 2),
        ("LDS-000001", "2026-11-15", None, "NE", "ACTIVE", 2),
        ("LDS-000002", "2026-11-01", "2026-11-08", "NE", "NOMINATED", 1),
        ("LDS-000002", "2026-11-08", "2026-11-15", "NE", "ACTIVE", 1),
        ("LDS-000002", "2026-11-22", None, "NE", "ACTIVE", 1),
    ]  # fmt: skip
    now = hub.query("SELECT iom_id, managing_division FROM member ORDER BY iom_id")
    assert [tuple(r) for r in now] == [("LDS-000001", "NE"), ("LDS-000002", "NE")]

    # The register as at each day, from the view, is the snapshot the pipeline would use.
    day = date(2026, 10, 31)
    while day <= date(2026, 11, 25):
        _, _, register = snapshot_in_force(hub.engine, "cohort", day, stand_in=False)
        expected = sorted(zip(register["iom_id"], register["managing_division"], register["status"], strict=True))
        with hub.engine.connect() as conn:
            as_at = [tuple(r) for r in conn.execute(sa.text(AS_AT), {"d": day})]
        assert as_at == expected, day
        day += timedelta(days=1)
