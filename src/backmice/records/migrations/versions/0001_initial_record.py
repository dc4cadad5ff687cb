"""The first schema of the clinic record, with an append-only audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = 36
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _when(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=f"ck_{column}_allowed")


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("identifier", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(8), nullable=False),
        sa.Column("contact", sa.String(200)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("sex IN ('female', 'male', 'other')", name="ck_patients_sex"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("patient_id", sa.String(ID), sa.ForeignKey("patients.id")),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _when("role", ("admin", "clinician", "patient")),
    )
    op.create_table(
        "nodules",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("patient_id", sa.String(ID), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("x >= 0 AND x <= 100 AND y >= 0 AND y <= 100", name="ck_nodules_on_map"),
        _when("status", ("active", "resolved", "excised")),
    )
    op.create_index("ix_nodules_patient_id", "nodules", ["patient_id"])
    op.create_table(
        "nodule_sizes",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("nodule_id", sa.String(ID), sa.ForeignKey("nodules.id"), nullable=False),
        sa.Column("size_cm", sa.Float(), nullable=False),
        sa.Column("measured_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("size_cm > 0 AND size_cm <= 50", name="ck_nodule_sizes_size"),
    )
    op.create_index("ix_nodule_sizes_nodule_id", "nodule_sizes", ["nodule_id"])
    op.create_table(
        "encounters",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("patient_id", sa.String(ID), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("clinician", sa.String(200), nullable=False),
        sa.Column("setting", sa.String(32), nullable=False),
    )
    op.create_index("ix_encounters_patient_id", "encounters", ["patient_id"])
    op.create_table(
        "assessments",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("patient_id", sa.String(ID), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("encounter_id", sa.String(ID), sa.ForeignKey("encounters.id")),
        sa.Column("nodule_ids", JSON, nullable=False),
        sa.Column("case", JSON, nullable=False),
        sa.Column("result", JSON, nullable=False),
        sa.Column("knowledge_version", sa.String(32), nullable=False),
        sa.Column("assessed_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_assessments_patient_id", "assessments", ["patient_id"])
    op.create_table(
        "pain_scores",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("patient_id", sa.String(ID), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("nodule_id", sa.String(ID), sa.ForeignKey("nodules.id")),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("score >= 0 AND score <= 10", name="ck_pain_scores_nrs"),
        _when("kind", ("current", "worst", "with_pressure")),
    )
    op.create_index("ix_pain_scores_patient_time", "pain_scores", ["patient_id", "recorded_at"])
    op.create_index("ix_pain_scores_nodule", "pain_scores", ["nodule_id"])
    op.create_table(
        "injection_tests",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("patient_id", sa.String(ID), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("nodule_id", sa.String(ID), sa.ForeignKey("nodules.id")),
        sa.Column("encounter_id", sa.String(ID), sa.ForeignKey("encounters.id")),
        sa.Column("performed_at", sa.DateTime(), nullable=False),
        sa.Column("pre_nrs", sa.Integer()),
        sa.Column("post_nrs", sa.Integer()),
        sa.Column("relief_percent", sa.Float(), nullable=False),
        sa.Column("interpretation", sa.String(32), nullable=False),
        sa.Column("minutes_after", sa.Float(), nullable=False),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("volume_ml", sa.Float()),
        sa.CheckConstraint(
            "relief_percent >= 0 AND relief_percent <= 100", name="ck_injection_relief"
        ),
    )
    op.create_index("ix_injection_tests_patient_id", "injection_tests", ["patient_id"])
    op.create_table(
        "treatments",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("patient_id", sa.String(ID), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("nodule_id", sa.String(ID), sa.ForeignKey("nodules.id")),
        sa.Column("encounter_id", sa.String(ID), sa.ForeignKey("encounters.id")),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("performed_at", sa.DateTime(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        _when(
            "kind",
            (
                "self_care",
                "injection",
                "repeated_needling",
                "dry_needling",
                "manual_therapy",
                "acupuncture",
                "excision_with_fascial_repair",
                "liposuction",
            ),
        ),
    )
    op.create_index("ix_treatments_patient_id", "treatments", ["patient_id"])
    op.create_table(
        "notes",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("patient_id", sa.String(ID), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("encounter_id", sa.String(ID), sa.ForeignKey("encounters.id")),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("written_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_notes_patient_id", "notes", ["patient_id"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(ID)),
        sa.Column("detail", sa.String(500), nullable=False),
    )
    op.create_index("ix_audit_events_patient_id", "audit_events", ["patient_id"])
    _protect_audit()


def _protect_audit() -> None:
    """The database itself refuses to change or remove an audit event."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    for table in (
        "audit_events",
        "notes",
        "treatments",
        "injection_tests",
        "pain_scores",
        "assessments",
        "encounters",
        "nodule_sizes",
        "nodules",
        "users",
        "patients",
    ):
        op.drop_table(table)
