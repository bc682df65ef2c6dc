"""Extraction: the fallback order and what each step records as the extractor."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest
from trafilatura.utils import load_html

from ingest import extract as extract_module
from ingest.errors import ExtractError
from ingest.extract import PRIMARY, SECONDARY, _is_article, extract, page_kind, parse_page
from ingest.models import EntryHints, Page

NOW = datetime(2024, 6, 1, tzinfo=UTC)
BODY = " ".join(
    f"Le conseil municipal a examiné le point numéro {n} de l’ordre du jour, consacré aux travaux de voirie."
    for n in range(12)
)
ARTICLE = f"""<html lang="fr"><head><title>Le conseil vote | La Gazette</title>
<meta property="og:site_name" content="La Gazette"><meta name="author" content="Marie Lenoir">
<meta property="article:published_time" content="2024-05-30T18:00:00+02:00"></head>
<body><nav><a href="/">Accueil</a></nav><article><h1>Le conseil vote</h1><p>{BODY}</p></article></body></html>"""


def page(html: str, content_type: str = "text/html; charset=utf-8") -> Page:
    return Page(
        "https://gazette.example/a", "https://gazette.example/a", 200, content_type, html.encode(), NOW
    )


def test_primary_extraction_with_page_metadata() -> None:
    found = extract(page(ARTICLE), EntryHints())
    assert found.extractor == "trafilatura"
    assert "point numéro 11" in found.text
    assert (found.title, found.author, found.site_name) == ("Le conseil vote", "Marie Lenoir", "La Gazette")
    assert found.published == "2024-05-30T18:00:00+02:00" and found.language == "fr"


def test_second_configuration_when_the_first_yields_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # A first configuration that prunes every paragraph and heading stands for one that finds nothing.
    failing = {**PRIMARY, "prune_xpath": "//p|//h1|//h2|//div"}
    monkeypatch.setattr(
        extract_module, "ATTEMPTS", (("trafilatura", failing), ("trafilatura-recall", SECONDARY))
    )
    found = extract(page(ARTICLE), EntryHints())
    assert found.extractor == "trafilatura-recall" and "point numéro 11" in found.text


def test_feed_content_when_the_page_body_contradicts_the_summary() -> None:
    summary = (
        "Les pompiers sont intervenus samedi matin pour éteindre un incendie dans un entrepôt "
        "agricole situé près de la départementale, sans faire de victimes ni de blessés graves."
    )
    content = f"<p>{summary}</p><p>Les causes du sinistre restent inconnues et une enquête est ouverte.</p>"
    found = extract(page(ARTICLE), EntryHints(title="Incendie", summary=summary, content=content))
    assert found.extractor == "feed" and "incendie" in found.text and found.title == "Incendie"


def test_page_metadata_is_kept_when_the_feed_text_is_used() -> None:
    stub = '<html><head><meta property="og:site_name" content="La Gazette"></head><body><p>Photos</p></body></html>'
    found = extract(page(stub), EntryHints(title="Galerie", content="<p>" + "Texte du flux. " * 30 + "</p>"))
    assert found.extractor == "feed" and found.site_name == "La Gazette" and found.title == "Galerie"


def test_plain_text_and_other_types() -> None:
    assert extract(page("Titre\nUn texte.", "text/plain"), EntryHints()).extractor == "plaintext"
    pdf = page("%PDF-1.7", "application/pdf")
    assert page_kind(pdf) == "other"
    assert extract(pdf, EntryHints(summary="Le résumé du flux.")).extractor == "feed"
    with pytest.raises(ExtractError, match="not a page"):
        extract(pdf, EntryHints())
    with pytest.raises(ExtractError, match="is empty"):
        extract(page("  \n ", "text/plain"), EntryHints())


def test_a_summary_too_short_to_judge_never_vetoes() -> None:
    assert _is_article(BODY, "Trois mots seulement")
    assert not _is_article("short", "")


_ODD_PAGES = [
    b"",
    b"   ",
    b"not html at all, just a sentence",
    b'<?xml version="1.0" encoding="utf-8"?><html><body><p>Declared.</p></body></html>',
    b"<!DOCTYPE html><html/><body><p>Self-closed html.</p></body>",
    "<html><head><meta charset='iso-8859-1'></head><body><p>Café à l'été.</p></body></html>".encode(
        "latin-1"
    ),
    b"<p>A lone fragment</p>",
    b"<html><body><form><input name=q><label>Search</label></form><p>Text\x00with a NUL.</p></body></html>",
]


def _fixture_pages() -> list[bytes]:
    project = Path(__file__).resolve().parents[2]
    folders = [project / "tests" / "fixtures", project / "seeds"]
    return [path.read_bytes() for folder in folders for path in sorted(folder.rglob("*.html"))]


@pytest.mark.parametrize("body", [*_ODD_PAGES, *_fixture_pages()])
def test_parse_page_reads_pages_as_trafilatura_does(body: bytes) -> None:
    """Our parser differs from trafilatura's only in how element classes are chosen (in C): the same
    tree, or the same refusal, for every page."""
    ours, theirs = parse_page(body), load_html(body)
    assert (ours is None) == (theirs is None)
    if ours is not None:
        assert lxml.html.tostring(ours) == lxml.html.tostring(theirs)
        assert all(
            isinstance(element, lxml.html.HtmlElement)
            for element in ours.iter()
            if isinstance(element.tag, str)
        )
