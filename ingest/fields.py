"""What an entry's fields may hold once parsed: storable, bounded text and plausible dates.

Feeds are untrusted: a title can be a megabyte, a GUID can hold NUL (which PostgreSQL refuses in
text), a date can be the year 1 or 9999. Both feed adapters (feedparser's and JSON Feed's) pass
every field through here, so what reaches the database is the same whatever the format.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

SHORT_FIELD = 1000  # characters kept of a title, an author, a GUID
LONG_FIELD = 1_000_000  # of an entry's summary or content
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_field(value: object, limit: int) -> str | None:
    """Control characters (NUL among them) dropped, surrounding space stripped, at most ``limit``
    characters; None when nothing is left."""
    if value is None:
        return None
    text = _CONTROL.sub("", str(value)).strip()[:limit].strip()
    return text or None


def plausible(moment: datetime | None) -> datetime | None:
    """A feed's date, unless it is absurd: before 1990, or more than a day ahead of now."""
    if moment is None or moment < EARLIEST or moment > datetime.now(UTC) + timedelta(days=1):
        return None
    return moment


MAX_CATEGORIES = 50  # of one entry: enough for any real feed, bounded for a hostile one


def clean_categories(values: object) -> tuple[str, ...]:
    """An entry's categories, each cleaned and once (case aside), from a list of names (JSON Feed
    ``tags``) or of ``{term, label}`` mappings (feedparser's ``tags``: both kept when they differ)."""
    if not isinstance(values, list):
        return ()
    found: dict[str, str] = {}
    for value in values:
        names = (value.get("term"), value.get("label")) if isinstance(value, dict) else (value,)
        for name in names:
            text = clean_field(name, SHORT_FIELD) if isinstance(name, str) else None
            if text is not None:
                found.setdefault(text.casefold(), text)
    return tuple(found.values())[:MAX_CATEGORIES]
