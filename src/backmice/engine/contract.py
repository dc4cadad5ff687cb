"""The public contract: the packaged JSON Schemas of a case and of a result.

`shared/spec/assessment-v1.md` is the prose; these two schema files are its
machine-readable form and ship inside the package.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = [
    "CASE_SCHEMA_TAG",
    "DISCLAIMER",
    "PLAIN_DISCLAIMER",
    "RESULT_SCHEMA_TAG",
    "input_schema",
    "result_schema",
]

CASE_SCHEMA_TAG = "backmice.assessment/1"
RESULT_SCHEMA_TAG = "backmice.result/1"

#: Stated in every clinical output.
DISCLAIMER = (
    "Decision support only: this result supports, and does not replace, a clinician's "
    "judgement. Probabilities come from a model whose numbers are mostly estimates."
)
#: The same, for a person checking themselves.
PLAIN_DISCLAIMER = (
    "This is not a diagnosis. It helps you decide what to do next and does not replace "
    "seeing a doctor, nurse or physiotherapist. If you are worried, get checked."
)


def _load(name: str) -> dict[str, Any]:
    text = (resources.files("backmice.engine") / "schemas" / name).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@lru_cache(maxsize=1)
def input_schema() -> dict[str, Any]:
    """The JSON Schema of one case (backmice.assessment/1)."""
    return _load("assessment-input.schema.json")


@lru_cache(maxsize=1)
def result_schema() -> dict[str, Any]:
    """The JSON Schema of one result (backmice.result/1)."""
    return _load("assessment-result.schema.json")
