"""Article HTML for readers that want markup: only what the text kept, sanitised under an allow-list.

The markup comes from the extractor (paragraphs, headings, lists, quotes, emphasis, links). Blocks
the normaliser removed from the text (related links, bylines, repeats) are removed here too, then
nh3 keeps only the tags and attributes below: no scripts, no event handlers, no styles, no forms or
frames, and links only to http, https and mailto.
"""

from __future__ import annotations

import html
from functools import cache
from importlib.metadata import version

import nh3
from lxml import etree

from ingest.html import text_key

SANITIZER_VERSION = f"nh3 {version('nh3')}"
ALLOWED_TAGS = frozenset(
    {
        "p",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "blockquote",
        "pre",
        "code",
        "em",
        "strong",
        "b",
        "i",
        "u",
        "s",
        "a",
        "br",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "caption",
        "sub",
        "sup",
        "q",
        "cite",
        "abbr",
        "del",
        "ins",
        "hr",
        "dl",
        "dt",
        "dd",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "q": {"cite"},
    "blockquote": {"cite"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
_HEADINGS = {"h1": "h2"}  # the article's own title is stored apart; any other h1 becomes a section heading


@cache
def _cleaner() -> nh3.Cleaner:
    # Built once: nh3.clean with options builds a new sanitiser on every call (a fifth of its cost).
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def sanitize(markup: str) -> str:
    return str(_cleaner().clean(markup)).strip()


def article_html(
    markup: etree._Element | None, text: str, dateline: str | None, key: str | None = None
) -> str:
    """The blocks of ``markup`` (the extractor's simplified HTML tree) whose text the cleaned
    ``text`` kept, sanitised; plain paragraphs when there is no markup. ``key``: the text's
    :func:`text_key`, when the caller has it."""
    body = None if markup is None else markup.find("body") if markup.tag == "html" else markup
    if body is None:
        return paragraphs_html(text)
    # Padded: whole words only ("publicité" is not in "publicités").
    kept_text = f" {key if key is not None else text_key(text)} "
    seen: set[str] = set()
    for block in list(body):
        if not isinstance(block.tag, str):
            body.remove(block)
            continue
        if dateline and not seen:  # the dateline opens the first block the text kept
            _cut_prefix(block, dateline)
        key = text_key("".join(block.itertext()))
        if not key or key in seen or f" {key} " not in kept_text:
            body.remove(block)
            continue
        seen.add(key)
        block.tag = _HEADINGS.get(block.tag, block.tag)
        block.tail = "\n"
    if not len(body):
        return paragraphs_html(text)
    # One serialisation of what is left; nh3 removes the <body> wrapper with everything not allowed.
    return sanitize(etree.tostring(body, encoding="unicode", method="html"))


def paragraphs_html(text: str) -> str:
    """Plain paragraphs, for texts that came without markup (plain-text documents)."""
    return sanitize("".join(f"<p>{html.escape(p, quote=False)}</p>\n" for p in text.split("\n\n") if p))


def _cut_prefix(block: etree._Element, prefix: str) -> None:
    """Remove a dateline ("Bamada.net- ") from the start of a block's first text."""
    if block.text and block.text.lstrip().startswith(prefix):
        rest = block.text.lstrip()[len(prefix) :].lstrip(" -–—:")
        block.text = rest[:1].upper() + rest[1:]
