"""Settings: one typed object, built by a function from the environment.

`BACKMICE_DATABASE_URL` (a SQLAlchemy URL) chooses the database for every command
and the server; without it, records live in one SQLite file in the user's data
directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir

__all__ = ["Settings", "load_settings"]


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the records live and who is acting."""

    database_url: str
    data_dir: Path


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from the environment (default: `os.environ`)."""
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("BACKMICE_DATA_DIR") or user_data_dir("backmice", appauthor=False))
    url = env.get("BACKMICE_DATABASE_URL") or f"sqlite:///{data_dir / 'backmice.db'}"
    return Settings(database_url=url, data_dir=data_dir)
