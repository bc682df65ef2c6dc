"""The error tree. Every failure the service records carries a stable ``code``.

    IngestError                    code: "<family>.<reason>", stored on sources and sightings
    ├── ConfigError                config.*   bad configuration: the CLI exits 2
    ├── FetchError                 fetch.*, http.<status>
    │   ├── HTTPStatusError        http.404, http.410, http.503, ...
    │   └── BlockedError           fetch.blocked_address, fetch.bad_scheme, fetch.robots_disallowed
    ├── ParseError                 parse.not_a_feed, parse.bad_json_feed
    ├── ExtractError               extract.empty, extract.failed, extract.worker_crashed
    ├── SourceError                source.path_missing, source.outside_directory
    └── LeaseLost                  lease.lost: another worker took the work over; not a failure

Third-party exceptions are translated into this tree once, where the library is called
(``client`` for httpx, ``parse`` for feedparser, ``extract`` for trafilatura).
"""

from __future__ import annotations


class IngestError(Exception):
    """Base of every error the service reports; ``code`` is stable, ``message`` is for people."""

    family = "ingest"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = f"{self.family}.{reason}"
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __reduce__(self) -> tuple[object, ...]:
        # Errors cross the process pool: rebuild them field by field, whatever the subclass's
        # constructor takes (the default would call it with the message alone).
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[IngestError], args: tuple[object, ...], state: dict[str, object]) -> IngestError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigError(IngestError):
    family = "config"


class FetchError(IngestError):
    family = "fetch"


class HTTPStatusError(FetchError):
    family = "http"

    def __init__(self, status: int, url: str, retry_after: float | None = None) -> None:
        super().__init__(str(status), f"{url} answered HTTP {status}")
        self.status = status
        self.url = url
        self.retry_after = retry_after


class BlockedError(FetchError):
    """The request was refused before it was sent: address, scheme or robots.txt."""


class ParseError(IngestError):
    family = "parse"


class ExtractError(IngestError):
    family = "extract"


class SourceError(IngestError):
    family = "source"


class LeaseLost(IngestError):
    family = "lease"

    def __init__(self, what: str) -> None:
        super().__init__("lost", f"another worker took over {what}; this result was not saved")
