"""Reading a diagnostic local-anaesthetic injection test.

Relief is the fall in the familiar pain, from numeric ratings before and after
(0-10) or as a stated percentage. It is read against the knowledge base's thresholds
(positive from 50 %, strongly positive from 80 %; a clinic may set its own), with the
caveat that a sizeable share of people improve after any injection, saline included.

    >>> from backmice.knowledge import default_knowledge
    >>> reading = read_injection_test(default_knowledge(), pre_nrs=8, post_nrs=1, minutes_after=20)
    >>> reading.relief_percent, reading.interpretation
    (87.5, 'strongly_positive')
"""

from __future__ import annotations

from dataclasses import dataclass

from backmice.errors import InvalidRecord, Problem
from backmice.knowledge.model import KnowledgeBase

__all__ = ["INTERPRETATIONS", "InjectionReading", "read_injection_test"]

INTERPRETATIONS = ("negative", "positive", "strongly_positive")


@dataclass(frozen=True, slots=True)
class InjectionReading:
    """The relief an injection gave and what it means."""

    relief_percent: float
    interpretation: str
    positive_at: float
    strongly_positive_at: float
    caveats: tuple[str, ...]


def _nrs(value: object, field: str, problems: list[Problem]) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        problems.append(Problem(field, f"{value!r} is not a whole number from 0 to 10"))


def read_injection_test(
    kb: KnowledgeBase,
    *,
    minutes_after: float,
    pre_nrs: int | None = None,
    post_nrs: int | None = None,
    relief_percent: float | None = None,
    positive_at: float | None = None,
    strongly_positive_at: float | None = None,
) -> InjectionReading:
    """Relief and interpretation; raises `InvalidRecord` naming every bad field."""
    knowledge = kb.injection_test
    positive = knowledge.positive_relief_percent.value if positive_at is None else positive_at
    strong = (
        knowledge.strongly_positive_relief_percent.value
        if strongly_positive_at is None
        else strongly_positive_at
    )
    problems: list[Problem] = []
    if (
        isinstance(minutes_after, bool)
        or not isinstance(minutes_after, int | float)
        or not (0 <= minutes_after <= 24 * 60)
    ):
        problems.append(
            Problem("minutes_after", f"{minutes_after!r} is not a number of minutes from 0 to 1440")
        )
    if not 0 < positive < strong <= 100:
        problems.append(
            Problem(
                "thresholds",
                f"positive {positive} and strongly positive {strong} must "
                "satisfy 0 < positive < strongly positive <= 100",
            )
        )
    if relief_percent is None:
        if pre_nrs is None or post_nrs is None:
            problems.append(
                Problem("relief_percent", "give either relief_percent or both pre_nrs and post_nrs")
            )
        else:
            _nrs(pre_nrs, "pre_nrs", problems)
            _nrs(post_nrs, "post_nrs", problems)
            if not problems and pre_nrs == 0:
                problems.append(
                    Problem("pre_nrs", "0: relief cannot be measured without pain before")
                )
    else:
        if (
            isinstance(relief_percent, bool)
            or not isinstance(relief_percent, int | float)
            or not (0 <= relief_percent <= 100)
        ):
            problems.append(Problem("relief_percent", f"{relief_percent!r} is not from 0 to 100"))
        if pre_nrs is not None:
            _nrs(pre_nrs, "pre_nrs", problems)
        if post_nrs is not None:
            _nrs(post_nrs, "post_nrs", problems)
    if problems:
        raise InvalidRecord(problems)
    caveats: list[str] = []
    if relief_percent is not None:
        relief = float(relief_percent)
    elif pre_nrs is not None and post_nrs is not None:
        relief = max(0.0, (pre_nrs - post_nrs) / pre_nrs * 100.0)
        if post_nrs > pre_nrs:
            caveats.append("the pain was worse after the injection")
    else:  # pragma: no cover - the checks above already refused this
        raise InvalidRecord([Problem("relief_percent", "no relief given")])
    window = knowledge.window_minutes
    if not window.low <= minutes_after <= window.high:
        caveats.append(
            f"relief was judged {minutes_after:g} minutes after the injection, outside the usual "
            f"{window.low:g}-{window.high:g} minutes"
        )
    placebo = knowledge.placebo_response.value
    caveats.append(
        f"about {placebo:.0%} of people improve after any injection, saline included: a positive "
        "test supports the injected site as the pain source but does not prove it"
    )
    interpretation = (
        "strongly_positive"
        if relief >= strong
        else "positive"
        if relief >= positive
        else "negative"
    )
    return InjectionReading(
        relief_percent=round(relief, 1),
        interpretation=interpretation,
        positive_at=positive,
        strongly_positive_at=strong,
        caveats=tuple(caveats),
    )
