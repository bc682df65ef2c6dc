"""The README says what the code does: settings tables generated from the model, every command shown."""

from __future__ import annotations

import argparse

from ingest.cli import build_parser
from ingest.docs import rewrite
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_the_settings_tables_are_the_generated_ones() -> None:
    assert rewrite(README) == README, "run `python -m ingest.docs README.md` and commit the README"


def _commands(parser: argparse.ArgumentParser, prefix: str = "ingest") -> list[str]:
    found = []
    for action in parser._actions:  # argparse has no public way to list subcommands
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, f"{prefix} {name}") or [f"{prefix} {name}"]
    return found


def test_every_command_is_in_the_readme_with_an_example() -> None:
    commands = _commands(build_parser())
    assert len(commands) >= 15
    missing = [command for command in commands if f"`{command}" not in README]
    assert not missing, f"commands the README does not document: {missing}"
    examples = README.split("## Commands", 1)[1].split("\n## ", 1)[0]
    unshown = [command for command in commands if f"$ {command}" not in examples]
    assert not unshown, f"commands without an example in the README's Commands section: {unshown}"
