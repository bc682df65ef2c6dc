"""What a page says about itself, read from small hand-written documents."""

from __future__ import annotations

import json
from typing import Any

import pytest
from trafilatura.utils import load_html

from ingest.metadata import PageMetadata, page_metadata


def metadata(head: str = "", body: str = "<p>Text.</p>", lang: str | None = None) -> PageMetadata:
    """The metadata of a page parsed the way extraction parses it."""
    lang_attribute = f' lang="{lang}"' if lang is not None else ""
    page = f"<!DOCTYPE html><html{lang_attribute}><head>{head}</head><body>{body}</body></html>"
    return page_metadata(load_html(page.encode()))


def json_ld(data: Any) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


ARTICLE = {
    "@type": "NewsArticle",
    "headline": "Mali and Russia meet at the UN",
    "author": [{"@type": "Person", "name": "Moussa Keita"}, {"@type": "Person", "name": "Awa Traoré"}],
    "publisher": {"@type": "Organization", "name": "Bamada.net"},
    "datePublished": "2023-09-23T10:00:00+00:00",
    "url": "https://bamada.net/mali-russie",
}
ARTICLE_METADATA = PageMetadata(
    title="Mali and Russia meet at the UN",
    author="Moussa Keita, Awa Traoré",
    published="2023-09-23T10:00:00+00:00",
    site_name="Bamada.net",
    canonical_url="https://bamada.net/mali-russie",
)


@pytest.mark.parametrize(
    "data",
    [
        {"@context": "https://schema.org", **ARTICLE},
        {"@context": "https://schema.org", "@graph": [{"@type": "WebSite", "name": "Home"}, ARTICLE]},
        {**ARTICLE, "@type": ["NewsArticle", "ReportageNewsArticle"]},
        [{"@type": "BreadcrumbList"}, {**ARTICLE, "@type": "BlogPosting"}],
    ],
    ids=["plain", "graph", "type-list", "top-level-list"],
)
def test_json_ld_article(data: Any) -> None:
    assert metadata(json_ld(data)) == ARTICLE_METADATA


def test_json_ld_comes_before_meta_tags() -> None:
    head = (
        '<meta property="og:title" content="OG title">'
        '<meta property="og:site_name" content="OG site">'
        '<meta name="author" content="Meta Author">'
        '<meta property="article:published_time" content="2020-01-01">'
        '<meta property="og:url" content="https://bamada.net/og">'
    ) + json_ld(ARTICLE)
    meta = metadata(head)
    assert meta.title == "Mali and Russia meet at the UN"
    assert meta.site_name == "Bamada.net"
    assert meta.author == "Moussa Keita, Awa Traoré"
    assert meta.published == "2023-09-23T10:00:00+00:00"
    assert meta.canonical_url == "https://bamada.net/og"


def test_json_ld_repeated_author_names_once() -> None:
    data = {**ARTICLE, "author": [{"name": "Moussa Keita"}, {"name": " Moussa  Keita "}, "Awa Traoré"]}
    assert metadata(json_ld(data)).author == "Moussa Keita, Awa Traoré"


def test_json_ld_created_date_is_the_last_resort() -> None:
    data = {"@type": "Article", "headline": "H", "dateCreated": "2022-05-01"}
    assert metadata(json_ld(data)).published == "2022-05-01"
    body = '<time datetime="2022-06-01">1 June</time>'
    assert metadata(json_ld(data), body).published == "2022-06-01"


def test_invalid_and_non_article_json_ld_are_ignored() -> None:
    head = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>'
        + json_ld({"@type": "WebPage", "name": "Home page"})
        + '<meta property="og:title" content="OG title">'
    )
    assert metadata(head) == PageMetadata(title="OG title")


def test_open_graph_and_meta_tags() -> None:
    head = (
        '<meta property="og:title" content="  The   council votes ">'
        '<meta property="og:site_name" content="Example News">'
        '<meta property="article:published_time" content="2024-02-01T08:00:00Z">'
        '<meta property="og:url" content="https://example.com/og">'
        '<meta name="description" content="Plain description.">'
        '<meta property="og:description" content="OG description.">'
        '<meta name="author" content="Jane Doe">'
        '<meta property="og:locale" content="en_GB">'
    )
    assert metadata(head) == PageMetadata(
        title="The council votes",
        author="Jane Doe",
        published="2024-02-01T08:00:00Z",
        site_name="Example News",
        canonical_url="https://example.com/og",
        description="OG description.",
        language="en_GB",
    )


def test_twitter_dublin_core_and_plain_meta_tags() -> None:
    head = (
        '<meta name="twitter:title" content="Twitter title">'
        '<meta name="twitter:description" content="Twitter description.">'
        '<meta name="application-name" content="The App">'
        '<meta name="DC.creator" content="Jean Dupont">'
        '<meta name="dc.date" content="2024-03-04">'
        '<meta http-equiv="content-language" content="de">'
    )
    assert metadata(head) == PageMetadata(
        title="Twitter title",
        author="Jean Dupont",
        published="2024-03-04",
        site_name="The App",
        description="Twitter description.",
        language="de",
    )


def test_empty_meta_tags_are_skipped() -> None:
    head = '<meta property="og:title" content="  "><meta name="twitter:title" content="Second title">'
    assert metadata(head).title == "Second title"


def test_an_empty_page_declares_nothing() -> None:
    assert metadata() == PageMetadata()


def test_h1_comes_before_the_title_tag() -> None:
    meta = metadata("<title>Page title | Site</title>", "<h1> </h1><h1> The   headline </h1>")
    assert meta.title == "The headline"


@pytest.mark.parametrize("separator", ["|", "-", "–", "—", "·", "»", ":", "::"])
def test_title_tag_loses_the_site_name(separator: str) -> None:
    meta = metadata(f"<title>The council approves the budget {separator} Site</title>")
    assert meta.title == "The council approves the budget"


def test_title_tag_without_separator_is_kept() -> None:
    assert metadata("<title>  The council-approved budget </title>").title == "The council-approved budget"


def test_title_tag_drops_the_declared_site_name() -> None:
    # The site's name is the longest part; knowing it, the longest of the others is the headline.
    head = '<title>Mali | Vote du budget | Le Journal du Mali</title><meta property="og:site_name" content="Le Journal du Mali">'
    meta = metadata(head)
    assert meta.title == "Vote du budget"
    assert meta.site_name == "Le Journal du Mali"


@pytest.mark.parametrize(
    ("title", "site_name", "expected"),
    [
        ("Vote | Le Journal du Mali", "Le Journal du Mali", "Vote"),
        ("The council approves the budget | Le Journal", "Le Journal", "The council approves the budget"),
    ],
)
def test_title_tag_headline_and_declared_site_name(title: str, site_name: str, expected: str) -> None:
    meta = metadata(f'<title>{title}</title><meta property="og:site_name" content="{site_name}">')
    assert meta.title == expected


def test_rel_author_link() -> None:
    body = '<p>By <a rel="author" href="/authors/jane-doe">Jane  Doe</a></p><a rel="author">Someone Else</a>'
    assert metadata(body=body).author == "Jane Doe"


@pytest.mark.parametrize(
    "value",
    ["https://example.com/authors/jane", "jane@example.com", "@janedoe", "/authors/jane", "x" * 121],
    ids=["url", "email", "handle", "path", "too-long"],
)
def test_author_values_that_name_no_one_are_rejected(value: str) -> None:
    assert metadata(f'<meta name="author" content="{value}">').author is None
    assert (
        metadata(json_ld({"@type": "NewsArticle", "author": {"@type": "Person", "name": value}})).author
        is None
    )


def test_rejected_author_values_fall_through_to_the_next_source() -> None:
    head = (
        json_ld({"@type": "NewsArticle", "author": "https://example.com/authors/jane"})
        + '<meta name="author" content="https://example.com/authors/jane">'
        + '<meta property="article:author" content="jane@example.com">'
        + '<meta name="dc.creator" content="Jane Doe">'
    )
    assert metadata(head).author == "Jane Doe"
    body = '<a rel="author" href="https://example.com/jane">Jane Doe</a>'
    assert metadata('<meta name="twitter:creator" content="@janedoe">', body).author == "Jane Doe"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '<header><time datetime="2024-01-01">Today</time></header>'
            '<article><p>Text.</p><time datetime="2024-03-05T10:00:00Z">5 March</time></article>'
            '<section class="comments"><time datetime="2024-03-06">6 March</time></section>',
            "2024-03-05T10:00:00Z",
        ),
        (
            '<time>no datetime</time><span itemprop="datePublished" content="2024-01-02">2 January</span>'
            '<time datetime="2024-01-09">9 January</time>',
            "2024-01-02",
        ),
        ('<time>no datetime</time><time datetime=" 2024-01-09 ">9 January</time>', "2024-01-09"),
        ("<time>9 January</time>", None),
    ],
    ids=["inside-article", "itemprop", "first-time", "none"],
)
def test_time_element(body: str, expected: str | None) -> None:
    assert metadata(body=body).published == expected


def test_meta_date_comes_before_time_element() -> None:
    head = '<meta property="article:published_time" content="2024-02-01T08:00:00Z">'
    body = '<article><time datetime="2024-03-05">5 March</time></article>'
    assert metadata(head, body).published == "2024-02-01T08:00:00Z"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (
            '<meta property="og:url" content="https://example.com/og">'
            '<link rel="canonical" href=" https://example.com/canonical ">',
            "https://example.com/canonical",
        ),
        (
            '<link rel="Canonical Alternate" href="https://example.com/canonical">'
            '<meta property="og:url" content="https://example.com/og">',
            "https://example.com/canonical",
        ),
        (
            '<link rel="canonical" href=""><link rel="alternate" href="https://example.com/alt">'
            '<meta property="og:url" content="https://example.com/og">',
            "https://example.com/og",
        ),
        (json_ld({"@type": "NewsArticle", "url": "https://example.com/ld"}), "https://example.com/ld"),
    ],
    ids=["canonical-first", "rel-list", "og-url", "json-ld-url"],
)
def test_canonical_url(head: str, expected: str) -> None:
    assert metadata(head).canonical_url == expected


@pytest.mark.parametrize(
    ("lang", "head", "expected"),
    [
        (
            "fr",
            '<meta http-equiv="content-language" content="de"><meta property="og:locale" content="en_GB">',
            "fr",
        ),
        (
            None,
            '<meta http-equiv="Content-Language" content="de"><meta property="og:locale" content="en_GB">',
            "de",
        ),
        (None, '<meta property="og:locale" content="en_GB">', "en_GB"),
        ("pt-BR", "", "pt-BR"),
        (None, "", None),
    ],
)
def test_language(lang: str | None, head: str, expected: str | None) -> None:
    assert metadata(head, lang=lang).language == expected
