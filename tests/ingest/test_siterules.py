"""Per-site extraction rules: the file, host matching, extraction with a rule and without, and
`ingest extract` to check a rule by hand."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lxml.html
import pytest
import trafilatura

from ingest import extract as extract_module
from ingest import siterules
from ingest.cli import build_parser
from ingest.extract import extract
from ingest.models import EntryHints, Page
from ingest.normalize import normalize
from ingest.siterules import SiteRules, load_rules, parse_rules
from tests.conftest import FIXTURES, ROOT, make_settings
from tests.ingest.test_cli import ingest, write_config
from tests.support.server import LoopbackServer, Route

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SHIPPED = ROOT / "config" / "site_rules.toml"
PAGES = sorted((FIXTURES / "siterules").glob("*.html"))
_TOKEN = re.compile(r"\w+")


@pytest.fixture(autouse=True)
def shipped_rules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The shipped rules, wherever pytest runs from; every test starts with a cold cache."""
    monkeypatch.setenv(siterules.ENVIRONMENT, str(SHIPPED))
    load_rules.cache_clear()
    yield
    load_rules.cache_clear()


def use_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    monkeypatch.setenv(siterules.ENVIRONMENT, str(path))
    return path


def f1(ours: str, expected: str) -> float:
    """Token 4-gram shingles, as bench/quality.py scores bodies."""

    def shingles(text: str) -> set[tuple[str, ...]]:
        tokens = _TOKEN.findall(text.casefold())
        return {tuple(tokens[i : i + 4]) for i in range(len(tokens) - 3)}

    mine, truth = shingles(ours), shingles(expected)
    shared = len(mine & truth)
    precision, recall = shared / len(mine) if mine else 0.0, shared / len(truth) if truth else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def fixture(html: Path) -> tuple[bytes, str, dict[str, Any]]:
    meta = json.loads(html.with_suffix(".json").read_text(encoding="utf-8"))
    return html.read_bytes(), html.with_suffix(".txt").read_text(encoding="utf-8"), meta


def stored_text(body: bytes, url: str) -> tuple[str, str]:
    """The text the service stores for a page, and the extractor that produced it."""
    page = Page(url, url, 200, "text/html; charset=utf-8", body, NOW)
    draft = normalize(extract(page, EntryHints()), EntryHints(), url, NOW)
    return draft.text, draft.extractor


# --- the file ----------------------------------------------------------------------------------


def test_the_shipped_rules_cover_every_fixture_page() -> None:
    rules = load_rules(str(SHIPPED))
    assert len(rules.rules) == len(PAGES) >= 3
    for html in PAGES:
        _, _, meta = fixture(html)
        rule = rules.rule_for(meta["url"].split("/")[2])
        assert rule is not None and rule.label == meta["rule"], html.name


def test_a_rule_with_every_key() -> None:
    rules = parse_rules(
        {"rule": [{"name": "n", "hosts": ["A.Example.test."], "body": "div.x", "remove": [".ad", "aside"]}]},
        "r.toml",
    )
    (rule,) = rules.rules
    assert (rule.number, rule.hosts, rule.body, rule.remove, rule.label) == (
        1, ("a.example.test",), "div.x", (".ad", "aside"), "n"
    )  # fmt: skip
    assert rule.describe() == "n (r.toml rule 1)"
    assert parse_rules({}).rules == ()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[rule]]\nbody = "div"\n', "rule 1: missing 'hosts'"),
        (
            '[[rule]]\nhosts = ["a.test"]\nbody = "p"\n[[rule]]\nhosts = ["b.test"]\n',
            "rule 2: missing 'body'",
        ),
        ('[[rule]]\nhosts = ["a.test"]\nbody = "div["\n', "rule 1: body selector 'div[' is not valid CSS"),
        ('[[rule]]\nhosts = ["a.test"]\nbody = "div"\nremove = ["p::first-line"]\n', "remove selector"),
        ('[[rule]]\nhosts = ["a.test"]\nbody = "div"\nremove = "ok"\nbodyy = "x"\n', "unknown key(s) bodyy"),
        ('[[rule]]\nhosts = []\nbody = "div"\n', "'hosts' must be a non-empty list"),
        ('[[rule]]\nhosts = ["https://a.test/"]\nbody = "div"\n', "'https://a.test/' is not a host name"),
        ('[[rule]]\nhosts = ["a.test:8080"]\nbody = "div"\n', "is not a host name"),
        ('[[rule]]\nhosts = ["*.*.a.test"]\nbody = "div"\n', "is not a host name"),
        ('[[rule]]\nhosts = ["news*.a.test"]\nbody = "div"\n', "is not a host name"),
        ('[[rule]]\nhosts = ["a.test"]\nbody = ""\n', "'body' must be a CSS selector"),
        ('[[rule]]\nhosts = ["a.test"]\nbody = "div"\nremove = [3]\n', "'remove' must be a list"),
        (
            '[[rule]]\nhosts = ["a.test"]\nbody = "div"\n[[rule]]\nhosts = ["A.test"]\nbody = "p"\n',
            "rule 2: host 'a.test' is already listed by rule 1",
        ),
        ('[rule]\nhosts = ["a.test"]\n', "array of tables"),
        ('[[rules]]\nhosts = ["a.test"]\n', "unknown top-level key(s) rules"),
        ("[[rule]\nhosts = 1", "not valid TOML"),
    ],
)
def test_an_invalid_file_names_itself_the_rule_and_the_problem(
    tmp_path: Path, toml: str, message: str
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(toml)
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        load_rules(str(path))
    assert str(caught.value).startswith(f"{path}: ")


def test_a_missing_file_is_no_rules_only_when_it_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(siterules.ENVIRONMENT)
    monkeypatch.chdir(tmp_path)  # no config/site_rules.toml here
    assert siterules.rules_path() == Path("config/site_rules.toml")
    assert siterules.active_rules().rules == () and siterules.rule_for("www.harbour-gazette.test") is None
    monkeypatch.setenv(siterules.ENVIRONMENT, str(tmp_path / "nope.toml"))
    with pytest.raises(ValueError, match=r"nope\.toml: site rules file not found"):
        siterules.active_rules()


def test_the_default_path_is_relative_to_the_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(siterules.ENVIRONMENT)
    monkeypatch.chdir(ROOT)
    rule = siterules.rule_for("www.taunus-bote.test")
    assert rule is not None and rule.path == "config/site_rules.toml"


def test_the_file_is_read_once_per_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = use_rules(tmp_path, monkeypatch, '[[rule]]\nhosts = ["a.test"]\nbody = "div"\n')
    first = siterules.active_rules()
    path.write_text('[[rule]]\nhosts = ["b.test"]\nbody = "div"\n')
    assert siterules.active_rules() is first  # edits take effect at the next start
    (tmp_path / "other").mkdir()
    other = use_rules(tmp_path / "other", monkeypatch, '[[rule]]\nhosts = ["c.test"]\nbody = "p"\n')
    assert siterules.active_rules().path == str(other) and siterules.rule_for("c.test") is not None


# --- hosts -------------------------------------------------------------------------------------


def test_exact_hosts_beat_patterns_and_the_longest_pattern_wins() -> None:
    rules = parse_rules(
        {
            "rule": [
                {"name": "wide", "hosts": ["*.paper.test"], "body": "div"},
                {"name": "sport", "hosts": ["*.sport.paper.test"], "body": "div"},
                {"name": "exact", "hosts": ["live.sport.paper.test", "paper.test"], "body": "div"},
            ]
        }
    )

    def name(host: str) -> str | None:
        rule = rules.rule_for(host)
        return rule.label if rule else None

    assert name("www.paper.test") == "wide"
    assert name("a.b.paper.test") == "wide"
    assert name("scores.sport.paper.test") == "sport"
    assert name("live.sport.paper.test") == "exact"
    assert name("LIVE.Sport.paper.test.") == "exact"
    assert name("paper.test") == "exact"  # listed itself: "*.paper.test" is its subdomains only
    assert name("sport.paper.test") == "wide"
    assert name("newspaper.test") is None  # a suffix of the name, not a subdomain
    assert name("paper.test.evil") is None
    assert name("") is None
    assert SiteRules("none").rule_for("paper.test") is None


# --- extraction --------------------------------------------------------------------------------


@pytest.mark.parametrize("html", PAGES, ids=[p.stem for p in PAGES])
def test_a_site_rule_beats_plain_extraction_on_the_page_built_for_it(html: Path) -> None:
    body, expected, meta = fixture(html)
    ours, extractor = stored_text(body, meta["url"])
    plain = trafilatura.extract(body) or ""
    assert extractor == "site-rule"
    assert f1(ours, expected) > f1(plain, expected), html.name
    assert f1(ours, expected) >= 0.95, html.name


def test_without_its_rule_the_same_page_is_extracted_as_any_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body, expected, meta = fixture(FIXTURES / "siterules" / "harbour_split-body.html")
    use_rules(tmp_path, monkeypatch, "")
    ours, extractor = stored_text(body, meta["url"])
    assert extractor == "trafilatura" and f1(ours, expected) < 0.9  # the teasers are in


def test_metadata_still_comes_from_the_whole_page() -> None:
    body, _, meta = fixture(FIXTURES / "siterules" / "taunus_related-inside.html")
    found = extract(Page(meta["url"], meta["url"], 200, "text/html", body, NOW), EntryHints())
    assert found.extractor == "site-rule" and found.extractor_version.endswith("; rule taunus-bote")
    assert (found.title, found.author, found.site_name, found.language) == (
        "Königstein: Stadt testet Rufbus für die Ortsteile", "Tobias Wendler", "Taunus-Bote", "de"
    )  # fmt: skip
    assert found.published == "2025-01-21T15:40:00+01:00"
    assert found.body_html is not None  # the sanitised HTML is kept as for any extraction


@pytest.mark.parametrize(
    "rule",
    [
        'body = "div.article-body-2019"',  # a redesign: the selector finds nothing
        'body = ".story-head"',  # it finds too little text
        'body = "main.story"\nremove = ["div"]',  # what it leaves is too little
    ],
)
def test_a_rule_that_no_longer_fits_falls_back_to_ordinary_extraction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rule: str
) -> None:
    body, _, meta = fixture(FIXTURES / "siterules" / "harbour_split-body.html")
    use_rules(tmp_path, monkeypatch, "")
    plain, _ = stored_text(body, meta["url"])
    use_rules(tmp_path, monkeypatch, f'[[rule]]\nhosts = ["www.harbour-gazette.test"]\n{rule}\n')
    load_rules.cache_clear()
    ours, extractor = stored_text(body, meta["url"])
    assert extractor == "trafilatura" and ours == plain


def test_an_invalid_rules_file_never_stops_extraction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body, _, meta = fixture(FIXTURES / "siterules" / "harbour_split-body.html")
    use_rules(tmp_path, monkeypatch, '[[rule]]\nhosts = ["www.harbour-gazette.test"]\nbody = "div["\n')
    assert stored_text(body, meta["url"])[1] == "trafilatura"


def test_a_rule_body_contradicting_the_feed_summary_is_passed_over() -> None:
    body, _, meta = fixture(FIXTURES / "siterules" / "taunus_related-inside.html")
    summary = (
        "Die Feuerwehr rückte am Samstagmorgen zu einem Scheunenbrand am Ortsrand aus, verletzt "
        "wurde niemand, die Polizei ermittelt zur Ursache des Feuers und schätzt den Schaden hoch."
    )
    page = Page(meta["url"], meta["url"], 200, "text/html", body, NOW)
    assert extract(page, EntryHints(summary=summary, content=f"<p>{summary}</p>")).extractor == "feed"


def test_block_text_when_trafilatura_keeps_too_little_of_the_rule_body(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body, expected, meta = fixture(FIXTURES / "siterules" / "bocage_reader-posts.html")
    real = extract_module._trafilatura

    def refusing(tree: Any, url: str, options: dict[str, Any], name: str, meta: Any) -> Any:
        return None if name == "site-rule" else real(tree, url, options, name, meta)

    monkeypatch.setattr(extract_module, "_trafilatura", refusing)
    ours, extractor = stored_text(body, meta["url"])
    assert extractor == "site-rule" and f1(ours, expected) >= 0.95


def test_removal_keeps_the_text_around_what_it_removes() -> None:
    (rule,) = parse_rules(
        {"rule": [{"hosts": ["a.test"], "body": "div.b", "remove": [".ad", "div.b"]}]}
    ).rules
    tree = lxml.html.fromstring(
        '<div><div class="b">One <span class="ad">AD</span>two <i>three</i><span class="ad">AD</span> four</div></div>'
    )
    body = rule.find_body(tree)
    assert rule.strip(body) == 2  # the body itself is never removed, though "div.b" selects it
    assert body.text_content() == "One two three four"


# --- ingest extract ----------------------------------------------------------------------------


def test_ingest_extract_fetches_a_page_and_shows_the_rule_it_used(
    tmp_path: Path, server: LoopbackServer
) -> None:
    body, expected, _ = fixture(FIXTURES / "siterules" / "bocage_reader-posts.html")
    url = server.add("/halle", Route(body))
    rules = tmp_path / "loopback.toml"
    rules.write_text(
        '[[rule]]\nname = "loopback"\nhosts = ["127.0.0.1"]\nbody = ".col-principale > .texte"\n'
    )
    config = write_config(tmp_path, "")
    shown = ingest("extract", url, "--config", str(config), "--rules", str(rules))
    assert shown.returncode == 0, shown.stderr
    head, _, text = shown.stdout.partition("\n\n")
    assert "title:     La halle de Saint-Aubin rouvrira au printemps après deux ans de travaux" in head
    assert "author:    Claire Bouvier" in head and "language:  fr" in head
    assert "date:      2025-02-06T09:15:00+00:00 (from the page)" in head
    assert "extractor: site-rule" in head and f"site rule: loopback ({rules} rule 1), used" in head
    assert f1(text, expected) == 1.0

    as_json = ingest("extract", url, "--json", "--config", str(config), env={"INGEST_SITE_RULES": str(rules)})
    draft = json.loads(as_json.stdout)
    assert draft["extractor"] == "site-rule" and draft["site_rule"]["used"] is True
    assert draft["published_at"] == "2025-02-06T09:15:00+00:00" and f1(draft["text"], expected) == 1.0
    assert {"url", "title", "author", "language", "text", "html", "content_hash", "extractor_version"} <= set(
        draft
    )

    plain = ingest("extract", url, "--config", str(config), "--rules", str(tmp_path / "none.toml"))
    assert plain.returncode == 2 and "none.toml: site rules file not found" in plain.stderr


def test_ingest_extract_failures_are_messages_not_tracebacks(tmp_path: Path, server: LoopbackServer) -> None:
    config = write_config(tmp_path, "")
    missing = ingest("extract", server.url("/gone"), "--config", str(config))
    assert missing.returncode == 1 and "cannot fetch" in missing.stderr and "HTTP 404" in missing.stderr
    empty = ingest(
        "extract", server.add("/empty", Route(b"<html><body></body></html>")), "--config", str(config)
    )
    assert empty.returncode == 1 and "nothing to store" in empty.stderr
    for bad in ("ftp://a.test/x", str(tmp_path / "nope.html"), "http://[::1"):
        usage = ingest("extract", bad, "--config", str(config))
        assert usage.returncode == 2 and "ingest: " in usage.stderr, bad
    bad_rules = tmp_path / "bad.toml"
    bad_rules.write_text('[[rule]]\nhosts = ["a.test"]\nbody = "div["\n')
    invalid = ingest("extract", server.url("/x"), "--config", str(config), "--rules", str(bad_rules))
    assert (
        invalid.returncode == 2
        and f"{bad_rules}: rule 1: body selector 'div[' is not valid CSS" in invalid.stderr
    )
    blocked = ingest("extract", "http://127.0.0.1:9/x")  # the default config allows no private address
    assert blocked.returncode == 1 and "not a public address" in blocked.stderr
    assert "Traceback" not in missing.stderr + empty.stderr + usage.stderr + invalid.stderr + blocked.stderr


def run_extract(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`ingest extract` in this process (no fetch: a local file), through the real parser."""
    args = build_parser().parse_args(["extract", *argv])
    code = args.handler(args, make_settings(f"sqlite:///{tmp_path / 'x.db'}", []))
    out, err = capsys.readouterr()
    return code, out, err


def test_ingest_extract_reads_a_local_file_as_the_page_it_was_saved_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = FIXTURES / "siterules" / "costero_br-body.html"
    _, expected, meta = fixture(html)
    code, out, _ = run_extract([str(html), "--url-as", meta["url"], "--json"], tmp_path, capsys)
    draft = json.loads(out)
    assert code == 0 and draft["url"] == meta["url"] and draft["extractor"] == "site-rule"
    assert draft["site_rule"] == {"name": "diario-costero", "path": str(SHIPPED), "number": 4, "used": True}
    assert f1(draft["text"], expected) == 1.0 and draft["language"] == "es"

    code, out, _ = run_extract([str(html)], tmp_path, capsys)  # a file: address has no host, no rule
    assert code == 0 and "site rule: none for this host" in out and "extractor: trafilatura" in out
    assert f"url:       {html.resolve().as_uri()}" in out

    redesigned = tmp_path / "redesigned.toml"
    redesigned.write_text('[[rule]]\nhosts = ["mar.diario-costero.test"]\nbody = "#nota-2024"\n')
    code, out, _ = run_extract(
        [str(html), "--url-as", meta["url"], "--rules", str(redesigned)], tmp_path, capsys
    )
    assert code == 0 and "matched but not used: its body selector '#nota-2024' found nothing" in out

    code, _, err = run_extract([str(html), "--url-as", "mar.diario-costero.test"], tmp_path, capsys)
    assert code == 2 and "--url-as 'mar.diario-costero.test' is not an http(s) URL" in err
    code, _, err = run_extract([meta["url"], "--url-as", meta["url"]], tmp_path, capsys)
    assert code == 2 and "--url-as is for local files" in err
