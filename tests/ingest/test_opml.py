"""OPML import and export: folders as categories, encodings, hostile documents, round trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from xml.etree.ElementTree import fromstring

import pytest

from ingest.errors import IngestError
from ingest.opml import OpmlError, OutlineFeed, parse_opml, render_opml

NESTED = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="Top level" type="rss" xmlUrl="https://top.example/feed" htmlUrl="https://top.example/"/>
    <outline text="Tech">
      <outline text="Tech feed" xmlUrl="https://tech.example/rss"/>
      <outline title="Python">
        <outline text="  Planet Python  " xmlUrl="  https://planetpython.org/rss20.xml  "/>
        <outline text="Async">
          <outline text="Deep" type="rss" xmlUrl="https://deep.example/atom.xml" category="/News,/Weekly/Digest"/>
        </outline>
      </outline>
    </outline>
  </body>
</opml>
"""


def _opml(outlines: str, encoding: str = "UTF-8") -> bytes:
    document = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<opml version="2.0"><body>{outlines}</body></opml>'
    )
    return document.encode(encoding)


def _by_url(feeds: list[OutlineFeed]) -> dict[str, OutlineFeed]:
    return {feed.url: feed for feed in feeds}


def test_nested_folders_become_category_paths() -> None:
    feeds = parse_opml(NESTED)
    assert [f.url for f in feeds] == [
        "https://top.example/feed",
        "https://tech.example/rss",
        "https://planetpython.org/rss20.xml",
        "https://deep.example/atom.xml",
    ]
    by_url = _by_url(feeds)
    assert by_url["https://top.example/feed"] == OutlineFeed(
        "https://top.example/feed", "Top level", "https://top.example/", ()
    )
    assert by_url["https://tech.example/rss"].categories == ("Tech",)
    assert by_url["https://planetpython.org/rss20.xml"].categories == ("Tech/Python",)
    assert by_url["https://planetpython.org/rss20.xml"].title == "Planet Python"
    assert by_url["https://deep.example/atom.xml"].categories == (
        "Tech/Python/Async",
        "News",
        "Weekly/Digest",
    )


def test_category_attribute_entries_are_trimmed_and_deduplicated() -> None:
    feeds = parse_opml(
        _opml(
            '<outline text="News">'
            '<outline text="A" xmlUrl="http://a.example/feed" category=" /Tech/ Python , News,/,/Tech/Python"/>'
            "</outline>"
        )
    )
    assert feeds[0].categories == ("News", "Tech/Python")


def test_missing_attributes() -> None:
    feeds = parse_opml(
        _opml(
            '<outline xmlUrl="http://untitled.example/feed"/>'
            '<outline title="Only a title" xmlUrl="http://titled.example/feed"/>'
            '<outline text="   " xmlUrl="http://blank.example/feed"/>'
            '<outline text="A link, not a feed" type="link" url="http://link.example/"/>'
            '<outline text="Empty folder"/>'
            '<outline text="No address" xmlUrl="  "/>'
        )
    )
    assert feeds == [
        OutlineFeed("http://untitled.example/feed", None, None, ()),
        OutlineFeed("http://titled.example/feed", "Only a title", None, ()),
        OutlineFeed("http://blank.example/feed", None, None, ()),
    ]


def test_only_http_feeds_are_kept() -> None:
    feeds = parse_opml(
        _opml(
            '<outline text="ftp" xmlUrl="ftp://files.example/feed.xml"/>'
            '<outline text="js" xmlUrl="javascript:alert(1)"/>'
            '<outline text="file" xmlUrl="file:///etc/passwd"/>'
            '<outline text="relative" xmlUrl="/feed.xml"/>'
            '<outline text="ok" xmlUrl="HTTPS://ok.example/feed" htmlUrl="javascript:alert(1)"/>'
        )
    )
    assert feeds == [OutlineFeed("HTTPS://ok.example/feed", "ok", None, ())]


def test_repeated_feed_is_kept_once_with_the_categories_of_each_place() -> None:
    feeds = parse_opml(
        _opml(
            '<outline text="Tech"><outline text="First" xmlUrl="https://dup.example/feed" category="/Later"/></outline>'
            '<outline text="Other" xmlUrl="https://other.example/feed"/>'
            '<outline text="News"><outline text="Second" xmlUrl="https://dup.example/feed"/></outline>'
            '<outline text="Tech"><outline text="Third" xmlUrl="https://dup.example/feed"/></outline>'
        )
    )
    assert feeds == [
        OutlineFeed("https://dup.example/feed", "First", None, ("Tech", "Later", "News")),
        OutlineFeed("https://other.example/feed", "Other", None, ()),
    ]


def test_iso_8859_1_document() -> None:
    data = _opml(
        '<outline text="Café Crème"><outline text="Économie" xmlUrl="http://é.example/flux"/></outline>',
        "ISO-8859-1",
    )
    assert "Café".encode("latin-1") in data  # really single-byte, not UTF-8
    assert parse_opml(data) == [OutlineFeed("http://é.example/flux", "Économie", None, ("Café Crème",))]


def test_utf16_document_with_bom() -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?>\n<opml version="2.0"><body><outline text="Ελληνικά" xmlUrl="http://gr.example/rss"/></body></opml>'
    data = text.encode("utf-16")
    assert data.startswith((b"\xff\xfe", b"\xfe\xff"))
    assert parse_opml(data) == [OutlineFeed("http://gr.example/rss", "Ελληνικά", None, ())]


def test_malformed_xml_names_the_line() -> None:
    data = b'<?xml version="1.0"?>\n<opml version="2.0">\n<body>\n<outline text="a" xmlUrl="http://a.example/">\n</body>\n</opml>\n'
    with pytest.raises(OpmlError) as raised:
        parse_opml(data)
    assert raised.value.code == "opml.malformed"
    assert raised.value.message == "line 5, column 3: mismatched tag"
    assert isinstance(raised.value, IngestError)


@pytest.mark.parametrize("data", [b"", b"   ", b"not xml at all"])
def test_empty_or_not_xml_is_malformed(data: bytes) -> None:
    with pytest.raises(OpmlError) as raised:
        parse_opml(data)
    assert raised.value.code == "opml.malformed"
    assert "line 1" in raised.value.message


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<opml version="2.0"><body><outline text="&lol9;" xmlUrl="http://a.example/feed"/></body></opml>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&secret;" xmlUrl="http://a.example/feed"/></body></opml>
"""
PLAIN_DOCTYPE = b'<?xml version="1.0"?>\n<!DOCTYPE opml SYSTEM "http://dtd.example/opml.dtd">\n<opml version="2.0"><body/></opml>'


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY, PLAIN_DOCTYPE])
def test_dtds_and_entities_are_refused(data: bytes) -> None:
    with pytest.raises(OpmlError) as raised:
        parse_opml(data)
    assert raised.value.code == "opml.forbidden"
    assert raised.value.message.startswith("line 2: ")


def test_a_root_other_than_opml_is_refused() -> None:
    with pytest.raises(OpmlError) as raised:
        parse_opml(b'<?xml version="1.0"?>\n\n<rss version="2.0"><channel/></rss>')
    assert raised.value.code == "opml.not_opml"
    assert raised.value.message == "line 3: the root element is <rss>, not <opml>"


def test_an_opml_without_body_is_refused() -> None:
    with pytest.raises(OpmlError) as raised:
        parse_opml(b'<?xml version="1.0"?>\n<opml version="2.0">\n<head><title>t</title></head>\n</opml>')
    assert raised.value.code == "opml.no_body"
    assert raised.value.message == "line 2: <opml> has no <body>"


def test_render_nests_folders_by_first_category_and_writes_the_others() -> None:
    feeds = [
        OutlineFeed("https://loose.example/feed", "Loose", None, ()),
        OutlineFeed(
            "https://py.example/feed",
            'Py & "friends" <3',
            "https://py.example/",
            ("Tech/Python", "News", "A/B"),
        ),
        OutlineFeed("https://tech.example/feed", None, None, ("Tech",)),
    ]
    data = render_opml(feeds, title="Mine & yours")
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = fromstring(data)
    assert root.tag == "opml"
    assert root.get("version") == "2.0"
    assert root.findtext("head/title") == "Mine & yours"
    created = parsedate_to_datetime(root.findtext("head/dateCreated") or "")
    assert abs(created - datetime.now(UTC)) < timedelta(minutes=1)
    loose, tech = root.findall("body/outline")
    assert loose.attrib == {
        "type": "rss",
        "text": "Loose",
        "title": "Loose",
        "xmlUrl": "https://loose.example/feed",
    }
    assert tech.attrib == {"text": "Tech"}
    python, untitled = tech.findall("outline")
    assert untitled.attrib == {"type": "rss", "text": "", "xmlUrl": "https://tech.example/feed"}
    assert python.get("text") == "Python"
    (py,) = python.findall("outline")
    assert py.attrib == {
        "type": "rss",
        "text": 'Py & "friends" <3',
        "title": 'Py & "friends" <3',
        "xmlUrl": "https://py.example/feed",
        "htmlUrl": "https://py.example/",
        "category": "/News,/A/B",
    }


def test_render_drops_characters_xml_cannot_carry() -> None:
    data = render_opml([OutlineFeed("https://a.example/feed", "bell\x07 and\x00 nul", None, ())])
    assert parse_opml(data)[0].title == "bell and nul"


def _unordered(feeds: list[OutlineFeed]) -> list[tuple[str, str | None, str | None, frozenset[str]]]:
    """The feeds without their order, nor their categories' (export groups feeds by folder)."""
    return sorted((f.url, f.title, f.html_url, frozenset(f.categories)) for f in feeds)


def test_round_trip_gives_the_same_feeds() -> None:
    document = NESTED.replace(
        b"</body>",
        b'<outline text="Tagged" xmlUrl="http://tagged.example/" category="/Z,/Y/X"/>'
        b'<outline text="AC/DC"><outline text="Band" xmlUrl="http://band.example/rss"/></outline>'
        b'<outline text="News"><outline text="Again" xmlUrl="https://tech.example/rss"/></outline>'
        b"</body>",
    )
    imported = parse_opml(document)
    exported = render_opml(imported)
    assert _unordered(parse_opml(exported)) == _unordered(imported)
    assert parse_opml(render_opml(parse_opml(exported))) == parse_opml(exported)


def test_round_trip_of_an_empty_list() -> None:
    assert parse_opml(render_opml([])) == []
