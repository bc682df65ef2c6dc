"""Settings: one TOML file plus ``INGEST_*`` environment overrides, validated once into frozen data.

The file is ``--config PATH``, else ``$INGEST_CONFIG``, else ``config/ingest.toml``. Environment
variables win over the file; ``__`` nests (``INGEST_FETCH__TIMEOUT=5s``). Every problem becomes one
:class:`~ingest.errors.ConfigError` naming the file (or variable), the key and what was expected.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from ingest.durations import parse_duration
from ingest.errors import ConfigError
from ingest.filters import parse_rule

DEFAULT_CONFIG = Path("config/ingest.toml")
ENV_PREFIX = "INGEST_"
# Settings whose environment values are JSON (lists and tables).
_JSON_VARIABLES = frozenset(
    {
        "INGEST_SOURCES",
        "INGEST_FETCH__ALLOW_NETWORKS",
        "INGEST_FETCH",
        "INGEST_SCHEDULE",
        "INGEST_DAEMON",
        "INGEST_NORMALIZE",
        "INGEST_WEBSUB",
        "INGEST_NORMALIZE__RELATED_LABELS",
        "INGEST_NORMALIZE__PAYWALL_PHRASES",
    }
)

Duration = Annotated[float, BeforeValidator(parse_duration)]


def _resolve_path(value: Path) -> Path:
    # Relative paths are relative to the working directory, resolved once here so that no stage
    # depends on where it happens to run.
    return value.expanduser().resolve()


def split_listen(address: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9108`` for IPv6) as (host, port); ValueError naming the problem."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{address!r} is not host:port (e.g. 127.0.0.1:9108)")
    return host.strip("[]"), int(port)


def _check_listen(address: str) -> str:
    if address:
        split_listen(address)
    return address


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FetchSettings(_Section):
    user_agent: str = Field(
        "ingest/0.1 (+https://example.org/ingest)", description="name the service and a contact URL"
    )
    timeout: Duration = Field(
        20.0, gt=0, description="total deadline per request: connect, redirects, headers and body"
    )
    max_feed_bytes: int = Field(10_485_760, gt=0, description="after decompression")
    max_page_bytes: int = Field(5_242_880, gt=0, description="after decompression")
    max_enclosure_bytes: int = Field(
        52_428_800, gt=0, description="largest enclosure file downloaded, for sources that ask"
    )
    max_redirects: int = Field(5, ge=0, description="redirects followed per request")
    concurrency: int = Field(16, gt=0, description="requests in flight, all hosts")
    per_host_concurrency: int = Field(
        2, gt=0, description="requests in flight per host, feeds and pages together"
    )
    per_host_delay: Duration = Field(
        0.5, ge=0, description="between two requests to one host (a longer robots.txt `Crawl-delay` wins)"
    )
    allow_networks: tuple[IPvAnyNetwork, ...] = Field(
        (), description="CIDRs exempt from the private-network block (tests, intranets)"
    )
    respect_robots_txt: bool = Field(
        True, description="consult robots.txt (protego) before fetching article pages"
    )


class ScheduleSettings(_Section):
    tick: Duration = Field(30.0, gt=0, description="how often the daemon looks for due sources")
    default_interval: Duration = Field(
        1800.0, gt=0, description="poll interval before the adaptive interval has data"
    )
    min_interval: Duration = Field(300.0, gt=0, description="shortest interval between two polls of a source")
    max_interval: Duration = Field(
        86400.0, gt=0, description="longest interval between two polls of a source"
    )
    lease_margin: Duration = Field(
        120.0,
        gt=0,
        description="a claimed source is leased for 2 × `fetch.timeout` plus this, an entry for 3 × plus "
        "this; a dead worker's work waits this long at most",
    )

    @model_validator(mode="after")
    def _ordered(self) -> ScheduleSettings:
        if self.min_interval > self.max_interval:
            raise ValueError("min_interval must not exceed max_interval")
        return self


class DaemonSettings(_Section):
    shutdown_grace: Duration = Field(
        30.0, ge=0, description="on SIGTERM, time for in-flight work before leases are released"
    )
    http_listen: Annotated[str, AfterValidator(_check_listen)] = Field(
        "",
        description="`host:port` (e.g. `127.0.0.1:9108`, bound exactly there) for `/healthz`, `/readyz`, "
        "`/metrics`; off when empty",
    )


def _check_callback(url: str) -> str:
    if url and not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"{url!r} is not an http:// or https:// address")
    return url.rstrip("/")


class WebSubSettings(_Section):
    callback_url: Annotated[str, AfterValidator(_check_callback)] = Field(
        "",
        description="the public address hubs reach the listener's `/websub/` at (e.g. "
        "`https://ingest.example.org/websub`); WebSub is off when empty; needs `daemon.http_listen`",
    )
    lease: Duration = Field(
        864000.0, gt=0, description="subscription lease asked of hubs (a hub may grant another)"
    )
    renew_before: Duration = Field(
        86400.0, gt=0, description="renew this long before a lease lapses (half the lease at most)"
    )
    poll_interval: Duration = Field(
        21600.0, gt=0, description="while subscribed, the feed is still polled this often, as a safety net"
    )
    retry: Duration = Field(
        3600.0, gt=0, description="a subscription refused, failed or never verified is asked again after"
    )
    allow_http_hubs: bool = Field(
        False,
        description="subscribe to hubs at `http://` addresses too (the secret then travels in clear)",
    )


class NormalizeSettings(_Section):
    related_labels: tuple[str, ...] = Field(
        (),
        description="more labels of related-link lines to drop, added to the built-in ones "
        '(`["zie ook", "läs även"]`)',
    )
    paywall_phrases: tuple[str, ...] = Field(
        (), description="more phrases that mark a paywall or fundraising box at the end of a text"
    )


class SourceConfig(_Section):
    name: str = Field(min_length=1, max_length=200, description="unique")
    url: str | None = Field(None, description="a feed over `http://` or `https://`")
    path: Annotated[Path, AfterValidator(_resolve_path)] | None = Field(
        None, description="a directory (exactly one of `url` and `path`)"
    )
    interval: Duration | None = Field(
        None, gt=0, description="a fixed poll interval instead of the adaptive one"
    )
    full_text: bool = Field(
        True, description="fetch and extract the linked page; `false` stores the feed's own content"
    )
    enabled: bool = Field(True, description="poll it (`ingest sources disable` holds until this changes)")
    keep: tuple[str, ...] = Field(
        (), description="filter rules: only entries matching one of them are kept (see Filters)"
    )
    block: tuple[str, ...] = Field((), description="filter rules: entries matching one are left out")
    download_enclosures: bool = Field(
        False, description="download enclosure files too (bounded by `fetch.max_enclosure_bytes`)"
    )

    @field_validator("keep", "block")
    @classmethod
    def _valid_rules(cls, rules: tuple[str, ...]) -> tuple[str, ...]:
        for rule in rules:
            parse_rule(rule)  # ValueError: the rule and what is wrong with it
        return rules

    @model_validator(mode="after")
    def _one_location(self) -> SourceConfig:
        if (self.url is None) == (self.path is None):
            raise ValueError("a source needs exactly one of `url` (a feed) or `path` (a directory)")
        if self.url is not None and not self.url.lower().startswith(("http://", "https://")):
            raise ValueError(f"url must be an http:// or https:// address, got {self.url!r}")
        return self

    @property
    def kind(self) -> Literal["feed", "directory"]:
        return "feed" if self.url is not None else "directory"

    @property
    def location(self) -> str:
        return self.url if self.url is not None else str(self.path)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    database_url: str = Field(
        "sqlite:///data/ingest.db",
        description="SQLAlchemy URL; `postgresql+psycopg://user@host/db` in production",
    )
    workers: int = Field(0, ge=0, description="extraction processes; 0 means one per core")
    max_attempts: int = Field(3, gt=0, description="tries per entry (one per run) before it stays `failed`")
    extract_timeout: Duration = Field(
        30.0,
        gt=0,
        description="time limit to parse one feed or extract one page; the worker process is stopped",
    )
    fetch: FetchSettings = FetchSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    daemon: DaemonSettings = DaemonSettings()
    normalize: NormalizeSettings = NormalizeSettings()
    websub: WebSubSettings = WebSubSettings()
    sources: tuple[SourceConfig, ...] = ()

    @model_validator(mode="after")
    def _callback_served(self) -> Settings:
        if self.websub.callback_url and not self.daemon.http_listen:
            raise ValueError(
                "websub.callback_url needs daemon.http_listen: hubs call back on the daemon's listener"
            )
        return self

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        seen: set[str] = set()
        for source in self.sources:
            if source.name in seen:
                raise ValueError(f"two sources are named {source.name!r}; names must be unique")
            seen.add(source.name)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file, which arrives as init data.
        return (env_settings, init_settings)


def config_path(explicit: str | None, environ: Mapping[str, str] = os.environ) -> Path:
    """Which file to read: --config, else $INGEST_CONFIG, else config/ingest.toml."""
    chosen = explicit or environ.get("INGEST_CONFIG") or str(DEFAULT_CONFIG)
    return Path(chosen)


def load_settings(explicit: str | None = None, environ: Mapping[str, str] = os.environ) -> Settings:
    path = config_path(explicit, environ)
    data = _read_toml(path)
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError("invalid", _describe(exc, path, data, environ)) from None
    except SettingsError as exc:  # an environment value for a list or table that is not JSON
        raise ConfigError("invalid", f"environment: {_not_json(environ) or exc}") from None


def _not_json(environ: Mapping[str, str]) -> str:
    bad = []
    for name in sorted(_JSON_VARIABLES & environ.keys()):
        try:
            json.loads(environ[name])
        except json.JSONDecodeError:
            bad.append(f"${name}")
    if not bad:
        return ""
    example = """INGEST_FETCH__ALLOW_NETWORKS='["10.0.0.0/8"]'"""
    return f"{', '.join(bad)}: lists and tables must be written as JSON, e.g. {example}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("unreadable", f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError("unreadable", f"{path}: cannot read the config file: {reason}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("invalid_toml", f"{path}: not valid TOML: {exc}") from None


def _describe(exc: ValidationError, path: Path, data: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    lines = [f"{path}: invalid configuration"]
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        where = _dotted(loc)
        origin = _env_name(loc)
        if origin in environ:
            where += f" (from ${origin})"
        elif loc[:1] == ("sources",) and len(loc) > 1 and isinstance(loc[1], int):
            where += _source_name(data, loc[1])
        lines.append(f"  {where}: {_reason(error)}")
    return "\n".join(lines)


def _source_name(data: Mapping[str, Any], index: int) -> str:
    sources = data.get("sources")
    if isinstance(sources, list) and index < len(sources) and isinstance(sources[index], dict):
        name = sources[index].get("name")
        if isinstance(name, str):
            return f" (name {name!r})"
    return ""


def _reason(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (not a setting; check the spelling against the README)"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    given = error.get("input")
    if kind in {"value_error", "assertion_error"} or isinstance(given, dict):
        return message
    return f"{message} (got {given!r})"


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _env_name(loc: tuple[int | str, ...]) -> str:
    names = [str(part).upper() for part in loc if isinstance(part, str)]
    return ENV_PREFIX + "__".join(names[:1] if any(isinstance(p, int) for p in loc) else names)
