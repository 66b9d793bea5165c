"""The Alembic migrations and the table definitions agree, and upgrading is idempotent."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.conftest import BOTH_WAREHOUSES
from warehouse.db import upgrade
from warehouse.schema import metadata
from warehouse.views import views

VERSIONS = Path(__file__).parents[1] / "warehouse" / "migrations" / "versions"


@BOTH_WAREHOUSES
def test_migrated_schema_matches_the_models(hub):
    engine = hub.engine  # already upgraded once by the fixture
    upgrade(engine)  # a second upgrade is a no-op
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        names = set(sa.inspect(conn).get_view_names())
    assert diff == []
    assert names == set(views())


def _frozen_views() -> dict[str, str]:
    """Each view's SQL as the newest migration that (re)creates it froze it (``VIEWS``)."""
    frozen: dict[str, str] = {}
    for path in sorted(VERSIONS.glob("0*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        frozen.update(getattr(module, "VIEWS", {}))
    return frozen


def test_the_views_are_what_the_code_would_write():
    # Migrations freeze view SQL; a change to a feed, a rule or a view needs a migration.
    assert _frozen_views() == views()


def test_an_existing_warehouse_upgrades_with_its_traffic_light_as_the_first_history(tmp_path: Path):
    """A warehouse built by the previous schema (0002) keeps its data, and its current
    traffic-light rows become the history's first entries."""
    from alembic import command

    from warehouse.db import alembic_config, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
        conn.execute(sa.text(
            "INSERT INTO traffic_light (period, division, kpi, period_start, period_end, numerator, denominator, value, rag,"
            " report_date) VALUES ('2026-10', 'ALL', 'review_in_date', '2026-10-01', '2026-10-31', 9, 10, 90.0, 'GREEN', '2026-11-01')"
        ))  # fmt: skip
    upgrade(engine)
    with engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT period, rag, report_date FROM traffic_light")).fetchall()
        history = conn.execute(sa.text("SELECT period, rag, report_date FROM traffic_light_history")).fetchall()
    engine.dispose()
    assert [tuple(r) for r in kept] == [tuple(r) for r in history] == [("2026-10", "GREEN", "2026-11-01")]


def test_a_warehouse_built_by_the_previous_schema_keeps_every_row_and_its_data_reaches_the_new_views(tmp_path: Path):
    """Issue 8's warehouse (revision 0002) loaded by the pipeline, with a stored link,
    upgraded to head: every table keeps its rows, and the analysts' views read them."""
    from alembic import command

    from pipelines.feeds import FEEDS
    from pipelines.ingest import ingest_feed
    from pipelines.settings import PROJECT_ROOT, load_hub_config
    from pipelines.sources import LocalInbox
    from tests.builders import Inbox, member
    from warehouse.db import alembic_config, make_engine

    box = Inbox(tmp_path / "inbox")
    day = date(2026, 11, 20)
    box.cohort(date(2026, 11, 1), [member("LDS-000001", "Ali", "Sam", "1990-01-01", niche_nominal_id="N1")])
    box.arrests("20261119_220000", [{"custody_ref": "C1", "niche_nominal_id": "N1", "surname": "Ali", "forenames": "Sam",
                                     "arrest_datetime": "19/11/2026 10:00", "offence_description": "Theft"}])  # fmt: skip
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    config = load_hub_config(str(PROJECT_ROOT / "config" / "hub.yaml"))
    for feed in FEEDS.values():
        ingest_feed(engine, LocalInbox(box.root), feed, day, settle_seconds=0, divisions=frozenset(config.divisions))
    with engine.begin() as conn:  # the link the old pipeline stored (today's linking reads newer tables)
        conn.execute(sa.text(
            "INSERT INTO record_link (register_id, feed, file_id, row_no, subject, iom_id, method, reason, linker_version) "
            "SELECT c.id, 'arrests', a.id, 1, 'C1', 'LDS-000001', 'identifier', '', 'old' "
            "FROM ingest_file c, ingest_file a WHERE c.feed = 'cohort' AND a.feed = 'arrests'"
        ))  # fmt: skip

    def counts() -> dict[str, int]:
        with engine.connect() as conn:
            tables = [t for t in sa.inspect(conn).get_table_names() if t != "alembic_version"]
            return {t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in tables}

    before = counts()
    assert before["cohort_member"] == 1 and before["arrest_row"] == 1 and before["record_link"] >= 1
    upgrade(engine)
    after = counts()
    engine.dispose()
    assert {t: n for t, n in after.items() if t in before} == before
    with engine.connect() as conn:
        history = conn.execute(sa.text("SELECT iom_id, valid_from, valid_to FROM member_history")).fetchall()
        arrests = conn.execute(sa.text("SELECT custody_ref, linked_iom_id, managing_division, reportable FROM linked_arrest"))
        arrests = arrests.fetchall()
    assert [(r.iom_id, str(r.valid_from), r.valid_to) for r in history] == [("LDS-000001", "2026-11-01", None)]
    assert [tuple(r) for r in arrests] == [("C1", "LDS-000001", "CH", 1)]
