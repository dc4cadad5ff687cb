"""The web application's security, over HTTP (in-process, no browser).

* An **authorisation matrix**: every route by anonymous, admin, clinician (a patient of
  their own clinic / of another clinic), patient (their own record / another's). Each
  cell's status follows the policy in `backmice.web.deps`, and no response ever holds
  the name or record number of a patient the user may not see. A route missing from
  `RULES` (or a rule for a route that is gone) fails `test_every_route_is_in_the_matrix`.
* CSRF: every unsafe route refuses a request without this session's token (403) and
  writes nothing.
* Sessions: a new token at each sign-in (no fixation), the old one dead; lock-out after
  five failures; sign-out ends the session.
* Headers on pages, API answers, static files and errors.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select, table

from backmice.config import Settings
from backmice.engine import Engine
from backmice.records import services
from backmice.records.orm import audit_events
from backmice.records.services import accounts
from backmice.records.store import RecordStore
from backmice.web import create_app
from backmice.web.security import COOKIE
from tests.conftest import SPEC_EXAMPLE

BASE = "https://testserver"
PASSWORD = "a long enough password 7"
LOGIN_COOKIE = "backmice_login"

# Three patients with names and record numbers found nowhere else in the app's output.
PATIENTS = {
    "A": ("Zelda Quartermain", "MRN-OWN-7731", "main"),
    "B": ("Yorick Plimsoll", "MRN-OTHER-4410", "main"),
    "C": ("Xanthe Morrowvell", "MRN-NORTH-9902", "north"),
}


#: A self-check whose answers raise a red flag (a lump over 5 cm: possible sarcoma).
FLAG = "possible_sarcoma"
FLAGGED: dict[str, Any] = {
    "schema": "backmice.assessment/1",
    "setting": "self_check",
    "findings": {"lump_present": True, "size_cm": 6},
}


# --- the policy, route by route ------------------------------------------------------

Body = Callable[["Cell"], dict[str, Any]]


@dataclass(frozen=True)
class Rule:
    """Who may use a route. `roles=None` marks a public route, which answers
    `public_status` to everyone. `form`/`json` build a valid body for a cell."""

    roles: frozenset[str] | None
    public_status: int | None = None
    form: Body | None = None
    json: Body | None = None


def roles(*names: str, form: Body | None = None, json: Body | None = None) -> Rule:
    return Rule(frozenset(names), form=form, json=json)


def public(status: int, form: Body | None = None) -> Rule:
    return Rule(None, public_status=status, form=form)


def _new_patient(cell: Cell) -> dict[str, Any]:
    n = next(cell.site.counter)
    return {
        "identifier": f"MRN-MATRIX-{n}",
        "name": f"Matrix Person {n}",
        "birth_date": "1980-01-02",
        "sex": "female",
    }


def _new_account(cell: Cell) -> dict[str, Any]:
    n = next(cell.site.counter)
    return {
        "username": f"made.{n}",
        "display_name": f"Made Account {n}",
        "role": "clinician",
        "password": PASSWORD,
    }


CLINICIAN = ("clinician",)
EITHER = ("clinician", "patient")

#: (method, path) -> rule. Keep in step with the app: a test fails when they differ.
RULES: dict[tuple[str, str], Rule] = {
    # public
    ("GET", "/"): public(303),
    ("GET", "/login"): public(200),
    # without the sign-in form's own token (a cookie it must echo): refused
    ("POST", "/login"): public(403, form=lambda c: {"username": "x", "password": PASSWORD}),
    ("GET", "/health"): public(200),
    ("GET", "/openapi.json"): public(200),
    ("GET", "/static"): public(200),
    ("POST", "/logout"): roles("admin", "clinician", "patient"),
    # clinician pages
    ("GET", "/patients"): roles(*CLINICIAN),
    ("POST", "/patients"): roles(*CLINICIAN, form=_new_patient),
    ("GET", "/patients/{patient_id}"): roles(*CLINICIAN),
    ("POST", "/patients/{patient_id}/nodules"): roles(
        *CLINICIAN, form=lambda c: {"x": "31", "y": "40"}
    ),
    ("POST", "/patients/{patient_id}/nodules/{nodule_id}/status"): roles(
        *CLINICIAN, form=lambda c: {"status": "active"}
    ),
    ("GET", "/patients/{patient_id}/assess"): roles(*CLINICIAN),
    ("POST", "/patients/{patient_id}/assess"): roles(
        *CLINICIAN, form=lambda c: {"action": "preview", "lump_present": "yes"}
    ),
    ("GET", "/patients/{patient_id}/assessments/{assessment_id}"): roles(*CLINICIAN),
    ("POST", "/patients/{patient_id}/assessments/{assessment_id}/red-flags/{flag_id}/review"): (
        roles(*CLINICIAN, form=lambda c: {"reason": "already_investigated"})
    ),
    ("GET", "/patients/{patient_id}/injection"): roles(*CLINICIAN),
    ("POST", "/patients/{patient_id}/injection"): roles(
        *CLINICIAN, form=lambda c: {"pre": "7", "post": "1", "minutes": "20"}
    ),
    ("GET", "/patients/{patient_id}/plan"): roles(*CLINICIAN),
    ("POST", "/patients/{patient_id}/plan/decide"): roles(
        *CLINICIAN, form=lambda c: {"decision": "stop", "reason": "resolved"}
    ),
    ("POST", "/patients/{patient_id}/plan/scores"): roles(*CLINICIAN, form=lambda c: {"nrs": "5"}),
    ("POST", "/patients/{patient_id}/plan/treatment"): roles(
        *CLINICIAN, form=lambda c: {"kind": "self_care"}
    ),
    ("GET", "/patients/{patient_id}/pain"): roles(*CLINICIAN),
    ("GET", "/patients/{patient_id}/report.pdf"): roles(*CLINICIAN),
    ("GET", "/patients/{patient_id}/handout.pdf"): roles(*CLINICIAN),
    ("GET", "/due"): roles(*CLINICIAN),
    # patient pages
    ("GET", "/me"): roles("patient"),
    ("GET", "/me/report.pdf"): roles("patient"),
    ("GET", "/me/diary"): roles("patient"),
    ("POST", "/me/diary"): roles("patient", form=lambda c: {"score": "5", "kind": "current"}),
    ("GET", "/me/self-check"): roles("patient"),
    ("POST", "/me/self-check"): roles("patient", form=lambda c: {}),
    ("GET", "/me/self-check/result/{assessment_id}"): roles("patient"),
    # admin pages
    ("GET", "/admin/users"): roles("admin"),
    ("POST", "/admin/users"): roles("admin", form=_new_account),
    ("POST", "/admin/users/{user_id}/deactivate"): roles("admin", form=lambda c: {}),
    ("POST", "/admin/users/{user_id}/activate"): roles("admin", form=lambda c: {}),
    ("GET", "/learn"): roles(*EITHER),
    ("GET", "/learn/{page_id}"): roles(*EITHER),
    # the JSON API
    ("POST", "/api/v1/assess"): roles(*EITHER, json=lambda c: dict(SPEC_EXAMPLE)),
    ("POST", "/api/v1/interview/next"): roles(
        *EITHER, json=lambda c: {"answers": {"lump_present": True}}
    ),
    ("GET", "/api/v1/patients"): roles(*CLINICIAN),
    ("POST", "/api/v1/patients"): roles(*CLINICIAN, json=_new_patient),
    ("GET", "/api/v1/patients/{patient_id}"): roles(*EITHER),
    ("POST", "/api/v1/patients/{patient_id}/nodules"): roles(
        *CLINICIAN,
        json=lambda c: {"x": 30, "y": 40, "side": "left", "region": "posterior_iliac_crest"},
    ),
    ("POST", "/api/v1/patients/{patient_id}/pain-scores"): roles(
        *EITHER, json=lambda c: {"scores": [{"score": 4}]}
    ),
    ("GET", "/api/v1/patients/{patient_id}/plan"): roles(*EITHER),
    ("GET", "/api/v1/me"): roles(*EITHER),
}

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

#: The matrix's columns: who asks, and whose record the path names.
#: (column, account, target patient)
COLUMNS: dict[str, tuple[str | None, str]] = {
    "anonymous": (None, "A"),
    "admin": ("admin", "A"),
    "admin_other_clinic": ("admin", "C"),
    "clinician_own_clinic": ("dr.main", "A"),
    "clinician_other_clinic": ("dr.main", "C"),
    "patient_own_record": ("alice", "A"),
    "patient_other_record": ("alice", "B"),
}

#: Which patients each account may see (the policy in deps.may_see_patient).
VISIBLE: dict[str | None, set[str]] = {
    None: set(),
    "admin": set(),
    "dr.main": {"A", "B"},
    "alice": {"A"},
}

#: Path parameters naming a record: a user who may not see it gets 404, not 403.
RECORD_IDS = ("{patient_id}", "{nodule_id}", "{assessment_id}", "{user_id}")


def visible_targets(account: str | None, template: str) -> set[str]:
    """Whose records named in this path the account may act on: an admin manages the
    accounts of their own clinic (A's), and sees no clinical record."""
    if "{user_id}" in template:
        return {"A"} if account == "admin" else set()
    return VISIBLE[account]


# --- the site under test -------------------------------------------------------------


@dataclass
class Site:
    app: FastAPI
    store: RecordStore
    patient_ids: dict[str, str]
    nodule_ids: dict[str, str]
    assessment_ids: dict[str, str]  # a self-check that raised FLAG
    user_ids: dict[str, str]  # an account of the patient's clinic (A, B: main; C: north)
    page_id: str
    users: dict[str, str] = field(default_factory=dict)  # username -> role
    sessions: dict[str, tuple[str, str]] = field(default_factory=dict)  # token, csrf
    counter: Iterator[int] = field(default_factory=itertools.count)

    def sign_in(self, username: str) -> tuple[str, str]:
        """A new session (token, CSRF token), made through the accounts service."""
        signed = self.store.run(lambda uow: accounts.sign_in(uow, username, PASSWORD))
        return signed.token, signed.csrf_token

    def session(self, username: str) -> tuple[str, str]:
        if username not in self.sessions:
            self.sessions[username] = self.sign_in(username)
        return self.sessions[username]

    def client(self, token: str | None = None) -> TestClient:
        client = TestClient(self.app, base_url=BASE, follow_redirects=False)
        if token is not None:
            client.cookies.set(COOKIE, token)
        return client

    def audited_patients_since(self, last_id: int) -> list[str | None]:
        """The patients named by audit events written after event `last_id`."""
        with self.store.engine.connect() as connection:
            rows = connection.execute(
                select(audit_events.c.patient_id).where(audit_events.c.id > last_id)
            )
            return [row[0] for row in rows]

    def last_audit_id(self) -> int:
        with self.store.engine.connect() as connection:
            return int(connection.execute(select(func.max(audit_events.c.id))).one()[0] or 0)

    def row_counts(self) -> dict[str, int]:
        """Rows in every table: what a refused request must leave unchanged."""
        with self.store.engine.connect() as connection:
            names = inspect(connection).get_table_names()
            return {
                name: int(
                    connection.execute(select(func.count()).select_from(table(name))).one()[0]
                )
                for name in names
            }


def _add_user(store: RecordStore, username: str, role: str, **extra: Any) -> None:
    store.run(
        lambda uow: accounts.create_user(
            uow,
            "test:setup",
            username=username,
            display_name=f"Account {username}",
            role=role,
            password=PASSWORD,
            **extra,
        )
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder: Path = tmp_path_factory.mktemp("web-security")
    url = f"sqlite:///{folder / 'records.db'}"
    store = RecordStore.open(url)
    engine = Engine()
    actor = "test:setup"
    patient_ids: dict[str, str] = {}
    nodule_ids: dict[str, str] = {}
    assessment_ids: dict[str, str] = {}
    for key, (name, identifier, clinic) in PATIENTS.items():
        patient = store.run(
            lambda uow, n=name, i=identifier, c=clinic: services.register_patient(
                uow,
                actor,
                identifier=i,
                name=n,
                birth_date=dt.date(1971, 3, 4),
                sex="female",
                clinic=c,
            )
        )
        patient_ids[key] = patient.id
        nodule = store.run(
            lambda uow, p=patient.id: services.add_nodule(
                uow, actor, p, x=30, y=38, side="left", region="posterior_iliac_crest"
            )
        )
        nodule_ids[key] = nodule.id
        store.run(
            lambda uow, p=patient.id: services.record_assessment(
                uow, actor, p, engine, dict(SPEC_EXAMPLE)
            )
        )
        flagged = store.run(
            lambda uow, p=patient.id: services.record_assessment(uow, actor, p, engine, FLAGGED)
        )
        assessment_ids[key] = flagged.id
        store.run(
            lambda uow, p=patient.id, nid=nodule.id: services.record_pain_scores(
                uow,
                actor,
                p,
                [services.ScoreEntry(6, "current", dt.datetime.now(dt.UTC), nid)],
            )
        )
    _add_user(store, "admin", "admin")
    _add_user(store, "dr.main", "clinician")
    _add_user(store, "dr.north", "clinician", clinic="north")
    _add_user(store, "alice", "patient", patient_id=patient_ids["A"])
    _add_user(store, "bob", "patient", patient_id=patient_ids["B"])
    _add_user(store, "spare.main", "clinician")
    _add_user(store, "spare.north", "clinician", clinic="north")
    user_ids = {
        key: store.run(lambda uow, u=name: uow.users.where(username=u)[0].id)
        for key, name in (("A", "spare.main"), ("B", "spare.main"), ("C", "spare.north"))
    }
    app = create_app(Settings(database_url=url, data_dir=folder), store=store)
    from backmice.care.education import education_pages

    users = {"admin": "admin", "dr.main": "clinician", "dr.north": "clinician"}
    users |= {"alice": "patient", "bob": "patient"}
    yield Site(
        app,
        store,
        patient_ids,
        nodule_ids,
        assessment_ids,
        user_ids,
        education_pages()[0].id,
        users,
    )
    store.close()


# --- one cell of the matrix ----------------------------------------------------------


@dataclass
class Cell:
    site: Site
    method: str
    template: str
    column: str

    @property
    def account(self) -> str | None:
        return COLUMNS[self.column][0]

    @property
    def target(self) -> str:
        return COLUMNS[self.column][1]

    @property
    def path(self) -> str:
        if self.template == "/static":
            return "/static/app.css"
        return self.template.format(
            patient_id=self.site.patient_ids[self.target],
            nodule_id=self.site.nodule_ids[self.target],
            assessment_id=self.site.assessment_ids[self.target],
            user_id=self.site.user_ids[self.target],
            flag_id=FLAG,
            page_id=self.site.page_id,
        )

    def forbidden_text(self) -> list[str]:
        """Names and record numbers of every patient this account may not see."""
        hidden = set(PATIENTS) - VISIBLE[self.account]
        return [text for key in sorted(hidden) for text in PATIENTS[key][:2]]

    @functools.cached_property
    def credentials(self) -> tuple[str | None, str]:
        """The session token and CSRF token this cell sends (none when anonymous)."""
        if self.account is None:
            return None, ""
        if self.template == "/logout":  # signing out ends a session: one of its own
            return self.site.sign_in(self.account)
        return self.site.session(self.account)

    def send(self, *, csrf: bool = True, csrf_value: str | None = None) -> Any:
        rule = RULES[(self.method, self.template)]
        token, csrf_token = self.credentials
        headers = {}
        if self.method in UNSAFE and csrf and self.account is not None:
            headers["X-CSRF-Token"] = csrf_value if csrf_value is not None else csrf_token
        with self.site.client(token) as client:
            return client.request(
                self.method,
                self.path,
                headers=headers,
                data=rule.form(self) if rule.form else None,
                json=rule.json(self) if rule.json else None,
            )


def _expected(cell: Cell) -> set[int] | str:
    """The policy for one cell: a set of status codes, or "allowed" (2xx or 3xx that
    does not send the user to the sign-in page)."""
    rule = RULES[(cell.method, cell.template)]
    api = cell.template.startswith("/api/")
    if rule.roles is None:
        assert rule.public_status is not None
        return {rule.public_status}
    if cell.account is None:
        return {401} if api else {303}
    role = cell.site.users[cell.account]
    scoped = any(name in cell.template for name in RECORD_IDS)
    if role not in rule.roles:
        # wrong role: 403; on a record's path the record check may answer first (404)
        return {403, 404} if scoped else {403}
    if scoped and cell.target not in visible_targets(cell.account, cell.template):
        return {404}
    return "allowed"


MATRIX = [
    pytest.param(method, template, column, id=f"{method} {template} · {column}")
    for (method, template) in RULES
    for column in COLUMNS
]


def _served(routes: list[Any]) -> Iterator[tuple[str, str]]:
    """(method, path) of every route the app answers, included routers flattened."""
    for route in routes:
        # FastAPI keeps an included router as one entry whose routes are its contexts
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            for context in contexts():
                yield from ((m, context.path) for m in context.methods if m != "HEAD")
            continue
        methods = getattr(route, "methods", None) or {"GET"}  # a mount serves GET
        yield from ((m, str(route.path)) for m in methods if m != "HEAD")


def test_every_route_is_in_the_matrix(site: Site) -> None:
    served = set(_served(site.app.routes))
    missing = sorted(served - set(RULES))
    stale = sorted(set(RULES) - served)
    assert not missing, f"routes without a rule in RULES (add who may use them): {missing}"
    assert not stale, f"rules for routes the app no longer has: {stale}"


@pytest.mark.parametrize(("method", "template", "column"), MATRIX)
def test_authorisation_matrix(site: Site, method: str, template: str, column: str) -> None:
    cell = Cell(site, method, template, column)
    expected = _expected(cell)
    refused = expected != "allowed" and RULES[(method, template)].roles is not None
    assert cell.credentials  # signed in before counting rows
    before = site.row_counts() if refused else None
    last_event = site.last_audit_id()
    response = cell.send()
    where = f"{method} {cell.path} as {column}"
    if expected == "allowed":
        assert 200 <= response.status_code < 400, f"{where}: {response.status_code}"
        if response.status_code in (302, 303, 307) and template != "/logout":
            assert response.headers["location"] != "/login", f"{where}: sent to sign in"
    else:
        assert response.status_code in expected, (
            f"{where}: {response.status_code}, the policy says {sorted(expected)}"
        )
        if cell.account is None and RULES[(method, template)].roles is not None:
            assert response.headers.get("location", "/login") == "/login", where
    seen = response.text + " " + " ".join(response.headers.values())
    for text in cell.forbidden_text():
        assert text not in seen, f"{where}: the response shows {text!r}"
    if before is not None:
        # nothing changed; at most a read of the user's own record is in the audit trail
        after = site.row_counts()
        changed = {t for t in after if after[t] != before[t] and t != "audit_events"}
        assert not changed, f"{where}: a refused request wrote to {sorted(changed)}"
        own = site.patient_ids["A"] if cell.account == "alice" else None
        named = set(site.audited_patients_since(last_event)) - {own}
        assert not named, f"{where}: a refused request left audit events about {named}"


def test_a_nodule_of_another_patient_is_not_found_under_this_patients_path(site: Site) -> None:
    token, csrf = site.session("dr.main")
    path = f"/patients/{site.patient_ids['A']}/nodules/{site.nodule_ids['B']}/status"
    before = site.row_counts()
    with site.client(token) as client:
        response = client.post(path, data={"status": "excised"}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 404
    assert site.row_counts() == before


def test_an_unknown_patient_answers_exactly_like_another_clinics_patient(site: Site) -> None:
    token, _ = site.session("dr.main")
    with site.client(token) as client:
        other = client.get(f"/api/v1/patients/{site.patient_ids['C']}")
        unknown = client.get("/api/v1/patients/00000000-0000-0000-0000-000000000000")
    assert other.status_code == unknown.status_code == 404
    assert other.json()["errors"][0]["message"].replace(site.patient_ids["C"], "ID") == (
        unknown.json()["errors"][0]["message"].replace("00000000-0000-0000-0000-000000000000", "ID")
    )


# --- CSRF ----------------------------------------------------------------------------

CSRF_ROUTES = [
    pytest.param(method, template, id=f"{method} {template}")
    for (method, template), rule in RULES.items()
    if method in UNSAFE and rule.roles is not None
]


def _allowed_cell(site: Site, method: str, template: str) -> Cell:
    rule = RULES[(method, template)]
    assert rule.roles is not None
    column = "clinician_own_clinic" if "clinician" in rule.roles else "patient_own_record"
    if "admin" in rule.roles and not rule.roles & {"clinician", "patient"}:
        column = "admin"
    return Cell(site, method, template, column)


@pytest.mark.parametrize(("method", "template"), CSRF_ROUTES)
def test_an_unsafe_request_without_the_csrf_token_is_refused_and_writes_nothing(
    site: Site, method: str, template: str
) -> None:
    cell = _allowed_cell(site, method, template)
    other_token = site.sign_in("dr.north")[1]  # a real token, of another session
    assert cell.credentials  # signed in before counting rows
    for attempt in ({"csrf": False}, {"csrf_value": other_token}, {"csrf_value": ""}):
        before = site.row_counts()
        response = cell.send(**attempt)
        assert response.status_code == 403, f"{method} {cell.path} {attempt}"
        assert site.row_counts() == before, f"{method} {cell.path} {attempt}: wrote anyway"
    # the same request with the token goes through: the token was what was missing
    assert 200 <= cell.send().status_code < 400


def test_a_form_post_may_carry_the_token_as_a_field_instead_of_a_header(site: Site) -> None:
    token, csrf = site.session("dr.main")
    path = f"/patients/{site.patient_ids['A']}/nodules"
    with site.client(token) as client:
        refused = client.post(path, data={"x": "20", "y": "40", "csrf_token": "forged"})
        accepted = client.post(path, data={"x": "20", "y": "40", "csrf_token": csrf})
    assert refused.status_code == 403
    assert accepted.status_code == 303


def test_signing_in_without_the_sign_in_forms_token_is_refused_and_opens_no_session(
    site: Site,
) -> None:
    before = site.row_counts()
    with site.client() as client:
        response = client.post("/login", data={"username": "dr.main", "password": PASSWORD})
    assert response.status_code == 403
    assert COOKIE not in response.cookies
    assert site.row_counts() == before


# --- sessions ------------------------------------------------------------------------


def _form_token(html: str) -> str:
    found = re.search(r'name="login_token" value="([^"]+)"', html)
    assert found, "the sign-in form has no login_token field"
    return found.group(1)


def _sign_in_with_form(client: TestClient, username: str, password: str) -> Any:
    token = _form_token(client.get("/login").text)
    return client.post(
        "/login", data={"username": username, "password": password, "login_token": token}
    )


def test_signing_in_issues_a_new_session_and_csrf_token_and_ends_the_old_one(
    site: Site,
) -> None:
    with site.client() as client:
        client.cookies.set(COOKIE, "planted-by-an-attacker")
        first = _sign_in_with_form(client, "bob", PASSWORD)
        assert first.status_code == 303 and first.headers["location"] == "/me"
        token_1 = first.cookies[COOKIE]
        assert token_1 != "planted-by-an-attacker"
        csrf_1 = client.get("/api/v1/me").json()["csrf_token"]

        # an attacker's own valid session planted in the browser before the victim signs in
        second = _sign_in_with_form(client, "bob", PASSWORD)
        token_2 = second.cookies[COOKIE]
        csrf_2 = client.get("/api/v1/me").json()["csrf_token"]
    assert token_2 != token_1
    assert csrf_2 != csrf_1
    with site.client(token_1) as old:
        assert old.get("/api/v1/me").status_code == 401
    with site.client(token_2) as new:
        assert new.get("/api/v1/me").status_code == 200


def test_the_session_cookie_is_httponly_secure_and_samesite(site: Site) -> None:
    with site.client() as client:
        response = _sign_in_with_form(client, "bob", PASSWORD)
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and COOKIE in v)
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= flags


def test_signing_out_ends_the_session(site: Site) -> None:
    token, csrf = site.sign_in("bob")
    with site.client(token) as client:
        assert client.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 303
    with site.client(token) as client:
        assert client.get("/api/v1/me").status_code == 401
        assert client.get("/me").headers["location"] == "/login"


def _sessions_of(site: Site, username: str) -> list[Any]:
    def work(uow: Any) -> list[Any]:
        [user] = uow.users.where(username=username)
        return list(uow.sessions.where(user_id=user.id))

    return site.store.run(work)


def test_a_session_due_its_touch_is_touched_by_the_next_request_and_kept(site: Site) -> None:
    # requests read the session without writing; one seen over a minute ago is written
    _add_user(site.store, "seen.earlier", "clinician")
    signed = site.store.run(
        lambda uow: accounts.sign_in(
            uow, "seen.earlier", PASSWORD, at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        )
    )
    [before] = _sessions_of(site, "seen.earlier")
    with site.client(signed.token) as client:
        assert client.get("/api/v1/me").status_code == 200
        [touched] = _sessions_of(site, "seen.earlier")
        assert touched.last_seen_at > before.last_seen_at + dt.timedelta(minutes=4)
        assert client.get("/api/v1/me").status_code == 200
    [again] = _sessions_of(site, "seen.earlier")
    assert again.last_seen_at == touched.last_seen_at  # within the minute: no write


def test_an_idle_session_is_refused_and_removed(site: Site) -> None:
    _add_user(site.store, "gone.idle", "clinician")
    idle = dt.datetime.now(dt.UTC) - accounts.IDLE_TIMEOUT - dt.timedelta(minutes=1)
    signed = site.store.run(lambda uow: accounts.sign_in(uow, "gone.idle", PASSWORD, at=idle))
    assert len(_sessions_of(site, "gone.idle")) == 1
    with site.client(signed.token) as client:
        assert client.get("/api/v1/me").status_code == 401
    assert _sessions_of(site, "gone.idle") == []


def test_a_deactivated_account_is_refused_at_its_next_request(site: Site) -> None:
    _add_user(site.store, "soon.gone", "clinician")
    token, _ = site.sign_in("soon.gone")
    with site.client(token) as client:
        assert client.get("/api/v1/me").status_code == 200
        # what another worker (or the admin pages) does: the database is the only state
        site.store.run(
            lambda uow: accounts.set_active(
                uow,
                "test:admin",
                uow.users.where(username="soon.gone")[0].id,
                False,
                clinic="main",
            )
        )
        assert client.get("/api/v1/me").status_code == 401


def test_five_failed_sign_ins_lock_the_name_even_against_the_right_password(
    site: Site,
) -> None:
    _add_user(site.store, "locky", "clinician")
    with site.client() as client:
        for _ in range(5):
            failed = _sign_in_with_form(client, "locky", "not the password at all")
            assert failed.status_code == 401
            assert "not right" in failed.text
        sixth = _sign_in_with_form(client, "locky", PASSWORD)
        assert sixth.status_code == 401
        assert "locked" in sixth.text
        assert COOKIE not in sixth.cookies
        assert client.get("/api/v1/me").status_code == 401
        # an unknown name locks the same way: the answer says nothing about who exists
        for _ in range(5):
            _sign_in_with_form(client, "nobody-by-this-name", "guess")
        assert "locked" in _sign_in_with_form(client, "nobody-by-this-name", "guess").text
        # the lock is per name: others still sign in
        assert _sign_in_with_form(client, "bob", PASSWORD).status_code == 303


# --- headers -------------------------------------------------------------------------


def _check_headers(response: Any, where: str, *, cacheable: bool = False) -> None:
    h = response.headers
    csp = h.get("content-security-policy", "")
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, f"{where}: {csp}"
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", f"{where}: {csp}"
    assert directives.get("default-src") == "default-src 'self'", f"{where}: {csp}"
    assert directives.get("script-src") == "script-src 'self'", f"{where}: {csp}"
    assert directives.get("object-src") == "object-src 'none'", f"{where}: {csp}"
    assert h.get("x-content-type-options") == "nosniff", where
    assert h.get("x-frame-options") == "DENY", where
    assert h.get("referrer-policy") == "no-referrer", where
    assert h.get("strict-transport-security", "").startswith("max-age="), where
    if not cacheable:
        assert h.get("cache-control") == "no-store", f"{where}: {h.get('cache-control')}"


def test_security_headers_are_on_pages_api_answers_static_files_and_errors(
    site: Site,
) -> None:
    token, csrf = site.session("dr.main")
    patient_token, _ = site.session("alice")
    with (
        site.client() as anonymous,
        site.client(token) as clinician,
        site.client(patient_token) as patient,
    ):
        responses = {
            "sign-in page": anonymous.get("/login"),
            "redirect to sign in": anonymous.get("/patients"),
            "API 401": anonymous.get("/api/v1/me"),
            "unknown path 404": anonymous.get("/no/such/page"),
            "patient list": clinician.get("/patients"),
            "patient page": clinician.get(f"/patients/{site.patient_ids['A']}"),
            "API answer": clinician.get("/api/v1/me"),
            "API 404": clinician.get(f"/api/v1/patients/{site.patient_ids['C']}"),
            "API 403 (no CSRF token)": clinician.post("/api/v1/assess", content=b"{"),
            "API 422": clinician.post(
                "/api/v1/assess", content=b"{", headers={"X-CSRF-Token": csrf}
            ),
            "page 403": patient.get("/patients"),
            "page 404": clinician.get(f"/patients/{site.patient_ids['C']}"),
            "openapi": anonymous.get("/openapi.json"),
            "health": anonymous.get("/health"),
        }
        static = anonymous.get("/static/app.css")
    for where, response in responses.items():
        _check_headers(response, where)
    _check_headers(static, "static file", cacheable=True)
    assert responses["patient page"].status_code == 200
    assert responses["page 403"].status_code == 403
    assert responses["API 404"].status_code == 404
    assert responses["API 422"].status_code == 422


def test_an_internal_error_answers_500_with_the_headers_and_without_the_exception_text(
    site: Site, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'boom.db'}"
    app = create_app(Settings(database_url=url, data_dir=tmp_path), store=site.store)

    def boom() -> None:
        raise RuntimeError("secret detail MRN-OWN-7731")

    app.add_api_route("/api/v1/boom", boom)
    app.add_api_route("/boom", boom)
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as client:
        for path in ("/api/v1/boom", "/boom"):
            response = client.get(path)
            assert response.status_code == 500
            assert "secret detail" not in response.text
            assert "MRN-OWN-7731" not in response.text
            _check_headers(response, f"500 on {path}")
