"""`ingest prune`: old raw pages, polls and articles go; their entry keys stay as tombstones."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.ingest.test_cli import ingest, json_lines, write_config
from tests.ingest.test_manage import _feed
from tests.support.server import LoopbackServer


def _age(database: Path, days: int) -> None:
    """Make everything stored look ``days`` old (SQLite stores UTC text)."""
    shift = f"-{days} days"
    with sqlite3.connect(database) as db:
        db.execute("UPDATE raw_page SET fetched_at = datetime(fetched_at, ?)", (shift,))
        db.execute("UPDATE article SET created_at = datetime(created_at, ?)", (shift,))
        db.execute("UPDATE poll SET at = datetime(at, ?)", (shift,))


def _count(database: Path, query: str) -> int:
    with sqlite3.connect(database) as db:
        return int(db.execute(query).fetchone()[0])


def test_prune_raw_pages_then_articles_keeping_tombstones(tmp_path: Path, server: LoopbackServer) -> None:
    url = _feed(server, "/news.xml", "News", items=3)
    config = write_config(tmp_path, f'[[sources]]\nname = "news"\nurl = "{url}"\n')
    database = tmp_path / "ingest.db"
    assert json_lines(ingest("run-once", "--json", "--config", str(config)).stdout)[0]["articles_new"] == 3

    kept = ingest("prune", "--older-than", "90d", "--json", "--config", str(config))
    assert kept.returncode == 0, kept.stderr
    assert json.loads(kept.stdout)["raw_pages"] == 0  # nothing is that old yet

    _age(database, 100)
    pages = ingest("prune", "--older-than", "90d", "--json", "--config", str(config))
    report = json.loads(pages.stdout)
    assert (report["raw_pages"], report["articles"], report["polls"]) == (3, 0, 1)
    assert _count(database, "SELECT count(*) FROM article WHERE raw_page_id IS NULL") == 3

    articles = json.loads(
        ingest("prune", "--older-than", "90d", "--articles", "--json", "--config", str(config)).stdout
    )
    assert (articles["articles"], articles["tombstones"]) == (3, 3)
    assert _count(database, "SELECT count(*) FROM article") == 0
    assert _count(database, "SELECT count(*) FROM sighting WHERE state = 'pruned'") == 3

    # The feed still lists the three entries, now with other words: they are not ingested again.
    server.routes["/news.xml"].body = server.routes["/news.xml"].body.replace(b"story", b"tale")  # type: ignore[union-attr]
    again = json_lines(ingest("run-once", "--json", "--config", str(config)).stdout)[0]
    assert (again["entries_new"], again["articles_new"]) == (0, 0)
    assert _count(database, "SELECT count(*) FROM article") == 0
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_prune_needs_a_positive_period(tmp_path: Path) -> None:
    config = write_config(tmp_path, "")
    bad = ingest("prune", "--older-than", "soon", "--config", str(config))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_reprocess_after_prune_keeps_the_text_it_cannot_rebuild(
    tmp_path: Path, server: LoopbackServer
) -> None:
    url = _feed(server, "/news.xml", "News", items=2)
    config = write_config(tmp_path, f'[[sources]]\nname = "news"\nurl = "{url}"\n')
    database = tmp_path / "ingest.db"
    ingest("run-once", "--config", str(config))
    with sqlite3.connect(database) as db:
        before = db.execute("SELECT id, text FROM article ORDER BY id").fetchall()
    _age(database, 100)
    assert ingest("prune", "--older-than", "90d", "--config", str(config)).returncode == 0
    again = json.loads(ingest("reprocess", "--json", "--config", str(config)).stdout)
    assert (again["skipped"], again["changed"]) == (2, 0)
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT id, text FROM article ORDER BY id").fetchall() == before
