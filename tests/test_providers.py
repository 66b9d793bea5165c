"""Every provider accounted for (CONTRACT section 7): a feed with several providers is
PARTIAL when one that was due did not deliver, and providers.csv lists each of them.

The first tests take a generated inbox, remove the probation attendance file and one
court's results for D-1, and check the report against the independent oracle; the others
use small hand-made inboxes and the configuration's plain errors.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from pipelines.reports.feed_status import due_providers, feed_status, missing_providers, provider_status
from pipelines.settings import PROJECT_ROOT, ConfigError, load_hub_config
from pipelines.synth import generate
from tests.builders import Inbox
from tests.conftest import Hub
from tests.oracle import Truth, expected_feeds, expected_providers, read_csv
from warehouse.db import make_engine, upgrade

CONFIG = PROJECT_ROOT / "config" / "hub.yaml"
D = date(2026, 11, 25)  # a Wednesday: every agency and every court owes a file for Tuesday 24th
REMOVED = {"attendance": "attendance_PROBATION_20261124.csv", "court_results": "court_results_B13JT_20261124.xml"}
CONTRACT = ("feed", "provider", "status", "newest_file", "rows_loaded", "rows_quarantined")


@dataclass
class World:
    hub: Hub
    truth: Truth  # of the inbox as delivered, without the removed files

    def csv(self, name: str, division: str = "CH") -> list[dict[str, str]]:
        return read_csv(self.hub.reports_dir / D.isoformat() / division / name)

    def html(self, division: str = "CH") -> str:
        return (self.hub.reports_dir / D.isoformat() / division / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("providers")
    summary = generate(root / "synth", end_date=D, days=14, seed=5, scale=0.4)
    shutil.copytree(summary.inbox, root / "inbox")
    for feed, name in REMOVED.items():
        (root / "inbox" / feed / name).unlink()
    engine = make_engine(f"sqlite:///{root / 'warehouse.sqlite'}")
    upgrade(engine)
    hub = Hub(root, Inbox(root / "inbox"), engine, root / "reports")
    hub.run(D)
    truth = Truth(json.loads(summary.truth.read_text(encoding="utf-8"))).without(set(REMOVED.values()))
    yield World(hub, truth)
    engine.dispose()


def test_a_missing_provider_makes_its_feed_partial(world: World):
    feeds = {r["feed"]: r for r in world.csv("feeds.csv")}
    assert feeds["attendance"]["status"] == "PARTIAL"
    assert feeds["attendance"]["detail"].startswith("no file from PROBATION")
    assert feeds["court_results"]["status"] == "PARTIAL"
    assert feeds["court_results"]["detail"].startswith("no file from B13JT")
    want = expected_feeds(world.truth, D)
    assert [{k: r[k] for k in want[0]} for r in world.csv("feeds.csv")] == want


def test_providers_csv_lists_every_configured_provider(world: World):
    rows = world.csv("providers.csv")
    assert list(rows[0]) == [*CONTRACT, "detail", "provider_name", "due_for"]
    assert [(r["feed"], r["provider"]) for r in rows] == [
        ("court_results", "B13HT"), ("court_results", "B13JT"), ("court_results", "C13LS"),
        ("attendance", "PROBATION"), ("attendance", "YOS"), ("attendance", "DIP"), ("attendance", "HOUSING"),
        ("attendance", "ETE"), ("attendance", "NON_STATUTORY"),
    ]  # fmt: skip
    by = {r["provider"]: r for r in rows}
    for code in ("PROBATION", "B13JT"):
        assert (by[code]["status"], by[code]["rows_loaded"], by[code]["due_for"]) == ("MISSING", "0", "2026-11-24")
        assert by[code]["detail"] == "no file for 2026-11-24"
    assert by["PROBATION"]["newest_file"] == "attendance_PROBATION_20261123.csv"  # the newest it did send
    assert by["B13JT"]["newest_file"] == "court_results_B13JT_20261119.xml"  # the youth court sits Tue and Thu
    assert by["B13JT"]["provider_name"] == "Leeds Youth Court"
    others = [r for r in rows if r["provider"] not in ("PROBATION", "B13JT")]
    assert all(r["status"] != "MISSING" and r["due_for"] == "2026-11-24" for r in others)
    assert sum(r["status"] == "OK" for r in others) >= 4
    want = expected_providers(world.truth, D)
    assert [{k: r[k] for k in CONTRACT} for r in rows] == want


def test_every_division_gets_the_same_providers_csv(world: World):
    assert world.csv("providers.csv", "NE") == world.csv("providers.csv", "NW") == world.csv("providers.csv")


def test_the_providers_add_up_to_their_feed(world: World):
    feeds = {r["feed"]: r for r in world.csv("feeds.csv")}
    for feed in ("attendance", "court_results"):
        mine = [r for r in world.csv("providers.csv") if r["feed"] == feed]
        for column in ("rows_loaded", "rows_quarantined"):
            assert sum(int(r[column]) for r in mine) == int(feeds[feed][column]), (feed, column)


def test_the_report_warning_names_the_missing_providers_in_plain_words(world: World):
    html = world.html()
    assert "Attendance is PARTIAL: no file from PROBATION for 24 Nov" in html
    assert "Court results is PARTIAL: no file from B13JT (Leeds Youth Court) for 24 Nov" in html
    assert "No attendance file from PROBATION for 24 Nov: this section may be missing entries." in html
    assert 'id="providers"' in html and "status-MISSING" in html


# --------------------------------------------------------------------------- hand-made inboxes

SUNDAY, MONDAY, TUESDAY = date(2026, 11, 22), date(2026, 11, 23), date(2026, 11, 24)
MONDAY_LATE = datetime(2026, 11, 23, 7, 15)  # after Sunday's attendance was due (06:00)


def appointment(record_id: str, when: str, **extra: str) -> dict[str, str]:
    return {"record_id": record_id, "record_type": "APPOINTMENT", "surname": "a", "forenames": "b", "event_datetime": when,
            "outcome": "ATTENDED", **extra}  # fmt: skip


def providers_of(hub: Hub, day: date) -> dict[str, dict[str, str]]:
    return {r["provider"]: r for r in hub.report(day, "CH", "providers")}


def feeds_of(hub: Hub, day: date) -> dict[str, dict[str, str]]:
    return {r["feed"]: r for r in hub.report(day, "CH", "feeds")}


def test_a_provider_not_due_is_not_missing(hub):
    # Monday's report: the daily agencies owe Sunday's file; weekday agencies and the
    # courts (none sits on Sunday; Monday's results are due on Tuesday) owe nothing.
    for agency in ("PROBATION", "YOS", "DIP"):
        hub.inbox.attendance(agency, SUNDAY, [appointment(f"{agency}1", "2026-11-22T10:00")])
    hub.run(MONDAY)
    feeds, providers = feeds_of(hub, MONDAY), providers_of(hub, MONDAY)
    assert feeds["attendance"]["status"] == "OK"
    for code in ("HOUSING", "ETE", "NON_STATUTORY"):
        assert (providers[code]["status"], providers[code]["due_for"]) == ("OK", "")
        assert providers[code]["detail"] == "not due (delivers Mon, Tue, Wed, Thu, Fri)"
    assert providers["B13JT"]["detail"] == "not due (delivers Tue, Thu)"
    assert all(providers[c]["status"] == "OK" for c in ("B13HT", "B13JT", "C13LS"))
    # No court file at all is still MISSING for the feed (CONTRACT section 7), and says why.
    assert feeds["court_results"]["status"] == "MISSING"
    assert "none of its providers was due" in feeds["court_results"]["detail"]

    # Tuesday's report: Monday's files are owed by every agency.
    for agency in ("PROBATION", "YOS", "DIP"):
        hub.inbox.attendance(agency, MONDAY, [])
    hub.run(TUESDAY)
    feeds, providers = feeds_of(hub, TUESDAY), providers_of(hub, TUESDAY)
    assert feeds["attendance"]["status"] == "PARTIAL"
    assert feeds["attendance"]["detail"] == "no file from HOUSING, ETE, NON_STATUTORY"
    assert {c: providers[c]["status"] for c in ("PROBATION", "YOS", "DIP", "HOUSING", "ETE", "NON_STATUTORY")} == {
        "PROBATION": "OK", "YOS": "OK", "DIP": "OK", "HOUSING": "MISSING", "ETE": "MISSING", "NON_STATUTORY": "MISSING",
    }  # fmt: skip
    html = (hub.reports_dir / TUESDAY.isoformat() / "CH" / "report.html").read_text(encoding="utf-8")
    assert "Attendance is PARTIAL: no file from HOUSING, ETE and NON_STATUTORY for 23 Nov" in html


def test_partial_comes_before_rejects_and_late_and_an_unknown_provider_is_mentioned(hub):
    hub.inbox.attendance("PROBATION", SUNDAY, [appointment("P1", "2026-11-22T10:00"), appointment("P2", "not a time")],
                         arrived=MONDAY_LATE)  # fmt: skip
    hub.inbox.attendance("YOS", SUNDAY, [appointment("Y1", "2026-11-22T11:00")])
    hub.inbox.attendance("POLICE", SUNDAY, [])  # not a configured provider: it loads, and is mentioned
    hub.run(MONDAY)
    attendance = feeds_of(hub, MONDAY)["attendance"]
    assert attendance["status"] == "PARTIAL"
    assert (attendance["rows_loaded"], attendance["rows_quarantined"]) == ("2", "1")
    details = attendance["detail"].split("; ")
    assert details[0] == "no file from DIP"
    assert "1 row(s) quarantined" in details
    assert any(d.startswith("attendance_PROBATION_20261122.csv arrived 2026-11-23 07:15") for d in details)
    assert details[-1] == "file(s) from POLICE, not a configured provider"
    providers = providers_of(hub, MONDAY)
    assert "POLICE" not in providers
    assert (providers["PROBATION"]["status"], providers["PROBATION"]["rows_quarantined"]) == ("REJECTS", "1")
    assert "arrived 2026-11-23 07:15" in providers["PROBATION"]["detail"]
    assert (providers["YOS"]["status"], providers["DIP"]["status"]) == ("OK", "MISSING")


def test_the_status_functions_others_build_on(hub):
    hub.inbox.attendance("YOS", SUNDAY, [])
    hub.run(MONDAY)
    config = load_hub_config(str(CONFIG))
    frame = provider_status(hub.engine, MONDAY, config)
    assert list(frame.columns[:7]) == ["feed", "provider", "status", "newest_file", "rows_loaded", "rows_quarantined", "detail"]
    assert missing_providers(frame, "attendance") == ["PROBATION", "DIP"]
    assert missing_providers(frame, "court_results") == []
    assert due_providers(frame, "attendance") == ["PROBATION", "YOS", "DIP"]  # Sunday's files
    assert due_providers(frame, "court_results") == []  # no court sits on Sunday
    feeds = feed_status(hub.engine, MONDAY, config)
    assert list(feeds.columns) == ["feed", "status", "newest_file", "rows_loaded", "rows_quarantined", "detail"]


def _config_with(tmp_path: Path, providers: object, name: str = "hub.yaml") -> Path:
    raw = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    if providers is None:
        raw.pop("providers")
    else:
        raw["providers"] = providers
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_without_a_providers_section_feeds_are_judged_whole(hub, tmp_path):
    hub.inbox.attendance("YOS", SUNDAY, [])
    hub.run(MONDAY)
    config = load_hub_config(str(_config_with(tmp_path, None)))
    assert config.providers == {}
    assert feed_status(hub.engine, MONDAY, config).set_index("feed").loc["attendance", "status"] == "OK"
    assert provider_status(hub.engine, MONDAY, config).empty


@pytest.mark.parametrize(
    ("providers", "says"),
    [
        ({"attendance": {"PROBATION": {"days": ["Mon", "Moonday"]}}},
         "providers: attendance: PROBATION: days: 'Moonday' is not a weekday (Mon, Tue, Wed, Thu, Fri, Sat, Sun)"),
        ({"attendance": {"PROBATION": {"days": []}}}, "providers: attendance: PROBATION: days must be daily or a non-empty list"),
        ({"attendance": {"PROBATION": {"days": "weekly"}}}, "providers: attendance: PROBATION: days must be daily or"),
        ({"attendance": {"PROBATION": {}}}, "providers: attendance: PROBATION: days is required"),
        ({"attendance": {"PROBATION": {"days": "daily", "day": "Mon"}}},
         "providers: attendance: PROBATION: unknown key day (keys: days, name)"),
        ({"attendance": {"PROBATION": "daily"}}, "providers: attendance: PROBATION: must be a mapping with days"),
        ({"attendance": {"Probation-2": {"days": "daily"}}},
         "providers: attendance: Probation-2: not a provider code as this feed's file names carry one ([A-Z_]+)"),
        ({"court_results": {"B13HT": {"days": "daily", "name": 7}}}, "providers: court_results: B13HT: name must be text"),
        ({"cohort": {"CASEDB": {"days": "daily"}}},
         "providers: cohort: this feed's file names carry no provider, so it cannot have providers"),
        ({"atendance": {"PROBATION": {"days": "daily"}}}, "providers: atendance: no such feed"),
        ({"attendance": {}}, "providers: attendance: must list its providers"),
        (["attendance"], "providers: must map each feed to its providers"),
    ],
)  # fmt: skip
def test_bad_provider_configuration_gives_one_plain_message(tmp_path, providers, says):
    path = _config_with(tmp_path, providers)
    with pytest.raises(ConfigError) as info:
        load_hub_config(str(path))
    message = str(info.value)
    assert message.startswith(f"{path}: {says}")
    assert "\n" not in message and "Traceback" not in message
