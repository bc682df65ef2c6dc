"""Extraction: a page's article body and metadata, falling back in a fixed order.

0. the site's rule (:mod:`siterules`), when one matches the page's host: its body selector's first
   match, less what its ``remove`` selectors match, extracted alone (``site-rule``);
1. trafilatura with the primary settings (chosen by ``bench/quality.py`` on the labelled pages);
2. trafilatura with recall-oriented settings, when the first yields too little or a body that shares
   nothing with a substantial feed summary (it extracted something, but not the article);
3. the feed's own content.

``extractor`` records which one produced the text. Plain text is taken as it is, for the normaliser
to find its title and byline. Page metadata comes from the page's declarations (:mod:`metadata`).
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from typing import Any

import lxml.html
import trafilatura
from charset_normalizer import from_bytes
from lxml import etree
from trafilatura.htmlprocessing import convert_to_html
from trafilatura.utils import decode_file, is_dubious_html, repair_faulty_html

from ingest import siterules
from ingest.errors import ExtractError
from ingest.html import find_visible, html_text, strip_never_text, text_key, unwrap_layout_tables
from ingest.metadata import PageMetadata, page_metadata
from ingest.models import EntryHints, Extracted, Page
from ingest.urls import host_of

TRAFILATURA_VERSION = f"trafilatura {trafilatura.__version__}"
MIN_BODY_CHARS = 200
# A summary this long (in distinct content words) is evidence enough to doubt a body sharing
# (almost) none of its words.
SUMMARY_WORDS = 12
SUMMARY_OVERLAP = 0.15
# Measured with bench/quality.py (see the README's "Article quality" section).
PRIMARY = {"include_comments": False, "include_tables": True, "deduplicate": False}
SECONDARY = {"favor_recall": True, "include_comments": False, "include_tables": True, "deduplicate": False}
ATTEMPTS = (("trafilatura", PRIMARY), ("trafilatura-recall", SECONDARY))
_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.I)
CONTENT_WORD_CHARS = 4
_CONTENT_WORD = re.compile(rf"\w{{{CONTENT_WORD_CHARS},}}")


def extract(page: Page | None, hints: EntryHints) -> Extracted:
    """The best body we can get for one entry; raises ExtractError when there is none."""
    if page is None:
        return _from_feed(hints, "the entry has no page to fetch")
    kind = page_kind(page)
    if kind == "text":
        return _from_text(page, hints)
    if kind == "html":
        return _from_html(page, hints)
    what = page.content_type or "of an unknown type"
    return _from_feed(hints, f"{page.final_url} is {what}, not a page")


def _from_text(page: Page, hints: EntryHints) -> Extracted:
    text = decode_text(page.body, page.content_type)
    if not text.strip():
        return _from_feed(hints, f"{page.final_url} is empty")
    return Extracted(text=text, extractor="plaintext", extractor_version="plaintext 1")


def _from_html(page: Page, hints: EntryHints) -> Extracted:
    try:
        tree = parse_page(page.body)
    except Exception as exc:  # lxml refuses some byte sequences outright
        return _from_feed(hints, f"{page.final_url} cannot be parsed as HTML: {exc}")
    if tree is None:
        return _from_feed(hints, f"{page.final_url} cannot be parsed as HTML")
    meta = page_metadata(tree)
    # Before layout tables become divs: a rule's selectors see the page as it was served.
    ruled = _by_site_rule(tree, page.final_url, meta)
    unwrap_layout_tables(tree)
    strip_never_text(tree)  # after the metadata (in <head>) and the site rule have seen the page
    summary = html_text(hints.summary or "")
    if ruled is not None and (article := _as_article(ruled, tree, summary)) is not None:
        return article
    best: Extracted | None = None
    for name, options in ATTEMPTS:
        found = _trafilatura(tree, page.final_url, options, name, meta)
        if found is not None and (article := _as_article(found, tree, summary)) is not None:
            return article
        if found is not None and (best is None or len(found.text) > len(best.text)):
            best = found
    return _fallback(page, hints, meta, best)


def _as_article(found: Extracted, tree: lxml.html.HtmlElement, summary: str) -> Extracted | None:
    """``found`` with its standfirst when it is the article, else None (its words read once)."""
    key = text_key(found.text)
    return _with_standfirst(found, tree, summary, key) if _is_article(found.text, summary, key) else None


# lxml.html's parser chooses each element's Python class with a Python callback (forms get classes
# of their own), run whenever an element is touched from Python, and trafilatura and its readability
# touch hundreds of thousands a page. The same classes chosen in C, every element an HtmlElement
# (nothing here uses the form classes), made extraction 5-10 % faster with the same trees.
_PARSER = etree.HTMLParser(
    collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True, remove_pis=True
)
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement,
        comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction,
        entity=lxml.html.HtmlEntity,
    )
)


def parse_page(body: bytes) -> lxml.html.HtmlElement | None:
    """The page's tree: trafilatura's ``load_html`` step for step (its decoding and repairs, the
    same parser options, the same retry on bytes, the same refusal of what is not HTML), with the
    parser above. None when it is not HTML."""
    text = decode_file(body)
    beginning = text[:50].lower()
    dubious = is_dubious_html(beginning)
    text = repair_faulty_html(text, beginning)
    retried = False
    tree: lxml.html.HtmlElement | None = None
    try:
        tree = lxml.html.fromstring(text, parser=_PARSER)
    except ValueError:  # a string with an encoding declaration: lxml wants its bytes
        tree, retried = _parse_bytes(text), True
    except Exception:  # lxml refuses some documents outright; as bytes they may pass
        tree = None
    if (tree is None or len(tree) < 1) and not retried:
        tree = _parse_bytes(text)
    if tree is not None and dubious and len(tree) < 2:
        return None
    return tree


def _parse_bytes(text: str) -> lxml.html.HtmlElement | None:
    try:
        return lxml.html.fromstring(text.encode("utf8", "surrogatepass"), parser=_PARSER)
    except Exception:  # lxml refuses some documents outright, as bytes too
        return None


def site_rule_for(url: str) -> siterules.SiteRule | None:
    """The site rule for a page's address, or None (also when the rules file is invalid: extraction
    then goes on without rules; ``ingest extract`` reports the file's problem)."""
    try:
        return siterules.rule_for(host_of(url))
    except ValueError:
        return None


def _by_site_rule(tree: lxml.html.HtmlElement, url: str, meta: PageMetadata) -> Extracted | None:
    """The article as the site's rule delimits it, or None when no rule matches the page's host or
    its selector finds nothing (a redesign): the ordinary attempts then run on the whole page.

    trafilatura runs on the rule's body alone (it still drops what it knows to be boilerplate, which
    scored better than taking every text block of the body, on the rule fixtures and with loose
    rules on the labelled pages); the body's plain text blocks stand in only when trafilatura keeps
    too little of it (a body whose own class it takes for boilerplate).
    """
    rule = site_rule_for(url)
    if rule is None:
        return None
    try:
        found = rule.find_body(tree)
    except etree.XPathError:  # a selector that compiles but cannot be evaluated on this document
        return None
    if found is None:
        return None
    body = copy.deepcopy(found)
    body.tail = None
    rule.strip(body)
    unwrap_layout_tables(body)
    wrapper = lxml.html.fromstring("<html><body></body></html>")
    wrapper.find("body").append(body)
    ruled = _trafilatura(wrapper, url, PRIMARY, "site-rule", meta)
    if ruled is None or len(ruled.text) < MIN_BODY_CHARS:
        text = html_text(lxml.html.tostring(body, encoding="unicode"))
        if len(text) > len(ruled.text if ruled else ""):
            ruled = _with_meta(Extracted(text=text, extractor="site-rule", extractor_version=""), meta)
    return None if ruled is None else replace(ruled, extractor_version=_rule_version(rule))


def _rule_version(rule: siterules.SiteRule) -> str:
    return f"{TRAFILATURA_VERSION}; rule {rule.label}"[:64]  # the column holds 64


def _fallback(page: Page, hints: EntryHints, meta: PageMetadata, best: Extracted | None) -> Extracted:
    """No attempt looked like the article. The feed's content wins when the page's best text
    contradicts the feed (it is another text) or when it says more; else the best try stands."""
    feed_text = html_text(hints.content or hints.summary or "")
    contradicted = best is not None and len(best.text) >= MIN_BODY_CHARS
    if feed_text and (contradicted or len(feed_text) > len(best.text if best else "")):
        # The feed's title describes the feed's text; the page's may be a gallery's or a stub's.
        feed = Extracted(
            text=feed_text, extractor="feed", extractor_version=TRAFILATURA_VERSION, title=hints.title
        )
        return _with_meta(feed, meta)
    if best is None or not best.text.strip():
        raise ExtractError("empty", f"{page.final_url} has no extractable text and the feed carries none")
    return best


def _is_article(text: str, summary: str, key: str | None = None) -> bool:
    """Long enough, and not contradicting a substantial feed summary (a body sharing almost none of
    its words is something else on the page: a teaser list, a gallery, another story).
    ``key``: the text's :func:`text_key`, when the caller has it."""
    if len(text) < MIN_BODY_CHARS:
        return False
    summary_words = set(_CONTENT_WORD.findall(summary.casefold()))
    if len(summary_words) < SUMMARY_WORDS:
        return True
    words = (key if key is not None else text_key(text)).split()
    body = {word for word in words if len(word) >= CONTENT_WORD_CHARS}
    return len(summary_words & body) / len(summary_words) >= SUMMARY_OVERLAP


def _with_standfirst(found: Extracted, tree: lxml.html.HtmlElement, summary: str, body: str) -> Extracted:
    """Put back a standfirst the extractor left out: a block of the page that says what the page's
    description (or the feed's summary) says, when the body (``body``: its text_key) does not."""
    for candidate in (found.description, summary):
        if not candidate or text_key(candidate.rstrip(" .…")) in body:
            continue
        visible = find_visible(tree, candidate)
        if visible and text_key(visible) not in body:
            return replace(found, text=f"{visible}\n{found.text}")
    return found


def _trafilatura(
    tree: lxml.html.HtmlElement, url: str, options: dict[str, Any], name: str, meta: PageMetadata
) -> Extracted | None:
    try:
        document: Any = trafilatura.bare_extraction(tree, url=url, with_metadata=False, **options)
    except Exception:  # trafilatura raises assorted lxml and value errors on hostile markup
        return None
    if document is None or not (text := str(getattr(document, "text", "") or "")).strip():
        return None
    body = getattr(document, "body", None)
    markup = convert_to_html(body) if body is not None else None
    return _with_meta(
        Extracted(text=text, extractor=name, extractor_version=TRAFILATURA_VERSION, body_html=markup), meta
    )


def _with_meta(found: Extracted, meta: PageMetadata) -> Extracted:
    return replace(
        found,
        title=found.title or meta.title,
        author=meta.author,
        published=meta.published,
        site_name=meta.site_name,
        canonical_url=meta.canonical_url,
        language=meta.language,
        description=meta.description,
    )


def _from_feed(hints: EntryHints, why: str) -> Extracted:
    """The feed's own content, when the page is missing, failed or is not an article."""
    text = html_text(hints.content or hints.summary or "")
    if not text:
        raise ExtractError("empty", f"{why}, and the feed carries no content for it")
    return Extracted(text=text, extractor="feed", extractor_version=TRAFILATURA_VERSION)


def page_kind(page: Page) -> str:
    media = page.content_type.split(";")[0].strip().lower()
    if media in {"text/html", "application/xhtml+xml"}:
        return "html"
    if media == "text/plain" or (not media and page.final_url.lower().endswith(".txt")):
        return "text"
    if not media and page.body.lstrip()[:1] == b"<":
        return "html"
    return "other"


def decode_text(body: bytes, content_type: str) -> str:
    declared = _CHARSET.search(content_type or "")
    for encoding in ([declared.group(1)] if declared else []) + ["utf-8"]:
        try:
            return body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    guess = from_bytes(body).best()
    return str(guess) if guess is not None else body.decode("utf-8", "replace")
