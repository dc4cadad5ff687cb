"""The patient's handout as a PDF: plain words, large type, what to do and when to get
help.

Sections, in order: a banner when the last check calls for quick action, Your plan,
Looking after yourself, After an injection or an operation (only after one), Warning
signs, When to get help, Your next appointment. Every page carries the plain
disclaimer and "Page X of Y". The education text is the packaged pages' own.
"""

from __future__ import annotations

from collections.abc import Sequence

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

from backmice.documents.content import EducationText, Handout
from backmice.documents.layout import (
    ACCENT,
    CONTENT_WIDTH,
    DANGER,
    DANGER_SHADE,
    SHADE,
    TRIAGE_COLOURS,
    Styles,
    build_pdf,
    esc,
    fmt_date,
    make_styles,
)
from backmice.engine.contract import PLAIN_DISCLAIMER

__all__ = [
    "NO_APPOINTMENT",
    "NO_CHECK",
    "NO_EDUCATION",
    "NO_PLAN",
    "NO_WARNINGS",
    "PLAIN_TRIAGE_WORDS",
    "render_handout",
]

#: What each triage level asks the person to do (the same words as the self-check).
PLAIN_TRIAGE_WORDS = {
    "emergency": "Go to an emergency department or call an emergency number now.",
    "urgent": "See a doctor within a day or two.",
    "soon": "Book an appointment to be seen within 2 weeks.",
    "routine": "Book an ordinary appointment with your doctor or physiotherapist.",
    "self_care": (
        "You can look after this at home for now; get checked if it changes or worries you."
    ),
}
_QUICK = ("emergency", "urgent", "soon")

NO_PLAN = "Your plan has not been written down yet. Ask about it at your next appointment."
NO_WARNINGS = "Your last check found no warning signs."
NO_CHECK = "There is no check on your record yet."
NO_EDUCATION = "Ask your clinic for the leaflet on this, or ask us at your next appointment."
NO_APPOINTMENT = "No appointment is booked yet. Please contact your clinic to book one."
_PLAN_STATUS = {
    "suspended_for_red_flag": (
        "Your treatment plan is on hold until the warning signs below have been checked."
    ),
    "stopped": "Your treatment plan has finished or been stopped.",
    "not_started": "Your treatment plan has not started yet.",
}


def _bullets(items: Sequence[str], s: Styles) -> ListFlowable:
    return ListFlowable(
        [ListItem(Paragraph(esc(item), s.body), leftIndent=14) for item in items],
        bulletType="bullet",
        start="\u2022",
        leftIndent=14,
        bulletFontSize=s.body.fontSize,
    )


def _box(content: list[Flowable], fill: object, edge: object) -> Table:
    box = Table([[content]], colWidths=[CONTENT_WIDTH])
    box.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), fill),
                ("LINEBEFORE", (0, 0), (0, -1), 4, edge),
                ("LEFTPADDING", (0, 0), (-1, -1), 10),
                ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, -1), 7),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
            ]
        )
    )
    return box


def _title(handout: Handout, s: Styles) -> list[Flowable]:
    story: list[Flowable] = [
        Paragraph("Your care after your visit", s.title),
        Paragraph(
            f"For {esc(handout.patient_name)} \u00b7 given on "
            f"{fmt_date(handout.generated_at.date())}",
            s.subtitle,
        ),
    ]
    if handout.triage in _QUICK:
        colour = TRIAGE_COLOURS[handout.triage]
        story.append(
            _box(
                [
                    Paragraph(esc(PLAIN_TRIAGE_WORDS[handout.triage]), s.alert),
                    *(
                        [
                            Paragraph(
                                "Please read \u201cWarning signs\u201d in this handout.", s.body
                            )
                        ]
                        if handout.red_flags
                        else []
                    ),
                ],
                DANGER_SHADE,
                colour,
            )
        )
    return story


def _plan(handout: Handout, s: Styles) -> list[Flowable]:
    story: list[Flowable] = [Paragraph("Your plan", s.h1)]
    plan = handout.plan
    if plan is None:
        return [*story, Paragraph(NO_PLAN, s.body)]
    if plan.status in _PLAN_STATUS:
        style = s.alert if plan.status == "suspended_for_red_flag" else s.body
        story.append(Paragraph(_PLAN_STATUS[plan.status], style))
    if plan.current_step:
        story.append(Paragraph(f"Now: <b>{esc(plan.current_step)}</b>", s.body))
    if plan.next_step:
        story.append(Paragraph(f"Next: <b>{esc(plan.next_step)}</b>", s.body))
    if handout.next_appointment is not None:
        when = fmt_date(handout.next_appointment)
        story.append(Paragraph(f"Next appointment: <b>{when}</b>", s.body))
    if plan.patient_steps:
        story += [Paragraph("What you can do", s.h2), _bullets(plan.patient_steps, s)]
    return story


def _education(page: EducationText | None, heading: str, s: Styles) -> list[Flowable]:
    story: list[Flowable] = [Paragraph(esc(heading), s.h1)]
    if page is None:
        return [*story, Paragraph(NO_EDUCATION, s.body)]
    story.append(Paragraph(esc(page.summary), s.body))
    for section in page.sections:
        part: list[Flowable] = [Paragraph(esc(section.heading), s.h2)]
        part += [Paragraph(esc(text), s.body) for text in section.paragraphs]
        if section.bullets:
            part.append(_bullets(section.bullets, s))
        story.append(KeepTogether(part))
    if page.reading_level:
        story.append(Paragraph(esc(page.reading_level), s.small))
    return story


def _warnings(handout: Handout, s: Styles) -> list[Flowable]:
    story: list[Flowable] = [Paragraph("Warning signs", s.h1)]
    if handout.triage is None and not handout.red_flags:
        story.append(Paragraph(NO_CHECK, s.body))
    elif not handout.red_flags:
        story.append(Paragraph(NO_WARNINGS, s.body))
    else:
        story.append(Paragraph("Your last check found these signs. Please act on them.", s.body))
        for message in handout.red_flags:
            story += [
                KeepTogether(_box([Paragraph(esc(message), s.body)], DANGER_SHADE, DANGER)),
                Spacer(1, 2 * mm),
            ]
    if handout.triage in PLAIN_TRIAGE_WORDS:
        story.append(
            Paragraph(f"<b>What to do:</b> {esc(PLAIN_TRIAGE_WORDS[handout.triage])}", s.body)
        )
    story.append(
        Paragraph(
            "If anything under \u201cWhen to get help\u201d happens to you, do what it says, "
            "even if you have an appointment booked.",
            s.body,
        )
    )
    return story


def _appointment(handout: Handout, s: Styles) -> list[Flowable]:
    story: list[Flowable] = [Paragraph("Your next appointment", s.h1)]
    if handout.next_appointment is None:
        return [*story, Paragraph(NO_APPOINTMENT, s.body)]
    when = f"<b>{fmt_date(handout.next_appointment)}</b> ({handout.next_appointment:%A})"
    content: list[Flowable] = [
        Paragraph(when, s.h2),
        Paragraph(
            "Please bring your pain scores or diary, and tell us how the plan has gone.", s.body
        ),
    ]
    return [*story, _box(content, SHADE, ACCENT)]


def render_handout(handout: Handout) -> bytes:
    """The patient's handout as PDF bytes (A4, large type)."""
    s = make_styles(11.5)
    story: list[Flowable] = [*_title(handout, s), *_plan(handout, s)]
    story += _education(handout.self_care, "Looking after yourself", s)
    if handout.after_care is not None:
        story += _education(handout.after_care, handout.after_care.title, s)
    story += _warnings(handout, s)
    story += _education(handout.when_to_get_help, "When to get help", s)
    story += _appointment(handout, s)
    return build_pdf(
        story,
        title="Your care after your visit",
        header=f"{handout.patient_name} \u00b7 {fmt_date(handout.generated_at.date())}",
        disclaimer=PLAIN_DISCLAIMER,
        styles=s,
    )
