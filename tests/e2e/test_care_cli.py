"""Care commands as a clinician runs them: nodule, score, treatment, injection, plan, due,
report and handout, on the default SQLite database in a fresh data directory."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.e2e.test_records_cli import add_patient, home, run

__all__ = ["home"]  # the fixture, shared with the record commands' tests

CASE = {
    "schema": "backmice.assessment/1",
    "setting": "pain_clinic",
    "age": 50,
    "sex": "female",
    "findings": {
        "lump_present": True,
        "location": "posterior_iliac_crest",
        "consistency": "rubbery",
        "mobile": True,
        "tender": True,
        "pressure_reproduces_pain": True,
    },
}


@pytest.fixture
def patient(home: dict[str, str], tmp_path: Path) -> tuple[str, str]:
    patient_id = add_patient(home)
    nodule = run(
        home,
        "nodule", "add", "--patient", patient_id, "--x", "34", "--y", "60", "--side", "left",
        "--region", "posterior_iliac_crest", "--label", "L1", "--size-cm", "1.5",
    )  # fmt: skip
    assert nodule.returncode == 0, nodule.stderr
    case = tmp_path / "case.json"
    case.write_text(json.dumps(CASE))
    stored = run(home, "assess", str(case), "--patient", patient_id)
    assert stored.returncode == 0, stored.stderr
    return patient_id, nodule.stdout.strip()


def test_the_plan_starts_with_a_diagnostic_test_and_moves_on_after_it(
    home: dict[str, str], patient: tuple[str, str]
) -> None:
    pid, nodule = patient
    plan = json.loads(run(home, "plan", "--patient", pid, "--format", "json").stdout)
    assert plan["status"] == "on_pathway"
    assert plan["current_step"]["id"] == "confirm_diagnosis"
    assert "does not replace" in plan["disclaimer"]
    done = run(
        home, "injection", "--patient", pid, "--nodule", nodule, "--pre", "8", "--post", "2",
        "--minutes", "30", "--format", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    reading = json.loads(done.stdout)
    assert (reading["relief_percent"], reading["interpretation"]) == (75.0, "positive")
    assert reading["after"]["differential"][0]["condition"] == "episacral_lipoma"
    # the relief is now evidence in the updated differential (its direction is the
    # knowledge base's business: a block also relieves cluneal nerve entrapment)
    evidence = [e["finding"] for d in reading["after"]["differential"] for e in d["evidence"]]
    assert "injection_relief_percent" in evidence
    assert reading["after"]["differential"] != reading["before"]["differential"]
    accepted = run(home, "plan", "--patient", pid, "--accept")
    assert accepted.returncode == 0, accepted.stderr
    review = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=42)).isoformat()
    assert f"recorded: accept self_care; review due {review}" in accepted.stdout
    due = json.loads(run(home, "due", "--within", "42", "--format", "json").stdout)
    assert [(d["patient_id"], d["step_id"]) for d in due] == [(pid, "self_care")]
    assert json.loads(run(home, "due", "--format", "json").stdout) == []


def test_an_injection_without_a_patient_reads_the_test_and_reassesses_a_file(
    home: dict[str, str], tmp_path: Path
) -> None:
    case = tmp_path / "case.json"
    case.write_text(json.dumps(CASE))
    done = run(home, "injection", "--relief", "49.9", "--minutes", "30", "--case", str(case))
    assert done.returncode == 0, done.stderr
    assert "Relief 49.9%: negative" in done.stdout
    assert "saline" in done.stdout and "does not replace" in done.stdout
    assert not (Path(home["BACKMICE_DATA_DIR"]) / "backmice.db").exists()  # nothing stored


def test_a_nodule_without_side_or_region_gets_them_from_its_place_on_the_map(
    home: dict[str, str], patient: tuple[str, str]
) -> None:
    pid, _ = patient
    added = run(home, "nodule", "add", "--patient", pid, "--x", "71", "--y", "47")
    assert added.returncode == 0, added.stderr
    chosen = run(
        home, "nodule", "add", "--patient", pid, "--x", "71", "--y", "47", "--region", "flank"
    )
    assert chosen.returncode == 0, chosen.stderr
    shown = json.loads(run(home, "patient", "show", pid, "--format", "json").stdout)
    by_id = {n["id"]: n for n in shown["nodules"]}
    suggested, overridden = by_id[added.stdout.strip()], by_id[chosen.stdout.strip()]
    assert (suggested["side"], suggested["region"]) == ("right", "posterior_iliac_crest")
    assert (overridden["side"], overridden["region"]) == ("right", "flank")
    off_map = run(home, "nodule", "add", "--patient", pid, "--x", "140", "--y", "47")
    assert off_map.returncode == 2 and "x: 140" in off_map.stderr, off_map.stderr


def test_bad_care_input_names_the_field_and_writes_nothing(
    home: dict[str, str], patient: tuple[str, str]
) -> None:
    pid, _ = patient
    cases = [
        (("score", "--patient", pid, "--nrs", "11"), "0 to 10"),
        (("score", "--patient", pid, "--pgic", "9"), "entries[0].value: 9 is not a PGIC"),
        (("score", "--patient", pid, "--nrs", "3", "--at", "2999-01-01T00:00+00:00"), "future"),
        (("treatment", "--patient", pid, "--kind", "cupping"), "kind: 'cupping' is not one of"),
        (("plan", "--patient", pid, "--choose", "self_care"), "reason: None is not one of"),
        (("plan", "--patient", pid, "--stop"), "reason: None is not one of resolved"),
        (("injection", "--pre", "8", "--post", "12", "--minutes", "20"), "post_nrs: 12"),
        (("due", "--on", "tomorrow"), "--on: 'tomorrow' is not a date"),
        (("plan", "--patient", "nobody"), "patient 'nobody' does not exist"),
    ]
    before = run(home, "export", "--patient", pid).stdout
    for args, message in cases:
        done = run(home, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
    after = run(home, "export", "--patient", pid).stdout
    assert json.loads(after) == json.loads(before)


def test_the_report_and_handout_are_pdfs_with_their_sections(
    home: dict[str, str], patient: tuple[str, str], tmp_path: Path
) -> None:
    pid, _ = patient
    assert run(home, "score", "--patient", pid, "--nrs", "6", "--pgic", "3").returncode == 0
    report, handout = tmp_path / "report.pdf", tmp_path / "handout.pdf"
    for command, path in (("report", report), ("handout", handout)):
        done = run(home, command, "--patient", pid, "--pdf", str(path))
        assert done.returncode == 0, done.stderr
    text = "\n".join(page.extract_text() for page in PdfReader(report).pages)
    for heading in ("Visit summary", "Differential", "Red flags", "Care plan", "Pain"):
        assert heading in text
    assert "Diagnostic injection test" in text
    plain = "\n".join(page.extract_text() for page in PdfReader(handout).pages)
    assert "Your plan" in plain and "Warning signs" in plain
    assert "A test injection of numbing medicine" in plain  # the plain step name
    missing = run(home, "report", "--patient", pid, "--pdf", str(tmp_path / "no" / "r.pdf"))
    assert missing.returncode == 2 and "is not a folder that exists" in missing.stderr


def test_a_clinic_threshold_from_the_environment_changes_the_reading(
    home: dict[str, str],
) -> None:
    args = ("injection", "--relief", "60", "--minutes", "30")
    assert "Relief 60%: positive" in run(home, *args).stdout
    clinic = {**home, "BACKMICE_INJECTION_POSITIVE_PERCENT": "70"}
    assert "Relief 60%: negative (positive from 70%" in run(clinic, *args).stdout
