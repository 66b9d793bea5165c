"""cjs_location: each member's spells in the criminal justice system, and the view of the
spell in force (pipelines/cjs_location.py derives them).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEWS = {"cjs_location_current": "SELECT * FROM cjs_location WHERE ended_at IS NULL"}


def upgrade() -> None:
    op.create_table(
        "cjs_location",
        sa.Column("iom_id", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("location", sa.String(24), nullable=False),
        sa.Column("cause", sa.String(32), nullable=False),
        sa.Column("feed", sa.String(32), nullable=True),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("row_no", sa.Integer(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("iom_id", "started_at", name=op.f("pk_cjs_location")),
    )
    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    for name in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")
    op.drop_table("cjs_location")
