"""warehouse/bulk.py stores exactly what SQLAlchemy's insert stores, on SQLite and PostgreSQL.

Each test loads the same frame into two tables of one definition, one through SQLAlchemy's
executemany (how ingest loaded rows before) and one through ``insert_frame``, and compares
what is read back: through SQLAlchemy, and as the database holds it (SQLite: each value
and its storage class; PostgreSQL: each row cast to text).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from pipelines.validation import (
    _blank_to_none,
    _cleaned,
    _cleaned_upper,
    _no_control_characters,
    _no_control_check,
    _upper_blank_to_none,
)
from tests.conftest import migrated_warehouse
from warehouse import bulk
from warehouse.bulk import insert_frame
from warehouse.db import make_engine
from warehouse.schema import ROW_TABLES, ingest_file

TEXTS = [
    "plain",
    'a "quoted" word',
    "comma, then more",
    "two\nlines",
    "windows\r\nline",
    'end quote"',
    '"',
    "",
    "  spaced  ",
    "Siobhán Ó Briain",
    'Zoë, "Jo"\nand 日本 🙂',
    "NULL",
    "\\N",
    "C:\\path\\file",
    "tab\there",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A migrated warehouse on each back end (PostgreSQL: a fresh database on the test server)."""
    with migrated_warehouse(request, tmp_path, request.param) as engine:
        yield engine


def _pair(engine: sa.Engine, *columns: sa.Column) -> tuple[sa.Table, sa.Table]:
    metadata = sa.MetaData()

    def table(name: str) -> sa.Table:
        return sa.Table(name, metadata, sa.Column("id", sa.Integer, primary_key=True), *(c._copy() for c in columns))

    pair = table("t_sqlalchemy"), table("t_bulk")
    metadata.create_all(engine)
    return pair


def _frame(repeat: int = 3) -> pd.DataFrame:
    """Every kind of value ingest stores, each several times (the per-distinct path)."""
    n = len(TEXTS)
    times = ["2026-11-20 08:30:00.123456", "2026-11-20 23:59:59.999999", "1999-01-01 00:00:00"] * n
    stamps = pd.Series(pd.to_datetime(times[:n], format="ISO8601"))
    stamps[2] = pd.NaT
    one = pd.DataFrame(
        {
            "text": pd.Series(TEXTS, dtype=object).where(pd.Series(range(n)) != 5, None),
            "name": [None if i % 4 == 1 else f"N{i % 3}" for i in range(n)],
            "day": [None if i % 5 == 2 else date(1899 + i * 9, 1 + i % 12, 1 + i) for i in range(n)],
            "at": stamps,
            "flag": [None if i % 3 == 0 else bool(i % 2) for i in range(n)],
            "score": [np.nan if i % 6 == 0 else (0.1 * i if i % 2 else 1e16 + i) for i in range(n)],
            "count": pd.array([None if i % 7 == 3 else i * 1000 for i in range(n)], dtype="Int64"),
        }
    )
    frame = pd.concat([one] * repeat, ignore_index=True)
    frame.insert(0, "id", range(1, len(frame) + 1))
    return frame


COLUMNS = (
    sa.Column("text", sa.Text),
    sa.Column("name", sa.String(64)),
    sa.Column("day", sa.Date),
    sa.Column("at", sa.DateTime),
    sa.Column("flag", sa.Boolean),
    sa.Column("score", sa.Float),
    sa.Column("count", sa.Integer),
)


def _through_sqlalchemy(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """As pipelines/ingest.py loaded rows before warehouse/bulk.py."""
    conn.execute(table.insert(), frame.astype(object).where(frame.notna(), None).to_dict("records"))


def _read(conn: sa.Connection, table: sa.Table) -> list[tuple]:
    rows = conn.execute(sa.select(table).order_by(table.c.id)).all()
    return [tuple((type(v).__name__, repr(v)) for v in row) for row in rows]


def _stored(conn: sa.Connection, table: sa.Table) -> list[tuple]:
    """The values as the database holds them, not as SQLAlchemy converts them on the way out."""
    if conn.dialect.name == "sqlite":
        cells = ", ".join(f'"{c.name}", typeof("{c.name}")' for c in table.columns)
        return [tuple(r) for r in conn.execute(sa.text(f"SELECT {cells} FROM {table.name} ORDER BY id"))]
    return [tuple(r) for r in conn.execute(sa.text(f"SELECT CAST({table.name} AS text) FROM {table.name} ORDER BY id"))]


def _assert_same(engine: sa.Engine, reference: sa.Table, loaded: sa.Table) -> None:
    with engine.connect() as conn:
        expected, got = _read(conn, reference), _read(conn, loaded)
        assert expected and got == expected
        assert _stored(conn, loaded) == _stored(conn, reference)


def _no_fallback(*_args: object) -> None:
    raise AssertionError("the fast path (executemany on SQLite, COPY on PostgreSQL) was not taken")


def test_insert_frame_stores_what_sqlalchemy_stores(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    reference, loaded = _pair(engine, *COLUMNS)
    frame = _frame()
    with engine.begin() as conn:
        _through_sqlalchemy(conn, reference, frame)
        monkeypatch.setattr(bulk, "_executemany", _no_fallback)
        assert insert_frame(conn, loaded, frame) == len(frame)
    _assert_same(engine, reference, loaded)
    with engine.connect() as conn:  # the cases that matter, spelled out
        rows = {r.id: r for r in conn.execute(sa.select(loaded))}
    assert rows[6].text is None and rows[8].text == ""  # NULL and the empty string stay apart
    assert rows[4].text == "two\nlines" and rows[11].text == TEXTS[10]
    assert rows[1].at == datetime(2026, 11, 20, 8, 30, 0, 123456) and rows[3].at is None
    assert rows[1].day == date(1899, 1, 1) and rows[3].day is None


def test_sqlite_storage_is_sqlalchemys_text_formats(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    _, loaded = _pair(engine, *COLUMNS)
    with engine.begin() as conn:
        insert_frame(conn, loaded, _frame(repeat=1))
    with engine.connect() as conn:
        row = conn.execute(sa.text('SELECT day, "at", flag FROM t_bulk WHERE id = 2')).one()
    assert tuple(row) == ("1908-02-02", "2026-11-20 23:59:59.999999", 1)


def test_a_row_table_through_ingest_types(engine: sa.Engine) -> None:
    """A feed's row table (dates as objects, datetimes as datetime64) and the ledger's
    foreign key: the same rows whichever way they are loaded."""
    table = ROW_TABLES["arrests"]
    with engine.begin() as conn:
        ledger = {
            "feed": "arrests", "size": 1, "mtime": 1.0, "sha256": "0" * 64,
            "ingested_at": datetime.now(UTC).replace(tzinfo=None), "first_report_date": date(2026, 11, 20),
            "version": 1, "is_current": True, "source": "test", "status": "LOADED",
            "rows_in": 0, "rows_loaded": 0, "rows_quarantined": 0,
        }  # fmt: skip
        ids = [conn.execute(ingest_file.insert().values(**ledger, name=f"n{i}.csv")).inserted_primary_key[0] for i in (1, 2)]
    columns = [c for c in table.columns if c.name not in ("file_id", "row_no")]
    frame = pd.DataFrame({"row_no": range(1, 31), "location": [str(i + 1) for i in range(30)]})
    for i, c in enumerate(columns[1:]):
        if isinstance(c.type, sa.DateTime):
            frame[c.name] = pd.Series(pd.to_datetime("2026-11-19 10:15:00.000001") + pd.to_timedelta(frame.index, "s"))
        elif isinstance(c.type, sa.Date):
            frame[c.name] = [date(2026, 11, 1 + r % 20) for r in range(30)]
        else:
            frame[c.name] = [None if c.nullable and r % (3 + i % 4) == 0 else f'{c.name[:6]},"{r % 5}"\n' for r in range(30)]
    with engine.begin() as conn:
        _through_sqlalchemy(conn, table, frame.assign(file_id=ids[0]))
        insert_frame(conn, table, frame.assign(file_id=ids[1]))
    with engine.connect() as conn:
        got = {
            file_id: conn.execute(sa.select(table).where(table.c.file_id == file_id).order_by(table.c.row_no)).all()
            for file_id in ids
        }
    assert len(got[ids[1]]) == 30
    assert [r[1:] for r in got[ids[1]]] == [r[1:] for r in got[ids[0]]]


def test_insert_frame_is_part_of_the_callers_transaction(engine: sa.Engine) -> None:
    _, loaded = _pair(engine, *COLUMNS)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        insert_frame(conn, loaded, _frame())
        raise RuntimeError("the file fails after its rows")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(loaded)).scalar() == 0


def test_values_copy_cannot_carry_go_through_sqlalchemy(engine: sa.Engine) -> None:
    """A COPY end-of-data line inside a value, zone-aware times, a float in an integer
    column, mixed kinds in one column: all stored as SQLAlchemy stores them."""
    columns = (
        sa.Column("text", sa.Text),
        sa.Column("at", sa.DateTime),
        sa.Column("count", sa.Integer),
        sa.Column("amount", sa.Numeric(8, 2)),
    )
    reference, loaded = _pair(engine, *columns)
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "text": ["one\n\\.\ntwo", "\\.", "x", None],
            "at": [datetime(2026, 1, 1, 12, 0, tzinfo=UTC), None, datetime(2026, 1, 2), datetime(2026, 1, 3, 4, 5, 6, 7)],
            "count": pd.Series([1, 2.0, None, 4], dtype=object),
            "amount": pd.Series([Decimal("1.50"), 2, 3.25, None], dtype=object),
        }
    )
    for part in (frame.iloc[:1], frame.iloc[1:2], frame.iloc[1:], frame.drop(columns="at")):
        with engine.begin() as conn:
            conn.execute(reference.delete())
            conn.execute(loaded.delete())
            _through_sqlalchemy(conn, reference, part)
            insert_frame(conn, loaded, part)
        _assert_same(engine, reference, loaded)


def test_empty_and_unknown_columns(engine: sa.Engine) -> None:
    _, loaded = _pair(engine, *COLUMNS)
    with engine.begin() as conn:
        assert insert_frame(conn, loaded, _frame().iloc[0:0]) == 0
        with pytest.raises(ValueError, match="no column"):
            insert_frame(conn, loaded, pd.DataFrame({"id": [1], "nope": [2]}))


def test_a_column_with_a_python_default_goes_through_sqlalchemy(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    table = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("v", sa.Text, default="d"))
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        insert_frame(conn, table, pd.DataFrame({"id": [1, 2]}))
        assert conn.execute(sa.select(table.c.v)).scalars().all() == ["d", "d"]


def test_equal_values_of_different_kinds_are_not_merged() -> None:
    """1, 1.0 and True are equal (and hash alike): processed once per distinct value, they
    would come out as one kind; they must not."""
    values = np.array([1, 1.0, True, None, 1], dtype=object)
    assert bulk._each(repr, values, "null").tolist() == ["1", "1.0", "True", "null", "1"]
    dates = np.array([date(2026, 1, 1), None, date(2026, 1, 1)], dtype=object)
    assert bulk._each(lambda d: d.isoformat(), dates, None).tolist() == ["2026-01-01", None, "2026-01-01"]


# --------------------------------------------------------------------------- validation's per-distinct cleaning


def test_cleaning_per_distinct_value_equals_cleaning_every_row() -> None:
    """pipelines/validation.py cleans each distinct cell once; the result must be the row-by-row one."""
    cells = ["", " a ", "a", None, np.nan, "ß", "x\x1fy", "\x1c", " N100 ", "Ó", "a"] * 3
    raw = pd.Series(cells, dtype=object, index=range(100, 100 + len(cells)))
    for per_distinct, every_row in ((_cleaned, _blank_to_none), (_cleaned_upper, _upper_blank_to_none)):
        got, expected = per_distinct(raw), every_row(raw)
        pd.testing.assert_series_equal(got, expected, check_exact=True)
        assert [type(v) for v in got] == [type(v) for v in expected]


def test_control_character_check_equals_the_value_by_value_one() -> None:
    clean = pd.Series(["a", None, "two\nlines", "tab\there", "Ó"] * 4, dtype=object)
    for s in (clean, pd.concat([clean, pd.Series(["x\x00", "\x85", "ok"], dtype=object)], ignore_index=True)):
        pd.testing.assert_series_equal(_no_control_check(s), _no_control_characters(s), check_names=False)
