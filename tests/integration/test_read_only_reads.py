"""Reads that take no write lock, on real SQLite and PostgreSQL: `RecordStore.read`
reads what is committed, writes nothing, and on SQLite does not wait for a writer; the
web app's session check (`RecordStore.session_and_user`) reads what the repositories
read. Every request makes that check, so a writer's commit must not hold it up."""

from __future__ import annotations

import datetime as dt
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from backmice.records import domain
from backmice.records.orm import TABLES
from backmice.records.repository import field_values
from backmice.records.services import accounts
from backmice.records.store import RecordStore
from backmice.records.unit_of_work import AbstractUnitOfWork


def _patient(identifier: str = "MRN-R1") -> domain.Patient:
    return domain.Patient(
        identifier=identifier, name="Read Only", birth_date=dt.date(1970, 1, 1), sex="female"
    )


def _patients(store: RecordStore) -> int:
    with store.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(TABLES[domain.Patient])) or 0)


def _add(store: RecordStore, patient: domain.Patient) -> None:
    def work(uow: AbstractUnitOfWork) -> None:
        uow.patients.add(patient)
        uow.commit()

    store.run(work)


def test_a_read_sees_what_is_committed_and_its_objects_outlive_it(store: RecordStore) -> None:
    stored = _patient()
    _add(store, stored)
    found = store.read(lambda uow: uow.patients.get(stored.id))
    assert found is not None
    assert (found.identifier, found.name) == ("MRN-R1", "Read Only")


def test_a_read_cannot_commit_and_leaves_nothing_behind(store: RecordStore) -> None:
    def sneaky(uow: AbstractUnitOfWork) -> None:
        uow.patients.add(_patient("MRN-R2"))
        uow.commit()

    with pytest.raises(RuntimeError, match="read-only unit of work cannot commit"):
        store.read(sneaky)
    assert _patients(store) == 0


def test_on_postgresql_the_server_itself_refuses_a_write_in_a_read(postgres_url: str) -> None:
    store = RecordStore.open(postgres_url)
    try:

        def flushes(uow: AbstractUnitOfWork) -> None:
            uow.patients.add(_patient("MRN-R3"))
            uow.flush()

        with pytest.raises(DBAPIError, match="read-only transaction"):
            store.read(flushes)
        _add(store, _patient("MRN-R4"))  # the pool's connections still write for `run`
        assert _patients(store) == 1
    finally:
        store.close()


def test_on_sqlite_a_read_does_not_wait_for_a_writer_and_sees_the_last_commit(
    sqlite_url: str,
) -> None:
    store = RecordStore.open(sqlite_url)
    first = _patient("MRN-R5")
    _add(store, first)
    writer = sqlite3.connect(str(make_url(sqlite_url).database), isolation_level=None)
    pool = ThreadPoolExecutor(1)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process mid-write, holding the lock
        writer.execute("UPDATE patients SET name = 'Uncommitted' WHERE id = ?", (first.id,))
        reading = pool.submit(store.read, lambda uow: uow.patients.get(first.id))
        # a transaction that took the write lock would wait out the 30 s busy timeout
        # here (and then retry); a read answers at once
        found = reading.result(timeout=10)
        assert found is not None and found.name == "Read Only"
        # and so does the web app's session check of every request
        assert pool.submit(store.session_and_user, "no-such-id").result(timeout=10) is None
    finally:
        writer.execute("ROLLBACK")  # first, so that a waiting read can end
        writer.close()
        pool.shutdown()
        store.close()


def test_the_session_check_reads_the_session_and_its_user_as_the_repositories_do(
    store: RecordStore,
) -> None:
    account = store.run(
        lambda uow: accounts.create_user(
            uow,
            "test:setup",
            username="dr.read",
            display_name="Dr Read",
            role="clinician",
            password="a long enough password 9",
            clinic="north",
        )
    )
    signed = store.run(lambda uow: accounts.sign_in(uow, "dr.read", "a long enough password 9"))
    session_id = accounts.session_id_of(signed.token)
    assert session_id is not None

    found = store.session_and_user(session_id)

    assert found is not None
    session, user = found
    stored_session = store.read(lambda uow: uow.sessions.get(session_id))
    stored_user = store.read(lambda uow: uow.users.get(account.id))
    assert field_values(session) == field_values(stored_session)
    assert user is not None and field_values(user) == field_values(stored_user)
    assert session.expires_at.tzinfo is not None  # read back timezone-aware, as the ORM does
    assert store.session_and_user(accounts.session_id_of("no such token") or "") is None
    store.run(lambda uow: accounts.set_active(uow, "test:admin", account.id, False, clinic="north"))
    assert store.session_and_user(session_id) is None  # deactivating ended the session
