"""cjs_location_state and cjs_location_subject: what the stored cjs_location spells were
derived from, so a run re-derives only from the earliest moment an input changed
(pipelines/cjs_location.py refresh).  Both start empty: the first run after this
migration derives every spell once.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cjs_location_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("max_file_id", sa.Integer(), nullable=False),
        sa.Column("max_decision_id", sa.Integer(), nullable=False),
        sa.Column("max_erasure_id", sa.Integer(), nullable=False),
        sa.Column("linker_version", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cjs_location_state")),
    )
    op.create_table(
        "cjs_location_subject",
        sa.Column("feed", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("iom_id", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("feed", "subject", name=op.f("pk_cjs_location_subject")),
    )


def downgrade() -> None:
    op.drop_table("cjs_location_subject")
    op.drop_table("cjs_location_state")
