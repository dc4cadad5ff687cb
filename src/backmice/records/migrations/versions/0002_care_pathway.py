"""Care pathway: outcome scores (PGIC, sitting tolerance) and clinicians' plan decisions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = 36


def upgrade() -> None:
    op.create_table(
        "outcome_scores",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("patient_id", sa.String(ID), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("nodule_id", sa.String(ID), sa.ForeignKey("nodules.id")),
        sa.Column("measure", sa.String(24), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("measure IN ('pgic', 'sitting_tolerance')", name="ck_measure_allowed"),
        sa.CheckConstraint(
            "(measure = 'pgic' AND value BETWEEN 1 AND 7) OR "
            "(measure = 'sitting_tolerance' AND value BETWEEN 0 AND 1440)",
            name="ck_outcome_scores_range",
        ),
    )
    op.create_index(
        "ix_outcome_scores_patient_time", "outcome_scores", ["patient_id", "recorded_at"]
    )
    op.create_table(
        "plan_decisions",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("patient_id", sa.String(ID), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("nodule_id", sa.String(ID), sa.ForeignKey("nodules.id")),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("step_id", sa.String(40), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("reason_code", sa.String(40)),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("review_due", sa.Date()),
        sa.CheckConstraint("decision IN ('accept', 'choose', 'stop')", name="ck_decision_allowed"),
    )
    op.create_index(
        "ix_plan_decisions_patient_time", "plan_decisions", ["patient_id", "decided_at"]
    )
    op.create_index("ix_plan_decisions_review_due", "plan_decisions", ["review_due"])


def downgrade() -> None:
    op.drop_index("ix_plan_decisions_review_due", table_name="plan_decisions")
    op.drop_index("ix_plan_decisions_patient_time", table_name="plan_decisions")
    op.drop_table("plan_decisions")
    op.drop_index("ix_outcome_scores_patient_time", table_name="outcome_scores")
    op.drop_table("outcome_scores")
