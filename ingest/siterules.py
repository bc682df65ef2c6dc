"""Per-site extraction rules: where a site keeps its article body, and what to cut out of it.

A TOML file (``config/site_rules.toml`` under the working directory, or the file the
``INGEST_SITE_RULES`` environment variable names) holds one ``[[rule]]`` table per site layout::

    [[rule]]
    name = "example-news"                               # optional: how the rule is reported
    hosts = ["*.example-news.test", "news.example.org"] # exact hosts, or "*." + a domain
    body = "div.article-body"                           # CSS selector of the article body
    remove = [".related", ".ad", "figure.promo"]        # removed inside the body (optional)

``"*.example-news.test"`` matches every host under example-news.test (``www.``, ``m.``, ``a.b.``), not
example-news.test itself: list both when both serve articles. For a page's host, an exact host beats
a pattern and the longest pattern wins; a host may be listed by one rule only.

Extraction (:mod:`ingest.extract`) takes the body's first match, removes what ``remove`` selects and
extracts from what is left; when the selector finds nothing or too little text, it falls back to the
ordinary heuristics. The file is read once per process (the pool's workers read it on their first
page): restart the service after editing it. ``ingest extract URL`` shows what a rule produces.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from cssselect import SelectorError
from lxml.cssselect import CSSSelector

DEFAULT_PATH = Path("config") / "site_rules.toml"  # relative to the working directory
ENVIRONMENT = "INGEST_SITE_RULES"
_KEYS = frozenset({"name", "hosts", "body", "remove"})
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"  # letters and digits (any script), hyphens inside
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*", re.UNICODE)
Selector = Callable[[Any], list[Any]]


@dataclass(frozen=True, slots=True)
class SiteRule:
    """One ``[[rule]]`` of the file: ``number`` counts from 1 in the file's order."""

    number: int
    hosts: tuple[str, ...]
    body: str
    remove: tuple[str, ...] = ()
    name: str | None = None
    path: str = ""
    body_selector: Selector | None = field(default=None, compare=False, repr=False)
    remove_selectors: tuple[Selector, ...] = field(default=(), compare=False, repr=False)

    @property
    def label(self) -> str:
        """How the rule is reported: its name, else its first host."""
        return self.name or self.hosts[0]

    def describe(self) -> str:
        return f"{self.label} ({self.path} rule {self.number})"

    def find_body(self, tree: Any) -> Any | None:
        """The first element of ``tree`` the body selector matches, or None."""
        selector = self.body_selector or CSSSelector(self.body, translator="html")
        found = selector(tree)
        return found[0] if found else None

    def strip(self, body: Any) -> int:
        """Remove, in place, what the ``remove`` selectors match inside ``body`` (never ``body``
        itself); the text that follows a removed element stays. Returns how many were removed."""
        selectors = self.remove_selectors or tuple(CSSSelector(s, translator="html") for s in self.remove)
        removed = 0
        for selector in selectors:
            for element in selector(body):
                parent = element.getparent()
                if element is body or parent is None:
                    continue
                _drop(element, parent)
                removed += 1
        return removed


@dataclass(frozen=True, slots=True)
class SiteRules:
    """The rules of one file, indexed for :meth:`rule_for`."""

    path: str
    rules: tuple[SiteRule, ...] = ()
    exact: dict[str, SiteRule] = field(default_factory=dict)
    patterns: tuple[tuple[str, SiteRule], ...] = ()  # (".domain", rule), longest first

    def rule_for(self, host: str) -> SiteRule | None:
        """The rule for a host: the rule listing it exactly, else the longest pattern it falls under."""
        host = host.strip().rstrip(".").lower()
        if not host:
            return None
        if (rule := self.exact.get(host)) is not None:
            return rule
        return next((rule for suffix, rule in self.patterns if host.endswith(suffix)), None)


def rules_path() -> Path:
    """The rules file in effect: $INGEST_SITE_RULES, else config/site_rules.toml (working directory)."""
    return Path(os.environ.get(ENVIRONMENT) or DEFAULT_PATH)


def active_rules() -> SiteRules:
    """The rules of the file in effect, read once per process; ValueError when the file is invalid
    (or missing, when $INGEST_SITE_RULES names it: the default file is optional)."""
    path = rules_path()
    return load_rules(str(path), required=bool(os.environ.get(ENVIRONMENT)))


def rule_for(host: str) -> SiteRule | None:
    """The rule of the file in effect for ``host``, or None; ValueError when the file is invalid."""
    return active_rules().rule_for(host)


@lru_cache(maxsize=8)
def load_rules(path: str, required: bool = True) -> SiteRules:
    """Read and check a rules file (cached by path). A missing file is no rules when not required."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        if required:
            raise ValueError(f"{path}: site rules file not found") from None
        return SiteRules(path)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the site rules: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    return parse_rules(data, path)


def parse_rules(data: dict[str, Any], path: str = "<rules>") -> SiteRules:
    """Rules from a parsed TOML document; ValueError naming the file, the rule and what is wrong."""
    unknown = sorted(set(data) - {"rule"})
    if unknown:
        raise ValueError(f"{path}: unknown top-level key(s) {', '.join(unknown)}; rules are [[rule]] tables")
    entries = data.get("rule", [])
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise ValueError(f"{path}: 'rule' must be an array of tables ([[rule]])")
    rules = tuple(_rule(entry, number, path) for number, entry in enumerate(entries, 1))
    exact: dict[str, SiteRule] = {}
    suffixes: dict[str, SiteRule] = {}
    for rule in rules:
        for host in rule.hosts:
            key, table = (host[1:], suffixes) if host.startswith("*.") else (host, exact)
            if (earlier := table.get(key)) is not None:
                raise ValueError(
                    f"{path}: rule {rule.number}: host {host!r} is already listed by rule {earlier.number}"
                )
            table[key] = rule
    patterns = tuple(sorted(suffixes.items(), key=lambda item: -len(item[0])))
    return SiteRules(path, rules, exact, patterns)


def _rule(entry: dict[str, Any], number: int, path: str) -> SiteRule:
    def problem(reason: str) -> ValueError:
        return ValueError(f"{path}: rule {number}: {reason}")

    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise problem(f"unknown key(s) {', '.join(unknown)} (expected {', '.join(sorted(_KEYS))})")
    for key in ("hosts", "body"):
        if key not in entry:
            raise problem(f"missing {key!r}")
    hosts = entry["hosts"]
    if isinstance(hosts, str):
        hosts = [hosts]
    if not isinstance(hosts, list) or not hosts or not all(isinstance(h, str) for h in hosts):
        raise problem("'hosts' must be a non-empty list of host names")
    checked = tuple(_host(host, problem) for host in hosts)
    body = entry["body"]
    if not isinstance(body, str) or not body.strip():
        raise problem("'body' must be a CSS selector (a non-empty string)")
    remove = entry.get("remove", [])
    if isinstance(remove, str):
        remove = [remove]
    if not isinstance(remove, list) or not all(isinstance(s, str) and s.strip() for s in remove):
        raise problem("'remove' must be a list of CSS selectors")
    name = entry.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise problem("'name' must be a non-empty string")
    return SiteRule(
        number=number,
        hosts=checked,
        body=body.strip(),
        remove=tuple(s.strip() for s in remove),
        name=name.strip() if name else None,
        path=path,
        body_selector=_compiled(body.strip(), "body", problem),
        remove_selectors=tuple(_compiled(s.strip(), "remove", problem) for s in remove),
    )


def _host(host: str, problem: Callable[[str], ValueError]) -> str:
    cleaned = host.strip().rstrip(".").lower()
    domain = cleaned[2:] if cleaned.startswith("*.") else cleaned
    if not _HOST.fullmatch(domain):
        raise problem(
            f"{host!r} is not a host name or a '*.domain' pattern (no scheme, port, path or other '*')"
        )
    return cleaned


def _compiled(css: str, key: str, problem: Callable[[str], ValueError]) -> Selector:
    try:
        return CSSSelector(css, translator="html")  # type: ignore[no-any-return]
    except SelectorError as exc:
        raise problem(f"{key} selector {css!r} is not valid CSS: {exc}") from None


def _drop(element: Any, parent: Any) -> None:
    """Remove an element and its children, keeping the text that follows it."""
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)
