"""Shared fixtures: an isolated hub (inbox, warehouse, reports) per test."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from pipelines import cjs_location as cjs
from pipelines import traffic_light as tl
from pipelines.daily import link_for_report
from pipelines.event_links import link_every_event
from pipelines.feeds import FEEDS, LINKED_FEEDS
from pipelines.ingest import ingest_feed
from pipelines.link_store import linker_version
from pipelines.reports.render import write_report
from pipelines.reports.review_page import review_items, write_review_page
from pipelines.reports.sections import build_reports
from pipelines.settings import PROJECT_ROOT, apply_environment_defaults, load_hub_config
from pipelines.sources import LocalInbox
from tests.builders import Inbox
from warehouse.db import make_engine, upgrade

# As the code location does on import: every optional setting exists (maybe "") before
# any test patches the environment, so restoring it never removes one.
apply_environment_defaults()

# Real servers on loopback (sshd, PostgreSQL, ODBC drivers) for the transport tests.
pytest_plugins = ["tests.servers"]


def assert_same_spells(kept: pd.DataFrame, full: pd.DataFrame) -> None:
    """The incremental spells (pipelines/cjs_location.py refresh) are the full derivation's."""

    def norm(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame[cjs.SPELL_COLUMNS].astype(object).where(frame[cjs.SPELL_COLUMNS].notna(), None)
        out = out.assign(started_at=pd.to_datetime(out["started_at"]), ended_at=pd.to_datetime(out["ended_at"]))
        out = out.assign(file_id=out["file_id"].map(lambda v: None if v is None else int(v)),
                         row_no=out["row_no"].map(lambda v: None if v is None else int(v)))  # fmt: skip
        return out.sort_values(["iom_id", "started_at"]).reset_index(drop=True)

    pd.testing.assert_frame_equal(norm(kept), norm(full), check_dtype=False)


@dataclass
class Hub:
    """The pipeline's stages called directly (the Dagster wiring has its own tests)."""

    root: Path
    inbox: Inbox
    engine: sa.Engine
    reports_dir: Path

    def run(self, report_date: date) -> None:
        config = load_hub_config(str(PROJECT_ROOT / "config" / "hub.yaml"))
        source = LocalInbox(self.inbox.root)
        for feed in FEEDS.values():
            ingest_feed(self.engine, source, feed, report_date, settle_seconds=0, divisions=frozenset(config.divisions))
        for feed in LINKED_FEEDS:
            link_for_report(self.engine, feed, report_date, config.linking)
        tl.refresh(self.engine, report_date, config)
        # As the graph orders them: cjs_location after the traffic light, the reports after it.
        link_every_event(self.engine, report_date, config.linking)
        # As the asset does (incrementally), checked every time against the full derivation.
        kept, _ = cjs.refresh(self.engine, report_date, linker_version(config.linking))
        assert_same_spells(kept, cjs.derive(self.engine, report_date))
        for report in build_reports(self.engine, report_date, config):
            write_report(self.reports_dir, report)
        write_review_page(self.review_dir, report_date, review_items(self.engine, report_date), config.linking)

    @property
    def review_dir(self) -> Path:
        return self.root / "review"

    def report(self, report_date: date, division: str, section: str) -> list[dict[str, str]]:
        path = self.reports_dir / report_date.isoformat() / division / f"{section}.csv"
        with path.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))

    def query(self, sql: str, **params: object) -> list[sa.Row]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))


@contextmanager
def migrated_warehouse(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> Iterator[sa.Engine]:
    """A migrated, empty warehouse: a SQLite file under ``tmp_path``, or a fresh database on
    the real PostgreSQL test server (dropped afterwards)."""
    database = None
    if backend == "postgresql":
        server = request.getfixturevalue("postgres_server")
        database = f"wh_{uuid.uuid4().hex[:12]}"
        server.psql(f"CREATE DATABASE {database} OWNER {server.user} ENCODING 'UTF8' TEMPLATE template0")
        url = server.sqlalchemy_url(database=database)
    else:
        url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        if database is not None:
            server.psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


@pytest.fixture
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    """A hub on SQLite; parametrize indirectly with "postgresql" to put its warehouse on
    the real PostgreSQL test server instead (a fresh database per test)."""
    with migrated_warehouse(request, tmp_path, getattr(request, "param", "sqlite")) as engine:
        (tmp_path / "inbox").mkdir()
        yield Hub(tmp_path, Inbox(tmp_path / "inbox"), engine, tmp_path / "reports")


# Modules whose rules must hold on both warehouse back ends use this.
BOTH_WAREHOUSES = pytest.mark.parametrize("hub", ["sqlite", "postgresql"], indirect=True)
