"""How large JSON documents are kept in SQLite: a zstd frame of their UTF-8 JSON,
read back as the same values; plain JSON (rows from before) is still read."""

from __future__ import annotations

import json
import math
import threading

import zstandard

from backmice.engine import Engine
from backmice.records import stored_json
from tests.equality import same_in_order

CASE = {
    "schema": "backmice.assessment/1",
    "setting": "primary_care",
    "age": 52,
    "sex": "female",
    "findings": {"lump_present": True, "location": "sacroiliac", "size_cm": 2.0},
}


def test_a_result_is_stored_as_a_zstd_frame_a_quarter_of_its_size(engine: Engine) -> None:
    result = engine.assess(CASE)
    data = stored_json.dumps(result)
    stored = stored_json.pack(data)
    assert stored[:4] == stored_json.ZSTD_MAGIC
    assert len(stored) * 3 < len(data)
    # any zstd reader gets the JSON back: nothing here but a standard frame
    assert zstandard.ZstdDecompressor().decompress(stored) == data
    # the same values, floats to the last bit, keys in the same order
    assert same_in_order(stored_json.unpack(stored), result)


def test_plain_json_text_or_bytes_is_read_as_it_was() -> None:
    value = {"b": [1, 2.5, None, True], "a": "é", "c": {"x": -0.1}}
    text = json.dumps(value)
    assert same_in_order(stored_json.unpack(text), value)
    assert same_in_order(stored_json.unpack(text.encode()), value)


def test_what_json_dumps_writes_but_orjson_refuses_is_still_read() -> None:
    value = {"nan": math.nan, "big": 2**70}
    back = stored_json.unpack(stored_json.pack(stored_json.dumps(value)))
    assert math.isnan(back["nan"]) and back["big"] == 2**70


def test_threads_pack_and_unpack_at_the_same_time() -> None:
    docs = [{"n": n, "text": "x" * (n * 97 % 5000)} for n in range(200)]
    failures: list[int] = []

    def work(offset: int) -> None:
        for doc in docs[offset:] + docs[:offset]:
            if stored_json.unpack(stored_json.pack(stored_json.dumps(doc))) != doc:
                failures.append(doc["n"])

    threads = [threading.Thread(target=work, args=(k * 50,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
