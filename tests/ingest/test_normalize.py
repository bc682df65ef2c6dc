"""Normalisation rules, one by one, and the seed document end to end."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ingest.html import text_key as paragraph_key
from ingest.jobs import article_job
from ingest.models import EntryHints, Page
from ingest.normalize import choose_date, language_code, plausible_person, plausible_title
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


def test_dates_are_utc_and_never_in_the_future() -> None:
    fetched = datetime(2024, 5, 1, 12, tzinfo=UTC)
    feed = datetime(2024, 4, 30, 15, 30, tzinfo=UTC)
    seen = datetime(2024, 5, 1, 11, tzinfo=UTC)
    assert choose_date("2024-04-30", feed, fetched) == (
        feed,
        "page",
    )  # same day: the feed's time is more precise
    assert choose_date("2024-04-29T10:00:00+02:00", None, fetched) == (
        datetime(2024, 4, 29, 8, tzinfo=UTC),
        "page",
    )
    assert choose_date("2031-01-01", None, fetched) == (fetched, "page")  # clamped to the fetch time
    assert choose_date("not a date", feed, fetched) == (feed, "feed")
    assert choose_date("1970-01-01", None, fetched, seen) == (seen, "first_seen")
    assert choose_date(None, None, fetched) == (None, None)


def test_metadata_plausibility() -> None:
    assert plausible_title("Accueil", None) is None
    assert plausible_title("Le Courrier", "Le Courrier") is None
    assert plausible_title("  Budget voté  ", "Le Courrier") == "Budget voté"
    assert plausible_person("Redacción") is None and plausible_person("Redação Correio Serrano") is None
    assert plausible_person("Afficher mon profil complet") is None
    assert plausible_person("Marie Lenoir") == "Marie Lenoir"
    assert plausible_person("Julie Marsac, Thomas Brévière") == "Julie Marsac, Thomas Brévière"
    assert plausible_person("Jean de La Fontaine") == "Jean de La Fontaine"


def test_language_codes() -> None:
    assert language_code(None, "fr-FR") == "fr"
    assert language_code("en_GB") == "en"
    assert language_code("", "not a tag!", "de") == "de"
