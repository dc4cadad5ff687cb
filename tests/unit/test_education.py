"""Patient education pages load strictly, cite real sources and read at grade 8 or below."""

from __future__ import annotations

import re
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import textstat  # type: ignore[import-untyped, unused-ignore]
import yaml

from backmice.care.education import (
    PAGE_KEYS,
    TARGET_GRADE,
    EducationPage,
    education_page,
    education_pages,
    flesch_kincaid_grade,
    load_pages,
    parse_page,
    plain_text,
)
from backmice.errors import KnowledgeBaseError, RecordNotFound
from backmice.knowledge import KnowledgeBase

READING_ORDER = (
    "what-is-a-back-mouse",
    "other-causes",
    "self-care",
    "exercise",
    "treatments",
    "after-care",
    "when-to-get-help",
    "faq",
)

PAGES = education_pages()


def page_doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "demo",
        "title": "A short page",
        "summary": "This page is easy to read.",
        "sections": [{"heading": "Hello", "paragraphs": ["You can read this."]}],
        "sources": [],
    }
    doc.update(changes)
    return doc


def words(page: EducationPage) -> str:
    return plain_text(page).lower()


@pytest.fixture
def pages_copy(tmp_path: Path) -> Path:
    source = resources.files("backmice.care.education") / "pages"
    target = tmp_path / "pages"
    shutil.copytree(str(source), target)
    return target


# --- the packaged pages ---------------------------------------------------------------


def test_every_required_topic_has_a_page_in_reading_order() -> None:
    assert tuple(page.id for page in PAGES) == READING_ORDER
    for page_id in READING_ORDER:
        assert education_page(page_id).id == page_id


def test_the_pages_are_loaded_once_in_reading_order() -> None:
    assert education_pages() is PAGES
    index = yaml.safe_load(
        (resources.files("backmice.care.education") / "pages" / "index.yaml").read_text("utf-8")
    )
    assert [page.id for page in PAGES] == index["pages"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.id)
def test_each_page_reads_at_grade_8_or_below(page: EducationPage) -> None:
    # measured independently of the loader, straight from textstat
    grade = textstat.flesch_kincaid_grade(plain_text(page))
    assert grade <= TARGET_GRADE == 8.0, f"{page.id} reads at grade {grade:.1f}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.id)
def test_the_stated_reading_level_is_what_textstat_computes(page: EducationPage) -> None:
    text = plain_text(page)
    assert page.reading_grade == textstat.flesch_kincaid_grade(text)
    assert page.reading_ease == textstat.flesch_reading_ease(text)
    assert page.reading_level == f"Reading level: Flesch-Kincaid grade {page.reading_grade:.1f}"


def test_a_hard_paragraph_scores_above_grade_8_through_the_same_measure() -> None:
    hard = (
        "Subfascial herniation of lobulated adipose tissue through anatomical defects in the "
        "thoracolumbar fascia, characteristically adjacent to the posterior superior iliac "
        "spine, may precipitate localised nociceptive symptomatology that is frequently "
        "misattributed to radiculopathy or sacroiliac arthropathy."
    )
    assert flesch_kincaid_grade(hard) > TARGET_GRADE
    page = parse_page(
        page_doc(sections=[{"heading": "Overview", "paragraphs": [hard]}]), "hard.yaml", ()
    )
    assert page.reading_grade > TARGET_GRADE


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.id)
def test_page_sources_resolve_in_the_knowledge_base(page: EducationPage, kb: KnowledgeBase) -> None:
    for source in page.sources:
        assert source in kb.references


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.id)
def test_each_page_supports_and_does_not_replace_a_clinician(page: EducationPage) -> None:
    assert "does not replace" in words(page)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.id)
def test_no_page_promises_an_outcome(page: EducationPage) -> None:
    promises = re.findall(r"\b(guarantee[sd]?|cures?|cured|permanent(?:ly)?|100 ?%)", words(page))
    assert not promises


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.id)
def test_no_page_uses_abbreviations_that_break_sentences(page: EducationPage) -> None:
    # "e.g." would end a sentence for the readability count and confuse a reader
    assert not re.search(r"\b(e\.g|i\.e|etc|approx)\.", words(page))


def test_the_first_page_says_a_back_mouse_is_benign() -> None:
    text = words(education_page("what-is-a-back-mouse"))
    assert "benign" in text
    assert "not a cancer" in text
    # the injection test supports the diagnosis but does not prove it
    assert "some people feel better after any injection" in text


def test_the_other_causes_page_names_the_look_alikes() -> None:
    text = words(education_page("other-causes"))
    for name in (
        "lipoma",
        "skin cyst",
        "abscess",
        "pilonidal",
        "lumbar hernia",
        "fluid pocket after an injury",
        "sarcoma",
        "iliac crest pain",
        "pinched skin nerve",
        "muscle knot",
        "sacroiliac joint",
        "sciatica",
        "common low back pain",
        "a serious cause",
    ):
        assert name in text, name


def test_the_treatments_page_covers_each_treatment_and_its_evidence() -> None:
    page = education_page("treatments")
    headings = [s.heading for s in page.sections]
    for heading in (
        "A test injection to find the cause",
        "Numbing and steroid injections",
        "Dry needling, acupuncture and hands-on therapy",
        "An operation to remove the lump",
        "Liposuction",
    ):
        assert heading in headings, heading
    text = words(page)
    assert "needling" in text
    assert "the gap in the tough layer" in text  # excision with fascial repair
    assert "many people get lasting relief from injections" in text
    assert "uncommon" in text and "evidence is thin" in text  # liposuction: no source found
    assert "weaker than for injections" in text


def test_the_after_care_page_lists_the_warning_signs() -> None:
    text = words(education_page("after-care"))
    for sign in ("fever", "increasing pain", "bleeding", "discharge", "spreading redness"):
        assert sign in text, sign
    headings = [s.heading for s in education_page("after-care").sections]
    assert "After an injection" in headings
    assert "After an operation" in headings


def test_the_when_to_get_help_page_matches_the_red_flags() -> None:
    text = words(education_page("when-to-get-help"))
    # one phrase for each red-flag rule in knowledge/data/red_flags.yaml
    for phrase in (
        "bladder or bowels",  # cauda_equina
        "numbness between your legs",  # cauda_equina
        "fever together with a red, hot lump",  # sepsis
        "feeling very unwell",  # sepsis
        "inject drugs",  # spinal infection (with and without neurology)
        "a leg that is getting weaker",  # progressive_neurological_deficit
        "will not go back in",  # irreducible_hernia
        "leaks pus",  # abscess
        "golf ball",  # possible_sarcoma: size
        "getting bigger",  # possible_sarcoma: growing
        "come back after it was taken out",  # possible_sarcoma: recurrence
        "losing weight without trying",  # possible_malignancy
        "had cancer",  # possible_malignancy, metastatic cord compression
        "70 or older",  # possible_fracture
    ):
        assert phrase in text, phrase
    headings = [s.heading for s in education_page("when-to-get-help").sections]
    assert headings[0] == "Get emergency help now"


def test_plain_text_gives_every_unit_a_line_ending_in_a_full_stop() -> None:
    page = parse_page(
        page_doc(
            sections=[{"heading": "Signs", "paragraphs": ["Look out for:"], "bullets": ["fever"]}]
        ),
        "demo.yaml",
        (),
    )
    assert plain_text(page) == (
        "A short page.\nThis page is easy to read.\nSigns.\nLook out for.\nfever."
    )


# --- strict parsing -------------------------------------------------------------------


def test_an_unknown_page_key_is_rejected_listing_the_allowed_keys() -> None:
    allowed = ", ".join(PAGE_KEYS)
    with pytest.raises(
        KnowledgeBaseError, match=f"unknown key 'audience'; allowed keys are {allowed}"
    ):
        parse_page(page_doc(audience="adults"), "demo.yaml", ())


def test_an_unknown_section_key_is_rejected_listing_the_allowed_keys() -> None:
    sections = [{"heading": "Hello", "paragraph": ["Oops."]}]
    with pytest.raises(
        KnowledgeBaseError,
        match=r"demo.yaml: sections\[0\]: unknown key 'paragraph'; "
        "allowed keys are heading, paragraphs, bullets",
    ):
        parse_page(page_doc(sections=sections), "demo.yaml", ())


def test_a_missing_key_is_named() -> None:
    doc = page_doc()
    del doc["summary"]
    with pytest.raises(
        KnowledgeBaseError, match=re.escape("demo.yaml: missing required key 'summary'")
    ):
        parse_page(doc, "demo.yaml", ())


def test_an_unknown_source_id_is_rejected() -> None:
    with pytest.raises(
        KnowledgeBaseError,
        match=re.escape("demo.yaml: sources: 'nobody2099' is not in references.yaml"),
    ):
        parse_page(page_doc(sources=["motyka2000", "nobody2099"]), "demo.yaml", {"motyka2000"})


def test_a_known_source_id_is_accepted() -> None:
    page = parse_page(page_doc(sources=["motyka2000"]), "demo.yaml", {"motyka2000"})
    assert page.sources == ("motyka2000",)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"summary": "One sentence. And another."}, "summary: expected one sentence"),
        ({"summary": "No closing stop"}, "summary: expected one sentence"),
        ({"id": "Self Care"}, "id 'Self Care' is not lower-case words joined by hyphens"),
        ({"title": "  "}, "title: expected non-empty text"),
        ({"sections": []}, "a page needs at least one section"),
        ({"sections": [{"heading": "Empty"}]}, "'Empty' needs paragraphs or bullets"),
        (
            {
                "sections": [
                    {"heading": "A", "bullets": ["x."]},
                    {"heading": "A", "bullets": ["y."]},
                ]
            },
            "heading 'A' appears more than once",
        ),
        ({"sections": [{"heading": "A", "bullets": "one."}]}, "expected a list, got str"),
        ({"sources": ["motyka2000", "motyka2000"]}, "listed more than once"),
    ],
)
def test_a_malformed_page_is_rejected_with_a_message_naming_the_fault(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(KnowledgeBaseError, match=re.escape(message)):
        parse_page(page_doc(**changes), "demo.yaml", {"motyka2000"})


def test_an_unknown_page_id_raises_record_not_found_listing_the_pages() -> None:
    with pytest.raises(RecordNotFound, match="education page 'back-mouse' does not exist") as info:
        education_page("back-mouse")
    for page in PAGES:
        assert page.id in str(info.value)


# --- the folder of pages --------------------------------------------------------------


def test_a_copied_folder_loads_like_the_packaged_pages(pages_copy: Path) -> None:
    assert load_pages(pages_copy) == PAGES


def test_a_page_file_missing_from_the_index_is_rejected(pages_copy: Path) -> None:
    shutil.copy(pages_copy / "self-care.yaml", pages_copy / "extra.yaml")
    with pytest.raises(KnowledgeBaseError, match=re.escape("extra.yaml not listed")):
        load_pages(pages_copy)


def test_a_listed_page_without_a_file_is_rejected(pages_copy: Path) -> None:
    (pages_copy / "self-care.yaml").unlink()
    with pytest.raises(KnowledgeBaseError, match=re.escape("self-care.yaml: file is missing")):
        load_pages(pages_copy)


def test_a_page_whose_id_differs_from_its_file_name_is_rejected(pages_copy: Path) -> None:
    path = pages_copy / "self-care.yaml"
    doc = yaml.safe_load(path.read_text("utf-8"))
    doc["id"] = "self-help"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), "utf-8")
    with pytest.raises(KnowledgeBaseError, match="id 'self-help' does not match the file name"):
        load_pages(pages_copy)


def test_an_unknown_source_in_a_page_file_is_rejected(pages_copy: Path) -> None:
    path = pages_copy / "after-care.yaml"
    doc = yaml.safe_load(path.read_text("utf-8"))
    doc["sources"].append("made_up_2030")
    path.write_text(yaml.safe_dump(doc, sort_keys=False), "utf-8")
    with pytest.raises(
        KnowledgeBaseError, match=re.escape("'made_up_2030' is not in references.yaml")
    ):
        load_pages(pages_copy)
