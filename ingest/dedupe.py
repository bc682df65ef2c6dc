"""Identity: entry keys (per source, before any page is fetched) and content hashes (across sources).

Pure functions. An entry's key is its GUID, else its canonical link (fragment included), else its
title and date. A key must not change from one poll to the next while the entry does not, so nothing
that depends on the *other* entries of a poll goes into it. What does depend on them is handled by
a second identity, ``link_key``: an entry is known when either its key or its link key is (see
:func:`storage.sightings.known`). That covers a GUID shared by every item (keyed by link this poll,
by GUID once its siblings are gone) and GUIDs that change on every poll while the link stays.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from ingest.models import Entry, RawEntry
from ingest.urls import canonicalize

_WORD = re.compile(r"\w+")


def digest(text: str) -> str:
    """A short stable hex digest for keys and lookups (not for security)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def link_key(link: str) -> str:
    return digest(link)


def content_hash(text: str, key: str | None = None) -> str:
    """Hash of the text's words, case-folded: copies that differ only in spacing,
    punctuation or case hash the same.

    ``key``: the text's words as :func:`ingest.html.text_key` gives them, when the caller has them;
    they are the words hashed whenever the text is NFKC already (almost always), saving a reading.
    """
    if key is None or not unicodedata.is_normalized("NFKC", text):
        key = " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def shingles(text: str, size: int = 4) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.casefold())
    if len(words) < size:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def similarity(first: str, second: str, size: int = 4) -> float:
    """Jaccard similarity of word ``size``-gram shingles: 1.0 for the same text, ~0 for unrelated ones."""
    one, two = shingles(first, size), shingles(second, size)
    union = one | two
    return len(one & two) / len(union) if union else 1.0


def same_story(first: str, second: str) -> tuple[bool, float]:
    """Whether two texts tell the same story (an edited or rewritten copy), and their similarity."""
    score = similarity(first, second, STORY_SHINGLE)
    words = min(len(_WORD.findall(first)), len(_WORD.findall(second)))
    threshold = SHORT_TEXT_THRESHOLD if words < SHORT_TEXT_WORDS else LONG_TEXT_THRESHOLD
    return score >= threshold, score


# Two texts are the same story when their word-bigram Jaccard similarity reaches a threshold that
# depends on length: short briefs share their boilerplate (tip lines, credits) in a larger part of
# their words. Chosen with bench/dedup.py on the labelled pairs (tests/fixtures/dedup): same-story
# long texts score ≥ 0.41 (heavy rewrites) against ≤ 0.13 for different stories on one topic; short
# ones ≥ 0.69 against ≤ 0.39. Each threshold sits in the middle of its gap.
STORY_SHINGLE = 2
SHORT_TEXT_WORDS = 120
SHORT_TEXT_THRESHOLD = 0.55
LONG_TEXT_THRESHOLD = 0.30


def assign_keys(raw_entries: Sequence[RawEntry]) -> list[Entry]:
    """Give every entry a key that is unique within the feed; drop exact repeats (first kept)."""
    links = _canonical_links(raw_entries)
    shared_guids = _ambiguous_guids(raw_entries, links)
    entries: list[Entry] = []
    seen: set[str] = set()
    for raw, link in zip(raw_entries, links, strict=True):
        identity = _identity(raw, raw.guid in shared_guids)
        if identity is None:
            continue
        key = digest(identity)
        if key in seen:
            continue
        seen.add(key)
        entries.append(
            Entry(
                key=key,
                guid=raw.guid,
                link=link,
                link_key=link_key(link) if link else None,
                title=raw.title,
                summary=raw.summary,
                content=raw.content,
                author=raw.author,
                published_at=raw.published_at,
                language=raw.language,
                content_key=digest("\0".join(v or "" for v in (raw.title, raw.summary, raw.content))),
                enclosures=raw.enclosures,
                categories=raw.categories,
            )
        )
    return entries


def _identity(raw: RawEntry, guid_is_shared: bool) -> str | None:
    if raw.guid and not guid_is_shared:
        return f"guid\0{raw.guid}"
    if raw.link:
        return f"link\0{canonicalize(raw.link, keep_fragment=True)}"
    if raw.title:
        when = raw.published_at.isoformat() if raw.published_at else ""
        return f"title\0{raw.title.strip()}\0{when}"
    body = raw.content or raw.summary
    return f"body\0{digest(body)}" if body else None


def _canonical_links(raw_entries: Sequence[RawEntry]) -> list[str | None]:
    """Canonical links; a fragment survives only where it tells two entries' links apart."""
    bare = [canonicalize(raw.link) if raw.link else None for raw in raw_entries]
    full = [canonicalize(raw.link, keep_fragment=True) if raw.link else None for raw in raw_entries]
    variants: defaultdict[str, set[str]] = defaultdict(set)
    for short, long in zip(bare, full, strict=True):
        if short and long:
            variants[short].add(long)
    return [
        long if short and len(variants[short]) > 1 else short for short, long in zip(bare, full, strict=True)
    ]


def _ambiguous_guids(raw_entries: Sequence[RawEntry], links: Iterable[str | None]) -> set[str]:
    """GUIDs that several different entries share (a broken feed): they identify nothing."""
    owners: defaultdict[str, set[tuple[str | None, str | None]]] = defaultdict(set)
    counts: Counter[str] = Counter()
    for raw, link in zip(raw_entries, links, strict=True):
        if raw.guid:
            owners[raw.guid].add((link, raw.title))
            counts[raw.guid] += 1
    return {guid for guid, entries in owners.items() if counts[guid] > 1 and len(entries) > 1}
