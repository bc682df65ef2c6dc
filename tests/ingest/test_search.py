"""`ingest search` as a user runs it, over the seeds."""

from __future__ import annotations

import json
from pathlib import Path

from tests.ingest.test_cli import ingest


def test_search_the_seeds(tmp_path: Path) -> None:
    env = {"INGEST_DATABASE_URL": f"sqlite:///{tmp_path / 'ingest.db'}"}
    assert ingest("run-once", env=env).returncode == 0
    found = ingest("search", "crue", "--json", "--lang", "fr", "--source", "seeds", env=env)
    assert found.returncode == 0, found.stderr
    (hit,) = [json.loads(line) for line in found.stdout.splitlines()]
    assert "Vérande" in hit["title"] and "[crue]" in hit["snippet"].lower() and hit["language"] == "fr"
    readable = ingest("search", '"la crue"', env=env)
    assert readable.returncode == 0 and "[la crue]" in readable.stdout.lower()
    assert ingest("search", "crue", "--lang", "en", "--json", env=env).stdout == ""
    none = ingest("search", "zzzzunknownword", env=env)
    assert none.returncode == 0 and "no article matches" in none.stderr
    for bad in (
        ["search", '""'],
        ["search", "crue", "--source", "nowhere"],
        ["search", "crue", "--since", "soon"],
    ):
        result = ingest(*bad, env=env)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
