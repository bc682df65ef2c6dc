"""HTML helpers: fragments to text, layout tables unwrapped, a description found on its page."""

from __future__ import annotations

import lxml.html
import pytest
from lxml import etree

from ingest.html import (
    find_visible,
    html_text,
    inline_text,
    is_layout_table,
    strip_never_text,
    text_key,
    unwrap_layout_tables,
)


def page(body: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(f"<html><body>{body}</body></html>")


def markup(tree: lxml.html.HtmlElement) -> str:
    body = tree.find("body")
    assert body is not None
    return "".join(etree.tostring(child, encoding="unicode") for child in body)


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("<p>One <b>two</b></p><p>Three</p>", "One two\nThree"),
        ("<div>Line<br>Next line</div>", "Line\nNext line"),
        ("<ul><li>First</li><li>Second</li></ul>", "First\nSecond"),
        ("<h2>Heading</h2>Loose text<blockquote>Quote</blockquote>", "Heading\nLoose text\nQuote"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "ab\nc"),
        (
            "<p>Kept</p><script>alert('x')</script><style>p {color: red}</style>"
            "<noscript>Enable JavaScript</noscript><template><p>Hidden</p></template>tail",
            "Kept\ntail",
        ),
        ("<p>Tom &amp; Jerry&nbsp;&#8211; live</p>", "Tom & Jerry\xa0– live"),
        ("<p>  spaced   words  </p>\n\n<p></p>", "spaced   words"),
        ("plain text, no tags", "plain text, no tags"),
        ("   ", ""),
        ("", ""),
    ],
)
def test_html_text(fragment: str, expected: str) -> None:
    assert html_text(fragment) == expected


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("Tom &amp; Jerry &#8211; &quot;live&quot;", 'Tom & Jerry – "live"'),
        ("<b>Tom</b> &amp; <i>Jerry</i>", "Tom & Jerry"),
        ("<p>A title</p><p>on two blocks</p>", "A title on two blocks"),
        ("  Spaces \n and\ttabs  ", "Spaces and tabs"),
        ("Title<script>alert(1)</script>", "Title"),
        ("", ""),
    ],
)
def test_inline_text(fragment: str, expected: str) -> None:
    assert inline_text(fragment) == expected


DATA_TABLE = (
    '<table border="1"><caption>Votes</caption>'
    "<tr><th>Year</th><th>Votes</th></tr><tr><td>2023</td><td>120</td></tr></table>"
)
LAYOUT_TABLE = (
    '<table width="100%" cellpadding="2" cellspacing="0" border="0">'
    '<tr><td colspan="2" width="80%"><p>First paragraph.</p>'
    '<table><tr><td rowspan="2"><p>Inner paragraph.</p></td></tr></table></td></tr>'
    "<tr><td>Menu</td></tr></table>"
)


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (DATA_TABLE, False),
        (LAYOUT_TABLE, True),
        ("<table><tr><td><div>Block</div></td></tr></table>", True),
        ("<table><tr><td><ul><li>Item</li></ul></td></tr></table>", True),
        ("<table><tr><td><table><tr><td>x</td></tr></table></td></tr></table>", True),
        ("<table><tr><td>" + "x" * 401 + "</td></tr></table>", True),
        ("<table><tr><td>" + "x" * 400 + "</td></tr></table>", False),
        ("<table><tr><td><a href='/'>Link</a> <b>bold</b></td></tr></table>", False),
    ],
    ids=["data", "layout", "div", "list", "nested", "long-cell", "cell-at-limit", "inline-only"],
)
def test_is_layout_table(table: str, expected: bool) -> None:
    element = page(table).find(".//table")
    assert element is not None
    assert is_layout_table(element) is expected


def test_layout_tables_become_blocks_and_keep_their_text() -> None:
    """Each cell a block; the table and its rows, only the grid, are gone (not left as empty
    nested blocks, which made trafilatura under-read such pages and re-read them in recall mode)."""
    tree = page(LAYOUT_TABLE)
    text_before = tree.text_content()
    assert unwrap_layout_tables(tree) == 2
    assert (
        markup(tree) == "<div><p>First paragraph.</p><div><p>Inner paragraph.</p></div></div><div>Menu</div>"
    )
    assert tree.text_content() == text_before
    assert not tree.xpath("//table | //tr | //td | //*[@width or @colspan or @rowspan or @border]")


def test_data_table_stays_a_table() -> None:
    tree = page(DATA_TABLE)
    assert unwrap_layout_tables(tree) == 0
    assert markup(tree) == DATA_TABLE


def test_data_table_inside_a_layout_table_stays_a_table() -> None:
    tree = page(f"<table><tr><td><p>Article text.</p>{DATA_TABLE}</td></tr></table>")
    assert unwrap_layout_tables(tree) == 1
    assert markup(tree) == f"<div><p>Article text.</p>{DATA_TABLE}</div>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L’Assemblée, le 5 mars : «Oui» !", "l assemblée le 5 mars oui"),
        ("  HELLO\n\nworld...  ", "hello world"),
        ("Straße", "strasse"),
        ("snake_case stays", "snake_case stays"),
        ("— … —", ""),
    ],
)
def test_text_key(text: str, expected: str) -> None:
    assert text_key(text) == expected


def test_text_key_equates_renderings_of_one_text() -> None:
    assert text_key("The  council's vote:\nYES.") == text_key("the council’s vote — yes")


STANDFIRST = "The city council voted on Tuesday to approve the new budget for schools and roads."


@pytest.mark.parametrize(
    ("body", "description"),
    [
        (f'<div class="lead"><p>{STANDFIRST}</p></div><p>Body text.</p>', STANDFIRST),
        (f"<p>{STANDFIRST}</p>", "The city council voted on Tuesday to approve the new bud…"),
        (f"<p>{STANDFIRST}</p>", "The city council voted on Tuesday to approve the new budget..."),
        (
            f"<p>{STANDFIRST}</p>",
            "The city council voted on Tuesday to APPROVE the new budget: for schools, and roads!",
        ),
        (f"<h2>  {STANDFIRST.replace(' ', '  ')}</h2>", STANDFIRST),
        (f"<nav><p>{STANDFIRST}</p></nav><section><p>{STANDFIRST}</p></section>", STANDFIRST),
    ],
    ids=["exact", "ellipsis", "dots", "case-and-punctuation-after-the-first-words", "spaces", "nav-and-page"],
)
def test_find_visible_finds_the_standfirst(body: str, description: str) -> None:
    assert find_visible(page(body), description) == STANDFIRST


@pytest.mark.parametrize(
    "inline",
    [
        "strong",
        "em",
        "span",
        pytest.param("b"),
        pytest.param("a"),
    ],
)
def test_find_visible_climbs_from_an_inline_child(inline: str) -> None:
    body = f"<p><{inline}>The city council voted on Tuesday to approve</{inline}> the new budget for schools and roads.</p>"
    assert find_visible(page(body), STANDFIRST) == STANDFIRST


@pytest.mark.parametrize("chrome", ["nav", "footer", "aside", "form"])
def test_find_visible_ignores_navigation_and_footers(chrome: str) -> None:
    assert (
        find_visible(page(f"<{chrome}><div><p>{STANDFIRST}</p></div></{chrome}><p>Body.</p>"), STANDFIRST)
        is None
    )


def test_find_visible_ignores_the_head() -> None:
    tree = lxml.html.fromstring(
        f"<html><head><title>{STANDFIRST}</title></head><body><p>Body.</p></body></html>"
    )
    assert find_visible(tree, STANDFIRST) is None


@pytest.mark.parametrize(
    ("body", "description"),
    [
        (f"<p>{STANDFIRST}</p>", "The city council voted…"),
        ("<p>Short words but many of them a b c d e f g h</p>", "Short words but many of them a b c"),
        (f"<p>{STANDFIRST}</p>", "Nothing like this sentence appears anywhere on the page at all."),
        (f"<p>{STANDFIRST} {STANDFIRST} And a good deal more text after it.</p>", STANDFIRST),
        (f"<p>{STANDFIRST}</p>", STANDFIRST + " And it adds a second sentence."),
    ],
    ids=["short", "few-characters", "absent", "block-too-long", "description-longer"],
)
def test_find_visible_finds_nothing(body: str, description: str) -> None:
    assert find_visible(page(body), description) is None


def test_what_never_holds_article_text_goes_before_extraction_and_the_rest_stays() -> None:
    tree = page(
        "<nav><a href='/'>Home</a></nav><form><p>A page wrapped in a form keeps its text.</p>"
        "<input name='q'><button>Go</button></form><script>var x = 1;</script><p>Body <svg><text>"
        "logo</text></svg>tail kept.</p><aside>Most read</aside><footer>© Site</footer>"
    )
    strip_never_text(tree)
    text = " ".join(tree.text_content().split())
    assert text == "A page wrapped in a form keeps its text.Body tail kept."
    assert tree.find(".//form") is not None and tree.find(".//head") is None
