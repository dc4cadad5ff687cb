"""`backmice assess`: one case to a result, or a JSONL batch to JSONL results."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any, BinaryIO

import orjson
import typer
from rich.console import Console
from rich.progress import Progress

from backmice.cli.io import lines, parse_json, read_source, stdout_bytes
from backmice.cli.render import console, render_result
from backmice.engine import Engine
from backmice.errors import InvalidCase, InvalidInput, Problem

__all__ = ["assess_command", "run_batch"]


class Format(StrEnum):
    json = "json"
    text = "text"


def assess_command(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE|-",
            help="A JSON case (backmice.assessment/1); '-' reads standard input.",
        ),
    ] = "-",
    batch: Annotated[
        bool, typer.Option("--batch", help="FILE is JSONL: one case per line, one result per line.")
    ] = False,
    output: Annotated[
        Format, typer.Option("--format", help="json (default) or text.")
    ] = Format.json,
    patient: Annotated[
        str | None,
        typer.Option(
            "--patient", metavar="ID", help="Store the assessment in this patient's record."
        ),
    ] = None,
    nodule: Annotated[
        list[str] | None,
        typer.Option("--nodule", metavar="ID", help="A nodule it concerns (repeatable)."),
    ] = None,
) -> None:
    """Assess a case: ranked differential with evidence, red flags, triage and next steps."""
    engine = Engine()
    data = read_source(file)
    if batch and patient is not None:
        raise InvalidInput([Problem("--patient", "cannot be used with --batch")])
    if batch:
        if output is Format.text:
            raise InvalidInput(
                [
                    Problem(
                        "--format",
                        "'text' cannot be used with --batch; "
                        "a batch writes one JSON result per line",
                    )
                ]
            )
        # Cases and results are plain acyclic dicts and lists, freed by reference
        # counting; the cyclic collector would only walk millions of them again and
        # again (it more than halved throughput), so it rests while this command runs.
        gc.disable()
        invalid = run_batch(engine, data, sys.stdout.buffer)
        sys.stdout.flush()
        raise typer.Exit(3 if invalid else 0)
    doc = parse_json(data)
    if patient is not None:
        result = _record(engine, doc, patient, nodule or [])
    else:
        result = engine.assess(doc)
    if output is Format.text:
        render_result(console(), result)
    else:
        stdout_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")


def _record(engine: Engine, doc: object, patient: str, nodules: list[str]) -> dict[str, Any]:
    """Assess and store the case in the patient's record; the stored result."""
    from backmice.cli.records import actor, open_store
    from backmice.records import services

    engine.assess(doc)  # an invalid case is refused before the database is opened
    if not isinstance(doc, dict):  # pragma: no cover - assess refused it already
        raise InvalidInput([Problem("input", "is not a JSON object")])
    store = open_store()
    try:
        stored = store.run(
            lambda uow: services.record_assessment(
                uow, actor(), patient, engine, doc, nodule_ids=nodules
            )
        )
    finally:
        store.close()
    return stored.result


def _documents(data: bytes, failures: dict[int, InvalidInput]) -> Iterator[object]:
    for number, line in enumerate(lines(data), start=1):
        try:
            yield parse_json(line, where=f"line {number}")
        except InvalidInput as exc:
            failures[number - 1] = exc
            yield None  # placeholder: keeps the output aligned with the input


def run_batch(engine: Engine, data: bytes, sink: BinaryIO) -> int:
    """Write one result line per input line to `sink`; return how many were invalid."""
    failures: dict[int, InvalidInput] = {}
    docs = list(_documents(data, failures))
    return _write_results(engine, docs, failures, sink)


def _write_results(
    engine: Engine, docs: list[object], failures: dict[int, InvalidInput], sink: BinaryIO
) -> int:
    invalid = 0
    write = sink.write
    with _progress(len(docs)) as advance:
        for position, outcome in enumerate(engine.assess_many(docs)):
            error = failures.get(position) or (
                outcome if isinstance(outcome, InvalidCase) else None
            )
            if error is None:
                write(orjson.dumps(outcome) + b"\n")
            else:
                invalid += 1
                doc = docs[position]
                case_id = doc.get("id") if isinstance(doc, dict) else None
                line = {
                    "id": case_id if isinstance(case_id, str) else None,
                    "errors": [p.to_dict() for p in error.problems],
                }
                write(orjson.dumps(line) + b"\n")
            advance()
    return invalid


@contextmanager
def _progress(total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on standard error when it is a terminal; silent when piped."""
    err = Console(stderr=True)
    if not err.is_terminal or total < 1000:
        yield lambda: None
        return
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("assessing", total=total)
        yield lambda: progress.advance(task)
