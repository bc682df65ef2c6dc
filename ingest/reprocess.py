"""``ingest reprocess``: rebuild stored articles with the current extractor and normaliser, offline.

Each article is rebuilt from its stored raw page (or, for articles that came from the feed, from the
feed data kept with its first sighting), with the same job the pipeline runs. Ids stay; the report
says how many articles a reader would see changed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import structlog
from sqlmodel import Session

from ingest.cpu import DEFAULT_JOB_TIMEOUT, CpuPool
from ingest.errors import IngestError
from ingest.jobs import article_job
from ingest.models import ArticleDraft, EntryHints, Page, Vocabulary
from ingest.store import Store
from storage import near, rebuild
from storage.db import Database
from storage.rebuild import RebuildInput

log = structlog.get_logger()
BATCH = 64


@dataclass
class ReprocessReport:
    examined: int = 0
    changed: int = 0
    unchanged: int = 0
    conflicts: int = 0
    failed: int = 0
    skipped: int = 0  # their page was pruned: nothing to rebuild them from
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "duration_s": round(self.duration_s, 3)}


def _page(item: RebuildInput) -> Page | None:
    stored = item.page
    if stored is None:
        return None
    return Page(
        stored.url,
        stored.final_url,
        stored.status,
        stored.content_type,
        stored.body,
        stored.fetched_at,
        stored.headers,
    )


def _hints(item: RebuildInput) -> EntryHints:
    return EntryHints(
        title=item.feed_title,
        author=item.feed_author,
        published_at=item.published_at,
        summary=item.summary,
        content=item.feed_content,
        link=item.link,
        feed_language=item.feed_language,
        first_seen_at=item.first_seen_at,
    )


async def reprocess(
    db: Database,
    processes: int,
    words: Vocabulary,
    since: datetime | None,
    sources: Sequence[str],
    job_timeout: float = DEFAULT_JOB_TIMEOUT,
) -> ReprocessReport:
    report, clock = ReprocessReport(), time.monotonic()
    store, cpu = Store(db), CpuPool(processes, job_timeout)
    try:
        cursor = 0
        while ids := await store.read(
            partial(rebuild.article_ids, since=since, source_names=sources, after_id=cursor, limit=BATCH)
        ):
            items = await store.read(partial(rebuild.inputs, ids=ids))
            report.skipped += sum(not item.rebuildable for item in items)
            report.examined += sum(not item.rebuildable for item in items)
            items = [item for item in items if item.rebuildable]
            drafts = await asyncio.gather(
                *(_rebuild(cpu, item, words) for item in items), return_exceptions=True
            )
            await store.write(partial(_apply, items=items, drafts=drafts, report=report))
            cursor = ids[-1]
    finally:
        cpu.close()
        store.close()
    report.duration_s = time.monotonic() - clock
    log.info("reprocess_finished", **report.as_dict())
    return report


async def _rebuild(cpu: CpuPool, item: RebuildInput, words: Vocabulary) -> ArticleDraft:
    fetched = item.page.fetched_at if item.page else item.first_seen_at or datetime.now(UTC)
    return await cpu.run(article_job, _page(item), _hints(item), item.url, fetched.isoformat(), words)


def _apply(
    session: Session,
    items: Sequence[RebuildInput],
    drafts: Sequence[ArticleDraft | BaseException],
    report: ReprocessReport,
) -> None:
    now = datetime.now(UTC)
    for item, draft in zip(items, drafts, strict=True):
        report.examined += 1
        if isinstance(draft, BaseException):
            report.failed += 1
            code = draft.code if isinstance(draft, IngestError) else f"ingest.internal.{type(draft).__name__}"
            log.warning("reprocess_failed", article_id=item.article_id, error_code=code, error=str(draft))
            continue
        outcome = rebuild.apply(session, item.article_id, asdict(draft), now)
        if outcome != "conflict":  # fingerprints follow the text (and fill in for older articles)
            near.store(session, item.article_id, draft.bands)
        if outcome == "changed":
            report.changed += 1
        elif outcome == "unchanged":
            report.unchanged += 1
        else:
            report.conflicts += 1
            log.warning(
                "reprocess_conflict", article_id=item.article_id, reason="another article holds this text"
            )
