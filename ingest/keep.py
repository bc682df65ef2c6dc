"""Keeping an article: what a processed entry turned out to be, and storing it in one transaction.

Layers, cheapest first (the entry key and the link were checked before any fetch, the canonical
URL before any extraction):

- the same content (content hash): the entry is one more sighting of an existing article;
- a page whose canonical URL an article already holds: the same page, one more sighting;
- a near-duplicate (the fingerprint's bands find candidates by index, the real similarity of
  the texts confirms): its own article, linked to the story's first-seen original;
- otherwise a new article, fingerprinted for those to come.

An entry seen again with new content (a revisit) updates its article in place, the previous
version kept; a cosmetic change (only case, spacing, punctuation) is not an update.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlmodel import Session

from ingest.dedupe import link_key, same_story
from ingest.errors import LeaseLost
from ingest.html import text_key
from ingest.models import ArticleDraft, Page
from storage import articles, enclosures, near, raw_pages, sightings
from storage.articles import NewArticle
from storage.raw_pages import NewRawPage
from storage.tables import Article


def keep_new(
    session: Session, sighting_id: int, owner: str, page: Page | None, draft: ArticleDraft, now: datetime
) -> tuple[int, str]:
    """Store a first-seen entry's article (or find the one it is); returns (article id, outcome)."""
    article_id, outcome = _existing(session, draft)
    if article_id is None:
        original, score = _near_original(session, draft)
        row = _row(draft, raw_page_id=raw_pages.store(session, _raw(page)) if page is not None else None)
        row = replace(row, duplicate_of=original, similarity=score)
        article_id, created = articles.insert(session, row, now)
        if created:
            near.store(session, article_id, draft.bands, fresh=True)
        outcome = ("near_duplicate" if original is not None else "new") if created else "duplicate"
    _finish(session, sighting_id, owner, article_id, now)
    return article_id, outcome


def keep_revisit(
    session: Session, sighting_id: int, owner: str, article_id: int, page: Page | None, draft: ArticleDraft,
    now: datetime,
) -> tuple[int, str]:  # fmt: skip
    """An entry seen again with new content: update its article if the content changed materially."""
    article = session.get(Article, article_id)
    if article is None or not _materially_different(article, draft):
        _finish(session, sighting_id, owner, article_id, now)
        return article_id, "unchanged"
    raw_page_id = raw_pages.store(session, _raw(page)) if page is not None else None
    if articles.update_in_place(session, article_id, _row(draft, raw_page_id), now):
        near.store(session, article_id, draft.bands)
        _finish(session, sighting_id, owner, article_id, now)
        return article_id, "updated"
    # The new text is another article's: the entry now says what that one says.
    other = articles.find_by_hash(session, draft.content_hash)
    assert other is not None
    _finish(session, sighting_id, owner, other, now)
    return other, "duplicate"


def _existing(session: Session, draft: ArticleDraft) -> tuple[int | None, str]:
    if (same := articles.find_by_hash(session, draft.content_hash)) is not None:
        return same, "duplicate"
    if draft.canonical_url and (holder := articles.find_by_canonical(session, link_key(draft.canonical_url))):
        return holder[0], "duplicate"  # the same page under another address
    return None, "new"


def _near_original(session: Session, draft: ArticleDraft) -> tuple[int | None, float | None]:
    """The original of the story this text is a near-duplicate of, and how alike they are."""
    best: tuple[float, int] | None = None
    for candidate in near.candidates(session, draft.bands):
        alike, score = same_story(draft.text, candidate.text)
        if alike and (best is None or score > best[0]):
            best = (score, candidate.original)
    return (best[1], round(best[0], 4)) if best else (None, None)


def _materially_different(article: Article, draft: ArticleDraft) -> bool:
    """Other words, or another title: a change a reader sees. Case, spacing, punctuation are not."""
    if article.content_hash != draft.content_hash:
        return True
    return text_key(article.title or "") != text_key(draft.title or "")


def _finish(session: Session, sighting_id: int, owner: str, article_id: int, now: datetime) -> None:
    if not sightings.finish(session, sighting_id, owner, article_id, now):
        raise LeaseLost(f"entry {sighting_id}")  # rolls the whole transaction back
    # The entry's media files go to the article it resolved to, each file once per article.
    enclosures.attach(session, sighting_id, article_id)


def _row(draft: ArticleDraft, raw_page_id: int | None) -> NewArticle:
    return NewArticle(
        url=draft.url,
        canonical_url=draft.canonical_url,
        canonical_key=link_key(draft.canonical_url) if draft.canonical_url else None,
        title=draft.title,
        author=draft.author,
        published_at=draft.published_at,
        language=draft.language,
        site_name=draft.site_name,
        text=draft.text,
        content_hash=draft.content_hash,
        extractor=draft.extractor,
        extractor_version=draft.extractor_version,
        normalizer_version=draft.normalizer_version,
        raw_page_id=raw_page_id,
        html=draft.html,
        sanitizer_version=draft.sanitizer_version,
        dateline=draft.dateline,
        published_from=draft.published_from,
    )


def _raw(page: Page) -> NewRawPage:
    return NewRawPage(
        url=page.url,
        final_url=page.final_url,
        status=page.status,
        content_type=page.content_type,
        headers=page.headers,
        fetched_at=page.fetched_at,
        body=page.body,
    )
