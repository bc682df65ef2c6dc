from __future__ import annotations

import pytest
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from ingest.langid import _identifier, detect_language

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


def test_the_float32_table_decides_as_the_stock_model_does() -> None:
    """The table is converted for speed only: every language and probability must stay the same."""
    stock = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ours = _identifier()
    for text in [*SAMPLES.values(), "Mixed: the budget, le budget, der Haushalt.", "12 345 678"]:
        expected_language, expected_probability = stock.classify(text)
        language, probability = ours.classify(text)
        assert language == expected_language
        assert probability == pytest.approx(expected_probability, abs=1e-4)
