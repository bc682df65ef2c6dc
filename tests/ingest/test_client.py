"""The HTTP client against a real server on loopback: guard, redirects, deadline, caps, validators."""

from __future__ import annotations

import asyncio
import ipaddress
import sys
import time

import pytest

from ingest.client import HttpClient, embedded_ipv4, is_allowed, is_public, retry_after
from ingest.errors import BlockedError, FetchError, HTTPStatusError
from ingest.settings import FetchSettings
from tests.support.server import LoopbackServer, Route

LOOPBACK = FetchSettings(allow_networks=("127.0.0.0/8",), timeout=3.0)  # type: ignore[arg-type]


def _get(settings: FetchSettings, url: str, max_bytes: int = 1 << 20, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        async with HttpClient(settings) as client:
            return await client.get(url, max_bytes=max_bytes, headers=headers)

    return asyncio.run(go())


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
     "224.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "2002:7f00:1::", "64:ff9b::a9fe:a9fe",
     "2001:0:4136:e378:8000:63bf:f5ff:fffe"],
)  # fmt: skip
def test_private_and_special_addresses_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


def test_public_addresses_and_the_allow_list() -> None:
    assert is_public(ipaddress.ip_address("93.184.216.34"))
    assert is_public(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"))
    loopback = ipaddress.ip_address("127.0.0.5")
    assert is_allowed(loopback, [ipaddress.ip_network("127.0.0.0/8")])
    assert not is_allowed(loopback, [ipaddress.ip_network("10.0.0.0/8")])
    assert embedded_ipv4(ipaddress.ip_address("::ffff:10.0.0.1")) == [ipaddress.ip_address("10.0.0.1")]


def test_loopback_is_refused_unless_allowed(server: LoopbackServer) -> None:
    url = server.add("/feed", Route(b"<rss/>"))
    with pytest.raises(BlockedError) as raised:
        _get(FetchSettings(), url)
    assert raised.value.code == "fetch.blocked_address"
    assert server.hits["/feed"] == 0
    assert _get(LOOPBACK, url).body == b"<rss/>"


def test_redirect_to_a_forbidden_address_is_refused_hop_by_hop(server: LoopbackServer) -> None:
    other = LoopbackServer("127.0.0.2").start()
    try:
        target = other.add("/internal", Route(b"secret"))
        start = server.add("/hop", Route(status=302, location=target))
        only_first = FetchSettings(allow_networks=("127.0.0.1/32",), timeout=3.0)  # type: ignore[arg-type]
        with pytest.raises(BlockedError):
            _get(only_first, start)
        assert other.hits["/internal"] == 0
    finally:
        other.stop()


def test_redirects_are_followed_and_recorded(server: LoopbackServer) -> None:
    final = server.add("/final", Route(b"done"))
    server.add("/b", Route(status=302, location="/final"))
    start = server.add("/a", Route(status=301, location=server.url("/b")))
    response = _get(LOOPBACK, start)
    assert response.body == b"done"
    assert response.final_url == final
    assert [(r.status, r.target) for r in response.redirects] == [(301, server.url("/b")), (302, final)]


def test_redirect_loops_and_file_urls_are_refused(server: LoopbackServer) -> None:
    loop = server.add("/loop", Route(status=302, location="/loop"))
    with pytest.raises(FetchError) as raised:
        _get(LOOPBACK, loop)
    assert raised.value.code == "fetch.too_many_redirects"
    to_file = server.add("/file", Route(status=302, location="file:///etc/passwd"))
    with pytest.raises(BlockedError) as raised_file:
        _get(LOOPBACK, to_file)
    assert raised_file.value.code == "fetch.bad_scheme"


def test_total_deadline_holds_against_a_slow_server(server: LoopbackServer) -> None:
    url = server.add("/slow", Route(b"late", delay=2.0))
    quick = FetchSettings(allow_networks=("127.0.0.0/8",), timeout=0.5)  # type: ignore[arg-type]
    started = time.monotonic()
    with pytest.raises(FetchError) as raised:
        _get(quick, url)
    assert raised.value.code == "fetch.timeout"
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_compressed_bodies_are_decoded_and_capped(server: LoopbackServer, encoding: str) -> None:
    body = b"<p>" + b"word " * 10_000 + b"</p>"
    url = server.add(f"/{encoding}", Route(body, encoding=encoding))
    assert _get(LOOPBACK, url).body == body
    with pytest.raises(FetchError) as raised:
        _get(LOOPBACK, url, max_bytes=20_000)
    assert raised.value.code == "fetch.too_large"


def test_declared_length_over_the_cap_is_refused_before_reading(server: LoopbackServer) -> None:
    url = server.add("/big", Route(b"x" * 50_000))
    with pytest.raises(FetchError, match="larger than the limit"):
        _get(LOOPBACK, url, max_bytes=1000)


def test_status_errors_carry_retry_after(server: LoopbackServer) -> None:
    url = server.add("/busy", Route(b"", status=503, headers={"Retry-After": "120"}))
    with pytest.raises(HTTPStatusError) as raised:
        _get(LOOPBACK, url)
    assert raised.value.code == "http.503"
    assert raised.value.retry_after == 120.0


def test_user_agent_and_encodings_are_announced(server: LoopbackServer) -> None:
    url = server.add("/ua", Route(b"ok"))
    _get(FetchSettings(allow_networks=("127.0.0.0/8",), user_agent="ingest-test/1 (+https://x.example)"), url)  # type: ignore[arg-type]
    seen = server.requests_to("/ua")[0].headers
    assert seen["user-agent"] == "ingest-test/1 (+https://x.example)"
    assert "br" in seen["accept-encoding"] and "gzip" in seen["accept-encoding"]


def test_retry_after_forms() -> None:
    assert retry_after({"retry-after": "30"}) == 30.0
    assert retry_after({"retry-after": "99999999"}) == 86400.0
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412400.0) == 80.0
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({}) is None


def test_connection_refused_is_a_fetch_error() -> None:
    with pytest.raises(FetchError) as raised:
        _get(LOOPBACK, "http://127.0.0.1:9/nothing-listens-here")
    assert raised.value.code == "fetch.connect"


class _ImportWatch:
    """A finder that records every module Python had to look for on disk."""

    def __init__(self) -> None:
        self.searched: list[str] = []

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        self.searched.append(name)


def test_requests_do_not_search_the_disk_for_modules(server: LoopbackServer) -> None:
    """httpcore asks for sniffio on each request's locks: a module that is not installed was looked
    for on disk every time (a tenth of the main process's CPU in a large run)."""
    url = server.add("/page", Route(b"<p>page</p>" * 100))

    async def fetch_many() -> None:
        async with HttpClient(LOOPBACK) as client:
            await client.get(url, max_bytes=1 << 20)  # the first request may import what it needs
            watch = _ImportWatch()
            sys.meta_path.insert(0, watch)
            try:
                for _ in range(5):
                    await client.get(url, max_bytes=1 << 20)
            finally:
                sys.meta_path.remove(watch)
            assert watch.searched == []

    asyncio.run(fetch_many())
