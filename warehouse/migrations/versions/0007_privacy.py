"""Privacy: pseudonymised analyst views, member pseudonyms, retention's erasure records
and the audit trail (warehouse/pseudonymised.py, pipelines/retention.py, pipelines/audit.py).

The pseudo_* views read the views of 0005 and 0006: a later migration that recreates one
of those drops these first (PostgreSQL refuses to drop a view another depends on).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEWS = {
    'pseudo_member_history': "SELECT p.pseudonym, h.valid_from, h.valid_to, h.snapshots, h.gender, h.managing_division, h.cohort_type, h.strand, h.status, h.nominated_by, h.case_manager_agency, h.risk_level, h.selected_on, h.deselected_on, h.support_plan_agreed_on, h.next_review_due, CASE WHEN h.date_of_birth IS NULL OR h.valid_from IS NULL OR CAST(h.date_of_birth AS TEXT) = '1900-01-01' THEN NULL WHEN (CAST(SUBSTR(CAST(h.valid_from AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(h.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(h.valid_from AS TEXT), 6, 5) < SUBSTR(CAST(h.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 18 THEN 'under 18' WHEN (CAST(SUBSTR(CAST(h.valid_from AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(h.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(h.valid_from AS TEXT), 6, 5) < SUBSTR(CAST(h.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 25 THEN '18-24' WHEN (CAST(SUBSTR(CAST(h.valid_from AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(h.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(h.valid_from AS TEXT), 6, 5) < SUBSTR(CAST(h.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 35 THEN '25-34' WHEN (CAST(SUBSTR(CAST(h.valid_from AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(h.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(h.valid_from AS TEXT), 6, 5) < SUBSTR(CAST(h.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 45 THEN '35-44' ELSE '45+' END AS age_band, CASE WHEN LENGTH(h.postcode) > 4 THEN SUBSTR(h.postcode, 1, LENGTH(h.postcode) - 4) END AS postcode_district FROM member_history h LEFT JOIN member_pseudonym p ON p.iom_id = h.iom_id",
    'pseudo_member': 'SELECT * FROM pseudo_member_history WHERE valid_to IS NULL',
    'pseudo_arrest': "SELECT p.pseudonym, e.file_id, e.row_no, e.arrest_datetime, e.arrest_division, e.custody_suite, e.offence_code, e.offence_description, e.outcome, e.outcome_datetime, e.next_court_date, e.local_date, e.event_date, e.event_month, e.link_method, e.linked_with_register_of, e.managing_division, e.reportable, CASE WHEN e.date_of_birth IS NULL OR e.event_date IS NULL OR CAST(e.date_of_birth AS TEXT) = '1900-01-01' THEN NULL WHEN (CAST(SUBSTR(CAST(e.event_date AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(e.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(e.event_date AS TEXT), 6, 5) < SUBSTR(CAST(e.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 18 THEN 'under 18' WHEN (CAST(SUBSTR(CAST(e.event_date AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(e.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(e.event_date AS TEXT), 6, 5) < SUBSTR(CAST(e.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 25 THEN '18-24' WHEN (CAST(SUBSTR(CAST(e.event_date AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(e.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(e.event_date AS TEXT), 6, 5) < SUBSTR(CAST(e.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 35 THEN '25-34' WHEN (CAST(SUBSTR(CAST(e.event_date AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(e.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(e.event_date AS TEXT), 6, 5) < SUBSTR(CAST(e.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 45 THEN '35-44' ELSE '45+' END AS age_band FROM linked_arrest e LEFT JOIN member_pseudonym p ON p.iom_id = e.linked_iom_id WHERE e.linked_iom_id IS NOT NULL",
    'pseudo_court_result': "SELECT p.pseudonym, e.file_id, e.row_no, e.court_code, e.court_name, e.hearing_date, e.defendant_index, e.remand_status, e.present, e.offence_seq, e.offence_code, e.offence_title, e.plea, e.verdict, e.result_codes, e.result_texts, e.next_hearing_date, e.next_hearing_court, e.local_date, e.event_date, e.event_month, e.link_method, e.linked_with_register_of, e.managing_division, e.reportable, CASE WHEN e.date_of_birth IS NULL OR e.event_date IS NULL OR CAST(e.date_of_birth AS TEXT) = '1900-01-01' THEN NULL WHEN (CAST(SUBSTR(CAST(e.event_date AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(e.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(e.event_date AS TEXT), 6, 5) < SUBSTR(CAST(e.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 18 THEN 'under 18' WHEN (CAST(SUBSTR(CAST(e.event_date AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(e.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(e.event_date AS TEXT), 6, 5) < SUBSTR(CAST(e.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 25 THEN '18-24' WHEN (CAST(SUBSTR(CAST(e.event_date AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(e.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(e.event_date AS TEXT), 6, 5) < SUBSTR(CAST(e.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 35 THEN '25-34' WHEN (CAST(SUBSTR(CAST(e.event_date AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(e.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(e.event_date AS TEXT), 6, 5) < SUBSTR(CAST(e.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 45 THEN '35-44' ELSE '45+' END AS age_band, CASE WHEN LENGTH(e.postcode) > 4 THEN SUBSTR(e.postcode, 1, LENGTH(e.postcode) - 4) END AS postcode_district FROM linked_court_result e LEFT JOIN member_pseudonym p ON p.iom_id = e.linked_iom_id WHERE e.linked_iom_id IS NOT NULL",
    'pseudo_prison_release': "SELECT p.pseudonym, e.file_id, e.row_no, e.prison_id, e.prison_name, e.release_date, e.release_date_type, e.accommodation_on_release, e.licence_expiry_date, e.local_date, e.event_date, e.event_month, e.link_method, e.linked_with_register_of, e.managing_division, e.reportable, CASE WHEN e.date_of_birth IS NULL OR e.event_date IS NULL OR CAST(e.date_of_birth AS TEXT) = '1900-01-01' THEN NULL WHEN (CAST(SUBSTR(CAST(e.event_date AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(e.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(e.event_date AS TEXT), 6, 5) < SUBSTR(CAST(e.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 18 THEN 'under 18' WHEN (CAST(SUBSTR(CAST(e.event_date AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(e.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(e.event_date AS TEXT), 6, 5) < SUBSTR(CAST(e.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 25 THEN '18-24' WHEN (CAST(SUBSTR(CAST(e.event_date AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(e.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(e.event_date AS TEXT), 6, 5) < SUBSTR(CAST(e.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 35 THEN '25-34' WHEN (CAST(SUBSTR(CAST(e.event_date AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(e.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(e.event_date AS TEXT), 6, 5) < SUBSTR(CAST(e.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 45 THEN '35-44' ELSE '45+' END AS age_band, CASE WHEN LENGTH(e.release_postcode) > 4 THEN SUBSTR(e.release_postcode, 1, LENGTH(e.release_postcode) - 4) END AS release_postcode_district FROM linked_prison_release e LEFT JOIN member_pseudonym p ON p.iom_id = e.linked_iom_id WHERE e.linked_iom_id IS NOT NULL",
    'pseudo_attendance_record': "SELECT p.pseudonym, e.file_id, e.row_no, e.agency, e.record_id, e.record_type, e.event_datetime, e.appointment_type, e.outcome, e.status, e.local_date, e.event_date, e.event_month, e.link_method, e.linked_with_register_of, e.managing_division, e.reportable, CASE WHEN e.date_of_birth IS NULL OR e.event_date IS NULL OR CAST(e.date_of_birth AS TEXT) = '1900-01-01' THEN NULL WHEN (CAST(SUBSTR(CAST(e.event_date AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(e.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(e.event_date AS TEXT), 6, 5) < SUBSTR(CAST(e.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 18 THEN 'under 18' WHEN (CAST(SUBSTR(CAST(e.event_date AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(e.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(e.event_date AS TEXT), 6, 5) < SUBSTR(CAST(e.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 25 THEN '18-24' WHEN (CAST(SUBSTR(CAST(e.event_date AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(e.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(e.event_date AS TEXT), 6, 5) < SUBSTR(CAST(e.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 35 THEN '25-34' WHEN (CAST(SUBSTR(CAST(e.event_date AS TEXT), 1, 4) AS INTEGER) - CAST(SUBSTR(CAST(e.date_of_birth AS TEXT), 1, 4) AS INTEGER) - CASE WHEN SUBSTR(CAST(e.event_date AS TEXT), 6, 5) < SUBSTR(CAST(e.date_of_birth AS TEXT), 6, 5) THEN 1 ELSE 0 END) < 45 THEN '35-44' ELSE '45+' END AS age_band FROM linked_attendance_record e LEFT JOIN member_pseudonym p ON p.iom_id = e.linked_iom_id WHERE e.linked_iom_id IS NOT NULL",
    'pseudo_cjs_location': 'SELECT p.pseudonym, c.started_at, c.ended_at, c.location, c.cause, c.feed, c.file_id, c.row_no, c.as_of FROM cjs_location c LEFT JOIN member_pseudonym p ON p.iom_id = c.iom_id',
    'pseudo_traffic_light': 'SELECT period, division, kpi, period_start, period_end, numerator, denominator, value, rag, report_date FROM traffic_light',
}  # fmt: skip


def _create_tables() -> None:
    op.create_table(
        "member_pseudonym",
        sa.Column("iom_id", sa.String(16), nullable=False),
        sa.Column("pseudonym", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("iom_id", name=op.f("pk_member_pseudonym")),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_member_pseudonym_pseudonym")),
    )
    op.create_table(
        "erased_row",
        sa.Column("feed", sa.String(32), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("erased_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["ingest_file.id"], name=op.f("fk_erased_row_file_id_ingest_file"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("feed", "file_id", "row_no", name=op.f("pk_erased_row")),
    )
    op.create_table(
        "erasure_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("erased_at", sa.DateTime(), nullable=False),
        sa.Column("erased_by", sa.String(128), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_log")),
    )
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )


def upgrade() -> None:
    _create_tables()
    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    for name in reversed(list(VIEWS)):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    for table in ("audit_event", "erasure_log", "erased_row", "member_pseudonym"):
        op.drop_table(table)
