"""Accounts for the web application: server-side sessions, sign-in attempts for
lock-out, and the clinic each patient and user belongs to.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = 36


def upgrade() -> None:
    with op.batch_alter_table("patients") as batch:
        batch.add_column(sa.Column("clinic", sa.String(64), nullable=False, server_default="main"))
        batch.create_index("ix_patients_clinic", ["clinic"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("clinic", sa.String(64), nullable=False, server_default="main"))
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(ID), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("attempted_at", sa.DateTime(), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
    )
    op.create_index(
        "ix_login_attempts_username_time", "login_attempts", ["username", "attempted_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_login_attempts_username_time", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_index("ix_sessions_user_id", table_name="sessions")
    op.drop_table("sessions")
    op.drop_index("ix_patients_clinic", table_name="patients")
    for table in ("users", "patients"):
        # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35 and later, and PostgreSQL)
        op.execute(f"ALTER TABLE {table} DROP COLUMN clinic")
