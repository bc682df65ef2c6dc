"""Properties over generated input (hypothesis): parsing any bytes ends cleanly and quickly;
normalising and canonicalising twice changes nothing more than once."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.errors import IngestError
from ingest.html import html_text, parsed_text
from ingest.models import ParsedFeed
from ingest.parse import parse_feed
from ingest.safexml import defuse
from ingest.textrules import clean_body, clean_inline, clean_unicode
from ingest.urls import canonicalize

# Pieces feeds are made of, hostile ones included: the generator assembles documents from them.
FRAGMENTS = [
    '<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf-16"?>', "<!DOCTYPE rss [", "]>",
    '<!ENTITY a "', '<!ENTITY b SYSTEM "file:///etc/passwd">', '"', "'", "&a;", "&b;", "&amp;", "&#0;",
    "&#x1F600;", "<rss version=\"2.0\">", "</rss>", "<channel>", "</channel>", "<item>", "</item>",
    "<title>", "</title>", "<link>", "</link>", "<guid>", "</guid>", "<description>", "</description>",
    "<pubDate>", "</pubDate>", "Mon, 01 Jan 0001 00:00:00 GMT", "<![CDATA[", "]]>", "<!--", "-->",
    '<feed xmlns="http://www.w3.org/2005/Atom">', "</feed>", "<entry>", "</entry>", "javascript:alert(1)",
    "http://example.org/a", "/relative", "\x00", "\x01", "\ufeff", "é", "\u202e", "<", ">", "[", "]",
    '{"version": "https://jsonfeed.org/version/1.1", "items": [', "]}", '{"id": 1, "url": "/x"}',
]  # fmt: skip
documents = st.one_of(
    st.binary(max_size=1 << 20),
    st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=40), max_size=300).map(
        lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
    ),
)
CONTENT_TYPES = st.sampled_from(
    [None, "application/rss+xml", "application/feed+json", "text/html; charset=utf-16"]
)
words = st.text(st.characters(codec="utf-8", categories=("L", "N")), min_size=1, max_size=12)
sentences = st.lists(words, min_size=1, max_size=25).map(lambda w: " ".join(w).capitalize() + ".")
texts = st.lists(st.lists(sentences, min_size=1, max_size=5).map(" ".join), max_size=8).map("\n\n".join)
FUZZ = settings(
    max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@FUZZ
@given(documents, CONTENT_TYPES)
def test_any_bytes_parse_or_fail_cleanly_and_quickly(body: bytes, content_type: str | None) -> None:
    try:
        feed = parse_feed(body, "https://feeds.example/f.xml", content_type)
    except IngestError as error:
        failure = error.code
    else:
        failure = None
    if failure is not None:
        assert failure.startswith("parse."), failure
        return
    assert isinstance(feed, ParsedFeed)
    for entry in feed.entries:
        assert entry.link is None or entry.link.startswith(("http://", "https://"))
        assert "\x00" not in "".join(filter(None, (entry.guid, entry.title, entry.summary, entry.content)))


@FUZZ
@given(documents)
def test_defusing_is_idempotent_and_leaves_no_entity_declaration(body: bytes) -> None:
    once = defuse(body)
    assert defuse(once) == once
    head = re.split(rb"<\w", once, maxsplit=1)[0]  # what feedparser reads as the DTD
    assert re.search(rb"<!ENTITY", _without_comments(head), re.I) is None


def _without_comments(text: bytes) -> bytes:
    return re.sub(rb"<!--.*?(-->|$)", b"", text, flags=re.S)


@settings(max_examples=1000, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200), st.text(alphabet=st.sampled_from("ab \t\n\r\x00\x85\xa0<>&;"), max_size=40)
    )
)
def test_plain_text_is_read_as_the_parser_reads_it(text: str) -> None:
    """Fragments without markup skip the parser: they must come out exactly as it gives them."""
    assert html_text(text) == parsed_text(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000))
def test_unicode_and_inline_cleaning_are_idempotent(text: str) -> None:
    once = clean_unicode(text)
    assert clean_unicode(once) == once
    inline = clean_inline(text)
    assert clean_inline(inline) == inline


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(" \t\n\r\xa0\u2009\u3000\x0b\x0c\x85\u2028ab"), max_size=60))
def test_every_run_of_spaces_becomes_one_space(text: str) -> None:
    """Whatever the mix of spaces, tabs and no-break spaces, a line holds single spaces only."""
    for line in clean_unicode(text).split("\n"):
        assert not re.search(r"[^\S\n]{2,}|[^\S\n ]", line), repr(line)
        assert line == line.strip()


@settings(max_examples=300, deadline=None)
@given(texts, st.one_of(st.none(), sentences))
def test_body_cleaning_is_idempotent(text: str, title: str | None) -> None:
    once = clean_body(text, title)
    again = clean_body(once.text, once.title)
    assert again.text == once.text


hosts = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z]{2,6}){1,2}", fullmatch=True)
segments = st.text(st.sampled_from("abcXYZ019-._~%/!$&'()*+,;=:@ é"), max_size=20)
queries = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "utm_source", "fbclid", "id", "Q"]), st.text("xyz19%&=+ ", max_size=6)
    ),
    max_size=5,
).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs))
urls = st.builds(
    lambda scheme, host, port, path, query, fragment: f"{scheme}://{host}{port}/{path}{'?' + query if query else ''}{'#' + fragment if fragment else ''}",
    st.sampled_from(["http", "https", "HTTP"]), hosts, st.sampled_from(["", ":80", ":443", ":8080"]),
    segments, queries, st.text("abc", max_size=3),
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(urls)
def test_canonicalisation_is_idempotent(url: str) -> None:
    once = canonicalize(url)
    assert canonicalize(once) == once
