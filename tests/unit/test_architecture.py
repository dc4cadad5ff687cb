"""The shape of the house: the domain and the engine stay free of frameworks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import backmice

PACKAGE = Path(backmice.__file__).parent
FRAMEWORKS = ("sqlalchemy", "alembic", "fastapi", "starlette", "psycopg", "pydantic_settings")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    "path",
    [
        PACKAGE / "records" / "domain.py",
        *sorted((PACKAGE / "engine").glob("*.py")),
        *sorted((PACKAGE / "care").glob("*.py")),
        *sorted((PACKAGE / "knowledge").glob("*.py")),
    ],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_the_domain_engine_care_and_knowledge_import_no_framework(path: Path) -> None:
    leaked = {m for m in imported_modules(path) if m.split(".")[0] in FRAMEWORKS}
    assert not leaked, f"{path.name} imports {sorted(leaked)}"


def test_the_domain_imports_only_the_standard_library() -> None:
    allowed = {"__future__", "datetime", "uuid", "dataclasses", "typing"}
    assert imported_modules(PACKAGE / "records" / "domain.py") <= allowed
