"""The Great Expectations suites (pipelines/quality): a normal day passes, each kind of
anomaly warns, nothing personal comes out, no progress bar is printed, and the checks
warn inside a real Dagster run without failing it.

The anomaly tests share a hand-made history loaded by the real ingest (four weeks of
arrests, two register snapshots, stored links for the last days) and each adds its own
files for the report window; the normal-day test runs on a generated inbox (pipelines/synth).
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from pipelines.daily import link_for_report
from pipelines.feeds import FEEDS, LINKED_FEEDS
from pipelines.identifiers import format_pnc
from pipelines.ingest import ingest_feed
from pipelines.quality import quality_summary, validate_feed, validate_links
from pipelines.quality.run import SUITES_DIR, load_suite
from pipelines.settings import PROJECT_ROOT, load_hub_config
from pipelines.sources import LocalInbox
from pipelines.synth import generate
from tests.builders import Inbox, member
from tests.conftest import BOTH_WAREHOUSES, Hub
from warehouse.db import make_engine, upgrade

D = date(2026, 11, 23)  # a Monday
CONFIG = load_hub_config(str(PROJECT_ROOT / "config" / "hub.yaml"))
MEMBERS = 60
OUTCOMES = ("CHARGED", "BAILED", "NFA", "RUI", "", "CAUTION", "CHARGED", "NFA", "", "COMMUNITY_RESOLUTION")


def _person(i: int) -> dict[str, str]:
    """A member's (i < MEMBERS) or a stranger's details: distinctive, so a leak is findable."""
    return {
        "surname": f"Quarrendon{i}",
        "forenames": f"Siobhán{i}",
        "date_of_birth": f"{1970 + i % 30}-0{1 + i % 9}-1{i % 10}",
        "pnc_id": format_pnc(2000 + i % 20, 100000 + i),
        "niche_nominal_id": f"NN{i:05d}",
    }


def _members(count: int = MEMBERS) -> list[dict[str, str]]:
    people = [_person(i) for i in range(count)]
    return [
        member(f"LDS-{i:06d}", p["surname"], p["forenames"], p["date_of_birth"], pnc_id=p["pnc_id"],
               niche_nominal_id=p["niche_nominal_id"])
        for i, p in enumerate(people)
    ]  # fmt: skip


def _uk(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"{d}/{m}/{y}"


def _arrests(day: date, count: int, **override: str) -> list[dict[str, str]]:
    """``count`` arrests on ``day``: every other one a member's, the rest strangers'."""
    rows = []
    for n in range(count):
        who = _person(n % MEMBERS if n % 2 == 0 else 1000 + n)
        rows.append({
            "custody_ref": f"K{day:%m%d}-{n:04d}", "niche_nominal_id": who["niche_nominal_id"], "pnc_id": who["pnc_id"],
            "surname": who["surname"], "forenames": who["forenames"], "date_of_birth": _uk(who["date_of_birth"]),
            "arrest_datetime": f"{day:%d/%m/%Y} {8 + n % 12:02d}:15", "offence_description": "Theft",
            "outcome": OUTCOMES[(n + day.day) % len(OUTCOMES)], **override,
        })  # fmt: skip
    return rows


def _write_arrests(inbox: Inbox, day: date, rows: list[dict[str, str]]) -> None:
    inbox.arrests(f"{day:%Y%m%d}_230000", rows)


def _ingest(engine: sa.Engine, inbox: Path, report_date: date) -> None:
    source = LocalInbox(inbox)
    for feed in FEEDS.values():
        ingest_feed(engine, source, feed, report_date, settle_seconds=0, divisions=frozenset(CONFIG.divisions))


# Four weeks of 40 arrests a day (the window of D is the file dated D-1), the register
# on the first day and the day before D, and the links of the five report dates before D.
HISTORY_DAYS = range(29, 1, -1)  # D-29 .. D-2
LINKED_DATES = [D - timedelta(days=k) for k in range(6, 0, -1)]  # D-6 .. D-1


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("quality_history")
    inbox = Inbox(root / "inbox")
    inbox.cohort(D - timedelta(days=29), _members())
    inbox.cohort(D - timedelta(days=1), _members())
    for k in HISTORY_DAYS:
        _write_arrests(inbox, D - timedelta(days=k), _arrests(D - timedelta(days=k), 40))
    engine = make_engine(f"sqlite:///{root / 'warehouse.sqlite'}")
    upgrade(engine)
    _ingest(engine, inbox.root, D)
    for day in LINKED_DATES:
        link_for_report(engine, "arrests", day, CONFIG.linking)
    engine.dispose()
    return root / "warehouse.sqlite"


@pytest.fixture
def day(history: Path, tmp_path: Path) -> Iterator[Hub]:
    """A hub holding the history; a test writes the report window's files and calls ``load``."""
    shutil.copy(history, tmp_path / "warehouse.sqlite")
    engine = make_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    (tmp_path / "inbox").mkdir()
    yield Hub(tmp_path, Inbox(tmp_path / "inbox"), engine, tmp_path / "reports")
    engine.dispose()


def load(hub: Hub, report_date: date = D) -> None:
    _ingest(hub.engine, hub.inbox.root, report_date)
    link_for_report(hub.engine, "arrests", report_date, CONFIG.linking)


def outcome(report, rule: str, column: str | None = None):
    return next(o for o in report.outcomes if o.rule == rule and (column is None or o.column == column))


def test_every_suite_is_a_gx_suite_whose_expectations_say_why_and_warn():
    import great_expectations as gx

    names = sorted(p.stem for p in SUITES_DIR.glob("*.json"))
    assert names == sorted([*FEEDS, "record_link"])
    for name in names:
        spec = load_suite(name)
        suite = gx.ExpectationSuite(**json.loads((SUITES_DIR / f"{name}.json").read_text(encoding="utf-8")))
        assert len(suite.expectations) == len(spec["expectations"]) > 0
        for expectation in suite.expectations:
            assert expectation.severity.value == "warning"
            assert len(expectation.meta["why"]) > 40
    rules = {e["meta"]["rule"] for f in FEEDS for e in load_suite(f)["expectations"]}
    assert rules == {"volume", "present", "distribution"}


def test_a_usual_day_passes(day):
    _write_arrests(day.inbox, D - timedelta(days=1), _arrests(D - timedelta(days=1), 42))
    load(day)
    report = validate_feed(day.engine, "arrests", D, CONFIG)
    assert report.passed, [o.line() for o in report.failures]
    assert all(o.judged for o in report.outcomes)
    assert outcome(report, "volume").observed == 42
    assert 0.9 < outcome(report, "present", "pnc_id").observed <= 1.0
    links = validate_links(day.engine, "arrests", D, CONFIG.linking)
    assert links.passed and outcome(links, "link_share").judged
    assert outcome(links, "link_share").observed == pytest.approx(0.5, abs=0.05)  # every other arrest a member's


@pytest.mark.parametrize("rows", [4, 400])
def test_a_feed_delivering_a_tenth_or_ten_times_its_volume_warns(day, rows):
    _write_arrests(day.inbox, D - timedelta(days=1), _arrests(D - timedelta(days=1), rows))
    load(day)
    report = validate_feed(day.engine, "arrests", D, CONFIG)
    volume = outcome(report, "volume")
    assert not volume.success and volume.observed == rows
    assert "median 40 rows over 4 windows of the same weekday" in volume.basis
    assert [o.rule for o in report.failures] == ["volume"]  # the rest of the day looks as usual


@pytest.mark.parametrize(("kept", "warns"), [(6, True), (54, False)])
def test_a_register_that_shrinks_abruptly_warns(day, kept, warns):
    day.inbox.cohort(D, _members(kept))
    load(day)
    report = validate_feed(day.engine, "cohort", D, CONFIG)
    volume = outcome(report, "volume")
    assert volume.observed == kept
    assert volume.success is not warns
    assert volume.threshold == "48 to 120 rows"  # 80% of the previous snapshot's 60 members, up to twice


def test_identifiers_that_all_fail_their_check_warn(day):
    garbage = [{**r, "pnc_id": "2012/0394773Q"} for r in _arrests(D - timedelta(days=1), 40)]  # wrong check letter
    _write_arrests(day.inbox, D - timedelta(days=1), garbage)
    load(day)
    report = validate_feed(day.engine, "arrests", D, CONFIG)
    assert [(o.rule, o.column) for o in report.failures] == [("present", "pnc_id")]
    assert outcome(report, "present", "pnc_id").observed == 0.0


def test_a_collapse_in_the_share_linked_to_the_cohort_warns(day):
    strangers = [{**r, "niche_nominal_id": f"X{n}", "pnc_id": "", "surname": f"Other{n}", "date_of_birth": ""}
                 for n, r in enumerate(_arrests(D - timedelta(days=1), 40))]  # fmt: skip
    _write_arrests(day.inbox, D - timedelta(days=1), strangers)
    load(day)
    links = validate_links(day.engine, "arrests", D, CONFIG.linking)
    share = outcome(links, "link_share")
    assert not share.success and share.observed == 0.0
    assert share.threshold == "at least 20.0% linked"  # 40% of the recent 50%


def test_a_shift_in_the_mix_of_outcomes_warns(day):
    _write_arrests(day.inbox, D - timedelta(days=1), _arrests(D - timedelta(days=1), 40, outcome="NFA"))
    load(day)
    report = validate_feed(day.engine, "arrests", D, CONFIG)
    assert [(o.rule, o.column) for o in report.failures] == [("distribution", "outcome")]
    assert outcome(report, "distribution").observed > 0.5


def test_too_little_history_is_not_judged_and_passes(hub):
    hub.inbox.cohort(D - timedelta(days=1), _members())
    _write_arrests(hub.inbox, D - timedelta(days=1), _arrests(D - timedelta(days=1), 4))
    _ingest(hub.engine, hub.inbox.root, D)
    report = validate_feed(hub.engine, "arrests", D, CONFIG)
    assert report.passed
    assert not outcome(report, "volume").judged
    assert "not enough history: 0 of the 3" in outcome(report, "volume").basis


@BOTH_WAREHOUSES
def test_the_suites_read_either_warehouse(hub):
    hub.inbox.cohort(D - timedelta(days=22), _members())
    for k in range(22, 1, -1):
        _write_arrests(hub.inbox, D - timedelta(days=k), _arrests(D - timedelta(days=k), 20))
    _write_arrests(hub.inbox, D - timedelta(days=1), _arrests(D - timedelta(days=1), 200))
    _ingest(hub.engine, hub.inbox.root, D)
    for k in range(4, -1, -1):
        link_for_report(hub.engine, "arrests", D - timedelta(days=k), CONFIG.linking)
    report = validate_feed(hub.engine, "arrests", D, CONFIG)
    assert [o.rule for o in report.failures] == ["volume"]
    assert outcome(report, "volume").observed == 200
    assert "over 3 windows of the same weekday" in outcome(report, "volume").basis
    links = validate_links(hub.engine, "arrests", D, CONFIG.linking)
    assert links.passed and outcome(links, "link_share").observed == pytest.approx(0.5)
    assert "over 4 of the 14 report dates before" in outcome(links, "link_share").basis


def _secrets() -> list[str]:
    people = [_person(i) for i in range(MEMBERS)] + [_person(1000 + n) for n in range(400)]
    values = {v for p in people for v in p.values()} | {_uk(p["date_of_birth"]) for p in people}
    return sorted(values | {"Quarrendon", "Siobhán"})


def test_results_hold_nothing_personal_and_no_progress_bar_is_printed(day, capfd):
    _write_arrests(day.inbox, D - timedelta(days=1), _arrests(D - timedelta(days=1), 400, outcome="NFA"))
    day.inbox.cohort(D, _members(6))
    load(day)
    capfd.readouterr()
    rows = quality_summary(day.engine, D, CONFIG)
    reports = [validate_feed(day.engine, f, D, CONFIG) for f in FEEDS]
    captured = capfd.readouterr()
    assert "Calculating Metrics" not in captured.err and "it/s" not in captured.err
    assert captured.out == ""
    text = json.dumps(rows) + json.dumps([r.metadata() for r in reports], default=str)
    assert {(r["feed"], r["rule"]) for r in rows if not r["success"]} >= {("arrests", "volume"), ("cohort", "volume")}
    for secret in _secrets():
        assert secret not in text
    assert {r["subject"] for r in rows} == {"rows", "links"}
    assert {r["feed"] for r in rows if r["subject"] == "links"} == set(LINKED_FEEDS)


FRIDAY = date(2026, 11, 20)  # every agency delivers for the day before


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    """A generated inbox of five weeks, loaded, with the links of its last six report dates."""
    root = tmp_path_factory.mktemp("quality_synth")
    summary = generate(root / "synth", end_date=FRIDAY, days=35, seed=5)
    engine = make_engine(f"sqlite:///{root / 'warehouse.sqlite'}")
    upgrade(engine)
    _ingest(engine, summary.inbox, FRIDAY)
    for k in range(5, -1, -1):
        for feed in LINKED_FEEDS:
            link_for_report(engine, feed, FRIDAY - timedelta(days=k), CONFIG.linking)
    yield engine
    engine.dispose()


def test_the_usual_days_of_a_generated_inbox_pass(generated):
    for report_date in [FRIDAY - timedelta(days=k) for k in range(7)]:  # Saturday to Friday
        for feed in FEEDS:
            report = validate_feed(generated, feed, report_date, CONFIG)
            assert report.passed, [o.line() for o in report.failures]
    judged = {(o.feed, o.rule, o.column) for f in FEEDS for o in validate_feed(generated, f, FRIDAY, CONFIG).outcomes if o.judged}
    assert {("arrests", "volume", None), ("attendance", "distribution", "outcome"), ("court_results", "present", "pnc_id"),
            ("cohort", "volume", None), ("prison_releases", "distribution", "release_date_type")} <= judged  # fmt: skip
    attendance = validate_links(generated, "attendance", FRIDAY, CONFIG.linking)
    assert attendance.passed and outcome(attendance, "link_share").judged


@pytest.fixture
def env(day, monkeypatch):
    monkeypatch.setenv("IOM_INBOX", str(day.inbox.root))
    monkeypatch.setenv("IOM_WAREHOUSE_URL", str(day.engine.url))
    monkeypatch.setenv("IOM_REPORTS_DIR", str(day.reports_dir))
    monkeypatch.setenv("IOM_REVIEW_DIR", str(day.review_dir))
    monkeypatch.setenv("IOM_QUALITY_DIR", str(day.root / "quality"))
    monkeypatch.setenv("IOM_SETTLE_SECONDS", "0")
    return day


def test_the_checks_warn_in_a_dagster_run_without_failing_it(env, monkeypatch):
    hub = env
    _write_arrests(hub.inbox, D - timedelta(days=1), _arrests(D - timedelta(days=1), 400))

    real = validate_links

    def broken(engine, feed_name, report_date, thresholds):
        if feed_name == "arrests":
            raise RuntimeError("Quarrendon0 would be personal")
        return real(engine, feed_name, report_date, thresholds)

    monkeypatch.setattr("pipelines.checks.quality.validate_links", broken)
    from pipelines.definitions import DAILY_JOB, defs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def(DAILY_JOB).execute_in_process(partition_key=D.isoformat(), instance=instance)
    assert result.success
    checks = {
        (e.event_specific_data.asset_key.to_user_string(), e.event_specific_data.check_name): e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    quality = {k: c for k, c in checks.items() if k[1] in ("quality", "link_share")}
    assert len(quality) == len(FEEDS) + len(LINKED_FEEDS)
    arrests = quality[("arrest_row", "quality")]
    assert not arrests.passed and arrests.severity == dg.AssetCheckSeverity.WARN
    assert arrests.metadata["volume"].value == 400
    assert "arrests volume: observed 400 rows" in arrests.metadata["failed"].value
    # A suite that cannot be evaluated warns and says so, without its message.
    broken_check = quality[("record_link/arrests", "link_share")]
    assert not broken_check.passed and broken_check.severity == dg.AssetCheckSeverity.WARN
    assert broken_check.metadata["error"].value == "RuntimeError"
    assert quality[("cohort_member", "quality")].passed
    records = instance.get_records_for_run(result.run_id).records
    text = "\n".join(str(r.event_log_entry) for r in records)
    for secret in _secrets():
        assert secret not in text
