"""The traffic-light table (CONTRACT section 8), against hand-computed values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pipelines.settings import Kpi
from pipelines.traffic_light import periods, rag
from tests.builders import member
from tests.conftest import BOTH_WAREHOUSES

D = date(2026, 11, 2)

M1 = member("LDS-000001", "One", "Ann", "1990-01-01", next_review_due="2026-10-31", support_plan_agreed_on="2026-05-01",
            niche_nominal_id="N1", noms_number="A1111AA")  # fmt: skip
M2 = member("LDS-000002", "Two", "Bob", "1990-01-02", next_review_due="2026-10-30", support_plan_agreed_on="2026-05-02",
            noms_number="A2222AA")  # fmt: skip
M3 = member("LDS-000003", "Three", "Cy", "1990-01-03", managing_division="NE", selected_on="2026-10-31", niche_nominal_id="N3")
M4 = member("LDS-000004", "Four", "Di", "1990-01-04", managing_division="NE", status="DESELECTED",
            deselected_on="2026-10-15", niche_nominal_id="N4")  # fmt: skip
M5 = member("LDS-000005", "Five", "Ed", "1990-01-05", managing_division="NW", status="NOMINATED", selected_on="")


def appt(rid: str, iom_id: str, day: str, outcome: str) -> dict[str, str]:
    return {"record_id": rid, "record_type": "APPOINTMENT", "iom_id": iom_id, "surname": "x", "forenames": "y",
            "event_datetime": f"{day}T10:00", "outcome": outcome}  # fmt: skip


def arrest(ref: str, niche: str, when: str, outcome: str = "") -> dict[str, str]:
    return {"custody_ref": ref, "niche_nominal_id": niche, "surname": "x", "forenames": "y", "arrest_datetime": when,
            "offence_description": "Theft", "outcome": outcome}  # fmt: skip


def release(noms: str, day: str, accommodation: str) -> dict[str, str]:
    return {"noms_number": noms, "surname": "x", "forenames": "y", "prison_id": "LEI", "release_date": day,
            "accommodation_on_release": accommodation}  # fmt: skip


@pytest.fixture
def table(hub):
    box = hub.inbox
    box.attendance("DIP", date(2026, 9, 15), [])  # the earliest file: September has no register
    box.cohort(date(2026, 10, 31), [M1, M2, M3, M4, M5])
    box.attendance("PROBATION", date(2026, 10, 20), [
        appt("1", "LDS-000001", "2026-10-05", "ATTENDED"),
        appt("2", "LDS-000001", "2026-10-06", "FAILED_TO_ATTEND"),
        appt("3", "LDS-000001", "2026-10-07", "ACCEPTABLE_ABSENCE"),
        appt("4", "LDS-000001", "2026-10-08", "RESCHEDULED"),
        appt("5", "LDS-000004", "2026-10-10", "ATTENDED"),
        appt("6", "LDS-000004", "2026-10-20", "FAILED_TO_ATTEND"),  # after deselection
        appt("7", "LDS-000005", "2026-10-10", "FAILED_TO_ATTEND"),  # nominated only
        appt("8", "LDS-000001", "2026-09-30", "FAILED_TO_ATTEND"),  # September
    ])  # fmt: skip
    box.arrests("20261020_080000", [
        arrest("K1", "N1", "05/10/2026 10:00"),
        arrest("K2", "N1", "06/10/2026 10:00"),
        arrest("K3", "N3", "30/10/2026 10:00"),  # before M3's selection
        arrest("K4", "N4", "14/10/2026 10:00"),
        arrest("K5", "N999", "14/10/2026 10:00"),  # not a member
    ])  # fmt: skip
    box.arrests("20261021_080000", [arrest("K1", "N1", "05/10/2026 10:00", "CHARGED")])  # same arrest, updated
    box.releases(date(2026, 10, 1), [release("A1111AA", "2026-10-10", "TEMPORARY"), release("A2222AA", "2026-10-20", "SETTLED")])
    box.releases(date(2026, 10, 15), [release("A1111AA", "2026-10-10", "SETTLED"), release("A2222AA", "2026-10-20", "NFA")])
    hub.run(D)
    rows = hub.query("select * from traffic_light")
    return hub, {(r.period, r.division, r.kpi): r for r in rows}


def cell(t, period, division, kpi):
    r = t[(period, division, kpi)]
    value = None if r.value is None else Decimal(str(r.value)).quantize(Decimal("0.1"))
    return r.numerator, r.denominator, value, r.rag


@BOTH_WAREHOUSES
def test_periods_run_from_earliest_file_month_to_month_of_yesterday(table):
    hub, t = table
    got = sorted({(r.period, str(r.period_start), str(r.period_end)) for r in hub.query("select * from traffic_light")})
    assert got == [("2026-09", "2026-09-01", "2026-09-30"), ("2026-10", "2026-10-01", "2026-10-31"),
                   ("2026-11", "2026-11-01", "2026-11-01")]  # fmt: skip
    assert len(t) == 3 * 4 * 5  # periods x (3 divisions + ALL) x KPIs


@BOTH_WAREHOUSES
def test_no_register_means_no_data(table):
    _, t = table
    for division in ("CH", "NE", "NW", "ALL"):
        for kpi in ("review_in_date", "appointment_compliance"):
            assert cell(t, "2026-09", division, kpi) == (None, None, None, "NO_DATA")


@BOTH_WAREHOUSES
def test_review_in_date(table):
    _, t = table
    assert cell(t, "2026-10", "CH", "review_in_date") == (1, 2, Decimal("50.0"), "RED")
    assert cell(t, "2026-10", "NE", "review_in_date") == (0, 1, Decimal("0.0"), "RED")
    assert cell(t, "2026-10", "NW", "review_in_date") == (0, 0, None, "NO_DATA")
    assert cell(t, "2026-10", "ALL", "review_in_date") == (1, 3, Decimal("33.3"), "RED")


@BOTH_WAREHOUSES
def test_plan_in_place_window_is_183_days_to_e(table):
    _, t = table
    # E = 2026-10-31; E - 182 days = 2026-05-02: M2's plan counts, M1's (a day earlier) does not.
    assert cell(t, "2026-10", "CH", "plan_in_place") == (1, 2, Decimal("50.0"), "RED")


@BOTH_WAREHOUSES
def test_appointment_compliance(table):
    _, t = table
    assert cell(t, "2026-10", "CH", "appointment_compliance") == (2, 3, Decimal("66.7"), "RED")
    assert cell(t, "2026-10", "NE", "appointment_compliance") == (1, 1, Decimal("100.0"), "GREEN")
    assert cell(t, "2026-10", "ALL", "appointment_compliance") == (3, 4, Decimal("75.0"), "AMBER")


@BOTH_WAREHOUSES
def test_arrests_per_100(table):
    _, t = table
    assert cell(t, "2026-10", "CH", "arrests_per_100") == (2, 2, Decimal("100.0"), "RED")
    assert cell(t, "2026-10", "NE", "arrests_per_100") == (1, 1, Decimal("100.0"), "RED")
    assert cell(t, "2026-10", "ALL", "arrests_per_100") == (3, 3, Decimal("100.0"), "RED")


@BOTH_WAREHOUSES
def test_settled_on_release_uses_newest_file_on_or_before_release_date(table):
    _, t = table
    # 10-10 comes from the 10-01 file (TEMPORARY); 10-20 from the 10-15 file (NFA).
    assert cell(t, "2026-10", "CH", "settled_on_release") == (0, 2, Decimal("0.0"), "RED")
    assert cell(t, "2026-10", "NE", "settled_on_release") == (0, 0, None, "NO_DATA")


@BOTH_WAREHOUSES
def test_later_months_are_not_touched(table):
    hub, _ = table
    hub.run(date(2026, 12, 5))
    december = hub.query("select * from traffic_light where period = '2026-12'")
    november_end = hub.query("select distinct period_end from traffic_light where period = '2026-11'")
    assert [str(r.period_end) for r in november_end] == ["2026-11-30"]
    hub.run(D)
    assert hub.query("select * from traffic_light where period = '2026-12'") == december
    assert [str(r.period_end) for r in hub.query("select distinct period_end from traffic_light where period = '2026-11'")] == [
        "2026-11-01"
    ]


@pytest.mark.parametrize(
    ("numerator", "denominator", "higher", "expected"),
    [
        (1, 16, True, (Decimal("6.3"), "RED")),  # 6.25 rounds half up
        (9, 10, True, (Decimal("90.0"), "GREEN")),  # at green is green
        (3, 4, True, (Decimal("75.0"), "AMBER")),  # at amber is amber
        (2999, 4000, True, (Decimal("75.0"), "RED")),  # 74.975 shows 75.0 but RAG uses the unrounded value
        (1, 10, False, (Decimal("10.0"), "GREEN")),
        (2, 10, False, (Decimal("20.0"), "AMBER")),
        (201, 1000, False, (Decimal("20.1"), "RED")),
        (0, 0, True, (None, "NO_DATA")),
    ],
)
def test_rounding_and_thresholds(numerator, denominator, higher, expected):
    kpi = Kpi("x", higher, green=90 if higher else 10, amber=75 if higher else 20)
    assert rag(numerator, denominator, kpi) == expected


def test_period_boundaries():
    assert [(p.label, p.start, p.end) for p in periods(date(2026, 12, 15), date(2027, 1, 1))] == [
        ("2026-12", date(2026, 12, 1), date(2026, 12, 31))
    ]
    assert periods(date(2026, 12, 15), date(2026, 12, 1)) == []


@BOTH_WAREHOUSES
def test_a_moved_release_counts_once_on_its_new_date(hub):
    hub.inbox.cohort(date(2026, 10, 1), [M1])
    hub.inbox.releases(date(2026, 10, 1), [release("A1111AA", "2026-10-10", "SETTLED")])
    hub.inbox.releases(date(2026, 10, 5), [release("A1111AA", "2026-10-25", "TEMPORARY")])
    hub.run(date(2026, 11, 1))
    (row,) = hub.query(
        "select numerator, denominator from traffic_light where period='2026-10' and division='CH' and kpi='settled_on_release'"
    )
    assert tuple(row) == (0, 1)


@BOTH_WAREHOUSES
def test_the_history_keeps_every_runs_figures_for_a_restated_month(table):
    """November as the run for 2 Nov computed it (to 1 Nov) and as the run for 5 Dec did
    (to 30 Nov): traffic_light holds the latest, traffic_light_history both; running a day
    again replaces that day's figures and nothing else."""
    hub, _ = table  # run for D = 2 Nov
    hub.run(date(2026, 12, 5))
    history = "select report_date, period_end from traffic_light_history where period = '2026-11' and division = 'ALL' and kpi = 'review_in_date'"
    assert [(str(r.report_date), str(r.period_end)) for r in hub.query(history + " order by report_date")] == [
        ("2026-11-02", "2026-11-01"), ("2026-12-05", "2026-11-30"),
    ]  # fmt: skip
    current = hub.query(
        "select report_date from traffic_light where period = '2026-11' and division = 'ALL' and kpi = 'review_in_date'"
    )
    assert [str(r.report_date) for r in current] == ["2026-12-05"]
    (count,) = hub.query("select count(*) as n from traffic_light_history")[0]
    hub.run(date(2026, 12, 5))
    assert hub.query("select count(*) as n from traffic_light_history")[0][0] == count
    # Every current row is also in the history, as the run that wrote it computed it.
    missing = hub.query(
        "select count(*) from traffic_light t where not exists (select 1 from traffic_light_history h where h.period = t.period"
        " and h.division = t.division and h.kpi = t.kpi and h.report_date = t.report_date and h.rag = t.rag)"
    )
    assert missing[0][0] == 0
