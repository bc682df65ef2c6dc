"""Raw pages: fetched bytes kept compressed so articles can be rebuilt without the network."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session, col

from storage import core
from storage.tables import RawPage


@dataclass(frozen=True, slots=True)
class NewRawPage:
    url: str
    final_url: str
    status: int
    content_type: str | None
    headers: dict[str, str]
    fetched_at: datetime
    body: bytes


_INSERT = insert(RawPage).returning(col(RawPage.id))


def store(session: Session, page: NewRawPage) -> int:
    # Core, not the ORM: one INSERT … RETURNING, without a unit of work around a write-only row.
    row = {
        "url": page.url,
        "final_url": page.final_url,
        "status": page.status,
        "content_type": (page.content_type or None) and page.content_type[:200],
        "headers": json.dumps(page.headers, ensure_ascii=False, sort_keys=True),
        "fetched_at": page.fetched_at,
        "compression": "zlib",
        "size": len(page.body),
        "body": zlib.compress(page.body, 6),
    }
    return int(core.run(session, _INSERT, row).scalar_one())


def body_of(row: RawPage) -> bytes:
    if row.compression == "zlib":
        return zlib.decompress(row.body)
    if row.compression == "none":
        return row.body
    raise ValueError(f"raw page {row.id} uses unknown compression {row.compression!r}")
