"""traffic-light history: each month's figures as every run computed them

`traffic_light` holds each month as the latest run for it computed it (CONTRACT section
8); a restated month lost its earlier figures.  `traffic_light_history` keeps every run's
rows, keyed by the report date that produced them.  An existing warehouse's current rows
are its first history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "period, division, kpi, period_start, period_end, numerator, denominator, value, rag, report_date"


def upgrade() -> None:
    op.create_table(
        "traffic_light_history",
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("division", sa.String(length=16), nullable=False),
        sa.Column("kpi", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("numerator", sa.Integer(), nullable=True),
        sa.Column("denominator", sa.Integer(), nullable=True),
        sa.Column("value", sa.Numeric(precision=6, scale=1), nullable=True),
        sa.Column("rag", sa.String(length=8), nullable=False),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("period", "division", "kpi", "report_date", name=op.f("pk_traffic_light_history")),
    )
    op.execute(f"INSERT INTO traffic_light_history ({COLUMNS}) SELECT {COLUMNS} FROM traffic_light")


def downgrade() -> None:
    op.drop_table("traffic_light_history")
