"""Stored engine results on real SQLite and PostgreSQL: compressed where they are kept
(a zstd blob on SQLite, lz4 TOAST on PostgreSQL when the server has it), read back
as the same values, and converted both ways by migration 0004 with the data in it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import text

from backmice.engine import Engine
from backmice.records import migrate, stored_json
from backmice.records import services as s
from backmice.records.store import RecordStore
from tests.integration.test_records_store import ACTOR, WHEN

CASE = {
    "schema": "backmice.assessment/1",
    "setting": "pain_clinic",
    "age": 61,
    "sex": "male",
    "findings": {"lump_present": True, "location": "posterior_iliac_crest", "tender": True},
}
BEFORE_ID = "00000000-0000-4000-8000-000000000001"
PATIENT_ID = "00000000-0000-4000-8000-0000000000aa"


def _insert_as_revision_0003_did(engine: SqlEngine, result: dict[str, Any]) -> None:
    """A patient and an assessment, written as the schema before 0004 kept them."""
    postgresql = engine.dialect.name == "postgresql"
    as_json = "CAST(:j AS jsonb)" if postgresql else ":j"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO patients (id, identifier, name, birth_date, sex, created_at) "
                "VALUES (:id, 'MRN-0003', 'Before Person', :birth, 'male', :at)"
            ),
            {"id": PATIENT_ID, "birth": dt.date(1964, 4, 4), "at": WHEN.replace(tzinfo=None)},
        )
        connection.execute(
            text(
                'INSERT INTO assessments (id, patient_id, nodule_ids, "case", result, '
                f"knowledge_version, assessed_at) VALUES (:id, :p, {as_json.replace(':j', ':n')}, "
                f"{as_json.replace(':j', ':c')}, {as_json.replace(':j', ':r')}, :v, :at)"
            ),
            {
                "id": BEFORE_ID,
                "p": PATIENT_ID,
                "n": "[]",
                "c": json.dumps(CASE),
                "r": json.dumps(result),  # as SQLAlchemy's JSON type wrote it
                "v": result["knowledge_version"],
                "at": WHEN.replace(tzinfo=None),
            },
        )


def _raw_results(engine: SqlEngine) -> dict[str, tuple[Any, str]]:
    """Assessment id -> (result as the driver reads it, storage class or compression)."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            query = (
                "SELECT id, result::text, COALESCE(pg_column_compression(result), '') "
                "FROM assessments"
            )
        else:
            query = "SELECT id, result, typeof(result) FROM assessments"
        rows = connection.execute(text(query)).all()
        connection.rollback()
    return {row[0]: (row[1], row[2]) for row in rows}


def _server_has_lz4(engine: SqlEngine) -> bool:
    with engine.connect() as connection:
        found = connection.execute(
            text(
                "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                "WHERE name = 'default_toast_compression'"
            )
        ).scalar()
        connection.rollback()
    return bool(found)


def _results(store: RecordStore) -> dict[str, dict[str, Any]]:
    def read(uow: Any) -> dict[str, dict[str, Any]]:
        found = {a.id: a.result for a in uow.assessments.where()}
        uow.commit()
        return found

    return store.run(read)


def test_results_are_kept_compressed_and_migrate_both_ways(
    database_url: str, engine: Engine
) -> None:
    result = engine.assess(CASE)
    store = RecordStore.open(database_url, upgrade=False)
    try:
        migrate.upgrade(store.engine, "0003")
        _insert_as_revision_0003_did(store.engine, result)
        migrate.upgrade(store.engine)
        postgresql = store.engine.dialect.name == "postgresql"
        lz4 = postgresql and _server_has_lz4(store.engine)

        # a result stored now, through the services, next to the one from before
        stored = store.run(lambda u: s.record_assessment(u, ACTOR, PATIENT_ID, engine, CASE))
        assert _results(store) == {BEFORE_ID: result, stored.id: stored.result}
        assert stored.result == result

        raw = _raw_results(store.engine)
        if postgresql:
            # jsonb still; a new value is compressed with lz4 where the server has it
            assert json.loads(raw[stored.id][0]) == result
            assert raw[stored.id][1] == ("lz4" if lz4 else "pglz")
        else:
            for value, kind in raw.values():
                assert kind == "blob" and value[:4] == stored_json.ZSTD_MAGIC
                assert len(value) * 3 < len(json.dumps(result))
                assert stored_json.unpack(value) == result

        migrate.downgrade(store.engine, "0003")
        raw = _raw_results(store.engine)
        for value, kind in raw.values():
            if not postgresql:
                assert kind == "text"
            assert json.loads(value) == result
        if lz4:
            with store.engine.connect() as connection:
                method = connection.execute(
                    text(
                        "SELECT attcompression FROM pg_attribute "
                        "WHERE attrelid = 'assessments'::regclass AND attname = 'result'"
                    )
                ).scalar()
                connection.rollback()
            assert method in ("", "\x00")  # the server's default again

        migrate.upgrade(store.engine)
        assert _results(store) == {BEFORE_ID: result, stored.id: result}
    finally:
        store.close()
