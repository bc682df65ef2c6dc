from __future__ import annotations

from pathlib import Path

import pytest

from ingest.langid import SAMPLE_CHARS, detect_language

SAMPLES = {
    "fr": "Le conseil municipal a voté mardi soir le budget de la nouvelle médiathèque, dont les travaux "
    "commenceront au printemps si les subventions de la région sont confirmées d'ici là.",
    "en": "The city council approved the budget for the new library on Tuesday evening, and work will "
    "start in the spring if the regional grants are confirmed by then.",
    "de": "Der Stadtrat hat am Dienstagabend den Haushalt für die neue Bibliothek beschlossen; die "
    "Bauarbeiten beginnen im Frühjahr, wenn die Zuschüsse des Landes bis dahin bestätigt sind.",
    "es": "El ayuntamiento aprobó el martes por la noche el presupuesto de la nueva biblioteca, cuyas "
    "obras comenzarán en primavera si las subvenciones regionales se confirman antes.",
    "pt": "A câmara municipal aprovou na terça-feira à noite o orçamento da nova biblioteca, cujas obras "
    "começam na primavera se os apoios da região forem confirmados até lá.",
}


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_a_paragraph_is_identified(language: str) -> None:
    assert detect_language(SAMPLES[language]) == language


def test_too_little_text_is_not_guessed() -> None:
    assert detect_language("Mardi soir.") is None
    assert detect_language("   \n\n  ") is None


def test_capitals_and_long_texts_are_identified() -> None:
    assert detect_language(SAMPLES["de"].upper()) == "de"
    assert detect_language(SAMPLES["pt"] * 20) == "pt"  # only a sample is read
    assert len(SAMPLES["pt"] * 20) > SAMPLE_CHARS


@pytest.mark.parametrize("odd", ["\ud800", "\x00", "\u202e", "\ufeff", "🙂"])
def test_odd_characters_do_not_stop_identification(odd: str) -> None:
    """A lone surrogate (JSON feeds may escape one) made fastText raise."""
    assert detect_language(SAMPLES["fr"].replace(" ", f" {odd}", 3)) == "fr"


def test_lines_are_read_as_one_text() -> None:
    """fastText reads one line at a time: a paragraph break must not cut the sample."""
    assert detect_language(SAMPLES["es"].replace(", ", ",\n\n")) == "es"


def _labelled_paragraphs() -> list[tuple[str, str]]:
    """Paragraphs of 300 characters or more from the labelled pages' expected texts, with the
    language their file name gives (``fr_01_….txt``)."""
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    found = []
    for text_file in sorted([*fixtures.glob("pages/*.txt"), *fixtures.glob("pages_holdout/*.txt")]):
        language = text_file.stem.split("_")[0]
        found += [
            (language, line) for line in text_file.read_text(encoding="utf-8").split("\n") if len(line) >= 300
        ]
    return found


def test_the_sample_is_long_enough_for_every_labelled_paragraph() -> None:
    paragraphs = _labelled_paragraphs()
    assert len(paragraphs) > 150 and len({language for language, _ in paragraphs}) >= 6
    wrong = [
        (language, text[:SAMPLE_CHARS]) for language, text in paragraphs if detect_language(text) != language
    ]
    assert wrong == []
