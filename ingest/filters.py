"""Per-source filters: ``keep`` and ``block`` rules, decided before any page is fetched whenever the
feed says enough, after extraction otherwise.

Rules. A rule is ``[field:]pattern``:

- ``field`` is ``title``, ``link``, ``author``, ``categories`` or ``body`` (any case); without one the
  rule matches any of them. Only a known field name before the first colon counts as a field:
  ``Live: coverage`` is refused (write ``title:Live: coverage``), while ``https://…`` is a pattern.
- ``pattern`` is a regular expression between slashes, searched anywhere in the field, optionally
  followed by flags: ``c`` case-sensitive, ``i`` case-insensitive (the default) —
  ``title:/^Live:/``, ``link:/\\/video\\//c``. Anything else is plain words, matched as whole words in
  that order, case-insensitively: ``sponsored``, ``categories:Sport``, ``body:climate change`` (a word
  never matches inside a longer one: ``sport`` misses ``transport``).
- ``link`` is the entry's canonical link (tracking parameters removed); ``categories`` matches when one
  of the entry's categories (RSS/Atom ``<category>``, JSON Feed ``tags``) does; ``body`` is the
  article's text as extracted and normalised.

An entry is blocked when a block rule matches, or when there are keep rules and none matches;
otherwise it is kept. A :class:`Decision` names the rule that decided.

Two phases.

1. Before fetching (:func:`before_fetch`, where :mod:`ingest.refresh` queues new entries): rules on
   title, link, author and categories are decided on the feed's own fields, and so are rules without a
   field, as far as those fields go (a match there is a match). An entry is left undecided only when
   the body could still change the outcome. A blocked entry is stored as a sighting in state
   ``blocked`` (its identity, not its text): known from then on, never fetched, never queued again.
2. After extraction (:func:`after_extraction`, in :mod:`ingest.process`, before anything is stored):
   ``body`` rules and rules without a field are tried on the article text, with title, link and
   author. An entry that attaches to an article already stored (same link or canonical URL) is
   checked against that article's text.

Body rules are deliberately *not* tried on the feed's summary or content before fetching: a summary is
a teaser, and "body" keeps one meaning — the article's text — whatever the feed carries (for a source
with ``full_text = false`` that text is the feed's own content, extracted).

The sighting keeps the entry's categories, so after extraction every rule is tried on every field it
names, exactly as written.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ingest.errors import ConfigError

FEED_FIELDS = ("title", "link", "author", "categories")
FIELDS = (*FEED_FIELDS, "body")
_FIELD_PREFIX = re.compile(r"^([A-Za-z_]+):(?!//)")
_REGEX = re.compile(r"^/(?P<pattern>.*)/(?P<flags>[A-Za-z]*)$", re.DOTALL)
_FLAGS = {"c": re.NOFLAG, "i": re.IGNORECASE}  # the last one written wins


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: as written, the field it reads (None: any) and its compiled pattern."""

    text: str
    field: str | None
    pattern: re.Pattern[str]

    @property
    def fields(self) -> tuple[str, ...]:
        return FIELDS if self.field is None else (self.field,)

    @property
    def needs_body(self) -> bool:
        return self.field in (None, "body")

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class EntryFields:
    """What rules are matched against; ``None`` or empty means the entry has no such field."""

    title: str | None = None
    link: str | None = None
    author: str | None = None
    categories: tuple[str, ...] = ()
    body: str | None = None

    def values(self, field: str) -> tuple[str, ...]:
        if field == "categories":
            return self.categories
        value: str | None = getattr(self, field)
        return (value,) if value else ()


@dataclass(frozen=True, slots=True)
class Decision:
    kept: bool
    rule: Rule | None = None  # the rule that decided; None: no rule at all, or no keep rule matched

    @property
    def blocked(self) -> bool:
        return not self.kept

    @property
    def reason(self) -> str:
        if self.rule is not None:
            return f"{'keep' if self.kept else 'block'} rule {self.rule.text!r} matched"
        return "no block rule matched" if self.kept else "no keep rule matched"


@dataclass(frozen=True, slots=True)
class Filters:
    keep: tuple[Rule, ...] = ()
    block: tuple[Rule, ...] = ()

    @classmethod
    def parse(cls, keep: Iterable[str] = (), block: Iterable[str] = ()) -> Filters:
        """Rules as written; ValueError naming the first bad one."""
        return cls(_rules("keep", keep), _rules("block", block))

    @classmethod
    def from_json(cls, text: str | None) -> Filters:
        """A source's stored filters (``{"keep": [...], "block": [...]}``); no filters for None."""
        return _from_json(text) if text else cls()

    def to_json(self) -> str | None:
        if not self:
            return None
        rules = {"keep": [r.text for r in self.keep], "block": [r.text for r in self.block]}
        return json.dumps(rules, ensure_ascii=False)

    def __bool__(self) -> bool:
        return bool(self.keep or self.block)

    @property
    def needs_body(self) -> bool:
        """Whether any rule can only be decided once the article's text is known."""
        return any(rule.needs_body for rule in (*self.keep, *self.block))


def stored(text: str | None) -> Filters:
    """A source's filters as stored; ConfigError (``config.filters``) when they no longer parse: the
    config's are checked when it is loaded, so the database was edited by hand."""
    try:
        return Filters.from_json(text)
    except ValueError as exc:
        raise ConfigError("filters", f"the source's stored filters are invalid: {exc}") from None


def parse_rule(text: str) -> Rule:
    """``[field:]pattern`` as a :class:`Rule`; ValueError with the reason for an unknown field, an
    empty pattern, unknown flags or a regular expression that does not compile."""
    written = text.strip()
    if not written:
        raise ValueError("an empty rule matches nothing; write [field:]words or [field:]/regex/")
    field, pattern = None, written
    if prefix := _FIELD_PREFIX.match(written):
        field, pattern = prefix.group(1).lower(), written[prefix.end() :].strip()
        if field not in FIELDS:
            raise ValueError(
                f"rule {written!r}: unknown field {prefix.group(1)!r} (fields: {', '.join(FIELDS)}; "
                f"to match text with a colon, name the field first, e.g. title:{written})"
            )
        if not pattern:
            raise ValueError(f"rule {written!r}: nothing to match after {prefix.group(0)!r}")
    return Rule(written, field, _compile(written, pattern))


def decide(filters: Filters, fields: EntryFields) -> Decision:
    """The decision with every field known (an absent field matches nothing)."""
    decision = _evaluate(filters, fields, frozenset())
    assert decision is not None  # nothing unknown: always decided
    return decision


def before_fetch(filters: Filters, fields: EntryFields) -> Decision | None:
    """Phase 1, on the feed's fields (``fields.body`` is ignored): the decision, or None when only the
    article's text can settle it."""
    return _evaluate(filters, fields, frozenset({"body"}))


def after_extraction(filters: Filters, fields: EntryFields) -> Decision:
    """Phase 2, on every field, the article's text included: the rules exactly as written."""
    decision = _evaluate(filters, fields, frozenset())
    assert decision is not None, "with every field known there is always a decision"
    return decision


def _evaluate(filters: Filters, fields: EntryFields, unknown: frozenset[str]) -> Decision | None:
    """Block if a block rule matches; else keep if there are no keep rules or one matches; else block.
    None when a rule reading an ``unknown`` field could still change that."""
    block_open = False
    for rule in filters.block:
        matched = _match(rule, fields, unknown)
        if matched:
            return Decision(False, rule)
        block_open = block_open or matched is None
    if not filters.keep:
        return None if block_open else Decision(True)
    keep_open = False
    for rule in filters.keep:
        matched = _match(rule, fields, unknown)
        if matched:
            return None if block_open else Decision(True, rule)
        keep_open = keep_open or matched is None
    return None if keep_open else Decision(False)


def _match(rule: Rule, fields: EntryFields, unknown: frozenset[str]) -> bool | None:
    """True when the rule matches a known field; None when it does not but reads an unknown one."""
    search = rule.pattern.search
    if any(search(value) for field in rule.fields if field not in unknown for value in fields.values(field)):
        return True
    return None if any(field in unknown for field in rule.fields) else False


def _compile(written: str, pattern: str) -> re.Pattern[str]:
    if pattern.startswith("/"):
        regex = _REGEX.match(pattern)
        if regex is None:
            raise ValueError(f"rule {written!r}: a regular expression is written /pattern/ (no closing /)")
        flags = re.IGNORECASE
        for letter in regex.group("flags"):
            if letter not in _FLAGS:
                raise ValueError(
                    f"rule {written!r}: unknown flag {letter!r} after the regular expression "
                    "(c: case-sensitive, i: case-insensitive, the default)"
                )
            flags = _FLAGS[letter]
        if not regex.group("pattern"):
            raise ValueError(f"rule {written!r}: the regular expression is empty")
        try:
            return re.compile(regex.group("pattern"), flags)
        except re.error as exc:
            raise ValueError(f"rule {written!r}: not a valid regular expression: {exc}") from None
    words = pattern.split()
    # Whole words: not preceded or followed by a word character (\b fails around "C++" or "#tag").
    return re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)", re.IGNORECASE)


def _rules(kind: str, texts: Iterable[str]) -> tuple[Rule, ...]:
    rules = []
    for text in texts:
        if not isinstance(text, str):
            raise ValueError(f"{kind} rules are strings, got {text!r}")
        rules.append(parse_rule(text))
    return tuple(rules)


@functools.lru_cache(maxsize=256)
def _from_json(text: str) -> Filters:
    # Cached: every entry of a filtered source reads the same text; compiling it once is enough.
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"filters are not JSON: {exc}") from None
    if not isinstance(data, dict) or not set(data) <= {"keep", "block"}:
        raise ValueError('filters are a JSON object {"keep": [...], "block": [...]}')
    keep, block = data.get("keep") or [], data.get("block") or []
    if not isinstance(keep, list) or not isinstance(block, list):
        raise ValueError("keep and block are lists of rules")
    return Filters.parse(keep, block)
