"""Configuration: TOML + INGEST_* overrides, and one clear message (never a traceback) when it is wrong."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from ingest.errors import ConfigError
from ingest.settings import config_path, load_settings


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ingest.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_and_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        str(_write(tmp_path, '[[sources]]\nname = "local"\npath = "docs"\n')), environ={}
    )
    assert settings.database_url == "sqlite:///data/ingest.db"
    assert settings.fetch.timeout == 20.0
    assert settings.schedule.default_interval == 1800.0
    assert settings.sources[0].path == tmp_path / "docs"
    assert settings.sources[0].kind == "directory"


def test_environment_overrides_the_file_and_nests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, '[fetch]\ntimeout = "5s"\nuser_agent = "from-file"\n')
    monkeypatch.setenv("INGEST_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("INGEST_FETCH__ALLOW_NETWORKS", '["127.0.0.1/32"]')
    monkeypatch.setenv("INGEST_FETCH__USER_AGENT", "from-env")
    settings = load_settings(str(path))
    assert settings.database_url == "sqlite:///elsewhere.db"
    assert settings.fetch.allow_networks == (ipaddress.ip_network("127.0.0.1/32"),)
    assert settings.fetch.user_agent == "from-env"
    assert settings.fetch.timeout == 5.0  # the file's other keys in the section survive


def test_config_file_choice() -> None:
    assert config_path("given.toml", {"INGEST_CONFIG": "env.toml"}) == Path("given.toml")
    assert config_path(None, {"INGEST_CONFIG": "env.toml"}) == Path("env.toml")
    assert config_path(None, {}) == Path("config/ingest.toml")


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("unknown_key = 1\n", ["unknown_key", "unknown key"]),
        ('[fetch]\ntimeout = "soon"\n', ["fetch.timeout", "'90s'"]),
        ("[fetch]\nconcurrency = \"many\"\n", ["fetch.concurrency", "valid integer", "'many'"]),
        ('[[sources]]\nname = "a"\n', ["sources[0] (name 'a')", "exactly one of `url`"]),
        ('[[sources]]\nname = "a"\nurl = "ftp://x/feed"\n', ["sources[0]", "http:// or https://"]),
        ('[[sources]]\nname = "a"\nurl = "https://x/f"\n[[sources]]\nname = "a"\nurl = "https://y/f"\n',
         ["two sources are named 'a'"]),
        ("[schedule]\nmin_interval = \"2h\"\nmax_interval = \"1h\"\n", ["min_interval must not exceed"]),
        ('[fetch]\nallow_networks = ["not-a-network"]\n', ["fetch.allow_networks[0]"]),
        ("database_url = [\n", ["not valid TOML"]),
    ],
)  # fmt: skip
def test_bad_config_names_file_key_and_expectation(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_settings(str(path), environ={})
    message = raised.value.message
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_bad_environment_value_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_FETCH__TIMEOUT", "eventually")
    with pytest.raises(ConfigError, match=r"fetch.timeout \(from \$INGEST_FETCH__TIMEOUT\)"):
        load_settings(str(_write(tmp_path, "")))


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_settings(str(tmp_path / "absent.toml"), environ={})
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_settings(str(binary), environ={})
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_settings(str(tmp_path), environ={})  # a directory
