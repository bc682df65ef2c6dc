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
