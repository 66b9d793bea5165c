"""The Alembic migrations and the table definitions agree, and upgrading is idempotent."""

from __future__ import annotations

import importlib.util
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
