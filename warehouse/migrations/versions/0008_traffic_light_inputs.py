"""What each month of the traffic light was computed from, so a run recomputes only the
months whose inputs changed (pipelines/traffic_light.py, pipelines/file_spans.py).

``file_event_span``: for each event file, the local dates its rows and the rows sharing a
key with them fall between (computed by the pipeline, once per file, and widened when a
later file shares a key).  ``traffic_light_input``: a digest of the inputs of the month
the ``traffic_light`` rows of a period were computed from.  Both start empty: the first run
after this migration computes every file's span and every month once.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "file_event_span",
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("feed", sa.String(32), nullable=False),
        sa.Column("first_date", sa.Date(), nullable=True),
        sa.Column("last_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"], ["ingest_file.id"], name=op.f("fk_file_event_span_file_id_ingest_file"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("file_id", name=op.f("pk_file_event_span")),
    )
    op.create_table(
        "traffic_light_input",
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_traffic_light_input")),
    )


def downgrade() -> None:
    op.drop_table("traffic_light_input")
    op.drop_table("file_event_span")
