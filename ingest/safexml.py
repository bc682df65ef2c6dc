"""Feed bytes made safe for XML parsers: no entity can be declared, so none can explode.

feedparser keeps the internal subset of a DOCTYPE (its "safe" entities) and, when the strict parser
fails, falls back to a lenient one that expands those entities without limit: a 220 kB feed
defining one large entity and referencing it many times ran for minutes and gigabytes. Before any
parser sees a feed, the prolog (everything before the root element, the only place a DTD may be)
loses every ``<!ENTITY …>`` declaration and the DOCTYPE's internal subset; the DOCTYPE itself stays
(``<!DOCTYPE rss PUBLIC …>`` tells feedparser it is Netscape RSS 0.91). References to undeclared
entities then stay as text. UTF-16 and UTF-32 documents are transcoded to UTF-8 first, so that the
prolog can be read as bytes.

The XML parsers never load external DTDs or entities (Python's expat default); expat itself
limits entity amplification from 2.4.1 on, which :func:`expat_problem` checks at start.
"""

from __future__ import annotations

import codecs
import re
from xml.parsers import expat

_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)\b", re.I)
# Where the prolog ends, as feedparser decides it (the first "<" followed by a word character):
# everything it would read as the DTD is covered.
_NAME_START = re.compile(rb"\w")
# Inside a declaration: a quote, a bracket, the end, or a comment — everything else is skipped.
_SIGNIFICANT = re.compile(rb"""["'\[\]>]|<!--""")
_XML_DECL_ENCODING = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")
_WIDE = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
EXPAT_SAFE_FROM = (2, 4, 1)


def defuse(body: bytes) -> bytes:
    """The document with no entity declarations and no DOCTYPE internal subset in its prolog."""
    body = _as_utf8_if_wide(body)
    if _DECLARATION.search(body) is None:  # the usual case: nothing to do
        return body
    out = bytearray()
    position = 0
    while (opening := body.find(b"<", position)) >= 0:
        out += body[position:opening]
        if body.startswith(b"<?", opening):  # the XML declaration, processing instructions
            close = body.find(b"?>", opening)
            end = len(body) if close < 0 else close + 2
            out += body[opening:end]
        elif body.startswith(b"<!--", opening):
            close = body.find(b"-->", opening)
            end = len(body) if close < 0 else close + 3
            out += body[opening:end]
        elif (found := _DECLARATION.match(body, opening)) is not None:
            subset_at, end = _scan(body, found.end())
            if found.group(1).upper() == b"DOCTYPE":
                out += body[opening : subset_at if subset_at is not None else end - 1].rstrip() + b">"
        elif _NAME_START.match(body, opening + 1):  # the root element: the prolog is over
            return bytes(out) + body[opening:]
        else:  # a stray "<": text, not markup
            out += b"<"
            end = opening + 1
        position = end
    return bytes(out) + body[position:]


def _scan(text: bytes, position: int) -> tuple[int | None, int]:
    """From inside a declaration: where its internal subset starts (if any) and where it ends
    (just past its closing ``>``, quotes, brackets and comments honoured; the end of the text if
    it never closes)."""
    quote: bytes | None = None
    depth = 0
    subset_at: int | None = None
    while (found := _SIGNIFICANT.search(text, position)) is not None:
        token, position = found.group(), found.end()
        if quote is not None:
            quote = None if token == quote else quote
        elif token == b"<!--":
            close = text.find(b"-->", position)
            position = len(text) if close < 0 else close + 3
        elif token in (b'"', b"'"):
            quote = token
        elif token == b"[":
            subset_at = found.start() if depth == 0 and subset_at is None else subset_at
            depth += 1
        elif token == b"]":
            depth = max(depth - 1, 0)
        elif token == b">" and depth == 0:
            return subset_at, position
    return subset_at, len(text)


def _as_utf8_if_wide(body: bytes) -> bytes:
    for mark, encoding in _WIDE:
        if body.startswith(mark):
            try:
                text = body.decode(encoding)
            except UnicodeDecodeError:
                return body  # not what it looked like; the parser will say what is wrong
            utf8 = text.removeprefix("\ufeff").encode("utf-8")
            return _XML_DECL_ENCODING.sub(rb"\1\2utf-8\2", utf8, count=1)
    return body


def was_wide(original: bytes) -> bool:
    """Whether :func:`defuse` transcoded this document to UTF-8."""
    return any(original.startswith(mark) for mark, _ in _WIDE)


def expat_problem() -> str | None:
    """Why this Python's expat is unsafe for untrusted XML, or None when it is recent enough."""
    version = expat.version_info
    if version >= EXPAT_SAFE_FROM:
        return None
    wanted = ".".join(map(str, EXPAT_SAFE_FROM))
    return f"expat {expat.EXPAT_VERSION} predates {wanted}: entity amplification is not limited"
