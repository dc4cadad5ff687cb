"""Accounts on fakes: passwords hashed with argon2, sign-in, lock-out, sessions."""

from __future__ import annotations

import datetime as dt

import pytest

from backmice.errors import InvalidRecord, RecordConflict, RecordNotFound, SignInRefused
from backmice.records import domain
from backmice.records.services import accounts as a
from backmice.records.unit_of_work import FakeUnitOfWork

T0 = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery"


def clinician(uow: FakeUnitOfWork, name: str = "dr.a") -> domain.User:
    return a.create_user(
        uow, "cli:admin", username=name, display_name="Dr A", role="clinician", password=PASSWORD
    )


def test_a_password_is_stored_only_as_an_argon2_hash() -> None:
    uow = FakeUnitOfWork()
    user = clinician(uow)
    assert user.password_hash and user.password_hash.startswith("$argon2")
    assert PASSWORD not in user.password_hash


def test_a_short_password_and_a_taken_name_are_refused_without_echoing_the_password() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(InvalidRecord, match=r"password: is shorter than 12") as caught:
        a.create_user(
            uow, "cli", username="x", display_name="X", role="clinician", password="secret1"
        )
    assert "secret1" not in str(caught.value)
    clinician(uow)
    with pytest.raises(RecordConflict, match="taken"):
        clinician(uow)


def test_a_patient_account_must_link_to_an_existing_record() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(InvalidRecord, match=r"patient: a patient account needs"):
        a.create_user(uow, "cli", username="p", display_name="P", role="patient", password=PASSWORD)
    with pytest.raises(InvalidRecord, match=r"patient: 'nobody' does not exist"):
        a.create_user(
            uow, "cli", username="p", display_name="P", role="patient", password=PASSWORD,
            patient_id="nobody",
        )  # fmt: skip


def test_signing_in_opens_a_session_found_by_its_token_only() -> None:
    uow = FakeUnitOfWork()
    user = clinician(uow)
    signed = a.sign_in(uow, "dr.a", PASSWORD, at=T0)
    assert signed.user.id == user.id
    [session] = uow.sessions.items.values()
    assert session.id != signed.token  # the database keeps a hash, not the token
    found = a.session_user(uow, signed.token, at=T0 + dt.timedelta(minutes=5))
    assert found is not None and found[0].id == user.id
    assert a.session_user(uow, "forged-token", at=T0) is None


@pytest.mark.parametrize(("name", "password"), [("dr.a", "wrong password!"), ("nobody", PASSWORD)])
def test_a_wrong_name_or_password_gets_the_same_message(name: str, password: str) -> None:
    uow = FakeUnitOfWork()
    clinician(uow)
    with pytest.raises(SignInRefused, match=r"^the username or password is not right$"):
        a.sign_in(uow, name, password, at=T0)
    assert not uow.sessions.items


def test_five_failures_lock_the_name_even_against_the_right_password() -> None:
    uow = FakeUnitOfWork()
    clinician(uow)
    for i in range(a.LOCK_AFTER):
        with pytest.raises(SignInRefused, match="not right"):
            a.sign_in(uow, "dr.a", "wrong password!", at=T0 + dt.timedelta(seconds=i))
    with pytest.raises(SignInRefused, match="locked"):
        a.sign_in(uow, "dr.a", PASSWORD, at=T0 + dt.timedelta(minutes=1))
    # the lock lifts once the window has passed
    later = T0 + a.LOCK_WINDOW + dt.timedelta(minutes=2)
    assert a.sign_in(uow, "dr.a", PASSWORD, at=later).user.username == "dr.a"


def test_an_unknown_name_locks_the_same_way() -> None:
    uow = FakeUnitOfWork()
    for i in range(a.LOCK_AFTER):
        with pytest.raises(SignInRefused, match="not right"):
            a.sign_in(uow, "ghost", "whatever it is", at=T0 + dt.timedelta(seconds=i))
    with pytest.raises(SignInRefused, match="locked"):
        a.sign_in(uow, "ghost", "whatever it is", at=T0 + dt.timedelta(minutes=1))


def test_signing_in_again_replaces_the_old_session_so_it_cannot_be_fixed() -> None:
    uow = FakeUnitOfWork()
    clinician(uow)
    first = a.sign_in(uow, "dr.a", PASSWORD, at=T0)
    second = a.sign_in(uow, "dr.a", PASSWORD, replacing=first.token, at=T0)
    assert second.token != first.token
    assert a.session_user(uow, first.token, at=T0) is None
    assert a.session_user(uow, second.token, at=T0) is not None


def test_an_idle_or_expired_session_ends() -> None:
    uow = FakeUnitOfWork()
    clinician(uow)
    signed = a.sign_in(uow, "dr.a", PASSWORD, at=T0)
    assert a.session_user(uow, signed.token, at=T0 + a.IDLE_TIMEOUT) is None
    assert not uow.sessions.items
    kept = a.sign_in(uow, "dr.a", PASSWORD, at=T0)
    at = T0
    while at < T0 + a.SESSION_LIFETIME - dt.timedelta(minutes=20):
        at += dt.timedelta(minutes=20)
        assert a.session_user(uow, kept.token, at=at) is not None
    assert a.session_user(uow, kept.token, at=T0 + a.SESSION_LIFETIME) is None


@pytest.mark.parametrize(
    ("situation", "needs_write"),
    [
        ("just signed in", False),
        ("seen half a minute ago", False),
        ("due its once-a-minute touch", True),
        ("idle too long", True),
        ("past its lifetime", True),
        ("its account deactivated", True),
        ("an unknown token", False),
        ("no token", False),
    ],
)
def test_the_read_only_session_look_up_writes_nothing_and_agrees_with_session_user(
    situation: str, needs_write: bool
) -> None:
    uow = FakeUnitOfWork()
    user = clinician(uow)
    signed = a.sign_in(uow, "dr.a", PASSWORD, at=T0)
    token, at = signed.token, T0
    if situation == "seen half a minute ago":
        at = T0 + dt.timedelta(seconds=30)
    elif situation == "due its once-a-minute touch":
        at = T0 + a.TOUCH_EVERY + dt.timedelta(seconds=1)
    elif situation == "idle too long":
        at = T0 + a.IDLE_TIMEOUT
    elif situation == "past its lifetime":
        at = T0 + a.SESSION_LIFETIME
    elif situation == "its account deactivated":
        user.active = False  # as if changed behind the sessions' back
    elif situation == "an unknown token":
        token = "forged-token"
    elif situation == "no token":
        token = ""
    [session] = uow.sessions.items.values()
    seen, commits = session.last_seen_at, uow.commits

    lookup = a.look_up_session(uow, token, at=at)

    assert lookup.needs_write is needs_write
    assert (uow.commits, session.last_seen_at, len(uow.sessions.items)) == (commits, seen, 1)
    decided = a.session_user(uow, token, at=at)
    if needs_write:
        assert lookup.found is None  # the caller must ask session_user, which decides
    else:
        assert lookup.found == decided
        assert uow.commits == commits  # nothing was due: session_user wrote nothing either


def test_signing_out_ends_the_session_and_is_audited() -> None:
    uow = FakeUnitOfWork()
    clinician(uow)
    signed = a.sign_in(uow, "dr.a", PASSWORD, at=T0)
    a.end_session(uow, signed.token)
    assert a.session_user(uow, signed.token, at=T0) is None
    assert [e.action for e in uow.audit.events][-2:] == ["login", "logout"]


def test_the_csrf_token_must_match_exactly() -> None:
    uow = FakeUnitOfWork()
    clinician(uow)
    signed = a.sign_in(uow, "dr.a", PASSWORD, at=T0)
    [session] = uow.sessions.items.values()
    assert a.csrf_matches(session, signed.csrf_token)
    assert not a.csrf_matches(session, None)
    assert not a.csrf_matches(session, signed.csrf_token[:-1] + "x")


# --- accounts an administrator manages ---------------------------------------------------


def patient_record(uow: FakeUnitOfWork, identifier: str, clinic: str) -> domain.Patient:
    patient = domain.Patient(
        identifier=identifier, name="Pat", birth_date=dt.date(1970, 1, 1), sex="female"
    )
    patient.clinic = clinic
    uow.patients.add(patient)
    return patient


def test_an_admin_links_a_patient_account_by_record_number_in_their_own_clinic() -> None:
    uow = FakeUnitOfWork()
    mine = patient_record(uow, "MRN-1", "main")
    patient_record(uow, "MRN-2", "north")
    user = a.create_clinic_user(
        uow, "web:admin", clinic="main", username="pat", display_name="Pat",
        role="patient", password=PASSWORD, patient_identifier=" MRN-1 ",
    )  # fmt: skip
    assert user.patient_id == mine.id and user.clinic == "main"
    with pytest.raises(InvalidRecord, match=r"patient_identifier: 'MRN-2' is not a record num"):
        a.create_clinic_user(
            uow, "web:admin", clinic="main", username="other", display_name="O",
            role="patient", password=PASSWORD, patient_identifier="MRN-2",
        )  # fmt: skip


def test_every_problem_of_a_new_account_is_reported_at_once_and_nothing_is_written() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(InvalidRecord) as caught:
        a.create_clinic_user(
            uow, "web:admin", clinic="main", username="", display_name="X",
            role="patient", password="short pass", patient_identifier="",
        )  # fmt: skip
    fields = [p.field for p in caught.value.problems]
    assert fields == ["username", "password", "patient_identifier"]
    assert "short pass" not in str(caught.value)
    with pytest.raises(InvalidRecord, match=r"patient_identifier: 'MRN-1': only a patient acc"):
        a.create_clinic_user(
            uow, "web:admin", clinic="main", username="dr.b", display_name="Dr B",
            role="clinician", password=PASSWORD, patient_identifier="MRN-1",
        )  # fmt: skip
    assert not uow.users.items


def test_the_account_list_is_one_clinics_and_reading_it_is_audited() -> None:
    uow = FakeUnitOfWork()
    clinician(uow, "dr.z")
    a.create_user(
        uow, "cli", username="dr.n", display_name="N", role="clinician", password=PASSWORD,
        clinic="north",
    )  # fmt: skip
    a.create_user(uow, "cli", username="boss", display_name="B", role="admin", password=PASSWORD)
    assert [u.username for u in a.list_users(uow, "web:boss", "main")] == ["boss", "dr.z"]
    assert uow.audit.events[-1].entity == "users"
    assert uow.audit.events[-1].detail == "shown=2"


def test_deactivating_an_account_ends_its_sessions_and_is_audited() -> None:
    uow = FakeUnitOfWork()
    user = clinician(uow)
    signed = a.sign_in(uow, "dr.a", PASSWORD, at=T0)
    a.set_active(uow, "web:boss", user.id, False, clinic="main")
    assert not uow.sessions.items
    assert a.session_user(uow, signed.token, at=T0) is None
    with pytest.raises(SignInRefused):
        a.sign_in(uow, "dr.a", PASSWORD, at=T0)
    assert (uow.audit.events[-2].action, uow.audit.events[-2].detail) == ("update", "active=false")
    a.set_active(uow, "web:boss", user.id, True, clinic="main")
    assert a.sign_in(uow, "dr.a", PASSWORD, at=T0).user.id == user.id


def test_an_admin_cannot_deactivate_themselves_or_reach_another_clinics_account() -> None:
    uow = FakeUnitOfWork()
    boss = a.create_user(
        uow, "cli", username="boss", display_name="B", role="admin", password=PASSWORD
    )
    with pytest.raises(InvalidRecord, match=r"user: you cannot deactivate your own account"):
        a.set_active(uow, "web:boss", boss.id, False, clinic="main", by_user_id=boss.id)
    other = a.create_user(
        uow, "cli", username="dr.n", display_name="N", role="clinician", password=PASSWORD,
        clinic="north",
    )  # fmt: skip
    with pytest.raises(RecordNotFound, match="does not exist"):
        a.set_active(uow, "web:boss", other.id, False, clinic="main", by_user_id=boss.id)
    assert other.active and boss.active
