"""Per-source keep and block rules: the syntax, how they match, and that a blocked entry is never
fetched (the loopback server counts every request), is remembered and is counted once."""

from __future__ import annotations

import asyncio
import json
from html import escape
from pathlib import Path

import pytest
from sqlmodel import col, select

from ingest.errors import ConfigError
from ingest.filters import (
    Decision,
    EntryFields,
    Filters,
    after_extraction,
    before_fetch,
    decide,
    parse_rule,
    stored,
)
from ingest.opening import open_database
from ingest.parse import parse_feed
from ingest.pipeline import Pipeline, RunSummary
from ingest.settings import Settings, load_settings
from storage.tables import Article, Sighting, Source
from tests.conftest import make_settings
from tests.ingest.test_cli import ingest, json_lines, write_config
from tests.support.newsroom import story
from tests.support.server import LoopbackServer, Route

RSS = "application/rss+xml"


def fields(
    title: str | None = None,
    link: str | None = None,
    author: str | None = None,
    categories: tuple[str, ...] = (),
    body: str | None = None,
) -> EntryFields:
    return EntryFields(title, link, author, categories, body)


def rules(keep: tuple[str, ...] = (), block: tuple[str, ...] = ()) -> Filters:
    return Filters.parse(keep, block)


# --- syntax ------------------------------------------------------------------------------------


def test_a_rule_is_an_optional_field_and_words_or_a_regex() -> None:
    words = parse_rule("sponsored")
    assert (words.field, words.fields, words.needs_body) == (None, ("title", "link", "author", "categories", "body"), True)  # fmt: skip
    assert parse_rule("categories:Sport").field == "categories"
    assert parse_rule("Title: Live coverage").field == "title"  # field names in any case, spaces around
    regex = parse_rule("title:/^Live:/")
    assert regex.field == "title" and not regex.needs_body and regex.text == "title:/^Live:/"
    assert parse_rule("body:climate change").needs_body
    assert parse_rule("title:Live: coverage").field == "title"  # only the first colon names a field
    url = parse_rule("https://ads.example/")
    assert url.field is None and url.pattern.search("see https://ads.example/ now")
    assert parse_rule("/a/b/").pattern.pattern == "a/b"  # from the first slash to the last


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty rule"),
        ("   ", "empty rule"),
        ("Live: coverage", "unknown field 'Live'"),
        ("summary:words", "unknown field 'summary'"),
        ("title:", "nothing to match"),
        ("title:/(unclosed/", "not a valid regular expression"),
        ("/[a-/", "not a valid regular expression"),
        ("title:/^Live", "no closing /"),
        ("/live/x", "unknown flag 'x'"),
        ("//", "regular expression is empty"),
    ],
)
def test_bad_rules_say_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_rule(text)


# --- matching ----------------------------------------------------------------------------------


def test_words_match_whole_words_in_order_case_insensitively() -> None:
    sport = parse_rule("sport").pattern
    assert sport.search("SPORT today") and sport.search("(sport)") and sport.search("Sport.")
    assert not sport.search("public transport") and not sport.search("sports")
    phrase = parse_rule("body:climate change").pattern
    assert phrase.search("the Climate\n  Change summit")
    assert not phrase.search("change of climate") and not phrase.search("climate changes")
    assert parse_rule("C++").pattern.search("why c++ is hard")  # \b alone would miss it
    assert parse_rule("link:example.com").pattern.search("https://www.example.com/x")
    assert not parse_rule("link:example.com").pattern.search("https://www.examplexcom.org/")


def test_regexes_search_case_insensitively_unless_told() -> None:
    assert parse_rule("title:/^live:/").pattern.search("LIVE: the count")
    assert not parse_rule("title:/^live:/").pattern.search("Not live: yet")
    case_sensitive = parse_rule("title:/^Live:/c").pattern
    assert case_sensitive.search("Live: the count") and not case_sensitive.search("LIVE: the count")
    assert parse_rule("title:/^Live:/ci").pattern.search("LIVE: x")  # the last flag wins


def test_each_field_is_matched_on_its_own() -> None:
    entry = fields(
        "Cup final", "https://news.example/sport/cup", "Ann Lee", ("Sport", "Local news"), "A match."
    )
    assert decide(rules(block=("title:final",)), entry).blocked
    assert decide(rules(block=("link:/\\/sport\\//",)), entry).blocked
    assert decide(rules(block=("author:lee",)), entry).blocked
    assert decide(rules(block=("categories:local news",)), entry).blocked
    assert decide(rules(block=("body:match",)), entry).blocked
    assert decide(rules(block=("categories:/^local$/",)), entry).kept  # one category at a time
    assert decide(rules(block=("title:match",)), entry).kept  # in the body, not in the title
    assert decide(rules(block=("match",)), entry).blocked  # no field: any of them
    assert decide(rules(block=("Ann",)), fields()).kept  # absent fields match nothing


def test_block_wins_keep_needs_a_match_and_the_decision_names_its_rule() -> None:
    both = rules(keep=("categories:Sport", "title:final"), block=("title:/^Sponsored/",))
    kept = decide(both, fields("Cup final", categories=("Sport",)))
    assert kept == Decision(True, both.keep[0]) and kept.reason == "keep rule 'categories:Sport' matched"
    blocked = decide(both, fields("Sponsored: the final", categories=("Sport",)))
    assert blocked.blocked and blocked.rule == both.block[0]
    assert blocked.reason == "block rule 'title:/^Sponsored/' matched"
    nothing = decide(both, fields("Weather", categories=("Local",)))
    assert nothing.blocked and nothing.rule is None and nothing.reason == "no keep rule matched"
    assert decide(Filters(), fields("Anything")).kept and not Filters()


# --- phases ------------------------------------------------------------------------------------


def test_before_fetch_decides_on_the_feed_alone_and_leaves_the_body_for_later() -> None:
    feed_only = rules(keep=("categories:Sport",), block=("link:promo",))
    assert before_fetch(
        feed_only, fields("x", "https://a.example/promo/1", categories=("Sport",))
    ) == Decision(False, feed_only.block[0])
    assert before_fetch(feed_only, fields("x", categories=("Weather",))) == Decision(False)
    assert before_fetch(feed_only, fields("x", categories=("sport",))) == Decision(True, feed_only.keep[0])
    # The body is never looked at before fetching, even when given.
    body_block = rules(block=("body:casino",))
    assert before_fetch(body_block, fields("Casino night", body="casino")) is None
    # A field-less rule matching the feed's fields is enough; otherwise the body may still match.
    anywhere = rules(block=("casino",))
    assert before_fetch(anywhere, fields("Casino night")) == Decision(False, anywhere.block[0])
    assert before_fetch(anywhere, fields("Night out")) is None
    # Kept by a feed rule, but a body rule could still block it; blocked whatever the body says.
    mixed = rules(keep=("title:harbour",), block=("body:casino",))
    assert before_fetch(mixed, fields("Harbour news")) is None
    assert before_fetch(mixed, fields("Weather")) == Decision(False)
    assert before_fetch(rules(keep=("body:harbour",)), fields("Weather")) is None


def test_after_extraction_decides_on_the_text() -> None:
    mixed = rules(keep=("title:harbour", "body:ferry"), block=("body:casino",))
    assert after_extraction(mixed, fields("Harbour news", body="Boats.")).kept
    assert after_extraction(mixed, fields("Weather", body="The ferry is late.")).kept
    assert after_extraction(mixed, fields("Weather", body="Rain.")) == Decision(False)
    assert after_extraction(mixed, fields("Harbour news", body="A casino opens.")).blocked
    # The sighting keeps the categories: every rule is tried as written, also after extraction.
    by_category = rules(keep=("categories:Sport", "body:football"), block=("body:casino",))
    assert after_extraction(by_category, fields("Cup final", categories=("Sport",), body="A match.")).kept
    assert after_extraction(
        by_category, fields("Cup final", categories=("Sport",), body="At the casino.")
    ).blocked
    assert not after_extraction(by_category, fields("Cup final", categories=("News",), body="A match.")).kept
    anywhere = rules(keep=("sport",))
    assert after_extraction(anywhere, fields("Cup final", categories=("Sport",), body="A match.")).kept


def test_filters_travel_as_json() -> None:
    both = rules(keep=("categories:Sport",), block=("title:/^Live:/c", "body:climate change"))
    text = both.to_json()
    assert text is not None and json.loads(text) == {"keep": ["categories:Sport"], "block": ["title:/^Live:/c", "body:climate change"]}  # fmt: skip
    assert Filters.from_json(text) == both and not Filters.from_json(None) and Filters().to_json() is None
    assert both.needs_body and not rules(keep=("categories:Sport",)).needs_body
    with pytest.raises(ConfigError, match="stored filters are invalid") as raised:
        stored('{"block": ["title:/(/"]}')
    assert raised.value.code == "config.filters"
    for bad in ("[]", '{"drop": []}', '{"keep": "x"}', "not json"):
        with pytest.raises(ValueError, match=r"JSON|lists of rules"):
            Filters.from_json(bad)


def test_feeds_give_their_categories() -> None:
    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>https://a.example/</link>'
        b"<item><title>One</title><link>https://a.example/1</link><category>Sport</category>"
        b"<category> Local </category><category>sport</category></item></channel></rss>"
    )
    assert parse_feed(rss, "https://a.example/feed").entries[0].categories == ("Sport", "Local")
    atom = (
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
        b"<id>urn:x</id><updated>2024-01-01T00:00:00Z</updated><entry><title>One</title><id>urn:1</id>"
        b'<link href="https://a.example/1"/><updated>2024-01-01T00:00:00Z</updated>'
        b'<category term="sport" label="Sport news"/></entry></feed>'
    )
    assert parse_feed(atom, "https://a.example/feed").entries[0].categories == ("sport", "Sport news")
    jsonfeed = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "T",
            "items": [
                {"id": "1", "url": "https://a.example/1", "content_text": "x", "tags": ["Sport", 3, ""]}
            ],
        }
    ).encode()
    parsed = parse_feed(jsonfeed, "https://a.example/feed.json", "application/feed+json")
    assert parsed.entries[0].categories == ("Sport",)


# --- configuration -----------------------------------------------------------------------------


def test_a_bad_rule_in_the_config_names_the_source_the_key_and_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "ingest.toml"
    path.write_text(
        '[[sources]]\nname = "news"\nurl = "https://a.example/feed"\n'
        "keep = ['categories:Sport']\nblock = ['sponsored', 'title:/(unclosed/']\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_settings(str(path), environ={})
    message = raised.value.message
    assert str(path) in message and "sources[0].block (name 'news')" in message
    assert "'title:/(unclosed/'" in message and "not a valid regular expression" in message
    path.write_text('[[sources]]\nname = "news"\nurl = "https://a.example/feed"\nkeep = ["Live: now"]\n')
    with pytest.raises(
        ConfigError, match=r"sources\[0\].keep \(name 'news'\): rule 'Live: now': unknown field"
    ):
        load_settings(str(path), environ={})


def test_a_bad_rule_exits_2_without_a_traceback(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, '[[sources]]\nname = "news"\nurl = "https://a.example/feed"\nblock = [\'/[a-/\']\n'
    )
    result = ingest("run-once", "--config", str(config))
    assert result.returncode == 2, result.stderr
    assert (
        "sources[0].block (name 'news')" in result.stderr
        and "not a valid regular expression" in result.stderr
    )
    assert "Traceback" not in result.stderr


# --- end to end --------------------------------------------------------------------------------

Item = tuple[str, str, tuple[str, ...]]  # page path, title, categories


def publish(server: LoopbackServer, path: str, items: list[Item], extra: dict[str, str] | None = None) -> str:
    """A feed at ``path`` whose items link to pages of their own (each text unique); ``extra`` adds a
    paragraph to the pages it names."""
    entries = []
    for number, (page, title, categories) in enumerate(items):
        tags = "".join(f"<category>{escape(c)}</category>" for c in categories)
        entries.append(
            f"<item><title>{escape(title)}</title><link>{page}</link><guid>{page}</guid>{tags}</item>"
        )
        _, body = story(7000 + number + sum(map(ord, page)))
        more = f"<p>{(extra or {}).get(page, '')}</p>"
        html = f"<html><head><title>{escape(title)}</title></head><body><article><h1>{escape(title)}</h1>{body}{more}</article></body></html>"  # fmt: skip
        server.add(page, Route(html.encode()))
    channel = f"<title>Filtered</title><link>/</link>{''.join(entries)}"
    return server.add(path, Route(f'<?xml version="1.0"?><rss version="2.0"><channel>{channel}</channel></rss>'.encode(), content_type=RSS))  # fmt: skip


NEWS: list[Item] = [
    ("/news/harbour.html", "Harbour reopens", ("Local",)),
    ("/news/final.html", "Cup final tonight", ("Sport",)),
    ("/news/offer.html", "Sponsored: a great deal", ("Local",)),  # title, a case-sensitive regex
    ("/news/lower.html", "sponsored: said in lower case", ("Local",)),  # not that regex
    ("/news/ads.html", "Buy this now", ("Advert",)),  # categories, plain words
    ("/promo/deal.html", "Weekend deal", ("Local",)),  # link, plain words
    ("/news/night.html", "A night out", ("Local",)),  # body: fetched, then blocked
]
NEVER_FETCHED = ("/news/offer.html", "/news/ads.html", "/promo/deal.html")


def test_blocked_entries_are_never_fetched_remembered_and_counted_once(
    tmp_path: Path, server: LoopbackServer
) -> None:
    url = publish(server, "/feed.xml", NEWS, {"/news/night.html": "The new casino opened its doors."})
    config = write_config(
        tmp_path,
        f'[[sources]]\nname = "news"\nurl = "{url}"\n'
        "block = ['title:/^Sponsored:/c', 'categories:advert', 'link:promo', 'body:casino']\n",
    )
    first = ingest("run-once", "--json", "--config", str(config))
    assert first.returncode == 0, first.stderr
    (summary,) = json_lines(first.stdout)
    assert summary["entries_seen"] == 7 and summary["entries_blocked"] == 4
    assert summary["entries_new"] == 4 and summary["articles_new"] == 3  # night.html: fetched, left out
    hits = server.hit_counts()
    assert all(hits[page] == 0 for page in NEVER_FETCHED), hits
    assert hits["/news/night.html"] == 1 and hits["/news/harbour.html"] == 1
    finished = [json.loads(line) for line in first.stderr.splitlines() if '"run_finished"' in line]
    assert finished and finished[0]["entries_blocked"] == 4

    exported = ingest("export", "--config", str(config))
    titles = {json.loads(line)["title"] for line in exported.stdout.splitlines()}
    assert titles == {"Harbour reopens", "Cup final tonight", "sponsored: said in lower case"}

    # The feed changes (one more item): the blocked entries are known, neither fetched nor counted.
    publish(server, "/feed.xml", [*NEWS, ("/news/ferry.html", "Ferry timetable", ("Local",))])
    second = ingest("run-once", "--json", "--config", str(config))
    (again,) = json_lines(second.stdout)
    assert (again["entries_new"], again["entries_blocked"], again["articles_new"]) == (1, 0, 1)
    hits = server.hit_counts()
    assert all(hits[page] == 0 for page in NEVER_FETCHED) and hits["/news/night.html"] == 1

    shown = json.loads(ingest("sources", "show", "news", "--json", "--config", str(config)).stdout)
    assert shown["filters"] == {
        "keep": [],
        "block": ["title:/^Sponsored:/c", "categories:advert", "link:promo", "body:casino"],
    }
    text = ingest("sources", "show", "news", "--config", str(config)).stdout
    assert 'block                 "title:/^Sponsored:/c"  "categories:advert"' in text
    stats = json.loads(ingest("stats", "--json", "--config", str(config)).stdout)
    assert stats["per_source"]["news"]["blocked"] == 4


def test_keep_rules_keep_only_matching_entries(tmp_path: Path, server: LoopbackServer) -> None:
    url = publish(server, "/feed.xml", NEWS)
    config = write_config(
        tmp_path,
        f"[[sources]]\nname = \"news\"\nurl = \"{url}\"\nkeep = ['categories:sport', 'title:/^buy/']\n",
    )
    result = ingest("run-once", "--json", "--config", str(config))
    (summary,) = json_lines(result.stdout)
    assert (summary["entries_new"], summary["entries_blocked"], summary["articles_new"]) == (2, 5, 2)
    hits = server.hit_counts()
    fetched = {page for page, _, _ in NEWS if hits[page]}
    assert fetched == {"/news/final.html", "/news/ads.html"}


def run(settings: Settings, names: tuple[str, ...] = ()) -> RunSummary:
    db = open_database(settings)
    try:
        return asyncio.run(Pipeline(settings, db, processes=0).run_once(names))
    finally:
        db.close()


def test_body_rules_see_the_text_of_an_article_already_stored(
    any_db_url: str, server: LoopbackServer
) -> None:
    shared: list[Item] = [
        ("/news/night.html", "A night out", ("Local",)),
        ("/news/harbour.html", "Harbour reopens", ("Local",)),
    ]
    extra = {"/news/night.html": "The casino opened."}
    everything = publish(server, "/all.xml", shared, extra)
    filtered = publish(server, "/filtered.xml", shared, extra)
    settings = make_settings(
        any_db_url,
        [
            {"name": "all", "url": everything},
            {"name": "filtered", "url": filtered, "block": ["body:casino"], "keep": ["harbour", "night"]},
        ],
    )
    assert run(settings, ("all",)).counts.articles_new == 2
    counts = run(settings, ("filtered",)).counts
    # Both entries attach to the articles "all" stored, without a fetch; one is blocked on its text.
    assert (counts.entries_new, counts.entries_blocked, counts.articles_duplicate) == (2, 1, 1)
    assert server.hit_counts()["/news/night.html"] == 1
    db = open_database(settings)
    try:
        with db.read() as session:
            states = session.exec(
                select(Sighting.link, Sighting.state, Sighting.last_error_message)
                .join(Source, col(Source.id) == col(Sighting.source_id))
                .where(col(Source.name) == "filtered")
                .order_by(col(Sighting.id))
            ).all()
            articles = len(session.exec(select(Article.id)).all())
    finally:
        db.close()
    assert [(link.rsplit("/", 1)[1], state) for link, state, _ in states if link] == [
        ("night.html", "blocked"),
        ("harbour.html", "done"),
    ]
    assert states[0][2] == "block rule 'body:casino' matched" and articles == 2
    again = run(settings, ("filtered",)).counts
    assert (again.entries_new, again.entries_blocked) == (0, 0)


def test_an_entry_kept_by_its_categories_alone_is_stored(tmp_path: Path, server: LoopbackServer) -> None:
    """keep = categories or body words: the categories travel with the entry to the body phase."""
    url = publish(server, "/feed.xml", [("/news/final.html", "Cup final tonight", ("Sport",)),
                                        ("/news/harbour.html", "Harbour reopens", ("Local",))])  # fmt: skip
    config = write_config(
        tmp_path,
        f"[[sources]]\nname = \"news\"\nurl = \"{url}\"\nkeep = ['categories:Sport', 'body:zzfootballzz']\n",
    )
    (summary,) = json_lines(ingest("run-once", "--json", "--config", str(config)).stdout)
    assert (summary["articles_new"], summary["entries_blocked"]) == (1, 1), summary
