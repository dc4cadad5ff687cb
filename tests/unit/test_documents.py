"""The PDF documents, rendered from hand-built content: they open, say what they must,
and every page prints something."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from backmice.care.education import education_page
from backmice.documents import (
    Handout,
    InjectionLine,
    NoduleLine,
    PainPoint,
    PlanSummary,
    VisitSummary,
    render_handout,
    render_visit_summary,
)
from backmice.documents import handout as handout_module
from backmice.documents import visit_summary as summary_module
from backmice.documents.charts import MAX_SERIES, pain_series
from backmice.documents.gather import education_text
from backmice.engine import Engine
from backmice.engine.contract import DISCLAIMER, PLAIN_DISCLAIMER

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 16, 11, 5, tzinfo=UTC)
BACK_MOUSE = {
    "setting": "primary_care",
    "age": 52,
    "sex": "female",
    "findings": {
        "lump_present": True,
        "location": "posterior_iliac_crest",
        "size_cm": 2.0,
        "consistency": "rubbery",
        "mobile": True,
        "tender": True,
        "pressure_reproduces_pain": True,
        "injection_relief_percent": 90,
    },
}
RED_FLAGS = {
    "age": 60,
    "findings": {
        "lump_present": True,
        "location": "lumbar_paraspinal",
        "size_cm": 6.0,
        "growing": True,
        "fever": True,
        "erythema_warmth": True,
        "bladder_bowel_dysfunction": True,
    },
}
PLAN = PlanSummary(
    status="on_pathway",
    current_step="Diagnostic injection",
    next_step="Repeated injection with steroid",
    reasons=("Injection gave 88% relief at 20 minutes.",),
    review_due=dt.date(2026, 4, 6),
    patient_steps=("Use a soft cushion on hard chairs.",),
)
VISIT_HEADINGS = (
    "Visit summary",
    "Patient",
    "Nodules",
    "Differential",
    "Red flags",
    "Triage",
    "Injection test",
    "Care plan",
    "Pain",
)
HANDOUT_HEADINGS = (
    "Your plan",
    "Looking after yourself",
    "Warning signs",
    "When to get help",
    "Your next appointment",
)


# --- helpers ---------------------------------------------------------------------


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text, whitespace collapsed so wrapped lines read as one."""
    reader = PdfReader(io.BytesIO(pdf))
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def text_of(pdf: bytes) -> str:
    return " ".join(page_texts(pdf))


def pdftoppm() -> str:
    found = shutil.which("pdftoppm")
    if found is None:
        message = "pdftoppm is missing: install poppler-utils to render PDF pages"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def read_pgm(path: Path) -> tuple[int, int, bytes]:
    """Width, height and 8-bit pixels of a binary PGM (P5), as pdftoppm -gray writes."""
    data = path.read_bytes()
    fields = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    assert fields is not None, f"{path.name} is not a binary PGM"
    width, height, maxval = (int(v) for v in fields.groups())
    assert maxval == 255
    return width, height, data[fields.end() :]


def ink_per_page(pdf: bytes, folder: Path) -> list[float]:
    """The share of clearly non-white pixels on each page rendered at 50 dpi."""
    path = folder / "document.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        [pdftoppm(), "-gray", "-r", "50", str(path), str(folder / "page")],
        check=True,
        capture_output=True,
    )
    shares = []
    for image in sorted(folder.glob("page-*.pgm")):
        width, height, pixels = read_pgm(image)
        assert len(pixels) == width * height
        shares.append(sum(1 for p in pixels if p < 200) / (width * height))
    return shares


def summary(engine: Engine | None = None, case: dict[str, Any] | None = None) -> VisitSummary:
    result = (engine or Engine()).assess(case or BACK_MOUSE)
    start = dt.datetime(2026, 1, 5, 9, tzinfo=UTC)
    pain = [PainPoint(start + dt.timedelta(weeks=w), 8 - w // 2, "current") for w in range(8)] + [
        PainPoint(start + dt.timedelta(weeks=w), 7, "with_pressure", "L1") for w in range(8)
    ]
    return VisitSummary(
        generated_at=NOW,
        patient_identifier="MRN-000123",
        patient_name="Alex Example-Person",
        birth_date=dt.date(1972, 4, 9),
        sex="female",
        nodules=(
            NoduleLine("L1", 33.5, 61.25, "left", "posterior_iliac_crest", "active", 2.2, 7),
            NoduleLine("R1", 68.0, 58.0, "right", "sacroiliac", "resolved", 1.0),
            NoduleLine("R2", 75.0, 40.0, "right", "lumbar_paraspinal", "excised"),
        ),
        assessment=result,
        assessed_at=dt.datetime(2026, 3, 9, 10, 30, tzinfo=UTC),
        injection_tests=(
            InjectionLine(
                dt.datetime(2026, 3, 9, 11, tzinfo=UTC), "L1", 8, 1, 87.5, "strongly_positive", 20
            ),
        ),
        plan=PLAN,
        pain_points=tuple(pain),
        knowledge_version=result["knowledge_version"],
    )


def handout(triage: str | None = "routine", red_flags: tuple[str, ...] = ()) -> Handout:
    return Handout(
        generated_at=NOW,
        patient_name="Alex Example-Person",
        plan=PLAN,
        next_appointment=PLAN.review_due,
        triage=triage,
        red_flags=red_flags,
        self_care=education_text(education_page("self-care")),
        after_care=education_text(education_page("after-care")),
        when_to_get_help=education_text(education_page("when-to-get-help")),
    )


# --- the visit summary -----------------------------------------------------------


def test_a_visit_summary_opens_and_shows_every_section_and_the_key_values(
    engine: Engine,
) -> None:
    content = summary(engine)
    pdf = render_visit_summary(content)
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None and reader.metadata.title == "Visit summary"
    text = text_of(pdf)
    for heading in VISIT_HEADINGS:
        assert heading in text, heading
    top = content.assessment["differential"][0] if content.assessment else {}
    for value in (
        "Alex Example-Person",
        "MRN-000123",
        "9 Apr 1972",
        top["name"],
        "Diagnostic injection",
        "Repeated injection with steroid",
        "6 Apr 2026",
        "Strongly positive",
        "8 to 1",
        "ROUTINE",
        summary_module.NO_RED_FLAGS,
    ):
        assert value in text, value


def test_every_page_of_the_visit_summary_carries_the_disclaimer_and_its_number(
    engine: Engine,
) -> None:
    pages = page_texts(render_visit_summary(summary(engine, RED_FLAGS)))
    assert len(pages) >= 2
    disclaimer = " ".join(DISCLAIMER.split())
    for number, text in enumerate(pages, start=1):
        assert "supports, and does not replace, a clinician's judgement" in text
        assert disclaimer in text
        assert f"Page {number} of {len(pages)}" in text


def test_every_page_of_both_documents_prints_something(engine: Engine, tmp_path: Path) -> None:
    for name, pdf in (
        ("summary", render_visit_summary(summary(engine))),
        ("handout", render_handout(handout())),
    ):
        folder = tmp_path / name
        folder.mkdir()
        shares = ink_per_page(pdf, folder)
        assert len(shares) == len(PdfReader(io.BytesIO(pdf)).pages)
        for number, share in enumerate(shares, start=1):
            assert share > 0.005, f"{name} page {number} is blank ({share:.2%} ink)"


def test_red_flags_are_listed_with_their_messages_and_raise_the_banner(engine: Engine) -> None:
    content = summary(engine, RED_FLAGS)
    assert content.assessment is not None
    flags = content.assessment["red_flags"]
    assert flags, "the red-flag case must raise red flags"
    text = text_of(render_visit_summary(content))
    assert f"{len(flags)} red flags" in text
    assert "EMERGENCY" in text
    for flag in flags:
        assert " ".join(flag["message"].split()) in text
    assert summary_module.NO_RED_FLAGS not in text


def test_evidence_says_whether_each_likelihood_ratio_is_published_or_an_estimate(
    engine: Engine,
) -> None:
    content = summary(engine)
    assert content.assessment is not None
    result = dict(content.assessment)
    top = dict(result["differential"][0])
    evidence = [dict(e) for e in top["evidence"]]
    evidence[0]["basis"] = "published"
    evidence[1]["basis"] = "estimate"
    top["evidence"] = evidence
    result["differential"] = [top, *result["differential"][1:]]
    text = text_of(render_visit_summary(dataclasses.replace(content, assessment=result)))
    assert re.search(r"LR [0-9.]+ \(published\)", text)
    assert re.search(r"LR [0-9.]+ \(estimate\)", text)
    assert "not a measured result" in text


def test_an_empty_record_renders_with_the_none_texts() -> None:
    content = VisitSummary(
        generated_at=NOW,
        patient_identifier="MRN-9",
        patient_name="Sam Empty",
        birth_date=dt.date(1990, 1, 1),
        sex="other",
    )
    text = text_of(render_visit_summary(content))
    for heading in VISIT_HEADINGS:
        assert heading in text, heading
    for none_text in (
        summary_module.NO_NODULES,
        summary_module.NO_ASSESSMENT,
        summary_module.NO_RED_FLAGS_UNCHECKED,
        summary_module.NO_INJECTION_TEST,
        summary_module.NO_PLAN,
        summary_module.NO_PAIN_SCORES,
    ):
        assert none_text in text, none_text


def test_a_summary_of_500_nodules_caps_its_table_and_stays_short(
    engine: Engine, tmp_path: Path
) -> None:
    statuses = ("active", "active", "resolved", "excised")
    nodules = tuple(
        NoduleLine(
            f"N{i}",
            (i * 37) % 101,
            (i * 53) % 101,
            "left" if (i * 37) % 101 < 50 else "right",
            "buttock",
            statuses[i % 4],
            1.0 + i % 5,
            i % 11,
        )
        for i in range(500)
    )
    pain = tuple(
        PainPoint(NOW - dt.timedelta(days=i % 60, hours=i), i % 11, "current", f"N{i}")
        for i in range(500)
    )
    content = dataclasses.replace(summary(engine), nodules=nodules, pain_points=pain)
    pdf = render_visit_summary(content)
    pages = page_texts(pdf)
    assert len(pages) <= 6
    text = " ".join(pages)
    assert f"and {500 - summary_module.MAX_NODULE_ROWS} more nodules" in text
    assert "500 nodules" in text
    assert f"and {500 - MAX_SERIES} more series not drawn" in text
    assert all(share > 0.005 for share in ink_per_page(pdf, tmp_path))


def test_a_single_pain_score_still_draws_a_chart(engine: Engine) -> None:
    content = dataclasses.replace(summary(engine), pain_points=(PainPoint(NOW, 6, "worst", None),))
    text = text_of(render_visit_summary(content))
    assert "1 score" in text and "Latest overall: 6/10" in text
    assert "Overall, worst" in text  # the chart's legend


def test_the_pain_chart_draws_overall_pain_first_and_counts_what_it_leaves_out() -> None:
    points = [PainPoint(NOW - dt.timedelta(days=d), 3, "current", f"N{d}") for d in range(12)]
    points.append(PainPoint(NOW - dt.timedelta(days=30), 5, "worst"))
    drawn, left_out = pain_series(points)
    assert len(drawn) == MAX_SERIES and left_out == 13 - MAX_SERIES
    assert drawn[0].nodule is None
    assert [s.nodule for s in drawn[1:3]] == ["N0", "N1"]  # the most recently scored


def test_text_from_the_record_cannot_break_the_markup(engine: Engine) -> None:
    content = dataclasses.replace(
        summary(engine), patient_name="Ann <b>O'Neil</b> & Co", patient_identifier="A&B<1>"
    )
    text = text_of(render_visit_summary(content))
    assert "Ann <b>O'Neil</b> & Co" in text and "A&B<1>" in text


# --- the handout -----------------------------------------------------------------


def test_a_handout_opens_and_shows_every_section_the_plan_and_the_plain_disclaimer() -> None:
    pdf = render_handout(handout())
    pages = page_texts(pdf)
    text = " ".join(pages)
    for heading in HANDOUT_HEADINGS:
        assert heading in text, heading
    for value in (
        "Alex Example-Person",
        "Diagnostic injection",
        "Use a soft cushion on hard chairs.",
        "6 Apr 2026",
        education_page("self-care").sections[0].heading,
        education_page("when-to-get-help").sections[0].heading,
        education_page("after-care").title,
        handout_module.NO_WARNINGS,
    ):
        assert value in text, value
    plain = " ".join(PLAIN_DISCLAIMER.split())
    for number, page in enumerate(pages, start=1):
        assert plain in page
        assert f"Page {number} of {len(pages)}" in page


def test_a_handout_with_red_flags_leads_with_what_to_do_and_lists_them(engine: Engine) -> None:
    result = engine.assess(RED_FLAGS)
    messages = tuple(f["message"] for f in result["red_flags"])
    pages = page_texts(render_handout(handout(result["triage"], messages)))
    assert handout_module.PLAIN_TRIAGE_WORDS["emergency"] in pages[0]
    text = " ".join(pages)
    for message in messages:
        assert " ".join(message.split()) in text
    assert handout_module.NO_WARNINGS not in text


def test_a_handout_without_plan_check_or_appointment_says_so() -> None:
    bare = Handout(generated_at=NOW, patient_name="Sam Empty")
    text = text_of(render_handout(bare))
    for heading in HANDOUT_HEADINGS:
        assert heading in text, heading
    for none_text in (
        handout_module.NO_PLAN,
        handout_module.NO_CHECK,
        handout_module.NO_APPOINTMENT,
    ):
        assert none_text in text, none_text


def test_a_suspended_plan_is_explained_to_the_patient() -> None:
    suspended = dataclasses.replace(PLAN, status="suspended_for_red_flag")
    text = text_of(render_handout(dataclasses.replace(handout(), plan=suspended)))
    assert "on hold until the warning signs" in text


def test_the_content_classes_import_only_the_standard_library() -> None:
    import ast

    from backmice.documents import content

    tree = ast.parse(Path(content.__file__).read_text(encoding="utf-8"))
    imported = {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    } | {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert imported <= {"__future__", "datetime", "collections", "dataclasses", "typing"}
