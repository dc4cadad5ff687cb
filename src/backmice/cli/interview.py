"""`backmice interview`: ask the next best question until the answer is firm."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from backmice.cli.render import (
    TRIAGE_STYLE,
    console,
    differential_table,
    render_plain_result,
    render_result,
)
from backmice.engine import Engine
from backmice.engine.interview import Interview, Question
from backmice.errors import InvalidCase
from backmice.knowledge.model import Finding, Value

__all__ = ["interview_command"]

_YES = {"y", "yes", "true", "1"}
_NO = {"n", "no", "false", "0"}
_UNKNOWN = {"", "?", "skip", "dk", "don't know", "dont know", "unknown"}


class Setting(StrEnum):
    primary_care = "primary_care"
    pain_clinic = "pain_clinic"
    self_check = "self_check"


def interview_command(
    setting: Annotated[
        Setting,
        typer.Option(
            "--setting",
            help="primary_care, pain_clinic, or self_check (plain words, for a person).",
        ),
    ] = Setting.primary_care,
    max_questions: Annotated[
        int, typer.Option("--max-questions", min=0, help="Stop after this many (0: no limit).")
    ] = 0,
) -> None:
    """Interview: the next best question each time, the differential updating as you answer."""
    engine = Engine()
    out = console()
    interview = Interview(engine, setting=setting.value)
    plain = setting is Setting.self_check
    _intro(out, plain)
    reason = "the questions ran out"
    while True:
        if max_questions and interview.asked >= max_questions:
            reason = f"the limit of {max_questions} questions was reached"
            break
        question = interview.next_question()
        if question is None:
            if interview.ranked():
                reason = "the answer is firm"
            break
        finding = engine.kb.finding(question.finding)
        try:
            value = _ask(out, finding, question, plain)
        except EOFError:
            reason = "the input ended"
            break
        while True:
            try:
                interview.record(finding.id, value)
                break
            except InvalidCase as exc:
                out.print(f"[red]{exc.problems[0].message}[/]")
                try:
                    value = _ask(out, finding, question, plain)
                except EOFError:
                    value = None
        _show_progress(out, engine, interview, plain)
    out.print(
        f"\nStopped after {interview.asked} of {interview.available} possible questions: {reason}."
    )
    result = engine.assess(interview.case())
    if plain:
        render_plain_result(out, result, {c.id: c.plain_name for c in engine.kb.conditions})
        _safety_net(out)
    else:
        render_result(out, result)


def _intro(out: Console, plain: bool) -> None:
    if plain:
        out.print(
            "[bold]Back lump and back pain self-check[/]\n"
            "Answer each question. Type ? if you do not know. This does not give a diagnosis.\n"
            "[bold red]If you have new trouble passing urine, loss of bladder or bowel control, "
            "numbness between your legs, or feel very unwell with a fever, stop and call an "
            "emergency number or go to an emergency department now.[/]"
        )
    else:
        out.print(
            "[bold]backmice interview[/] - answer y/n, a number, or a choice; ? if not known. "
            "Decision support only: it does not replace clinical judgement."
        )


def _ask(out: Console, finding: Finding, question: Question, plain: bool) -> Value | None:
    why = "" if plain else f" [dim](gain {question.information_gain:.2f} bits"
    if not plain:
        why += f", safety {question.safety_value:.2f})[/]" if question.safety_value else ")[/]"
    out.print(f"\n[bold]{question.text}[/]{why}")
    if finding.type == "enum":
        for i, state in enumerate(finding.states, start=1):
            out.print(f"  {i}. {finding.choice_label(state, plain)}")
    while True:
        raw = _read(out, _hint(finding))
        ok, parsed = _parse(finding, raw)
        if ok:
            return parsed
        out.print(f"[red]'{raw}' is not an answer here; expected {_hint(finding)}.[/]")


def _hint(finding: Finding) -> str:
    if finding.type == "boolean":
        return "y, n or ?"
    if finding.type == "enum":
        return f"1-{len(finding.states)}, a name, or ?"
    return "a number or ?"


def _read(out: Console, hint: str) -> str:
    out.print(f"[dim]({hint})[/] > ", end="")
    line = input()
    return line.strip().lower()


def _parse(finding: Finding, raw: str) -> tuple[bool, Value | None]:
    """(True, value) for a usable answer (None: not known), (False, None) otherwise."""
    if raw in _UNKNOWN:
        return True, None
    if finding.type == "boolean":
        if raw in _YES or raw in _NO:
            return True, raw in _YES
        return False, None
    if finding.type == "enum":
        if raw.isdigit() and 1 <= int(raw) <= len(finding.states):
            return True, finding.states[int(raw) - 1]
        name = raw.replace(" ", "_")
        return (True, name) if name in finding.states else (False, None)
    try:
        number = float(raw)
    except ValueError:
        return False, None
    if finding.type == "integer":
        return (True, int(number)) if number.is_integer() else (False, None)
    return True, number


def _show_progress(out: Console, engine: Engine, interview: Interview, plain: bool) -> None:
    result = engine.assess(interview.case())
    if plain:
        top = result["differential"][0]
        name = engine.kb.condition(top["condition"]).plain_name
        out.print(
            f"[dim]So far the most likely explanation is {name} ({top['probability']:.0%}).[/]"
        )
    else:
        out.print(differential_table(result, rows=5))
    for flag in result["red_flags"]:
        out.print(f"[{TRIAGE_STYLE[flag['severity']]}]RED FLAG {flag['id']}: {flag['message']}[/]")


def _safety_net(out: Console) -> None:
    out.print(
        "\n[bold]When to get help[/]\n"
        "- Emergency now: new trouble passing urine or loss of bladder or bowel control, "
        "numbness between your legs, quickly worsening leg weakness, or feeling very unwell "
        "with a fever.\n"
        "- See a doctor within a day or two: a hot, red, swelling or leaking lump, or fever "
        "with back pain.\n"
        "- Book an appointment within 2 weeks: a lump that is growing, larger than a golf "
        "ball, hard, or fixed, or that came back after an operation.\n"
        "- Otherwise book an ordinary appointment if the pain goes on or worries you."
    )
