"""Shared fixtures: the packaged knowledge base and one engine per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from backmice.engine import Engine
from backmice.knowledge import KnowledgeBase, default_knowledge

# In CI the property tests draw the same examples every run, so a result never
# depends on luck; locally they explore new examples each time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def clean_environ() -> Iterator[None]:
    """No BACKMICE_* variable from a developer's shell can change a result."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("BACKMICE_")}
    for key in saved:
        del os.environ[key]
    yield
    os.environ.update(saved)


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return default_knowledge()


@pytest.fixture(scope="session")
def engine(kb: KnowledgeBase) -> Engine:
    return Engine(kb)


#: The example case of the assessment format, section 1.
SPEC_EXAMPLE: dict[str, object] = {
    "schema": "backmice.assessment/1",
    "setting": "primary_care",
    "age": 52,
    "sex": "female",
    "findings": {
        "lump_present": True,
        "lump_count": 2,
        "lump_bilateral": True,
        "location": "posterior_iliac_crest",
        "size_cm": 2.0,
        "consistency": "rubbery",
        "mobile": True,
        "tender": True,
        "pressure_reproduces_pain": True,
        "pain_present": True,
        "radiation": "buttock_thigh",
        "neuro_deficit": False,
        "injection_relief_percent": 90,
    },
}
