"""The knowledge base is checked as a whole when it is built; each fault is named."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from backmice.errors import KnowledgeBaseError
from backmice.knowledge import CONDITION_IDS, KnowledgeBase, load_knowledge
from backmice.knowledge.model import SETTINGS


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    source = resources.files("backmice.knowledge") / "data"
    target = tmp_path / "data"
    shutil.copytree(str(source), target)
    return target


def edit(path: Path, change: Callable[[Any], None]) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")


def test_the_packaged_knowledge_base_is_complete(kb: KnowledgeBase) -> None:
    assert tuple(c.id for c in kb.conditions) == CONDITION_IDS
    assert len(kb.findings) == 42
    for finding in kb.findings:
        assert len(kb.likelihoods[finding.id]) == len(CONDITION_IDS)
    for setting in SETTINGS:
        assert sum(cell.p for cell in kb.priors[setting]) == pytest.approx(1.0, abs=1e-6)
    assert kb.version == "2026.11.0"


def test_every_number_has_provenance(kb: KnowledgeBase) -> None:
    cells = [d for ds in kb.likelihoods.values() for d in ds]
    for dist in cells:
        assert dist.basis in ("published", "estimate")
        assert all(lo <= p <= hi for lo, p, hi in zip(dist.low, dist.p, dist.high, strict=True))
        if dist.basis == "published":
            assert dist.sources
        for source in dist.sources:
            assert source in kb.references
    for rule in kb.red_flags:
        assert rule.sources and all(s in kb.references for s in rule.sources)


def test_the_copied_knowledge_base_loads_like_the_packaged_one(
    kb_copy: Path, kb: KnowledgeBase
) -> None:
    assert load_knowledge(kb_copy) == kb


def test_an_unknown_key_is_rejected_with_the_allowed_keys(kb_copy: Path) -> None:
    edit(
        kb_copy / "likelihoods" / "local_signs.yaml",
        lambda d: d["tender"]["lipoma"].update(confidence=3),
    )
    with pytest.raises(
        KnowledgeBaseError,
        match=r"tender\.lipoma: unknown key 'confidence'; allowed keys are p, range, basis",
    ):
        load_knowledge(kb_copy)


def test_a_probability_of_one_is_rejected(kb_copy: Path) -> None:
    edit(
        kb_copy / "likelihoods" / "local_signs.yaml",
        lambda d: d["tender"]["lipoma"].update(p=1.0, range=[0.5, 1.0]),
    )
    with pytest.raises(
        KnowledgeBaseError, match=r"tender\.lipoma\.p: 1\.0 is not strictly between 0 and 1"
    ):
        load_knowledge(kb_copy)


def test_a_range_that_misses_its_value_is_rejected(kb_copy: Path) -> None:
    edit(
        kb_copy / "likelihoods" / "local_signs.yaml",
        lambda d: d["tender"]["lipoma"].update(p=0.1, range=[0.2, 0.3]),
    )
    with pytest.raises(KnowledgeBaseError, match=r"range \[0\.2, 0\.3\] does not contain p = 0\.1"):
        load_knowledge(kb_copy)


def test_priors_that_do_not_sum_to_one_are_rejected(kb_copy: Path) -> None:
    edit(
        kb_copy / "priors.yaml",
        lambda d: d["pain_clinic"]["lipoma"].update(p=0.5, range=[0.4, 0.6]),
    )
    with pytest.raises(KnowledgeBaseError, match=r"priors\.yaml: pain_clinic: priors sum to"):
        load_knowledge(kb_copy)


def test_an_unresolvable_reference_is_rejected(kb_copy: Path) -> None:
    edit(
        kb_copy / "likelihoods" / "local_signs.yaml",
        lambda d: d["tender"]["lipoma"].update(sources=["nobody1999"]),
    )
    with pytest.raises(KnowledgeBaseError, match=r"source 'nobody1999' is not in references\.yaml"):
        load_knowledge(kb_copy)


def test_a_published_value_without_sources_is_rejected(kb_copy: Path) -> None:
    edit(
        kb_copy / "likelihoods" / "local_signs.yaml",
        lambda d: d["tender"]["lipoma"].update(basis="published", sources=[]),
    )
    with pytest.raises(KnowledgeBaseError, match=r"a published value must name its sources"):
        load_knowledge(kb_copy)


def test_a_missing_condition_cell_is_rejected(kb_copy: Path) -> None:
    edit(kb_copy / "likelihoods" / "local_signs.yaml", lambda d: d["tender"].pop("abscess"))
    with pytest.raises(KnowledgeBaseError, match=r"tender: missing required key 'abscess'"):
        load_knowledge(kb_copy)


def test_a_missing_finding_table_is_rejected(kb_copy: Path) -> None:
    edit(kb_copy / "likelihoods" / "local_signs.yaml", lambda d: d.pop("tender"))
    with pytest.raises(KnowledgeBaseError, match=r"no likelihood table for finding\(s\) tender"):
        load_knowledge(kb_copy)


def test_states_that_do_not_sum_to_one_are_rejected(kb_copy: Path) -> None:
    def change(d: Any) -> None:
        d["consistency"]["abscess"]["p"]["soft"] += 0.2
        d["consistency"]["abscess"]["range"]["soft"] = [0.01, 0.99]

    edit(kb_copy / "likelihoods" / "lump.yaml", change)
    with pytest.raises(KnowledgeBaseError, match=r"consistency\.abscess\.p: the states sum to"):
        load_knowledge(kb_copy)


def test_a_red_flag_on_an_unknown_finding_is_rejected(kb_copy: Path) -> None:
    edit(
        kb_copy / "red_flags.yaml",
        lambda d: d["red_flags"][0].update(when={"finding": "headache", "is": True}),
    )
    with pytest.raises(
        KnowledgeBaseError, match=r"cauda_equina\.when: finding 'headache' is not in findings\.yaml"
    ):
        load_knowledge(kb_copy)


def test_a_red_flag_with_an_impossible_value_is_rejected(kb_copy: Path) -> None:
    edit(
        kb_copy / "red_flags.yaml",
        lambda d: d["red_flags"][0].update(when={"finding": "consistency", "is": "squishy"}),
    )
    with pytest.raises(KnowledgeBaseError, match=r"'squishy' is not one of soft, rubbery"):
        load_knowledge(kb_copy)


def test_a_red_flag_with_an_unknown_triage_level_is_rejected(kb_copy: Path) -> None:
    edit(kb_copy / "red_flags.yaml", lambda d: d["red_flags"][0].update(severity="asap"))
    with pytest.raises(
        KnowledgeBaseError, match=r"severity: 'asap' is not one of emergency, urgent"
    ):
        load_knowledge(kb_copy)


def test_a_next_step_that_does_not_exist_is_rejected(kb_copy: Path) -> None:
    edit(kb_copy / "conditions.yaml", lambda d: d["conditions"][0].update(next_steps=["pray"]))
    with pytest.raises(KnowledgeBaseError, match=r"next step 'pray' is not in next_steps\.yaml"):
        load_knowledge(kb_copy)


def test_conditions_out_of_the_contracts_order_are_rejected(kb_copy: Path) -> None:
    edit(kb_copy / "conditions.yaml", lambda d: d["conditions"].reverse())
    with pytest.raises(KnowledgeBaseError, match=r"exactly the assessment format's 15"):
        load_knowledge(kb_copy)


def test_read_states_must_be_states_of_the_finding(kb_copy: Path) -> None:
    edit(
        kb_copy / "likelihoods" / "lump.yaml",
        lambda d: d["size_cm"]["lipoma"].update(read_states=["huge"]),
    )
    with pytest.raises(KnowledgeBaseError, match=r"read_states: 'huge' is not one of under_3cm"):
        load_knowledge(kb_copy)


def test_a_missing_file_is_named(kb_copy: Path) -> None:
    (kb_copy / "priors.yaml").unlink()
    with pytest.raises(KnowledgeBaseError, match=r"priors\.yaml: file is missing"):
        load_knowledge(kb_copy)


def test_the_findings_match_the_input_schema(kb: KnowledgeBase) -> None:
    from backmice.engine.contract import input_schema

    schema = input_schema()
    props = schema["properties"]["findings"]["properties"]
    in_findings = {f.id for f in kb.findings if f.where == "findings"}
    assert in_findings == set(props)
    for finding in kb.findings:
        spec = (
            props[finding.id] if finding.where == "findings" else schema["properties"][finding.id]
        )
        if finding.type == "enum":
            assert list(finding.states) == spec["enum"]
        else:
            assert spec["type"] == finding.type


def test_plain_choices_must_cover_every_state(kb_copy: Path) -> None:
    def change(d: Any) -> None:
        [location] = [f for f in d["findings"] if f["id"] == "location"]
        del location["plain_states"]["flank"]

    edit(kb_copy / "findings.yaml", change)
    with pytest.raises(
        KnowledgeBaseError, match=r"location\.plain_states: missing required key 'flank'"
    ):
        load_knowledge(kb_copy)


def test_every_self_check_choice_is_worded_plainly(kb: KnowledgeBase) -> None:
    for finding in kb.findings:
        if finding.type == "enum" and finding.plain_question is not None:
            assert finding.plain_states is not None, finding.id
