"""Accounts: users with roles, argon2 password hashes, sign-in with lock-out, and
server-side sessions.

A session's token lives only in the browser's cookie; the database keeps its SHA-256,
so a copy of the database cannot be used to sign in. Every sign-in makes a new token
(no session fixation). After `LOCK_AFTER` failed attempts for one name within
`LOCK_WINDOW`, that name is locked for `LOCK_WINDOW` whether or not it exists, and the
message is the same either way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from backmice.errors import InvalidRecord, Problem, RecordConflict, RecordNotFound, SignInRefused
from backmice.records import domain
from backmice.records.services._checks import audit, check_choice, check_text, now
from backmice.records.unit_of_work import AbstractUnitOfWork

__all__ = [
    "IDLE_TIMEOUT",
    "LOCK_AFTER",
    "LOCK_WINDOW",
    "MIN_PASSWORD_LENGTH",
    "SESSION_LIFETIME",
    "TOUCH_EVERY",
    "SessionLookup",
    "SignedIn",
    "create_clinic_user",
    "create_user",
    "csrf_matches",
    "end_session",
    "has_accounts",
    "judge_session",
    "list_users",
    "look_up_session",
    "session_id_of",
    "session_user",
    "set_active",
    "sign_in",
]

MIN_PASSWORD_LENGTH = 12
LOCK_AFTER = 5
LOCK_WINDOW = dt.timedelta(minutes=15)
IDLE_TIMEOUT = dt.timedelta(minutes=30)
#: How stale `last_seen_at` may be before a request writes it again (not on every one).
TOUCH_EVERY = dt.timedelta(minutes=1)
SESSION_LIFETIME = dt.timedelta(hours=12)

_HASHER = PasswordHasher()
#: Verified against when the name is unknown, so both paths take the same time.
_DUMMY_HASH = _HASHER.hash("backmice: no such user")


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    uow: AbstractUnitOfWork,
    actor: str,
    *,
    username: str,
    display_name: str,
    role: str,
    password: str,
    patient_id: str | None = None,
    clinic: str = domain.DEFAULT_CLINIC,
) -> domain.User:
    """A new account. A patient account is linked to that patient's record."""
    problems = _account_problems(username, display_name, role, password, clinic)
    if role == "patient" and patient_id is None:
        problems.append(Problem("patient", "a patient account needs the patient's record id"))
    if role != "patient" and patient_id is not None:
        problems.append(Problem("patient", f"only a patient account links to a record ({role})"))
    if problems:
        raise InvalidRecord(problems)
    if patient_id is not None:
        patient = uow.patients.get(patient_id)
        if patient is None:
            raise InvalidRecord([Problem("patient", f"{patient_id!r} does not exist")])
        clinic = patient.clinic
    if uow.users.where(username=username):
        raise RecordConflict(f"username: {username!r} is taken")
    user = domain.User(
        username=username,
        display_name=display_name.strip(),
        role=role,
        password_hash=_HASHER.hash(password),
        patient_id=patient_id,
        clinic=clinic,
    )
    uow.users.add(user)
    audit(uow, actor, "create", "user", user.id, patient_id, f"role={role}")
    uow.commit()
    return user


def _account_problems(
    username: object, display_name: object, role: object, password: object, clinic: object
) -> list[Problem]:
    """What is wrong with a new account's fields (the password is never echoed)."""
    problems: list[Problem] = []
    check_text(username, "username", problems, 64)
    check_text(display_name, "display_name", problems, 200)
    check_text(clinic, "clinic", problems, 64)
    check_choice(role, "role", domain.ROLES, problems)
    if isinstance(username, str) and username.strip() != username:
        problems.append(Problem("username", "has spaces at the start or end"))
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        problems.append(Problem("password", f"is shorter than {MIN_PASSWORD_LENGTH} characters"))
    return problems


def create_clinic_user(
    uow: AbstractUnitOfWork,
    actor: str,
    *,
    clinic: str,
    username: str,
    display_name: str,
    role: str,
    password: str,
    patient_identifier: str = "",
) -> domain.User:
    """An administrator creates an account in their own clinic. A patient account names
    the patient by the clinic's record number, which must be a record of that clinic;
    every problem with the fields is reported at once, and nothing is written."""
    problems = _account_problems(username, display_name, role, password, clinic)
    identifier = patient_identifier.strip() if isinstance(patient_identifier, str) else ""
    patient_id = None
    if role == "patient":
        found = [p for p in uow.patients.where(identifier=identifier) if p.clinic == clinic]
        if not identifier:
            problems.append(
                Problem(
                    "patient_identifier", "'' is empty; a patient account needs a record number"
                )
            )
        elif not found:
            problems.append(
                Problem(
                    "patient_identifier",
                    f"{identifier!r} is not a record number of clinic {clinic!r}",
                )
            )
        else:
            patient_id = found[0].id
    elif identifier:
        problems.append(
            Problem(
                "patient_identifier",
                f"{identifier!r}: only a patient account links to a record (this is {role!r})",
            )
        )
    if problems:
        raise InvalidRecord(problems)
    return create_user(
        uow,
        actor,
        username=username,
        display_name=display_name,
        role=role,
        password=password,
        patient_id=patient_id,
        clinic=clinic,
    )


def list_users(uow: AbstractUnitOfWork, actor: str, clinic: str) -> list[domain.User]:
    """The accounts of one clinic, by role then username (the read is audited; accounts
    hold no clinical data)."""
    users = sorted(uow.users.where(clinic=clinic), key=lambda u: (u.role, u.username))
    audit(uow, actor, "read", "users", "-", None, f"shown={len(users)}")
    uow.commit()
    return users


def set_active(
    uow: AbstractUnitOfWork,
    actor: str,
    user_id: str,
    active: bool,
    *,
    clinic: str,
    by_user_id: str | None = None,
) -> domain.User:
    """Reactivate or deactivate an account of `clinic`. Deactivating ends every session
    of the account at once; nobody can deactivate their own account (`by_user_id`), so a
    clinic cannot lock out its last administrator by a slip. An account of another
    clinic is answered like one that does not exist."""
    if not isinstance(active, bool):
        raise InvalidRecord([Problem("active", f"{active!r} is not true or false")])
    user = uow.users.get(user_id)
    if user is None or user.clinic != clinic:
        raise RecordNotFound(f"user {user_id!r} does not exist")
    if not active and user.id == by_user_id:
        raise InvalidRecord([Problem("user", "you cannot deactivate your own account")])
    user.active = active
    if not active:
        for session in uow.sessions.where(user_id=user.id):
            uow.sessions.delete(session)
    audit(uow, actor, "update", "user", user.id, user.patient_id, f"active={str(active).lower()}")
    uow.commit()
    return user


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: the token for the cookie (shown once) and the CSRF token."""

    user: domain.User
    token: str
    csrf_token: str


def _locked(uow: AbstractUnitOfWork, username: str, at: dt.datetime) -> bool:
    recent = [
        a for a in uow.login_attempts.where(username=username) if a.attempted_at > at - LOCK_WINDOW
    ]
    recent.sort(key=lambda a: a.attempted_at)
    failures = 0
    for attempt in recent:  # failures since the last success
        failures = 0 if attempt.succeeded else failures + 1
    return failures >= LOCK_AFTER


def sign_in(
    uow: AbstractUnitOfWork,
    username: str,
    password: str,
    *,
    replacing: str | None = None,
    at: dt.datetime | None = None,
) -> SignedIn:
    """Check the password and open a new session (ending `replacing`, the session the
    browser had before, if any). Raises `SignInRefused` with one message for a wrong
    name, a wrong password, an inactive account or a lock-out."""
    when = at or now()
    name = username if isinstance(username, str) else ""
    name = name[:64]
    if _locked(uow, name, when):
        uow.login_attempts.add(domain.LoginAttempt(name, when, False))
        audit(uow, f"web:{name}", "login", "user", "-", None, "locked")
        uow.commit()
        minutes = int(LOCK_WINDOW.total_seconds() // 60)
        raise SignInRefused(
            f"too many failed sign-ins: this account is locked for up to {minutes} minutes"
        )
    found = uow.users.where(username=name)
    user = found[0] if found else None
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    ok: bool
    try:
        ok = _HASHER.verify(stored, password if isinstance(password, str) else "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if user is None or not user.active or not user.password_hash:
        ok = False
    uow.login_attempts.add(domain.LoginAttempt(name, when, ok))
    if not ok or user is None:
        audit(uow, f"web:{name}", "login", "user", "-", None, "failed")
        uow.commit()
        raise SignInRefused("the username or password is not right")
    if replacing is not None:
        _drop(uow, replacing)
    token = secrets.token_urlsafe(32)
    session = domain.Session(
        id=_token_id(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=when,
        last_seen_at=when,
        expires_at=when + SESSION_LIFETIME,
    )
    uow.sessions.add(session)
    if _HASHER.check_needs_rehash(user.password_hash or ""):
        user.password_hash = _HASHER.hash(password)
    audit(uow, f"web:{user.username}", "login", "user", user.id, user.patient_id, "ok")
    uow.commit()
    return SignedIn(user, token, session.csrf_token)


def _drop(uow: AbstractUnitOfWork, token: str) -> None:
    session = uow.sessions.get(_token_id(token))
    if session is not None:
        uow.sessions.delete(session)


def _ended(session: domain.Session, when: dt.datetime) -> bool:
    return when >= session.expires_at or when - session.last_seen_at >= IDLE_TIMEOUT


def _due_a_touch(session: domain.Session, when: dt.datetime) -> bool:
    return when - session.last_seen_at > TOUCH_EVERY


def session_user(
    uow: AbstractUnitOfWork, token: str, at: dt.datetime | None = None
) -> tuple[domain.User, domain.Session] | None:
    """The signed-in user of a cookie's token, or None when it is unknown, expired or
    idle too long (then the session is removed). Touches `last_seen_at`."""
    if not token or len(token) > 200:
        return None
    when = at or now()
    session = uow.sessions.get(_token_id(token))
    if session is None:
        return None
    if _ended(session, when):
        uow.sessions.delete(session)
        uow.commit()
        return None
    user = uow.users.get(session.user_id)
    if user is None or not user.active:
        uow.sessions.delete(session)
        uow.commit()
        return None
    if _due_a_touch(session, when):  # not on every request
        session.last_seen_at = when
        uow.commit()
    return user, session


@dataclass(frozen=True, slots=True)
class SessionLookup:
    """What a read-only session check found, without writing anything."""

    #: The user and session, when the session is valid and needs no write.
    found: tuple[domain.User, domain.Session] | None
    #: The session exists but must be ended or touched: run `session_user` in a unit of
    #: work that may write, which decides again.
    needs_write: bool


def session_id_of(token: str) -> str | None:
    """The id the database keeps for a cookie's token (its SHA-256), or None for a value
    that cannot be a token."""
    if not token or not isinstance(token, str) or len(token) > 200:
        return None
    return _token_id(token)


def judge_session(
    found: tuple[domain.Session, domain.User | None] | None, at: dt.datetime | None = None
) -> SessionLookup:
    """`session_user`'s decision about a session and its user as read (by
    `look_up_session`, or in one query by the web app), without writing: the same answer
    for a session that is valid and was seen within `TOUCH_EVERY`, which is nearly every
    request; otherwise `needs_write` (it has ended, its user is gone or inactive, or it
    is due a touch), and the caller runs `session_user` to end or touch it."""
    if found is None:
        return SessionLookup(None, needs_write=False)
    session, user = found
    when = at or now()
    if _ended(session, when) or user is None or not user.active or _due_a_touch(session, when):
        return SessionLookup(None, needs_write=True)
    return SessionLookup((user, session), needs_write=False)


def look_up_session(
    uow: AbstractUnitOfWork, token: str, at: dt.datetime | None = None
) -> SessionLookup:
    """`judge_session` over what a unit of work reads; writes nothing."""
    session_id = session_id_of(token)
    session = None if session_id is None else uow.sessions.get(session_id)
    if session is None:
        return SessionLookup(None, needs_write=False)
    return judge_session((session, uow.users.get(session.user_id)), at)


def end_session(uow: AbstractUnitOfWork, token: str) -> None:
    """Sign out: the session is deleted; the cookie's token means nothing any more."""
    session = uow.sessions.get(_token_id(token))
    if session is None:
        return
    user = uow.users.get(session.user_id)
    uow.sessions.delete(session)
    if user is not None:
        audit(uow, f"web:{user.username}", "logout", "user", user.id, user.patient_id)
    uow.commit()


def csrf_matches(session: domain.Session, offered: str | None) -> bool:
    """Whether a form's or header's CSRF token is this session's (constant time)."""
    return bool(offered) and hmac.compare_digest(session.csrf_token, str(offered))


def has_accounts(uow: AbstractUnitOfWork) -> bool:
    """Whether any account exists yet (first run: none). Reads no record, so no audit."""
    return bool(uow.users.where())
