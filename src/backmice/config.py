"""Settings: one typed object, built by a function from the environment.

`BACKMICE_DATABASE_URL` (a SQLAlchemy URL) chooses the database for every command
and the server; without it, records live in one SQLite file in the user's data
directory. A clinic may set its own injection-test thresholds with
`BACKMICE_INJECTION_POSITIVE_PERCENT` and `BACKMICE_INJECTION_STRONGLY_POSITIVE_PERCENT`
(default: the knowledge base's 50 and 80).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir

from backmice.errors import InvalidInput, Problem

__all__ = ["Settings", "load_settings"]


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the records live, and the clinic's own thresholds (None: the knowledge base's)."""

    database_url: str
    data_dir: Path
    injection_positive_at: float | None = None
    injection_strongly_positive_at: float | None = None


def _percent(env: Mapping[str, str], name: str, problems: list[Problem]) -> float | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 100:
        problems.append(Problem(name, f"{raw!r} is not a percentage above 0, at most 100"))
        return None
    return value


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from the environment (default: `os.environ`)."""
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("BACKMICE_DATA_DIR") or user_data_dir("backmice", appauthor=False))
    url = env.get("BACKMICE_DATABASE_URL") or f"sqlite:///{data_dir / 'backmice.db'}"
    problems: list[Problem] = []
    positive = _percent(env, "BACKMICE_INJECTION_POSITIVE_PERCENT", problems)
    strong = _percent(env, "BACKMICE_INJECTION_STRONGLY_POSITIVE_PERCENT", problems)
    if problems:
        raise InvalidInput(problems)
    return Settings(
        database_url=url,
        data_dir=data_dir,
        injection_positive_at=positive,
        injection_strongly_positive_at=strong,
    )
