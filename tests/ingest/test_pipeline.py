"""The whole pipeline against a real HTTP server on loopback: four feed formats, pages, fallbacks."""

from __future__ import annotations

import asyncio
import shutil
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from ingest.opening import open_database
from ingest.pipeline import Pipeline, RunSummary
from ingest.settings import Settings
from storage.tables import Article, RawPage, Sighting, Source
from tests.conftest import FIXTURES, ROOT, make_settings
from tests.support.server import LoopbackServer, Route

SITE = FIXTURES / "site"


@pytest.fixture
def db_url(any_db_url: str) -> str:
    """Every test of this module runs on SQLite and on PostgreSQL."""
    return any_db_url


def run(settings: Settings, names: tuple[str, ...] = ()) -> RunSummary:
    db = open_database(settings)
    try:
        return asyncio.run(Pipeline(settings, db, processes=0).run_once(names))
    finally:
        db.close()


def rows(settings: Settings, model: Any) -> list[Any]:
    db = open_database(settings)
    try:
        with db.read() as session:
            return list(
                session.exec(select(model).order_by(col(model.id) if hasattr(model, "id") else None)).all()
            )
    finally:
        db.close()


def serve_site(server: LoopbackServer, etags: bool = False) -> None:
    server.serve_directory(SITE, "/site/")
    if etags:
        for path, route in list(server.routes.items()):
            if path.startswith("/site/feeds/") and isinstance(route, Route):
                route.etag = f'"{abs(hash(route.body))}"'
                route.last_modified = "Sat, 05 Oct 2024 10:00:00 GMT"


def feed_sources(server: LoopbackServer, *names: str) -> list[dict[str, Any]]:
    return [{"name": name.replace(".", "-"), "url": server.url(f"/site/feeds/{name}")} for name in names]


ALL_FEEDS = ("news.rss", "news.atom", "news.rdf", "news.json")


def test_four_formats_end_to_end(server: LoopbackServer, db_url: str) -> None:
    serve_site(server)
    settings = make_settings(db_url, feed_sources(server, *ALL_FEEDS))
    summary = run(settings)
    counts = summary.as_dict()
    assert counts["sources_ok"] == 4 and counts["sources_failed"] == 0
    assert counts["entries_seen"] == 8 and counts["entries_new"] == 8
    assert counts["articles_new"] == 5, counts
    assert counts["articles_duplicate"] == 3
    assert counts["articles_failed"] == 0 and summary.exit_code == 0
    # Each distinct page is fetched once, however many feeds link to it.
    for page in ("good-1.html", "good-2.html", "good-3.html", "empty.html", "missing.html"):
        assert server.hits[f"/site/pages/{page}"] == 1, page
    by_title = {a.title: a for a in rows(settings, Article)}
    roof = by_title["Town hall roof to be replaced before winter"]
    assert roof.author == "Hannah Boyd" and roof.site_name == "Riverside Courier" and roof.language == "en"
    assert roof.extractor == "trafilatura" and "Most read" not in roof.text and "cookies" not in roof.text
    assert roof.published_at is not None and roof.published_at.isoformat() == "2024-10-01T08:00:00+00:00"
    assert (
        roof.published_from == "page" and roof.sanitizer_version and roof.sanitizer_version.startswith("nh3")
    )
    assert (
        roof.html and roof.html.startswith("<p>") and "<nav" not in roof.html and "Most read" not in roof.html
    )
    # A page with no extractable body falls back to the feed's content; a 404 to its summary.
    assert by_title["Photos: autumn fair in pictures"].extractor == "feed"
    assert "brass band" in by_title["Photos: autumn fair in pictures"].text
    assert by_title["Bus station cafe closes"].extractor == "feed"
    sightings = rows(settings, Sighting)
    assert {s.state for s in sightings} == {"done"}
    assert len({s.article_id for s in sightings}) == 5


def test_second_run_is_conditional_and_stores_nothing(server: LoopbackServer, db_url: str) -> None:
    serve_site(server, etags=True)
    settings = make_settings(db_url, feed_sources(server, *ALL_FEEDS))
    run(settings)
    pages_before = sum(hits for path, hits in server.hits.items() if "/pages/" in path)
    second = run(settings).as_dict()
    assert second["sources_not_modified"] == 4 and second["articles_new"] == 0 and second["entries_new"] == 0
    for name in ALL_FEEDS:
        last = server.requests_to(f"/site/feeds/{name}")[-1].headers
        assert last.get("if-none-match") and last.get("if-modified-since"), name
        assert server.not_modified[f"/site/feeds/{name}"] == 1, name  # answered 304, not resent
    assert sum(hits for path, hits in server.hits.items() if "/pages/" in path) == pages_before


def test_identical_body_without_validators_skips_parsing(server: LoopbackServer, db_url: str) -> None:
    serve_site(server)  # no ETag or Last-Modified: the server resends the same bytes
    settings = make_settings(db_url, feed_sources(server, "news.rss"))
    run(settings)
    assert run(settings).as_dict()["sources_not_modified"] == 1


def test_only_new_entries_are_fetched_when_a_feed_grows(server: LoopbackServer, db_url: str) -> None:
    serve_site(server)
    settings = make_settings(db_url, feed_sources(server, "news.rss"))
    run(settings)
    feed = (SITE / "feeds" / "news.rss").read_text(encoding="utf-8")
    grown = feed.replace(
        "<item>",
        "<item><title>Library extends opening hours on Thursdays</title><link>../pages/good-3.html</link>"
        "<guid>rc-5</guid></item>\n  <item>",
        1,
    )
    server.add("/site/feeds/news.rss", Route(grown.encode(), content_type="application/rss+xml"))
    summary = run(settings).as_dict()
    assert summary["entries_new"] == 1 and summary["articles_new"] == 1
    assert server.hits["/site/pages/good-1.html"] == 1 and server.hits["/site/pages/good-3.html"] == 1


def test_a_failing_source_does_not_touch_the_others(server: LoopbackServer, db_url: str) -> None:
    serve_site(server)
    sources = [*feed_sources(server, "news.rss"), {"name": "home", "url": server.url("/site/home.html")},
               {"name": "gone", "url": server.url("/nothing-here.xml")}]  # fmt: skip
    settings = make_settings(db_url, sources)
    summary = run(settings)
    assert summary.as_dict()["sources_failed"] == 2 and summary.as_dict()["articles_new"] == 4
    assert summary.exit_code == 1
    state = {s.name: s for s in rows(settings, Source)}
    assert state["home"].last_error_code == "parse.not_a_feed" and state["home"].state == "failing"
    assert state["gone"].last_error_code == "http.404"
    assert state["news-rss"].state == "ok" and state["news-rss"].consecutive_failures == 0


def test_entry_with_nothing_fails_and_is_retried_a_bounded_number_of_times(
    server: LoopbackServer, db_url: str
) -> None:
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>/</link><description>d</description>'
        "<item><title>Dead link</title><link>/dead.html</link><guid>dead-1</guid></item></channel></rss>"
    )
    server.add("/dead.rss", Route(feed.encode(), content_type="application/rss+xml"))
    settings = make_settings(db_url, [{"name": "dead", "url": server.url("/dead.rss")}], max_attempts=3)
    results = [run(settings).as_dict()["articles_failed"] for _ in range(4)]
    assert results == [1, 1, 1, 0]
    (sighting,) = rows(settings, Sighting)
    assert sighting.state == "failed" and sighting.attempts == 3 and sighting.last_error_code == "http.404"
    assert server.hits["/dead.html"] == 3


def test_encodings_are_stored_as_unicode(server: LoopbackServer, db_url: str) -> None:
    feeds = FIXTURES / "feeds"
    server.add("/latin1.xml", Route((feeds / "latin1.xml").read_bytes(), content_type="application/rss+xml"))
    server.add("/cp1251.xml", Route((feeds / "cp1251_nodecl.xml").read_bytes(), content_type="text/xml"))
    sources = [{"name": "latin1", "url": server.url("/latin1.xml"), "full_text": False},
               {"name": "cp1251", "url": server.url("/cp1251.xml"), "full_text": False}]  # fmt: skip
    settings = make_settings(db_url, sources)
    assert run(settings).as_dict()["articles_new"] == 3
    titles = {a.title for a in rows(settings, Article)}
    assert "Новый мост через Волгу откроют весной" in titles
    assert any(t and t.startswith("Fête de la musique à Besançon") for t in titles)
    assert {a.language for a in rows(settings, Article)} == {"fr", "ru"}


def test_only_the_named_sources_run(server: LoopbackServer, db_url: str) -> None:
    serve_site(server)
    settings = make_settings(db_url, feed_sources(server, "news.rss", "news.atom"))
    assert run(settings, ("news-atom",)).as_dict()["sources_ok"] == 1
    assert server.hits["/site/feeds/news.rss"] == 0


def test_directory_source_reads_seeds_offline(tmp_path: Path, db_url: str) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(ROOT / "seeds", seeds)
    settings = make_settings(db_url, [{"name": "seeds", "path": str(seeds)}])
    first = run(settings).as_dict()
    assert first["articles_new"] == 5 and first["articles_failed"] == 0
    assert run(settings).as_dict()["sources_not_modified"] == 1
    articles = rows(settings, Article)
    seed = next(a for a in articles if a.extractor == "plaintext")
    assert seed.author == "Moussa Keita" and seed.site_name == "Bamada.net" and seed.language == "fr"
    minisite = [a for a in articles if a.extractor == "trafilatura"]
    assert len(minisite) == 4
    assert all(
        a.canonical_url and a.canonical_url.startswith("https://journal-fleuve.example/") for a in minisite
    )
    # Pages linked from the feed are read through it (with its metadata), not again as loose pages.
    assert len(rows(settings, Sighting)) == 5


def test_directory_source_never_reads_outside_itself(tmp_path: Path, db_url: str) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    (tmp_path / "secret.html").write_text("<p>secret</p>")
    (root / "feed.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>/</link><description>d</description>'
        "<item><title>Escape</title><link>../secret.html</link><guid>e1</guid><description>A summary.</description>"
        "</item></channel></rss>"
    )
    settings = make_settings(db_url, [{"name": "docs", "path": str(root)}])
    assert run(settings).as_dict()["articles_new"] == 1
    (article,) = rows(settings, Article)
    assert "secret" not in article.text and article.extractor == "feed"


def test_process_pool_gives_the_same_result_and_carries_errors(server: LoopbackServer, db_url: str) -> None:
    serve_site(server)
    sources = [*feed_sources(server, *ALL_FEEDS), {"name": "home", "url": server.url("/site/home.html")}]
    settings = make_settings(db_url, sources)
    db = open_database(settings)
    try:
        summary = asyncio.run(Pipeline(settings, db, processes=2).run_once())
    finally:
        db.close()
    counts = summary.as_dict()
    assert counts["articles_new"] == 5 and counts["articles_failed"] == 0 and counts["sources_failed"] == 1
    assert {s.name: s.last_error_code for s in rows(settings, Source)}["home"] == "parse.not_a_feed"


def test_robots_txt_is_respected_for_pages_not_feeds(server: LoopbackServer, db_url: str) -> None:
    serve_site(server)
    server.add("/robots.txt", Route(b"User-agent: *\nDisallow: /site/pages/good-1.html\nDisallow: /site/feeds/\n",
                                   content_type="text/plain"))  # fmt: skip
    settings = make_settings(db_url, feed_sources(server, "news.rss"), fetch={"respect_robots_txt": True})
    counts = run(settings).as_dict()
    assert counts["sources_ok"] == 1 and counts["articles_new"] == 4
    assert server.hits["/site/pages/good-1.html"] == 0 and server.hits["/site/pages/good-2.html"] == 1
    assert server.hits["/robots.txt"] == 1  # fetched once per host, not once per page
    roof = next(
        a for a in rows(settings, Article) if a.title == "Town hall roof to be replaced before winter"
    )
    assert roof.extractor == "feed"


def test_a_source_error_is_reset_by_the_next_success(server: LoopbackServer, db_url: str) -> None:
    settings = make_settings(db_url, [{"name": "late", "url": server.url("/late.rss"), "full_text": False}])
    assert run(settings).exit_code == 1
    (failed,) = rows(settings, Source)
    assert (failed.state, failed.last_error_code, failed.consecutive_failures) == ("failing", "http.404", 1)
    server.add(
        "/late.rss", Route((SITE / "feeds" / "news.rss").read_bytes(), content_type="application/rss+xml")
    )
    assert run(settings).exit_code == 0
    (healed,) = rows(settings, Source)
    assert (healed.state, healed.last_error_code, healed.consecutive_failures) == ("ok", None, 0)


def _rss(items: str) -> bytes:
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>/</link><description>d</description>{items}</channel></rss>'.encode()


def test_entries_stay_known_when_the_rest_of_the_feed_changes(server: LoopbackServer, db_url: str) -> None:
    """Keys must not depend on the other entries of a poll: a replay never re-queues an entry."""
    first = _rss(
        "<item><title>U1</title><link>/live#u1</link><description>one</description></item>"
        "<item><title>U2</title><link>/live#u2</link><description>two</description></item>"
        "<item><title>S1</title><link>/s1</link><guid>shared</guid><description>s one</description></item>"
        "<item><title>S2</title><link>/s2</link><guid>shared</guid><description>s two</description></item>"
    )
    later = _rss(
        "<item><title>U2</title><link>/live#u2</link><description>two</description></item>"
        "<item><title>S2</title><link>/s2</link><guid>shared</guid><description>s two</description></item>"
        "<item><title>Moved GUID</title><link>/s1</link><guid>fresh-guid-every-poll</guid><description>s one</description></item>"
    )
    server.add("/f.rss", Route(first, content_type="application/rss+xml"))
    settings = make_settings(db_url, [{"name": "f", "url": server.url("/f.rss"), "full_text": False}])
    assert run(settings).as_dict()["entries_new"] == 4
    server.add("/f.rss", Route(later, content_type="application/rss+xml"))
    assert run(settings).as_dict()["entries_new"] == 0


def test_guid_and_link_quirks_over_http(server: LoopbackServer, db_url: str) -> None:
    feeds = FIXTURES / "feeds"
    for name in ("missing_guids.xml", "duplicate_guids.xml", "rss20.xml", "atom10.atom"):
        server.add(f"/{name}", Route((feeds / name).read_bytes(), content_type="application/xml"))
    sources = [{"name": n, "url": server.url(f"/{n}"), "full_text": False}
               for n in ("missing_guids.xml", "duplicate_guids.xml", "rss20.xml", "atom10.atom")]  # fmt: skip
    settings = make_settings(db_url, sources)
    counts = run(settings).as_dict()
    # 3 without GUIDs, 5 distinct of 6 with broken GUIDs (one exact repeat), 3 RSS, 2 Atom
    assert counts["entries_new"] == 13 and counts["articles_failed"] == 0
    links = {s.link for s in rows(settings, Sighting)}
    assert server.url("/news/lifeboat-kayakers") in links  # relative link, resolved against the feed
    assert (
        "https://dupguid.example/live#update-1" in links and "https://dupguid.example/live#update-2" in links
    )
    assert "https://valley-notes.example/blog/posts/orchard-cider-festival" in links  # xml:base
    assert run(settings).as_dict()["entries_new"] == 0


def test_symlinks_out_of_a_directory_and_oversized_files_are_skipped(tmp_path: Path, db_url: str) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    outside = tmp_path / "outside.xml"
    outside.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>/</link><description>d</description>'
        "<item><title>SECRET</title><guid>x</guid><description>SECRET CONTENT</description></item></channel></rss>"
    )
    (root / "evil.xml").symlink_to(outside)
    (root / "huge.xml").write_bytes(b"<rss>" + b" " * 2_000_000 + b"</rss>")
    (root / "note.txt").write_text(
        "A plain note\nThis is the body of a small plain note, long enough to keep.\n"
    )
    (root / "empty.txt").write_text("   \n")
    settings = make_settings(
        db_url, [{"name": "docs", "path": str(root)}], fetch={"max_feed_bytes": 1_000_000}
    )
    counts = run(settings).as_dict()
    assert counts["sources_ok"] == 1 and counts["articles_new"] == 1
    assert counts["articles_failed"] == 1  # the empty document: an error, never an empty article
    texts = " ".join(a.text for a in rows(settings, Article))
    assert "SECRET" not in texts
    failed = [s for s in rows(settings, Sighting) if s.state == "failed"]
    assert [s.last_error_code for s in failed] == ["extract.empty"]


def test_a_canonical_tag_pointing_home_is_ignored(server: LoopbackServer, db_url: str) -> None:
    body = "<p>{}</p>".format(" ".join(f"word{i}" for i in range(120)))
    page = '<html><head><link rel="canonical" href="{home}"><title>{t}</title></head><body><article><h1>{t}</h1>{b}</article></body></html>'
    home = server.url("/")
    for n in (1, 2):
        server.add(
            f"/story-{n}.html",
            Route(page.format(home=home, t=f"Story {n}", b=body.replace("word", f"s{n}w")).encode()),
        )
    server.add("/f.rss", Route(_rss("".join(f"<item><title>Story {n}</title><link>/story-{n}.html</link></item>" for n in (1, 2))),
                               content_type="application/rss+xml"))  # fmt: skip
    settings = make_settings(db_url, [{"name": "f", "url": server.url("/f.rss")}])
    assert run(settings).as_dict()["articles_new"] == 2
    assert sorted(a.canonical_url for a in rows(settings, Article)) == [
        server.url("/story-1.html"),
        server.url("/story-2.html"),
    ]


def test_a_known_canonical_url_attaches_without_extraction(server: LoopbackServer, db_url: str) -> None:
    words = " ".join(f"word{i}" for i in range(200))
    page = '<html><head><link rel="canonical" href="{c}"></head><body><article><h1>T</h1><p>{w}</p><p>{extra}</p></article></body></html>'
    canonical = server.url("/story")
    server.add("/story", Route(page.format(c=canonical, w=words, extra="Original ending.").encode()))
    server.add(
        "/story/amp",
        Route(page.format(c=canonical, w=words, extra="A different ending added later.").encode()),
    )
    first = _rss("<item><title>T</title><link>/story</link></item>")
    both = _rss(
        "<item><title>T</title><link>/story</link></item><item><title>T amp</title><link>/story/amp</link></item>"
    )
    server.add("/f.rss", Route(first, content_type="application/rss+xml"))
    settings = make_settings(db_url, [{"name": "f", "url": server.url("/f.rss")}])
    assert run(settings).as_dict()["articles_new"] == 1
    server.add("/f.rss", Route(both, content_type="application/rss+xml"))
    assert run(settings).as_dict()["articles_duplicate"] == 1
    (article,) = rows(settings, Article)
    assert article.canonical_url == canonical and "Original ending" in article.text
    assert {s.article_id for s in rows(settings, Sighting)} == {article.id}
    assert len(rows(settings, RawPage)) == 1  # the second page was fetched but never extracted or kept
    assert server.hits["/story/amp"] == 1


def test_a_near_duplicate_is_its_own_article_linked_to_the_original(
    server: LoopbackServer, db_url: str
) -> None:
    sentences = [
        f"Sentence number {i} of the council story says something about item {i}." for i in range(40)
    ]
    edited = [*sentences[:30], "A correction was added to this story on Tuesday afternoon.", *sentences[30:]]
    for path, body in (("/a.html", sentences), ("/b.html", edited)):
        html = (
            "<html><body><article><h1>Council</h1>"
            + "".join(f"<p>{line}</p>" for line in body)
            + "</article></body></html>"
        )
        server.add(path, Route(html.encode()))
    server.add(
        "/f.rss",
        Route(_rss("<item><title>A</title><link>/a.html</link></item>"), content_type="application/rss+xml"),
    )
    server.add(
        "/g.rss",
        Route(_rss("<item><title>B</title><link>/b.html</link></item>"), content_type="application/rss+xml"),
    )
    settings = make_settings(db_url, [{"name": "f", "url": server.url("/f.rss")}])
    run(settings)
    settings = make_settings(
        db_url, [{"name": "f", "url": server.url("/f.rss")}, {"name": "g", "url": server.url("/g.rss")}]
    )
    counts = run(settings).as_dict()
    assert counts["articles_near_duplicate"] == 1
    original, copy = rows(settings, Article)
    assert copy.duplicate_of == original.id and copy.similarity is not None and 0.5 <= copy.similarity < 1


def test_hostile_markup_is_stored_harmless(server: LoopbackServer, db_url: str) -> None:
    words = " ".join(f"word{i}" for i in range(150))
    page = (
        "<html><head><title>Safe</title></head><body><article><h1>Safe</h1>"
        f'<p onclick="steal()">{words} <a href="javascript:alert(1)">click</a> <a href="&#106;avascript:x()">two</a>'
        ' <a href="https://ok.example/">fine</a><img src=x onerror="alert(2)"></p>'
        f"<script>alert(3)</script><iframe src='https://evil.example'></iframe><p>{words} end.</p></article></body></html>"
    )
    server.add("/x.html", Route(page.encode()))
    server.add(
        "/f.rss",
        Route(
            _rss("<item><title>Safe</title><link>/x.html</link></item>"), content_type="application/rss+xml"
        ),
    )
    settings = make_settings(db_url, [{"name": "f", "url": server.url("/f.rss")}])
    assert run(settings).as_dict()["articles_new"] == 1
    (article,) = rows(settings, Article)
    html = article.html or ""
    for bad in ("javascript:", "onclick", "onerror", "<script", "<iframe", "alert("):
        assert bad not in html.lower(), bad
    assert "word149" in html


def test_crawl_delay_spaces_requests_to_the_host(server: LoopbackServer, db_url: str) -> None:
    serve_site(server)
    server.add("/robots.txt", Route(b"User-agent: *\nCrawl-delay: 0.4\n", content_type="text/plain"))
    settings = make_settings(db_url, feed_sources(server, "news.rss"), fetch={"respect_robots_txt": True})
    assert run(settings).as_dict()["articles_new"] == 4
    pages = sorted(seen.at for seen in server.requests if "/pages/" in seen.path)
    assert len(pages) == 4
    assert all(later - earlier >= 0.39 for earlier, later in pairwise(pages))


def _story_feed(body: str, title: str = "Budget vote") -> bytes:
    return _rss(
        f"<item><title>{title}</title><guid>story-1</guid><link>/story-1</link><description><![CDATA[{body}]]></description></item>"
    )


STORY = " ".join(f"The council discussed point {i} of the budget for the coming year." for i in range(30))


def test_a_material_update_replaces_the_text_and_keeps_the_version(
    server: LoopbackServer, db_url: str
) -> None:
    from storage import articles as article_store

    server.add("/f.rss", Route(_story_feed(STORY), content_type="application/rss+xml"))
    settings = make_settings(db_url, [{"name": "f", "url": server.url("/f.rss"), "full_text": False}])
    assert run(settings).as_dict()["articles_new"] == 1
    (before,) = rows(settings, Article)
    # Cosmetic: only case and punctuation differ. Not an update.
    server.add(
        "/f.rss", Route(_story_feed(STORY.upper().replace(".", "!")), content_type="application/rss+xml")
    )
    assert run(settings).as_dict()["articles_updated"] == 0
    # Material: a figure corrected. Updated in place, the previous text kept as a version.
    corrected = STORY.replace("point 7 ", "point 70 ")
    server.add(
        "/f.rss", Route(_story_feed(corrected, "Budget vote (corrected)"), content_type="application/rss+xml")
    )
    counts = run(settings).as_dict()
    assert counts["articles_updated"] == 1 and counts["articles_new"] == 0
    (after,) = rows(settings, Article)
    assert after.id == before.id and "point 70 " in after.text and after.title == "Budget vote (corrected)"
    db = open_database(settings)
    try:
        with db.read() as session:
            (version,) = article_store.versions(session, after.id or 0)
    finally:
        db.close()
    assert (
        version.text == before.text
        and version.title == before.title
        and version.content_hash == before.content_hash
    )


def test_export_unique_leaves_near_duplicates_out(server: LoopbackServer, db_url: str) -> None:
    import json as json_module
    import subprocess
    import sys

    sentences = [
        f"Sentence number {i} of the harbour story says something about item {i}." for i in range(40)
    ]
    edited = [*sentences[:20], "An update was added to this story on Monday evening.", *sentences[20:]]
    for path, body in (("/a.html", sentences), ("/b.html", edited)):
        html = (
            "<html><body><article><h1>Harbour</h1>"
            + "".join(f"<p>{line}</p>" for line in body)
            + "</article></body></html>"
        )
        server.add(path, Route(html.encode()))
    server.add(
        "/f.rss",
        Route(_rss("<item><title>A</title><link>/a.html</link></item>"), content_type="application/rss+xml"),
    )
    server.add(
        "/g.rss",
        Route(_rss("<item><title>B</title><link>/b.html</link></item>"), content_type="application/rss+xml"),
    )
    run(make_settings(db_url, [{"name": "f", "url": server.url("/f.rss")}]))
    run(
        make_settings(
            db_url, [{"name": "f", "url": server.url("/f.rss")}, {"name": "g", "url": server.url("/g.rss")}]
        )
    )
    env = {"INGEST_DATABASE_URL": db_url, "INGEST_SOURCES": "[]", "PATH": "/usr/bin:/bin"}
    every = subprocess.run(
        [sys.executable, "-m", "ingest", "export"], cwd=ROOT, capture_output=True, text=True, env=env
    ).stdout
    unique = subprocess.run(
        [sys.executable, "-m", "ingest", "export", "--unique"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    all_rows = [json_module.loads(line) for line in every.splitlines()]
    assert (
        len(all_rows) == 2 and all_rows[1]["duplicate_of"] == all_rows[0]["id"] and all_rows[1]["similarity"]
    )
    assert [json_module.loads(line)["id"] for line in unique.splitlines()] == [all_rows[0]["id"]]
    assert all_rows[0]["sightings"][0]["feed_title"] == "A"
