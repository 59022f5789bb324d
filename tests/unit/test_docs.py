"""The README is checked against the code: every command it shows exists, every setting it names is real."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from domain.settings import Settings
from ui.cli import app

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def _command_paths() -> set[str]:
    root = typer.main.get_command(app)
    paths: set[str] = set()

    def walk(command: object, prefix: str) -> None:
        paths.add(prefix.strip())
        # typer may ship its own click: duck-type groups rather than isinstance(click.Group)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{prefix} {name}")

    walk(root, "")
    return paths


def test_every_readme_command_exists() -> None:
    known = _command_paths()
    shown = re.findall(
        r"^\s*(?:\$ )?shopguide ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)", README, flags=re.MULTILINE
    )
    assert shown, "the README shows no shopguide commands"
    for words in shown:
        first, *rest = words.split()
        candidates = {first, f"{first} {rest[0]}"} if rest else {first}
        assert candidates & known, f"README shows `shopguide {words}` but the CLI has no such command"


def test_every_readme_setting_is_a_real_field() -> None:
    fields = {f"SHOPGUIDE_{name.upper()}" for name in Settings.model_fields}
    named = set(re.findall(r"\bSHOPGUIDE_[A-Z_]+\b", README)) - {"SHOPGUIDE_TEST_POSTGRES_URL"}
    assert named, "the README documents no settings"
    unknown = named - fields
    assert not unknown, f"README names settings that do not exist: {sorted(unknown)}"


def test_readme_has_exactly_two_setup_commands() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^\./scripts/\S+", quick_start, flags=re.MULTILINE)
    assert commands == ["./scripts/up.sh", "./scripts/test.sh"]
    ci = (Path(__file__).parents[2] / ".ci" / "run").read_text()
    assert "scripts/test.sh" in ci
