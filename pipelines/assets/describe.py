"""What the asset graph says about each asset: owners, kinds, column schemas, row counts.

Descriptions are Markdown in the UI, so anything in angle brackets goes in backticks
(bare `<date>` would be swallowed as an HTML tag).
"""

from __future__ import annotations

import os

import dagster as dg
import sqlalchemy as sa

from pipelines.settings import apply_environment_defaults

apply_environment_defaults()

OWNERS = ["team:iom-data"]

_SQL_KIND = {"sqlite": "sqlite", "postgresql": "postgres"}


def warehouse_kind() -> str:
    """The warehouse's engine as a Dagster kind (icon): what the asset is stored in."""
    dialect = os.environ["IOM_WAREHOUSE_URL"].split(":", 1)[0].split("+", 1)[0]
    return _SQL_KIND.get(dialect, "sql")


def table_schema(table: sa.Table, descriptions: dict[str, str] | None = None) -> dg.TableSchema:
    """The table's columns as Dagster shows them on the asset's page."""
    descriptions = descriptions or {}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name,
                type=str(c.type).lower(),
                description=descriptions.get(c.name),
                constraints=dg.TableColumnConstraints(nullable=c.nullable, unique=False),
            )
            for c in table.columns
        ]
    )


def schema_metadata(table: sa.Table, descriptions: dict[str, str] | None = None) -> dict[str, object]:
    return {"dagster/column_schema": table_schema(table, descriptions), "dagster/table_name": table.name}


def count_rows(engine: sa.Engine, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())
