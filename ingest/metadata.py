"""What a page says about itself: title, author, date, site, canonical URL, description, language.

Read from the page's own declarations, most explicit first: JSON-LD (schema.org NewsArticle and
kin), then OpenGraph / article:* / Dublin Core / plain meta tags, then the markup (<h1>, <time>,
rel=author, <title>). Pure and read-only on the parsed tree. Cheaper than a date search through the
whole text, and more trustworthy: a page with no declared date gets the feed's date instead.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree
from lxml import html as lxml_html

ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "blogposting",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "scholarlyarticle",
        "techarticle",
        "report",
        "liveblogposting",
        "posting",
        "socialmediaposting",
    }
)
_TITLE_SEPARATORS = re.compile(r"\s+[|–—·»:-]\s+|\s+::\s+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class PageMetadata:
    title: str | None = None
    author: str | None = None
    published: str | None = None
    site_name: str | None = None
    canonical_url: str | None = None
    description: str | None = None
    language: str | None = None


def page_metadata(tree: lxml_html.HtmlElement) -> PageMetadata:
    metas = _meta_tags(tree)
    article = _json_ld_article(tree)
    site_name = _first(
        _ld_name(article.get("publisher")), metas.get("og:site_name"), metas.get("application-name")
    )
    return PageMetadata(
        title=_first(
            _ld_text(article.get("headline")),
            metas.get("og:title"),
            metas.get("twitter:title"),
            _h1(tree),
            _title_tag(tree, site_name),
        ),
        author=_first(
            _ld_name(article.get("author")), *(_person(metas.get(k)) for k in _AUTHOR_KEYS), _rel_author(tree)
        ),
        published=_first(
            _ld_text(article.get("datePublished")),
            *(metas.get(k) for k in _DATE_KEYS),
            _time_element(tree),
            _ld_text(article.get("dateCreated")),
        ),
        site_name=site_name,
        canonical_url=_first(_canonical_link(tree), metas.get("og:url"), _ld_text(article.get("url"))),
        description=_first(
            metas.get("og:description"), metas.get("description"), metas.get("twitter:description")
        ),
        language=_first(tree.get("lang"), metas.get("content-language"), metas.get("og:locale")),
    )


_AUTHOR_KEYS = (
    "author",
    "article:author",
    "dc.creator",
    "dcterms.creator",
    "parsely-author",
    "sailthru.author",
    "byl",
    "twitter:creator",
)
_DATE_KEYS = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "date",
    "pubdate",
    "publishdate",
    "dc.date",
    "dc.date.issued",
    "dcterms.created",
    "dcterms.issued",
    "sailthru.date",
    "parsely-pub-date",
)


def _meta_tags(tree: lxml_html.HtmlElement) -> dict[str, str]:
    found: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = meta.get("property") or meta.get("name") or meta.get("itemprop") or meta.get("http-equiv")
        value = meta.get("content")
        if key and value and value.strip():
            found.setdefault(key.strip().lower(), _clean(value))
    return found


def _json_ld_article(tree: lxml_html.HtmlElement) -> dict[str, Any]:
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except (json.JSONDecodeError, RecursionError):
            continue
        for node in _ld_nodes(data):
            kinds = node.get("@type")
            names = kinds if isinstance(kinds, list) else [kinds]
            if any(isinstance(k, str) and k.lower() in ARTICLE_TYPES for k in names):
                return node
    return {}


def _ld_nodes(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 4:
        return
    if isinstance(data, list):
        for item in data:
            yield from _ld_nodes(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "mainEntity", "itemListElement"):
            if key in data:
                yield from _ld_nodes(data[key], depth + 1)


def _ld_text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("@id") or value.get("url")
    return _clean(value) if isinstance(value, str) else None


def _ld_name(value: Any) -> str | None:
    """A name, or several joined with ", ", from a schema.org Person/Organization (or a bare string)."""
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str) and (cleaned := _person(name)):
            names.append(cleaned)
    return ", ".join(dict.fromkeys(names)) or None


def _person(value: str | None) -> str | None:
    """An author value that names someone: not a URL, not an address, not a handle."""
    if value is None:
        return None
    cleaned = _clean(value)
    if not cleaned or "://" in cleaned or "@" in cleaned or cleaned.startswith("/") or len(cleaned) > 120:
        return None
    return cleaned


def _h1(tree: lxml_html.HtmlElement) -> str | None:
    for heading in tree.iter("h1"):
        text = _clean(heading.text_content())
        if text:
            return text
    return None


def _title_tag(tree: lxml_html.HtmlElement, site_name: str | None) -> str | None:
    """<title> without the site's name: "Headline | Site" gives "Headline"."""
    title = tree.find(".//title")
    if title is None or not (text := _clean(title.text_content())):
        return None
    parts = [p.strip() for p in _TITLE_SEPARATORS.split(text) if p.strip()]
    if len(parts) < 2:
        return text
    if site_name:
        parts = [p for p in parts if p.casefold() != site_name.casefold()] or parts
    return max(parts, key=len)


# Compiled XPath runs in C: one pass over a template of thousands of elements instead of a Python loop.
# Cheap tests first: a link without rel is not looked at further.
_REL_AUTHOR = etree.XPath("//a[@rel][contains(concat(' ', normalize-space(@rel), ' '), ' author ')]")
_DATED = etree.XPath("//time[@datetime] | //*[@itemprop='datePublished']")


def _rel_author(tree: lxml_html.HtmlElement) -> str | None:
    for link in _REL_AUTHOR(tree):
        return _person(link.text_content())
    return None


def _time_element(tree: lxml_html.HtmlElement) -> str | None:
    """The first machine-readable <time>, preferring one inside the article (not a comment's), then
    an element marked ``itemprop="datePublished"``, then any <time>."""
    found = [(element, _date_value(element)) for element in _DATED(tree)]
    found = [(element, value) for element, value in found if value]
    times = [(e, v) for e, v in found if e.tag == "time" and e.get("datetime")]
    in_article = (v for e, v in times if next(e.iterancestors("article"), None) is not None)
    published = (v for e, v in found if e.get("itemprop") == "datePublished")
    any_time = (v for _e, v in times)
    return next(in_article, None) or next(published, None) or next(any_time, None)


def _date_value(element: lxml_html.HtmlElement) -> str:
    return str(element.get("datetime") or element.get("content") or "").strip()


def _canonical_link(tree: lxml_html.HtmlElement) -> str | None:
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            return str(link.get("href", "")).strip() or None
    return None


def _first(*values: str | None) -> str | None:
    return next((v for v in values if v), None)


def _clean(value: str) -> str:
    return _SPACES.sub(" ", value).strip()


_CANONICAL_TAG = re.compile(rb"<link\b[^>]*\brel\s*=\s*[\"']?canonical\b[^>]*>", re.I)
_OG_URL_TAG = re.compile(rb"<meta\b[^>]*\bproperty\s*=\s*[\"']og:url[\"'][^>]*>", re.I)
_ATTRIBUTE = re.compile(rb"\b(href|content)\s*=\s*[\"']([^\"'>]+)[\"']", re.I)


def quick_canonical(body: bytes) -> str | None:
    """The canonical URL a page declares in its head, found without parsing the page (a cheap test
    made before any extraction: a known canonical URL needs no extraction at all)."""
    head = body[:65536]
    for pattern in (_CANONICAL_TAG, _OG_URL_TAG):
        if tag := pattern.search(head):
            for _name, value in _ATTRIBUTE.findall(tag.group(0)):
                return html.unescape(value.decode("utf-8", "replace")).strip() or None
    return None
