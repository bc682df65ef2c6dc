"""The enclosure aggregate: an article's media files (podcast episodes, videos), one row per file.

An entry's enclosures travel on its sighting as a JSON list (each item with its ``url_key``, the
digest of the canonical URL, computed where the entry was parsed) and are copied to the article in
the transaction that keeps the entry. Insert-or-ignore on (article, url_key): an article seen
through several sources holds each file once. The file itself is downloaded later, and only for
sources that ask; a failed download records its reason and never touches the article.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from storage import core
from storage.tables import Enclosure, Sighting
from storage.upsert import insert_ignore, table_of

# What a sighting's JSON may set on an enclosure row, with the types each accepts.
_FIELDS: dict[str, tuple[type, ...]] = {
    "url": (str,),
    "url_key": (str,),
    "media_type": (str,),
    "length": (int,),
    "title": (str,),
    "duration_s": (int, float),
    "episode": (int,),
    "season": (int,),
    "image": (str,),
}


@dataclass(frozen=True, slots=True)
class EnclosureView:
    """An enclosure as the export shows it."""

    url: str
    media_type: str | None
    length: int | None
    title: str | None
    duration_s: float | None
    episode: int | None
    season: int | None
    image: str | None
    downloaded_at: datetime | None
    download_error: str | None


@dataclass(frozen=True, slots=True)
class ToDownload:
    id: int
    url: str
    url_key: str


_S = table_of(Sighting)
_E = table_of(Enclosure)
_OF_SIGHTING = sa_select(_S.c.enclosures).where(_S.c.id == bindparam("sighting_id"))


def decode(data: str | None) -> list[dict[str, Any]]:
    """A sighting's enclosures as rows; whatever is not a well-formed item is left out."""
    if not data:
        return []
    try:
        items = json.loads(data)
    except ValueError:
        return []
    rows = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            continue
        if not isinstance(item.get("url_key"), str):
            continue
        row: dict[str, Any] = {}
        for name, kinds in _FIELDS.items():
            value = item.get(name)
            row[name] = value if isinstance(value, kinds) and not isinstance(value, bool) else None
        rows.append(row)
    return rows


def of_sighting(session: Session, sighting_id: int) -> str | None:
    """The enclosures JSON an entry carries."""
    found = core.run(session, _OF_SIGHTING, {"sighting_id": sighting_id}).scalar()
    return str(found) if found is not None else None


def store(session: Session, article_id: int, data: str | None) -> int:
    """Give the article the enclosures of ``data`` (a sighting's JSON) it does not hold yet;
    returns how many were added."""
    rows = [{**row, "article_id": article_id} for row in decode(data)]
    return insert_ignore(session, Enclosure, rows)


def attach(session: Session, sighting_id: int, article_id: int) -> int:
    """Give the article the enclosures of the entry that resolved to it (same transaction)."""
    return store(session, article_id, of_sighting(session, sighting_id))


def views_of(session: Session, article_ids: Sequence[int]) -> dict[int, list[EnclosureView]]:
    """The enclosures of these articles, one query (a batch of the export, not one per article)."""
    if not article_ids:
        return {}
    query = (
        sa_select(
            _E.c.article_id,
            _E.c.url,
            _E.c.media_type,
            _E.c.length,
            _E.c.title,
            _E.c.duration_s,
            _E.c.episode,
            _E.c.season,
            _E.c.image,
            _E.c.downloaded_at,
            _E.c.download_error,
        )
        .where(_E.c.article_id.in_(list(article_ids)))
        .order_by(_E.c.article_id, _E.c.id)
    )
    views: dict[int, list[EnclosureView]] = {}
    for article_id, *fields in session.connection().execute(query).all():
        views.setdefault(article_id, []).append(EnclosureView(*fields))
    return views


def to_download(session: Session, article_id: int, url_keys: Sequence[str]) -> list[ToDownload]:
    """The article's enclosures among ``url_keys`` not downloaded yet (a failed one is tried again)."""
    if not url_keys:
        return []
    query = (
        sa_select(_E.c.id, _E.c.url, _E.c.url_key)
        .where(
            _E.c.article_id == article_id,
            _E.c.url_key.in_(list(url_keys)),
            _E.c.downloaded_at.is_(None),
        )
        .order_by(_E.c.id)
    )
    return [ToDownload(i, url, key) for i, url, key in session.connection().execute(query).all()]


def is_downloaded(session: Session, enclosure_id: int) -> bool:
    query = sa_select(_E.c.downloaded_at).where(_E.c.id == enclosure_id)
    return session.connection().execute(query).scalar() is not None


def record_download(session: Session, enclosure_id: int, body: bytes, now: datetime) -> None:
    session.execute(
        update(Enclosure)
        .where(col(Enclosure.id) == enclosure_id)
        .values(body=body, downloaded_at=now, download_error=None)
    )


def record_failure(session: Session, enclosure_id: int, error: str) -> None:
    session.execute(
        update(Enclosure)
        .where(col(Enclosure.id) == enclosure_id, col(Enclosure.downloaded_at).is_(None))
        .values(download_error=error[:2000])
    )
