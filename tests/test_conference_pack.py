"""The case-conference pack: who is in a division's pack and what is said about them,
and that its HTML, PDF and workbook render with that content (docs: "Case-conference pack").

One small hand-made inbox holds every case: members of two divisions, a nominee, a member
deselected before the conference and one leaving after it, records from before a member's
selection and before their last review, an outsider.  Screenshots go to artefacts_dir().
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import warnings
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import pytest
from openpyxl import load_workbook
from PIL import Image

from pipelines.reports.conference_pack import (
    NOMINATED_COLUMNS,
    PACK_FILES,
    ConferencePack,
    PackError,
    build_packs,
    write_packs,
)
from pipelines.settings import PROJECT_ROOT, load_hub_config
from tests.browser import Browser, artefacts_dir, browser_problem
from tests.builders import member
from tests.servers import skip_or_fail

D = date(2026, 11, 23)  # the conference (a Monday); events up to the end of Sunday 22nd
CONFIG = load_hub_config(str(PROJECT_ROOT / "config" / "hub.yaml"))

# A: reviewed on 10 Nov (next_review_due moved on in that snapshot).
A = member("LDS-000001", "Ó Briain", "Siobhán", "1990-02-01", niche_nominal_id="NN1", pnc_id="2012/0394773H",
           risk_level="HIGH", next_review_due="2026-12-10")  # fmt: skip
# B: selected on 1 Nov (nominated before), review overdue; on a release schedule.
B = member("LDS-000002", "Smith", "John", "1985-03-04", niche_nominal_id="NN2", noms_number="A1234BC",
           selected_on="2026-11-01", next_review_due="2026-11-15", case_manager_agency="DIP")  # fmt: skip
C = member("LDS-000003", "Jones", "Amy", "1991-05-06", niche_nominal_id="NN3", managing_division="NE")
N = member("LDS-000004", "Nominee", "Nina", "1999-09-09", niche_nominal_id="NN4", status="NOMINATED", selected_on="",
           nominated_by="POLICE", risk_level="MEDIUM", strand="PREVENT_DETER")  # fmt: skip
X = member("LDS-000005", "Gone", "Xavier", "1980-01-01", niche_nominal_id="NN5", status="DESELECTED",
           selected_on="2025-01-01", deselected_on="2026-11-20")  # fmt: skip
# Y: leaving after the conference, so still a member; never reviewed on the register.
Y = member("LDS-000006", "Later", "Yusuf", "1982-02-02", niche_nominal_id="NN6", status="DESELECTED",
           selected_on="2025-01-01", deselected_on="2026-11-30", next_review_due="2026-12-20")  # fmt: skip
# E: meets every exit criterion.
E = member("LDS-000007", "Exiter", "Eve", "1970-07-07", niche_nominal_id="NN7", selected_on="2025-01-01",
           support_plan_agreed_on="2026-10-01", next_review_due="2026-12-20", risk_level="LOW")  # fmt: skip
OUTSIDER = {"surname": "Random", "forenames": "Person", "niche_nominal_id": "NN999"}
CH_MEMBERS = {"LDS-000001", "LDS-000002", "LDS-000006", "LDS-000007"}


def arrest(ref: str, who: dict[str, str], when: str, outcome: str = "", **extra: str) -> dict[str, str]:
    return {"custody_ref": ref, "niche_nominal_id": who["niche_nominal_id"], "surname": who["surname"],
            "forenames": who["forenames"], "arrest_datetime": when, "offence_description": f"Theft {ref}",
            "outcome": outcome, **extra}  # fmt: skip


def appointment(rid: str, who: dict[str, str], when: str, outcome: str) -> dict[str, str]:
    return {"record_id": rid, "record_type": "APPOINTMENT", "iom_id": who["iom_id"], "surname": who["surname"],
            "forenames": who["forenames"], "event_datetime": when, "appointment_type": "supervision", "outcome": outcome}  # fmt: skip


def status_change(rid: str, who: dict[str, str], when: str, status: str) -> dict[str, str]:
    return {"record_id": rid, "record_type": "STATUS_CHANGE", "iom_id": who["iom_id"], "surname": who["surname"],
            "forenames": who["forenames"], "event_datetime": when, "status": status}  # fmt: skip


def write_inbox(box) -> None:
    nominated_b = {**B, "status": "NOMINATED", "selected_on": "", "next_review_due": ""}
    box.cohort(date(2026, 10, 1), [{**A, "next_review_due": "2026-11-01"}, nominated_b, C, N, X, Y, E])
    box.cohort(date(2026, 11, 10), [A, B, C, N, X, Y, E])  # A's review date moved on: reviewed
    box.cohort(date(2026, 11, 20), [A, B, C, N, X, Y, E])
    box.arrests("20261122_230000", [
        arrest("K1", A, "05/11/2026 10:00", "NFA"),  # before A's last review
        arrest("K2", A, "15/11/2026 10:00", "CHARGED", outcome_datetime="15/11/2026 18:00", next_court_date="01/12/2026"),
        arrest("K3", B, "20/10/2026 12:00", "CAUTION"),  # before B's selection: never reportable
        arrest("K4", C, "16/11/2026 12:00"),  # NE's member
        arrest("K5", N, "16/11/2026 12:00"),  # a nominee: not a member
        arrest("K6", X, "14/11/2026 12:00", "BAILED"),  # deselected before the conference
        arrest("K7", Y, "01/05/2026 12:00", "NFA"),  # more than six months back
        arrest("K8", Y, "01/06/2026 12:00", "RUI"),
        arrest("K9", OUTSIDER, "16/11/2026 12:00"),
    ])  # fmt: skip
    box.court("B13HT", date(2026, 11, 18), [("13AA1234526", [
        {"surname": A["surname"], "forenames": A["forenames"], "dob": A["date_of_birth"], "pnc_id": A["pnc_id"],
         "remand_status": "CB", "offences": [{"seq": "1", "title": "Theft from a shop", "results": ["1116"],
                                               "next": ["2027-01-05"]}]},
    ])])  # fmt: skip
    box.attendance("PROBATION", date(2026, 11, 22), [
        appointment("P0", B, "2026-10-25T10:00", "FAILED_TO_ATTEND"),  # before selection
        appointment("P1", B, "2026-11-03T10:00", "ATTENDED"),
        appointment("P2", B, "2026-11-10T10:00", "ATTENDED"),
        appointment("P3", B, "2026-11-12T10:00", "ACCEPTABLE_ABSENCE"),
        appointment("P4", B, "2026-11-17T10:00", "FAILED_TO_ATTEND"),
        appointment("P5", B, "2026-11-19T10:00", "RESCHEDULED"),
        appointment("P6", E, "2026-11-04T10:00", "ATTENDED"),
        appointment("P7", E, "2026-11-11T10:00", "ATTENDED"),
        appointment("P8", E, "2026-11-18T10:00", "ATTENDED"),
        appointment("P9", N, "2026-11-18T10:00", "ATTENDED"),  # a nominee
    ])  # fmt: skip
    box.attendance("HOUSING", date(2026, 11, 22), [
        status_change("H1", B, "2026-11-16", "HOUSED"),
        status_change("H2", E, "2026-11-02", "HOUSED"),
    ])  # fmt: skip
    box.releases(date(2026, 11, 20), [
        {"noms_number": "A1234BC", "surname": "Smith", "forenames": "John", "prison_id": "LEI", "prison_name": "HMP Leeds",
         "release_date": day, "release_date_type": "CRD", "accommodation_on_release": "TEMPORARY"}
        for day in ("2026-12-15", "2027-03-01")  # the second is beyond 90 days
    ])  # fmt: skip


@pytest.fixture
def packs(hub) -> dict[str, ConferencePack]:
    write_inbox(hub.inbox)
    hub.run(D)
    return {p.division: p for p in build_packs(hub.engine, D, CONFIG)}


def ids(frame) -> set[str]:
    return set(frame["iom_id"]) if not frame.empty else set()


def one(pack: ConferencePack, iom_id: str) -> dict:
    rows = pack.members[pack.members["iom_id"] == iom_id].to_dict("records")
    assert len(rows) == 1, iom_id
    return rows[0]


# --------------------------------------------------------------------------- who is in a pack


def test_each_pack_holds_only_its_divisions_members_nominees_and_reportable_events(packs):
    ch, ne, nw = packs["CH"], packs["NE"], packs["NW"]
    assert ids(ch.members) == CH_MEMBERS  # X, deselected on 20 Nov, is out; Y, leaving on 30 Nov, is in
    assert ids(ne.members) == {"LDS-000003"} and nw.members.empty
    assert str(one(ch, "LDS-000006")["leaves_on"]) == "2026-11-30"
    # Only the division's members, in every part of its pack.
    for pack in packs.values():
        members = ids(pack.members)
        for part in (pack.events, pack.upcoming, pack.priorities, pack.exit_candidates):
            assert ids(part) <= members, pack.division
    # Events: only reportable ones of members, from each member's window.
    arrests = set(ch.events.loc[ch.events["kind"] == "arrest", "what"])
    assert arrests == {"Theft K2", "Theft K8"}  # not K1 (before A's review), K3 (before B's selection),
    assert set(ne.events["what"]) == {"Theft K4"}  # K4 is NE's; K5 nominee, K6 deselected, K7 too old, K9 outsider
    every_event = " ".join(" ".join(p.events["what"]) for p in packs.values())
    for ref in ("K1", "K3", "K5", "K6", "K7", "K9"):
        assert f"Theft {ref}" not in every_event


def test_a_nominee_is_only_in_the_nominated_part_with_register_details_only(packs):
    ch = packs["CH"]
    assert list(ch.nominated.columns) == NOMINATED_COLUMNS  # no events, no dates of birth, no identifiers
    assert ch.nominated.to_dict("records") == [{
        "iom_id": "LDS-000004", "surname": "Nominee", "forenames": "Nina", "nominated_by": "POLICE",
        "strand": "PREVENT_DETER", "cohort_type": "IOM", "risk_level": "MEDIUM",
    }]  # fmt: skip
    for pack in packs.values():
        for part in (pack.members, pack.events, pack.upcoming, pack.priorities, pack.exit_candidates):
            assert "LDS-000004" not in ids(part)
        if pack.division != "CH":
            assert pack.nominated.empty
    deselected = "LDS-000005"
    assert all(deselected not in ids(part) for p in packs.values() for part in (p.members, p.nominated, p.events))


def test_since_the_last_review_starts_where_the_register_moved_the_review_date_on(packs):
    ch = packs["CH"]
    a, b, y = (one(ch, i) for i in ("LDS-000001", "LDS-000002", "LDS-000006"))
    # A's next_review_due moved on in the snapshot of 10 Nov: reviewed then.
    assert (a["last_review"].date(), a["review_seen"], a["window_start"].date()) == (date(2026, 11, 10), True, date(2026, 11, 10))
    # B's date was set when selected (blank while nominated): no review since selection.
    assert (b["last_review"].date(), b["review_seen"], b["window_start"].date()) == (date(2026, 11, 1), False, date(2026, 11, 1))
    # Y was never reviewed on the register: six months back at most.
    assert (y["review_seen"], y["window_start"].date()) == (False, date(2026, 5, 23))
    assert set(ch.events.loc[ch.events["iom_id"] == "LDS-000006", "what"]) == {"Theft K8"}
    first = ch.events.groupby("iom_id")["when"].min()
    assert first["LDS-000001"] >= datetime(2026, 11, 10) and first["LDS-000002"] >= datetime(2026, 11, 1)


def test_compliance_counts_kept_and_missed_appointments_since_the_last_review(packs):
    ch = packs["CH"]
    # B: P1, P2 attended, P3 acceptable absence, P4 missed; P5 rescheduled is neither; P0 before selection.
    assert one(ch, "LDS-000002")["compliance"] == "75% (3 of 4)"
    assert one(ch, "LDS-000007")["compliance"] == "100% (3 of 3)"
    assert one(ch, "LDS-000001")["compliance"] == "no appointments"
    b_events = ch.events[ch.events["iom_id"] == "LDS-000002"]
    assert list(b_events["kind"]).count("appointment") == 5 and "status change" in set(b_events["kind"])


def test_reviews_due_and_overdue_are_kept_apart_and_whats_coming_is_listed(packs):
    ch = packs["CH"]
    a, b = one(ch, "LDS-000001"), one(ch, "LDS-000002")
    assert (a["days_until_review"], a["review_status"]) == (17, "due in 17 days")
    assert (b["days_until_review"], b["review_status"]) == (-8, "overdue by 8 days")
    coming = {(r["iom_id"], r["kind"], r["when"].date()) for r in ch.upcoming.to_dict("records")}
    assert coming >= {
        ("LDS-000001", "review due", date(2026, 12, 10)), ("LDS-000002", "review overdue", date(2026, 11, 15)),
        ("LDS-000001", "court date", date(2026, 12, 1)), ("LDS-000001", "court date", date(2027, 1, 5)),
        ("LDS-000002", "release", date(2026, 12, 15)),
    }  # fmt: skip
    assert ("LDS-000002", "release", date(2027, 3, 1)) not in coming  # beyond 90 days


def test_where_each_member_is_now_and_the_priority_and_exit_parts(packs):
    ch = packs["CH"]
    a, b = one(ch, "LDS-000001"), one(ch, "LDS-000002")
    assert (a["cjs_location"], a["cjs_location_since"], a["cjs_location_cause"]) == (
        "COMMUNITY", datetime(2026, 11, 15, 18, 0), "arrest outcome")  # fmt: skip
    assert b["cjs_location"] == "IN_PRISON"  # listed on the release schedule of 20 Nov
    # Priorities ranked within the division; members discussed in that order, the rest by iom_id.
    assert list(ch.priorities["rank"]) == list(range(1, len(ch.priorities) + 1))
    assert list(ch.members["iom_id"]) == [*ch.priorities["iom_id"], *sorted(CH_MEMBERS - ids(ch.priorities))]
    # E meets every exit criterion, each with its evidence.
    assert list(ch.exit_candidates["iom_id"]) == ["LDS-000007"] and packs["NE"].exit_candidates.empty
    names = [name for name, _ in ch.exit_criteria]
    assert names and all(ch.exit_candidates[f"{n}_evidence"].iloc[0] for n in names)


def test_an_unknown_division_or_no_register_is_a_plain_error(hub):
    with pytest.raises(PackError, match="no cohort register dated on or before 2026-11-23"):
        build_packs(hub.engine, D, CONFIG)
    with pytest.raises(PackError, match=r"^unknown division XX \(the divisions are CH, NE, NW\)$"):
        build_packs(hub.engine, D, CONFIG, ["XX"])


def test_sparse_data_still_gives_every_division_a_pack(hub):
    """A register and a couple of records: no attendance, no releases, a charge with a court
    date but no hearing yet, a hearing that set no next date, a division with only a nominee."""
    p = member("LDS-000011", "Plain", "Pat", "1990-01-01", niche_nominal_id="NP1", pnc_id="2015/0123456U")
    q = member("LDS-000012", "Quiet", "Quinn", "1991-01-01", managing_division="NW", next_review_due=D.isoformat())
    nominee = member("LDS-000013", "Nom", "Ned", "1992-01-01", status="NOMINATED", selected_on="", managing_division="NE")
    hub.inbox.cohort(date(2026, 11, 20), [p, q, nominee])
    hub.inbox.arrests("20261122_230000", [arrest("K1", p, "15/11/2026 10:00", "CHARGED", next_court_date="01/12/2026")])
    hub.inbox.court("B13HT", date(2026, 11, 18), [("URN1", [
        {"surname": "Plain", "forenames": "Pat", "pnc_id": p["pnc_id"], "offences": [{"seq": "1", "title": "Theft", "results": ["1116"]}]},
    ])])  # fmt: skip
    hub.run(D)
    packs = {pack.division: pack for pack in build_packs(hub.engine, D, CONFIG)}
    assert [len(packs[d].members) for d in ("CH", "NE", "NW")] == [1, 0, 1]
    assert list(packs["CH"].upcoming["kind"]) == ["court date"] and list(packs["CH"].events["kind"]) == ["arrest", "court result"]
    assert one(packs["NW"], "LDS-000012")["review_status"] == "due today"
    assert list(packs["NE"].nominated["iom_id"]) == ["LDS-000013"]
    assert all(changed for _, changed in write_packs(hub.reports_dir, packs.values()))


# --------------------------------------------------------------------------- the files


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        skip_or_fail(f"{tool} not found (Debian package poppler-utils)", "run scripts/setup-system.sh as root")


def test_the_files_are_published_together_and_the_same_input_gives_the_same_bytes(packs, hub):
    written = write_packs(hub.reports_dir, packs.values())
    folder = hub.reports_dir / "conference" / D.isoformat() / "CH"
    assert [f for f, _ in written] == [hub.reports_dir / "conference" / D.isoformat() / d for d in packs]
    assert sorted(p.name for p in folder.iterdir()) == sorted(PACK_FILES)
    assert all(changed for _, changed in written)
    again = build_packs(hub.engine, D, CONFIG)
    assert not any(changed for _, changed in write_packs(hub.reports_dir, again))  # PDF and XLSX deterministic
    book = load_workbook(folder / "pack.xlsx")
    assert book.sheetnames == ["members", "events", "upcoming", "nominated", "exit candidates", "priorities"]
    assert all(book[name].freeze_panes == "A2" for name in book.sheetnames)
    events = book["events"]
    header = [c.value for c in events[1]]
    assert header == ["iom_id", "kind", "when", "what", "outcome"]
    assert all(isinstance(row[2].value, datetime) for row in events.iter_rows(min_row=2))
    members = book["members"]
    selected = [c.value for c in members[1]].index("selected_on")
    assert {row[selected].value for row in members.iter_rows(min_row=2)} >= {datetime(2026, 11, 1)}


def test_the_html_renders_on_a_phone_and_a_desktop_with_a_section_per_member(packs, hub):
    problem = browser_problem()
    if problem:
        skip_or_fail(f"no headless browser for the pack's screenshots: {problem}", "run scripts/setup-system.sh as root")
    write_packs(hub.reports_dir, [packs["CH"]])
    folder = hub.reports_dir / "conference" / D.isoformat() / "CH"
    for width in (390, 1280):
        shot = artefacts_dir() / f"conference-pack-{width}.png"
        with Browser(folder.as_uri(), width=width, height=900) as browser:
            browser.open("pack.html", wait_for_text=["OFFICIAL-SENSITIVE"])
            page = browser.page
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), width
            sections = page.eval_on_selector_all("section.member", "els => els.map(e => e.dataset.iomId)")
            assert sections == list(packs["CH"].members["iom_id"])
            assert "75% (3 of 4)" in page.inner_text("#member-LDS-000002")
            assert "Nominee, Nina" in page.inner_text("#nominated")
            browser.screenshot(shot, full_page=True)
        assert shot.stat().st_size > 20_000


def test_the_pdf_has_the_marking_on_every_page_and_a_page_per_member(packs, hub, tmp_path):
    for tool in ("pdftotext", "pdfinfo", "pdftoppm"):
        _need(tool)
    ch = packs["CH"]
    write_packs(hub.reports_dir, [ch])
    pdf = hub.reports_dir / "conference" / D.isoformat() / "CH" / "pack.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages >= len(ch.members) + 1
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    by_page = [p for p in text.split("\f") if p.strip()]
    assert len(by_page) == pages
    assert all("OFFICIAL-SENSITIVE" in p for p in by_page)
    # One member per page: each member's page says "Member n of N" and holds their id and no other's.
    member_pages = [p for p in by_page if re.search(r"MEMBER \d+ OF \d+", p, re.IGNORECASE)]
    assert len(member_pages) == len(ch.members)
    for page, iom_id in zip(member_pages, ch.members["iom_id"], strict=True):
        assert iom_id in page and not (ids(ch.members) - {iom_id}) & set(re.findall(r"LDS-\d{6}", page))
    assert f"page 1 of {pages}" in by_page[0]
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    image = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    dark = sum(image.histogram()[:128])
    assert dark > 0.005 * image.width * image.height  # ink on the cover, not a blank page
    shutil.copy(next(tmp_path.glob("page*.png")), artefacts_dir() / "conference-pack-pdf-page1.png")


# --------------------------------------------------------------------------- Dagster and the CLI


@pytest.fixture
def env(hub, monkeypatch, tmp_path):
    settings = {
        "IOM_INBOX": str(hub.inbox.root), "IOM_WAREHOUSE_URL": str(hub.engine.url), "IOM_REPORTS_DIR": str(hub.reports_dir),
        "IOM_REVIEW_DIR": str(hub.root / "review"), "IOM_QUALITY_DIR": str(hub.root / "quality"),
        "IOM_SETTLE_SECONDS": "0", "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }  # fmt: skip
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return settings


def _materialise(divisions: list[str] | None) -> tuple[dg.ExecuteInProcessResult, dg.DagsterInstance]:
    from pipelines.assets.conference import PACK_ASSET
    from pipelines.definitions import defs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance, partition_key=D.isoformat(), asset_selection=[dg.AssetKey(PACK_ASSET)], raise_on_error=False,
        run_config={"ops": {PACK_ASSET: {"config": {"divisions": divisions}}}},
    )  # fmt: skip
    return result, instance


def test_the_asset_writes_and_delivers_the_packs_with_counts_only(env, hub, tmp_path, monkeypatch):
    write_inbox(hub.inbox)
    hub.run(D)
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    monkeypatch.setenv("IOM_OUTBOX", str(outbox))
    result, instance = _materialise(["ch"])
    assert result.success
    metadata = result.asset_materializations_for_node("conference_packs")[0].metadata
    assert {k: metadata[k].value for k in ("packs", "members", "nominated", "exit_candidates", "delivered")} == {
        "packs": 1, "members": 4, "nominated": 1, "exit_candidates": 1, "delivered": 1,
    }  # fmt: skip
    assert sorted(p.name for p in (outbox / "CH" / f"conference-{D}").iterdir()) == sorted(PACK_FILES)
    assert not (hub.reports_dir / "conference" / D.isoformat() / "NE").exists()
    # Nothing personal in the run's record: metadata, logs.
    text = "\n".join(str(r.event_log_entry) for r in instance.get_records_for_run(result.run_id).records)
    for secret in ("Briain", "Siobhán", "Smith", "Nominee", "Exiter", "1990-02-01", "NN1", "Theft"):
        assert secret not in text


def test_the_asset_fails_plainly_on_an_unknown_division(env, hub):
    write_inbox(hub.inbox)
    hub.run(D)
    result, _ = _materialise(["XX"])
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).event_specific_data.user_failure_data
    assert failure.description == "conference pack: unknown division XX (the divisions are CH, NE, NW)"


def test_iom_hub_pack_runs_through_dagster_and_prints_the_files(env, hub, capsys, monkeypatch):
    from pipelines.cli import main

    assert main(["pack", "--date", D.isoformat()]) == 2  # nothing loaded yet
    assert capsys.readouterr().err.strip() == (
        f"iom-hub: the warehouse holds no cohort register dated on or before {D}: "
        f"run `iom-hub run --date {D}` first, then make the pack"
    )
    write_inbox(hub.inbox)
    hub.run(D)
    assert main(["pack", "--date", D.isoformat(), "--division", "CH", "--division", "NE"]) == 0
    out = capsys.readouterr().out
    assert ": succeeded" in out.splitlines()[0]
    printed = [Path(line.strip()) for line in out.splitlines()[1:]]
    assert {p.parent.name for p in printed} == {"CH", "NE"} and all(p.is_file() for p in printed)
    assert "Briain" not in out
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
    assert len(runs) == 1 and runs[0].tags["dagster/partition"] == D.isoformat()


def test_iom_hub_pack_refuses_an_unknown_division_in_one_plain_line(env):
    done = subprocess.run(
        [str(Path(sys.executable).with_name("iom-hub")), "pack", "--division", "XX", "--date", D.isoformat()],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == ["iom-hub: unknown division XX (the divisions are CH, NE, NW)"]
    assert done.stdout == ""


def test_iom_hub_performance_pack_runs_the_months_pack_through_dagster(env, hub, capsys):
    """The other monthly product from the command line: the month's pack for every
    division and ALL, as one run recorded in DAGSTER_HOME; a bad month is one plain line."""
    from pipelines.cli import main

    assert main(["performance-pack", "--month", "2026-13"]) == 2
    assert capsys.readouterr().err.strip() == "iom-hub: --month '2026-13': give a month as YYYY-MM, e.g. 2026-11"
    write_inbox(hub.inbox)
    hub.run(D)
    assert main(["performance-pack", "--month", f"{D:%Y-%m}"]) == 0
    out = capsys.readouterr().out
    assert ": succeeded" in out.splitlines()[0]
    folders = [Path(line.strip()) for line in out.splitlines()[1:]]
    assert sorted(f.name for f in folders) == ["ALL", "CH", "NE", "NW"]
    assert all((f / "performance.pdf").is_file() and f.parent.name == f"{D:%Y-%m}" for f in folders)
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
    assert run.job_name == "performance_pack_job" and run.tags["dagster/partition"] == f"{D:%Y-%m}"
