"""The worked queries of docs/warehouse.md (warehouse.dictionary.WORKED_QUERIES), run
unchanged on SQLite and PostgreSQL against small warehouses built by the real pipeline,
and compared with answers computed independently."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import sqlalchemy as sa

from pipelines import traffic_light as tl
from pipelines.daily import link_for_report, reportable_records
from pipelines.feeds import FEEDS, LINKED_FEEDS
from pipelines.ingest import ingest_feed
from pipelines.membership import active_members
from pipelines.settings import PROJECT_ROOT, load_hub_config
from pipelines.sources import LocalInbox
from pipelines.store import register_in_force
from tests.builders import member
from tests.conftest import BOTH_WAREHOUSES
from warehouse.dictionary import WORKED
from warehouse.schema import cjs_location

CONFIG = load_hub_config(str(PROJECT_ROOT / "config" / "hub.yaml"))

A = member("LDS-000001", "One", "Ann", "1990-01-01", niche_nominal_id="N1")
B = member("LDS-000002", "Two", "Bob", "1990-01-02", managing_division="NE", niche_nominal_id="N2")
C = member("LDS-000003", "Three", "Cy", "1990-01-03", managing_division="NW", status="NOMINATED", selected_on="",
           niche_nominal_id="N3")  # fmt: skip
# The second register: A moves to NE, B was deselected on 15 Feb, C was selected on 25 Feb.
S1, S2 = date(2026, 1, 1), date(2026, 2, 25)
REGISTERS = {
    S1: [A, B, C],
    S2: [{**A, "managing_division": "NE"}, {**B, "status": "DESELECTED", "deselected_on": "2026-02-15"},
         {**C, "status": "ACTIVE", "selected_on": "2026-02-25"}],
}  # fmt: skip


def run(hub, sql_key: str, **params: object) -> list[tuple]:
    with hub.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(WORKED[sql_key].sql), params)]


def ingest(hub, report_date: date) -> None:
    for feed in FEEDS.values():
        ingest_feed(hub.engine, LocalInbox(hub.inbox.root), feed, report_date, settle_seconds=0,
                    divisions=frozenset(CONFIG.divisions))  # fmt: skip


def registers(hub) -> None:
    for day, members in REGISTERS.items():
        hub.inbox.cohort(day, members)


@BOTH_WAREHOUSES
def test_who_was_active_on_a_date_is_the_register_in_force_active_members(hub):
    registers(hub)
    hub.inbox.cohort(date(2026, 3, 10), [{**A, "managing_division": "NW"}])  # B and C gone from the register
    ingest(hub, date(2026, 3, 31))
    day = date(2025, 12, 30)
    while day <= date(2026, 3, 12):
        _, register = register_in_force(hub.engine, day, stand_in=False)
        active = active_members(register, day)
        expected = sorted(zip(active["managing_division"], active["iom_id"], map(str, active["selected_on"]), strict=True))
        got = [(d, i, str(s)) for d, i, s in run(hub, "active_on", d=day.isoformat())]
        assert got == expected, day
        day += timedelta(days=1)
    # As the doc's example reads it, by hand: on 1 March, A (now NE), B deselected, C selected 25 Feb.
    assert [r[:2] for r in run(hub, "active_on", d="2026-03-01")] == [("NE", "LDS-000001"), ("NW", "LDS-000003")]


def arrest(ref: str, niche: str, when: str, outcome: str = "") -> dict[str, str]:
    return {"custody_ref": ref, "niche_nominal_id": niche, "surname": "x", "forenames": "y", "arrest_datetime": when,
            "offence_description": "Theft", "outcome": outcome}  # fmt: skip


ARRESTS = {  # file date: arrests of that day (K1 again two days later, its outcome known)
    date(2026, 1, 10): [arrest("K1", "N1", "10/01/2026 10:00")],
    date(2026, 1, 12): [arrest("K1", "N1", "10/01/2026 10:00", "CHARGED")],
    date(2026, 2, 5): [arrest("K2", "N3", "05/02/2026 09:00"), arrest("K3", "N2", "05/02/2026 11:00")],
    date(2026, 2, 20): [arrest("K4", "N1", "20/02/2026 23:59")],
    date(2026, 3, 5): [arrest("K6", "N1", "05/03/2026 01:00"), arrest("K7", "N2", "05/03/2026 02:00"),
                       arrest("K8", "N3", "05/03/2026 03:00"), arrest("K9", "N999", "05/03/2026 04:00")],
}  # fmt: skip


@BOTH_WAREHOUSES
def test_arrests_per_division_per_month_are_the_reportable_arrests_of_each_day(hub):
    registers(hub)
    for day, rows in ARRESTS.items():
        hub.inbox.arrests(f"{day:%Y%m%d}_120000", rows)
    expected: Counter[tuple[str, str]] = Counter()
    seen: set[str] = set()
    for day in sorted(ARRESTS):
        compute_and_store(hub, day + timedelta(days=1))  # links yesterday's arrests (and the traffic light, its months')
        reported = reportable_records(hub.engine, "arrests", day + timedelta(days=1), CONFIG.linking)
        for _, r in reported.iterrows():
            if r["custody_ref"] not in seen:
                seen.add(r["custody_ref"])
                expected[(r["managing_division"], f"{r['local_date']:%Y-%m}")] += 1
    year = run(hub, "arrests_by_division_month", first_day="2025-04-01", last_day="2026-03-31")
    assert year == sorted((d, m, n) for (d, m), n in expected.items())
    # By hand: K1 once (CH, January); K3 (NE); K4 (A still CH by the register of 20 Feb); K6 (A in NE by then)
    # and K8 (C selected 25 Feb). Not K2 (C only nominated), K7 (B deselected), K9 (nobody in the cohort).
    assert year == [("CH", "2026-01", 1), ("CH", "2026-02", 1), ("NE", "2026-02", 1), ("NE", "2026-03", 1), ("NW", "2026-03", 1)]
    window = run(hub, "arrests_by_division_month", first_day="2026-02-06", last_day="2026-03-04")
    assert window == [("CH", "2026-02", 1)]


def spell(iom_id: str, start: str, end: str | None, location: str) -> dict:
    return {"iom_id": iom_id, "started_at": datetime.fromisoformat(start), "ended_at": end and datetime.fromisoformat(end),
            "location": location, "cause": "test", "feed": None, "file_id": None, "row_no": None,
            "as_of": date(2026, 4, 2)}  # fmt: skip


SPELLS = [
    spell("LDS-000001", "2026-01-01T00:00", "2026-01-20T10:00", "COMMUNITY"),
    spell("LDS-000001", "2026-01-20T10:00", "2026-03-01T00:00", "IN_PRISON"),  # ends exactly at midnight ending February
    spell("LDS-000001", "2026-03-01T00:00", None, "ON_LICENCE"),
    spell("LDS-000002", "2026-01-31T23:30", "2026-02-10T12:00", "REMANDED_IN_CUSTODY"),
    spell("LDS-000002", "2026-02-10T12:00", None, "IN_PRISON"),
    spell("LDS-000003", "2026-02-28T22:00", "2026-03-01T02:00", "POLICE_CUSTODY"),
    spell("LDS-000003", "2026-03-01T02:00", None, "COMMUNITY"),
    spell("LDS-000004", "2026-03-01T00:00", None, "IN_PRISON"),  # starts as February ends: March's
]


def at_end_of(month_start: date, next_start: date) -> tuple[str, int, int]:
    """The month ending at ``next_start`` 00:00, and who was in prison / remanded then."""
    instant = datetime.combine(next_start, datetime.min.time())
    there = [s for s in SPELLS if s["started_at"] < instant and (s["ended_at"] is None or s["ended_at"] >= instant)]
    count = lambda loc: len({s["iom_id"] for s in there if s["location"] == loc})  # noqa: E731
    return f"{month_start:%Y-%m}", count("IN_PRISON"), count("REMANDED_IN_CUSTODY")


@BOTH_WAREHOUSES
def test_members_in_prison_at_each_month_end(hub):
    registers(hub)
    compute_and_store(hub, date(2026, 4, 2))  # the traffic light's months: January to 1 April
    with hub.engine.begin() as conn:
        conn.execute(cjs_location.insert(), SPELLS)
    starts = [p.start for p in tl.periods(date(2026, 1, 1), date(2026, 4, 2))]
    expected = [at_end_of(a, b) for a, b in zip(starts, starts[1:], strict=False)]
    assert run(hub, "in_prison_at_month_end") == expected
    assert expected == [("2026-01", 1, 1), ("2026-02", 2, 0), ("2026-03", 2, 0)]  # by hand


def compute_and_store(hub, report_date: date) -> pd.DataFrame:
    """A daily run's stages up to the traffic light, returning what it wrote."""
    ingest(hub, report_date)
    for feed in LINKED_FEEDS:
        link_for_report(hub.engine, feed, report_date, CONFIG.linking)
    rows = tl.compute(hub.engine, report_date, CONFIG)
    tl.store(hub.engine, rows)
    return rows


def _value(v: object) -> Decimal | None:
    return None if v is None or pd.isna(v) else Decimal(str(v)).quantize(Decimal("0.1"))


@BOTH_WAREHOUSES
def test_how_review_in_date_moved_is_what_each_run_wrote(hub):
    box = hub.inbox
    box.cohort(date(2026, 10, 31), [{**A, "next_review_due": "2026-11-20"}, {**B, "next_review_due": "2026-10-01"}])
    first = compute_and_store(hub, date(2026, 11, 2))
    # On 1 Nov B's review is overdue; by 30 Nov both were reviewed: November is restated.
    box.cohort(date(2026, 11, 25), [{**A, "next_review_due": "2027-02-01"}, {**B, "next_review_due": "2027-01-10"}])
    second = compute_and_store(hub, date(2026, 12, 5))
    written = pd.concat([first, second])
    written = written[written["kpi"] == "review_in_date"]
    expected = sorted(
        (r.period, r.division, str(r.report_date), str(r.period_end), r.numerator, r.denominator, _value(r.value), r.rag)
        for r in written.itertuples()
    )
    got = [
        (p, d, str(rd), str(pe), None if n is None else int(n), None if m is None else int(m), _value(v), rag)
        for p, d, rd, pe, n, m, v, rag in run(hub, "review_in_date_moves", kpi="review_in_date")
    ]
    assert got == [(*r[:4], None if pd.isna(r[4]) else int(r[4]), None if pd.isna(r[5]) else int(r[5]), *r[6:]) for r in expected]
    november_all = [(r[2], r[4], r[5]) for r in got if r[0] == "2026-11" and r[1] == "ALL"]
    assert november_all == [("2026-11-02", 1, 2), ("2026-12-05", 2, 2)]  # the restatement, beside the first figure
    ne = [(r[2], r[4]) for r in got if r[0] == "2026-11" and r[1] == "NE"]
    assert ne == [("2026-11-02", 0), ("2026-12-05", 1)]
