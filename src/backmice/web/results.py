"""What the templates need to show an engine result: finding labels, the knowledge
base's references, the coded review reasons, and small formatting helpers.

Likelihood ratios are always shown with their basis: "published" (with its sources)
or "estimate" (an expert estimate, never presented as evidence from a study).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from backmice.engine import Engine
from backmice.knowledge.model import Reference
from backmice.records.services.red_flags import REVIEW_REASONS
from backmice.web.assessment_form import shown_value

__all__ = ["percent", "result_context", "who"]


def percent(p: float) -> str:
    """A probability as a whole percent, with '<1%' rather than a misleading '0%'.

    >>> percent(0.004), percent(0.5), percent(0.996)
    ('<1%', '50%', '>99%')
    """
    if p < 0.005:
        return "<1%"
    if p > 0.995:
        return ">99%"
    return f"{p * 100:.0f}%"


def who(actor: str) -> str:
    """The audit trail's name for a user without its channel: 'web:ann' -> 'ann'."""
    return actor.split(":", 1)[1] if ":" in actor else actor


def _cited(ref: Reference) -> str:
    """A reference as cited, without repeating an identifier its citation already has."""
    ident = ref.pmid or ref.doi
    return ref.citation if ident and ident in ref.citation else ref.short()


def result_context(engine: Engine) -> dict[str, Any]:
    """Template context for showing results and red flags (a new dict each call; the
    labels and citations in it are built once per engine and shared, read-only)."""
    return dict(_knowledge_context(engine))


@functools.lru_cache(maxsize=8)
def _knowledge_context(engine: Engine) -> Mapping[str, Any]:
    kb = engine.kb
    return MappingProxyType(
        {
            "labels": MappingProxyType({f.id: f.label for f in kb.findings}),
            "references": MappingProxyType(
                {key: _cited(ref) for key, ref in kb.references.items()}
            ),
            "review_reasons": REVIEW_REASONS,
            "shown_value": shown_value,
            "percent": percent,
            "who": who,
        }
    )
