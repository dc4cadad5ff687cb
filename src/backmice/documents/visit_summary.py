"""The clinician's visit summary as a PDF.

Sections, in order: Visit summary (title, with a banner when red flags fired), Patient,
Nodules (body map and table), Differential, Red flags, Triage, Injection test, Care
plan, Pain (chart). Every page carries the clinician disclaimer and "Page X of Y".
Evidence is shown with its likelihood ratio and whether that number is published or an
expert estimate; an estimate is never presented as evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from reportlab.lib.units import mm  # type: ignore[import-untyped, unused-ignore]
from reportlab.platypus import (  # type: ignore[import-untyped, unused-ignore]
    Flowable,
    KeepTogether,
    ListFlowable,
    ListItem,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from backmice.documents.charts import body_map, pain_chart, pain_series
from backmice.documents.content import InjectionLine, NoduleLine, PlanSummary, VisitSummary
from backmice.documents.layout import (
    ACCENT,
    CONTENT_WIDTH,
    DANGER,
    DANGER_SHADE,
    TRIAGE_COLOURS,
    Styles,
    build_pdf,
    data_table,
    esc,
    fmt_date,
    fmt_datetime,
    humanize,
    make_styles,
)
from backmice.engine.contract import DISCLAIMER

__all__ = [
    "MAX_CONDITIONS",
    "MAX_EVIDENCE",
    "MAX_NODULE_ROWS",
    "NO_ASSESSMENT",
    "NO_INJECTION_TEST",
    "NO_NODULES",
    "NO_PAIN_SCORES",
    "NO_PLAN",
    "NO_RED_FLAGS",
    "NO_RED_FLAGS_UNCHECKED",
    "render_visit_summary",
]

MAX_CONDITIONS = 5
MAX_EVIDENCE = 4
MAX_NODULE_ROWS = 25
MAX_NEXT_STEPS = 3

NO_NODULES = "No nodules recorded."
NO_ASSESSMENT = "No assessment recorded."
NO_RED_FLAGS = "None found."
NO_RED_FLAGS_UNCHECKED = "None found: no assessment recorded, so the red-flag rules have not run."
NO_INJECTION_TEST = "No injection test recorded."
NO_PLAN = "No plan recorded."
NO_PAIN_SCORES = "No pain scores recorded."

TRIAGE_WORDS = {
    "emergency": ("EMERGENCY", "now: emergency department"),
    "urgent": ("URGENT", "be seen within 24-48 hours"),
    "soon": ("SOON", "be seen within 2 weeks"),
    "routine": ("ROUTINE", "book an ordinary appointment"),
    "self_care": ("SELF-CARE", "self-management, with advice on when to be seen"),
}
PLAN_STATUS_WORDS = {
    "on_pathway": "On the pathway",
    "suspended_for_red_flag": "Suspended: a red flag needs attention first",
    "stopped": "Stopped",
    "not_started": "Not started",
}
INTERPRETATION_WORDS = {
    "negative": "Negative",
    "positive": "Positive",
    "strongly_positive": "Strongly positive",
}
_STATUS_ORDER = {"active": 0, "resolved": 1, "excised": 2}


@lru_cache(maxsize=1)
def _finding_labels() -> Mapping[str, str]:
    """Display labels of the findings, from the packaged knowledge base."""
    from backmice.knowledge import default_knowledge

    return {f.id: f.label for f in default_knowledge().findings}


def _p(text: str, style: Any) -> Paragraph:
    return Paragraph(text, style)


def _bullets(items: Sequence[str], s: Styles) -> ListFlowable:
    return ListFlowable(
        [ListItem(_p(esc(item), s.body), leftIndent=12) for item in items],
        bulletType="bullet",
        start="\u2022",
        leftIndent=12,
        bulletFontSize=s.body.fontSize,
    )


def _age(summary: VisitSummary) -> int:
    today, born = summary.generated_at.date(), summary.birth_date
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _red_flags(summary: VisitSummary) -> list[Mapping[str, Any]]:
    if summary.assessment is None:
        return []
    return list(summary.assessment.get("red_flags") or [])


def _title(summary: VisitSummary, s: Styles) -> list[Flowable]:
    parts = [f"Generated {fmt_datetime(summary.generated_at)}"]
    if summary.knowledge_version:
        parts.append(f"knowledge base {esc(summary.knowledge_version)}")
    story: list[Flowable] = [
        _p("Visit summary", s.title),
        _p(" \u00b7 ".join(parts), s.subtitle),
    ]
    flags = _red_flags(summary)
    triage = summary.assessment.get("triage") if summary.assessment else None
    if flags:
        worst = TRIAGE_WORDS.get(str(triage), (humanize(triage).upper(), ""))[0]
        count = f"{len(flags)} red flag{'s' if len(flags) != 1 else ''}"
        names = ", ".join(esc(humanize(f.get("id", ""))) for f in flags)
        banner = Table(
            [[_p(f"<b>{count}</b> \u2013 {names}. Triage: <b>{esc(worst)}</b>.", s.alert)]],
            colWidths=[CONTENT_WIDTH],
        )
        banner.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, -1), DANGER_SHADE),
                    ("BOX", (0, 0), (-1, -1), 1.2, DANGER),
                    ("LEFTPADDING", (0, 0), (-1, -1), 8),
                    ("TOPPADDING", (0, 0), (-1, -1), 6),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ]
            )
        )
        story.append(banner)
    return story


def _patient(summary: VisitSummary, s: Styles) -> list[Flowable]:
    w = CONTENT_WIDTH / 4
    rows = [
        [_p("Name", s.small), _p("Identifier", s.small), _p("Born", s.small), _p("Sex", s.small)],
        [
            _p(f"<b>{esc(summary.patient_name)}</b>", s.body),
            _p(esc(summary.patient_identifier), s.body),
            _p(f"{fmt_date(summary.birth_date)} (age {_age(summary)})", s.body),
            _p(esc(humanize(summary.sex)), s.body),
        ],
    ]
    table = Table(rows, colWidths=[w * 1.4, w * 0.9, w * 1.1, w * 0.6])
    table.setStyle(
        TableStyle(
            [
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return [_p("Patient", s.h1), table]


def _nodule_order(n: NoduleLine) -> tuple[int, int, str]:
    return (_STATUS_ORDER.get(n.status, 3), -(n.latest_pain or -1), n.label)


def _nodules(summary: VisitSummary, s: Styles) -> list[Flowable]:
    story: list[Flowable] = [_p("Nodules", s.h1)]
    nodules = summary.nodules
    if not nodules:
        return [*story, _p(NO_NODULES, s.body)]
    drawing = body_map(nodules)
    counts = {st: sum(1 for n in nodules if n.status == st) for st in _STATUS_ORDER}
    sized = [n for n in nodules if n.latest_size_cm is not None]
    notes = [
        f"<b>{len(nodules)}</b> nodule{'s' if len(nodules) != 1 else ''}: "
        + ", ".join(f"{v} {k}" for k, v in counts.items() if v),
    ]
    if sized:
        largest = max(sized, key=lambda n: n.latest_size_cm or 0.0)
        notes.append(f"Largest: {esc(largest.label)}, {largest.latest_size_cm:g} cm.")
    painful = [n for n in nodules if n.latest_pain is not None]
    if painful:
        worst = max(painful, key=lambda n: n.latest_pain or 0)
        notes.append(f"Most painful at last rating: {esc(worst.label)}, {worst.latest_pain}/10.")
    if len(nodules) > 40:
        notes.append("Labels are left off the map at this number of nodules; see the table.")
    side = [_p(text, s.body) for text in notes]
    layout = Table([[drawing, side]], colWidths=[drawing.width + 6 * mm, None])
    layout.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    story.append(layout)
    shown = sorted(nodules, key=_nodule_order)[:MAX_NODULE_ROWS]
    rows: list[list[object]] = [
        ["Label", "Side", "Region", "Status", "Size", "Latest pain", "Map x, y"]
    ]
    for n in shown:
        pain = "\u2013" if n.latest_pain is None else f"{n.latest_pain}/10"
        if n.latest_pain is not None and n.latest_pain_kind:
            pain += f" ({humanize(n.latest_pain_kind)})"
        rows.append(
            [
                _p(esc(n.label or "\u2013"), s.cell_bold),
                humanize(n.side),
                _p(esc(humanize(n.region)), s.cell),
                humanize(n.status),
                "\u2013" if n.latest_size_cm is None else f"{n.latest_size_cm:g} cm",
                _p(esc(pain), s.cell),
                f"{n.x:.0f}, {n.y:.0f}",
            ]
        )
    widths = [v * mm for v in (18, 16, 42, 18, 17, 40, 23)]
    story += [Spacer(1, 3 * mm), data_table(rows, widths)]
    if len(nodules) > len(shown):
        more = len(nodules) - len(shown)
        story.append(
            _p(
                f"and {more} more nodules (all shown on the map; the full list is in the record)",
                s.small,
            )
        )
    return story


def _percent(p: float) -> str:
    """A probability as a whole percentage, never rounded to a flat 0 or 100."""
    if p < 0.005:
        return "<1%"
    if p > 0.995:
        return ">99%"
    return f"{100 * p:.0f}%"


def _evidence(items: Sequence[Mapping[str, Any]], s: Styles) -> Paragraph:
    labels = _finding_labels()
    lines = []
    for item in items[:MAX_EVIDENCE]:
        finding = str(item.get("finding", ""))
        label = labels.get(finding, humanize(finding))
        value = humanize(item.get("value"))
        ratio = float(item.get("likelihood_ratio", 1.0))
        basis = str(item.get("basis", "estimate"))
        tag = "<b>published</b>" if basis == "published" else f"<i>{esc(basis)}</i>"
        lines.append(f"{esc(label)} = {esc(value)}: LR {ratio:.2g} ({tag})")
    return _p("<br/>".join(lines) or "\u2013", s.cell)


def _differential(summary: VisitSummary, s: Styles) -> list[Flowable]:
    story: list[Flowable] = [_p("Differential", s.h1)]
    result = summary.assessment
    if result is None:
        return [*story, _p(NO_ASSESSMENT, s.body)]
    setting = humanize(result.get("setting") or "")
    when = fmt_datetime(summary.assessed_at) if summary.assessed_at else "an unrecorded time"
    story.append(
        _p(
            f"From the assessment of {when}" + (f" ({esc(setting)})" if setting else "") + ".",
            s.body,
        )
    )
    rows: list[list[object]] = [
        ["Condition", "Probability", "5\u201395%", "Strongest evidence (likelihood ratio)"]
    ]
    for entry in list(result.get("differential") or [])[:MAX_CONDITIONS]:
        low, high = (entry.get("interval") or [None, None])[:2]
        interval = "\u2013" if low is None else f"{_percent(low)}\u2013{_percent(high)}"
        rows.append(
            [
                _p(esc(entry.get("name", entry.get("condition", ""))), s.cell_bold),
                _percent(float(entry.get("probability", 0.0))),
                interval,
                _evidence(list(entry.get("evidence") or []), s),
            ]
        )
    widths = [v * mm for v in (52, 20, 19, 83)]
    story.append(data_table(rows, widths, extra=[("ALIGN", (1, 0), (2, -1), "RIGHT")]))
    story.append(Spacer(1, 1.5 * mm))
    story.append(
        _p(
            "LR: how much a finding multiplies the odds of that condition. <b>published</b>: "
            "taken from a published study. <i>estimate</i>: an expert estimate with a "
            "plausible range, not a measured result. The interval shows how far the "
            "probability moves across those ranges.",
            s.small,
        )
    )
    return story


def _red_flag_section(summary: VisitSummary, s: Styles) -> list[Flowable]:
    story: list[Flowable] = [_p("Red flags", s.h1)]
    flags = _red_flags(summary)
    if not flags:
        text = NO_RED_FLAGS if summary.assessment is not None else NO_RED_FLAGS_UNCHECKED
        return [*story, _p(text, s.body)]
    labels = _finding_labels()
    for flag in flags:
        severity = str(flag.get("severity", ""))
        word = TRIAGE_WORDS.get(severity, (humanize(severity).upper(), ""))[0]
        findings = "; ".join(  # labels may hold commas ("Red, warm skin")
            esc(labels.get(str(f), humanize(f))) for f in flag.get("findings") or []
        )
        cell = [
            _p(f"{esc(word)} \u2013 {esc(humanize(flag.get('id', '')))}", s.alert),
            _p(esc(flag.get("message", "")), s.body),
        ]
        if findings:
            cell.append(_p(f"Because of: {findings}", s.small))
        box = Table([[cell]], colWidths=[CONTENT_WIDTH])
        box.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, -1), DANGER_SHADE),
                    ("LINEBEFORE", (0, 0), (0, -1), 3, TRIAGE_COLOURS.get(severity, DANGER)),
                    ("LEFTPADDING", (0, 0), (-1, -1), 8),
                    ("TOPPADDING", (0, 0), (-1, -1), 5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
                ]
            )
        )
        story += [KeepTogether([box]), Spacer(1, 2 * mm)]
    return story


def _triage(summary: VisitSummary, s: Styles) -> list[Flowable]:
    story: list[Flowable] = [_p("Triage", s.h1)]
    triage = summary.assessment.get("triage") if summary.assessment else None
    if not triage:
        return [*story, _p(NO_ASSESSMENT, s.body)]
    word, meaning = TRIAGE_WORDS.get(str(triage), (humanize(triage).upper(), ""))
    badge = Table(
        [[_p(f'<font color="white"><b>{esc(word)}</b></font>', s.body), _p(esc(meaning), s.body)]],
        colWidths=[32 * mm, None],
    )
    colour = TRIAGE_COLOURS.get(str(triage), ACCENT)
    badge.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (0, 0), colour),
                ("BOX", (0, 0), (-1, -1), 0.8, colour),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return [*story, badge]


def _injection_row(test: InjectionLine, s: Styles) -> list[object]:
    if test.pre_nrs is not None and test.post_nrs is not None:
        nrs = f"{test.pre_nrs} to {test.post_nrs}"
    else:
        nrs = "\u2013"
    reading = INTERPRETATION_WORDS.get(test.interpretation, humanize(test.interpretation))
    agent = f"<br/>{esc(test.agent)}" if test.agent else ""
    return [
        _p(esc(fmt_datetime(test.performed_at)), s.cell),
        _p(esc(test.nodule or "not linked"), s.cell),
        nrs,
        f"{test.relief_percent:.0f}%",
        _p(f"<b>{esc(reading)}</b>{agent}", s.cell),
        f"{test.minutes_after:g} min",
    ]


def _injection_tests(summary: VisitSummary, s: Styles) -> list[Flowable]:
    story: list[Flowable] = [_p("Injection test", s.h1)]
    if not summary.injection_tests:
        return [*story, _p(NO_INJECTION_TEST, s.body)]
    rows: list[list[object]] = [
        ["When", "Nodule", "Pain before, after", "Relief", "Reading", "Read after"]
    ]
    tests = sorted(summary.injection_tests, key=lambda t: t.performed_at, reverse=True)
    rows += [_injection_row(t, s) for t in tests]
    widths = [v * mm for v in (38, 22, 32, 16, 46, 20)]
    story.append(data_table(rows, widths))
    story.append(Spacer(1, 1.5 * mm))
    story.append(
        _p(
            "A positive test supports, but does not prove, the injected site as the source of "
            "the pain: many people also improve after an injection of saline.",
            s.small,
        )
    )
    return story


def _plan(summary: VisitSummary, s: Styles) -> list[Flowable]:
    story: list[Flowable] = [_p("Care plan", s.h1)]
    plan: PlanSummary | None = summary.plan
    if plan is None:
        story.append(_p(NO_PLAN, s.body))
    else:
        status = PLAN_STATUS_WORDS.get(plan.status, humanize(plan.status))
        status_style = s.alert if plan.status == "suspended_for_red_flag" else s.cell_bold
        rows = [
            [_p("Status", s.small), _p(esc(status), status_style)],
            [_p("Current step", s.small), _p(esc(plan.current_step or "\u2013"), s.cell_bold)],
            [_p("Next step", s.small), _p(esc(plan.next_step or "\u2013"), s.cell_bold)],
            [_p("Review due", s.small), _p(esc(fmt_date(plan.review_due)), s.cell)],
        ]
        story.append(data_table(rows, [32 * mm, CONTENT_WIDTH - 32 * mm], header=False))
        if plan.reasons:
            story += [_p("Why", s.h2), _bullets(plan.reasons, s)]
        if plan.patient_steps:
            story += [
                _p("Agreed with the patient (on their handout)", s.h2),
                _bullets(plan.patient_steps, s),
            ]
    steps = list(summary.assessment.get("next_steps") or []) if summary.assessment else []
    if steps:
        story.append(_p("Suggested by the assessment", s.h2))
        story.append(_bullets([str(step.get("text", "")) for step in steps[:MAX_NEXT_STEPS]], s))
        if len(steps) > MAX_NEXT_STEPS:
            story.append(
                _p(f"and {len(steps) - MAX_NEXT_STEPS} more in the stored result", s.small)
            )
    return story


def _pain(summary: VisitSummary, s: Styles) -> list[Flowable]:
    story: list[Flowable] = [_p("Pain", s.h1)]
    points = summary.pain_points
    if not points:
        return [*story, _p(NO_PAIN_SCORES, s.body)]
    first = min(p.recorded_at for p in points)
    last = max(p.recorded_at for p in points)
    text = (
        f"{len(points)} score{'s' if len(points) != 1 else ''} (0 = no pain, 10 = worst "
        f"imaginable) from {fmt_date(first.date())} to {fmt_date(last.date())}."
    )
    overall = [p for p in points if p.nodule is None]
    if overall:
        latest = max(overall, key=lambda p: p.recorded_at)
        text += (
            f" Latest overall: <b>{latest.score}/10</b> ({esc(humanize(latest.kind))}, "
            f"{fmt_date(latest.recorded_at.date())})."
        )
    chart = pain_chart(points, CONTENT_WIDTH)
    story.append(KeepTogether([_p(text, s.body), chart]))
    _, left_out = pain_series(points)
    if left_out:
        story.append(
            _p(f"and {left_out} more series not drawn (nodules scored less recently)", s.small)
        )
    return story


def render_visit_summary(summary: VisitSummary) -> bytes:
    """The clinician's visit summary as PDF bytes (A4)."""
    s = make_styles(9.5)
    story: list[Flowable] = []
    for section in (
        _title,
        _patient,
        _nodules,
        _differential,
        _red_flag_section,
        _triage,
        _injection_tests,
        _plan,
        _pain,
    ):
        story += section(summary, s)
    header = (
        f"Visit summary \u00b7 {summary.patient_name} \u00b7 {summary.patient_identifier} "
        f"\u00b7 born {fmt_date(summary.birth_date)}"
    )
    return build_pdf(
        story,
        title="Visit summary",
        header=header,
        disclaimer=DISCLAIMER,
        styles=s,
    )
