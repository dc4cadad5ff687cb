"""The versioned, cited knowledge base: data files plus a strict loader."""

from __future__ import annotations

from functools import lru_cache

from backmice.knowledge.loader import load_knowledge
from backmice.knowledge.model import CONDITION_IDS, SETTINGS, TRIAGE_LEVELS, KnowledgeBase

__all__ = [
    "CONDITION_IDS",
    "SETTINGS",
    "TRIAGE_LEVELS",
    "KnowledgeBase",
    "default_knowledge",
    "load_knowledge",
]


@lru_cache(maxsize=1)
def default_knowledge() -> KnowledgeBase:
    """The packaged knowledge base, loaded and checked once per process."""
    return load_knowledge()
