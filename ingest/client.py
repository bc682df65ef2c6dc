"""The HTTP client: httpx with an SSRF guard in the transport, bounded bodies and a total deadline.

- Every connection is made to an address vetted once: the host is resolved, every address must be
  public (or inside ``fetch.allow_networks``), then the socket connects to that vetted address. TLS
  still verifies the host name. Redirects are followed here, hop by hop, through the same guard.
- Bodies are read raw and decoded by :mod:`ingest.decode` under the caller's byte limit.
- ``fetch.timeout`` is the deadline for the whole request: connection, redirects, headers and body.
- Requests in flight are bounded globally and per host.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpcore
import httpx

from ingest import metrics
from ingest.clock import Clock, SystemClock
from ingest.decode import ACCEPT_ENCODING, BoundedBody, TooLarge
from ingest.errors import BlockedError, FetchError, HTTPStatusError
from ingest.hosts import HostGate
from ingest.settings import FetchSettings
from ingest.urls import host_of

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


@dataclass(frozen=True, slots=True)
class Redirect:
    status: int
    source: str
    target: str


@dataclass(frozen=True, slots=True)
class Response:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    redirects: tuple[Redirect, ...] = field(default_factory=tuple)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def embedded_ipv4(address: IPAddress) -> list[IPAddress]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64), to vet them too."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found: list[IPAddress] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def is_public(address: IPAddress) -> bool:
    if not address.is_global or address in _CGNAT:
        return False
    if address.is_multicast or address.is_reserved or address.is_unspecified:
        return False
    return all(is_public(inner) for inner in embedded_ipv4(address))


def is_allowed(address: IPAddress, allow: Iterable[IPNetwork]) -> bool:
    networks = tuple(allow)
    if any(address in network for network in networks):
        return True
    return is_public(address)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves once, refuses non-public addresses, connects to the vetted address."""

    def __init__(self, allow: Iterable[IPNetwork]) -> None:
        self._allow = tuple(allow)
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await self._vetted_address(host, port)
        return await self._inner.connect_tcp(
            str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedError("blocked_address", "unix sockets are never fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)

    async def _vetted_address(self, host: str, port: int) -> IPAddress:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise FetchError("dns", f"cannot resolve {host}: {exc.strerror}") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        refused = [a for a in addresses if not is_allowed(a, self._allow)]
        if not addresses:
            raise BlockedError("blocked_address", f"{host} resolves to no address")
        if refused:
            named = host if host.strip("[]") == str(refused[0]) else f"{host} ({refused[0]})"
            raise BlockedError(
                "blocked_address", f"{named} is not a public address (allow it with fetch.allow_networks)"
            )
        return addresses[0]


class GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, allow: Iterable[IPNetwork], limits: httpx.Limits) -> None:
        super().__init__(trust_env=False, limits=limits)
        # httpx has no parameter for the network backend; the pool is the documented seam of httpcore.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(allow),
        )


class HttpClient:
    def __init__(
        self,
        settings: FetchSettings,
        transport: httpx.AsyncBaseTransport | None = None,
        gate: HostGate | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.gate = gate or HostGate(settings.per_host_concurrency, settings.per_host_delay, self.clock)
        limits = httpx.Limits(
            max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency
        )
        self._client = httpx.AsyncClient(
            transport=transport or GuardedTransport(settings.allow_networks, limits),
            timeout=httpx.Timeout(settings.timeout),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        )
        self._slots = asyncio.Semaphore(settings.concurrency)

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(
        self, url: str, *, max_bytes: int, headers: Mapping[str, str] | None = None, what: str = "body"
    ) -> Response:
        """GET ``url`` following redirects; 2xx and 304 are returned, other statuses raise.

        The deadline covers every hop's connection, headers and body, not the time spent
        waiting for a free slot under the concurrency bounds.
        """
        request_headers = dict(headers or {})
        redirects: list[Redirect] = []
        budget = self.settings.timeout
        current = url
        while True:
            _check_scheme(current)
            # The host's turn first: waiting for it must not hold one of the global slots.
            async with self.gate.request(host_of(current)), self._slots:
                started = time.monotonic()
                status, response_headers, body = await self._one(
                    current, request_headers, max_bytes, what, budget
                )
                budget -= time.monotonic() - started
            if status not in REDIRECT_STATUSES:
                break
            target = _location(current, response_headers)
            if len(redirects) >= self.settings.max_redirects:
                raise FetchError(
                    "too_many_redirects", f"{url} redirected more than {self.settings.max_redirects} times"
                )
            if budget <= 0:
                raise FetchError("timeout", f"{url} took longer than {self.settings.timeout:g}s")
            redirects.append(Redirect(status, current, target))
            if host_of(target) != host_of(current):
                request_headers.pop("If-None-Match", None)
                request_headers.pop("If-Modified-Since", None)
            current = target
        if status == 304 or 200 <= status < 300:
            return Response(url, current, status, response_headers, body, tuple(redirects))
        pause = retry_after(response_headers, self.clock.now().timestamp())
        if pause is not None and status in {429, 503}:
            # The host asked for a pause: it applies to every request to it, feeds and pages.
            self.gate.hold(host_of(current), self.clock.now() + timedelta(seconds=pause))
        raise HTTPStatusError(status, current, pause)

    async def post_form(self, url: str, form: Mapping[str, str], *, what: str = "hub") -> int:
        """POST a form to ``url`` through the same guard, bounds and deadline; the status is
        returned whatever it is (redirects are not followed: a hub must be asked where it is)."""
        _check_scheme(url)
        async with self.gate.request(host_of(url)), self._slots:
            status, _, _ = await self._one(url, {}, 65536, what, self.settings.timeout, form=form)
        return status

    async def _one(
        self,
        url: str,
        headers: dict[str, str],
        max_bytes: int,
        what: str,
        budget: float,
        form: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        started = time.monotonic()
        method = "GET" if form is None else "POST"
        try:
            async with (
                asyncio.timeout(budget),
                self._client.stream(method, url, headers=headers, data=form) as response,
            ):
                response_headers = {k.lower(): v for k, v in response.headers.items()}
                if not 200 <= response.status_code < 300:
                    return response.status_code, response_headers, b""
                body = await _read_bounded(response, max_bytes, f"{what} of {url}")
                return response.status_code, response_headers, body
        except (TimeoutError, httpx.TimeoutException):
            raise FetchError("timeout", f"{url} took longer than {self.settings.timeout:g}s") from None
        except httpx.TransportError as exc:
            raise _transport_error(url, exc) from None
        finally:  # every request counts: 304s, errors and timeouts are what the slow tail is made of
            metrics.fetched(what, time.monotonic() - started)


async def _read_bounded(response: httpx.Response, max_bytes: int, what: str) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(what, max_bytes)
    body = BoundedBody(response.headers.get("content-encoding"), max_bytes, what)
    async for chunk in response.aiter_raw():
        body.feed(chunk)
    return body.finish()


def _check_scheme(url: str) -> None:
    scheme = url.split(":", 1)[0].lower()
    if scheme not in {"http", "https"}:
        raise BlockedError("bad_scheme", f"refusing to fetch {url[:200]}: only http and https are fetched")


def _location(current: str, headers: Mapping[str, str]) -> str:
    location = headers.get("location")
    if not location:
        raise FetchError("bad_redirect", f"{current} redirected without a Location header")
    return str(httpx.URL(current).join(location.strip()))


def _transport_error(url: str, exc: httpx.TransportError) -> FetchError:
    if isinstance(exc, httpx.ConnectError):
        return FetchError("connect", f"cannot connect to {host_of(url)}: {exc}")
    if isinstance(exc, httpx.RemoteProtocolError):
        return FetchError("protocol", f"{url} broke the HTTP protocol: {exc}")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return BlockedError("bad_scheme", f"refusing to fetch {url[:200]}: {exc}")
    return FetchError("network", f"{url}: {type(exc).__name__}: {exc}")


MAX_RETRY_AFTER = 86400.0


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or HTTP-date), clamped to [0, 24 h]."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return min(max(when - (now if now is not None else time.time()), 0.0), MAX_RETRY_AFTER)
