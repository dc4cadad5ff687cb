"""The `backmice` command as a user runs it: a real process, real files, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from jsonschema import Draft202012Validator

from backmice.engine.contract import result_schema
from tests.conftest import SPEC_EXAMPLE

RESULTS = Draft202012Validator(result_schema())


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backmice", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def case_file(tmp_path: Path) -> Path:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(SPEC_EXAMPLE))
    return path


def test_assess_prints_a_valid_result(case_file: Path) -> None:
    done = run("assess", str(case_file))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert not list(RESULTS.iter_errors(result))
    assert "does not replace" in result["disclaimer"]


def test_assess_reads_standard_input() -> None:
    done = run("assess", "-", stdin=json.dumps({"findings": {"tender": True}}))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["schema"] == "backmice.result/1"


def test_assess_text_is_readable_and_carries_the_disclaimer(case_file: Path) -> None:
    done = run("assess", str(case_file), "--format", "text")
    assert done.returncode == 0, done.stderr
    assert "Triage: ROUTINE" in done.stdout
    assert "Back mouse" in done.stdout
    assert "does not replace" in done.stdout


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"findings": {"size_cm": -3}}, "findings.size_cm: -3 is not > 0"),
        (
            {"findings": {"consistency": "squishy"}},
            "findings.consistency: 'squishy' is not one of soft",
        ),
        (
            {"findings": {"lump_present": False, "size_cm": 2}},
            "findings.size_cm: 2 given while findings.lump_present is false",
        ),
        (
            {"findings": {"pain_present": False, "radiation": "none"}},
            "findings.radiation: 'none' given while findings.pain_present is false",
        ),
        ({"colour": "red"}, "colour: unknown key"),
    ],
)
def test_invalid_input_exits_2_with_a_named_problem_and_no_traceback(
    doc: object, message: str
) -> None:
    done = run("assess", "-", stdin=json.dumps(doc))
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stdout == ""


def test_several_problems_are_one_line_each() -> None:
    done = run("assess", "-", stdin=json.dumps({"age": 500, "findings": {"bmi": 5, "fever": "no"}}))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 3


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("{not json", "input: is not valid JSON"),
        ("", "input: is empty"),
        ("[1, 2]", "a list is not an object"),
    ],
)
def test_malformed_json_is_a_clear_error(stdin: str, message: str) -> None:
    done = run("assess", "-", stdin=stdin)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    done = run("assess", str(tmp_path / "nope.json"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr
    assert "Traceback" not in done.stderr


def test_batch_writes_one_line_per_case_in_order(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "one", "findings": {"tender": True}}),
        json.dumps({"id": "two", "findings": {"size_cm": -1}}),
        "{broken",
        json.dumps({"id": "four", "setting": "self_check"}),
    ]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n")
    done = run("assess", "--batch", str(path))
    assert done.returncode == 3
    out = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert [o.get("id") for o in out] == ["one", "two", None, "four"]
    assert out[1]["errors"] == [{"field": "findings.size_cm", "message": "-1 is not > 0"}]
    assert out[2]["errors"][0]["field"] == "line 3"
    assert not list(RESULTS.iter_errors(out[0])) and not list(RESULTS.iter_errors(out[3]))


def test_a_clean_batch_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps({"id": str(i)}) + "\n" for i in range(5)))
    done = run("assess", "--batch", str(path))
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 5
    assert done.stderr == ""  # no progress bar when not a terminal


@pytest.mark.parametrize("what", ["", "conditions", "findings", "rules", "sources"])
def test_knowledge_lists_what_the_engine_knows(what: str) -> None:
    done = run("knowledge", *([what] if what else []))
    assert done.returncode == 0, done.stderr
    expected = {
        "": "2026.11.0",
        "conditions": "episacral_lipoma",
        "findings": "pressure_reproduces_pain",
        "rules": "cauda_equina",
        "sources": "motyka2000",
    }[what]
    assert expected in done.stdout


def test_version_names_the_knowledge_base() -> None:
    done = run("--version")
    assert done.returncode == 0
    assert "knowledge base 2026.11.0" in done.stdout


def test_an_unknown_command_is_a_usage_error() -> None:
    done = run("asess")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_the_self_check_interview_runs_to_an_end_in_plain_words() -> None:
    answers = "\n".join(["y", "y", "y", "1", "n", "n", "n"] + ["?"] * 60) + "\n"
    done = run("interview", "--setting", "self_check", stdin=answers)
    assert done.returncode == 0, done.stderr
    assert (
        "Can you feel a lump" in done.stdout or "Where is the lump or the sore spot?" in done.stdout
    )
    assert "on the bony ridge at the back of the hip" in done.stdout  # plain choices
    assert "What it might be" in done.stdout
    assert "likelihood ratio" not in done.stdout  # no clinician table for a person
    assert "Stopped after" in done.stdout
    assert "When to get help" in done.stdout
    assert "This is not a diagnosis" in done.stdout
    assert "Traceback" not in done.stderr


def test_the_interview_asks_again_after_an_unusable_answer() -> None:
    done = run("interview", "--max-questions", "2", stdin="maybe\n?\n?\n")
    assert done.returncode == 0, done.stderr
    assert "'maybe' is not an answer here" in done.stdout
    assert "limit of 2 questions" in done.stdout


def test_the_interview_ends_cleanly_when_input_ends() -> None:
    done = run("interview", stdin="y\n")
    assert done.returncode == 0, done.stderr
    assert "the input ended" in done.stdout


def test_batch_refuses_text_format(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text('{"id": "x"}\n')
    done = run("assess", "--batch", str(path), "--format", "text")
    assert done.returncode == 2
    assert "--format: 'text' cannot be used with --batch" in done.stderr
