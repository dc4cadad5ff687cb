"""The web app's per-request session check over real SQLite and PostgreSQL: on SQLite it
reads in the event loop, on PostgreSQL in the thread pool; both must answer alike."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient

from backmice.config import Settings
from backmice.records.services import accounts
from backmice.records.store import RecordStore
from backmice.web import create_app
from backmice.web.security import COOKIE

PASSWORD = "a long enough password 8"


def test_sessions_are_checked_touched_and_ended_against_the_database(
    database_url: str, tmp_path: Path
) -> None:
    store = RecordStore.open(database_url)
    try:
        user = store.run(
            lambda uow: accounts.create_user(
                uow,
                "test:setup",
                username="dr.db",
                display_name="Dr Db",
                role="clinician",
                password=PASSWORD,
            )
        )
        earlier = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        signed = store.run(lambda uow: accounts.sign_in(uow, "dr.db", PASSWORD, at=earlier))
        app = create_app(Settings(database_url=database_url, data_dir=tmp_path), store=store)
        assert app.state.reads_in_loop is store.is_sqlite
        with TestClient(app, base_url="https://testserver") as client:
            client.cookies.set(COOKIE, signed.token)
            me = client.get("/api/v1/me")
            assert me.status_code == 200 and me.json()["username"] == "dr.db"
            [session] = store.read(lambda uow: uow.sessions.where(user_id=user.id))
            assert session.last_seen_at > earlier + dt.timedelta(minutes=4)  # touched
            assert client.get("/api/v1/me").status_code == 200
            store.run(
                lambda uow: accounts.set_active(uow, "test:admin", user.id, False, clinic="main")
            )
            assert client.get("/api/v1/me").status_code == 401
    finally:
        store.close()
