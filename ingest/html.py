"""Small HTML-to-text helpers for feed fields (titles, summaries, content), which are fragments."""

from __future__ import annotations

import html
import re

import lxml.html
from lxml import etree

_BLOCKS = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "tr",
        "section",
        "article",
        "header",
        "footer",
        "ul",
        "ol",
        "table",
        "figure",
        "figcaption",
        "dd",
        "dt",
        "hr",
    }
)
_DROPPED = ("script", "style", "noscript", "template")
_WORDS = re.compile(r"\w+")


# What the parser would change in a fragment: markup, entities, and the characters libxml2 drops or
# rewrites (controls, carriage returns, surrogates, two noncharacters). Text free of them is its own
# visible text.
_NOT_PLAIN = re.compile(r"[<&\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def html_text(fragment: str) -> str:
    """Visible text of an HTML fragment, one line per block."""
    if not _NOT_PLAIN.search(fragment):  # plain text (most feed summaries): no parser needed
        return "\n".join(line.strip() for line in fragment.split("\n") if line.strip())
    return parsed_text(fragment)


def parsed_text(fragment: str) -> str:
    """:func:`html_text` by the parser, whatever the fragment holds."""
    if not fragment.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return fragment.strip()
    for element in list(root.iter(*_DROPPED)):
        element.drop_tree()
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCKS:
            element.tail = "\n" + (element.tail or "")
            if element.tag.lower() != "br":
                element.text = "\n" + (element.text or "")
    text = "".join(root.itertext())
    return "\n".join(line.strip() for line in text.split("\n") if line.strip())


def inline_text(fragment: str) -> str:
    """A one-line text from an HTML title: tags dropped, entities decoded, spaces collapsed."""
    text = html_text(fragment) if "<" in fragment else html.unescape(fragment)
    return " ".join(text.split())


# Tags that hold blocks of text: a table holding any of them is page layout, not data.
_LAYOUT_SIGNS = (
    "table",
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "form",
    "article",
    "section",
    "nav",
    "header",
    "footer",
    "aside",
    "blockquote",
    "iframe",
)
_TABLE_PARTS = frozenset({"table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "colgroup", "col"})


def is_layout_table(table: lxml.html.HtmlElement) -> bool:
    """Whether a <table> lays out a page (old sites, forums) rather than presenting data."""
    if any(True for _ in table.iterdescendants(*_LAYOUT_SIGNS)):
        return True
    cells = [cell.text_content() for cell in table.iterdescendants("td", "th")]
    return any(len(text) > 400 for text in cells)


# Never article text, and removed by every extractor anyway: gone before extraction, the extractor
# and its comparison algorithms walk (and copy) a smaller tree. Forms stay: some sites wrap the whole
# page in one, and trafilatura handles them apart.
NEVER_TEXT = (
    *("head", "script", "style", "noscript", "template", "svg", "iframe", "nav", "footer", "aside", "menu"),
    *("button", "select", "input", "textarea", "label", "object", "embed", "canvas", "video", "audio"),
    *("map", "link", "meta"),
)


def strip_never_text(tree: lxml.html.HtmlElement) -> None:
    """Remove, in place, the elements that never hold article text (their tails stay)."""
    etree.strip_elements(tree, *NEVER_TEXT, with_tail=False)


def unwrap_layout_tables(tree: lxml.html.HtmlElement) -> int:
    """Turn layout tables into plain blocks, in place, so extraction sees an article, not a grid.

    An extractor given a layout table either drops the article with the grid or keeps the whole
    grid (menus, footers, "most read") as table rows. Each cell becomes a block; the table, its
    sections and rows, which are only the grid, go (their content stays): nested blocks of nothing
    made trafilatura under-read such pages, then re-read them in recall mode at three times the
    cost. A data table inside a layout table stays a table. Returns how many tables were unwrapped.
    """
    layout = [table for table in tree.iter("table") if is_layout_table(table)]
    # Decide every part's table before renaming anything: a renamed table no longer owns its parts.
    parts = [
        element
        for table in layout
        for element in [table, *table.iterdescendants(*_TABLE_PARTS)]
        if _owner(element) is table
    ]
    for element in parts:
        element.tag = "div" if element.tag in _CELLS else _UNWRAPPED
        for attribute in ("colspan", "rowspan", "cellpadding", "cellspacing", "border", "width"):
            element.attrib.pop(attribute, None)
    etree.strip_tags(tree, _UNWRAPPED)
    return len(layout)


_CELLS = frozenset({"td", "th", "caption"})
_UNWRAPPED = "ingest-unwrapped"  # a name no page uses: marks the grid's elements for removal


def _owner(element: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The table a table part belongs to: itself for a <table>, else its nearest <table> ancestor."""
    if element.tag == "table":
        return element
    return next(element.iterancestors("table"), None)


def text_key(text: str) -> str:
    """Words only, case-folded: what two renderings of one text have in common."""
    return " ".join(_WORDS.findall(text.casefold()))


def find_visible(tree: lxml.html.HtmlElement, text: str) -> str | None:
    """The text of a block of the page (outside navigation and footers) that says ``text``; a
    description cut short with "…" matches the block it was cut from."""
    wanted = text_key(text.rstrip(" .…"))
    words = text.split()
    if len(wanted) < 40 or len(words) < 6:
        return None
    # Let libxml2 find the text nodes holding an opening word (cheap: no element's whole string is
    # built), then climb from each to the block that says the whole description.
    # One word, the longest of the first few: the page may space or break words differently.
    longest = len(wanted) * 1.5
    for node in _TEXT_CONTAINING(tree, needle=max(words[:4], key=len)):
        element = node.getparent()
        while element is not None and element.tag not in _CHROME:
            raw = element.text_content()
            # A block's key is at least as long as the key of its beginning: the beginning alone
            # tells a block far too long (the article's whole body, say), without reading it all.
            if len(raw) > 8 * longest and len(text_key(raw[: int(8 * longest)])) > longest:
                break
            content = " ".join(raw.split())
            key = text_key(content)
            if key == wanted or (key.startswith(wanted) and len(key) < longest):
                return content
            if len(key) > longest:
                break
            element = element.getparent()
    return None


_CHROME = frozenset({"nav", "footer", "aside", "form", "script", "style", "noscript", "template", "head"})
# Text nodes outside the chrome, found by libxml2 (checking the ancestors in Python made an element
# proxy for each of them).
_IN_CHROME = " or ".join(f"self::{tag}" for tag in sorted(_CHROME))
_TEXT_CONTAINING = etree.XPath(f"//text()[contains(., $needle)][not(ancestor::*[{_IN_CHROME}])]")
