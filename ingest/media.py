"""An entry's media files, once its article is stored: attached to the article, downloaded on request.

The enclosures of an entry kept by :mod:`ingest.keep` reach its article in the same transaction; an
entry attached to a known article without extraction (by link or canonical URL) gets them here.
Then, for a source with ``download_enclosures = true`` only, each file not yet downloaded is fetched
with the service's client (SSRF guard, deadline, ``fetch.max_enclosure_bytes``) and stored; a failure
is recorded on the enclosure with its reason and never fails the entry.
"""

from __future__ import annotations

import structlog

from ingest.errors import IngestError
from ingest.process import Processed
from ingest.runtime import Runtime
from storage import enclosures
from storage.enclosures import ToDownload
from storage.tables import Sighting, Source

log = structlog.get_logger()


async def after_entry(runtime: Runtime, sighting: Sighting, done: Processed, source: Source) -> None:
    """Whatever happens here is logged, never raised: the entry is stored already."""
    try:
        await _after_entry(runtime, sighting, done, source)
    except Exception as exc:  # the database, most likely: the article and the entry stay as stored
        log.warning("enclosures_not_stored", article_id=done.article_id, error=f"{type(exc).__name__}: {exc}")


async def _after_entry(runtime: Runtime, sighting: Sighting, done: Processed, source: Source) -> None:
    data, article_id, store = sighting.enclosures, done.article_id, runtime.store
    if not data:
        return
    if done.extractor is None:  # attached without extraction, so not through keep: add its files here
        await store.write(lambda session: enclosures.store(session, article_id, data))
    if not source.download_enclosures:
        return
    keys = [row["url_key"] for row in enclosures.decode(data)]
    for item in await store.read(lambda session: enclosures.to_download(session, article_id, keys)):
        await download(runtime, item)


async def download(runtime: Runtime, item: ToDownload) -> bool:
    """Fetch one enclosure and store it, or its failure; whether it was stored."""
    store = runtime.store
    # Two entries of one article (two sources) may get here together: the file is fetched once.
    async with runtime.entries.links.hold(f"enclosure\0{item.id}"):
        if await store.read(lambda session: enclosures.is_downloaded(session, item.id)):
            return True
        limit = runtime.settings.fetch.max_enclosure_bytes
        try:
            response = await runtime.client.get(item.url, max_bytes=limit, what="enclosure")
        except IngestError as exc:
            reason = str(exc)
            await store.write(lambda session: enclosures.record_failure(session, item.id, reason))
            log.info("enclosure_failed", url=item.url, error_code=exc.code, error=exc.message)
            return False
        body, now = response.body, runtime.clock.now()
        await store.write(lambda session: enclosures.record_download(session, item.id, body, now))
        log.info("enclosure_downloaded", url=item.url, bytes=len(body))
        return True
