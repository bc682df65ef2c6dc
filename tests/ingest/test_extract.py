"""Extraction: the fallback order and what each step records as the extractor."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest import extract as extract_module
from ingest.errors import ExtractError
from ingest.extract import PRIMARY, SECONDARY, _is_article, extract, page_kind
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
    # A first configuration that filters out French pages stands for one that finds nothing.
    failing = {**PRIMARY, "target_language": "de"}
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
