"""Patient education: plain-language pages about back mice, shipped as data.

Each page is one YAML file in `pages/`, named after its id and listed in reading order
in `pages/index.yaml`. Parsing is strict, like the knowledge base's: an unknown key is
an error that lists the allowed keys, a missing key is named, and every source must be
an id in the knowledge base's references. Each page's reading level is measured when it
is loaded: the Flesch-Kincaid grade of its whole text (`plain_text`), computed by
textstat. The packaged pages aim at grade 8 or below (`TARGET_GRADE`); a test holds
them to it. See docs/education.md.

    >>> page = education_page("self-care")
    >>> page.title
    'Looking after yourself'
    >>> page.reading_grade <= TARGET_GRADE
    True
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

import textstat  # type: ignore[import-untyped, unused-ignore]
import yaml

from backmice.errors import KnowledgeBaseError, RecordNotFound
from backmice.knowledge import default_knowledge
from backmice.knowledge.shapes import list_, mapping, text

__all__ = [
    "PAGE_KEYS",
    "SECTION_KEYS",
    "TARGET_GRADE",
    "EducationPage",
    "EducationSection",
    "education_page",
    "education_pages",
    "flesch_kincaid_grade",
    "flesch_reading_ease",
    "load_pages",
    "parse_page",
    "plain_text",
]

TARGET_GRADE = 8.0
"""The highest Flesch-Kincaid grade a packaged page may have."""

PAGE_KEYS = ("id", "title", "summary", "sections", "sources")
SECTION_KEYS = ("heading", "paragraphs", "bullets")
_INDEX_KEYS = ("version", "language", "pages")
_PAGE_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*$")
_INNER_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s")


@dataclass(frozen=True)
class EducationSection:
    """One part of a page: a heading, then paragraphs, then bullet points."""

    heading: str
    paragraphs: tuple[str, ...]
    bullets: tuple[str, ...]


@dataclass(frozen=True)
class EducationPage:
    """A patient education page with the reading level measured from its text."""

    id: str
    title: str
    summary: str
    sections: tuple[EducationSection, ...]
    sources: tuple[str, ...]
    reading_grade: float
    """Flesch-Kincaid grade of `plain_text(page)`: about the US school grade needed."""
    reading_ease: float
    """Flesch reading ease of the same text: 0-100, higher is easier."""

    @property
    def reading_level(self) -> str:
        """The statement of the reading level a rendered page shows."""
        return f"Reading level: Flesch-Kincaid grade {self.reading_grade:.1f}"


# --- readability ----------------------------------------------------------------------


def flesch_kincaid_grade(text: str) -> float:
    """The Flesch-Kincaid grade of `text`, as textstat computes it (US school grade)."""
    return float(textstat.flesch_kincaid_grade(text))


def flesch_reading_ease(text: str) -> float:
    """The Flesch reading ease of `text`, as textstat computes it (higher is easier)."""
    return float(textstat.flesch_reading_ease(text))


def plain_text(page: EducationPage) -> str:
    """The page's whole text, one sentence-like unit a line, as used for readability.

    Title, summary, each heading, paragraph and bullet become one unit each, in order.
    A unit without closing punctuation (a heading, a bullet, a line ending in a colon)
    gets a full stop, so that a readability formula counts it as the short sentence a
    reader sees rather than running it into the next one.
    """
    return _joined(page.title, page.summary, page.sections)


def _joined(title: str, summary: str, sections: tuple[EducationSection, ...]) -> str:
    units = [title, summary]
    for section in sections:
        units.append(section.heading)
        units.extend(section.paragraphs)
        units.extend(section.bullets)
    return "\n".join(_as_sentence(unit) for unit in units)


def _as_sentence(unit: str) -> str:
    return unit if _SENTENCE_END.search(unit) else unit.rstrip(":;, ") + "."


# --- loading --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def education_pages() -> tuple[EducationPage, ...]:
    """The packaged pages in reading order, loaded and checked once per process."""
    return load_pages()


def education_page(page_id: str) -> EducationPage:
    """The packaged page `page_id`; raises `RecordNotFound` listing the valid ids."""
    pages = education_pages()
    for page in pages:
        if page.id == page_id:
            return page
    raise RecordNotFound(
        f"education page {page_id!r} does not exist; the pages are {', '.join(p.id for p in pages)}"
    )


def load_pages(
    directory: Path | Traversable | None = None,
    references: Collection[str] | None = None,
) -> tuple[EducationPage, ...]:
    """Read and check the pages in `directory` (default: the packaged ones).

    `references` are the source ids a page may cite (default: the packaged knowledge
    base's references). Raises `KnowledgeBaseError` on the first fault, naming the file.
    """
    root = (
        directory if directory is not None else resources.files("backmice.care.education") / "pages"
    )
    known = references if references is not None else default_knowledge().references
    index = mapping(_read(root, "index.yaml"), "index.yaml", _INDEX_KEYS)
    text(index["version"], "index.yaml: version")
    text(index["language"], "index.yaml: language")
    ids = [text(p, "index.yaml: pages") for p in list_(index["pages"], "index.yaml: pages")]
    if not ids:
        raise KnowledgeBaseError("index.yaml: pages: list at least one page")
    seen: set[str] = set()
    for page_id in ids:
        if page_id in seen:
            raise KnowledgeBaseError(f"index.yaml: pages: {page_id!r} appears more than once")
        seen.add(page_id)
    files = {n.name for n in root.iterdir() if n.name.endswith(".yaml")} - {"index.yaml"}
    unlisted = sorted(files - {f"{page_id}.yaml" for page_id in ids})
    if unlisted:
        raise KnowledgeBaseError(
            f"index.yaml: pages: {', '.join(unlisted)} not listed; list every page file"
        )
    pages = []
    for page_id in ids:
        name = f"{page_id}.yaml"
        page = parse_page(_read(root, name), name, known)
        if page.id != page_id:
            raise KnowledgeBaseError(f"{name}: id {page.id!r} does not match the file name")
        pages.append(page)
    return tuple(pages)


def parse_page(doc: Any, where: str, references: Collection[str]) -> EducationPage:
    """Check one page's parsed YAML and measure its reading level.

    >>> doc = {"id": "demo", "title": "A demo", "summary": "A short page.",
    ...        "sections": [{"heading": "Hello", "paragraphs": ["You can read this."]}],
    ...        "sources": []}
    >>> parse_page(doc, "demo.yaml", references=()).sections[0].paragraphs
    ('You can read this.',)
    """
    raw = mapping(doc, where, PAGE_KEYS)
    page_id = text(raw["id"], f"{where}: id")
    if not _PAGE_ID.fullmatch(page_id):
        raise KnowledgeBaseError(
            f"{where}: id {page_id!r} is not lower-case words joined by hyphens"
        )
    title = text(raw["title"], f"{where}: title")
    summary = text(raw["summary"], f"{where}: summary")
    if not _SENTENCE_END.search(summary) or _INNER_SENTENCE_END.search(summary):
        raise KnowledgeBaseError(f"{where}: summary: expected one sentence, got {summary!r}")
    sections = _sections(raw["sections"], f"{where}: sections")
    sources = tuple(text(s, f"{where}: sources") for s in list_(raw["sources"], where))
    for source in sources:
        if source not in references:
            raise KnowledgeBaseError(f"{where}: sources: {source!r} is not in references.yaml")
    if len(set(sources)) != len(sources):
        raise KnowledgeBaseError(f"{where}: sources: a source is listed more than once")
    whole = _joined(title, summary, sections)
    return EducationPage(
        id=page_id,
        title=title,
        summary=summary,
        sections=sections,
        sources=sources,
        reading_grade=flesch_kincaid_grade(whole),
        reading_ease=flesch_reading_ease(whole),
    )


def _sections(obj: Any, where: str) -> tuple[EducationSection, ...]:
    items = list_(obj, where)
    if not items:
        raise KnowledgeBaseError(f"{where}: a page needs at least one section")
    out: list[EducationSection] = []
    for i, item in enumerate(items):
        here = f"{where}[{i}]"
        raw = mapping(item, here, SECTION_KEYS[:1], SECTION_KEYS[1:])
        heading = text(raw["heading"], f"{here}.heading")
        paragraphs = tuple(
            text(p, f"{here}.paragraphs") for p in list_(raw.get("paragraphs", []), here)
        )
        bullets = tuple(text(b, f"{here}.bullets") for b in list_(raw.get("bullets", []), here))
        if not paragraphs and not bullets:
            raise KnowledgeBaseError(f"{here}: {heading!r} needs paragraphs or bullets")
        if heading in (s.heading for s in out):
            raise KnowledgeBaseError(f"{here}: heading {heading!r} appears more than once")
        out.append(EducationSection(heading=heading, paragraphs=paragraphs, bullets=bullets))
    return tuple(out)


def _read(root: Path | Traversable, name: str) -> Any:
    try:
        content = (root / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KnowledgeBaseError(f"{name}: file is missing from the education pages") from None
    try:
        return yaml.safe_load(content)
    except yaml.YAMLError as exc:
        raise KnowledgeBaseError(f"{name}: not valid YAML: {exc}") from None
