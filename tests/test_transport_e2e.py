"""End to end over the real transports: the synthetic inbox delivered to an SFTP server
(OpenSSH sshd on loopback) and the cohort register read over ODBC from PostgreSQL (the
psqlODBC "PostgreSQL Unicode" driver), through the Dagster job, checked against the
generator's ground truth by the same independent oracle as tests/test_e2e.py.

The ODBC read is dated the day it is made, so the report date D is today (Europe/London)
and the register loaded into PostgreSQL is the generator's snapshot for D: the register
the oracle holds in force at D.  Past months have no ODBC snapshot, so the traffic-light
table is not compared here (tests/test_e2e.py does that from the inbox's snapshots).
"""

from __future__ import annotations

import csv
import json
import shutil
import uuid
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from pipelines.feeds import FEEDS, ColType
from pipelines.settings import today_in_london
from pipelines.synth import generate
from tests.model_links import model_links
from tests.oracle import Truth, expected_reports, project, read_csv

SECTIONS = ("arrests", "court_results", "attendance", "status_changes", "releases", "reviews")
FILE_FEEDS = ("arrests", "court_results", "prison_releases", "attendance")  # the cohort comes over ODBC
COHORT = FEEDS["cohort"]


def typed_register_rows(path: Path) -> list[dict[str, Any]]:
    """The snapshot file as the case-management database would hold it: typed DATE columns,
    NULL for blank.  (A row whose dates are not dates could not be stored: left out.)"""
    rows = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for text in csv.DictReader(fh):
            row: dict[str, Any] = {}
            try:
                for c in COHORT.columns:
                    value = text.get(c.name) or ""
                    if value == "":
                        row[c.name] = None
                    elif c.type is ColType.DATE:
                        row[c.name] = date.fromisoformat(value)
                    else:
                        row[c.name] = value
            except ValueError:
                continue
            rows.append(row)
    return rows


def load_register(engine: sa.Engine, rows: list[dict[str, Any]]) -> None:
    types = {ColType.DATE: "DATE", ColType.DATETIME: "TIMESTAMP"}
    names = [c.name for c in COHORT.columns]
    columns = ", ".join(f"{c.name} {types.get(c.type, 'TEXT')}" for c in COHORT.columns)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE register ({columns})"))
        conn.execute(sa.text(f"INSERT INTO register ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"), rows)
        conn.execute(sa.text(f"CREATE VIEW iom_cohort AS SELECT {', '.join(names)} FROM register"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sftp_server, postgres_server):
    D = today_in_london()
    root = tmp_path_factory.mktemp("transport_e2e")
    summary = generate(root / "synth", end_date=D, days=30, seed=23)
    truth = Truth(json.loads(summary.truth.read_text(encoding="utf-8")))

    # The partners' files on the SFTP server, mtimes as delivered, owned by the SFTP user.
    remote = f"e2e-{uuid.uuid4().hex[:8]}"
    inbox = sftp_server.path(remote)
    inbox.mkdir()
    (inbox / "cohort").mkdir()
    for feed in FILE_FEEDS:
        shutil.copytree(summary.inbox / feed, inbox / feed, copy_function=shutil.copy2)
    sftp_server.chown(inbox, *inbox.rglob("*"))

    # The register as at D in the case-management database, behind the view iom_cohort.
    database = f"e2e_{uuid.uuid4().hex[:12]}"
    postgres_server.psql(
        f"CREATE DATABASE {database} OWNER {postgres_server.user} ENCODING 'UTF8' TEMPLATE template0", database="postgres"
    )
    register_db = sa.create_engine(postgres_server.sqlalchemy_url(database=database))
    register_rows = typed_register_rows(summary.inbox / "cohort" / f"cohort_{D:%Y%m%d}.csv")
    load_register(register_db, register_rows)
    register_db.dispose()

    env = {
        "IOM_INBOX": sftp_server.url(remote),
        "IOM_SFTP_KEY_FILE": str(sftp_server.client_key_path),
        "IOM_SFTP_KNOWN_HOSTS": str(sftp_server.known_hosts_path),
        "IOM_COHORT_ODBC": postgres_server.odbc_connection_string(database=database),
        "IOM_WAREHOUSE_URL": f"sqlite:///{root / 'warehouse.sqlite'}",
        "IOM_REPORTS_DIR": str(root / "reports"),
        "IOM_REVIEW_DIR": str(root / "review"),
        "IOM_QUALITY_DIR": str(root / "quality"),
        "IOM_SETTLE_SECONDS": "0",
    }
    engine = sa.create_engine(env["IOM_WAREHOUSE_URL"])
    try:
        with pytest.MonkeyPatch.context() as mp:
            for k, v in env.items():
                mp.setenv(k, v)
            for k in ("IOM_ARRESTS_ODBC", "IOM_OUTBOX", "IOM_SFTP_KEY", "IOM_SFTP_MOVE_PROCESSED"):
                mp.setenv(k, "")  # unset
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                instance = dg.DagsterInstance.ephemeral()
            result = daily_job().execute_in_process(partition_key=D.isoformat(), instance=instance, raise_on_error=False)
            truth.model_links = model_links(engine)
            yield {
                "D": D, "truth": truth, "result": result, "instance": instance, "engine": engine,
                "reports": root / "reports", "inbox_url": sftp_server.url(remote), "register_rows": register_rows,
            }  # fmt: skip
    finally:
        engine.dispose()
        shutil.rmtree(inbox, ignore_errors=True)
        postgres_server.psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", database="postgres")


def test_the_run_succeeds_with_all_checks_passing(world):
    result = world["result"]
    assert result.success, [e.event_specific_data for e in result.get_step_failure_events()]
    checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert (
        len(checks) == 5 * 3 + 3 + 5 + 4
    )  # per feed rows_reconcile, schema_valid, on_time; the products' three; GX quality per feed, link_share per linked feed
    assert all(c.passed for c in checks if c.severity == dg.AssetCheckSeverity.ERROR)


@pytest.mark.parametrize("section", SECTIONS)
def test_report_sections_match_the_oracle(world, section):
    truth, D = world["truth"], world["D"]
    expected = expected_reports(truth, D)
    for division in truth.divisions:
        got = read_csv(world["reports"] / D.isoformat() / division / f"{section}.csv")
        want = expected[division][section]
        assert sorted(project(got, want)) == sorted(project(want, want)), f"{division}/{section}"


def test_sections_are_not_trivially_empty(world):
    expected = expected_reports(world["truth"], world["D"])
    for section in ("arrests", "attendance", "reviews"):
        assert sum(len(expected[div][section]) for div in expected) > 0, section


def test_names_in_the_reports_are_the_registers_names_accents_and_all(world):
    truth, D = world["truth"], world["D"]
    _, register = truth.register(D)
    reported: set[tuple[str, str]] = set()
    for division in truth.divisions:
        for section in SECTIONS:
            for row in read_csv(world["reports"] / D.isoformat() / division / f"{section}.csv"):
                m = register[row["iom_id"]]
                assert (row["surname"], row["forenames"]) == (m["surname"], m["forenames"]), (division, section)
                reported.add((row["surname"], row["forenames"]))
    expected = expected_reports(truth, D)
    expected_names = {
        (register[r["iom_id"]]["surname"], register[r["iom_id"]]["forenames"])
        for div in expected.values() for rows in div.values() for r in rows if "iom_id" in r
    }  # fmt: skip
    assert reported == expected_names
    non_ascii = {n for n in expected_names if not "".join(n).isascii()}
    assert non_ascii, "the oracle expects someone with an accented name in today's reports"
    assert non_ascii <= reported

    # The whole register came through ODBC unchanged, accented names included.
    with world["engine"].connect() as conn:
        stored = conn.execute(sa.text(
            "select m.iom_id, m.surname, m.forenames from cohort_member m join ingest_file f on f.id = m.file_id "
            "where f.is_current and f.feed = 'cohort'"
        )).fetchall()  # fmt: skip
    assert sorted(tuple(r) for r in stored) == sorted((m["iom_id"], m["surname"], m["forenames"]) for m in register.values())
    assert any(not (s + f).isascii() for _, s, f in stored)


def test_the_ledger_says_where_each_delivery_came_from(world):
    truth, D = world["truth"], world["D"]
    with world["engine"].connect() as conn:
        rows = conn.execute(sa.text("select * from ingest_file where is_current")).fetchall()
    cohort = [r for r in rows if r.feed == "cohort"]
    assert [(r.name, r.source, str(r.file_date), r.rows_in) for r in cohort] == [
        (f"iom_cohort@{D.isoformat()}", "odbc:iom_cohort", D.isoformat(), len(world["register_rows"]))
    ]
    assert world["inbox_url"].startswith("sftp://")
    assert {r.source for r in rows if r.feed != "cohort"} == {world["inbox_url"]}
    # Every partner file came over SFTP, each row loaded or quarantined as the truth says.
    files = {(r.feed, r.name): r for r in rows}
    for f in truth.raw["files"]:
        if f["feed"] == "cohort":
            continue
        row = files[(f["feed"], f["name"])]
        assert row.rows_in == row.rows_loaded + row.rows_quarantined
        if f.get("rejected_whole"):
            assert row.status == "REJECTED"
        else:
            assert (row.rows_loaded + row.rows_quarantined, row.rows_quarantined) == (f["rows"], f["quarantined_rows"]), f["name"]


def test_no_secret_or_personal_data_in_the_runs_record(world, postgres_server):
    records = world["instance"].get_records_for_run(world["result"].run_id).records
    text = "\n".join(str(r.event_log_entry) for r in records)
    register = world["register_rows"]
    assert postgres_server.password not in text
    assert not any(m["surname"] in text for m in register if len(m["surname"]) > 5)


def daily_job() -> dg.JobDefinition:
    from pipelines.definitions import DAILY_JOB, defs

    return defs.resolve_job_def(DAILY_JOB)
