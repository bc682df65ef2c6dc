"""The body-cleaning rules, one by one."""

from __future__ import annotations

import pytest

from ingest.textrules import (
    clean_body,
    clean_unicode,
    cut_dateline,
    cut_paywall,
    is_cut,
    is_related_line,
    join_wrapped,
)

RELATED_LINES = [
    "Lire Aussi : LA RUSSIE SERA REPRÉSENTÉE PAR LAVROV",
    "Lire aussi:Le budget voté",
    "À lire aussi - Le match",
    "Read more: How the vote went",
    "Related: Five things to know",
    "See also",
    "Lesen Sie auch: Der Streit",
    "Mehr zum Thema",
    "Leer también: El pleno",
    "Leia também: A greve",
    "Leggi anche: La partita",
    "» Voir aussi : le dossier",
]


@pytest.mark.parametrize("line", RELATED_LINES)
def test_related_lines_are_recognised(line: str) -> None:
    assert is_related_line(line)


@pytest.mark.parametrize(
    "line",
    ["Read the report before the vote, the mayor said.", "Related parties must declare their interests.",
     "Seeing also matters.", "Lire un livre aussi longtemps que possible."],
)  # fmt: skip
def test_ordinary_sentences_are_not_related_lines(line: str) -> None:
    assert not is_related_line(line)


def test_unicode_cleaning() -> None:
    raw = "Cafe\u0301\u200b au\u00a0lait\t\x07ok \r\n« guillemets »  ’apostrophe’"
    assert clean_unicode(raw) == "Café au lait ok\n« guillemets » ’apostrophe’"


@pytest.mark.parametrize(
    ("line", "following", "cut"),
    [
        ("dans la lutte contre le", "terrorisme et l’extrémisme", True),
        ("De son côté, Monsieur", "Sergueï LAVROV a réaffirmé", True),
        ("the minister said that", "The plan would work.", True),
        ("It ended well.", "The next day began.", False),
        ("A Heading About Things", "The paragraph starts here.", False),
        ("A list follows:", "- first item", False),
        ("Une phrase coupée", "en deux morceaux.", True),
        ("Sub-heading", "1. Numbered point", False),
    ],
)
def test_hard_wrap_detection(line: str, following: str, cut: bool) -> None:
    assert is_cut(line, following) is cut


def test_join_wrapped_handles_hyphenated_breaks() -> None:
    # The hyphen stays: without a dictionary "sous-régionales" and "coopé-ration" look alike,
    # and keeping it loses nothing.
    assert join_wrapped(["des questions sous-", "régionales.", "Next."]) == [
        "des questions sous-régionales.",
        "Next.",
    ]
    assert join_wrapped(["la coopération Mali-", "Russie : un pas"]) == [
        "la coopération Mali-Russie : un pas"
    ]
    assert join_wrapped(["Un titre -", "suite"]) == ["Un titre - suite"]


def test_trailing_byline_source_and_copyright_become_metadata() -> None:
    body = clean_body(
        "First paragraph is here and long enough.\nSecond one.\n"
        "Par Marie Lenoir\nSource: Le Courrier\n© 2024 Le Courrier"
    )
    assert body.paragraphs == ("First paragraph is here and long enough.", "Second one.")
    assert body.author == "Marie Lenoir"
    assert body.site_name == "Le Courrier"


def test_bare_name_at_the_end_is_an_author_guess_but_a_heading_is_not() -> None:
    named = clean_body("Body text goes here.\nMore text.\nMoussa Keita")
    assert (
        named.author_guess == "Moussa Keita" and named.author is None and named.any_author == "Moussa Keita"
    )
    heading = clean_body("Body text goes here.\nMore text.\nMali et Russie : un dialogue", title="Title")
    assert heading.any_author is None and heading.paragraphs[-1] == "Mali et Russie : un dialogue"
    for phrase in ("Pour En Savoir Plus", "Read The Full Report", "Lesen Sie Mehr Zum Thema"):
        kept = clean_body(f"Body text goes here.\nMore text.\n{phrase}", title="Title")
        assert kept.any_author is None and kept.paragraphs[-1] == phrase


def test_blank_lines_mark_paragraphs_in_plain_text() -> None:
    text = "First sentence ends here.\nSecond sentence, same paragraph.\n\nAnother paragraph\nwrapped.\n\n- a list item\n- another"
    assert clean_body(text, title="T").paragraphs == (
        "First sentence ends here. Second sentence, same paragraph.",
        "Another paragraph wrapped.",
        "- a list item",
        "- another",
    )


def test_known_title_and_near_repeats_are_removed() -> None:
    body = clean_body(
        "The Headline\nPara one.\nA Sub Heading\nPara two.\nA sub heading!\nThe headline”",
        title="The Headline",
    )
    assert body.paragraphs == ("Para one.", "A Sub Heading", "Para two.")


@pytest.mark.parametrize(
    ("paragraph", "prefix", "rest"),
    [
        ("Bamada.net- L’entretien a été marqué par une discussion franche.", "Bamada.net", "L’entretien"),
        ("Lyon (AFP) - Le maire a annoncé mardi la fermeture du pont.", "Lyon (AFP)", "Le maire"),
        (
            "BERLIN, 3. März (dpa) – Die Regierung hat am Dienstag beschlossen.",
            "BERLIN, 3. März (dpa)",
            "Die",
        ),
        ("WASHINGTON — The Senate voted on Tuesday to extend the program.", "WASHINGTON", "The Senate"),
    ],
)
def test_datelines_are_cut(paragraph: str, prefix: str, rest: str) -> None:
    cut, found = cut_dateline(paragraph, None)
    assert found == prefix
    assert cut.startswith(rest)


def test_a_sentence_with_a_dash_is_not_a_dateline() -> None:
    paragraph = "The plan - which nobody liked - was dropped on Monday after a long debate."
    assert cut_dateline(paragraph, None) == (paragraph, None)


def test_configured_labels_extend_the_table() -> None:
    assert not is_related_line("Zie ook: het verslag")
    assert is_related_line("Zie ook: het verslag", ("zie ook",))
    assert clean_body(
        "Body line one is here.\nZie ook: ander nieuws\nBody line two.", related=("zie ook",)
    ).paragraphs == (
        "Body line one is here.",
        "Body line two.",
    )


def test_paywall_box_at_the_end_is_dropped() -> None:
    lines = ["Visible paragraph one of the article, long enough.", "Visible paragraph two.",
             "Este contenido es exclusivo para suscriptores",
             "Sigue leyendo con acceso ilimitado por solo 1 € el primer mes.",
             "Suscríbete ahora ¿Ya eres suscriptor? Inicia sesión"]  # fmt: skip
    assert cut_paywall(lines) == lines[:2]


def test_an_article_about_subscriptions_is_not_a_paywall() -> None:
    lines = ["The streaming service raised its subscription price on Monday.",
             "Subscribers will pay £2 more from June.", "Analysts expect others to follow."]  # fmt: skip
    assert cut_paywall(lines) == lines


def test_credits_and_agency_sign_offs_leave_the_body() -> None:
    body = clean_body(
        "The vote passed on Tuesday evening.\nIt was close.\nReporting by Dana Whitcombe; Editing by Paul Ferrante\ngbr/cdm"
    )
    assert body.paragraphs == ("The vote passed on Tuesday evening.", "It was close.")
    assert body.author == "Dana Whitcombe"
