"""`ingest sources …` as a user drives it: add (with discovery), remove, enable, disable, show, OPML."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from ingest.opml import parse_opml
from tests.ingest.test_cli import ingest, json_lines, write_config
from tests.support.server import LoopbackServer, Route

RSS = "application/rss+xml"


def _feed(server: LoopbackServer, path: str, title: str, items: int = 2) -> str:
    entries = "".join(
        f"<item><title>{title} story {n}</title><link>{path}-{n}.html</link><guid>{path}-{n}</guid></item>"
        for n in range(items)
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title><link>/</link>{entries}</channel></rss>'
    for n in range(items):
        page = f"<html><body><article><h1>{title} story {n}</h1><p>{'A sentence of news. ' * 40}{path} {n}</p></article></body></html>"
        server.add(f"{path}-{n}.html", Route(page.encode()))
    return server.add(path, Route(body.encode(), content_type=RSS))


def _listed(config: Path) -> dict[str, dict[str, object]]:
    result = ingest("sources", "list", "--json", "--config", str(config))
    assert result.returncode == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_add_show_disable_enable_remove(tmp_path: Path, server: LoopbackServer) -> None:
    url = _feed(server, "/news.xml", "Harbour News")
    config = write_config(
        tmp_path, f'[[sources]]\nname = "declared"\nurl = "{_feed(server, "/d.xml", "D")}"\n'
    )
    added = ingest("sources", "add", url, "--tag", "Local", "--config", str(config))
    assert added.returncode == 0, added.stderr
    assert "added harbour-news" in added.stdout  # named after the feed's title, found by fetching it
    assert set(_listed(config)) == {"declared", "harbour-news"}

    again = ingest("sources", "add", url, "--config", str(config))
    assert again.returncode == 2 and "already polled as 'harbour-news'" in again.stderr

    ran = ingest("run-once", "--json", "--config", str(config))
    assert json_lines(ran.stdout)[0]["articles_new"] == 4
    shown = ingest("sources", "show", "harbour-news", "--json", "--config", str(config))
    details = json.loads(shown.stdout)
    assert details["tags"] == ["Local"] and details["title"] == "Harbour News" and details["origin"] == "cli"
    (poll,) = details["polls"]
    assert poll["status"] == "ok" and poll["http_status"] == 200 and poll["entries_new"] == 2
    assert poll["bytes"] > 0 and poll["duration_ms"] >= 0
    text = ingest("sources", "show", "harbour-news", "--config", str(config)).stdout
    assert "last polls (1)" in text and "ok" in text

    assert ingest("sources", "disable", "harbour-news", "--config", str(config)).returncode == 0
    assert _listed(config)["harbour-news"]["state"] == "disabled"
    assert ingest("sources", "enable", "harbour-news", "--config", str(config)).returncode == 0
    assert _listed(config)["harbour-news"]["enabled"] is True

    refused = ingest("sources", "remove", "declared", "--config", str(config))
    assert refused.returncode == 2 and "declared in the config file" in refused.stderr
    assert ingest("sources", "remove", "harbour-news", "--config", str(config)).returncode == 0
    assert set(_listed(config)) == {"declared"}
    with sqlite3.connect(tmp_path / "ingest.db") as db:  # removed, not deleted: its history stays
        assert db.execute("SELECT count(*) FROM sighting s JOIN source o ON o.id = s.source_id "
                          "WHERE o.name = 'harbour-news'").fetchone()[0] == 2  # fmt: skip
    unknown = ingest("sources", "show", "nothing", "--config", str(config))
    assert unknown.returncode == 2 and "no source named 'nothing'" in unknown.stderr
    assert "Traceback" not in unknown.stderr + refused.stderr + again.stderr


def test_a_disabled_config_source_stays_disabled_until_its_declaration_changes(tmp_path: Path) -> None:
    seeds = Path(__file__).parent.parent.parent / "seeds"
    config = write_config(tmp_path, f'[[sources]]\nname = "seeds"\npath = "{seeds}"\n')
    assert ingest("sources", "disable", "seeds", "--config", str(config)).returncode == 0
    assert _listed(config)["seeds"]["enabled"] is False  # a restart (this command) keeps it
    config.write_text(config.read_text().replace('name = "seeds"', 'name = "seeds"\nenabled = false'))
    assert _listed(config)["seeds"]["enabled"] is False
    config.write_text(config.read_text().replace("enabled = false", "enabled = true"))
    assert _listed(config)["seeds"]["enabled"] is True  # the declaration changed: it wins


def test_discovery_adds_the_only_feed_or_lists_several(tmp_path: Path, server: LoopbackServer) -> None:
    config = write_config(tmp_path, "")
    _feed(server, "/feeds/main.xml", "Main")
    server.add("/", Route(b'<html><head><link rel="alternate" type="application/rss+xml" title="Main" '
                          b'href="/feeds/main.xml"></head><body>Home</body></html>'))  # fmt: skip
    added = ingest("sources", "add", server.url("/"), "--name", "main", "--config", str(config))
    assert added.returncode == 0, added.stderr
    assert _listed(config)["main"]["url"] == server.url("/feeds/main.xml")

    server.add("/two", Route(b'<html><head>'
                             b'<link rel="alternate" type="application/rss+xml" href="/a.xml" title="A">'
                             b'<link rel="alternate" type="application/atom+xml" href="/b.xml" title="B">'
                             b'</head></html>'))  # fmt: skip
    several = ingest("sources", "add", server.url("/two"), "--config", str(config))
    assert several.returncode == 2
    assert server.url("/a.xml") in several.stderr and server.url("/b.xml") in several.stderr
    server.add("/none", Route(b"<html><body>No feeds here</body></html>"))
    none = ingest("sources", "add", server.url("/none"), "--config", str(config))
    assert none.returncode == 2 and "no feed found" in none.stderr
    assert set(_listed(config)) == {"main"}


def _opml(server: LoopbackServer, count: int) -> bytes:
    folders = {"News": [], "Tech/Python": [], "": []}  # type: dict[str, list[str]]
    for n in range(count):
        url = _feed(server, f"/f{n}.xml", f"Feed {n}", items=1)
        folder = list(folders)[n % 3]
        folders[folder].append(
            f'<outline type="rss" text="Feed {n}" xmlUrl="{url}" htmlUrl="{server.url("/")}"/>'
        )
    body = "".join(folders[""])
    body += f'<outline text="News">{"".join(folders["News"])}</outline>'
    body += (
        f'<outline text="Tech"><outline text="Python">{"".join(folders["Tech/Python"])}</outline></outline>'
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><opml version="2.0"><head><title>t</title></head><body>{body}</body></opml>'.encode()


def test_opml_import_is_idempotent_and_round_trips(tmp_path: Path, server: LoopbackServer) -> None:
    config = write_config(tmp_path, "")
    opml = tmp_path / "subscriptions.opml"
    opml.write_bytes(_opml(server, 12))
    first = ingest("sources", "import-opml", str(opml), "--json", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"feeds": 12, "added": 12, "already_present": 0}
    second = ingest("sources", "import-opml", str(opml), "--json", "--config", str(config))
    assert json.loads(second.stdout) == {"feeds": 12, "added": 0, "already_present": 12}
    assert len(_listed(config)) == 12

    exported = ingest("sources", "export-opml", "--config", str(config))
    assert exported.returncode == 0, exported.stderr
    before = {f.url: set(f.categories) for f in parse_opml(opml.read_bytes())}
    after = {f.url: set(f.categories) for f in parse_opml(exported.stdout.encode())}
    assert after == before and {"News", "Tech/Python"} <= set().union(*after.values())
    back = tmp_path / "back.opml"
    back.write_text(exported.stdout)
    third = ingest("sources", "import-opml", str(back), "--json", "--config", str(config))
    assert json.loads(third.stdout)["added"] == 0

    ran = ingest("run-once", "--json", "--config", str(config))
    assert json_lines(ran.stdout)[0]["articles_new"] == 12


def test_malformed_opml_is_an_error_with_the_line_and_imports_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path, "")
    broken = tmp_path / "broken.opml"
    broken.write_text('<?xml version="1.0"?>\n<opml version="2.0">\n<body>\n'
                      '<outline xmlUrl="http://127.0.0.1:9/a.xml"/>\n<outline text="x">\n</body>\n</opml>\n')  # fmt: skip
    result = ingest("sources", "import-opml", str(broken), "--config", str(config))
    assert result.returncode == 2 and "line" in result.stderr and "nothing imported" in result.stderr
    assert "Traceback" not in result.stderr
    assert _listed(config) == {}


@pytest.mark.parametrize(
    "args",
    [
        ["sources", "add", "http://[::1/"],
        ["sources", "add", "http://127.0.0.1:99999/"],
        ["sources", "add", "ftp://files.example/feed"],
        ["sources", "add", "http://127.0.0.1:9/feed.xml", "--no-discover", "--name", "n" * 201],
        ["sources", "add", "http://127.0.0.1:9/feed.xml", "--no-discover", "--interval", "0"],
        ["sources", "add", "http://127.0.0.1:9/feed.xml", "--no-discover", "--interval", "soon"],
        ["prune", "--older-than", "99999999d"],
        ["sources", "import-opml", "/nonexistent/file.opml"],
    ],
)
def test_user_mistakes_are_a_message_and_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = ingest(*args, "--config", str(write_config(tmp_path, "")))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("ingest: ") and "Traceback" not in result.stderr


def test_a_removed_source_is_revived_by_its_own_feed_and_never_taken_over(
    tmp_path: Path, server: LoopbackServer
) -> None:
    config = write_config(tmp_path, "")
    first = _feed(server, "/one.xml", "Same Title")
    second = _feed(server, "/two.xml", "Same Title")
    assert "added same-title" in ingest("sources", "add", first, "--config", str(config)).stdout
    assert json_lines(ingest("run-once", "--json", "--config", str(config)).stdout)[0]["articles_new"] == 2
    assert ingest("sources", "remove", "same-title", "--config", str(config)).returncode == 0
    other = ingest("sources", "add", second, "--config", str(config))
    assert "added same-title-2" in other.stdout, "another feed must not take the removed one's history"
    taken = ingest("sources", "add", second, "--name", "same-title", "--config", str(config))
    assert taken.returncode == 2
    back = ingest("sources", "add", first, "--config", str(config))
    assert "added same-title:" in back.stdout  # the same feed: its own history back
    shown = json.loads(ingest("sources", "show", "same-title", "--json", "--config", str(config)).stdout)
    assert len(shown["polls"]) == 1 and shown["url"] == first
    run = json_lines(ingest("run-once", "--json", "--config", str(config)).stdout)[0]
    # same-title-2's entries are its own (new); the revived source knows its entries already
    assert (run["entries_new"], run["articles_new"]) == (2, 2)


def test_enabling_a_source_removed_from_the_config_holds(tmp_path: Path) -> None:
    seeds = Path(__file__).parent.parent.parent / "seeds"
    config = write_config(tmp_path, f'[[sources]]\nname = "seeds"\npath = "{seeds}"\n')
    assert _listed(config)["seeds"]["enabled"] is True
    config.write_text(config.read_text().split("[[sources]]")[0])
    assert _listed(config)["seeds"]["enabled"] is False  # removed from the config: disabled, kept
    assert ingest("sources", "enable", "seeds", "--config", str(config)).returncode == 0
    assert _listed(config)["seeds"]["enabled"] is True  # and the next start does not undo it
