"""The internet attacks the service. Each case is a real ``ingest run-once`` in a subprocess, against
an adversarial server on 127.0.0.1, beside a well-behaved source: the attack is refused with the
right error code, the good source is ingested all the same, the run ends within the request
deadline plus a second, and the whole process (extraction in a thread: one process to measure)
peaks under 300 MB.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import brotli
import pytest

from tests.conftest import ROOT
from tests.support.server import LoopbackServer, Route

DEADLINE = 3.0  # fetch.timeout of these runs
PEAK_MB = 300
GIB = 1 << 30
WORDS = " ".join(f"plainword{i}" for i in range(160))
GOOD_PAGE = f"<html><head><title>Good news</title></head><body><article><h1>Good news</h1><p>{WORDS}.</p><p>The end of the good story.</p></article></body></html>"


def rss(items: str) -> bytes:
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>/</link><description>d</description>{items}</channel></rss>'.encode()


@dataclass
class Outcome:
    returncode: int
    summary: dict[str, Any]
    stderr: str
    peak_mb: float
    sources: dict[str, dict[str, Any]]
    database: Path

    def entry_errors(self) -> list[str]:
        with sqlite3.connect(self.database) as connection:
            return [
                row[0]
                for row in connection.execute("SELECT last_error_code FROM sighting WHERE state = 'failed'")
            ]

    def article_text(self) -> str:
        with sqlite3.connect(self.database) as connection:
            return " ".join(
                f"{t} {h}"
                for t, h in connection.execute("SELECT coalesce(text, ''), coalesce(html, '') FROM article")
            )


@pytest.fixture
def site(server: LoopbackServer) -> LoopbackServer:
    server.add(
        "/good.xml",
        Route(
            rss("<item><title>Good news</title><link>/good.html</link><guid>g1</guid></item>"),
            content_type="application/rss+xml",
        ),
    )
    server.add("/good.html", Route(GOOD_PAGE.encode()))
    return server


def attack(
    tmp_path: Path, site: LoopbackServer, hostile: str, full_text: bool = True, extra: str = ""
) -> Outcome:
    """Run ingest over the hostile source (a path on the server) and the good one."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    database = tmp_path / "ingest.db"
    config = tmp_path / "ingest.toml"
    config.write_text(
        f'database_url = "sqlite:///{database}"\nworkers = 0\n'
        f'[fetch]\nallow_networks = ["127.0.0.1/32"]\ntimeout = "{DEADLINE}s"\nrespect_robots_txt = false\nper_host_delay = 0\n{extra}\n'
        f'[[sources]]\nname = "hostile"\nurl = "{site.url(hostile)}"\nfull_text = {str(full_text).lower()}\n'
        f'[[sources]]\nname = "good"\nurl = "{site.url("/good.xml")}"\n'
    )
    report = tmp_path / "peak.txt"
    run = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "support" / "measure.py"), str(report),
         sys.executable, "-m", "ingest", "run-once", "--json", "--workers", "0", "--config", str(config)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert lines, run.stderr[-3000:]
    listed = subprocess.run(
        [sys.executable, "-m", "ingest", "sources", "list", "--json", "--config", str(config)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    outcome = Outcome(
        run.returncode, lines[0], run.stderr, int(report.read_text()) / 1024,
        {row["name"]: row for row in json.loads(listed.stdout)}, database,
    )  # fmt: skip
    # Shown with `pytest -s tests/test_hostile.py`: the figures of each attack.
    print(f"\n[hostile] {hostile}: run {outcome.summary['duration_s']:.2f}s, peak {outcome.peak_mb:.0f} MB, "
          f"hostile source: {outcome.sources['hostile']['last_error_code']}")  # fmt: skip
    assert outcome.sources["good"]["state"] == "ok", "the good source must be ingested all the same"
    assert outcome.summary["articles_new"] >= 1
    assert outcome.summary["duration_s"] < DEADLINE + 1, f"took {outcome.summary['duration_s']}s"
    assert outcome.peak_mb < PEAK_MB, f"peaked at {outcome.peak_mb:.0f} MB"
    return outcome


def _source_error(outcome: Outcome) -> str:
    return str(outcome.sources["hostile"]["last_error_code"])


# -- compression bombs and endless bodies ---------------------------------------------------------


def _zeros(total: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    block = b"\0" * chunk
    for _ in range(total // chunk):
        yield block


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    """1 GiB of zeros, compressed: a megabyte or so on the wire each."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    gzipped = b"".join(deflate.compress(block) for block in _zeros(GIB)) + deflate.flush()
    squeezer = brotli.Compressor(quality=5)
    brotlied = b"".join(squeezer.process(block) for block in _zeros(GIB)) + squeezer.finish()
    return {"gzip": gzipped, "br": brotlied, "gzip, gzip": gzip.compress(gzipped)}


@pytest.mark.parametrize("encoding", ["gzip", "br", "gzip, gzip"])
def test_compression_bombs_are_refused_without_inflating(
    tmp_path: Path, site: LoopbackServer, bombs: dict[str, bytes], encoding: str
) -> None:
    site.add(
        "/bomb.xml",
        Route(bombs[encoding], content_type="application/rss+xml", headers={"Content-Encoding": encoding}),
    )
    outcome = attack(tmp_path, site, "/bomb.xml")
    assert _source_error(outcome) == ("fetch.bad_encoding" if "," in encoding else "fetch.too_large")


def test_an_endless_body_without_length_is_cut_at_the_cap(tmp_path: Path, site: LoopbackServer) -> None:
    site.add("/endless.xml", Route(content_type="application/rss+xml", stream=lambda: _zeros(GIB, 1 << 16)))
    outcome = attack(tmp_path, site, "/endless.xml")
    assert _source_error(outcome) == "fetch.too_large"


def test_a_declared_length_over_the_cap_is_refused_before_reading(
    tmp_path: Path, site: LoopbackServer
) -> None:
    site.add(
        "/huge.xml",
        Route(
            content_type="application/rss+xml",
            headers={"Content-Length": str(GIB)},
            stream=lambda: _zeros(GIB, 1 << 16),
        ),
    )
    assert _source_error(attack(tmp_path, site, "/huge.xml")) == "fetch.too_large"


def test_a_trickling_server_meets_the_total_deadline(tmp_path: Path, site: LoopbackServer) -> None:
    def trickle() -> Iterator[bytes]:
        yield b'<?xml version="1.0"?><rss version="2.0"><channel>'
        for _ in range(240):  # a byte every half second: two minutes
            time.sleep(0.5)
            yield b" "

    site.add("/trickle.xml", Route(content_type="application/rss+xml", stream=trickle))
    outcome = attack(tmp_path, site, "/trickle.xml")
    assert _source_error(outcome) == "fetch.timeout"


# -- where requests may go -------------------------------------------------------------------------


@pytest.fixture
def internal() -> Iterator[LoopbackServer]:
    """A service on another loopback address, not allow-listed: it must never be reached."""
    other = LoopbackServer("127.0.0.2").start()
    other.add("/secret", Route(b"<rss><channel><item><title>secret</title></item></channel></rss>"))
    other.add("/ext.dtd", Route(b'<!ENTITY x "external">'))
    yield other
    other.stop()


def test_redirects_to_internal_addresses_and_files_are_refused(
    tmp_path: Path, site: LoopbackServer, internal: LoopbackServer
) -> None:
    site.add("/to-internal.xml", Route(status=302, location=internal.url("/secret")))
    assert _source_error(attack(tmp_path / "a", site, "/to-internal.xml")) == "fetch.blocked_address"
    site.add("/to-file.xml", Route(status=302, location="file:///etc/passwd"))
    assert _source_error(attack(tmp_path / "b", site, "/to-file.xml")) == "fetch.bad_scheme"
    site.add("/loop.xml", Route(status=302, location="/loop.xml"))
    assert _source_error(attack(tmp_path / "c", site, "/loop.xml")) == "fetch.too_many_redirects"
    assert internal.hits["/secret"] == 0


def test_items_linking_to_internal_services_are_refused(
    tmp_path: Path, site: LoopbackServer, internal: LoopbackServer
) -> None:
    site.add("/internal-links.xml", Route(rss(
        f"<item><title>One</title><link>{internal.url('/secret')}</link><guid>1</guid></item>"
        "<item><title>Two</title><link>http://169.254.169.254/latest/meta-data/</link><guid>2</guid></item>"
        "<item><title>Three</title><link>http://[::ffff:127.0.0.2]/secret</link><guid>3</guid></item>"
        "<item><title>Four</title><link>http://0x7f000002/secret</link><guid>4</guid></item>"
    ), content_type="application/rss+xml"))  # fmt: skip
    outcome = attack(tmp_path, site, "/internal-links.xml")
    assert sorted(outcome.entry_errors()) == ["fetch.blocked_address"] * 4
    assert internal.hits["/secret"] == 0


# -- XML that attacks the parser -------------------------------------------------------------------

LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    + ']><rss version="2.0"><channel><title>&lol9;</title><link>/</link><description>d</description>'
    "<item><title>&lol9;</title><link>/good.html</link><guid>laughs</guid></item></channel></rss>"
)
BLOWUP = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY big "' + "x" * 100_000 + '">]><rss version="2.0"><channel>'
    "<title>t</title><link>/</link><description>d</description><item><title>q</title><guid>blowup</guid>"
    "<description>" + "&big;" * 20_000 + "</description></item></channel></rss>"
)


def test_entity_bombs_do_not_expand(tmp_path: Path, site: LoopbackServer) -> None:
    site.add("/laughs.xml", Route(LAUGHS.encode(), content_type="application/rss+xml"))
    attack(tmp_path / "a", site, "/laughs.xml")
    site.add("/blowup.xml", Route(BLOWUP.encode(), content_type="application/rss+xml"))
    outcome = attack(tmp_path / "b", site, "/blowup.xml", full_text=False)
    assert "x" * 1000 not in outcome.article_text()


def test_external_entities_are_never_fetched_or_read(
    tmp_path: Path, site: LoopbackServer, internal: LoopbackServer
) -> None:
    document = (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY passwd SYSTEM "file:///etc/passwd">'
        f'<!ENTITY remote SYSTEM "{internal.url("/ext.dtd")}"><!ENTITY % dtd SYSTEM "{internal.url("/ext.dtd")}"> %dtd;]>'
        '<rss version="2.0"><channel><title>t</title><link>/</link><description>d</description>'
        "<item><title>Leak</title><guid>leak</guid><description>before &passwd; &remote; after "
        f"{WORDS}</description></item></channel></rss>"
    )
    site.add("/external.xml", Route(document.encode(), content_type="application/rss+xml"))
    outcome = attack(tmp_path, site, "/external.xml", full_text=False)
    assert "root:" not in outcome.article_text()
    assert internal.hits["/ext.dtd"] == 0


# -- content that attacks whoever reads the output --------------------------------------------------

XSS = (
    '<p onmouseover="steal()">Hello</p><script>alert(1)</script><a href="javascript:alert(2)">a</a>'
    '<a href="&#106;avascript:alert(3)">b</a><a href="jav&#x09;ascript:alert(4)">c</a>'
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCg1KTwvc2NyaXB0Pg==">d</a><img src=x onerror="alert(6)">'
    '<iframe src="https://evil.example/"></iframe><svg onload="alert(7)"></svg>'
    '<div style="background:url(javascript:alert(8))">e</div><form action="https://evil.example/"><input></form>'
)


def test_scripts_in_feed_content_are_never_stored_executable(tmp_path: Path, site: LoopbackServer) -> None:
    item = f"<item><title>XSS</title><guid>x</guid><link>javascript:alert(9)</link><description><![CDATA[{XSS}<p>{WORDS}</p>]]></description></item>"
    site.add("/xss.xml", Route(rss(item), content_type="application/rss+xml"))
    outcome = attack(tmp_path, site, "/xss.xml", full_text=False)
    stored = outcome.article_text().lower()
    assert "plainword159" in stored
    for bad in (
        "javascript",
        "alert(",
        "onmouseover",
        "onerror",
        "onload",
        "<script",
        "<iframe",
        "<svg",
        "data:text",
        "<form",
        "style=",
    ):
        assert bad not in stored, bad
    with sqlite3.connect(outcome.database) as connection:
        links = [
            row[0]
            for row in connection.execute(
                "SELECT link FROM sighting UNION SELECT url FROM article UNION SELECT canonical_url FROM article"
            )
        ]
    assert all(not link or link.startswith(("http://", "https://")) for link in links), links


# -- bad data: never a crash, never lost work -------------------------------------------------------


def test_malformed_data_is_an_error_with_a_reason_or_is_stored_cleaned(
    tmp_path: Path, site: LoopbackServer
) -> None:
    huge_title = "Title " * 200_000
    items = (
        f"<item><title>{huge_title}</title><guid>huge</guid><description>{WORDS} huge</description></item>"
        "<item><title>Nul\x01 and\x0b controls</title><guid>ctl\x01</guid><description>Text with \x01 control \x1f characters. "
        f"{WORDS}</description></item>"
        f"<item><title>Ancient</title><guid>old</guid><pubDate>Mon, 01 Jan 0001 00:00:00 GMT</pubDate><description>{WORDS} old</description></item>"
        f"<item><title>Far future</title><guid>future</guid><pubDate>Fri, 31 Dec 9999 23:59:59 GMT</pubDate><description>{WORDS} future</description></item>"
        "<item><title>Empty</title><guid>empty</guid><description></description></item>"
        f"<item><title>Twin A</title><guid>twin</guid><description>{WORDS} twin a</description></item>"
        f"<item><title>Twin B</title><guid>twin</guid><description>{WORDS} twin b</description></item>"
    )
    site.add("/bad.xml", Route(rss(items), content_type="application/rss+xml; charset=utf-8"))
    outcome = attack(tmp_path, site, "/bad.xml", full_text=False)
    assert outcome.returncode == 1  # the empty entry failed; everything else was stored
    assert outcome.entry_errors() == ["extract.empty"]
    with sqlite3.connect(outcome.database) as connection:
        titles = [row[0] for row in connection.execute("SELECT title FROM article")]
        feed_titles = [row[0] or "" for row in connection.execute("SELECT feed_title FROM sighting")]
        dates = [
            row[0]
            for row in connection.execute("SELECT published_at FROM sighting WHERE guid IN ('old', 'future')")
        ]
    assert max(len(t) for t in feed_titles) <= 1000 and all(len(t or "") <= 300 for t in titles)
    assert not any(ch in "".join(feed_titles) for ch in "\x01\x0b")
    assert dates == [None, None]
    with sqlite3.connect(outcome.database) as connection:
        stored = connection.execute(
            "SELECT count(*) FROM sighting WHERE state = 'done' AND article_id IS NOT NULL"
        ).fetchone()
    assert stored == (7,)  # the five other entries (both twins: kept apart, not one lost), the good one
