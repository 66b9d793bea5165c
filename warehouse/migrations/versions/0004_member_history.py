"""member_history and member: the register as SCD type 2 history (warehouse/history.py)

The views' SQL is frozen here as warehouse/history.py wrote it; tests/test_migrations.py
checks the two still agree.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MEMBER_HISTORY = "WITH snaps AS (SELECT id, file_date, ROW_NUMBER() OVER (ORDER BY file_date) AS seq, LEAD(file_date) OVER (ORDER BY file_date) AS next_date FROM (SELECT id, file_date FROM (SELECT f.id, f.file_date, ROW_NUMBER() OVER (PARTITION BY f.file_date ORDER BY CASE WHEN lower(f.name) LIKE '%.csv' THEN 0 ELSE 1 END, f.file_time, f.name) AS rn FROM ingest_file f WHERE f.feed = 'cohort' AND f.is_current AND f.status = 'LOADED' AND f.file_date IS NOT NULL) s WHERE rn = 1) s), present AS (SELECT m.iom_id, s.seq, s.file_date, s.next_date, m.surname, m.forenames, m.date_of_birth, m.gender, m.pnc_id, m.cro_number, m.niche_nominal_id, m.noms_number, m.crn, m.yos_ref, m.postcode, m.managing_division, m.cohort_type, m.strand, m.status, m.nominated_by, m.case_manager_agency, m.risk_level, m.selected_on, m.deselected_on, m.deselection_reason, m.support_plan_agreed_on, m.next_review_due, COALESCE(CAST(m.surname AS TEXT), '') || '|' || COALESCE(CAST(m.forenames AS TEXT), '') || '|' || COALESCE(CAST(m.date_of_birth AS TEXT), '') || '|' || COALESCE(CAST(m.gender AS TEXT), '') || '|' || COALESCE(CAST(m.pnc_id AS TEXT), '') || '|' || COALESCE(CAST(m.cro_number AS TEXT), '') || '|' || COALESCE(CAST(m.niche_nominal_id AS TEXT), '') || '|' || COALESCE(CAST(m.noms_number AS TEXT), '') || '|' || COALESCE(CAST(m.crn AS TEXT), '') || '|' || COALESCE(CAST(m.yos_ref AS TEXT), '') || '|' || COALESCE(CAST(m.postcode AS TEXT), '') || '|' || COALESCE(CAST(m.managing_division AS TEXT), '') || '|' || COALESCE(CAST(m.cohort_type AS TEXT), '') || '|' || COALESCE(CAST(m.strand AS TEXT), '') || '|' || COALESCE(CAST(m.status AS TEXT), '') || '|' || COALESCE(CAST(m.nominated_by AS TEXT), '') || '|' || COALESCE(CAST(m.case_manager_agency AS TEXT), '') || '|' || COALESCE(CAST(m.risk_level AS TEXT), '') || '|' || COALESCE(CAST(m.selected_on AS TEXT), '') || '|' || COALESCE(CAST(m.deselected_on AS TEXT), '') || '|' || COALESCE(CAST(m.deselection_reason AS TEXT), '') || '|' || COALESCE(CAST(m.support_plan_agreed_on AS TEXT), '') || '|' || COALESCE(CAST(m.next_review_due AS TEXT), '') AS attr_key FROM cohort_member m JOIN snaps s ON s.id = m.file_id), marked AS (SELECT p.*, CASE WHEN LAG(seq) OVER w = seq - 1 AND LAG(attr_key) OVER w = attr_key THEN 0 ELSE 1 END AS starts FROM present p WINDOW w AS (PARTITION BY iom_id ORDER BY seq)), numbered AS (SELECT m.*, SUM(starts) OVER (PARTITION BY iom_id ORDER BY seq ROWS UNBOUNDED PRECEDING) AS interval_no FROM marked m) SELECT iom_id, MIN(file_date) AS valid_from, CASE WHEN MAX(seq) = (SELECT MAX(seq) FROM snaps) THEN NULL ELSE MAX(next_date) END AS valid_to, COUNT(*) AS snapshots, MIN(surname) AS surname, MIN(forenames) AS forenames, MIN(date_of_birth) AS date_of_birth, MIN(gender) AS gender, MIN(pnc_id) AS pnc_id, MIN(cro_number) AS cro_number, MIN(niche_nominal_id) AS niche_nominal_id, MIN(noms_number) AS noms_number, MIN(crn) AS crn, MIN(yos_ref) AS yos_ref, MIN(postcode) AS postcode, MIN(managing_division) AS managing_division, MIN(cohort_type) AS cohort_type, MIN(strand) AS strand, MIN(status) AS status, MIN(nominated_by) AS nominated_by, MIN(case_manager_agency) AS case_manager_agency, MIN(risk_level) AS risk_level, MIN(selected_on) AS selected_on, MIN(deselected_on) AS deselected_on, MIN(deselection_reason) AS deselection_reason, MIN(support_plan_agreed_on) AS support_plan_agreed_on, MIN(next_review_due) AS next_review_due FROM numbered GROUP BY iom_id, interval_no"
MEMBER = 'SELECT * FROM member_history WHERE valid_to IS NULL'


def upgrade() -> None:
    op.execute("CREATE VIEW member_history AS " + MEMBER_HISTORY)
    op.execute("CREATE VIEW member AS " + MEMBER)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS member")
    op.execute("DROP VIEW IF EXISTS member_history")
