"""Reading case documents for the CLI: one JSON file, standard input, or JSONL lines."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import orjson

from backmice.errors import InvalidInput, Problem

__all__ = ["parse_json", "read_source", "stdout_bytes"]


def read_source(path: str) -> bytes:
    """The bytes of `path`, or of standard input when it is '-'."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InvalidInput([Problem("FILE", f"'{path}' does not exist")]) from None
    except IsADirectoryError:
        raise InvalidInput(
            [Problem("FILE", f"'{path}' is a directory, expected a JSON file")]
        ) from None
    except PermissionError:
        raise InvalidInput(
            [Problem("FILE", f"'{path}' cannot be read (permission denied)")]
        ) from None


def parse_json(data: bytes | str, where: str = "input") -> object:
    """Parse one JSON document; a syntax error becomes an `InvalidInput` naming the place."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if not (data.strip() if isinstance(data, bytes | str) else data):
            raise InvalidInput([Problem(where, "is empty; expected a JSON object")]) from None
        raise InvalidInput(
            [
                Problem(
                    where, f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
                )
            ]
        ) from None


def lines(data: bytes) -> Iterator[bytes]:
    """The lines of a JSONL document (a final newline does not start a line)."""
    yield from data.splitlines()


def stdout_bytes(chunk: bytes) -> None:
    """Write raw bytes to standard output."""
    sys.stdout.buffer.write(chunk)
