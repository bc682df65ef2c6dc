"""Normalisation rules, one by one, and the seed document end to end."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.cpu import article_job
from ingest.models import EntryHints, Page
from ingest.normalize import (
    choose_date,
    clean_body,
    clean_unicode,
    cut_dateline,
    is_cut,
    is_related_line,
    join_wrapped,
    paragraph_key,
)
from tests.support.golden import check_golden

ROOT = Path(__file__).parent.parent.parent
SEED = ROOT / "seeds" / "000_f127e61b93428a51.txt"
SEED_TITLE = (
    "Rencontre Cruciale entre les Ministres des Affaires étrangères du Mali et de la Russie "
    "à l’Assemblée Générale de l’ONU"
)


def _seed_article() -> dict[str, object]:
    fetched = datetime(2024, 1, 1, tzinfo=UTC)
    page = Page(SEED.as_uri(), SEED.as_uri(), 200, "text/plain; charset=utf-8", SEED.read_bytes(), fetched)
    draft = article_job(page, EntryHints(), SEED.as_uri(), fetched.isoformat())
    return {"title": draft.title, "author": draft.author, "site_name": draft.site_name,
            "language": draft.language, "extractor": draft.extractor, "text": draft.text}  # fmt: skip


def test_seed_golden() -> None:
    check_golden(_seed_article(), ROOT / "tests" / "fixtures" / "normalize" / "seed.expected.json")


def test_seed_meets_the_issue() -> None:
    article = _seed_article()
    text = str(article["text"])
    assert article["title"] == SEED_TITLE
    assert article["author"] == "Moussa Keita"
    assert article["site_name"] == "Bamada.net"
    assert article["language"] == "fr"
    assert "Lire Aussi" not in text and "lire aussi" not in text.casefold()
    paragraphs = text.split("\n\n")
    keys = [paragraph_key(p) for p in paragraphs]
    assert len(keys) == len(set(keys)), "a paragraph appears twice"
    assert paragraph_key(SEED_TITLE) not in keys, "the title is repeated in the body"
    assert "lutte contre le terrorisme" in text and "De son côté, Monsieur Sergueï LAVROV" in text
    assert "la coopération internationale et la stabilité régionale" in text
    assert not text.startswith("Bamada.net") and "Bamada.net-" not in text
    assert "Moussa Keita" not in text and "Source:" not in text
    # Every line of the seed is in the body verbatim, unless it is a related-link line, the title,
    # a repeat of an earlier heading, or the byline and source now in the metadata.
    flat = " ".join(text.split())
    seen: set[str] = set()
    for line in SEED.read_text(encoding="utf-8").splitlines():
        key = paragraph_key(line)
        if (
            line.startswith("Lire Aussi")
            or line == SEED_TITLE
            or key in seen
            or line in {"Moussa Keita", "Source: Bamada.net"}
        ):
            continue
        seen.add(key)
        assert line.removeprefix("Bamada.net- ") in flat, line


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


def test_bare_name_at_the_end_is_the_author_but_a_heading_is_not() -> None:
    assert clean_body("Body text goes here.\nMore text.\nMoussa Keita").author == "Moussa Keita"
    heading = clean_body("Body text goes here.\nMore text.\nMali et Russie : un dialogue", title="Title")
    assert heading.author is None and heading.paragraphs[-1] == "Mali et Russie : un dialogue"


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


def test_dates_are_utc_and_never_in_the_future() -> None:
    fetched = datetime(2024, 5, 1, 12, tzinfo=UTC)
    feed = datetime(2024, 4, 30, 15, 30, tzinfo=UTC)
    assert choose_date("2024-04-30", feed, fetched) == feed  # same day: the feed's time is more precise
    assert choose_date("2024-04-29T10:00:00+02:00", None, fetched) == datetime(2024, 4, 29, 8, tzinfo=UTC)
    assert choose_date("2031-01-01", None, fetched) == fetched
    assert choose_date("not a date", feed, fetched) == feed
    assert choose_date(None, None, fetched) is None
