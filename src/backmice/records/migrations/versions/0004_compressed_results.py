"""Stored engine results kept compressed: zstd on SQLite, lz4 on PostgreSQL.

A stored result is about 22 KB of JSON and was 85 % of the database.

SQLite keeps values as given: the column becomes a blob holding a zstd frame of the
result's UTF-8 JSON (`records/stored_json.py`), about 4.5 times smaller; existing
rows are compressed here, and going down writes them back as JSON text.

PostgreSQL already compresses large values out of line (TOAST), by default with pglz,
which took about half of the server's time to store a result, twice what lz4 takes
for much the same size. The column stays jsonb; only new values use lz4 (a server
built without lz4, or older than 14, keeps pglz). Every reader gets the same values.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
import zstandard
from alembic import op
from sqlalchemy import JSON, text

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: The first four bytes of every zstd frame.
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: Rows rewritten per statement while converting.
CHUNK = 500


def _has_lz4() -> bool:
    found = (
        op.get_bind()
        .execute(
            text(
                "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
                "WHERE name = 'default_toast_compression'"
            )
        )
        .scalar()
    )
    return bool(found)


def _rewrite_results(convert: Callable[[Any], bytes | str]) -> None:
    """Replace every assessment's result by `convert(result)`, a few hundred at a time."""
    bind = op.get_bind()
    last = ""
    while True:
        rows = bind.execute(
            text("SELECT id, result FROM assessments WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": CHUNK},
        ).all()
        if not rows:
            return
        bind.execute(
            text("UPDATE assessments SET result = :result WHERE id = :id"),
            [{"id": row[0], "result": convert(row[1])} for row in rows],
        )
        last = rows[-1][0]


def _compressed(stored: bytes | str) -> bytes:
    data = stored.encode() if isinstance(stored, str) else bytes(stored)
    if data[:4] == ZSTD_MAGIC:
        return data
    return zstandard.ZstdCompressor(level=1).compress(data)


def _json_text(stored: bytes | str) -> str:
    if isinstance(stored, str):
        return stored
    data = bytes(stored)
    if data[:4] == ZSTD_MAGIC:
        data = zstandard.ZstdDecompressor().decompress(data)
    return data.decode()


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        if _has_lz4():
            op.execute("ALTER TABLE assessments ALTER COLUMN result SET COMPRESSION lz4")
        return
    with op.batch_alter_table("assessments") as batch:
        batch.alter_column(
            "result", type_=sa.LargeBinary(), existing_type=JSON(), existing_nullable=False
        )
    _rewrite_results(_compressed)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        if _has_lz4():
            op.execute("ALTER TABLE assessments ALTER COLUMN result SET COMPRESSION default")
        return
    _rewrite_results(_json_text)  # text, kept as text by the JSON column (no cast)
    with op.batch_alter_table("assessments") as batch:
        batch.alter_column(
            "result", type_=JSON(), existing_type=sa.LargeBinary(), existing_nullable=False
        )
