"""SQLAlchemy tables for the record, mapped onto the plain domain classes from outside.

The schema itself is created and changed only by the Alembic migrations in
`records/migrations/`; `metadata` here describes it for the mapper and for the
migration tests that compare the two.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlalchemy.types import DateTime, TypeDecorator, TypeEngine

from backmice.records import domain, stored_json

__all__ = ["TABLES", "CompressedJSON", "UTCDateTime", "map_domain", "metadata"]

metadata = MetaData()
_mapper_registry = registry(metadata=metadata)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamps stored as UTC and always read back timezone-aware (SQLite drops zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


_Json = JSON().with_variant(JSONB(), "postgresql")


class CompressedJSON(TypeDecorator[Any]):
    """JSON kept as a zstd-compressed blob on SQLite and as jsonb on PostgreSQL (which
    compresses large values itself); readers get the same values either way. For
    documents of many kilobytes (stored engine results): see `records/stored_json.py`."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return stored_json.pack(stored_json.dumps(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return stored_json.unpack(value)


_ID = 36  # a UUID as text


def _in(column: str, values: tuple[str, ...]) -> CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=f"ck_{column}_allowed")


patients = Table(
    "patients",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("identifier", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("sex", String(8), nullable=False),
    Column("contact", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column(
        "clinic",
        String(64),
        nullable=False,
        default=domain.DEFAULT_CLINIC,
        server_default=domain.DEFAULT_CLINIC,
        index=True,
    ),
    CheckConstraint("sex IN ('female', 'male', 'other')", name="ck_patients_sex"),
)

nodules = Table(
    "nodules",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("patient_id", String(_ID), ForeignKey("patients.id"), nullable=False, index=True),
    Column("x", Float, nullable=False),
    Column("y", Float, nullable=False),
    Column("side", String(8), nullable=False),
    Column("region", String(32), nullable=False),
    Column("label", String(32), nullable=False, default=""),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("x >= 0 AND x <= 100 AND y >= 0 AND y <= 100", name="ck_nodules_on_map"),
    _in("status", domain.NODULE_STATUSES),
)

nodule_sizes = Table(
    "nodule_sizes",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("nodule_id", String(_ID), ForeignKey("nodules.id"), nullable=False, index=True),
    Column("size_cm", Float, nullable=False),
    Column("measured_at", UTCDateTime, nullable=False),
    CheckConstraint("size_cm > 0 AND size_cm <= 50", name="ck_nodule_sizes_size"),
)

encounters = Table(
    "encounters",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("patient_id", String(_ID), ForeignKey("patients.id"), nullable=False, index=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("clinician", String(200), nullable=False),
    Column("setting", String(32), nullable=False),
)

assessments = Table(
    "assessments",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("patient_id", String(_ID), ForeignKey("patients.id"), nullable=False, index=True),
    Column("encounter_id", String(_ID), ForeignKey("encounters.id")),
    Column("nodule_ids", _Json, nullable=False),
    Column("case", _Json, nullable=False),
    Column("result", CompressedJSON(), nullable=False),
    Column("knowledge_version", String(32), nullable=False),
    Column("assessed_at", UTCDateTime, nullable=False),
)

pain_scores = Table(
    "pain_scores",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("patient_id", String(_ID), ForeignKey("patients.id"), nullable=False),
    Column("nodule_id", String(_ID), ForeignKey("nodules.id")),
    Column("score", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    CheckConstraint("score >= 0 AND score <= 10", name="ck_pain_scores_nrs"),
    _in("kind", domain.PAIN_KINDS),
    Index("ix_pain_scores_patient_time", "patient_id", "recorded_at"),
    Index("ix_pain_scores_nodule", "nodule_id"),
)

injection_tests = Table(
    "injection_tests",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("patient_id", String(_ID), ForeignKey("patients.id"), nullable=False, index=True),
    Column("nodule_id", String(_ID), ForeignKey("nodules.id")),
    Column("encounter_id", String(_ID), ForeignKey("encounters.id")),
    Column("performed_at", UTCDateTime, nullable=False),
    Column("pre_nrs", Integer),
    Column("post_nrs", Integer),
    Column("relief_percent", Float, nullable=False),
    Column("interpretation", String(32), nullable=False),
    Column("minutes_after", Float, nullable=False),
    Column("agent", String(200), nullable=False, default=""),
    Column("volume_ml", Float),
    CheckConstraint("relief_percent >= 0 AND relief_percent <= 100", name="ck_injection_relief"),
)

treatments = Table(
    "treatments",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("patient_id", String(_ID), ForeignKey("patients.id"), nullable=False, index=True),
    Column("nodule_id", String(_ID), ForeignKey("nodules.id")),
    Column("encounter_id", String(_ID), ForeignKey("encounters.id")),
    Column("kind", String(40), nullable=False),
    Column("performed_at", UTCDateTime, nullable=False),
    Column("details", Text, nullable=False, default=""),
    Column("outcome", Text, nullable=False, default=""),
    _in("kind", domain.TREATMENT_KINDS),
)

notes = Table(
    "notes",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("patient_id", String(_ID), ForeignKey("patients.id"), nullable=False, index=True),
    Column("encounter_id", String(_ID), ForeignKey("encounters.id")),
    Column("author", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("written_at", UTCDateTime, nullable=False),
)

outcome_scores = Table(
    "outcome_scores",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("patient_id", String(_ID), ForeignKey("patients.id"), nullable=False),
    Column("nodule_id", String(_ID), ForeignKey("nodules.id")),
    Column("measure", String(24), nullable=False),
    Column("value", Integer, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    _in("measure", domain.OUTCOME_MEASURES),
    CheckConstraint(
        "(measure = 'pgic' AND value BETWEEN 1 AND 7) OR "
        "(measure = 'sitting_tolerance' AND value BETWEEN 0 AND 1440)",
        name="ck_outcome_scores_range",
    ),
    Index("ix_outcome_scores_patient_time", "patient_id", "recorded_at"),
)

plan_decisions = Table(
    "plan_decisions",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("patient_id", String(_ID), ForeignKey("patients.id"), nullable=False),
    Column("nodule_id", String(_ID), ForeignKey("nodules.id")),
    Column("decision", String(8), nullable=False),
    Column("step_id", String(40), nullable=False),
    Column("decided_at", UTCDateTime, nullable=False),
    Column("decided_by", String(200), nullable=False),
    Column("reason_code", String(40)),
    Column("note", Text, nullable=False, default=""),
    Column("review_due", Date),
    _in("decision", domain.PLAN_DECISIONS),
    Index("ix_plan_decisions_patient_time", "patient_id", "decided_at"),
    Index("ix_plan_decisions_review_due", "review_due"),
)

users = Table(
    "users",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255)),
    Column("patient_id", String(_ID), ForeignKey("patients.id")),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column(
        "clinic",
        String(64),
        nullable=False,
        default=domain.DEFAULT_CLINIC,
        server_default=domain.DEFAULT_CLINIC,
    ),
    _in("role", domain.ROLES),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(_ID), ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", String(_ID), primary_key=True),
    Column("username", String(64), nullable=False),
    Column("attempted_at", UTCDateTime, nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Index("ix_login_attempts_username_time", "username", "attempted_at"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(16), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("patient_id", String(_ID), index=True),
    Column("detail", String(500), nullable=False, default=""),
)

#: Domain class -> table, in an order that respects foreign keys.
TABLES: dict[type[Any], Table] = {
    domain.Patient: patients,
    domain.User: users,
    domain.Nodule: nodules,
    domain.NoduleSize: nodule_sizes,
    domain.Encounter: encounters,
    domain.Assessment: assessments,
    domain.PainScore: pain_scores,
    domain.InjectionTest: injection_tests,
    domain.Treatment: treatments,
    domain.Note: notes,
    domain.OutcomeScore: outcome_scores,
    domain.PlanDecision: plan_decisions,
    domain.Session: sessions,
    domain.LoginAttempt: login_attempts,
    domain.AuditEvent: audit_events,
}


def map_domain() -> None:
    """Map every domain class onto its table (once per process; later calls do nothing)."""
    if _mapper_registry.mappers:
        return
    for cls, table in TABLES.items():
        _mapper_registry.map_imperatively(cls, table)
