"""The assessment engine: validation, Bayesian differential, red flags, triage, interview."""

from __future__ import annotations

from backmice.engine.assess import Engine
from backmice.engine.validation import Case, CaseReader

__all__ = ["Case", "CaseReader", "Engine"]
