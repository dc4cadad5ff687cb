"""The web app's session check, as one query: a session and its user by the session's id.

Every web request checks its cookie's session against the database, so that a sign-out
or a deactivation counts at once, in every worker. Through a unit of work that check
was a new ORM session, a transaction and two identity-map loads, which measured more
than half of what a whole `POST /api/v1/assess` cost. Here it is a single SELECT (the
session joined to its user) on a connection of the read-only engine (`database.
read_only`: no lock on SQLite, READ ONLY on PostgreSQL), no ORM session at all.

The objects returned are built from the row and belong to no ORM session: they are for
reading. Decisions about the session (expired, idle, due a touch) stay in
`services.accounts`, which writes through a unit of work when one is needed.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Engine, Select, bindparam, select

from backmice.records import domain
from backmice.records.orm import TABLES
from backmice.records.repository import field_names

__all__ = ["session_and_user"]


def session_and_user(
    engine: Engine, session_id: str
) -> tuple[domain.Session, domain.User | None] | None:
    """The session with this id and its user (None if the account row is gone), or None
    when there is no such session."""
    with engine.connect() as connection:
        row = connection.execute(_query(), {"session_id": session_id}).first()
    if row is None:
        return None
    values = row._mapping
    session = domain.Session(**_fields(values, "s_", domain.Session))
    if values["u_id"] is None:
        return session, None
    return session, domain.User(**_fields(values, "u_", domain.User))


def _fields(values: Any, prefix: str, cls: type[Any]) -> dict[str, Any]:
    return {name: values[prefix + name] for name in field_names(cls)}


@cache
def _query() -> Select[Any]:
    # built once: SQLAlchemy then reuses its compiled form for every request
    sessions, users = TABLES[domain.Session], TABLES[domain.User]
    return (
        select(
            *(sessions.c[name].label(f"s_{name}") for name in field_names(domain.Session)),
            *(users.c[name].label(f"u_{name}") for name in field_names(domain.User)),
        )
        .select_from(sessions.outerjoin(users, users.c.id == sessions.c.user_id))
        .where(sessions.c.id == bindparam("session_id"))
    )
