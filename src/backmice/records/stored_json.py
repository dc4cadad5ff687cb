"""Large JSON documents kept compressed in SQLite (stored engine results).

A stored engine result is about 22 KB of JSON and was 85 % of the database; SQLite
keeps values as they are given, so each one was written out twice (write-ahead log,
then database) at full size. Kept as a zstd frame of its UTF-8 JSON it is about
4.5 times smaller, and compressing and decompressing it (about 30 and 17 µs) costs
less than the bytes it saves. PostgreSQL compresses large values itself (TOAST, lz4
where the server has it) and keeps them as jsonb.

Nothing outside the database sees the difference: `CompressedJSON` (records/orm.py)
hands every reader the same dict as before, and takes the same dicts. A value that
is not a zstd frame is read as plain JSON (text or bytes), as rows written before the
migration that compressed them were.

>>> pack(b'{"a": 1}')[:4] == ZSTD_MAGIC
True
>>> unpack(pack(b'{"a": 1}')), unpack('{"a": 1}')
({'a': 1}, {'a': 1})
"""

from __future__ import annotations

import json
import threading
from typing import Any

import orjson
import zstandard

__all__ = ["LEVEL", "ZSTD_MAGIC", "dumps", "pack", "unpack"]

#: zstd's level 1: on stored results as small as level 3 makes them, and faster.
LEVEL = 1
#: The first four bytes of every zstd frame.
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class _Codecs(threading.local):
    """One compressor and decompressor per thread: zstandard's are not thread-safe,
    and making one per value costs a quarter of the work."""

    def __init__(self) -> None:
        self.compressor = zstandard.ZstdCompressor(level=LEVEL)
        self.decompressor = zstandard.ZstdDecompressor()


_codecs = _Codecs()


def dumps(value: Any) -> bytes:
    """`value` as JSON in UTF-8, as SQLAlchemy's JSON type writes it (`json.dumps`)."""
    return json.dumps(value).encode()


def pack(data: bytes) -> bytes:
    """UTF-8 JSON `data` as it is stored: a zstd frame (with its size, so that
    decompressing allocates once)."""
    return _codecs.compressor.compress(data)


def unpack(stored: bytes | str) -> Any:
    """The JSON value of what `pack` stored (or of plain JSON text or bytes)."""
    data: bytes | str = stored
    if isinstance(stored, bytes) and stored[:4] == ZSTD_MAGIC:
        data = _codecs.decompressor.decompress(stored)
    try:
        return orjson.loads(data)  # several times faster than json.loads, same values
    except orjson.JSONDecodeError:  # what json.dumps writes but orjson refuses (NaN)
        return json.loads(data)
