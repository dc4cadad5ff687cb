"""The patient and admin pages over HTTP: pain diary, self-check, handout, accounts.

Each test runs the real application on a fresh SQLite file and signs in through the
sign-in form, as a browser would.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backmice.config import Settings
from backmice.records import domain, services
from backmice.records.services import accounts
from backmice.records.store import RecordStore
from backmice.web.app import create_app

PASSWORD = "a long enough password"


@dataclass
class Clinic:
    store: RecordStore
    app_client: TestClient
    me: domain.Patient  # the patient "pat" signs in to
    other: domain.Patient  # another patient of the same clinic
    nodule: domain.Nodule  # one of pat's lumps
    elsewhere: domain.Nodule  # a lump of the other patient

    def client(self) -> TestClient:
        return TestClient(self.app_client.app, base_url="https://testserver")


def _patient(store: RecordStore, identifier: str, name: str) -> domain.Patient:
    return store.run(
        lambda uow: services.register_patient(
            uow, "test", identifier=identifier, name=name,
            birth_date=dt.date(1970, 2, 3), sex="female",
        )
    )  # fmt: skip


def _user(store: RecordStore, username: str, role: str, patient_id: str | None = None) -> None:
    store.run(
        lambda uow: accounts.create_user(
            uow, "test", username=username, display_name=username.title(), role=role,
            password=PASSWORD, patient_id=patient_id,
        )
    )  # fmt: skip


def _nodule(store: RecordStore, patient_id: str, label: str) -> domain.Nodule:
    return store.run(
        lambda uow: services.add_nodule(
            uow, "test", patient_id, x=30, y=38, side="left",
            region="posterior_iliac_crest", label=label,
        )
    )  # fmt: skip


@pytest.fixture
def clinic(tmp_path: Path) -> Iterator[Clinic]:
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    store = RecordStore.open(url)
    me = _patient(store, "MRN-1", "Pat Example")
    other = _patient(store, "MRN-2", "Olive Other")
    nodule = _nodule(store, me.id, "A")
    elsewhere = _nodule(store, other.id, "Z")
    _user(store, "pat", "patient", me.id)
    _user(store, "olive", "patient", other.id)
    _user(store, "dr.who", "clinician")
    _user(store, "boss", "admin")
    app = create_app(Settings(database_url=url, data_dir=tmp_path), store=store)
    with TestClient(app, base_url="https://testserver") as client:
        yield Clinic(store, client, me, other, nodule, elsewhere)
    store.close()


def sign_in(client: TestClient, username: str) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    page = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "login_token": token.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client.get("/api/v1/me").json()["csrf_token"] if username != "boss" else _csrf(client)


def _csrf(client: TestClient) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/users").text)
    assert found is not None
    return found.group(1)


def audit_actions(store: RecordStore, patient_id: str) -> list[tuple[str, str, str]]:
    events = store.run(lambda uow: uow.audit.for_patient(patient_id))
    return [(e.actor, e.action, e.entity) for e in events]


# --- pain diary ------------------------------------------------------------------------


def test_diary_entries_are_stored_on_the_patients_own_record_and_audited(clinic: Clinic) -> None:
    client = clinic.client()
    csrf = sign_in(client, "pat")
    page = client.get("/me/diary")
    assert page.status_code == 200
    assert 'class="tap-grid nrs"' in page.text
    assert "Lump A: left side, on the bony ridge" in page.text  # their lump, in plain words
    assert clinic.elsewhere.id not in page.text
    for score, kind in ((6, "current"), (8, "worst")):
        saved = client.post(
            "/me/diary",
            data={
                "csrf_token": csrf, "score": str(score), "kind": kind,
                "nodule": clinic.nodule.id, "pgic": "3", "sitting_minutes": "45",
            },
            follow_redirects=False,
        )  # fmt: skip
        assert saved.status_code == 303 and saved.headers["location"].startswith("/me/diary?saved")
    scores = clinic.store.run(lambda uow: uow.pain_scores.for_patient(clinic.me.id))
    assert [(s.score, s.kind, s.nodule_id) for s in scores] == [
        (6, "current", clinic.nodule.id),
        (8, "worst", clinic.nodule.id),
    ]
    outcomes = clinic.store.run(lambda uow: uow.outcome_scores.for_patient(clinic.me.id))
    assert sorted((o.measure, o.value) for o in outcomes) == sorted(
        [("pgic", 3), ("sitting_tolerance", 45)] * 2
    )
    actions = audit_actions(clinic.store, clinic.me.id)
    assert actions.count(("web:pat", "create", "pain_scores")) == 2
    assert actions.count(("web:pat", "create", "outcome_scores")) == 2
    listed = client.get("/me/diary?saved=1")
    assert "Saved." in listed.text and "Worst today" in listed.text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"score": "11"}, "score: &#39;11&#39; is not a whole number from 0 to 10"),
        ({"score": ""}, "score: no value given; expected a whole number from 0 to 10"),
        ({"kind": "awful"}, "kind: &#39;awful&#39; is not one of current, worst, with_pressure"),
        ({"pgic": "9"}, "pgic: &#39;9&#39; is not a rating from 1"),
        ({"sitting_minutes": "-5"}, "sitting_minutes: &#39;-5&#39; is not whole minutes"),
        ({"nodule": "not-mine"}, "nodule: &#39;not-mine&#39; is not one of your lumps"),
    ],
)
def test_bad_diary_input_is_named_and_writes_nothing(
    clinic: Clinic, fields: dict[str, str], message: str
) -> None:
    client = clinic.client()
    csrf = sign_in(client, "pat")
    data = {"csrf_token": csrf, "score": "4", "kind": "current", "pgic": "2", **fields}
    answer = client.post("/me/diary", data=data)
    assert answer.status_code == 422
    assert "Nothing was saved" in answer.text and message in answer.text
    assert not clinic.store.run(lambda uow: uow.pain_scores.for_patient(clinic.me.id))
    assert not clinic.store.run(lambda uow: uow.outcome_scores.for_patient(clinic.me.id))


def test_another_patients_lump_is_refused_like_a_missing_one(clinic: Clinic) -> None:
    client = clinic.client()
    csrf = sign_in(client, "pat")
    data = {"csrf_token": csrf, "score": "4", "kind": "current", "nodule": clinic.elsewhere.id}
    answer = client.post("/me/diary", data=data)
    assert answer.status_code == 422 and "is not one of your lumps" in answer.text
    assert not clinic.store.run(lambda uow: uow.pain_scores.where())


def test_a_diary_entry_without_the_csrf_token_is_refused(clinic: Clinic) -> None:
    client = clinic.client()
    sign_in(client, "pat")
    answer = client.post("/me/diary", data={"score": "4", "kind": "current"})
    assert answer.status_code == 403
    assert not clinic.store.run(lambda uow: uow.pain_scores.where())


# --- self-check ------------------------------------------------------------------------


def _form_state(html: str) -> tuple[list[str], str]:
    hidden = re.findall(r'name="a" value="([^"]*)"', html)
    finding = re.search(r'name="finding" value="([^"]+)"', html)
    assert finding is not None, html
    return [h.replace("&#39;", "'") for h in hidden], finding.group(1)


#: Answers of a typical back mouse; anything not listed is answered "no" or "I don't know".
BACK_MOUSE = {
    "lump_present": "yes",
    "location": "posterior_iliac_crest",
    "consistency": "rubbery",
    "tender": "yes",
    "pressure_reproduces_pain": "yes",
    "mobile": "yes",
    "pain_present": "yes",
    "size_cm": "2",
    "age": "52",
    "sex": "female",
    "duration_weeks": "20",
}


def walk(client: TestClient, csrf: str, answers: dict[str, str], limit: int = 45) -> str:
    """Answer every question from `answers` (otherwise "no", or "?" where no fits) until
    the self-check redirects to its result; returns the result page's HTML."""
    page = client.post("/me/self-check", data={"csrf_token": csrf})
    for _ in range(limit):
        assert page.status_code == 200, page.text
        hidden, finding = _form_state(page.text)
        value = answers.get(finding, "no" if 'value="no"' in page.text else "?")
        data: dict[str, object] = {"csrf_token": csrf, "a": hidden, "finding": finding}
        if 'name="number"' in page.text and value != "?":
            data |= {"answer": "number", "number": value}
        else:
            data["answer"] = value
        page = client.post("/me/self-check", data=data, follow_redirects=False)
        if page.status_code == 303:
            assert page.headers["location"].startswith("/me/self-check/result/")
            return client.get(page.headers["location"]).text
    raise AssertionError(f"no result after {limit} questions")


def test_a_self_check_walk_reaches_a_plain_result_with_safety_netting(clinic: Clinic) -> None:
    client = clinic.client()
    csrf = sign_in(client, "pat")
    intro = client.get("/me/self-check")
    assert "Numbness between your legs or around your bottom." in intro.text
    result = walk(client, csrf, BACK_MOUSE)
    assert "Back mouse (a tender, rubbery fatty lump near the hip bone)" in result
    assert "Get emergency help now" in result  # always, from the education page
    assert "Book to see a doctor within 2 weeks" in result
    assert "Looking after yourself is fine when" in result
    assert "Book an ordinary appointment" in result  # the triage, in plain words
    [stored] = clinic.store.run(lambda uow: uow.assessments.for_patient(clinic.me.id))
    assert stored.case["setting"] == "self_check"
    assert stored.case["findings"]["location"] == "posterior_iliac_crest"
    assert ("web:pat", "create", "assessment") in audit_actions(clinic.store, clinic.me.id)


def test_numbness_between_the_legs_sends_the_person_to_emergency_care_at_once(
    clinic: Clinic,
) -> None:
    client = clinic.client()
    csrf = sign_in(client, "pat")
    result = walk(client, csrf, {**BACK_MOUSE, "saddle_anaesthesia": "yes"})
    text = re.sub(r"\s+", " ", result)
    assert text.index("Important") < text.index("What to do now")  # red flags first
    assert "cauda equina" in text
    assert "Go to an emergency department or call an emergency number now." in text
    [stored] = clinic.store.run(lambda uow: uow.assessments.for_patient(clinic.me.id))
    assert stored.result["triage"] == "emergency"
    assert stored.case["findings"]["saddle_anaesthesia"] is True


def test_warning_signs_left_unanswered_are_named_on_the_result(clinic: Clinic) -> None:
    client = clinic.client()
    csrf = sign_in(client, "pat")
    unsure = {"bladder_bowel_dysfunction": "?", "saddle_anaesthesia": "?"}
    result = walk(client, csrf, {**BACK_MOUSE, **unsure})
    assert "This result does not know about some warning signs." in result
    assert "lost control of your bladder or bowels?" in result
    assert "around your bottom (where you would sit on a saddle)?" in result
    sure = walk(client, csrf, BACK_MOUSE)
    assert "does not know about some warning signs" not in sure


def test_a_bad_number_is_named_and_the_same_question_comes_back(clinic: Clinic) -> None:
    client = clinic.client()
    csrf = sign_in(client, "pat")
    page = client.post("/me/self-check", data={"csrf_token": csrf})
    for _ in range(40):  # "I don't know" until a question asks for a number
        hidden, finding = _form_state(page.text)
        if 'name="number"' in page.text:
            break
        data = {"csrf_token": csrf, "a": hidden, "finding": finding, "answer": "?"}
        page = client.post("/me/self-check", data=data)
    else:
        raise AssertionError("no question asked for a number")
    bad = {"csrf_token": csrf, "a": hidden, "finding": finding, "answer": "number"}
    answer = client.post("/me/self-check", data={**bad, "number": "-3"})
    assert answer.status_code == 422
    assert f"{finding}: -3 is not " in answer.text
    assert _form_state(answer.text) == (hidden, finding)
    answer = client.post("/me/self-check", data={**bad, "number": "big"})
    assert f"{finding}: &#39;big&#39; is not a" in answer.text
    answer = client.post("/me/self-check", data={**bad, "number": ""})
    assert f"{finding}: no value given" in answer.text
    assert not clinic.store.run(lambda uow: uow.assessments.where())


def test_changing_the_last_answer_asks_that_question_again(clinic: Clinic) -> None:
    client = clinic.client()
    csrf = sign_in(client, "pat")
    first = client.post("/me/self-check", data={"csrf_token": csrf})
    _, asked = _form_state(first.text)
    value = BACK_MOUSE.get(asked, "?")
    data = {"csrf_token": csrf, "finding": asked, "answer": value}
    second = client.post("/me/self-check", data=data)
    hidden, _ = _form_state(second.text)
    assert hidden == [f"{asked}={value}"]
    back = client.post("/me/self-check", data={"csrf_token": csrf, "a": hidden, "action": "back"})
    assert _form_state(back.text) == ([], asked)


def test_an_edited_hidden_answer_is_refused_and_nothing_is_stored(clinic: Clinic) -> None:
    client = clinic.client()
    csrf = sign_in(client, "pat")
    for hidden in (["injection_relief_percent=90"], ["size_cm=-3"], ["tender=maybe"]):
        answer = client.post("/me/self-check", data={"csrf_token": csrf, "a": hidden})
        assert answer.status_code == 422, hidden
    assert not clinic.store.run(lambda uow: uow.assessments.where())


def test_a_patient_cannot_open_a_self_check_result_of_another_record(clinic: Clinic) -> None:
    olive = clinic.client()
    walk(olive, sign_in(olive, "olive"), {**BACK_MOUSE})
    [theirs] = clinic.store.run(lambda uow: uow.assessments.for_patient(clinic.other.id))
    client = clinic.client()
    sign_in(client, "pat")
    assert client.get(f"/me/self-check/result/{theirs.id}").status_code == 404


# --- handout and access --------------------------------------------------------------


def test_the_patients_handout_downloads_as_a_pdf(clinic: Clinic) -> None:
    client = clinic.client()
    sign_in(client, "pat")
    answer = client.get("/me/report.pdf")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.content.startswith(b"%PDF")
    assert ("web:pat", "read", "timeline") in audit_actions(clinic.store, clinic.me.id)


def test_a_patient_sees_only_their_own_record(clinic: Clinic) -> None:
    client = clinic.client()
    sign_in(client, "pat")
    assert client.get("/patients").status_code == 403
    assert client.get(f"/patients/{clinic.other.id}").status_code in (403, 404)
    assert client.get(f"/api/v1/patients/{clinic.other.id}").status_code == 404
    assert client.get("/admin/users").status_code == 403
    for path in ("/me", "/me/diary", "/me/self-check"):
        page = client.get(path)
        assert page.status_code == 200 and "Olive" not in page.text
    assert not any(
        actor == "web:pat" for actor, _, _ in audit_actions(clinic.store, clinic.other.id)
    )


def test_signed_out_patient_pages_send_to_the_sign_in_page(clinic: Clinic) -> None:
    client = clinic.client()
    for path in ("/me/diary", "/me/self-check", "/me/report.pdf", "/admin/users"):
        answer = client.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/login")


# --- admin ---------------------------------------------------------------------------


def test_an_admin_lists_accounts_without_clinical_data(clinic: Clinic) -> None:
    client = clinic.client()
    sign_in(client, "boss")
    page = client.get("/admin/users")
    assert page.status_code == 200
    for name in ("pat", "olive", "dr.who", "boss"):
        assert f'<td data-label="Username">{name}</td>' in page.text
    assert "MRN-1" not in page.text and "Pat Example" not in page.text


def test_admins_cannot_open_clinical_or_patient_pages(clinic: Clinic) -> None:
    client = clinic.client()
    sign_in(client, "boss")
    for path in ("/patients", f"/patients/{clinic.me.id}", "/me", "/me/diary", "/learn"):
        assert client.get(path).status_code == 403, path
    assert client.get(f"/api/v1/patients/{clinic.me.id}").status_code in (403, 404)


def test_an_admin_creates_accounts_and_a_patient_account_signs_in_to_its_record(
    clinic: Clinic,
) -> None:
    client = clinic.client()
    csrf = sign_in(client, "boss")
    third = _patient(clinic.store, "MRN-3", "Theo Third")
    made = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf, "username": "theo", "display_name": "Theo",
            "role": "patient", "password": PASSWORD, "patient_identifier": "MRN-3",
        },
        follow_redirects=False,
    )  # fmt: skip
    assert made.status_code == 303
    listed = client.get(made.headers["location"])
    assert (
        "The account was created." in listed.text
        and '<td data-label="Username">theo</td>' in listed.text
    )
    assert PASSWORD not in listed.text
    theo = clinic.client()
    sign_in(theo, "theo")
    assert "Hello, Theo" in theo.get("/me").text
    [user] = clinic.store.run(lambda uow: uow.users.where(username="theo"))
    assert user.patient_id == third.id


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password": "too short"}, "password: is shorter than 12 characters"),
        ({"patient_identifier": "MRN-404"}, "patient_identifier: &#39;MRN-404&#39; is not a"),
        ({"patient_identifier": ""}, "patient_identifier: &#39;&#39; is empty"),
        ({"username": "pat"}, "username: &#39;pat&#39; is taken"),
        ({"role": "superuser"}, "role: &#39;superuser&#39; is not one of admin, clinician"),
    ],
)
def test_a_bad_new_account_is_named_never_echoes_the_password_and_writes_nothing(
    clinic: Clinic, fields: dict[str, str], message: str
) -> None:
    client = clinic.client()
    csrf = sign_in(client, "boss")
    data = {
        "csrf_token": csrf, "username": "newbie", "display_name": "New",
        "role": "patient", "password": "a secret passphrase", "patient_identifier": "MRN-1",
        **fields,
    }  # fmt: skip
    answer = client.post("/admin/users", data=data)
    assert answer.status_code == 422
    assert message in answer.text
    assert data["password"] not in answer.text
    count = clinic.store.run(lambda uow: len(uow.users.where()))
    assert count == 4


def test_deactivating_an_account_ends_its_sessions_at_once(clinic: Clinic) -> None:
    patient = clinic.client()
    sign_in(patient, "pat")
    assert patient.get("/me").status_code == 200
    admin = clinic.client()
    csrf = sign_in(admin, "boss")
    [pat] = clinic.store.run(lambda uow: uow.users.where(username="pat"))
    off = admin.post(
        f"/admin/users/{pat.id}/deactivate", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert off.status_code == 303
    assert patient.get("/me", follow_redirects=False).headers["location"] == "/login"
    assert "inactive" in admin.get("/admin/users").text
    on = admin.post(f"/admin/users/{pat.id}/activate", data={"csrf_token": csrf})
    assert on.status_code == 200 and "reactivated" in on.text
    assert sign_in(clinic.client(), "pat")


def test_an_admin_cannot_deactivate_themselves_or_without_the_csrf_token(clinic: Clinic) -> None:
    admin = clinic.client()
    csrf = sign_in(admin, "boss")
    [boss] = clinic.store.run(lambda uow: uow.users.where(username="boss"))
    mine = admin.post(f"/admin/users/{boss.id}/deactivate", data={"csrf_token": csrf})
    assert mine.status_code == 422 and "cannot deactivate your own account" in mine.text
    [pat] = clinic.store.run(lambda uow: uow.users.where(username="pat"))
    assert admin.post(f"/admin/users/{pat.id}/deactivate").status_code == 403
    assert (
        admin.post("/admin/users/nobody/deactivate", data={"csrf_token": csrf}).status_code == 404
    )
    assert all(u.active for u in clinic.store.run(lambda uow: uow.users.where()))
