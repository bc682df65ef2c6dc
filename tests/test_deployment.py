"""The deployment files say what the README promises (there is no Docker engine in CI to run them)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from ingest.durations import parse_duration
from ingest.settings import DaemonSettings
from tests.conftest import ROOT


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _dockerfile() -> list[str]:
    """Instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_the_image_is_slim_runs_as_a_user_and_has_a_healthcheck() -> None:
    lines = _dockerfile()
    final_stage = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM")) :]
    assert final_stage[0].startswith("FROM python:3.11-slim")
    user = [line.split()[1] for line in final_stage if line.startswith("USER")]
    assert user and user[-1] not in {"root", "0"}
    assert any(line.startswith("HEALTHCHECK") and "/healthz" in line for line in final_stage)
    assert final_stage[-1] == 'CMD ["ingest", "daemon"]'


def test_compose_has_postgres_a_migration_and_a_scalable_worker() -> None:
    services = _compose()["services"]
    postgres, migrate, worker = services["postgres"], services["migrate"], services["worker"]
    assert "healthcheck" in postgres and any(":/var/lib/postgresql/data" in v for v in postgres["volumes"])
    assert migrate["command"] == ["ingest", "db", "upgrade"] and migrate["restart"] == "no"
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert worker["depends_on"]["postgres"]["condition"] == "service_healthy"
    # --scale worker=N needs no fixed container name and no host port
    assert "container_name" not in worker and "ports" not in worker
    assert worker["environment"]["INGEST_DATABASE_URL"].startswith("postgresql+psycopg://")


def test_stop_grace_period_outlasts_the_daemons_grace() -> None:
    worker = _compose()["services"]["worker"]
    grace = DaemonSettings().shutdown_grace
    assert parse_duration(worker["stop_grace_period"]) > grace + 5  # plus the lease release
