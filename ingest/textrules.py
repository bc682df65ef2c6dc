"""The body-cleaning rules, each a small pure function, applied in a fixed order by :func:`clean_body`:

1. Unicode NFC, no zero-width or control characters, one space between words (quotes kept).
2. Related-link lines ("Lire aussi : …"), advertisement labels and picture captions dropped;
   labels from :mod:`rules` plus any configured.
3. Hard-wrapped lines joined back into sentences and paragraphs.
4. A paywall or fundraising box at the end dropped.
5. Trailing byline, credit, source and copyright lines moved into metadata (or dropped).
6. The title found when none is known (or the known one removed), repeated paragraphs and a
   section label above the text dropped.
7. A dateline prefix ("Bamada.net- ") cut from the first paragraph and kept aside.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from ingest import rules
from ingest.html import text_key

_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Runs of spaces and single other spaces (tabs, no-break spaces), not every single space: matching
# each of them made this the costliest rule.
_SPACES = re.compile(r"[^\S\n]{2,}|[^\S\n ]")
_CLOSERS = "\"'”’»)]"
_TERMINAL = ".!?…"
PAYWALL_LINE_CHARS = 250  # a paywall box is made of short lines
TAIL_LINES = 8  # how far from the end a paywall box may start


def _alternation(words: Sequence[str]) -> str:
    ordered = sorted(set(words), key=len, reverse=True)
    return "|".join(re.escape(word).replace(r"\ ", r"\s+") for word in ordered)


_NAME_WORD = rf"(?:[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’.-]*|(?:{_alternation(sorted(rules.NAME_PARTICLES))}))"
_NAME = rf"{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,4}}"
_NAMES = rf"{_NAME}(?:\s*(?:,|;|et|and|und|y|e|&)\s*{_NAME})*"
_BARE_NAME = re.compile(rf"^(?P<name>{_NAME_WORD}(?:\s+{_NAME_WORD}){{1,4}})$")
_BYLINE = re.compile(
    rf"^(?:{_alternation(rules.BYLINE_PREFIXES)})\s*:?\s+(?P<name>{_NAMES})(?:\s*[,|–—·-]\s*.{{0,100}})?$",
    re.I,
)
_AD_LINE = re.compile(rf"^\W*(?:{_alternation(rules.AD_LINES)})\W*$", re.I)
_CAPTION = re.compile(
    rf"\s[—–|-]\s*\(?(?:{_alternation(rules.CAPTION_CREDITS)})s?\s*:\s*[^.!?]{{2,80}}\)?$", re.I
)
_CREDIT = re.compile(
    rf"^\(?(?:(?:{_alternation(rules.CREDIT_PREFIXES)})\s+(?P<name>{_NAME})?|"
    rf"(?:{_alternation(rules.CREDIT_LABELS)})\s*[:：]).{{0,160}}$",
    re.I,
)
_SIGN_OFF = re.compile(r"^(?:[a-z]{2,4}(?:\s*/{1,2}\s*[a-z]{2,4})+|[A-Z]{2,4}(?:\s*/{1,2}\s*[A-Z]{2,4})+)$")
_SOURCE = re.compile(rf"^(?:{_alternation(rules.SOURCE_PREFIXES)})\s*:\s*(?P<site>.{{1,80}}?)\s*\.?$", re.I)
_COPYRIGHT = re.compile(r"^(?:©|\(c\)|copyright\b)\s*(?:\d{4}\s*)?(?P<holder>.{0,100})$", re.I)
_AGENCY = _alternation(rules.AGENCIES)
_DATELINES = (
    # "Bamada.net- ", "lemonde.fr - "
    re.compile(r"^(?P<prefix>[\w-]+(?:\.[\w-]+)*\.[a-z]{2,12})\s*[-–—:]+\s*(?=\S)", re.I),
    # "Lyon (AFP) - ", "BERLIN, 3. März (dpa) – "
    re.compile(rf"^(?P<prefix>[^\W\d][^()\n]{{0,50}}?\((?:{_AGENCY})\))\s*[-–—:]+\s*(?=\S)"),
    # "BAD SOLLHEIM (tbl) – ": a city in capitals and an agency's initials
    re.compile(r"^(?P<prefix>[A-ZÀ-Þ]{2,}(?:[ -][A-ZÀ-Þ]{2,}){0,3}\s*\([\w./ ]{2,12}\))\s*[-–—:]+\s*(?=\S)"),
    # "WASHINGTON — ", "SÃO PAULO, 4 mai - "
    re.compile(r"^(?P<prefix>[A-ZÀ-Þ]{3,}(?:[ -][A-ZÀ-Þ]{2,})*(?:,\s*[^-–—\n]{1,30}?)?)\s+[-–—]+\s+(?=\S)"),
)


@cache
def _related(extra: tuple[str, ...]) -> re.Pattern[str]:
    labels = _alternation((*rules.RELATED_LABELS, *extra))
    return re.compile(rf"^\W{{0,3}}(?:{labels})\b\s*(?:[:：\-–—»>|]|$)", re.I)


@cache
def _paywall(extra: tuple[str, ...]) -> tuple[str, ...]:
    # Plain substring tests: much faster than one large case-insensitive alternation.
    return tuple({phrase.casefold() for phrase in (*rules.PAYWALL_PHRASES, *extra)})


@dataclass(frozen=True, slots=True)
class CleanBody:
    paragraphs: tuple[str, ...]
    title: str | None = None
    author: str | None = None  # from a byline or credit line ("Par X", "Reporting by X")
    author_guess: str | None = None  # a bare name ending the text: weaker evidence than the feed's
    site_name: str | None = None
    dateline: str | None = None

    @property
    def any_author(self) -> str | None:
        return self.author or self.author_guess

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def clean_unicode(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub(" ", _INVISIBLE.sub("", text).replace("\t", " "))
    return "\n".join(line.strip() for line in _SPACES.sub(" ", text).split("\n"))


def is_related_line(line: str, extra: tuple[str, ...] = ()) -> bool:
    return len(line) < 300 and bool(_related(extra).match(line))


def is_chrome_line(line: str) -> bool:
    """An advertisement's label, or a picture's caption ending with its credit."""
    return bool(_AD_LINE.match(line)) or (len(line) < 300 and bool(_CAPTION.search(line)))


def ends_sentence(line: str) -> bool:
    stripped = line.rstrip(_CLOSERS + " ")
    return bool(stripped) and stripped[-1] in _TERMINAL


def _last_word(line: str) -> str:
    words = line.rsplit(None, 1)  # the last word only: no list of every word of a long line
    return words[-1].casefold() if words else ""


def is_cut(line: str, following: str) -> bool:
    """Whether ``line`` was hard-wrapped in the middle of a sentence that ``following`` continues."""
    if not following or following[0] in "-•*–—·" or following[0].isdigit() or _SIGN_OFF.match(following):
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


def cut_paywall(lines: list[str], extra: tuple[str, ...] = ()) -> list[str]:
    """Drop a paywall or "support us" box: short lines near the end naming a subscription, twice
    (or once, in a very short last line), with nothing long after them."""
    phrases = _paywall(extra)
    # Only the short lines at the very end can form a box: walk back until a long one.
    start = len(lines)
    while start > max(1, len(lines) - TAIL_LINES) and len(lines[start - 1]) <= PAYWALL_LINE_CHARS:
        start -= 1
    folded = [line.casefold() for line in lines[start:]]  # once a line, not once a phrase
    named = [any(phrase in line for phrase in phrases) for line in folded]
    for offset, index in enumerate(range(start, len(lines))):
        first = lines[index]
        if not named[offset] or len(first) > 150:
            continue
        if sum(named[offset:]) >= 2 or (index == len(lines) - 1 and len(first) < 80):
            return lines[:index]
    return lines


def _take_tail_metadata(lines: list[str]) -> tuple[str | None, str | None, str | None]:
    """Pop byline, credit, source and copyright lines off the end: (author, bare-name guess, site)."""
    author = guess = site = None
    for _ in range(5):
        if len(lines) < 2:
            break
        last = lines[-1]
        if match := _SOURCE.match(last):
            site = site or match.group("site").strip()
        elif match := _COPYRIGHT.match(last):
            site = site or _clean_holder(match.group("holder"))
        elif match := _CREDIT.match(last):
            author = author or (match.group("name") or "").strip() or None
        elif _SIGN_OFF.match(last):
            pass  # an agency's initials ("gbr/cdm"), not text
        elif (match := _BYLINE.match(last)) and author is None:
            author = match.group("name").strip()
        elif (match := _BARE_NAME.match(last)) and guess is None and author is None and _could_be_name(last):
            guess = match.group("name").strip()
        else:
            break
        lines.pop()
    return author, guess, site


def _could_be_name(line: str) -> bool:
    """Capitalised words that are not a phrase: no function word ("Pour En Savoir Plus")."""
    words = [word.casefold() for word in line.split()]
    return not any(word in rules.CONTINUATION_WORDS and word not in rules.NAME_PARTICLES for word in words)


def _drop_kickers(lines: list[str]) -> list[str]:
    """A section or place label above the text ("Nova Araçari", "Lokales") is not the article."""
    start = 0
    while start < len(lines) - 1 and len(lines[start].split()) <= 3 and not ends_sentence(lines[start]):
        start += 1
    return lines[start:]


def _take_leading_byline(lines: list[str]) -> str | None:
    for index in range(min(3, len(lines))):
        if match := _BYLINE.match(lines[index]):
            del lines[index]
            return match.group("name").strip()
    return None


def _clean_holder(holder: str) -> str | None:
    cleaned = re.sub(r"^\d{4}(?:\s*[-–]\s*\d{4})?\s*", "", holder).strip(" .,-")
    cleaned = re.sub(
        r"(?i)\s*[,.-]?\s*(?:all rights reserved|tous droits réservés|alle rechte vorbehalten).*$",
        "",
        cleaned,
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
    """Drop a paragraph or heading that repeats an earlier one (or the title), even when the two
    differ by case, punctuation or a stray quote."""
    seen = {text_key(title)} if title else set()
    kept = []
    for line in lines:
        key = text_key(line)
        if key and key in seen:
            continue
        if key:
            seen.add(key)
        kept.append(line)
    return kept


def cut_dateline(paragraph: str, site_name: str | None) -> tuple[str, str | None]:
    prefix = _site_prefix(paragraph, site_name) or next(
        (m.group("prefix") for p in _DATELINES if (m := p.match(paragraph))), None
    )
    if prefix is None:
        return paragraph, None
    rest = paragraph[len(prefix) :].lstrip(" -–—:")
    if len(rest) < 20:
        return paragraph, None
    return rest[0].upper() + rest[1:], prefix


def _site_prefix(paragraph: str, site_name: str | None) -> str | None:
    """The site's own name used as a dateline: "Bamada.net- L'entretien…"."""
    if not site_name or not paragraph.casefold().startswith(site_name.casefold()):
        return None
    after = paragraph[len(site_name) :]
    return paragraph[: len(site_name)] if after[:3].strip(" ")[:1] in {"-", "–", "—", ":"} else None


def clean_body(
    text: str,
    title: str | None = None,
    site_name: str | None = None,
    related: tuple[str, ...] = (),
    paywall: tuple[str, ...] = (),
) -> CleanBody:
    """The cleaned paragraphs of ``text`` and what was learnt from them (title, author, site).

    ``related`` and ``paywall`` add labels and phrases to the built-in tables (from the config).
    """
    lines = cut_paywall(_paragraphs(clean_unicode(text), related), paywall)
    author, guess, found_site = _take_tail_metadata(lines)
    author = _take_leading_byline(lines) or author
    if title is None and (index := _find_title(lines)) is not None:
        title = lines.pop(index)
    lines = _drop_kickers(_drop_repeats(lines, title))
    dateline = None
    for index, line in enumerate(lines[:3]):
        cut, dateline = cut_dateline(line, site_name or found_site)
        if dateline:
            lines[index] = cut
            break
    return CleanBody(tuple(lines), title, author, guess, found_site, dateline)


def _paragraphs(text: str, related: tuple[str, ...]) -> list[str]:
    """Lines to paragraphs. A text made of blank-line separated blocks (plain-text documents) has its
    paragraphs marked: each block is one, whatever its line breaks (list items apart). Otherwise
    (extracted text, one block a line) hard-wrapped lines are found by :func:`is_cut`."""
    blocks = [[line for line in block.split("\n") if line] for block in text.split("\n\n")]
    blocks = [
        [line for line in block if not is_related_line(line, related) and not is_chrome_line(line)]
        for block in blocks
    ]
    blocks = [block for block in blocks if block]
    marked = len(blocks) > 1 and any(len(block) > 1 for block in blocks)
    if not marked:
        return join_wrapped([line for block in blocks for line in block])
    paragraphs: list[str] = []
    for block in blocks:
        paragraphs.extend(_join_block(block))
    return paragraphs


def _join_block(block: list[str]) -> list[str]:
    joined: list[str] = []
    for line in block:
        if joined and line[0] not in "-•*–—·" and joined[-1][0] not in "-•*–—·":
            previous = joined.pop()
            hyphenated = previous.endswith("-") and previous[-2:-1].isalpha()
            joined.append(previous + line if hyphenated else f"{previous} {line}")
        else:
            joined.append(line)
    return joined


def clean_inline(value: str | None, limit: int = 1000) -> str | None:
    """A one-line metadata value: cleaned, single-spaced, bounded."""
    if value is None:
        return None
    cleaned = " ".join(clean_unicode(value).split())[:limit].strip()
    return cleaned or None
