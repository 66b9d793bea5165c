"""links per register snapshot, link candidates, review decisions

Links were stored per report date and recomputed (unstored) for the traffic light; they
are now stored once per (register snapshot, record) with the method and match weight,
the members a record on review might be go to link_candidate with the model's evidence,
and the hub's decisions to link_decision.  The old per-report-date links are derived
data: they are dropped, and the next run computes the new ones.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("link_review")
    op.drop_table("record_link")
    op.create_table(
        "record_link",
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("feed", sa.String(length=32), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("iom_id", sa.String(length=16), nullable=True),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("match_weight", sa.Float(), nullable=True),
        sa.Column("linker_version", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["ingest_file.id"], name=op.f("fk_record_link_file_id_ingest_file"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["register_id"], ["ingest_file.id"], name=op.f("fk_record_link_register_id_ingest_file"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("register_id", "feed", "file_id", "row_no", name=op.f("pk_record_link")),
    )
    op.create_index("ix_record_link_subject", "record_link", ["feed", "subject"], unique=False)
    op.create_table(
        "link_candidate",
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("feed", sa.String(length=32), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("iom_id", sa.String(length=16), nullable=False),
        sa.Column("match_weight", sa.Float(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["register_id", "feed", "file_id", "row_no"],
            ["record_link.register_id", "record_link.feed", "record_link.file_id", "record_link.row_no"],
            name=op.f("fk_link_candidate_register_id_record_link"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("register_id", "feed", "file_id", "row_no", "iom_id", name=op.f("pk_link_candidate")),
    )
    op.create_table(
        "link_decision",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("feed", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("iom_id", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_decision")),
    )
    op.create_index("ix_link_decision_subject", "link_decision", ["feed", "subject"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_link_decision_subject", table_name="link_decision")
    op.drop_table("link_decision")
    op.drop_table("link_candidate")
    op.drop_index("ix_record_link_subject", table_name="record_link")
    op.drop_table("record_link")
    op.create_table(
        "record_link",
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("feed", sa.String(length=32), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("iom_id", sa.String(length=16), nullable=True),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["ingest_file.id"], name=op.f("fk_record_link_file_id_ingest_file"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("report_date", "feed", "file_id", "row_no", name=op.f("pk_record_link")),
    )
    op.create_table(
        "link_review",
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("feed", sa.String(length=32), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("candidate_iom_ids", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["ingest_file.id"], name=op.f("fk_link_review_file_id_ingest_file"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("report_date", "feed", "file_id", "row_no", name=op.f("pk_link_review")),
    )
