"""report.html for people at 7 a.m.: what needs action first, rows that fit a phone, due
and overdue apart, "—" where a feed did not arrive, the traffic light, and who made it."""

from __future__ import annotations

import io
import os
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from pipelines.reports.needs_action import needs_action
from pipelines.reports.render import render_html, write_report
from pipelines.reports.sections import build_reports
from pipelines.reports.tiles import tiles
from pipelines.settings import PROJECT_ROOT, Kpi, load_hub_config
from tests.builders import member

D = date(2026, 11, 23)  # yesterday: Sun 22 Nov

OVERDUE = member("LDS-000001", "Overdue", "Olga", "1980-06-06", niche_nominal_id="NN1", next_review_due="2026-11-10")
DUE = member("LDS-000002", "Duesoon", "Dan", "1981-01-01", niche_nominal_id="NN2", next_review_due="2026-11-30",
             pnc_id="2012/0394773H")  # fmt: skip
REMANDED = member("LDS-000003", "Remand", "Rita", "1982-02-02", niche_nominal_id="NN3", noms_number="A1111AA")
ELSEWHERE = member("LDS-000004", "Other", "Owen", "1983-03-03", niche_nominal_id="NN4", managing_division="NE")
RELEASED = member("LDS-000005", "Release", "Rob", "1984-04-04", noms_number="B2222BB")
LATER = member("LDS-000006", "Later", "Lena", "1985-05-05", noms_number="C3333CC")
SETTLED = member("LDS-000007", "Settled", "Sue", "1986-06-06", noms_number="D4444DD")
MEMBERS = [OVERDUE, DUE, REMANDED, ELSEWHERE, RELEASED, LATER, SETTLED]


def _arrest(ref: str, who: dict[str, str], when: str, outcome: str = "") -> dict[str, str]:
    return {"custody_ref": ref, "niche_nominal_id": who["niche_nominal_id"], "surname": who["surname"],
            "forenames": who["forenames"], "arrest_datetime": when, "offence_description": "Burglary", "outcome": outcome}  # fmt: skip


def _release(who: dict[str, str], day: str, accommodation: str) -> dict[str, str]:
    return {"noms_number": who["noms_number"], "surname": who["surname"], "forenames": who["forenames"],
            "prison_id": "LEI", "prison_name": "HMP Leeds", "release_date": day, "accommodation_on_release": accommodation}  # fmt: skip


@pytest.fixture
def morning(hub):
    """A division (CH) with one of each thing that needs action, and things that do not."""
    box = hub.inbox
    box.cohort(D, MEMBERS)
    box.arrests("20261123_050000", [
        _arrest("K1", REMANDED, "22/11/2026 10:30", "CHARGED_REMANDED"),
        _arrest("K2", ELSEWHERE, "22/11/2026 11:00", "BAILED"),  # NE's member: shown, but not CH's action
    ])  # fmt: skip
    box.attendance("PROBATION", date(2026, 11, 22), [
        {"record_id": "P1", "record_type": "APPOINTMENT", "iom_id": "LDS-000002", "surname": "x", "forenames": "y",
         "event_datetime": "2026-11-22T09:12", "appointment_type": "Supervision", "outcome": "FAILED_TO_ATTEND"},
        {"record_id": "P2", "record_type": "APPOINTMENT", "iom_id": "LDS-000001", "surname": "x", "forenames": "y",
         "event_datetime": "2026-11-22T10:00", "appointment_type": "Supervision", "outcome": "ATTENDED"},
    ])  # fmt: skip
    box.releases(D, [
        _release(RELEASED, "2026-11-27", "TEMPORARY"),  # within 7 days, not settled: action
        _release(LATER, "2026-12-05", "NFA"),  # 12 days away: listed, not yet action
        _release(SETTLED, "2026-11-25", "SETTLED"),  # settled: no action
    ])  # fmt: skip
    # No court results file at all: that section says "—", not 0.
    hub.run(D)
    return hub


@pytest.fixture
def morning_with_court(morning):
    """The same morning once the court file has come: the widest table, and a remand."""
    offences = [
        {"seq": 1, "title": "Possession with intent to supply a controlled drug of Class A", "results": ["4004"]},
        {"seq": 2, "title": "Driving whilst disqualified", "results": ["4004", "1116"], "next": ["2026-12-14"]},
    ]
    morning.inbox.court("B13HT", date(2026, 11, 22), [("13AA1234526", [
        {"surname": "Duesoon", "forenames": "Dan", "pnc_id": "2012/0394773H", "remand_status": "PR", "offences": offences},
    ])])  # fmt: skip
    morning.run(D)
    return morning


def test_a_remand_in_custody_by_the_court_is_one_line_per_hearing(morning_with_court):
    items = [i for i in needs_action(_report(morning_with_court)) if i.kind == "Remanded in custody"]
    assert [(i.who, i.anchor) for i in items] == [("DUESOON, Dan (LDS-000002)", "court_results-0")]
    assert "<b>2</b><span>court results</span>" in render_html(_report(morning_with_court))


def _report(hub, division: str = "CH", **kw):
    config = load_hub_config(str(PROJECT_ROOT / "config" / "hub.yaml"))
    return next(r for r in build_reports(hub.engine, D, config, **kw) if r.division == division)


def test_needs_action_lists_what_the_division_must_act_on_each_linked_to_its_row(morning):
    report = _report(morning)
    items = needs_action(report)
    assert [(i.kind, i.who) for i in items] == [
        ("Review overdue", "OVERDUE, Olga (LDS-000001)"),
        ("Failed to attend", "DUESOON, Dan (LDS-000002)"),
        ("Charged and remanded", "REMAND, Rita (LDS-000003)"),
        ("Release within 7 days", "RELEASE, Rob (LDS-000005)"),  # not LATER (12 days) nor SETTLED
        ("Changed location", "REMAND, Rita (LDS-000003)"),  # the remand moved her
    ]
    kinds = [i.kind for i in items]
    assert "Arrested" not in kinds  # NE's member's arrest is in the table, not CH's action
    assert items[0].what == "overdue by 13 days (due Tue 10 Nov)"
    assert items[1].what == "PROBATION Supervision Sun 22 Nov 09:12"
    assert items[2].what == "arrested Sun 22 Nov 10:30 for Burglary: charged and remanded in custody"
    assert items[3].what == "released Fri 27 Nov from HMP Leeds with no settled accommodation (TEMPORARY)"
    html = render_html(report)
    for item in items:  # every line links to a row that is in the page
        assert f'href="#{item.anchor}"' in html and f'id="{item.anchor}"' in html
    # The other division sees the arrest in its own block.
    assert "Arrested" in [i.kind for i in needs_action(_report(morning, "NE"))]


def test_due_and_overdue_are_apart_and_a_missing_feed_reads_as_a_dash(morning):
    html = render_html(_report(morning))
    assert "<h3>Overdue (1)</h3>" in html and "<h3>Due within 14 days (1)</h3>" in html
    assert "<b>1</b><span>overdue reviews</span>" in html and "<b>1</b><span>reviews due in 14 days</span>" in html
    assert "<h3>Failed to attend (1)</h3>" in html and "<h3>Other appointments (1)</h3>" in html
    # No court results file arrived: its count and heading are "—", never a reassuring 0.
    assert "<b>—</b><span>court results</span>" in html
    assert "Court results yesterday (—)" in html and "nothing can be shown until the file arrives" in html
    assert "2026-11-22T" not in html  # people read "Sun 22 Nov 09:12", not ISO


def test_the_footer_says_when_by_which_run_and_from_which_files(morning):
    html = render_html(_report(morning, run_id="0123456789abcdef"))
    assert 'href="http://127.0.0.1:3000/runs/0123456789abcdef"' in html
    assert "cohort_20261123.csv" in html and "niche_arrests_20261123_050000.csv" in html
    assert "prison_releases_20261123.csv" in html and "Generated " in html


def test_a_rerun_with_the_same_content_keeps_the_folder_and_its_run_id(morning, tmp_path):
    first = write_report(tmp_path, _report(morning, run_id="run-one"))
    again = write_report(tmp_path, _report(morning, run_id="run-two"))
    assert first[1] is True and again[1] is False  # only the footer differs: nothing rewritten
    assert "run-one" in (first[0] / "report.html").read_text(encoding="utf-8")


def test_the_workbook_has_a_sheet_per_section_with_a_frozen_header_and_real_dates(morning, tmp_path):
    folder, _ = write_report(tmp_path, _report(morning))
    book = openpyxl.load_workbook(io.BytesIO((folder / "report.xlsx").read_bytes()))
    assert {"arrests", "attendance", "releases", "reviews", "feeds"} <= set(book.sheetnames)
    sheet = book["arrests"]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    when = sheet.cell(row=2, column=header.index("arrest_datetime") + 1).value
    assert isinstance(when, datetime) and when == datetime(2026, 11, 22, 10, 30)
    reviews = book["reviews"]
    due = reviews.cell(row=2, column=[c.value for c in reviews[1]].index("next_review_due") + 1)
    assert due.is_date


def _kpi(name: str, higher: bool = True) -> Kpi:
    return Kpi(name, higher, 90, 75)


def test_tiles_show_this_month_against_last_with_better_and_worse_by_the_kpis_direction():
    rows = pd.DataFrame([
        {"period": "2026-10", "division": "CH", "kpi": "review_in_date", "numerator": 80, "denominator": 100, "value": 80.0, "rag": "AMBER"},
        {"period": "2026-11", "division": "CH", "kpi": "review_in_date", "numerator": 45, "denominator": 50, "value": 90.0, "rag": "GREEN"},
        {"period": "2026-10", "division": "CH", "kpi": "arrests_per_100", "numerator": 5, "denominator": 100, "value": 5.0, "rag": "GREEN"},
        {"period": "2026-11", "division": "CH", "kpi": "arrests_per_100", "numerator": 8, "denominator": 100, "value": 8.0, "rag": "GREEN"},
        {"period": "2026-11", "division": "CH", "kpi": "settled_on_release", "numerator": None, "denominator": None, "value": None, "rag": "NO_DATA"},
    ])  # fmt: skip
    kpis = (_kpi("review_in_date"), _kpi("arrests_per_100", higher=False), _kpi("settled_on_release"))
    review, arrests, settled = tiles(rows, kpis, "CH")
    assert (review.value, review.counts, review.direction) == ("90.0%", "45 of 50", "better")
    assert review.trend.startswith("▲ 10.0 pts on Oct")
    assert (arrests.value, arrests.direction) == ("8.0 per 100", "worse")  # up is worse when lower is better
    assert (settled.value, settled.rag, settled.trend) == ("—", "NO_DATA", "")
    assert review.href == "../../performance/2026-10/CH/performance.html"  # the last whole month's pack


def test_the_report_carries_the_divisions_traffic_light_for_this_month(morning):
    report = _report(morning)
    assert set(report.performance["division"]) == {"CH"} and set(report.performance["period"]) == {"2026-11"}
    html = render_html(report)
    assert html.count('class="tile rag-') == len(load_hub_config(str(PROJECT_ROOT / "config" / "hub.yaml")).kpis)


# ---------------------------------------------------------------- in a real browser


def _browser_or_skip():
    from tests.browser import browser_problem

    problem = browser_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{problem} (CI=true: the browser test must run)", pytrace=False)
        pytest.skip(problem)


OVERFLOW = """() => {
  const doc = document.documentElement;
  const cut = [];
  for (const td of document.querySelectorAll("td, th")) {
    const r = td.getBoundingClientRect();
    const head = td.closest("thead");
    if (head && head.getBoundingClientRect().width <= 1) continue;  // cards: the header row is for screen readers
    if (r.width === 0 && r.height === 0) continue;  // a card leaves out an empty value
    const box = td.closest("section").getBoundingClientRect();
    if (r.right > box.right + 1 || r.left < box.left - 1) cut.push(td.dataset.label || td.textContent);
  }
  return {page: doc.scrollWidth - window.innerWidth, cut: cut.slice(0, 5)};
}"""


# A phone; a small laptop, where the wide tables fit only as cards; a desktop.
@pytest.mark.parametrize("width", [390, 1024, 1280])
def test_in_a_browser_no_column_is_cut_off_and_the_action_links_land_on_their_rows(morning_with_court, tmp_path, width):
    morning = morning_with_court
    _browser_or_skip()
    from tests.browser import Browser, artefacts_dir

    folder, _ = write_report(tmp_path / "reports", _report(morning, run_id="0123456789abcdef"))
    with Browser(f"file://{folder}", width=width, height=844) as browser:
        browser.page.goto(f"file://{folder}/report.html", wait_until="load")
        measured = browser.page.evaluate(OVERFLOW)
        assert measured["page"] <= 0, f"the page scrolls sideways by {measured['page']} px at {width} px"
        assert measured["cut"] == [], f"cut off at {width} px: {measured['cut']}"
        links = browser.page.locator("#needs-action a")
        assert links.count() == len(needs_action(_report(morning)))
        target = links.first.get_attribute("href")
        links.first.click()
        assert browser.page.evaluate("location.hash") == target
        assert browser.page.locator(f"tr{target}").is_visible()
        browser.screenshot(artefacts_dir() / f"morning_report_{width}.png", full_page=True)
        assert Path(artefacts_dir() / f"morning_report_{width}.png").stat().st_size > 10_000
