"""Reprocess: articles rebuilt from stored pages, offline, ids kept, changes counted."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import col, select

from ingest.durations import parse_since
from ingest.models import Vocabulary
from ingest.opening import open_database
from ingest.pipeline import Pipeline
from ingest.reprocess import reprocess
from storage.tables import Article
from tests.conftest import make_settings

PAGE = """<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8"><title>De brug gaat dicht | Het Dorpsblad</title>
<meta property="og:site_name" content="Het Dorpsblad"></head><body><nav><a href="/">Home</a></nav><article>
<h1>De brug gaat dicht</h1>
<p>De oude brug over de rivier gaat vanaf maandag zes weken dicht voor groot onderhoud, heeft de gemeente laten weten.</p>
<p>Zie ook: NIEUWE FIETSROUTE LANGS DE DIJK GEOPEND</p>
<p>Fietsers en voetgangers kunnen in die periode gebruikmaken van een pont die elk kwartier vaart tussen beide oevers.</p>
<p>Het verkeer wordt omgeleid via de ringweg; de gemeente verwacht vooral in de ochtendspits enige vertraging.</p>
</article><footer>© Het Dorpsblad</footer></body></html>"""


def test_new_rules_reach_stored_articles_without_the_network(tmp_path: Path, db_url: str) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "brug.html").write_text(PAGE, encoding="utf-8")
    settings = make_settings(db_url, [{"name": "docs", "path": str(docs)}])
    db = open_database(settings)
    try:
        asyncio.run(Pipeline(settings, db, processes=0).run_once())
        with db.read() as session:
            (before,) = session.exec(select(Article)).all()
        assert "Zie ook" in before.text  # not a label the built-in tables know
        (docs / "brug.html").unlink()  # rebuilt from the stored raw page, not from the file

        same = asyncio.run(reprocess(db, 0, Vocabulary(), None, ()))
        assert (same.examined, same.changed, same.unchanged, same.failed) == (1, 0, 1, 0)

        taught = asyncio.run(reprocess(db, 0, Vocabulary(related_labels=("zie ook",)), None, ("docs",)))
        assert (taught.examined, taught.changed, taught.failed) == (1, 1, 0)
        with db.read() as session:
            (after,) = session.exec(select(Article).order_by(col(Article.id))).all()
        assert after.id == before.id and "Zie ook" not in after.text and "Zie ook" not in (after.html or "")
        assert after.content_hash != before.content_hash and after.updated_at > before.updated_at

        other_source = asyncio.run(reprocess(db, 0, Vocabulary(), None, ("nothing-here",)))
        assert other_source.examined == 0
        later = asyncio.run(reprocess(db, 0, Vocabulary(), parse_since("2999-01-01"), ()))
        assert later.examined == 0
    finally:
        db.close()


def test_since_accepts_dates_and_durations() -> None:
    assert parse_since("2024-05-01").isoformat() == "2024-05-01T00:00:00+00:00"
    assert parse_since("2024-05-01T10:00:00+02:00").isoformat() == "2024-05-01T10:00:00+02:00"
    assert round((parse_since("1d") - parse_since("2d")).total_seconds()) == 86400
