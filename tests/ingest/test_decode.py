"""Bounded decoding: bombs are refused after producing one byte more than the cap."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import brotli
import pytest

from ingest.decode import BoundedBody, TooLarge, decoder_for
from ingest.errors import FetchError

PAYLOAD = ("Le Mali et la Russie renforcent leur coopération. " * 200).encode()


def _encode(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body)
    if encoding == "deflate":
        return zlib.compress(body)
    if encoding == "raw-deflate":
        compressor = zlib.compressobj(wbits=-15)
        return compressor.compress(body) + compressor.flush()
    return bytes(brotli.compress(body))


def _decode(data: bytes, encoding: str | None, limit: int, chunk: int = 1000) -> bytes:
    body = BoundedBody(encoding, limit, "test body")
    for start in range(0, len(data), chunk):
        body.feed(data[start : start + chunk])
    return body.finish()


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate", "br"])
def test_round_trip(encoding: str) -> None:
    header = "deflate" if encoding == "raw-deflate" else encoding
    assert _decode(_encode(PAYLOAD, encoding), header, 1 << 20) == PAYLOAD


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_bomb_is_refused_without_inflating_it(encoding: str) -> None:
    bomb = _encode(b"\0" * (64 << 20), encoding)  # 64 MiB of zeros, a few kB compressed
    assert len(bomb) < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge, match="larger than the limit of 1000000 bytes"):
            _decode(bomb, encoding, 1_000_000, chunk=len(bomb))  # the whole bomb in one chunk
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"decoding peaked at {peak} bytes: the output limit is not applied"


def test_wire_bytes_are_capped_too() -> None:
    with pytest.raises(TooLarge):
        _decode(b"x" * 5000, None, 4000)


@pytest.mark.parametrize(("header", "message"), [("gzip, gzip", "chained"), ("compress", "unsupported")])
def test_refused_encodings(header: str, message: str) -> None:
    with pytest.raises(FetchError, match=message) as raised:
        decoder_for(header)
    assert raised.value.code == "fetch.bad_encoding"


def test_corrupt_bodies_are_errors_with_a_code() -> None:
    with pytest.raises(FetchError) as raised:
        _decode(b"\x1f\x8b\x08\x00garbage-garbage", "gzip", 1000)
    assert raised.value.code == "fetch.bad_encoding"


def test_identity_is_accepted_in_any_spelling() -> None:
    assert _decode(b"plain", "identity", 10) == b"plain"
    assert _decode(b"plain", "", 10) == b"plain"
