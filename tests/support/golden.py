"""Golden files: expected outputs stored beside their fixtures.

Set INGEST_UPDATE_GOLDEN=1 to rewrite them from the current code, then read the diff before committing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def check_golden(actual: Any, path: Path) -> None:
    rendered = json.dumps(actual, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if os.environ.get("INGEST_UPDATE_GOLDEN") == "1" or not path.exists():
        path.write_text(rendered, encoding="utf-8")
        if os.environ.get("INGEST_UPDATE_GOLDEN") != "1":
            raise AssertionError(f"{path} did not exist; it was written: check it and run again")
        return
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert json.loads(rendered) == expected, f"output differs from {path.name}"
