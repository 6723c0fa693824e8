"""The README is part of the product: its example and its CLI reference must stay true."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from cardpress import Kind, load_deck
from cardpress.cli import cli
from tests.conftest import FIXTURES, REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands() -> None:
    block = README.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert block[0].endswith("cardpress build")
    assert block[1].endswith("pytest")


def test_readme_card_example_loads(tmp_path: Path) -> None:
    example = README.split("```yaml\n# yaml-language-server", 1)[1].split("```", 1)[0]
    deck_file = tmp_path / "example.yaml"
    deck_file.write_text("# yaml-language-server" + example, encoding="utf-8")
    (tmp_path / "img").mkdir()
    shutil.copy(FIXTURES / "outside.png", tmp_path / "img" / "mexico.png")
    deck = load_deck(deck_file, strict=True)
    assert {card.kind for card in deck.cards} == set(Kind)


def test_readme_documents_every_command_and_option() -> None:
    assert isinstance(cli, click.Group)
    for param in cli.params:  # the group's own: --config, --no-config
        for option in getattr(param, "opts", []):
            assert option in README, f"README does not mention {option}"
    for name, command in cli.commands.items():
        assert f"cardpress {name}" in README
        for param in command.params:
            for option in getattr(param, "opts", []):
                if option.startswith("-") and option != "--help":
                    assert option in README, f"README does not mention {name} {option}"


def test_readme_documents_every_deck_and_card_key() -> None:
    from cardpress.format import CARD_KEYS, DECK_KEYS

    for key in [*DECK_KEYS, *CARD_KEYS]:
        assert f"`{key}`" in README, key


def test_readme_documents_every_setting() -> None:
    from cardpress.config import SETTINGS

    example = README.split("```toml\n# cardpress.toml\n", 1)[1].split("```", 1)[0]
    assert [line.split(" = ", 1)[0] for line in example.splitlines()] == list(SETTINGS)
