"""URL canonicalisation: one spelling per address, so the same link is recognised however it came.

Lower-case scheme and host, default port dropped, empty path made "/", tracking parameters removed,
the rest of the query kept in its order, the fragment dropped unless the caller needs it.
Canonicalising a canonical URL changes nothing.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, unquote_plus, urljoin, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
TRACKING_PREFIXES = ("utm_", "_hs", "mtm_", "pk_")
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gbraid",
        "wbraid",
        "dclid",
        "msclkid",
        "yclid",
        "igshid",
        "twclid",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "_ga",
        "_gl",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "rb_clickid",
        "s_cid",
        "ncid",
        "ocid",
        "cmpid",
        "wt_mc",
        "at_medium",
        "at_campaign",
        "spm",
        "ref_src",
        "__twitter_impression",
    }
)
# Characters that never need escaping in a path; everything else is percent-encoded once.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")


def is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonicalize(url: str, *, keep_fragment: bool = False) -> str:
    """The canonical spelling of an absolute http(s) URL; other URLs come back stripped only."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return url.strip()
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if ":" not in host else f"[{host}]"
    if parts.username is not None:
        credentials = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{credentials}@{netloc}"
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    path = _clean_path(parts.path)
    query = _clean_query(parts.query)
    fragment = parts.fragment if keep_fragment else ""
    return urlunsplit((scheme, netloc, path, query, fragment))


def _clean_path(path: str) -> str:
    if not path:
        return "/"
    resolved = _remove_dot_segments(path) if "/." in path else path
    # Upper-case existing escapes and escape what must be, without double-escaping.
    escaped = quote(resolved, safe=_PATH_SAFE)
    return _PERCENT.sub(lambda m: _unescape_unreserved(m.group(0)), escaped)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4: "/a/./b/../c" -> "/a/c" (urljoin would read a path starting "//" as a host)."""
    segments = path.split("/")
    kept: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment in {".", ".."}:
            if segment == ".." and len(kept) > 1:
                kept.pop()
            if last:
                kept.append("")
            continue
        kept.append(segment)
    resolved = "/".join(kept)
    return resolved if resolved.startswith("/") else "/" + resolved


def _unescape_unreserved(escape: str) -> str:
    char = unquote(escape)
    return char if re.fullmatch(r"[A-Za-z0-9\-._~]", char) else escape.upper()


def _clean_query(query: str) -> str:
    # Pairs are kept as written (order, "+", bare names): only tracking parameters go.
    kept = [pair for pair in query.split("&") if pair and not is_tracking(unquote_plus(pair.split("=")[0]))]
    # What may not stand in a query (spaces, quotes, non-ASCII) is escaped, existing escapes kept.
    escaped = quote("&".join(kept), safe="&=+;:@,/?!$'()*~%[]")
    return _PERCENT.sub(lambda m: m.group(0).upper(), escaped)


MAX_URL_LENGTH = 8192  # longer "links" are not addresses anyone meant


def absolute(link: str | None, base: str | None) -> str | None:
    """``link`` resolved against ``base``; None for empty links and for any scheme but http(s)
    (and ``file:`` inside a directory source), and for absurdly long ones: a feed's
    ``javascript:`` or ``data:`` link is never stored, exported or followed."""
    if link is None or not link.strip():
        return None
    resolved = urljoin(base, link.strip()) if base else link.strip()
    if len(resolved) > MAX_URL_LENGTH:
        return None
    scheme = urlsplit(resolved).scheme.lower()
    allowed = {"http", "https", "file"} if (base or "").startswith("file:") else {"http", "https"}
    return resolved if scheme in allowed else None


def http_url_problem(url: str) -> str | None:
    """Why ``url`` is not an http(s) address with a host we could fetch, or None when it is one."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - reading it is the check: urlsplit raises on a port out of range
    except ValueError as exc:
        return f"not a valid URL: {exc}"
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "not an http(s) URL"
    return None


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def same_site(first: str, second: str) -> bool:
    """Whether two URLs belong to one site: equal hosts once a leading "www." is ignored."""
    one, two = host_of(first).removeprefix("www."), host_of(second).removeprefix("www.")
    return bool(one) and one == two


def canonical_for(declared: str | None, url: str, feed_site: str | None = None) -> str:
    """The canonical URL of a page fetched from ``url`` that declares ``declared``.

    The declaration is trusted when it names the page's own site or the site of the feed that
    linked to it (or when the page is a local copy of a web page, read from a directory); a
    canonical naming the site's home page for a page deeper in the site is a template's mistake.
    """
    if declared is None or not declared.strip().lower().startswith(("http://", "https://")):
        return canonicalize(url)
    declared = declared.strip()
    trusted = (
        url.startswith("file:")
        or same_site(declared, url)
        or bool(feed_site and same_site(declared, feed_site))
    )
    if not trusted or (urlsplit(declared).path in {"", "/"} and urlsplit(url).path not in {"", "/"}):
        return canonicalize(url)
    return canonicalize(declared)


# <target> then its parameters; a quoted parameter value may hold "," and ";".
_LINK_VALUE = re.compile(r'<([^>]*)>((?:\s*;\s*(?:[^;,"]|"[^"]*")*)*)')
_REL = re.compile(r"""(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))""", re.I)


def header_links(value: str, base: str) -> dict[str, str]:
    """An HTTP ``Link`` header as {relation: absolute http(s) address}, the first of each relation
    (RFC 8288: ``<https://hub.example/>; rel="hub", <https://site.example/feed>; rel="self"``)."""
    found: dict[str, str] = {}
    for target, params in _LINK_VALUE.findall(value or ""):
        rel = _REL.search(params)
        address = absolute(target.strip(), base)
        if rel is None or not address or not address.startswith(("http://", "https://")):
            continue
        for relation in (rel.group(1) or rel.group(2) or "").lower().split():
            found.setdefault(relation, address)
    return found
