"""Normalisation: extracted text and metadata to a clean, well-described article.

Pure functions, each one rule, applied in a fixed order by :func:`clean_body`:

1. Unicode NFC, no zero-width or control characters, one space between words.
2. Related-link lines ("Lire aussi : …") dropped.
3. Hard-wrapped lines joined back into paragraphs.
4. Trailing byline, source and copyright lines moved into metadata.
5. The title found (or the known one removed from the body), repeated paragraphs dropped.
6. A dateline prefix ("Bamada.net- ") cut from the first paragraph and kept aside.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from dateutil import parser as date_parser

from ingest import rules
from ingest.dedupe import content_hash
from ingest.langid import detect_language
from ingest.models import ArticleDraft, EntryHints, Extracted
from ingest.urls import canonicalize, same_site

NORMALIZER_VERSION = "1"
FUTURE_TOLERANCE = timedelta(hours=24)

_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[^\S\n]+")
_CLOSERS = "\"'”’»)]"
_TERMINAL = ".!?…"
_WORD = re.compile(r"\w+")


def _alternation(words: Sequence[str]) -> str:
    ordered = sorted(words, key=len, reverse=True)
    return "|".join(re.escape(word).replace(r"\ ", r"\s+") for word in ordered)


_RELATED = re.compile(rf"^\W{{0,3}}(?:{_alternation(rules.RELATED_LABELS)})\b\s*(?:[:：\-–—»>|]|$)", re.I)
_NAME_WORD = rf"(?:[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’.-]*|(?:{_alternation(sorted(rules.NAME_PARTICLES))}))"
_NAME = rf"{_NAME_WORD}(?:\s+{_NAME_WORD}){{1,4}}"
_BARE_NAME = re.compile(rf"^(?P<name>{_NAME})$")
_BYLINE = re.compile(
    rf"^(?:{_alternation(rules.BYLINE_PREFIXES)})\s*:?\s+(?P<name>{_NAME}(?:\s*(?:,|et|and|und|y|e|&)\s*{_NAME})*)"
    r"(?:\s*[,|–—-]\s*.{0,60})?$",
    re.I,
)
_SOURCE = re.compile(rf"^(?:{_alternation(rules.SOURCE_PREFIXES)})\s*:\s*(?P<site>.{{1,80}}?)\s*\.?$", re.I)
_COPYRIGHT = re.compile(r"^(?:©|\(c\)|copyright\b)\s*(?:\d{4}\s*)?(?P<holder>.{0,100})$", re.I)
_AGENCY = _alternation(rules.AGENCIES)
_DATELINES = (
    # "Bamada.net- ", "lemonde.fr - "
    re.compile(r"^(?P<prefix>[\w-]+(?:\.[\w-]+)*\.[a-z]{2,12})\s*[-–—:]+\s*(?=\S)", re.I),
    # "Lyon (AFP) - ", "BERLIN, 3. März (dpa) – "
    re.compile(rf"^(?P<prefix>[^\W\d][^()\n]{{0,50}}?\((?:{_AGENCY})\))\s*[-–—:]+\s*(?=\S)"),
    # "WASHINGTON — ", "SÃO PAULO, 4 mai - "
    re.compile(r"^(?P<prefix>[A-ZÀ-Þ]{3,}(?:[ -][A-ZÀ-Þ]{2,})*(?:,\s*[^-–—\n]{1,30}?)?)\s+[-–—]+\s+(?=\S)"),
)


@dataclass(frozen=True, slots=True)
class CleanBody:
    paragraphs: tuple[str, ...]
    title: str | None = None
    author: str | None = None
    site_name: str | None = None
    dateline: str | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def clean_unicode(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text.replace("\t", " "))
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))


def is_related_line(line: str) -> bool:
    return bool(_RELATED.match(line)) and len(line) < 300


def paragraph_key(text: str) -> str:
    """What two paragraphs share when they differ only by case, punctuation or stray quotes."""
    return " ".join(_WORD.findall(text.casefold()))


def ends_sentence(line: str) -> bool:
    stripped = line.rstrip(_CLOSERS + " ")
    return bool(stripped) and stripped[-1] in _TERMINAL


def _last_word(line: str) -> str:
    words = line.split()
    return words[-1].casefold() if words else ""


def is_cut(line: str, following: str) -> bool:
    """Whether ``line`` was hard-wrapped in the middle of a sentence that ``following`` continues."""
    if not following or following[0] in "-•*–—·" or following[0].isdigit():
        return False
    last = _last_word(line)
    if last in rules.CONTINUATION_WORDS or last.endswith(("'", "’")):
        return True
    if ends_sentence(line) or line.endswith((":", ";")):
        return False
    return line.endswith((",", "-")) or following[0].islower()


def join_wrapped(lines: Sequence[str]) -> list[str]:
    joined: list[str] = []
    for line in lines:
        if joined and is_cut(joined[-1], line):
            previous = joined.pop()
            # "sous-" + "régionales", "Mali-" + "Russie": a word broken at its hyphen.
            hyphenated = previous.endswith("-") and previous[-2:-1].isalpha()
            joined.append(previous + line if hyphenated else f"{previous} {line}")
        else:
            joined.append(line)
    return joined


def _take_tail_metadata(lines: list[str]) -> tuple[str | None, str | None]:
    """Pop byline, source and copyright lines off the end; return (author, site name)."""
    author = site = None
    for _ in range(4):
        if len(lines) < 2:
            break
        last = lines[-1]
        if match := _SOURCE.match(last):
            site = site or match.group("site").strip()
        elif match := _COPYRIGHT.match(last):
            site = site or _clean_holder(match.group("holder"))
        elif (match := _BYLINE.match(last) or _BARE_NAME.match(last)) and author is None:
            author = match.group("name").strip()
        else:
            break
        lines.pop()
    return author, site


def _take_leading_byline(lines: list[str]) -> str | None:
    for index in range(min(2, len(lines))):
        if match := _BYLINE.match(lines[index]):
            del lines[index]
            return match.group("name").strip()
    return None


def _clean_holder(holder: str) -> str | None:
    cleaned = re.sub(r"^\d{4}(?:\s*[-–]\s*\d{4})?\s*", "", holder).strip(" .,-")
    cleaned = re.sub(
        r"(?i)\s*[,.-]?\s*all rights reserved.*$|\s*[,.-]?\s*tous droits réservés.*$", "", cleaned
    )
    return cleaned or None


def looks_like_title(line: str) -> bool:
    words = line.split()
    return 3 <= len(words) <= 25 and len(line) <= 200 and not ends_sentence(line) and not line.endswith(",")


def _find_title(lines: Sequence[str]) -> int | None:
    """For documents with no marked title: the first short line that is not a sentence."""
    for index, line in enumerate(lines[:4]):
        if looks_like_title(line):
            return index
    return None


def _drop_repeats(lines: Sequence[str], title: str | None) -> list[str]:
    seen = {paragraph_key(title)} if title else set()
    kept = []
    for line in lines:
        key = paragraph_key(line)
        if key and key in seen:
            continue
        if key:
            seen.add(key)
        kept.append(line)
    return kept


def cut_dateline(paragraph: str, site_name: str | None) -> tuple[str, str | None]:
    patterns = list(_DATELINES)
    if site_name:
        patterns.insert(0, re.compile(rf"^(?P<prefix>{re.escape(site_name)})\s*[-–—:]+\s*(?=\S)", re.I))
    for pattern in patterns:
        if (match := pattern.match(paragraph)) and len(paragraph) > match.end() + 20:
            rest = paragraph[match.end() :]
            return rest[0].upper() + rest[1:], match.group("prefix")
    return paragraph, None


def clean_body(text: str, title: str | None = None, site_name: str | None = None) -> CleanBody:
    """The cleaned paragraphs of ``text`` and what was learnt from them (title, author, site)."""
    lines = [line for line in clean_unicode(text).split("\n") if line]
    lines = [line for line in lines if not is_related_line(line)]
    lines = join_wrapped(lines)
    author, found_site = _take_tail_metadata(lines)
    author = _take_leading_byline(lines) or author
    if title is None and (index := _find_title(lines)) is not None:
        title = lines.pop(index)
    lines = _drop_repeats(lines, title)
    dateline = None
    for index, line in enumerate(lines[:3]):
        cut, dateline = cut_dateline(line, site_name or found_site)
        if dateline:
            lines[index] = cut
            break
    return CleanBody(tuple(lines), title, author, found_site, dateline)


def clean_inline(value: str | None, limit: int = 1000) -> str | None:
    """A one-line metadata value: cleaned, single-spaced, bounded."""
    if value is None:
        return None
    cleaned = " ".join(clean_unicode(value).split())[:limit].strip()
    return cleaned or None


def parse_date(value: str | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = date_parser.isoparse(value.strip())
        except (ValueError, OverflowError):
            try:
                parsed = date_parser.parse(value, fuzzy=False)
            except (ValueError, OverflowError):
                return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def choose_date(page: str | None, feed: datetime | None, fetched_at: datetime) -> datetime | None:
    """The page's date, made precise by the feed's when both name the same day; never in the future."""
    from_page = parse_date(page)
    chosen = from_page or feed
    if from_page and feed and from_page.date() == feed.date():
        chosen = feed
    if chosen and chosen > fetched_at + FUTURE_TOLERANCE:
        chosen = fetched_at
    return chosen


def normalize(extracted: Extracted, hints: EntryHints, url: str, fetched_at: datetime) -> ArticleDraft:
    known_title = clean_inline(extracted.title) or clean_inline(hints.title)
    site = clean_inline(extracted.site_name)
    body = clean_body(extracted.text, known_title, site)
    text = body.text
    return ArticleDraft(
        url=url,
        canonical_url=_canonical(extracted.canonical_url, url),
        title=body.title,
        author=clean_inline(extracted.author) or clean_inline(hints.author) or body.author,
        published_at=choose_date(extracted.published, hints.published_at, fetched_at),
        language=detect_language(text) or extracted.language or hints.feed_language,
        site_name=site or body.site_name,
        text=text,
        content_hash=content_hash(text),
        extractor=extracted.extractor,
        extractor_version=extracted.extractor_version,
        normalizer_version=NORMALIZER_VERSION,
    )


def _canonical(declared: str | None, url: str) -> str:
    """The page's own canonical URL when it is on the same site (or the page is a local copy of a
    web page, read from a directory); the fetched URL otherwise. A canonical that names the site's
    home page for an article deeper in the site is a template's mistake, and ignored."""
    if declared is None or not declared.startswith(("http://", "https://")):
        return canonicalize(url)
    if not (url.startswith("file:") or same_site(declared, url)):
        return canonicalize(url)
    if urlsplit(declared).path in {"", "/"} and urlsplit(url).path not in {"", "/"}:
        return canonicalize(url)
    return canonicalize(declared)
