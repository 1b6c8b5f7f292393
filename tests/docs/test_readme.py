"""The README stays true to the code: the privilege tables and the CLI it documents."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from oppflow.cli import app
from oppflow.cli.admin import privilege_markdown
from oppflow.security.privileges import BUILTIN_ROLES

README = (Path(__file__).parents[2] / "README.md").read_text("utf-8")


@pytest.mark.parametrize("role_key", sorted(BUILTIN_ROLES))
def test_the_readme_shows_each_built_in_role_as_the_code_defines_it(role_key: str) -> None:
    _, privileges = BUILTIN_ROLES[role_key]
    assert privilege_markdown(privileges) in README


# Every command the CLI has, so that a new one cannot land undocumented.
COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented_and_answers_help(command: str) -> None:
    assert f"oppflow {command}" in README
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
