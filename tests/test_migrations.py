"""The Alembic migrations and the table definitions agree, and upgrading is idempotent."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.conftest import BOTH_WAREHOUSES
from warehouse.db import upgrade
from warehouse.schema import CURRENT_VIEWS, current_view_sql, metadata


@BOTH_WAREHOUSES
def test_migrated_schema_matches_the_models(hub):
    engine = hub.engine  # already upgraded once by the fixture
    upgrade(engine)  # a second upgrade is a no-op
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        views = set(sa.inspect(conn).get_view_names())
    assert diff == []
    assert views == set(CURRENT_VIEWS.values())


def test_current_views_match_their_definitions(tmp_path: Path):
    # The migration froze the view SQL; it must still be what the code would write.
    source = next((Path(__file__).parents[1] / "warehouse" / "migrations" / "versions").glob("0001_*.py")).read_text()
    for feed in CURRENT_VIEWS:
        assert repr(current_view_sql(feed)) in source
