"""Equality that also checks order: stored records must come back exactly as written."""

from __future__ import annotations

from typing import Any


def same_in_order(a: Any, b: Any) -> bool:
    """Equal, of the same types, and every dict's keys in the same order."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same_in_order(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_in_order(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b
