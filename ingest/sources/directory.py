"""A directory source: files read as the pipeline would read the web, with no network needed.

``.html`` pages are extracted like fetched pages; ``.txt`` documents are plain-text articles; feed
files (``.xml .rss .atom .rdf .json``) are parsed as feeds, and their entries' links that resolve to
files inside the directory are read from disk (pages linked from a feed are not read twice as loose
pages). Nothing outside the directory is ever read.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

import structlog

from ingest.client import HttpClient
from ingest.cpu import CpuPool
from ingest.dedupe import assign_keys
from ingest.errors import IngestError, SourceError
from ingest.fetch import fetch_page
from ingest.jobs import parse_job
from ingest.models import Entry, Page, RawEntry, Validators
from ingest.robots import RobotsCache
from ingest.sources import Poll

FEED_SUFFIXES = frozenset({".xml", ".rss", ".atom", ".rdf", ".json"})
PAGE_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
TEXT_SUFFIXES = frozenset({".txt"})
log = structlog.get_logger()
_TYPES = {
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html",
    ".htm": "text/html",
    ".xhtml": "application/xhtml+xml",
}


class DirectorySource:
    def __init__(self, root: Path, client: HttpClient, robots: RobotsCache | None, cpu: CpuPool) -> None:
        self.root = root.resolve()
        self._client = client
        self._robots = robots
        self._cpu = cpu

    async def poll(self, known: Validators) -> Poll:
        files = await asyncio.to_thread(self._listing)
        state = _listing_hash(files)
        validators = Validators(body_hash=state)
        if state == known.body_hash:
            return Poll(False, validators)
        feed_entries, linked = await self._read_feeds([f for f in files if f.suffix.lower() in FEED_SUFFIXES])
        loose = [
            RawEntry(guid=None, link=path.as_uri())
            for path in files
            if path.suffix.lower() in PAGE_SUFFIXES | TEXT_SUFFIXES and path not in linked
        ]
        entries = assign_keys(loose) + feed_entries
        return Poll(True, validators, tuple(entries), size=sum(f.stat().st_size for f in files))

    async def load_page(self, link: str) -> Page:
        if link.startswith(("http://", "https://")):
            return await fetch_page(self._client, self._robots, link)
        path = self.local_path(link)
        if path is None:
            raise SourceError("outside_directory", f"{link} is not a file inside {self.root}")
        body = await asyncio.to_thread(self._read, path, self._client.settings.max_page_bytes)
        content_type = _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or ""
        now = self._client.clock.now()
        return Page(
            url=link, final_url=link, status=200, content_type=content_type, body=body, fetched_at=now
        )

    def local_path(self, link: str) -> Path | None:
        """The file a ``file:`` link names, if it lies inside this directory (symlinks resolved)."""
        parts = urlsplit(link)
        if parts.scheme != "file" or parts.netloc not in {"", "localhost"}:
            return None
        path = Path(unquote(parts.path)).resolve()
        return path if path.is_relative_to(self.root) and path.is_file() else None

    async def _read_feeds(self, paths: list[Path]) -> tuple[list[Entry], set[Path]]:
        entries: list[Entry] = []
        linked: set[Path] = set()
        for path in paths:
            try:
                body = await asyncio.to_thread(self._read, path, self._client.settings.max_feed_bytes)
                _feed, found = await self._cpu.run(
                    parse_job, body, path.as_uri(), _TYPES.get(path.suffix.lower())
                )
            except IngestError as exc:
                # One bad file (or an .xml that is a sitemap, a .json that is data) spoils nothing else.
                log.warning("feed_file_skipped", path=str(path), error_code=exc.code, error=exc.message)
                continue
            entries.extend(found)
            linked.update(p for p in (self.local_path(e.link) for e in found if e.link) if p is not None)
        return entries, linked

    def _listing(self) -> list[Path]:
        """Regular files inside the directory; hidden ones and links that lead outside are skipped."""
        if not self.root.is_dir():
            raise SourceError("path_missing", f"{self.root} is not a directory")
        found = []
        for path in self.root.rglob("*"):
            if any(part.startswith(".") for part in path.relative_to(self.root).parts):
                continue
            resolved = path.resolve()
            if resolved.is_file() and resolved.is_relative_to(self.root):
                found.append(path)
        return sorted(found)

    def _read(self, path: Path, limit: int) -> bytes:
        try:
            size = path.stat().st_size
            if size > limit:
                raise SourceError("too_large", f"{path} is {size} bytes, over the limit of {limit}")
            return path.read_bytes()
        except OSError as exc:
            raise SourceError("unreadable", f"cannot read {path}: {exc.strerror or exc}") from None


def _listing_hash(files: list[Path]) -> str:
    """Changes when any file is added, removed, resized or touched."""
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()
