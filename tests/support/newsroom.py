"""Many feeds on loopback that publish in rounds: for tests and benchmarks of several workers.

Feed ``i`` lives at ``/feeds/{i}.xml``; each round adds ``per_round`` items to every feed, each
linking to a page of its own with text no other page shares (so no two are near-duplicates).
The server counts every request, so a test can tell how often each feed and page was fetched.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable

from tests.support.server import LoopbackServer, Route, Seen

_WORDS = ["council", "budget", "river", "bridge", "school", "harbour", "market", "festival", "library",
          "station", "farmers", "election", "court", "hospital", "museum", "railway", "police", "weather",
          "storm", "flood", "football", "orchestra", "theatre", "housing", "energy", "water", "road"]  # fmt: skip
# Invented words widen the vocabulary to what real reporting uses, so that two unrelated stories
# share no more word pairs than real ones do (a few dozen words would make everything look alike).
_SYLLABLES = ["ba", "ko", "ri", "ten", "mul", "sa", "vo", "dre", "pin", "ga", "lu", "shi", "mar", "tol"]
_VOCABULARY = _WORDS + [a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in _SYLLABLES[:10]]


def story(number: int, paragraphs: int = 3) -> tuple[str, str]:
    """A title and ``paragraphs`` paragraphs unique to ``number``."""
    rng = random.Random(number)
    title = f"Dispatch {number}: the {rng.choice(_WORDS)} and the {rng.choice(_WORDS)}"
    body = []
    for p in range(paragraphs):
        sentences = [
            f"{' '.join(rng.choice(_VOCABULARY) for _ in range(14)).capitalize()} {number}-{p}-{s}."
            for s in range(4)
        ]
        body.append(" ".join(sentences))
    return title, "".join(f"<p>{p}</p>" for p in body)


def _chrome(number: int) -> tuple[str, str]:
    """What a real news page wraps around its article: menus, teasers, a long footer. Like many
    real templates it marks some of it up for what it is (<nav>, <footer>) and not the rest (the
    teasers in plain <div>s), so that no extractor gets all of it for free from the tag names."""
    menu = "".join(
        f'<li class="menu-item"><div class="wrap"><a href="/section/{i}"><span>Section {i}</span></a></div></li>'
        for i in range(300)
    )
    teasers = "".join(
        f'<div class="teaser"><a href="/a/{number + i}.html"><img src="/img/{i}.jpg" alt="">'
        f"<h3>Another headline number {i}</h3></a><p>A short teaser line for story {i}.</p></div>"
        for i in range(1, 150)
    )
    footer = "".join(f'<div class="col"><a href="/about/{i}">About link {i}</a></div>' for i in range(200))
    head = f'<header><nav><ul class="menu">{menu}</ul></nav><div class="ad">Advertisement</div></header>'
    tail = (
        f'<div class="related"><h2>Most read</h2>{teasers}</div>'
        f'<footer><p>The Loopback Times</p><div class="links">{footer}</div><p>© 2026</p></footer>'
    )
    return head, tail


def page(number: int, paragraphs: int = 3, chrome: bool = False) -> bytes:
    """The article page; with ``chrome``, inside the weight of a real news site's template."""
    title, body = story(number, paragraphs)
    head, tail = (
        _chrome(number) if chrome else ('<nav><a href="/">Home</a> <a href="/local">Local</a></nav>', "")
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head><body>{head}'
        f"<main><article><h1>{title}</h1>{body}</article></main>{tail}<footer>The Loopback Times</footer>"
        "</body></html>"
    ).encode()


class Newsroom:
    def __init__(
        self,
        feeds: int,
        per_round: int,
        page_delay: float = 0.0,
        host: str = "127.0.0.1",
        real_pages: bool = False,
    ) -> None:
        self.feeds, self.per_round, self.page_delay = feeds, per_round, page_delay
        # real_pages: longer articles inside a heavy template, costing trafilatura what real pages do
        self.page_shape = {"paragraphs": 10, "chrome": True} if real_pages else {}
        self.round = 0
        # conditional: feeds carry an ETag and answer 304 to a client that sends it back
        self.conditional = False
        self.server = LoopbackServer(host).start()
        for feed in range(feeds):
            self.server.add(self.feed_path(feed), self._feed)

    @staticmethod
    def feed_path(feed: int) -> str:
        return f"/feeds/{feed}.xml"

    def feed_url(self, feed: int) -> str:
        return self.server.url(self.feed_path(feed))

    def article_number(self, feed: int, round_: int, k: int) -> int:
        # Unique for up to 1,000 rounds of up to 100 items per feed.
        return (feed * 1000 + round_) * 100 + k

    def page_path(self, number: int) -> str:
        return f"/a/{number}.html"

    def next_round(self) -> None:
        """Publish ``per_round`` more items in every feed."""
        self.round += 1
        for feed in range(self.feeds):
            for k in range(self.per_round):
                number = self.article_number(feed, self.round, k)
                body = page(number, **self.page_shape)
                self.server.add(self.page_path(number), Route(body, delay=self.page_delay))

    def published(self) -> set[str]:
        """Every page URL published so far."""
        return {
            self.server.url(self.page_path(self.article_number(feed, r, k)))
            for feed in range(self.feeds)
            for r in range(1, self.round + 1)
            for k in range(self.per_round)
        }

    def hits(self) -> Counter[str]:
        return self.server.hit_counts()

    def stop(self) -> None:
        self.server.stop()

    def _feed(self, seen: Seen) -> Route:
        feed = int(seen.path.rsplit("/", 1)[1].split(".")[0])
        items = []
        for r in range(1, self.round + 1):
            for k in range(self.per_round):
                number = self.article_number(feed, r, k)
                title, _ = story(number, 1)
                items.append(
                    f"<item><title>{title}</title><link>{self.page_path(number)}</link>"
                    f"<guid>n-{number}</guid></item>"
                )
        body = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Feed</title><link>/</link>'
            f"<description>d</description>{''.join(items)}</channel></rss>"
        )
        etag = f'"{hashlib.sha256(body.encode()).hexdigest()[:16]}"' if self.conditional else None
        return Route(body.encode(), content_type="application/rss+xml", etag=etag)

    def slow_feed(self, delay: float) -> Callable[[Seen], Route]:
        """The feed handler, answering after ``delay`` seconds."""

        def answer(seen: Seen) -> Route:
            route = self._feed(seen)
            route.delay = delay
            return route

        return answer
