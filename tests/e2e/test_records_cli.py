"""Record commands as a user runs them, on the default SQLite database in a fresh data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backmice.records import migrate


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKMICE_")}
    env["BACKMICE_DATA_DIR"] = str(tmp_path / "data")
    return env


def run(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backmice", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def add_patient(env: dict[str, str], identifier: str = "MRN-7") -> str:
    done = run(
        env,
        "patient",
        "add",
        "--identifier",
        identifier,
        "--name",
        "Test Person",
        "--birth-date",
        "1970-02-03",
        "--sex",
        "female",
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_db_upgrade_creates_the_default_database(home: dict[str, str]) -> None:
    done = run(home, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    head = migrate.head_revision()
    assert f"empty -> {head} (head)" in done.stdout
    assert (Path(home["BACKMICE_DATA_DIR"]) / "backmice.db").is_file()
    again = run(home, "db", "upgrade")
    assert f"schema {head} -> {head}" in again.stdout


def test_patients_can_be_added_listed_and_shown(home: dict[str, str]) -> None:
    patient_id = add_patient(home)
    listed = run(home, "patient", "list", "--format", "json")
    assert listed.returncode == 0
    [entry] = json.loads(listed.stdout)
    assert entry["id"] == patient_id and entry["identifier"] == "MRN-7"
    shown = run(home, "patient", "show", patient_id)
    assert "Test Person (MRN-7)" in shown.stdout
    record = json.loads(run(home, "patient", "show", patient_id, "--format", "json").stdout)
    assert record["patient"]["id"] == patient_id


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--birth-date", "03/02/1970", "--sex", "female"],
            "birth_date: '03/02/1970' is not a date",
        ),
        (
            ["--birth-date", "1970-02-03", "--sex", "f"],
            "sex: 'f' is not one of female, male, other",
        ),
        (
            ["--birth-date", "2999-02-03", "--sex", "male"],
            "birth_date: 2999-02-03 is in the future",
        ),
    ],
)
def test_bad_patient_input_exits_2_and_writes_nothing(
    home: dict[str, str], args: list[str], message: str
) -> None:
    done = run(home, "patient", "add", "--identifier", "X1", "--name", "N", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert json.loads(run(home, "patient", "list", "--format", "json").stdout) == []


def test_an_unknown_patient_is_a_clear_error(home: dict[str, str]) -> None:
    done = run(home, "patient", "show", "no-such-id")
    assert done.returncode == 2
    assert "patient 'no-such-id' does not exist" in done.stderr
    assert "Traceback" not in done.stderr


def test_export_and_import_round_trip_identically(home: dict[str, str], tmp_path: Path) -> None:
    patient_id = add_patient(home)
    exported = run(home, "export", "--patient", patient_id)
    assert exported.returncode == 0, exported.stderr
    other = dict(home, BACKMICE_DATA_DIR=str(tmp_path / "other"))
    imported = run(other, "import", "-", stdin=exported.stdout)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == patient_id
    assert run(other, "export", "--patient", patient_id).stdout == exported.stdout
    again = run(other, "import", "-", stdin=exported.stdout)
    assert again.returncode == 2 and "already in this database" in again.stderr


def test_backup_restore_refuses_to_overwrite_without_force(
    home: dict[str, str], tmp_path: Path
) -> None:
    add_patient(home)
    backup = tmp_path / "clinic.backup.gz"
    done = run(home, "backup", str(backup))
    assert done.returncode == 0, done.stderr
    assert "(1 patients)" in done.stdout
    refused = run(home, "restore", str(backup))
    assert refused.returncode == 2 and "Use --force" in refused.stderr
    add_patient(home, identifier="MRN-8")
    forced = run(home, "restore", str(backup), "--force")
    assert forced.returncode == 0, forced.stderr
    assert len(json.loads(run(home, "patient", "list", "--format", "json").stdout)) == 1
    fresh = dict(home, BACKMICE_DATA_DIR=str(tmp_path / "fresh"))
    assert run(fresh, "restore", str(backup)).returncode == 0


def test_restore_rejects_a_file_that_is_not_a_backup(home: dict[str, str], tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gz"
    bogus.write_text("hello")
    done = run(home, "restore", str(bogus))
    assert done.returncode == 2 and "is not a backmice backup" in done.stderr


def test_the_audit_trail_lists_who_did_what(home: dict[str, str]) -> None:
    patient_id = add_patient(home)
    run(home, "patient", "show", patient_id)
    trail = json.loads(run(home, "audit", "--patient", patient_id, "--format", "json").stdout)
    assert [e["action"] for e in trail] == ["create", "read"]
    assert all(e["actor"].startswith("cli:") for e in trail)
    assert all("Test Person" not in json.dumps(e) for e in trail)  # no PHI in the audit


def test_demo_is_deterministic_for_a_seed(home: dict[str, str], tmp_path: Path) -> None:
    other = dict(home, BACKMICE_DATA_DIR=str(tmp_path / "other"))
    first = run(home, "demo", "--patients", "5", "--seed", "11")
    second = run(other, "demo", "--patients", "5", "--seed", "11")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert first.stderr == ""  # no progress bar when not a terminal
    listed = run(home, "patient", "list", "--format", "json").stdout
    assert listed == run(other, "patient", "list", "--format", "json").stdout
    [one, *_] = json.loads(listed)
    assert (
        run(home, "export", "--patient", one["id"]).stdout
        == run(other, "export", "--patient", one["id"]).stdout
    )
