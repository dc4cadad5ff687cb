"""The clinic record: plain classes, no framework imports.

A patient has nodules, each a point on the posterior body map with its own size
history; encounters group what happened at a visit; assessments store the engine's
input, result and knowledge version; pain scores, injection tests, treatments and
notes hang off the patient (and optionally a nodule or encounter). Audit events are
append-only. SQLAlchemy maps these classes from `records/orm.py`; nothing here
knows it.

Body-map coordinates: the map is the back of the torso seen from behind, x from 0
(the person's left edge) to 100 (right edge), y from 0 (lower ribs) to 100 (upper
thighs); the spine runs along x = 50. `side` is the person's side.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "AUDIT_ACTIONS",
    "DEFAULT_CLINIC",
    "NODULE_STATUSES",
    "OUTCOME_MEASURES",
    "PAIN_KINDS",
    "PLAN_DECISIONS",
    "REGIONS",
    "ROLES",
    "SIDES",
    "TREATMENT_KINDS",
    "Assessment",
    "AuditEvent",
    "Encounter",
    "InjectionTest",
    "LoginAttempt",
    "Nodule",
    "NoduleSize",
    "Note",
    "OutcomeScore",
    "PainScore",
    "Patient",
    "PlanDecision",
    "Session",
    "Treatment",
    "User",
    "new_id",
]

#: Regions of the body map: the assessment format's `location` values.
REGIONS = (
    "posterior_iliac_crest",
    "sacroiliac",
    "lumbosacral",
    "lumbar_paraspinal",
    "buttock",
    "natal_cleft",
    "flank",
    "other",
)
SIDES = ("left", "right", "midline")
NODULE_STATUSES = ("active", "resolved", "excised")
PAIN_KINDS = ("current", "worst", "with_pressure")
ROLES = ("admin", "clinician", "patient")
#: Kinds of treatment: the steps of care the literature describes.
TREATMENT_KINDS = (
    "self_care",
    "injection",
    "repeated_needling",
    "dry_needling",
    "manual_therapy",
    "acupuncture",
    "excision_with_fascial_repair",
    "liposuction",
)
#: Outcome measures besides the NRS: PGIC 1-7, sitting tolerance in minutes.
OUTCOME_MEASURES = ("pgic", "sitting_tolerance")
#: What a clinician can do with the care plan's proposal.
PLAN_DECISIONS = ("accept", "choose", "stop")
#: Every record belongs to a clinic; a single-clinic installation uses this one.
DEFAULT_CLINIC = "main"
AUDIT_ACTIONS = (
    "read",
    "create",
    "update",
    "export",
    "import",
    "backup",
    "restore",
    "login",
    "logout",
    "dismiss",
)

Sex = Literal["female", "male", "other"]


def new_id() -> str:
    """A new random identifier (UUID4, as text)."""
    return str(uuid.uuid4())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(eq=False)
class Patient:
    """A person under care. Minimal identifying data: what a clinic needs to find them."""

    identifier: str  # the clinic's own record number, unique
    name: str
    birth_date: dt.date
    sex: str
    contact: str | None = None
    id: str = field(default_factory=new_id)
    created_at: dt.datetime = field(default_factory=_now)
    clinic: str = DEFAULT_CLINIC  # whose clinicians may see this record


@dataclass(eq=False)
class Nodule:
    """One nodule: a point on the body map, with a status."""

    patient_id: str
    x: float
    y: float
    side: str
    region: str
    label: str = ""
    status: str = "active"
    id: str = field(default_factory=new_id)
    created_at: dt.datetime = field(default_factory=_now)
    updated_at: dt.datetime = field(default_factory=_now)


@dataclass(eq=False)
class NoduleSize:
    """One measurement of a nodule's largest diameter."""

    nodule_id: str
    size_cm: float
    measured_at: dt.datetime
    id: str = field(default_factory=new_id)


@dataclass(eq=False)
class Encounter:
    """A visit: when, who saw the person, and in which setting."""

    patient_id: str
    occurred_at: dt.datetime
    clinician: str
    setting: str = "primary_care"
    id: str = field(default_factory=new_id)


@dataclass(eq=False)
class Assessment:
    """An engine assessment: its input case, full result and knowledge version."""

    patient_id: str
    case: dict[str, Any]
    result: dict[str, Any]
    knowledge_version: str
    assessed_at: dt.datetime
    encounter_id: str | None = None
    nodule_ids: list[str] = field(default_factory=list)
    id: str = field(default_factory=new_id)


@dataclass(eq=False)
class PainScore:
    """A 0-10 numeric rating of pain, overall or for one nodule."""

    patient_id: str
    score: int
    kind: str
    recorded_at: dt.datetime
    nodule_id: str | None = None
    id: str = field(default_factory=new_id)


@dataclass(eq=False)
class InjectionTest:
    """A diagnostic local-anaesthetic injection and the relief it gave."""

    patient_id: str
    performed_at: dt.datetime
    relief_percent: float
    interpretation: str
    minutes_after: float
    pre_nrs: int | None = None
    post_nrs: int | None = None
    agent: str = ""
    volume_ml: float | None = None
    nodule_id: str | None = None
    encounter_id: str | None = None
    id: str = field(default_factory=new_id)


@dataclass(eq=False)
class Treatment:
    """A treatment given, with its outcome once known."""

    patient_id: str
    kind: str
    performed_at: dt.datetime
    details: str = ""
    outcome: str = ""
    nodule_id: str | None = None
    encounter_id: str | None = None
    id: str = field(default_factory=new_id)


@dataclass(eq=False)
class OutcomeScore:
    """A patient-reported outcome other than pain: PGIC (1-7) or sitting tolerance (minutes)."""

    patient_id: str
    measure: str
    value: int
    recorded_at: dt.datetime
    nodule_id: str | None = None
    id: str = field(default_factory=new_id)


@dataclass(eq=False)
class PlanDecision:
    """A clinician's decision on the care plan: accept the proposed step, choose another
    (with a coded reason), or stop; accepting or choosing schedules the step's review."""

    patient_id: str
    decision: str
    step_id: str
    decided_at: dt.datetime
    decided_by: str
    reason_code: str | None = None
    note: str = ""
    review_due: dt.date | None = None
    nodule_id: str | None = None
    id: str = field(default_factory=new_id)


@dataclass(eq=False)
class Note:
    """A free-text clinical note."""

    patient_id: str
    author: str
    text: str
    written_at: dt.datetime
    encounter_id: str | None = None
    id: str = field(default_factory=new_id)


@dataclass(eq=False)
class User:
    """Someone who uses backmice: an admin, a clinician, or a patient (linked to a record)."""

    username: str
    display_name: str
    role: str
    password_hash: str | None = None
    patient_id: str | None = None
    active: bool = True
    id: str = field(default_factory=new_id)
    created_at: dt.datetime = field(default_factory=_now)
    clinic: str = DEFAULT_CLINIC


@dataclass(eq=False)
class Session:
    """A signed-in browser. `id` is the SHA-256 of the cookie's token, never the token
    itself; `csrf_token` must come back with every form and unsafe API call."""

    id: str
    user_id: str
    csrf_token: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime


@dataclass(eq=False)
class LoginAttempt:
    """One attempt to sign in (for lock-out), kept whether or not the name exists."""

    username: str
    attempted_at: dt.datetime
    succeeded: bool
    id: str = field(default_factory=new_id)


@dataclass(eq=False)
class AuditEvent:
    """Who did what to which record, when. Append-only; never holds clinical content."""

    actor: str
    action: str
    entity: str
    entity_id: str
    patient_id: str | None
    occurred_at: dt.datetime = field(default_factory=_now)
    detail: str = ""
    id: int | None = None
