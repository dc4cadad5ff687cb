"""Every error backmice raises on purpose, in one place.

The hierarchy::

    BackmiceError                 base of everything below; never raised itself
    ├── KnowledgeBaseError        the knowledge base is inconsistent or malformed
    ├── InvalidInput              caller input breaks the contract; carries Problems
    │   ├── InvalidCase           a case breaks the assessment format (spec section 4)
    │   └── InvalidRecord         a record change is invalid (a score of 11, a future date)
    ├── RecordNotFound            a patient, nodule or other record does not exist
    ├── RecordConflict            the change clashes with what is stored (a duplicate identifier)
    ├── DatabaseBusy              the database stayed locked through every retry
    ├── StorageRefused            a storage operation would destroy data without --force
    ├── SignInRefused             wrong name or password, inactive account, or locked out
    └── NotAllowed                the signed-in user may not see or change this record

Entry points (the CLI, later the web app) turn these into exit codes or HTTP
status codes; library code only raises them. Messages never contain patient data
beyond the offending value of the field that was wrong, which the caller sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "BackmiceError",
    "DatabaseBusy",
    "InvalidCase",
    "InvalidInput",
    "InvalidRecord",
    "KnowledgeBaseError",
    "NotAllowed",
    "Problem",
    "RecordConflict",
    "RecordNotFound",
    "SignInRefused",
    "StorageRefused",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: where, what was given, what was expected."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def to_dict(self) -> dict[str, str]:
        """The JSON shape used by the CLI's batch mode and the HTTP API."""
        return {"field": self.field, "message": self.message}


class BackmiceError(Exception):
    """Base class of every deliberate backmice error."""


class KnowledgeBaseError(BackmiceError):
    """Raised when the knowledge base fails its checks while it is being built."""


class InvalidInput(BackmiceError):
    """Raised when caller input is invalid; `problems` lists every fault found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class InvalidCase(InvalidInput):
    """Raised when a case does not follow the assessment format (backmice.assessment/1)."""


class InvalidRecord(InvalidInput):
    """Raised when a change to a record is invalid; nothing is written."""


class RecordNotFound(BackmiceError):
    """Raised when a patient, nodule or other record does not exist."""


class RecordConflict(BackmiceError):
    """Raised when a change clashes with what is stored, such as a duplicate identifier."""


class DatabaseBusy(BackmiceError):
    """Raised when the database stayed locked through every retry; nothing was written."""


class StorageRefused(BackmiceError):
    """Raised when a backup restore or import would overwrite data without being forced."""


class SignInRefused(BackmiceError):
    """Raised when a sign-in fails; one message whatever the cause, so it reveals nothing."""


class NotAllowed(BackmiceError):
    """Raised when the signed-in user's role or clinic does not cover the record asked for."""
