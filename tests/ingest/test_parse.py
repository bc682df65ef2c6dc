"""Feeds of every format and encoding parse to the golden output stored beside each fixture."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ingest.errors import ParseError
from ingest.jobs import parse_job
from ingest.parse import parse_feed
from tests.support.golden import check_golden

FEEDS = Path(__file__).parent.parent / "fixtures" / "feeds"
BASE = "http://127.0.0.1:8080/feeds/"

PARSEABLE = {
    "rss20.xml": "application/rss+xml",
    "atom10.atom": "application/atom+xml",
    "rdf10.rdf": "application/rdf+xml",
    "jsonfeed11.json": "application/feed+json",
    "jsonfeed10.json": "application/json",
    "latin1.xml": "application/rss+xml",
    "cp1252_header.xml": "application/rss+xml; charset=windows-1252",
    "cp1251_decl.xml": "text/xml",
    "cp1251_nodecl.xml": "application/xml",
    "missing_guids.xml": "application/rss+xml",
    "duplicate_guids.xml": "application/rss+xml",
    "truncated_entries.xml": "application/rss+xml",
}


def _render(name: str, content_type: str) -> dict[str, Any]:
    feed, entries = parse_job((FEEDS / name).read_bytes(), BASE + name, content_type)
    return {
        "format": feed.format,
        "title": feed.title,
        "link": feed.link,
        "language": feed.language,
        "broken": feed.problem is not None,
        "entries": [
            {
                "key": e.key,
                "guid": e.guid,
                "link": e.link,
                "title": e.title,
                "author": e.author,
                "published_at": e.published_at.isoformat() if e.published_at else None,
                "summary": e.summary,
                "content": e.content,
            }
            for e in entries
        ],
    }


@pytest.mark.parametrize(("name", "content_type"), sorted(PARSEABLE.items()))
def test_feed_matches_golden(name: str, content_type: str) -> None:
    check_golden(_render(name, content_type), FEEDS / f"{name}.expected.json")


@pytest.mark.parametrize(
    ("name", "content_type", "code"),
    [
        ("not_a_feed.html", "text/html; charset=utf-8", "parse.not_a_feed"),
        ("garbage.bin", "application/octet-stream", "parse.not_a_feed"),
        ("truncated_empty.xml", "application/rss+xml", "parse.broken_feed"),
    ],
)
def test_documents_that_yield_nothing_fail_with_a_code(name: str, content_type: str, code: str) -> None:
    with pytest.raises(ParseError) as raised:
        parse_job((FEEDS / name).read_bytes(), BASE + name, content_type)
    assert raised.value.code == code
    assert BASE + name in raised.value.message


def test_json_that_is_not_a_json_feed_is_refused() -> None:
    with pytest.raises(ParseError, match="not a JSON Feed"):
        parse_job(b'{"name": "package", "version": "1.0"}', BASE + "package.json", "application/json")


def test_encodings_come_out_as_unicode() -> None:
    latin = _render("latin1.xml", "application/xml")["entries"][0]
    assert latin["title"].startswith("Fête de la musique à Besançon")
    cp1252 = _render("cp1252_header.xml", "application/rss+xml; charset=windows-1252")["entries"][0]
    assert cp1252["title"] == "Prices rise by 5 € as “winter tariffs” begin"
    for name in ("cp1251_decl.xml", "cp1251_nodecl.xml"):
        assert (
            _render(name, "application/xml")["entries"][0]["title"] == "Новый мост через Волгу откроют весной"
        )


def test_relative_links_resolve_against_the_feed_and_xml_base() -> None:
    rss = _render("rss20.xml", "application/rss+xml")["entries"]
    assert rss[1]["link"] == "http://127.0.0.1:8080/news/lifeboat-kayakers"
    atom = _render("atom10.atom", "application/atom+xml")["entries"]
    assert atom[0]["link"] == "https://valley-notes.example/blog/posts/orchard-cider-festival"
    json_feed = _render("jsonfeed11.json", "application/feed+json")["entries"]
    assert json_feed[1]["link"] == "https://coastline-weekly.example/2024/05/tide-tables"


def test_tracking_parameters_are_dropped_from_links() -> None:
    first = _render("rss20.xml", "application/rss+xml")["entries"][0]
    assert first["link"] == "https://harbour-gazette.example/news/ferry-winter-timetable"


def test_errors_survive_pickling_across_the_process_pool() -> None:
    import pickle

    from ingest.errors import HTTPStatusError

    error = pickle.loads(pickle.dumps(HTTPStatusError(503, "http://x.example/f", 30.0)))
    assert (error.code, error.status, error.retry_after, error.message) == (
        "http.503",
        503,
        30.0,
        "http://x.example/f answered HTTP 503",
    )
    parse_error = pickle.loads(pickle.dumps(ParseError("not_a_feed", "nope")))
    assert parse_error.code == "parse.not_a_feed" and str(parse_error) == "parse.not_a_feed: nope"


def test_publisher_hints_are_read_from_the_feed() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">'
        b"<channel><title>t</title><link>http://x.example/</link><description>d</description><ttl>90</ttl>"
        b"<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>"
        b"<skipHours><hour>1</hour><hour>2</hour><hour>23</hour><hour>99</hour></skipHours>"
        b"<skipDays><day>Saturday</day><day>Sunday</day><day>Someday</day></skipDays>"
        b"<item><title>a</title><link>http://x.example/a</link></item></channel></rss>"
    )
    feed, _ = parse_job(body, BASE + "hints.xml", "application/rss+xml")
    assert feed.hints.ttl_s == 5400 and feed.hints.update_interval_s == 21600
    assert feed.hints.skip_hours == frozenset({1, 2, 23}) and feed.hints.skip_days == frozenset({5, 6})


def test_the_websub_hub_and_topic_a_feed_advertises() -> None:
    rss = (b'<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
           b'<title>t</title><atom:link rel="hub" href="https://hub.example/"/>'
           b'<atom:link rel="self" href="/feed.xml"/><item><title>x</title><link>https://a.example/1</link>'
           b"</item></channel></rss>")  # fmt: skip
    parsed = parse_feed(rss, "https://a.example/rss")
    assert (parsed.hub, parsed.topic) == ("https://hub.example/", "https://a.example/feed.xml")
    atom = (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><link rel="hub" href="javascript:x"/>'
            b'<entry><title>x</title><link href="https://a.example/1"/><id>1</id></entry></feed>')  # fmt: skip
    not_web = parse_feed(atom, "https://a.example/atom")
    assert (not_web.hub, not_web.topic) == (None, None)
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "feed_url": "https://a.example/f.json",
                "hubs": [{"type": "rssCloud", "url": "https://cloud.example/"},
                         {"type": "WebSub", "url": "https://hub.example/"}],
                "items": [{"id": "1", "url": "https://a.example/1", "content_text": "x"}]}  # fmt: skip
    parsed = parse_feed(json.dumps(document).encode(), "https://a.example/f.json", "application/feed+json")
    assert (parsed.hub, parsed.topic) == ("https://hub.example/", "https://a.example/f.json")
