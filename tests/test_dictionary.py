"""The data dictionary: every feed, column, value, table and view described; docs/warehouse.md
up to date; the descriptions as PostgreSQL comments."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from pipelines import linking
from pipelines.feeds import FEEDS
from tests.conftest import BOTH_WAREHOUSES
from warehouse import dictionary
from warehouse.db import upgrade
from warehouse.dictionary import DOC_PATH, OBJECTS, apply_comments, comment_text, describe, main, migrated_docs, render


def test_every_feed_column_and_allowed_value_is_described():
    for feed in FEEDS.values():
        assert feed.description.strip(), feed.name
        for column in feed.columns:
            assert column.description.strip(), f"{feed.name}.{column.name}"
            assert tuple(v for v, _ in column.meanings) == column.values, f"{feed.name}.{column.name}"
            assert all(m.strip() for _, m in column.meanings), f"{feed.name}.{column.name}"


@BOTH_WAREHOUSES
def test_every_table_view_and_column_of_a_migrated_warehouse_is_described(hub):
    docs = describe(sa.inspect(hub.engine))
    assert {d.name for d in docs} >= set(OBJECTS)  # nothing the registry describes is missing
    undescribed = [d.name for d in docs if not d.description.strip()]
    undescribed += [f"{d.name}.{c.name}" for d in docs for c in d.columns if not c.description.strip() or not c.type]
    assert undescribed == []


def test_the_registry_uses_the_pipelines_own_value_sets():
    methods = {v for v, _ in dictionary.LINK_METHODS}
    assert methods == {*linking.LINKED_METHODS, linking.REVIEW, linking.NOT_LINKED}
    assert {v for v, _ in OBJECTS["link_decision"].columns["decision"].meanings} == {linking.ACCEPT, linking.REJECT}


def test_docs_warehouse_md_is_what_the_generator_writes(tmp_path: Path):
    assert DOC_PATH.read_text(encoding="utf-8") == render(migrated_docs()), "run: python -m warehouse.dictionary"
    stale = tmp_path / "warehouse.md"
    stale.write_text("old\n", encoding="utf-8")
    assert main(["--check", "--out", str(stale)]) == 1
    assert main(["--out", str(stale)]) == 0
    assert main(["--check", "--out", str(stale)]) == 0


def test_the_doc_shows_personal_flags_and_value_meanings():
    text = DOC_PATH.read_text(encoding="utf-8")
    assert "| `date_of_birth` | date | date of birth |" in text
    assert "`PR` remanded in custody" in text
    assert "`PRRD` post-recall release date" in text
    assert "`RUI` released under investigation" in text
    for query in dictionary.WORKED_QUERIES:
        assert query.sql in text


@pytest.mark.parametrize("hub", ["postgresql"], indirect=True)
def test_postgresql_comments_are_the_descriptions_and_applying_them_again_changes_nothing(hub):
    upgrade(hub.engine)  # again: the comments are already there
    with hub.engine.begin() as conn:
        assert apply_comments(conn) == 0
        docs = describe(sa.inspect(conn))
        for obj in docs:
            oid = conn.execute(sa.text("SELECT to_regclass(:n)::oid"), {"n": obj.name}).scalar()
            assert conn.execute(sa.text("SELECT obj_description(:o, 'pg_class')"), {"o": oid}).scalar() == obj.description
            got = dict(
                conn.execute(
                    sa.text(
                        "SELECT attname, col_description(attrelid, attnum) FROM pg_attribute WHERE attrelid = :o AND attnum > 0"
                    ),
                    {"o": oid},
                ).fetchall()
            )
            assert got == {c.name: comment_text(c) for c in obj.columns}, obj.name
        # A comment changed by hand is put back by the next upgrade.
        conn.execute(sa.text("COMMENT ON COLUMN traffic_light.rag IS 'scribbled'"))
    upgrade(hub.engine)
    with hub.engine.connect() as conn:
        rag = conn.execute(
            sa.text(
                "SELECT col_description(attrelid, attnum) FROM pg_attribute "
                "WHERE attrelid = 'traffic_light'::regclass AND attname = 'rag'"
            )
        ).scalar()
    assert "Red/amber/green" in rag


def test_comments_are_not_written_on_sqlite(hub):
    with hub.engine.begin() as conn:
        assert apply_comments(conn) == 0
