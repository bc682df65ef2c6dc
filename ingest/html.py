"""Small HTML-to-text helpers for feed fields (titles, summaries, content), which are fragments."""

from __future__ import annotations

import html

import lxml.html
from lxml import etree

_BLOCKS = frozenset(
    {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "section",
     "article", "header", "footer", "ul", "ol", "table", "figure", "figcaption", "dd", "dt", "hr"}
)  # fmt: skip
_DROPPED = ("script", "style", "noscript", "template")


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
