"""Who is asking, and what they may see: the one place permissions are decided.

Routes declare what they need (`Depends(clinician)`, `Depends(patient_access)`,
`Depends(csrf)`) and never check roles or ownership themselves.

Policy:
* a **clinician** sees the patients of their own clinic;
* a **patient** sees only their own record;
* an **admin** manages accounts and sees no clinical record.

A record the user may not see answers 404, exactly like one that does not exist, so
the answer reveals nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from backmice.engine import Engine
from backmice.errors import NotAllowed, RecordNotFound
from backmice.records import domain
from backmice.records.services import accounts
from backmice.records.store import RecordStore
from backmice.web.security import COOKIE

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "NotSignedIn",
    "Principal",
    "admin",
    "clinician",
    "csrf",
    "engine",
    "may_see_patient",
    "nodule_access",
    "optional_principal",
    "own_patient",
    "patient_access",
    "patient_user",
    "signed_in",
    "store",
]

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class NotSignedIn(Exception):
    """No valid session: pages redirect to the sign-in page, the API answers 401."""


class CsrfRejected(Exception):
    """An unsafe request without this session's CSRF token: answered 403."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in user and their session."""

    user: domain.User
    session: domain.Session
    token: str

    @property
    def actor(self) -> str:
        """How the audit trail names this user."""
        return f"web:{self.user.username}"

    @property
    def role(self) -> str:
        return self.user.role


def store(request: Request) -> RecordStore:
    return request.app.state.store  # type: ignore[no-any-return]


def engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


async def optional_principal(request: Request) -> Principal | None:
    """The signed-in user, or None (cached on the request).

    The session is checked against the database on every request, so a sign-out or a
    deactivation counts at once, in every worker: in one read-only query
    (`RecordStore.session_and_user`; through a unit of work it was over half the cost
    of an assessment call). Only a session that has ended or is due its once-a-minute
    touch takes a write, through `accounts.session_user`. On SQLite the read is a call
    into the library that takes no lock, cheaper than handing it to a thread, so it
    runs here; on PostgreSQL it is a round trip over the network, so it waits in the
    thread pool as sync routes do. Dependencies that decide nothing from the database
    are `async` for the same reason: a sync one costs a thread hop.
    """
    if hasattr(request.state, "principal"):
        return request.state.principal  # type: ignore[no-any-return]
    token = request.cookies.get(COOKIE, "")
    found = await _session_user(request, token) if token else None
    principal = None if found is None else Principal(found[0], found[1], token)
    request.state.principal = principal
    return principal


async def _session_user(request: Request, token: str) -> tuple[domain.User, domain.Session] | None:
    records = store(request)
    session_id = accounts.session_id_of(token)
    if session_id is None:
        return None
    if request.app.state.reads_in_loop:
        found = records.session_and_user(session_id)
    else:
        found = await run_in_threadpool(records.session_and_user, session_id)
    lookup = accounts.judge_session(found)
    if not lookup.needs_write:
        return lookup.found
    return await run_in_threadpool(records.run, lambda uow: accounts.session_user(uow, token))


async def signed_in(request: Request) -> Principal:
    """The signed-in user, or `NotSignedIn`.

    This and the checks below call each other directly rather than through `Depends`:
    FastAPI spends more time solving each level of a dependency tree than these
    checks take, and the principal is cached on the request either way.
    """
    principal = await optional_principal(request)
    if principal is None:
        raise NotSignedIn
    return principal


def _role(*roles: str) -> Callable[[Request], Awaitable[Principal]]:
    async def check(request: Request) -> Principal:
        principal = await signed_in(request)
        if principal.role not in roles:
            raise NotAllowed(f"this page is for {' or '.join(roles)} accounts")
        return principal

    return check


clinician = _role("clinician")
patient_user = _role("patient")
admin = _role("admin")
clinician_or_patient = _role("clinician", "patient")


async def csrf(request: Request) -> Principal:
    """Unsafe requests must carry this session's CSRF token (form field or header)."""
    principal = await signed_in(request)
    if request.method in _UNSAFE:
        offered = request.headers.get(CSRF_HEADER)
        if offered is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            offered = value if isinstance(value, str) else None
        if not accounts.csrf_matches(principal.session, offered):
            raise CsrfRejected
    return principal


def may_see_patient(user: domain.User, patient: domain.Patient) -> bool:
    """The whole access policy for clinical records."""
    if user.role == "clinician":
        return patient.clinic == user.clinic
    if user.role == "patient":
        return user.patient_id == patient.id
    return False


def patient_access(
    patient_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(signed_in)],
) -> domain.Patient:
    """The patient named in the path, if this user may see them; otherwise 404. (Only
    a read: the route's service call audits the access.)"""
    patient = store(request).read(lambda uow: uow.patients.get(patient_id))
    if patient is None or not may_see_patient(principal.user, patient):
        raise RecordNotFound(f"patient {patient_id!r} does not exist")
    return patient


def own_patient(
    request: Request, principal: Annotated[Principal, Depends(patient_user)]
) -> domain.Patient:
    """A patient account's own record."""
    patient_id = principal.user.patient_id or ""
    patient = store(request).read(lambda uow: uow.patients.get(patient_id))
    if patient is None:
        raise RecordNotFound("this account's record does not exist")
    return patient


def nodule_access(
    nodule_id: str,
    request: Request,
    patient: Annotated[domain.Patient, Depends(patient_access)],
) -> domain.Nodule:
    """A nodule named in the path that belongs to the patient in the path."""
    nodule = store(request).read(lambda uow: uow.nodules.get(nodule_id))
    if nodule is None or nodule.patient_id != patient.id:
        raise RecordNotFound(f"nodule {nodule_id!r} does not exist")
    return nodule
