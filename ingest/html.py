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


def html_text(fragment: str) -> str:
    """Visible text of an HTML fragment, one line per block."""
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


def unwrap_layout_tables(tree: lxml.html.HtmlElement) -> int:
    """Turn layout tables into plain blocks, in place, so extraction sees an article, not a grid.

    An extractor given a layout table either drops the article with the grid or keeps the whole
    grid (menus, footers, "most read") as table rows. Returns how many tables were unwrapped.
    """
    unwrapped = 0
    for table in list(tree.iter("table")):
        if table.getparent() is None or not is_layout_table(table):
            continue
        for element in [table, *table.iterdescendants(*_TABLE_PARTS)]:
            if element.tag in _TABLE_PARTS:
                element.tag = "div"
                for attribute in ("colspan", "rowspan", "cellpadding", "cellspacing", "border", "width"):
                    element.attrib.pop(attribute, None)
        unwrapped += 1
    return unwrapped


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
    # Let libxml2 find the few blocks holding the first words, then compare them properly.
    needle = " ".join(words[:6])
    for innermost in _CONTAINS(tree, needle=needle):
        if any(ancestor.tag in _CHROME for ancestor in innermost.iterancestors()):
            continue
        element: lxml.html.HtmlElement | None = innermost
        while element is not None:  # the needle may sit in an inline child (<strong>) of the block
            content = " ".join(element.text_content().split())
            key = text_key(content)
            if key == wanted or (key.startswith(wanted) and len(key) < len(wanted) * 1.5):
                return content
            if len(key) > len(wanted) * 1.5:
                break
            element = element.getparent()
    return None


_CHROME = frozenset({"nav", "footer", "aside", "form", "script", "style", "noscript", "template", "head"})
_CONTAINS = etree.XPath(
    "//*[self::p or self::div or self::h2 or self::h3 or self::span or self::strong or self::em]"
    "[contains(normalize-space(.), $needle)][not(*[contains(normalize-space(.), $needle)])]"
)
