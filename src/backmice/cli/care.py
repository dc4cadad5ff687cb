"""Care commands: nodule, score, treatment, injection, plan, due, report, handout.

Each parses its options, calls one service and prints; `--format json` gives the same
content for scripts. Times default to now; `--at` takes an ISO 8601 time with a zone.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from backmice.care.injection_test import read_injection_test
from backmice.care.pathway import PlanProposal
from backmice.cli.io import parse_json, read_source
from backmice.cli.records import _json, actor, open_store
from backmice.cli.render import console, differential_table
from backmice.config import load_settings
from backmice.engine import Engine
from backmice.engine.contract import DISCLAIMER
from backmice.errors import InvalidInput, Problem
from backmice.records import services
from backmice.records.body_map import suggest

__all__ = [
    "due_command",
    "handout_command",
    "injection_command",
    "nodule_app",
    "outcomes_command",
    "plan_command",
    "report_command",
    "score_command",
    "treatment_command",
]


class Format(StrEnum):
    text = "text"
    json = "json"


FormatOption = Annotated[Format, typer.Option("--format", help="text (default) or json.")]
PatientOption = Annotated[str, typer.Option("--patient", metavar="ID", help="The patient's id.")]
NoduleOption = Annotated[
    str | None, typer.Option("--nodule", metavar="ID", help="One nodule (default: overall).")
]
AtOption = Annotated[
    str | None,
    typer.Option("--at", metavar="TIME", help="When, ISO 8601 with a zone (default: now)."),
]

nodule_app = typer.Typer(help="Nodules on the body map.", no_args_is_help=True)


def _when(value: str | None, field: str = "--at") -> dt.datetime:
    if value is None:
        return dt.datetime.now(dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            [Problem(field, f"'{value}' is not a time (ISO 8601, e.g. 2026-11-22T10:30+00:00)")]
        ) from None
    if parsed.tzinfo is None:
        raise InvalidInput([Problem(field, f"'{value}' has no time zone (add +00:00 or Z)")])
    return parsed


def _date(value: str | None, field: str) -> dt.date:
    if value is None:
        return dt.datetime.now(dt.UTC).date()  # the same clock the services use
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput([Problem(field, f"'{value}' is not a date (YYYY-MM-DD)")]) from None


@nodule_app.command("add")
def nodule_add(
    patient: PatientOption,
    x: Annotated[float, typer.Option(help="Across the map, 0 (left edge) to 100 (right).")],
    y: Annotated[float, typer.Option(help="Down the map, 0 (lower ribs) to 100 (thighs).")],
    side: Annotated[
        str | None,
        typer.Option(help="left, right or midline (the person's side); suggested from x."),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(help="e.g. posterior_iliac_crest, sacroiliac; suggested from x and y."),
    ] = None,
    label: Annotated[str, typer.Option(help="A short label, e.g. L1.")] = "",
    size_cm: Annotated[float | None, typer.Option(help="Largest diameter in cm.")] = None,
) -> None:
    """Put a nodule on the patient's body map; prints its id. Side and region not given
    are read from the point, as the web page's map does."""
    suggested_side, suggested_region = suggest(x, y)
    side = side or suggested_side
    region = region or suggested_region
    store = open_store()
    try:
        nodule = store.run(
            lambda uow: services.add_nodule(
                uow,
                actor(),
                patient,
                x=x,
                y=y,
                side=side,
                region=region,
                label=label,
                size_cm=size_cm,
            )
        )
    finally:
        store.close()
    typer.echo(nodule.id)


def score_command(
    patient: PatientOption,
    nrs: Annotated[int | None, typer.Option(help="Pain 0-10.")] = None,
    kind: Annotated[str, typer.Option(help="current, worst or with_pressure.")] = "current",
    pgic: Annotated[
        int | None, typer.Option(help="Global impression of change, 1 (very much better)-7.")
    ] = None,
    sitting: Annotated[int | None, typer.Option(help="Sitting tolerance in minutes.")] = None,
    nodule: NoduleOption = None,
    at: AtOption = None,
) -> None:
    """Record outcome scores: NRS pain, PGIC and sitting tolerance (any of them)."""
    when = _when(at)
    if nrs is None and pgic is None and sitting is None:
        raise InvalidInput([Problem("--nrs", "give at least one of --nrs, --pgic, --sitting")])
    outcomes = [
        services.OutcomeEntry(measure, value, when, nodule)
        for measure, value in (("pgic", pgic), ("sitting_tolerance", sitting))
        if value is not None
    ]

    def work(uow: Any) -> int:
        written = 0
        if nrs is not None:
            written += len(
                services.record_pain_scores(
                    uow, actor(), patient, [services.ScoreEntry(nrs, kind, when, nodule)]
                )
            )
        if outcomes:
            written += len(services.record_outcome_scores(uow, actor(), patient, outcomes))
        return written

    store = open_store()
    try:
        written = store.run(work)
    finally:
        store.close()
    typer.echo(f"recorded {written} score{'s' if written != 1 else ''}")


def outcomes_command(patient: PatientOption, output: FormatOption = Format.text) -> None:
    """Outcome scores over time, overall and per nodule: latest value, trend, and for
    pain whether the change since the first score is meaningful (2 points or 30%)."""
    store = open_store()
    try:
        rows = store.run(lambda uow: services.outcome_trends(uow, actor(), patient))
    finally:
        store.close()
    if output is Format.json:
        _json(
            [
                {
                    "measure": r.measure,
                    "nodule_id": r.nodule_id,
                    "count": r.count,
                    "latest": r.latest,
                    "latest_at": r.latest_at.isoformat(),
                    "trend": None
                    if r.trend is None
                    else {
                        "direction": r.trend.direction,
                        "slope_per_week": r.trend.slope_per_week,
                        "first": r.trend.first,
                    },
                    "change": None
                    if r.change is None
                    else {
                        "points_fall": r.change.points_fall,
                        "percent_fall": r.change.percent_fall,
                        "meaningful": r.change.meaningful,
                    },
                }
                for r in rows
            ]
        )
        return
    table = Table(title=f"Outcome scores ({len(rows)} series)")
    for column in ("where", "measure", "n", "latest", "trend", "change since first"):
        table.add_column(column)
    for r in rows:
        direction = (
            "-" if r.trend is None else f"{r.trend.direction} ({r.trend.slope_per_week:+g}/wk)"
        )
        change = "-"
        if r.change is not None:
            change = r.change.describe() + (" - meaningful" if r.change.meaningful else "")
        table.add_row(r.nodule_label, r.measure, str(r.count), f"{r.latest:g}", direction, change)
    console().print(table)
    console().print(f"[dim]{DISCLAIMER}[/]")


def treatment_command(
    patient: PatientOption,
    kind: Annotated[str, typer.Option(help="e.g. self_care, injection, repeated_needling.")],
    details: Annotated[str, typer.Option(help="Agent, dose, technique...")] = "",
    nodule: NoduleOption = None,
    at: AtOption = None,
) -> None:
    """Record a treatment given; prints its id."""
    store = open_store()
    try:
        treatment = store.run(
            lambda uow: services.record_treatment(
                uow,
                actor(),
                patient,
                kind=kind,
                performed_at=_when(at),
                details=details,
                nodule_id=nodule,
            )
        )
    finally:
        store.close()
    typer.echo(treatment.id)


def _leaders(result: dict[str, Any] | None, n: int = 3) -> str:
    if result is None:
        return "-"
    return ", ".join(f"{d['name']} {d['probability']:.0%}" for d in result["differential"][:n])


def injection_command(
    minutes: Annotated[float, typer.Option(help="Minutes after the injection.")],
    pre: Annotated[int | None, typer.Option(help="NRS before (0-10).")] = None,
    post: Annotated[int | None, typer.Option(help="NRS after (0-10).")] = None,
    relief: Annotated[float | None, typer.Option(help="Or the relief in percent.")] = None,
    patient: Annotated[
        str | None,
        typer.Option("--patient", metavar="ID", help="Record it and reassess this patient."),
    ] = None,
    nodule: NoduleOption = None,
    agent: Annotated[str, typer.Option(help="e.g. lidocaine 1%.")] = "",
    volume: Annotated[float | None, typer.Option(help="Volume in ml.")] = None,
    case: Annotated[
        str | None,
        typer.Option("--case", metavar="FILE", help="Without --patient: a case to reassess."),
    ] = None,
    positive_at: Annotated[
        float | None,
        typer.Option(help="Positive from this relief % (default: clinic setting, else 50)."),
    ] = None,
    strongly_positive_at: Annotated[
        float | None,
        typer.Option(help="Strongly positive from this % (default: clinic setting, else 80)."),
    ] = None,
    at: AtOption = None,
    output: FormatOption = Format.text,
) -> None:
    """Read a diagnostic injection test; with --patient record it and show the updated
    differential (the relief fed back as injection_relief_percent)."""
    engine = Engine()
    settings = load_settings()
    if positive_at is None:
        positive_at = settings.injection_positive_at
    if strongly_positive_at is None:
        strongly_positive_at = settings.injection_strongly_positive_at
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    if patient is not None:
        if case is not None:
            raise InvalidInput(
                [Problem("--case", "use --case without --patient: the record has the case")]
            )
        store = open_store()
        try:
            done = store.run(
                lambda uow: services.record_injection_and_reassess(
                    uow,
                    actor(),
                    patient,
                    engine,
                    performed_at=_when(at),
                    minutes_after=minutes,
                    pre_nrs=pre,
                    post_nrs=post,
                    relief_percent=relief,
                    agent=agent,
                    volume_ml=volume,
                    nodule_id=nodule,
                    positive_at=positive_at,
                    strongly_positive_at=strongly_positive_at,
                )
            )
        finally:
            store.close()
        reading = done.reading
        before = done.before
        after = None if done.assessment is None else done.assessment.result
    else:
        reading = read_injection_test(
            engine.kb,
            minutes_after=minutes,
            pre_nrs=pre,
            post_nrs=post,
            relief_percent=relief,
            positive_at=positive_at,
            strongly_positive_at=strongly_positive_at,
        )
        if case is not None:
            doc = parse_json(read_source(case), where="case")
            before = engine.assess(doc)
            if not isinstance(doc, dict):  # assess refused it already; this narrows the type
                raise InvalidInput([Problem("case", "is not a JSON object")])
            findings = dict(doc.get("findings") or {})
            findings["injection_relief_percent"] = reading.relief_percent
            after = engine.assess({**doc, "findings": findings})
    if output is Format.json:
        _json(
            {
                "relief_percent": reading.relief_percent,
                "interpretation": reading.interpretation,
                "positive_at": reading.positive_at,
                "strongly_positive_at": reading.strongly_positive_at,
                "caveats": list(reading.caveats),
                "before": before,
                "after": after,
                "disclaimer": DISCLAIMER,
            }
        )
        return
    out = console()
    words = reading.interpretation.replace("_", " ")
    out.print(
        f"[bold]Relief {reading.relief_percent:g}%: {words}[/] "
        f"(positive from {reading.positive_at:g}%, strongly positive from "
        f"{reading.strongly_positive_at:g}%)"
    )
    for caveat in reading.caveats:
        out.print(f"  note: {caveat}")
    if after is not None:
        out.print(f"Before the test: {_leaders(before)}")
        out.print("Updated differential, with the relief as evidence:")
        out.print(differential_table(after, rows=5))
    out.print(f"[dim]{DISCLAIMER}[/]")


def _proposal_dict(proposal: PlanProposal) -> dict[str, Any]:
    def step(s: Any) -> dict[str, Any] | None:
        if s is None:
            return None
        return {
            "id": s.id,
            "name": s.name,
            "plain_name": s.plain_name,
            "evidence_level": s.evidence_level,
            "evidence": s.evidence,
            "sources": list(s.sources),
            "review_after_days": s.review_after_days.value,
        }

    return {
        "status": proposal.status,
        "current_step": step(proposal.current_step),
        "current_accepted": proposal.current_accepted,
        "next_step": step(proposal.next_step),
        "reasons": list(proposal.reasons),
        "review_due": None if proposal.review_due is None else proposal.review_due.isoformat(),
        "not_before": None if proposal.not_before is None else proposal.not_before.isoformat(),
        "warnings": list(proposal.warnings),
        "red_flags": list(proposal.red_flags),
        "actions": list(proposal.actions),
        "options": [o.id for o in proposal.options],
        "disclaimer": DISCLAIMER,
    }


def render_plan(proposal: PlanProposal) -> None:
    out = console()
    status = proposal.status.replace("_", " ")
    out.print(f"[bold]Care plan: {status}[/]")
    for flag in proposal.red_flags:
        out.print(f"[bold red]RED FLAG ({flag['severity']}): {flag['message']}[/]")
    for action in proposal.actions:
        out.print(f"  do: {action['text']}")
    if proposal.current_step is not None:
        state = "under way" if proposal.current_accepted else "proposed"
        step = proposal.current_step
        out.print(f"Current step ({state}): [bold]{step.name}[/]")
        out.print(f"  evidence: {step.evidence_level} - {step.evidence}")
    if proposal.next_step is not None:
        out.print(f"Next step: {proposal.next_step.name}")
    if proposal.review_due is not None:
        out.print(f"Review due: {proposal.review_due.isoformat()}")
    if proposal.not_before is not None:
        out.print(f"Not before: {proposal.not_before.isoformat()}")
    out.print("Why:")
    for reason in proposal.reasons:
        out.print(f"  - {reason}")
    for warning in proposal.warnings:
        out.print(f"[yellow]  limit: {warning}[/]")
    if proposal.options:
        out.print(
            "Other options (choose with a reason): " + ", ".join(o.id for o in proposal.options)
        )
    out.print(f"[dim]{DISCLAIMER}[/]")


def plan_command(
    patient: PatientOption,
    nodule: NoduleOption = None,
    accept: Annotated[bool, typer.Option("--accept", help="Accept the proposed step.")] = False,
    choose: Annotated[
        str | None, typer.Option("--choose", metavar="STEP", help="Choose another step.")
    ] = None,
    stop: Annotated[bool, typer.Option("--stop", help="Stop the plan.")] = False,
    reason: Annotated[
        str | None, typer.Option(help="Coded reason (needed with --choose and --stop).")
    ] = None,
    note: Annotated[str, typer.Option(help="Free text for the record.")] = "",
    at: AtOption = None,
    on: Annotated[
        str | None, typer.Option(help="Judge the plan as of this date (default today).")
    ] = None,
    output: FormatOption = Format.text,
) -> None:
    """The care plan: the current step, the next step and why; --accept, --choose STEP
    --reason CODE, or --stop --reason CODE records the clinician's decision."""
    chosen = [
        flag for flag, on_ in (("--accept", accept), ("--choose", choose), ("--stop", stop)) if on_
    ]
    if len(chosen) > 1:
        raise InvalidInput(
            [Problem("decision", f"{' and '.join(chosen)} together; give at most one of them")]
        )
    store = open_store()
    try:
        if chosen:
            decision = {"--accept": "accept", "--choose": "choose", "--stop": "stop"}[chosen[0]]
            record, _ = store.run(
                lambda uow: services.decide_plan(
                    uow,
                    actor(),
                    patient,
                    decision=decision,
                    step_id=choose,
                    reason_code=reason,
                    note=note,
                    nodule_id=nodule,
                    decided_at=_when(at),
                )
            )
            due = "" if record.review_due is None else f"; review due {record.review_due}"
            typer.echo(f"recorded: {record.decision} {record.step_id}{due}")
        today = _date(on, "--on")
        proposal = store.run(
            lambda uow: services.care_plan(uow, actor(), patient, nodule_id=nodule, today=today)
        )
    finally:
        store.close()
    if output is Format.json:
        _json(_proposal_dict(proposal))
    else:
        render_plan(proposal)


def due_command(
    on: Annotated[str | None, typer.Option(help="Date to check (default today).")] = None,
    within: Annotated[int, typer.Option(help="Also those due in the next N days.")] = 0,
    output: FormatOption = Format.text,
) -> None:
    """Patients whose care-plan review is due or overdue."""
    day = _date(on, "--on")
    store = open_store()
    try:
        rows = store.run(lambda uow: services.due_reviews(uow, actor(), day, within_days=within))
    finally:
        store.close()
    if output is Format.json:
        _json(
            [
                {
                    "patient_id": r.patient_id,
                    "identifier": r.identifier,
                    "name": r.name,
                    "nodule_id": r.nodule_id,
                    "step_id": r.step_id,
                    "step": r.step_name,
                    "review_due": r.review_due.isoformat(),
                    "days_overdue": r.days_overdue,
                }
                for r in rows
            ]
        )
        return
    horizon = day + dt.timedelta(days=within)
    table = Table(title=f"Reviews due by {horizon.isoformat()} ({len(rows)})")
    for column in ("due", "overdue", "patient", "identifier", "step", "patient id"):
        table.add_column(column)
    for r in rows:
        late = f"{r.days_overdue} d" if r.days_overdue > 0 else "-"
        table.add_row(
            r.review_due.isoformat(), late, r.name, r.identifier, r.step_name, r.patient_id
        )
    console().print(table)


PdfOption = Annotated[Path, typer.Option("--pdf", metavar="FILE", help="Where to write the PDF.")]


def _check_pdf_path(path: Path) -> None:
    if path.is_dir():
        raise InvalidInput([Problem("--pdf", f"'{path}' is a directory, expected a file name")])
    if not path.parent.is_dir():
        raise InvalidInput([Problem("--pdf", f"'{path.parent}' is not a folder that exists")])


def _write_pdf(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_bytes(data)
    tmp.replace(path)  # never a half-written PDF under the real name
    typer.echo(f"{path}: {len(data):,} bytes")


def report_command(patient: PatientOption, pdf: PdfOption) -> None:
    """The clinician's visit summary as a PDF."""
    from backmice.documents import render_visit_summary
    from backmice.records.services import documents

    _check_pdf_path(pdf)
    store = open_store()
    try:
        summary = store.run(lambda uow: documents.visit_summary(uow, actor(), patient))
    finally:
        store.close()
    _write_pdf(pdf, render_visit_summary(summary))


def handout_command(patient: PatientOption, pdf: PdfOption) -> None:
    """The patient's handout (their plan, self-care, warning signs) as a PDF."""
    from backmice.documents import render_handout
    from backmice.records.services import documents

    _check_pdf_path(pdf)
    store = open_store()
    try:
        content = store.run(lambda uow: documents.handout(uow, actor(), patient))
    finally:
        store.close()
    _write_pdf(pdf, render_handout(content))
