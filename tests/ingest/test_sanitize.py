"""Article HTML: sanitised under the allow-list, and only the blocks the cleaned text kept."""

from __future__ import annotations

import lxml.html
import pytest

from ingest.sanitize import article_html, paragraphs_html, sanitize

REL = 'rel="noopener noreferrer nofollow"'


def document(body: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(f"<html><body>{body}</body></html>")


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>Kept</p><script>alert(1)</script>", "<p>Kept</p>"),
        ('<p onclick="steal()">Click</p>', "<p>Click</p>"),
        ('<img src="x.png" onerror="steal()"><p>After</p>', "<p>After</p>"),
        ('<p style="color: red">Styled</p>', "<p>Styled</p>"),
        ('<p>Before</p><iframe src="https://evil.example/"></iframe>', "<p>Before</p>"),
        ('<form action="/login"><input name="password" value="x"><p>Inside</p></form>', "<p>Inside</p>"),
        ("<style>p { display: none }</style><p>Shown</p>", "<p>Shown</p>"),
        ("<p>Text<!-- a comment --></p>", "<p>Text</p>"),
        ('<div class="x"><span id="y">Loose</span></div>', "Loose"),
    ],
    ids=["script", "onclick", "onerror", "style", "iframe", "form", "style-tag", "comment", "div-span"],
)
def test_sanitize_removes_what_is_not_allowed(markup: str, expected: str) -> None:
    assert sanitize(markup) == expected


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "&#106;avascript:alert(1)",
        "&#x6A;avascript:alert(1)",
        "java&#x09;script:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "ftp://example.com/file",
    ],
)
def test_sanitize_drops_links_to_other_schemes(href: str) -> None:
    assert sanitize(f'<a href="{href}">link</a>') == f"<a {REL}>link</a>"


@pytest.mark.parametrize(
    "href",
    ["https://example.com/a?b=1&amp;c=2", "http://example.com/", "mailto:desk@example.com", "/relative/path"],
)
def test_sanitize_keeps_safe_links_and_adds_rel(href: str) -> None:
    assert sanitize(f'<a href="{href}" title="T" target="_blank" rel="opener">link</a>') == (
        f'<a href="{href}" title="T" {REL}>link</a>'
    )


def test_sanitize_keeps_allowed_tags() -> None:
    markup = (
        "<h2>Section</h2>\n"
        '<p><em>Emphasis</em>, <strong>strength</strong> and <a href="https://example.com/">a link</a>.</p>\n'
        "<ul><li>One</li><li>Two</li></ul>\n"
        '<blockquote cite="https://example.com/q"><p>A quote</p></blockquote>\n'
        '<table><thead><tr><th scope="col" colspan="2">Head</th></tr></thead>'
        '<tbody><tr><td rowspan="1">a</td><td>b</td></tr></tbody></table>'
    )
    assert sanitize(markup) == markup.replace(
        'href="https://example.com/"', f'href="https://example.com/" {REL}'
    )


def test_sanitize_strips_surrounding_space() -> None:
    assert sanitize("\n  <p>Text</p>\n\n") == "<p>Text</p>"


TEXT = (
    "Le ministre a reçu son homologue russe à New York.\n\n"
    "Les deux pays renforcent leur coopération.\n\n"
    "La réunion a duré deux heures."
)


def test_article_html_keeps_the_blocks_the_text_kept() -> None:
    markup = document(
        "<p>Le ministre a reçu son homologue <em>russe</em> à New York.</p>"
        "<p>Lire aussi : Le Mali au Conseil de sécurité</p>"
        "<h2>Les deux pays renforcent leur coopération.</h2>"
        "<p>Le ministre a reçu son homologue russe à New York.</p>"
        '<p onclick="x()">La réunion a duré <a href="https://example.com/r">deux heures</a>.</p>'
        "<p>Moussa Keita</p>"
    )
    assert article_html(markup, TEXT, None) == (
        "<p>Le ministre a reçu son homologue <em>russe</em> à New York.</p>\n"
        "<h2>Les deux pays renforcent leur coopération.</h2>\n"
        f'<p>La réunion a duré <a href="https://example.com/r" {REL}>deux heures</a>.</p>'
    )


def test_article_html_turns_h1_into_h2() -> None:
    markup = document(
        "<h1>Les deux pays renforcent leur coopération.</h1><p>La réunion a duré deux heures.</p>"
    )
    assert article_html(markup, TEXT, None) == (
        "<h2>Les deux pays renforcent leur coopération.</h2>\n<p>La réunion a duré deux heures.</p>"
    )


def test_article_html_cuts_the_dateline() -> None:
    markup = document(
        "<p>Bamada.net- le ministre a reçu son homologue russe à New York.</p>"
        "<p>Les deux pays renforcent leur coopération.</p>"
        "<p>Bamada.net- la réunion a duré deux heures.</p>"
    )
    # Only the first block is cut: the third keeps its prefix, so the text does not hold it.
    assert article_html(markup, TEXT, "Bamada.net") == (
        "<p>Le ministre a reçu son homologue russe à New York.</p>\n"
        "<p>Les deux pays renforcent leur coopération.</p>"
    )


def test_article_html_cuts_the_dateline_from_the_first_kept_block() -> None:
    markup = document(
        "<p>Accueil</p><p>  Bamada.net : le ministre a reçu son homologue russe à New York.</p>"
    )
    assert (
        article_html(markup, TEXT, "Bamada.net")
        == "<p>Le ministre a reçu son homologue russe à New York.</p>"
    )


def test_article_html_accepts_a_bare_element() -> None:
    markup = lxml.html.fromstring("<div><p>La réunion a duré deux heures.</p><p>Partager</p></div>")
    assert article_html(markup, TEXT, None) == "<p>La réunion a duré deux heures.</p>"


def test_article_html_drops_a_label_that_is_part_of_a_word() -> None:
    text = "Le conseil interdit les publicités lumineuses.\n\nLa mesure entre en vigueur en mars."
    markup = document(
        "<p>Le conseil interdit les publicités lumineuses.</p><p>Publicité</p>"
        "<p>La mesure entre en vigueur en mars.</p>"
    )
    assert article_html(markup, text, None) == (
        "<p>Le conseil interdit les publicités lumineuses.</p>\n<p>La mesure entre en vigueur en mars.</p>"
    )


@pytest.mark.parametrize(
    "markup",
    [None, document("<p>Lire aussi : autre chose</p><p>   </p>"), lxml.html.fromstring("<html></html>")],
    ids=["none", "nothing-kept", "no-body"],
)
def test_article_html_falls_back_to_paragraphs(markup: lxml.html.HtmlElement | None) -> None:
    text = "Prices < costs & rising.\n\nSecond <b>paragraph</b>."
    assert article_html(markup, text, None) == (
        "<p>Prices &lt; costs &amp; rising.</p>\n<p>Second &lt;b&gt;paragraph&lt;/b&gt;.</p>"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a < b && c", "<p>a &lt; b &amp;&amp; c</p>"),
        ('He said "yes" <script>x()</script>', '<p>He said "yes" &lt;script&gt;x()&lt;/script&gt;</p>'),
        ("One\n\nTwo\nlines\n\n\n\nThree", "<p>One</p>\n<p>Two\nlines</p>\n<p>Three</p>"),
        ("", ""),
    ],
)
def test_paragraphs_html(text: str, expected: str) -> None:
    assert paragraphs_html(text) == expected
