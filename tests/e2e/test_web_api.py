"""The JSON API against its own OpenAPI document (schemathesis, in-process ASGI).

Signed in as a clinician (session cookie, and the CSRF token from /api/v1/me in the
`X-CSRF-Token` header), every operation gets generated requests, valid and not: no answer
may be a server error, and every answer must match the schema and the status codes the
document declares. Path ids are the seeded patient's, so the record routes answer for real
rather than 404 every time. In CI the examples are derandomized (tests/conftest.py).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from backmice.config import Settings
from backmice.engine import Engine
from backmice.records import services
from backmice.records.services import accounts
from backmice.records.store import RecordStore
from backmice.web import create_app
from backmice.web.security import COOKIE
from tests.conftest import SPEC_EXAMPLE

PASSWORD = "schemathesis password 9"
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
MAX_EXAMPLES = 25


@dataclass
class Api:
    app: FastAPI
    headers: dict[str, str]
    patient_id: str
    nodule_id: str


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder: Path = tmp_path_factory.mktemp("web-api")
    url = f"sqlite:///{folder / 'records.db'}"
    store = RecordStore.open(url)
    actor = "test:setup"
    patient = store.run(
        lambda uow: services.register_patient(
            uow,
            actor,
            identifier="MRN-API-1",
            name="Api Person",
            birth_date=dt.date(1975, 6, 7),
            sex="male",
        )
    )
    nodule = store.run(
        lambda uow: services.add_nodule(
            uow, actor, patient.id, x=30, y=38, side="left", region="posterior_iliac_crest"
        )
    )
    store.run(
        lambda uow: services.record_assessment(
            uow, actor, patient.id, Engine(), dict(SPEC_EXAMPLE), nodule_ids=[nodule.id]
        )
    )
    store.run(
        lambda uow: accounts.create_user(
            uow,
            actor,
            username="dr.api",
            display_name="Dr Api",
            role="clinician",
            password=PASSWORD,
        )
    )
    signed = store.run(lambda uow: accounts.sign_in(uow, "dr.api", PASSWORD))
    app = create_app(Settings(database_url=url, data_dir=folder), store=store)
    with TestClient(app, base_url="https://testserver") as client:
        client.cookies.set(COOKIE, signed.token)
        me = client.get("/api/v1/me").json()
    headers = {"Cookie": f"{COOKIE}={signed.token}", "X-CSRF-Token": me["csrf_token"]}
    yield Api(app, headers, patient.id, nodule.id)
    store.close()


def _fuzz(operation: Any, api: Api, mode: GenerationMode) -> Counter[int]:
    """Generated requests for one operation, each checked against the schema; the
    status codes seen, counted."""
    seen: Counter[int] = Counter()
    fixed = {"patient_id": api.patient_id} if "{patient_id}" in operation.path else None
    checks = CHECKS if mode.is_positive else [*CHECKS, negative_data_rejection]

    @given(case=operation.as_strategy(mode, path_parameters=fixed))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def run(case: Any) -> None:
        response = case.call(headers=api.headers)
        seen[response.status_code] += 1
        case.validate_response(response, checks=checks, headers=api.headers)

    try:
        run()
    except Unsatisfiable:
        # nothing about this operation can be made invalid once the path is fixed (no
        # body, no query): Hypothesis proved it by exhausting the strategy
        if mode.is_positive or seen:
            raise
    return seen


def test_the_api_answers_every_generated_request_as_its_schema_says(
    api: Api, subtests: Any
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    seen: dict[str, Counter[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()  # raises on an operation the schema cannot describe
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            label = f"{operation.label} ({mode.value})"
            with subtests.test(msg=label):
                seen[label] = _fuzz(operation, api, mode)
    print("\n".join(f"{label}: {dict(sorted(c.items()))}" for label, c in sorted(seen.items())))
    assert "POST /api/v1/assess (positive)" in seen and len(seen) >= 18, sorted(seen)
    # the generated requests got through to the services, not only to the validators
    answered = {label for label, c in seen.items() if any(200 <= s < 300 for s in c)}
    positive = {label for label in seen if label.endswith("(positive)")}
    assert positive <= answered, f"never a success: {sorted(positive - answered)}"


def test_the_assessment_is_the_engines_result_for_the_same_case(api: Api) -> None:
    with TestClient(api.app, base_url="https://testserver") as client:
        response = client.post("/api/v1/assess", json=SPEC_EXAMPLE, headers=api.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == Engine().assess(dict(SPEC_EXAMPLE))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"age": 52,', "is not valid JSON (unexpected end of data at line 1 column 12)"),
        (b'{"age": NaN}', "is not valid JSON (unexpected character, expected a JSON value"),
        (b"\xff", "is not valid JSON (str is not valid UTF-8"),
    ],
)
def test_a_case_that_is_not_json_is_refused_saying_where(
    api: Api, body: bytes, message: str
) -> None:
    with TestClient(api.app, base_url="https://testserver") as client:
        response = client.post(
            "/api/v1/assess",
            content=body,
            headers={**api.headers, "Content-Type": "application/json"},
        )
    assert response.status_code == 422
    [problem] = response.json()["errors"]
    assert problem["field"] == "body"
    assert problem["message"].startswith(message)


def test_a_body_that_is_not_utf8_is_refused_with_the_apis_own_error_shape(api: Api) -> None:
    # found by the test above: FastAPI answered 400 {"detail": ...}, undocumented
    with TestClient(api.app, base_url="https://testserver") as client:
        response = client.post(
            "/api/v1/patients",
            content=b"\xff\xfe{",
            headers={**api.headers, "Content-Type": "application/json"},
        )
    assert response.status_code == 422
    assert response.json() == {"errors": [{"field": "body", "message": "is not JSON (UTF-8 text)"}]}
