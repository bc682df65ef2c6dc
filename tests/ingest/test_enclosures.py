"""Enclosures: parsed from RSS, Atom and JSON Feed, stored once per article, exported, downloaded on request."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from ingest import enclosures
from ingest.enclosures import MAX_ENCLOSURES, parse_duration
from ingest.models import EnclosureInfo
from ingest.parse import parse_feed
from storage import articles, prune, sightings, sources
from storage import enclosures as stored
from storage.articles import NewArticle
from storage.db import Database
from storage.sightings import NewSighting
from storage.tables import Sighting
from tests.ingest.test_cli import ingest, json_lines, write_config
from tests.support.server import LoopbackServer, Route

FEED = "https://pod.example/feed.xml"
RSS = "application/rss+xml"
NS = 'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:media="http://search.yahoo.com/mrss/"'


def _rss(items: str) -> bytes:
    return f'<?xml version="1.0"?><rss version="2.0" {NS}><channel><title>Pod</title><link>/</link>{items}</channel></rss>'.encode()


def _one(body: bytes, url: str = FEED, content_type: str = RSS) -> tuple[EnclosureInfo, ...]:
    (entry,) = parse_feed(body, url, content_type).entries
    return entry.enclosures


# Parsing


def test_rss_enclosure_and_its_media_content_repeat_are_one_file_with_the_podcast_fields() -> None:
    found = _one(
        _rss(
            "<item><title>Episode 7</title><link>/ep7</link><guid>ep7</guid>"
            '<enclosure url="/media/ep7.mp3?utm_source=feed" length="12345" type="audio/mpeg"/>'
            '<media:content url="https://pod.example/media/ep7.mp3" type="audio/mpeg" duration="61"/>'
            '<media:content url="https://pod.example/media/ep7.mp4" type="video/mp4" fileSize="999"/>'
            "<itunes:duration>01:02:03</itunes:duration><itunes:episode>7</itunes:episode>"
            '<itunes:season>2</itunes:season><itunes:image href="/art/ep7.jpg"/></item>'
        )
    )
    assert found == (
        EnclosureInfo(
            url="https://pod.example/media/ep7.mp3?utm_source=feed",  # resolved against the feed
            media_type="audio/mpeg",
            length=12345,
            duration_s=61.0,  # the file's own duration wins over the episode's
            episode=7,
            season=2,
            image="https://pod.example/art/ep7.jpg",
        ),
        EnclosureInfo(
            url="https://pod.example/media/ep7.mp4",
            media_type="video/mp4",
            length=999,
            duration_s=3723.0,  # itunes:duration, HH:MM:SS
            episode=7,
            season=2,
            image="https://pod.example/art/ep7.jpg",
        ),
    )


def test_atom_enclosure_links() -> None:
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><entry><id>urn:x</id><title>t</title>'
        b'<link href="/post"/><link rel="enclosure" href="/a.ogg" type="audio/ogg" length="2048" title="Ogg"/>'
        b'<link rel="enclosure" href="mailto:x@example.org"/><updated>2024-01-01T00:00:00Z</updated></entry></feed>'
    )
    assert _one(atom, content_type="application/atom+xml") == (
        EnclosureInfo("https://pod.example/a.ogg", "audio/ogg", 2048, "Ogg"),
    )


def test_json_feed_attachments() -> None:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "items": [
            {
                "id": "1",
                "url": "https://j.example/1",
                "attachments": [
                    {"url": "/ep1.m4a", "mime_type": "audio/x-m4a", "size_in_bytes": 89970236,
                     "duration_in_seconds": 6629, "title": "HQ"},
                    {"url": "https://j.example/ep1.m4a#t=10", "mime_type": "audio/x-m4a", "size_in_bytes": 5},
                    {"url": "/ep1.txt", "mime_type": "text/plain", "size_in_bytes": True},
                    {"url": "ftp://j.example/ep1.m4a", "mime_type": "audio/x-m4a"},
                    "not an attachment",
                    {"mime_type": "audio/mpeg"},
                ],
            }
        ],
    }  # fmt: skip
    found = _one(json.dumps(document).encode(), "https://j.example/feed.json", "application/feed+json")
    assert found == (
        EnclosureInfo("https://j.example/ep1.m4a", "audio/x-m4a", 89970236, "HQ", 6629.0),
        EnclosureInfo("https://j.example/ep1.txt", "text/plain"),  # a boolean is no size
    )


def test_malformed_values_are_dropped_and_the_enclosure_kept() -> None:
    found = _one(
        _rss(
            "<item><title>t</title><link>/p</link>"
            '<enclosure url="/a.mp3" length="-5" type="not a type"/>'
            '<media:content url="/b.mp3" fileSize="12abc" duration="-3"/>'
            '<media:content url="/c.mp3" duration="1e400"/>'
            '<media:content url="javascript:alert(1)"/>'
            '<media:content url="http://[::1/broken"/>'
            f'<media:content url="/{"x" * 9000}.mp3"/>'
            "<itunes:duration>1:75</itunes:duration><itunes:episode>seven</itunes:episode>"
            '<itunes:season>-1</itunes:season><itunes:image href="data:image/png;base64,AAAA"/></item>'
        )
    )
    assert found == tuple(EnclosureInfo(f"https://pod.example/{n}.mp3") for n in "abc")
    assert _one(_rss("<item><title>t</title><link>/p</link></item>")) == ()


def test_an_entry_lists_a_bounded_number_of_files() -> None:
    many = "".join(f'<media:content url="/m{n}.mp3"/>' for n in range(MAX_ENCLOSURES + 20))
    assert len(_one(_rss(f"<item><title>t</title><link>/p</link>{many}</item>"))) == MAX_ENCLOSURES


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("3600", 3600.0),
        (" 1:02:03 ", 3723.0),
        ("62:03", 3723.0),
        ("00:00:30.5", 30.5),
        (42, 42.0),
        (1.5, 1.5),
        ("0", None),
        ("-10", None),
        ("1:60", None),
        ("PT1H", None),
        ("", None),
        ("nan", None),
        (float("inf"), None),
        (10**400, None),
        (True, None),
        (None, None),
        ("9999999", None),  # longer than ten days
    ],
)
def test_durations(value: object, seconds: float | None) -> None:
    assert parse_duration(value) == seconds


def test_the_sighting_json_round_trips_and_garbage_stores_nothing() -> None:
    first = EnclosureInfo(
        "https://pod.example/a.mp3", "audio/mpeg", 10, "A", 1.5, 1, 2, "https://pod.example/a.jpg"
    )
    data = enclosures.to_json([first])
    assert data is not None
    (row,) = stored.decode(data)
    assert row["url"] == first.url and row["length"] == 10 and row["duration_s"] == 1.5
    assert row["url_key"] == enclosures.url_key("https://POD.example/a.mp3?utm_medium=x")  # canonical
    assert enclosures.to_json([]) is None
    assert (
        stored.decode("not json") == stored.decode('{"url": "x"}') == stored.decode('[1, {"url": 2}]') == []
    )
    (odd,) = stored.decode('[{"url": "https://x/", "url_key": "k", "length": true, "episode": "3"}]')
    assert odd["length"] is None and odd["episode"] is None


# Storage, on SQLite and PostgreSQL

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)


def test_an_article_holds_each_file_once_and_prune_removes_them(db: Database) -> None:
    one = EnclosureInfo("https://pod.example/a.mp3", "audio/mpeg", 10)
    same = EnclosureInfo("https://pod.example/a.mp3?utm_source=other", "audio/mpeg", 11)
    two = EnclosureInfo("https://pod.example/b.mp3")
    with db.write() as session:
        source_id = sources.all_sources(session)[0].id
        assert source_id is not None
        entries = [
            NewSighting(
                key, None, None, None, key, None, None, None, None, enclosures=enclosures.to_json(found)
            )
            for key, found in (("a", [one]), ("b", [same, two]))
        ]
        sightings.queue(session, source_id, entries, NOW)
        article = NewArticle(
            "https://pod.example/p",
            None,
            None,
            "t",
            None,
            None,
            None,
            None,
            "text",
            "hash",
            "feed",
            "1",
            "1",
            None,
        )
        article_id, _ = articles.insert(session, article, NOW)
        ids = sorted(i for i in session.exec(select(Sighting.id)).all() if i is not None)
        assert [stored.attach(session, i, article_id) for i in ids] == [1, 1]
        assert stored.attach(session, ids[1], article_id) == 0  # a replay adds nothing
    with db.read() as session:
        views = stored.views_of(session, [article_id, article_id + 1])
    assert [(v.url, v.length) for v in views[article_id]] == [(one.url, 10), (two.url, None)]
    with db.write() as session:
        assert prune.prune(session, NOW + timedelta(days=1), articles=True).articles == 1
    with db.read() as session:
        assert stored.views_of(session, [article_id]) == {}


# End to end, on the loopback server

MEDIA = b"ID3" + bytes(range(256)) * 8  # a small "mp3"
PAGE = "<html><body><article><h1>{title}</h1><p>{words}</p></article></body></html>"


def _episode(server: LoopbackServer, path: str, title: str) -> None:
    words = " ".join(f"{title.lower().replace(' ', '')}word{i}" for i in range(150))
    server.add(path, Route(PAGE.format(title=title, words=f"A podcast episode. {words}.").encode()))


def _podcast(server: LoopbackServer, path: str = "/pod.xml", guid_prefix: str = "pod") -> str:
    _episode(server, "/ep-1.html", "Episode One")
    _episode(server, "/ep-2.html", "Episode Two")
    server.add("/media/ep1.mp3", Route(MEDIA, content_type="audio/mpeg"))
    server.add("/media/big.mp3", Route(MEDIA * 10, content_type="audio/mpeg"))
    items = (
        f"<item><title>Episode One</title><link>/ep-1.html</link><guid>{guid_prefix}-1</guid>"
        f'<enclosure url="/media/ep1.mp3" length="{len(MEDIA)}" type="audio/mpeg"/>'
        '<media:content url="/media/ep1.mp3?utm_source=rss" type="audio/mpeg"/>'
        "<itunes:duration>00:25:00</itunes:duration><itunes:episode>1</itunes:episode>"
        '<itunes:image href="/art/ep1.jpg"/></item>'
        f"<item><title>Episode Two</title><link>/ep-2.html</link><guid>{guid_prefix}-2</guid>"
        '<enclosure url="/media/big.mp3" length="20480" type="audio/mpeg"/>'
        "<itunes:duration>1500</itunes:duration><itunes:episode>2</itunes:episode></item>"
    )
    return server.add(path, Route(_rss(items), content_type=RSS))


def _export(config: Path) -> dict[str, dict[str, Any]]:
    result = ingest("export", "--config", str(config))
    assert result.returncode == 0, result.stderr
    return {str(row["title"]): row for row in json_lines(result.stdout)}


def _run(config: Path, *args: str) -> dict[str, object]:
    result = ingest("run-once", "--json", "--config", str(config), *args)
    assert result.returncode == 0, result.stderr
    (summary,) = json_lines(result.stdout)
    return summary


def test_a_podcast_feed_exports_its_enclosures_without_downloading_them(
    tmp_path: Path, server: LoopbackServer
) -> None:
    config = write_config(tmp_path, f'[[sources]]\nname = "pod"\nurl = "{_podcast(server)}"\n')
    assert _run(config)["articles_new"] == 2
    rows = _export(config)
    assert rows["Episode One"]["enclosures"] == [
        {
            "url": server.url("/media/ep1.mp3"),
            "type": "audio/mpeg",
            "length": len(MEDIA),
            "title": None,
            "duration_s": 1500.0,
            "episode": 1,
            "season": None,
            "image": server.url("/art/ep1.jpg"),
            "downloaded": False,
        }
    ]
    (two,) = rows["Episode Two"]["enclosures"]
    assert two["episode"] == 2 and two["duration_s"] == 1500.0 and two["length"] == 20480
    hits = server.hit_counts()
    assert hits["/ep-1.html"] == 1 and hits["/media/ep1.mp3"] == hits["/media/big.mp3"] == 0


def test_a_source_that_asks_downloads_each_file_once_within_the_size_cap(
    tmp_path: Path, server: LoopbackServer
) -> None:
    config = write_config(
        tmp_path,
        f'[[sources]]\nname = "pod"\nurl = "{_podcast(server)}"\ndownload_enclosures = true\n',
        extra=f"max_enclosure_bytes = {len(MEDIA) * 2}\n",
    )
    _run(config)
    _run(config)  # nothing new: nothing fetched again
    hits = server.hit_counts()
    assert hits["/media/ep1.mp3"] == 1
    assert hits["/media/big.mp3"] == 1  # refused on its declared length
    rows = _export(config)
    assert rows["Episode One"]["enclosures"][0]["downloaded"] is True
    assert rows["Episode Two"]["enclosures"][0]["downloaded"] is False
    with sqlite3.connect(tmp_path / "ingest.db") as connection:
        found = dict(connection.execute("SELECT url, coalesce(body, download_error) FROM enclosure"))
    assert found[server.url("/media/ep1.mp3")] == MEDIA
    assert "fetch.too_large" in found[server.url("/media/big.mp3")]


def test_the_same_file_through_two_sources_is_stored_once_per_article(
    tmp_path: Path, server: LoopbackServer
) -> None:
    first = _podcast(server, "/a.xml", "a")
    mirror = (
        "<item><title>Episode One</title><link>/ep-1.html?utm_source=mirror</link><guid>m-1</guid>"
        '<enclosure url="/media/ep1.mp3?utm_campaign=mirror" type="audio/mpeg"/>'
        '<enclosure url="/media/ep1-extra.mp3" type="audio/mpeg"/></item>'
    )
    second = server.add("/b.xml", Route(_rss(mirror), content_type=RSS))
    config = write_config(
        tmp_path, f'[[sources]]\nname = "a"\nurl = "{first}"\n[[sources]]\nname = "b"\nurl = "{second}"\n'
    )
    assert _run(config, "--source", "a")["articles_new"] == 2
    # The mirror's entry links to the same page: attached to its article with no fetch, files and all.
    assert _run(config, "--source", "b")["articles_duplicate"] == 1
    row = _export(config)["Episode One"]
    assert {str(s["source"]) for s in row["sightings"]} == {"a", "b"}
    urls = [e["url"] for e in row["enclosures"]]  # one row per file, spelled as first seen
    assert urls == [server.url("/media/ep1.mp3"), server.url("/media/ep1-extra.mp3")]
    assert server.hit_counts()["/media/ep1.mp3"] == 0
