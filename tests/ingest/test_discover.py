"""Feed discovery against a real server on loopback: link tags, pages that are feeds, probing."""

from __future__ import annotations

import asyncio

import pytest

from ingest.client import HttpClient
from ingest.discover import PROBE_PATHS, FoundFeed, discover, looks_like_feed
from ingest.errors import HTTPStatusError
from tests.conftest import make_settings
from tests.support.server import LoopbackServer, Route

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title> The  RSS feed </title><link>http://example.com/</link>
<item><title>Not the feed's title</title></item></channel></rss>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><author><name>A</name></author>
<title type="html">Atom &amp;amp; &lt;b&gt;more&lt;/b&gt;</title><entry><title>Entry</title></entry></feed>"""
ENTRY_FIRST_ATOM = b"""<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>Entry</title></entry><title>Late</title></feed>"""
RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="http://example.com/"><title>RDF feed</title></channel><item><title>i</title></item></rdf:RDF>"""
JSON_FEED = b'{"version": "https://jsonfeed.org/version/1.1", "title": "JSON feed", "items": []}'
PAGE = """<!DOCTYPE html><html><head><title>Home</title>{head}</head><body><p>Hello</p>{body}</body></html>"""


def _page(head: str, body: str = "") -> bytes:
    return PAGE.format(head=head, body=body).encode()


def _discover(url: str) -> list[FoundFeed]:
    async def go() -> list[FoundFeed]:
        async with HttpClient(make_settings("sqlite://", []).fetch) as client:
            return await discover(client, url)

    return asyncio.run(go())


def test_link_tags_resolve_against_the_final_url(server: LoopbackServer) -> None:
    server.add(
        "/blog/",
        Route(
            _page(
                '<link rel="alternate" type="application/rss+xml" title="Posts" href="feed.xml">'
                '<link rel="stylesheet" type="text/css" href="style.css">'
                '<link rel="alternate" hreflang="fr" href="/fr/">'
            )
        ),
    )
    start = server.add("/start", Route(status=301, location="/blog/"))
    assert _discover(start) == [FoundFeed(server.url("/blog/feed.xml"), "Posts", "rss")]


def test_base_href_is_honoured(server: LoopbackServer) -> None:
    url = server.add(
        "/page",
        Route(
            _page(
                '<base href="/sub/dir/"><base href="/ignored/">'
                '<link rel="alternate" type="application/atom+xml" href="atom.xml">'
                '<link rel="alternate" type="application/rss+xml" href="../rss.xml">'
                '<link rel="alternate" type="application/rss+xml" href="https://elsewhere.example/feed">'
            )
        ),
    )
    assert [f.url for f in _discover(url)] == [
        server.url("/sub/dir/atom.xml"),
        server.url("/sub/rss.xml"),
        "https://elsewhere.example/feed",
    ]


def test_several_feeds_keep_document_order_titles_and_appear_once(server: LoopbackServer) -> None:
    server.add("/plain.json", Route(JSON_FEED, content_type="application/json"))
    server.add(
        "/wp-json/wp/v2/pages/7",
        Route(b'{"id": 7, "title": {"rendered": "Home"}}', content_type="application/json"),
    )
    url = server.add(
        "/",
        Route(
            _page(
                '<link rel="alternate" type="application/atom+xml" title=" Atom  posts " href="/atom">'
                '<LINK REL="Alternate Feed" TYPE="Application/RSS+XML; charset=utf-8" TITLE="Café" HREF="/rss">'
                '<link rel="alternate" type="application/atom+xml" title="Duplicate" href="/atom#top">'
                '<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
                '<link rel="alternate" type="application/rss+xml" href="ftp://files.example/feed">'
                '<link rel="alternate" type="application/rss+xml">'
                '<link rel="alternate" type="text/html" href="/page">'
                '<link rel="alternate" type="application/rdf+xml" href="/index.rdf">',
                '<link rel="alternate" type="application/feed+json" title="JSON" href="/feed.json">'
                '<link rel="alternate" type="application/json" href="/plain.json">'
                '<link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/7">',
            )
        ),
    )
    assert _discover(url) == [
        FoundFeed(server.url("/atom"), "Atom  posts", "atom"),
        FoundFeed(server.url("/rss"), "Café", "rss"),
        FoundFeed(server.url("/index.rdf"), None, "rdf"),
        FoundFeed(server.url("/feed.json"), "JSON", "json"),
        FoundFeed(server.url("/plain.json"), "JSON feed", "json"),
    ]
    # Links found: nothing probed; the two announced as plain JSON were fetched to tell a JSON Feed
    # from a REST API (which is left out).
    assert server.hit_counts() == {"/": 1, "/plain.json": 1, "/wp-json/wp/v2/pages/7": 1}


def test_titles_in_a_page_without_declared_charset_are_read_as_utf8(server: LoopbackServer) -> None:
    head = '<link rel="alternate" type="application/rss+xml" title="Ελληνικά" href="/rss">'
    url = server.add("/", Route(_page(head), content_type="text/html"))
    assert _discover(url)[0].title == "Ελληνικά"


def test_titles_in_a_page_declaring_its_charset_in_a_meta_tag(server: LoopbackServer) -> None:
    head = '<meta charset="iso-8859-1"><link rel="alternate" type="application/rss+xml" title="Crème" href="/rss">'
    url = server.add("/", Route(PAGE.format(head=head, body="").encode("latin-1"), content_type="text/html"))
    assert _discover(url)[0].title == "Crème"


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (RSS, "application/rss+xml", FoundFeed("", "The RSS feed", "rss")),
        (RSS, "text/html", FoundFeed("", "The RSS feed", "rss")),
        (ATOM, "application/xml", FoundFeed("", "Atom & more", "atom")),
        (RDF, "text/xml", FoundFeed("", "RDF feed", "rdf")),
        (JSON_FEED, "application/json", FoundFeed("", "JSON feed", "json")),
        (b"not really a feed", "application/atom+xml", FoundFeed("", None, "atom")),
    ],
)
def test_a_page_that_is_a_feed_is_returned_itself(
    server: LoopbackServer, body: bytes, content_type: str, expected: FoundFeed
) -> None:
    url = server.add("/thing", Route(body, content_type=content_type))
    assert _discover(url) == [FoundFeed(url, expected.title, expected.kind)]
    assert server.hit_counts() == {"/thing": 1}


def test_a_page_with_no_feed_at_all(server: LoopbackServer) -> None:
    url = server.add("/", Route(_page('<link rel="stylesheet" href="/s.css">')))
    assert _discover(url) == []
    assert set(server.hit_counts()) == {"/", *PROBE_PATHS}


def test_probing_finds_the_one_common_path_that_exists(server: LoopbackServer) -> None:
    server.add("/atom.xml", Route(ATOM, content_type="application/atom+xml"))
    url = server.add("/blog/home", Route(_page("")))
    assert _discover(url) == [FoundFeed(server.url("/atom.xml"), "Atom & more", "atom")]
    assert [seen.path for seen in server.requests] == ["/blog/home", *PROBE_PATHS]


def test_probes_answering_html_or_failing_are_ignored(server: LoopbackServer) -> None:
    server.add("/feed", Route(_page("<h1>Our feed page</h1>")))  # HTML, 200
    server.add("/rss.xml", Route(b"{}", content_type="application/json"))  # JSON, not a JSON Feed
    server.add("/index.xml", Route(b"x", headers={"Content-Length": "99"}))  # a broken answer
    server.add("/feed.xml", Route(status=500))
    server.add("/rss", Route(status=302, location="/feed.json"))  # the same feed as the next path
    server.add("/feed.json", Route(JSON_FEED, content_type="application/feed+json"))
    url = server.add("/", Route(_page("")))
    assert _discover(url) == [FoundFeed(server.url("/feed.json"), "JSON feed", "json")]


def test_a_start_url_that_fails_raises(server: LoopbackServer) -> None:
    with pytest.raises(HTTPStatusError) as raised:
        _discover(server.url("/missing"))
    assert raised.value.status == 404
    assert server.hit_counts() == {"/missing": 1}


@pytest.mark.parametrize(
    ("body", "content_type", "kind"),
    [
        (RSS, None, "rss"),
        (b"\xef\xbb\xbf  " + RSS, "text/plain", "rss"),
        (ATOM, None, "atom"),
        (ENTRY_FIRST_ATOM, None, "atom"),
        (RDF, "application/xml", "rdf"),
        (JSON_FEED, None, "json"),
        (b"\xef\xbb\xbf\n" + JSON_FEED, "text/plain", "json"),
        (RSS.decode().replace("UTF-8", "UTF-16").encode("utf-16"), None, "rss"),
        (b"<rss version='2.0'><channel><title>cut sh", "text/xml", "rss"),
        (b"", "application/rss+xml; charset=utf-8", "rss"),
        (b"", "APPLICATION/FEED+JSON", "json"),
        (b"", "application/rdf+xml", "rdf"),
        (b"<feed><title>no namespace</title></feed>", "application/xml", None),
        (b'<atom:feed xmlns:atom="http://example.com/not-atom"/>', None, None),
        (b'{"version": "1.1", "items": []}', "application/json", None),
        (b"[1, 2]", "application/json", None),
        (b"{not json", None, None),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "text/html", None),
        (b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml", None),
        (b"", None, None),
        (b"plain words", "text/plain", None),
    ],
)
def test_looks_like_feed(body: bytes, content_type: str | None, kind: str | None) -> None:
    assert looks_like_feed(body, content_type) == kind


def test_a_feed_behind_a_temporary_redirect_keeps_the_address_asked_for(server: LoopbackServer) -> None:
    server.add("/cdn/feed.xml?sig=abc", Route(RSS, content_type="application/rss+xml"))
    temporary = server.add("/feed.xml", Route(status=302, location="/cdn/feed.xml?sig=abc"))
    assert [f.url for f in _discover(temporary)] == [temporary]
    server.add("/new/feed.xml", Route(RSS, content_type="application/rss+xml"))
    moved = server.add("/old/feed.xml", Route(status=301, location="/new/feed.xml"))
    assert [f.url for f in _discover(moved)] == [server.url("/new/feed.xml")]
