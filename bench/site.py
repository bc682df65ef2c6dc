"""A loopback news site for benchmarks: N invented articles, their feeds, and syndicated copies."""

from __future__ import annotations

import json
import random
import tempfile
import time

from sqlmodel import func, select

from ingest.cli import open_database
from ingest.pipeline import Pipeline
from ingest.settings import Settings
from storage.tables import Article, Sighting
from tests.support.server import LoopbackServer, Route

WORDS = [
    "council",
    "budget",
    "river",
    "bridge",
    "school",
    "harbour",
    "market",
    "festival",
    "library",
    "station",
    "farmers",
    "election",
    "court",
    "hospital",
    "museum",
    "railway",
    "police",
    "weather",
    "storm",
    "flood",
    "football",
    "orchestra",
    "theatre",
    "housing",
    "energy",
    "water",
    "road",
    "mayor",
    "minister",
    "union",
    "teachers",
    "nurses",
    "students",
    "workers",
    "residents",
    "visitors",
    "museum",
    "garden",
    "forest",
]


def article_text(number: int, paragraphs: int = 5) -> tuple[str, list[str]]:
    """A distinct invented article: a title and paragraphs of sentences unique to it."""
    rng = random.Random(number)
    title = f"Report {number}: the {rng.choice(WORDS)} and the {rng.choice(WORDS)} of district {number}"
    body = []
    for p in range(paragraphs):
        sentences = []
        for s in range(4):
            words = [rng.choice(WORDS) for _ in range(12)]
            sentences.append(
                f"In item {number}.{p}.{s} the {' '.join(words)} met on day {rng.randint(1, 28)}."
            )
        body.append(" ".join(sentences))
    return title, body


def original_page(base: str, number: int) -> bytes:
    title, body = article_text(number)
    paragraphs = "".join(f"<p>{p}</p>" for p in body)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} | Bench Courier</title>'
        f'<link rel="canonical" href="{base}/a/{number}.html"><meta property="og:site_name" content="Bench Courier">'
        '</head><body><header><nav><a href="/">Home</a> <a href="/local">Local</a></nav></header>'
        f"<main><article><h1>{title}</h1>{paragraphs}</article><aside><h3>Most read</h3><ul><li>Other story</li>"
        "</ul></aside></main><footer>© Bench Courier</footer></body></html>"
    ).encode()


def syndicated_page(number: int) -> bytes:
    title, body = article_text(number)
    paragraphs = "".join(f"<p>{p}</p>" for p in body)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} - Wire Digest</title></head>'
        '<body><div class="top"><a href="/">Wire Digest</a> | <a href="/world">World</a> | <a href="/sport">Sport</a>'
        f'</div><div class="content"><h1>{title}</h1><div class="story">{paragraphs}</div>'
        '<div class="related"><b>More from the wire</b><a href="/x">A</a><a href="/y">B</a></div></div>'
        "<div class='foot'>Wire Digest, all rights reserved</div></body></html>"
    ).encode()


def rss(items: list[str]) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Bench</title><link>/</link><description>d</description>'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def serve(count: int) -> tuple[LoopbackServer, LoopbackServer]:
    site, wire = LoopbackServer("127.0.0.1").start(), LoopbackServer("127.0.0.2").start()
    base = site.url("")
    for n in range(count):
        site.add(f"/a/{n}.html", Route(original_page(base, n)))
        wire.add(f"/syn/{n}.html", Route(syndicated_page(n)))
    titles = [article_text(n)[0] for n in range(count)]
    site.add("/feeds/main.rss", Route(rss([f"<item><title>{titles[n]}</title><link>/a/{n}.html</link><guid>a-{n}</guid></item>" for n in range(count)]), content_type="application/rss+xml"))  # fmt: skip
    site.add("/feeds/tracked.rss", Route(rss([f"<item><title>{titles[n]}</title><link>/a/{n}.html?utm_source=bench&amp;utm_medium=rss</link><guid>t-{n}</guid></item>" for n in range(count)]), content_type="application/rss+xml"))  # fmt: skip
    atom = "".join(f'<entry><title>{titles[n]}</title><link href="/a/{n}.html"/><id>urn:a:{n}</id><updated>2026-01-01T00:00:00Z</updated></entry>' for n in range(count))  # fmt: skip
    site.add("/feeds/main.atom", Route(f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Bench</title><id>urn:bench</id><updated>2026-01-01T00:00:00Z</updated>{atom}</feed>'.encode(), content_type="application/atom+xml"))  # fmt: skip
    section = {"version": "https://jsonfeed.org/version/1.1", "title": "Section", "items": [{"id": f"s-{n}", "url": f"/a/{n}.html#section", "title": titles[n]} for n in range(0, count, 2)]}  # fmt: skip
    site.add("/feeds/section.json", Route(json.dumps(section).encode(), content_type="application/feed+json"))
    wire.add("/feed.xml", Route(rss([f"<item><title>{titles[n]}</title><link>/syn/{n}.html</link><guid>w-{n}</guid></item>" for n in range(count)]), content_type="application/rss+xml"))  # fmt: skip
    return site, wire


async def crawl_five_sources(count: int) -> None:
    site, wire = serve(count)
    try:
        with tempfile.TemporaryDirectory(prefix="ingest-crawl-") as folder:
            feeds = [("rss", site.url("/feeds/main.rss")), ("rss-tracked", site.url("/feeds/tracked.rss")),
                     ("atom", site.url("/feeds/main.atom")), ("section-json", site.url("/feeds/section.json")),
                     ("syndicated", wire.url("/feed.xml"))]  # fmt: skip
            settings = Settings(
                database_url=f"sqlite:///{folder}/crawl.db",
                fetch={"allow_networks": ["127.0.0.0/8"], "per_host_delay": 0, "per_host_concurrency": 8,
                       "respect_robots_txt": False},
                sources=[{"name": name, "url": url} for name, url in feeds],
            )  # fmt: skip
            db = open_database(settings)
            started = time.perf_counter()
            summary = await Pipeline(settings, db, processes=2).run_once()
            elapsed = time.perf_counter() - started
            with db.read() as session:
                articles = session.exec(select(func.count()).select_from(Article)).one()
                originals = session.exec(select(func.count()).where(Article.duplicate_of.is_(None))).one()  # type: ignore[union-attr]
                per_article = session.exec(
                    select(Sighting.article_id, func.count()).group_by(Sighting.article_id)
                ).all()
            db.close()
    finally:
        site.stop()
        wire.stop()
    page_hits = [hits for path, hits in site.hits.items() if path.startswith("/a/")]
    wire_hits = [hits for path, hits in wire.hits.items() if path.startswith("/syn/")]
    sightings = sorted(n for _, n in per_article)
    print(
        f"crawl: {count} articles through 5 sources in {elapsed:.1f} s ({summary.as_dict()['entries_new']} entries)"
    )
    print(f"  articles stored {articles} (originals {originals}); sightings per article min {sightings[0]}, "
          f"max {sightings[-1]}, total {sum(sightings)}")  # fmt: skip
    print(f"  original pages fetched: {len(page_hits)} of {count}, at most {max(page_hits)} time(s) each; "
          f"syndicated copies fetched: {len(wire_hits)}, at most {max(wire_hits)} time(s) each")  # fmt: skip
