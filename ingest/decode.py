"""Content-Encoding decoders that never produce more than a limit, however the input was crafted.

httpx decodes each received chunk in one call: an 800-byte brotli body can become a 1 GB chunk before
any size check runs. Here every decompressor is asked for at most ``limit + 1`` bytes at a time, so a
bomb is refused after producing one byte more than the cap.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import brotli

from ingest.errors import FetchError


class TooLarge(FetchError):
    def __init__(self, what: str, limit: int) -> None:
        super().__init__("too_large", f"{what} is larger than the limit of {limit} bytes")


class Decoder(Protocol):
    def feed(self, data: bytes, room: int) -> bytes: ...
    def finish(self, room: int) -> bytes: ...


class Identity:
    def feed(self, data: bytes, room: int) -> bytes:
        return data

    def finish(self, room: int) -> bytes:
        return b""


class Zlib:
    """gzip (wbits 31), zlib-wrapped deflate (15) or raw deflate (-15), chosen from the first bytes."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._inner: zlib._Decompress | None = None

    def feed(self, data: bytes, room: int) -> bytes:
        if self._inner is None:
            self._inner = zlib.decompressobj(self._wbits(data))
        out = bytearray()
        while data:
            try:
                out += self._inner.decompress(data, room + 1 - len(out))
            except zlib.error as exc:
                raise FetchError("bad_encoding", f"the compressed body is corrupt: {exc}") from None
            if len(out) > room:
                break
            data = self._inner.unconsumed_tail
            if self._inner.eof:
                break
        return bytes(out)

    def finish(self, room: int) -> bytes:
        return self._inner.flush(room + 1) if self._inner is not None else b""

    def _wbits(self, head: bytes) -> int:
        if self._gzip:
            return 31
        # RFC 9110 "deflate" is zlib-wrapped; some servers send raw deflate anyway.
        return 15 if len(head) >= 2 and (head[0] * 256 + head[1]) % 31 == 0 and head[0] & 0x0F == 8 else -15


class Brotli:
    def __init__(self) -> None:
        self._inner = brotli.Decompressor()

    def feed(self, data: bytes, room: int) -> bytes:
        try:
            out = bytearray(self._inner.process(data, output_buffer_limit=room + 1))
            while len(out) <= room and not self._inner.can_accept_more_data():
                out += self._inner.process(b"", output_buffer_limit=room + 1 - len(out))
        except brotli.error as exc:
            raise FetchError("bad_encoding", f"the brotli body is corrupt: {exc}") from None
        return bytes(out)

    def finish(self, room: int) -> bytes:
        return b""


ACCEPT_ENCODING = "gzip, deflate, br"


def decoder_for(content_encoding: str | None) -> Decoder:
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return Identity()
    if len(codings) > 1:
        raise FetchError("bad_encoding", f"chained content encodings are refused: {content_encoding}")
    coding = codings[0]
    if coding in {"gzip", "x-gzip"}:
        return Zlib(gzip=True)
    if coding == "deflate":
        return Zlib(gzip=False)
    if coding == "br":
        return Brotli()
    raise FetchError("bad_encoding", f"unsupported content encoding: {content_encoding}")


class BoundedBody:
    """Accumulates a decoded body, refusing wire bytes or decoded bytes beyond ``limit``."""

    def __init__(self, content_encoding: str | None, limit: int, what: str) -> None:
        self._decoder = decoder_for(content_encoding)
        self._limit = limit
        self._what = what
        self._wire = 0
        self._out = bytearray()

    def feed(self, chunk: bytes) -> None:
        self._wire += len(chunk)
        if self._wire > self._limit:
            raise TooLarge(self._what, self._limit)
        self._append(self._decoder.feed(chunk, self._limit - len(self._out)))

    def finish(self) -> bytes:
        self._append(self._decoder.finish(self._limit - len(self._out)))
        return bytes(self._out)

    def _append(self, data: bytes) -> None:
        self._out += data
        if len(self._out) > self._limit:
            raise TooLarge(self._what, self._limit)
