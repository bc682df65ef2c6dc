from __future__ import annotations

import pytest

from ingest.urls import absolute, canonicalize, is_tracking, same_site


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("HTTP://Example.COM:80/a", "http://example.com/a"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),
        ("https://example.com/p?utm_source=rss&id=3&utm_medium=feed", "https://example.com/p?id=3"),
        ("https://example.com/p?fbclid=abc&gclid=def", "https://example.com/p"),
        ("https://example.com/p?b=2&a=1", "https://example.com/p?b=2&a=1"),  # order kept
        ("https://example.com/p?q=a+b&flag", "https://example.com/p?q=a+b&flag"),  # spelling kept
        ("https://example.com/p#section", "https://example.com/p"),
        ("https://example.com/%7euser/caf%c3%a9", "https://example.com/~user/caf%C3%A9"),
        ("https://example.com./p", "https://example.com/p"),
        ("  https://example.com/p  ", "https://example.com/p"),
    ],
)
def test_canonical_spelling(given: str, canonical: str) -> None:
    assert canonicalize(given) == canonical
    assert canonicalize(canonical) == canonical  # idempotent


def test_fragment_kept_only_on_request() -> None:
    assert (
        canonicalize("https://example.com/live#update-2", keep_fragment=True)
        == "https://example.com/live#update-2"
    )


def test_non_http_urls_are_left_alone() -> None:
    assert canonicalize("file:///tmp/A.html") == "file:///tmp/A.html"
    assert canonicalize("mailto:x@example.com") == "mailto:x@example.com"


def test_tracking_names() -> None:
    assert is_tracking("utm_campaign") and is_tracking("UTM_Source") and is_tracking("fbclid")
    assert not is_tracking("id") and not is_tracking("page")


def test_absolute_and_same_site() -> None:
    assert absolute("/b", "https://example.com/a/feed") == "https://example.com/b"
    assert absolute("  ", "https://example.com/") is None
    assert same_site("https://www.example.com/a", "http://example.com/b")
    assert not same_site("https://example.com/a", "https://example.org/a")
