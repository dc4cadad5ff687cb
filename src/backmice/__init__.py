"""backmice: decision support for back mice and the low-back lumps they are confused with.

Every clinical output supports, and does not replace, a clinician's judgement.
"""

from __future__ import annotations

from backmice.engine import Case, CaseReader, Engine
from backmice.errors import BackmiceError, InvalidCase, InvalidInput, KnowledgeBaseError, Problem
from backmice.knowledge import KnowledgeBase, default_knowledge, load_knowledge

__all__ = [
    "BackmiceError",
    "Case",
    "CaseReader",
    "Engine",
    "InvalidCase",
    "InvalidInput",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Problem",
    "default_knowledge",
    "load_knowledge",
]
__version__ = "0.1.0"
