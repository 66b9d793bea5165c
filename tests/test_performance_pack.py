"""The monthly performance pack: chart data, notes, the cohort in numbers, the rendered
HTML (in a headless browser) and PDF (poppler), the Dagster asset, and end to end on a
generated inbox: every figure in the pack equals the traffic_light table."""

from __future__ import annotations

import io
import shutil
import subprocess
import warnings
import xml.etree.ElementTree as ET
from datetime import date, datetime

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from pipelines.reports.charts import KpiChart, Point, charts_for, render_svg
from pipelines.reports.performance_pack import (
    ALL,
    PerformancePack,
    build_packs,
    month_name,
    pack_files,
    write_packs,
)
from pipelines.settings import PROJECT_ROOT, load_hub_config
from pipelines.synth import generate
from tests.browser import Browser, artefacts_dir, browser_problem, png_size
from tests.builders import hub_settings, member
from tests.conftest import BOTH_WAREHOUSES
from warehouse.schema import CJS_LOCATIONS, traffic_light, traffic_light_history

CONFIG = load_hub_config(str(PROJECT_ROOT / "config" / "hub.yaml"))
SVG = "{http://www.w3.org/2000/svg}"
MONTHS = [f"2025-{m:02d}" for m in range(10, 13)] + [f"2026-{m:02d}" for m in range(1, 12)]  # 14 months


def month_bounds(period: str) -> tuple[date, date]:
    start = date.fromisoformat(f"{period}-01")
    return start, (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date()


def tl_row(period: str, division: str, kpi: str, numerator: int | None, denominator: int | None, rag: str | None = None,
           *, report_date: date = date(2026, 11, 20), period_end: date | None = None) -> dict:  # fmt: skip
    start, end = month_bounds(period)
    value = None if not denominator else round(100 * numerator / denominator, 1)
    if rag is None:
        rag = "NO_DATA" if value is None else "GREEN" if value >= 90 else "AMBER" if value >= 75 else "RED"
    return {"period": period, "period_start": start, "period_end": period_end or end, "division": division, "kpi": kpi,
            "numerator": numerator, "denominator": denominator, "value": value, "rag": rag, "report_date": report_date}  # fmt: skip


def insert(engine: sa.Engine, table: sa.Table, rows: list[dict]) -> None:
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)


def hand_made_table(hub, months: list[str] = MONTHS) -> list[dict]:
    """Fourteen months of review_in_date for CH (one with no register, one with nothing
    to count); the month in progress runs to 19 Nov."""
    rows = []
    for i, period in enumerate(months):
        numerator, denominator = 10 + i % 5, 14
        if period == "2026-02":
            numerator = denominator = None  # no register at its end
        if period == "2026-05":
            numerator, denominator = 0, 0  # nothing to count
        end = date(2026, 11, 19) if period == "2026-11" else None
        rows.append(tl_row(period, "CH", "review_in_date", numerator, denominator, period_end=end))
    insert(hub.engine, traffic_light, rows)
    insert(hub.engine, traffic_light_history, rows)
    return rows


# --------------------------------------------------------------------------- (a) chart data


@BOTH_WAREHOUSES
def test_chart_points_are_the_stored_rows_of_the_last_twelve_months(hub):
    rows = hand_made_table(hub)
    packs = {p.division: p for p in build_packs(hub.engine, "2026-11", CONFIG)}
    assert set(packs) == {*CONFIG.divisions, ALL}
    chart = next(c for c in packs["CH"].charts if c.kpi == "review_in_date")
    window = [r for r in rows if "2025-12" <= r["period"] <= "2026-11"]
    assert [p.period for p in chart.points] == [r["period"] for r in window]  # twelve months, none after November
    assert chart.points == tuple(Point(r["period"], r["value"], r["rag"], r["numerator"], r["denominator"]) for r in window)
    assert (chart.green, chart.amber, chart.higher_is_better) == (90.0, 75.0, True)
    # October's pack ends at October: a month after it never shows.
    october = next(p for p in build_packs(hub.engine, "2026-10", CONFIG) if p.division == "CH")
    assert october.charts[0].points[-1].period == "2026-10" and len(october.charts[0].points) == 12


def test_the_svg_has_a_bar_per_month_with_a_value_and_the_thresholds(hub):
    rows = hand_made_table(hub)
    chart = charts_for(pd.DataFrame(rows[-12:]), "CH", CONFIG.kpis[:1])[0]
    svg = render_svg(chart)
    root = ET.fromstring(svg.encode())  # noqa: S314 - our own SVG, no entities
    ids = {e.get("id") for e in root.iter() if e.get("id")}
    valued = [p.period for p in chart.points if p.value is not None]
    empty = [p.period for p in chart.points if p.value is None]
    assert valued and empty
    assert {i for i in ids if i.startswith("point-")} == {f"point-{p}" for p in valued}
    assert {i for i in ids if i.startswith("nodata-")} == {f"nodata-{p}" for p in empty}
    assert {"threshold-green", "threshold-amber"} <= ids
    # Each bar's fill is its month's RAG colour; a NO_DATA month says "no data" as text.
    by_period = {p.period: p for p in chart.points}
    for element in root.iter(f"{SVG}g"):
        gid = element.get("id") or ""
        if gid.startswith("point-"):
            path = element.find(f"{SVG}path")
            colour = {"GREEN": "#1e6b2e", "AMBER": "#a35f00", "RED": "#b3261e"}[by_period[gid[6:]].rag]
            assert colour in path.get("style"), gid
    assert svg.count(">no data<") == len(empty)
    # Text as text, sized by its viewBox, and the same data gives the same bytes.
    assert "Reviews in date" in svg and root.get("viewBox")
    assert render_svg(chart) == svg
    assert render_svg(KpiChart(**{**chart.__dict__, "green": 80.0})) != svg


def test_a_lower_is_better_chart_says_so_and_uses_its_unit():
    chart = KpiChart("CH", "arrests_per_100", False, 10, 20, (Point("2026-10", 12.5, "AMBER", 5, 40),))
    svg = render_svg(chart)
    assert "lower is better" in svg and "per 100 members" in svg and "≤ 10" in svg


# --------------------------------------------------------------------------- (b) notes


@BOTH_WAREHOUSES
def test_notes_say_where_a_month_was_restated_had_no_data_or_is_in_progress(hub):
    hand_made_table(hub)
    # September was first computed as 8 of 14 by the run for 5 Oct, then restated by the
    # run for 20 Nov (the table's figures); the in-progress runs of October do not count.
    insert(hub.engine, traffic_light_history, [
        tl_row("2026-09", "CH", "review_in_date", 8, 14, report_date=date(2026, 10, 5)),
        tl_row("2026-10", "CH", "review_in_date", 1, 2, report_date=date(2026, 10, 10), period_end=date(2026, 10, 9)),
    ])  # fmt: skip
    pack = next(p for p in build_packs(hub.engine, "2026-11", CONFIG) if p.division == "CH")
    notes = {(n.period, n.kpi): n.note for n in pack.notes.itertuples()}
    current = hub.query("select numerator, denominator, value from traffic_light where period = '2026-09'")[0]
    assert notes[("2026-09", "review_in_date")] == (
        f"restated by the run for 20 Nov 2026: was {100 * 8 / 14:.1f} (8 of 14), "
        f"now {float(current.value):.1f} ({current.numerator} of {current.denominator})"
    )
    assert ("2026-10", "review_in_date") not in notes
    assert "no cohort register" in notes[("2026-02", "")]
    assert "nothing to count" in notes[("2026-05", "review_in_date")]
    assert notes[("2026-11", "")].startswith("to 19 Nov 2026 only")
    assert pack.in_progress and pack.period_end == date(2026, 11, 19)
    # The KPIs the table does not hold (only review_in_date was stored) say so.
    assert {k for (p, k) in notes if p == "2026-11" and k} == {k.kpi for k in CONFIG.kpis} - {"review_in_date"}
    # Another division's pack has no figures at all for the month, and says that once.
    ne = next(p for p in build_packs(hub.engine, "2026-11", CONFIG) if p.division == "NE")
    assert list(ne.notes["note"].str.startswith("no figures stored")) == [True]
    assert set(ne.table["rag"]) == {"NO_DATA"}


def test_the_month_table_has_thresholds_and_the_change_from_the_month_before(hub):
    rows = hand_made_table(hub)
    insert(hub.engine, traffic_light, [
        tl_row("2026-10", "NE", "arrests_per_100", 3, 20, "GREEN"),
        tl_row("2026-11", "NE", "arrests_per_100", 5, 20, "AMBER", period_end=date(2026, 11, 19)),
    ])  # fmt: skip
    packs = {p.division: p for p in build_packs(hub.engine, "2026-11", CONFIG)}
    ch = packs["CH"].table.set_index("kpi").loc["review_in_date"]
    nov, oct_ = rows[-1], rows[-2]
    assert (ch["value"], ch["numerator"], ch["denominator"], ch["rag"]) == (
        nov["value"],
        nov["numerator"],
        nov["denominator"],
        nov["rag"],
    )
    assert ch["change"] == pytest.approx(round(nov["value"] - oct_["value"], 1))
    assert ch["change_is"] == ("better" if nov["value"] > oct_["value"] else "worse")
    ne = packs["NE"].table.set_index("kpi").loc["arrests_per_100"]
    assert (ne["green"], ne["amber"], ne["better"]) == (10.0, 20.0, "lower")
    assert ne["change"] == pytest.approx(10.0) and ne["change_is"] == "worse"  # more arrests is worse


# --------------------------------------------------------------------------- (c) the cohort in numbers

D = date(2026, 11, 20)


@pytest.fixture
def small_hub(hub):
    """A register at 18 Nov with every kind of member; an arrest without outcome the day
    before E (19 Nov); a release file listing a member as still in prison."""
    m = member
    hub.inbox.cohort(date(2026, 11, 18), [
        m("LDS-000001", "A", "Ann", "1990-01-01", niche_nominal_id="N1"),  # CH IOM REHAB PROBATION
        m("LDS-000002", "B", "Bob", "1990-01-02", case_manager_agency="YOS", strand="PREVENT_DETER"),
        m("LDS-000003", "C", "Cy", "1990-01-03", case_manager_agency="POLICE", cohort_type="PPO", noms_number="A1234BC"),
        m("LDS-000004", "D", "Di", "1990-01-04", case_manager_agency="", managing_division="NE", strand="CATCH_CONVICT"),
        m("LDS-000005", "E", "Ed", "1990-01-05", case_manager_agency="DIP", managing_division="NE"),
        m("LDS-000006", "F", "Fi", "1990-01-06", status="DESELECTED", deselected_on="2026-10-01"),  # not active
        m("LDS-000007", "G", "Gus", "1990-01-07", status="NOMINATED", selected_on=""),  # not a member
        m("LDS-000008", "H", "Hal", "1990-01-08", selected_on="2026-11-20", managing_division="NW"),  # selected after E
    ])  # fmt: skip
    hub.inbox.arrests("20261119_230000", [
        {"custody_ref": "K1", "niche_nominal_id": "N1", "surname": "A", "forenames": "Ann",
         "arrest_datetime": "19/11/2026 08:00", "offence_description": "Theft"},
    ])  # fmt: skip
    hub.inbox.releases(date(2026, 11, 19), [
        {"noms_number": "A1234BC", "surname": "C", "forenames": "Cy", "prison_id": "LEI", "release_date": "2026-12-20"},
    ])  # fmt: skip
    hub.run(D)
    return hub


def counts(pack: PerformancePack, measure: str) -> dict[str, int]:
    rows = pack.cohort[pack.cohort["measure"] == measure]
    return {r.category: r.members for r in rows.itertuples() if r.members}


def test_the_cohort_in_numbers_counts_members_active_at_the_months_end(small_hub):
    packs = {p.division: p for p in build_packs(small_hub.engine, "2026-11", CONFIG)}
    ch, ne, nw, every = packs["CH"], packs["NE"], packs["NW"], packs[ALL]
    assert ch.period_end == date(2026, 11, 19) and ch.register_date == date(2026, 11, 18)
    assert counts(ch, "active members") == {"all": 3} and counts(every, "active members") == {"all": 5}
    assert counts(nw, "active members") == {}  # Hal was selected the day after E
    assert counts(ch, "strand") == {"REHAB_RESETTLE": 2, "PREVENT_DETER": 1}
    assert counts(ch, "cohort type") == {"IOM": 2, "PPO": 1}
    assert counts(ch, "case manager agency") == {"PROBATION": 1, "YOS": 1, "POLICE": 1}
    assert counts(ne, "case manager agency") == {"not recorded": 1, "DIP": 1}
    assert counts(ch, "supervision") == {"statutory": 2, "non-statutory": 1}
    assert counts(ne, "supervision") == {"non-statutory": 2}
    assert counts(every, "supervision") == {"statutory": 2, "non-statutory": 3}
    # Every strand is listed, with its zeros, so the table's shape does not depend on the month.
    assert set(every.cohort.loc[every.cohort["measure"] == "strand", "category"]) == {
        "REHAB_RESETTLE",
        "PREVENT_DETER",
        "CATCH_CONVICT",
    }


@BOTH_WAREHOUSES
def test_cjs_locations_at_the_months_end_come_from_the_stored_spells(small_hub):
    packs = {p.division: p for p in build_packs(small_hub.engine, "2026-11", CONFIG)}
    ch = dict(zip(packs["CH"].locations["location"], packs["CH"].locations["members"], strict=True))
    assert list(packs["CH"].locations["location"]) == list(CJS_LOCATIONS)
    # Ann was arrested on 19 Nov (no outcome yet), Cy is listed for release in December.
    assert ch == {**dict.fromkeys(CJS_LOCATIONS, 0), "POLICE_CUSTODY": 1, "IN_PRISON": 1, "COMMUNITY": 1}
    every = packs[ALL].locations
    assert every["members"].sum() == 5 and packs["CH"].locations_as_of == D


# --------------------------------------------------------------------------- (d) (e) the HTML and the PDF


@pytest.fixture
def written(small_hub):
    hand_made_table(small_hub, MONTHS[:-1])  # a year of trend for CH before the run's own month
    packs = build_packs(small_hub.engine, "2026-11", CONFIG)
    folders = dict(zip([p.division for p in packs], write_packs(small_hub.reports_dir, packs), strict=True))
    return small_hub, packs, folders


def test_packs_are_written_per_division_and_rewritten_only_when_they_change(written):
    hub, packs, folders = written
    for pack in packs:
        folder, changed = folders[pack.division]
        assert folder == hub.reports_dir / "performance" / "2026-11" / pack.division and changed
        assert sorted(p.name for p in folder.iterdir()) == ["performance.html", "performance.pdf", "performance.xlsx"]
    again = write_packs(hub.reports_dir, build_packs(hub.engine, "2026-11", CONFIG))
    assert [changed for _, changed in again] == [False] * len(packs)  # HTML, PDF and XLSX bytes are deterministic


def test_the_workbook_has_a_sheet_per_section_with_frozen_headers_and_real_dates(written):
    hub, packs, folders = written
    book = load_workbook(folders["CH"][0] / "performance.xlsx")
    assert book.sheetnames == ["traffic light", "trend", "cohort in numbers", "cjs locations", "notes"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2" and all(c.font.bold for c in sheet[1])
    trend = book["trend"]
    header = [c.value for c in trend[1]]
    starts = [row[header.index("period_start")] for row in trend.iter_rows(min_row=2, values_only=True)]
    assert starts and all(isinstance(s, datetime) and s.day == 1 for s in starts)


def skip_without_browser() -> None:
    problem = browser_problem()
    if problem:
        from tests.servers import skip_or_fail

        skip_or_fail(f"no headless browser for the performance pack screenshot: {problem}", "run scripts/setup-system.sh as root")


@pytest.mark.parametrize("width", [390, 1280])
def test_the_html_renders_with_its_charts_and_fits_the_screen(written, width):
    skip_without_browser()
    hub, packs, folders = written
    folder = folders["CH"][0]
    pack = next(p for p in packs if p.division == "CH")
    shot = artefacts_dir() / f"performance-pack-{width}.png"
    shot.unlink(missing_ok=True)
    with Browser(folder.as_uri(), width=width, height=844) as browser:
        browser.open("performance.html", wait_for_text=[pack.title])
        page = browser.page
        charts = page.evaluate("document.querySelectorAll('figure svg').length")
        bars = page.evaluate("document.querySelectorAll('svg g[id*=\"-point-\"]').length")
        overflow = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        drawn = page.evaluate(
            "Math.min(...[...document.querySelectorAll('figure svg')].map(s => s.getBoundingClientRect().width))"
        )
        marking = page.get_by_text("OFFICIAL-SENSITIVE", exact=True).first.is_visible()
        browser.screenshot(shot, full_page=True)
    assert charts == len(CONFIG.kpis)
    assert bars == sum(1 for c in pack.charts for p in c.points if p.value is not None) > 0
    assert overflow[0] <= overflow[1], f"the page is {overflow[0]} px wide in a {overflow[1]} px window"
    assert drawn > width * 0.6 if width < 600 else drawn > 300  # the charts use the width they have
    assert marking
    assert png_size(shot)[0] == width and shot.stat().st_size > 30_000  # a drawn page, not a blank one


def test_the_pdf_has_the_marking_the_division_and_every_kpi(written, tmp_path):
    hub, packs, folders = written
    pdf = folders["CH"][0] / "performance.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = text.count("\f")
    assert text.count("OFFICIAL-SENSITIVE") >= pages >= 1  # the marking on every page
    assert "City & Holbeck performance, November 2026" in text
    for kpi in ("Reviews in date", "Support plan in place", "Appointment compliance", "Arrests per 100 members"):
        assert kpi in text
    assert f"1 of {pages}" in text
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    from PIL import Image

    (png,) = tmp_path.glob("page*.png")
    with Image.open(png) as image:
        grey = image.convert("L")
        histogram = grey.histogram()
    inked = sum(histogram[:200]) / sum(histogram)  # share of pixels darker than near-white
    assert 0.02 < inked < 0.9, f"page 1 looks blank or solid ({inked:.3f} inked)"
    shutil.copy(png, artefacts_dir() / "performance-pack-pdf-page1.png")


def test_a_pack_holds_no_personal_data(small_hub):
    names = {"Ann", "Bob", "Cy", "Di", "Ed", "Fi", "Gus", "Hal"}
    ids = {f"LDS-00000{i}" for i in range(1, 9)} | {"N1", "A1234BC"}
    for pack in build_packs(small_hub.engine, "2026-11", CONFIG):
        files = pack_files(pack)
        html = files["performance.html"].decode()
        assert not any(f">{n}<" in html or f" {n} " in html for n in names)
        assert not any(i in html for i in ids)
        book = load_workbook(io.BytesIO(files["performance.xlsx"]))
        cells = {str(c) for s in book.worksheets for row in s.iter_rows(values_only=True) for c in row}
        assert not (cells & (names | ids))


# --------------------------------------------------------------------------- the asset


def test_the_asset_writes_and_delivers_the_packs_with_counts_only_in_its_metadata(small_hub, monkeypatch, tmp_path):
    from pipelines.assets.performance import months, performance_pack
    from pipelines.resources import HubResource, OutboxResource, WarehouseResource

    outbox = tmp_path / "outbox"
    outbox.mkdir()
    assert "2026-11" in months.get_partition_keys(current_time=datetime(2026, 11, 20))
    resources = {
        "warehouse": WarehouseResource(url=str(small_hub.engine.url)),
        "hub": HubResource(
            config_path=str(PROJECT_ROOT / "config" / "hub.yaml"),
            reports_dir=str(small_hub.reports_dir),
            review_dir=str(tmp_path / "review"),
            quality_dir=str(tmp_path / "quality"),
        ),
        "outbox": OutboxResource(location=str(outbox)),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([performance_pack], resources=resources, partition_key="2026-11", instance=instance)
    assert result.success
    (event,) = result.get_asset_materialization_events()
    metadata = {k: v.value for k, v in event.materialization.metadata.items()}
    divisions = [*CONFIG.divisions, ALL]
    assert metadata["packs_written"] == metadata["folders_rewritten"] == metadata["delivered"] == len(divisions)
    for division in divisions:
        delivered = outbox / "performance" / "2026-11" / division
        assert (delivered / "performance.pdf").read_bytes() == (
            small_hub.reports_dir / "performance" / "2026-11" / division / "performance.pdf"
        ).read_bytes()
    text = repr(metadata) + "".join(str(e.message) for e in result.all_events)
    assert not any(s in text for s in ("Ann", "LDS-000001", 'N1"', "A1234BC"))


# --------------------------------------------------------------------------- (f) end to end

E2E_D = date(2026, 11, 23)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory):
    """A generated inbox of 40 days to 23 Nov, run once through the pipeline's stages."""
    from tests.builders import Inbox
    from tests.conftest import Hub
    from warehouse.db import make_engine, upgrade

    root = tmp_path_factory.mktemp("performance-e2e")
    summary = generate(root / "synth", end_date=E2E_D, days=40, seed=5)
    settings = hub_settings(root, summary.inbox)
    engine = make_engine(settings["IOM_WAREHOUSE_URL"])
    upgrade(engine)
    hub = Hub(root, Inbox(summary.inbox), engine, root / "reports")
    hub.run(E2E_D)
    yield hub
    engine.dispose()


def optional(value: object) -> object:
    """A figure as plain Python: None for a null, int for a count, float for a value."""
    if value is None or pd.isna(value):
        return None
    return round(float(value), 1) if isinstance(value, float) else int(value)


def stored(hub) -> dict[tuple[str, str, str], tuple]:
    rows = hub.query("select * from traffic_light")
    return {
        (r.period, r.division, r.kpi): (
            None if r.value is None else round(float(r.value), 1), r.rag, r.numerator, r.denominator,
            str(r.period_start), str(r.period_end),
        )
        for r in rows
    }  # fmt: skip


def test_every_figure_in_the_pack_equals_the_traffic_light_table(generated):
    table = stored(generated)
    months = sorted({k[0] for k in table})
    assert months[-1] == "2026-11" and len(months) >= 2
    assert len({v[1] for v in table.values()} & {"GREEN", "AMBER", "RED"}) >= 2  # the comparison covers real colours
    for month in months:
        for pack in build_packs(generated.engine, month, CONFIG):
            got = {
                (r.period, r.division, r.kpi): (
                    optional(r.value), r.rag, optional(r.numerator), optional(r.denominator),
                    str(r.period_start), str(r.period_end),
                )
                for r in pack.trend.itertuples()
            }  # fmt: skip
            want = {k: v for k, v in table.items() if k[1] == pack.division and k[0] <= month}
            assert got == want, (month, pack.division)
            for chart in pack.charts:
                for p in chart.points:
                    value, rag, numerator, denominator, *_ = table[(p.period, pack.division, chart.kpi)]
                    assert (p.value, p.rag, p.numerator, p.denominator) == (value, rag, numerator, denominator)
            month_rows = pack.table.set_index("kpi")
            for kpi in CONFIG.kpis:
                row = month_rows.loc[kpi.kpi]
                got_row = (optional(row["value"]), row["rag"], optional(row["numerator"]), optional(row["denominator"]))
                assert got_row == table[(month, pack.division, kpi.kpi)][:4], (month, pack.division, kpi.kpi)


def test_the_written_workbooks_and_pages_show_the_traffic_light_tables_figures(generated):
    table = stored(generated)
    packs = build_packs(generated.engine, "2026-11", CONFIG)
    folders = dict(zip([p.division for p in packs], write_packs(generated.reports_dir, packs), strict=True))
    for pack in packs:
        folder = folders[pack.division][0]
        book = load_workbook(folder / "performance.xlsx")
        for sheet_name in ("traffic light", "trend"):
            sheet = book[sheet_name]
            header = [c.value for c in sheet[1]]
            rows = [dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)]
            assert rows, sheet_name
            for r in rows:
                value, rag, numerator, denominator, start, end = table[(r["period"], pack.division, r["kpi"])]
                assert (r["value"], r["rag"], r["numerator"], r["denominator"]) == (value, rag, numerator, denominator)
                assert (r["period_start"].date().isoformat(), r["period_end"].date().isoformat()) == (start, end)
            if sheet_name == "trend":
                assert len(rows) == sum(1 for k in table if k[1] == pack.division)
        # The page shows every month's figure as the table holds it.
        html = (folder / "performance.html").read_text(encoding="utf-8")
        assert month_name("2026-11") in html
        for (period, division, kpi), (value, *_rest) in table.items():
            if division == pack.division and value is not None:
                assert f">{value:.1f}<" in html, (period, division, kpi)
