"""The look shared by both documents: fonts, colours, paragraph styles, the page frame
with its header, disclaimer footer and "Page X of Y", and the build into bytes.

Fonts are Bitstream Vera, shipped inside reportlab and embedded in every PDF, so a file
looks the same on every machine and covers the dashes, degree signs and accented
letters the knowledge base uses. reportlab keeps registered fonts in a process-wide
table; `register_fonts` fills it on first use, never at import time.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import reportlab  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib import colors  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.enums import TA_LEFT  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.units import mm  # type: ignore[import-untyped, unused-ignore]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped, unused-ignore]
from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped, unused-ignore]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped, unused-ignore]
from reportlab.platypus import (  # type: ignore[import-untyped, unused-ignore]
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
    Table,
    TableStyle,
)
from reportlab.platypus.doctemplate import BaseDocTemplate  # type: ignore[import-untyped, unused-ignore]

__all__ = [
    "ACCENT",
    "CONTENT_WIDTH",
    "DANGER",
    "DANGER_SHADE",
    "FONT",
    "FONT_BOLD",
    "FONT_ITALIC",
    "INK",
    "MUTED",
    "PAGE_HEIGHT",
    "PAGE_WIDTH",
    "RULE",
    "SHADE",
    "TRIAGE_COLOURS",
    "Styles",
    "build_pdf",
    "data_table",
    "esc",
    "fmt_date",
    "fmt_datetime",
    "humanize",
    "make_styles",
    "register_fonts",
]

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 18 * mm
MARGIN_TOP = 20 * mm
MARGIN_BOTTOM = 26 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN_X

FONT = "BackmiceSans"
FONT_BOLD = "BackmiceSans-Bold"
FONT_ITALIC = "BackmiceSans-Italic"
_FONT_FILES = {
    FONT: "Vera.ttf",
    FONT_BOLD: "VeraBd.ttf",
    FONT_ITALIC: "VeraIt.ttf",
    "BackmiceSans-BoldItalic": "VeraBI.ttf",
}

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")
RULE = colors.HexColor("#cbd2d9")
ACCENT = colors.HexColor("#1d4e89")
SHADE = colors.HexColor("#f0f4f8")
DANGER = colors.HexColor("#b42318")
DANGER_SHADE = colors.HexColor("#fdecea")

#: Triage level -> colour of its badge; the words carry the meaning, colour only helps.
TRIAGE_COLOURS = {
    "emergency": colors.HexColor("#b42318"),
    "urgent": colors.HexColor("#c4320a"),
    "soon": colors.HexColor("#b54708"),
    "routine": colors.HexColor("#1d4e89"),
    "self_care": colors.HexColor("#027a48"),
}


def register_fonts() -> None:
    """Register the embedded Vera family once per process."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    folder = Path(reportlab.__file__).parent / "fonts"
    for name, filename in _FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(folder / filename)))
    pdfmetrics.registerFontFamily(
        FONT,
        normal=FONT,
        bold=FONT_BOLD,
        italic=FONT_ITALIC,
        boldItalic="BackmiceSans-BoldItalic",
    )


def esc(text: object) -> str:
    """Text made safe for reportlab's paragraph markup (`&`, `<`, `>` escaped)."""
    return escape(str(text))


def humanize(code: object) -> str:
    """An identifier as words: `posterior_iliac_crest` -> `posterior iliac crest`."""
    if isinstance(code, bool):
        return "yes" if code else "no"
    if isinstance(code, float) and code.is_integer():
        return str(int(code))
    return str(code).replace("_", " ")


def fmt_date(day: dt.date | None) -> str:
    """`4 Mar 2026` (no leading zero, month abbreviated), or an en dash when unknown."""
    if day is None:
        return "\u2013"
    return f"{day.day} {day:%b %Y}"


def fmt_datetime(moment: dt.datetime | None) -> str:
    """`4 Mar 2026 10:30 UTC`, in the timestamp's own time zone."""
    if moment is None:
        return "\u2013"
    zone = moment.tzname() or ""
    return f"{fmt_date(moment.date())} {moment:%H:%M} {zone}".rstrip()


@dataclass(frozen=True, slots=True)
class Styles:
    """The paragraph styles of one document."""

    title: ParagraphStyle
    subtitle: ParagraphStyle
    h1: ParagraphStyle
    h2: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    cell: ParagraphStyle
    cell_bold: ParagraphStyle
    bullet: ParagraphStyle
    alert: ParagraphStyle
    footer: ParagraphStyle


def make_styles(size: float) -> Styles:
    """Styles around a body text of `size` points (9.5 for clinicians, 11.5 for patients)."""
    register_fonts()
    lead = size * 1.38

    def style(name: str, **kw: Any) -> ParagraphStyle:
        base: dict[str, Any] = {
            "fontName": FONT,
            "fontSize": size,
            "leading": lead,
            "textColor": INK,
            "alignment": TA_LEFT,
        }
        base.update(kw)
        return ParagraphStyle(name, **base)

    return Styles(
        title=style("title", fontName=FONT_BOLD, fontSize=size * 2, leading=size * 2.4),
        subtitle=style("subtitle", textColor=MUTED, spaceAfter=size * 0.6),
        h1=style(
            "h1",
            fontName=FONT_BOLD,
            fontSize=size * 1.35,
            leading=size * 1.7,
            textColor=ACCENT,
            spaceBefore=size * 1.3,
            spaceAfter=size * 0.45,
            keepWithNext=True,
        ),
        h2=style(
            "h2",
            fontName=FONT_BOLD,
            fontSize=size * 1.05,
            leading=size * 1.4,
            spaceBefore=size * 0.7,
            spaceAfter=size * 0.25,
            keepWithNext=True,
        ),
        body=style("body", spaceAfter=size * 0.45),
        small=style("small", fontSize=size * 0.84, leading=size * 1.15, textColor=MUTED),
        cell=style("cell", fontSize=size * 0.9, leading=size * 1.18),
        cell_bold=style("cell_bold", fontName=FONT_BOLD, fontSize=size * 0.9, leading=size * 1.18),
        bullet=style(
            "bullet", leftIndent=size * 1.3, bulletIndent=size * 0.3, spaceAfter=size * 0.3
        ),
        alert=style("alert", fontName=FONT_BOLD, textColor=DANGER),
        footer=style(
            "footer", fontSize=max(7.2, size * 0.72), leading=max(9, size * 0.9), textColor=MUTED
        ),
    )


def data_table(
    rows: Sequence[Sequence[object]],
    widths: Sequence[float],
    *,
    header: bool = True,
    extra: Sequence[tuple[Any, ...]] = (),
) -> Table:
    """A quiet table: shaded bold header row, hairlines between rows, no vertical rules.
    Cells may be text or flowables; text is not wrapped, so pass Paragraphs for long
    values."""
    table = Table([list(r) for r in rows], colWidths=list(widths), repeatRows=1 if header else 0)
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
    ]
    if header:
        commands += [
            ("FONTNAME", (0, 0), (-1, 0), FONT_BOLD),
            ("BACKGROUND", (0, 0), (-1, 0), SHADE),
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, MUTED),
        ]
    table.setStyle(TableStyle([*commands, *extra]))
    return table


def _numbered_canvas(styles: Styles) -> type[Canvas]:
    """A canvas class that writes "Page X of Y" once the page count is known."""

    class NumberedCanvas(Canvas):  # type: ignore[misc, unused-ignore]  # reportlab ships no types
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.setFont(FONT, styles.footer.fontSize)
                self.setFillColor(MUTED)
                self.drawRightString(
                    PAGE_WIDTH - MARGIN_X,
                    MARGIN_BOTTOM - 4.5 * mm - 7.5,
                    f"Page {number} of {total}",
                )
                super().showPage()
            super().save()

    return NumberedCanvas


def build_pdf(
    story: Sequence[Flowable],
    *,
    title: str,
    header: str,
    disclaimer: str,
    styles: Styles,
) -> bytes:
    """Lay `story` out on A4 pages, each with `header` at the top (from page 2) and
    `disclaimer` plus the page number at the bottom; return the PDF's bytes."""
    register_fonts()
    out = io.BytesIO()
    doc = BaseDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=title,
        author="backmice",
        subject=title,
        creator="backmice",
        invariant=True,
    )
    frame = Frame(
        MARGIN_X,
        MARGIN_BOTTOM,
        CONTENT_WIDTH,
        PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="body",
    )
    footer = Paragraph(esc(disclaimer), styles.footer)

    def decorate(canvas: Canvas, document: BaseDocTemplate) -> None:
        canvas.saveState()
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN_X, MARGIN_BOTTOM - 3 * mm, PAGE_WIDTH - MARGIN_X, MARGIN_BOTTOM - 3 * mm)
        _, height = footer.wrapOn(canvas, CONTENT_WIDTH - 28 * mm, MARGIN_BOTTOM)
        footer.drawOn(canvas, MARGIN_X, MARGIN_BOTTOM - 4.5 * mm - height)
        if document.page > 1:
            canvas.setFont(FONT, styles.footer.fontSize)
            canvas.setFillColor(MUTED)
            canvas.drawString(MARGIN_X, PAGE_HEIGHT - MARGIN_TOP + 6 * mm, header)
            canvas.line(
                MARGIN_X,
                PAGE_HEIGHT - MARGIN_TOP + 4 * mm,
                PAGE_WIDTH - MARGIN_X,
                PAGE_HEIGHT - MARGIN_TOP + 4 * mm,
            )
        canvas.restoreState()

    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=decorate)])
    doc.build(list(story), canvasmaker=_numbered_canvas(styles))
    return out.getvalue()
