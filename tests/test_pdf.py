"""``build --pdf``: the printable pages printed by a real browser, measured with pymupdf.

The pages' geometry is tested at length on the HTML printed by Chromium (test_html.py); here
the PDFs of ``--pdf`` are held to that print: the same pages, the same words at the same
places, fonts embedded, and the same bytes from the same cards.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cardpress.cli import cli
from tests.conftest import CHROMIUM, snapshot
from tests.test_html import open_pdf, print_to_pdf

pytestmark = pytest.mark.slow

DECK = "cards/history.yaml"
PAGE_SIZES = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}  # mm
PT = 25.4 / 72  # mm per point


def _build(*args: str) -> Result:
    return CliRunner().invoke(cli, ["build", DECK, "--pdf", "--browser", str(CHROMIUM), *args])


@pytest.fixture
def folder(good_deck: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(good_deck.parent.parent)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    return good_deck.parent.parent


def _words(pdf: Path) -> list[list[tuple[str, float, float, float, float]]]:
    """Every word of every page with its box, in points."""
    with open_pdf(pdf) as document:
        return [
            [(w[4], round(w[0], 2), round(w[1], 2), round(w[2], 2), round(w[3], 2))
             for w in page.get_text("words")]
            for page in document
        ]  # fmt: skip


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_the_pdfs_are_the_pages_as_chromium_prints_them(folder: Path, paper: str) -> None:
    result = _build("--paper", paper)

    assert result.exit_code == 0, result.output
    assert "dist/history.cards.pdf: 4 pages, printed by" in result.stdout
    for layout in ("cards", "sheet"):
        pdf = Path(f"dist/history.{layout}.pdf")
        printed = folder / f"by-hand.{layout}.pdf"
        print_to_pdf(Path(f"dist/history.{layout}.html"), printed)
        # The same pages, every word at the same place as a print of the HTML.
        assert _words(pdf) == _words(printed), layout
        with open_pdf(pdf) as document:
            width, height = PAGE_SIZES[paper]
            for page in document:
                assert abs(page.rect.width * PT - width) < 1
                assert abs(page.rect.height * PT - height) < 1
                fonts = page.get_fonts()
                # Every font embedded: a font file, or Type3 glyphs drawn in the PDF itself.
                assert fonts and all(f[1] != "n/a" or f[2] == "Type3" for f in fonts)
            assert document.metadata is not None
            assert document.metadata["creator"].startswith("Mozilla/5.0")


def test_the_same_cards_give_the_same_pdf_bytes_dated_by_the_last_change(folder: Path) -> None:
    assert _build().exit_code == 0
    first = snapshot(Path("dist"))
    time.sleep(1.1)  # another second on the clock: it must not show in the PDFs
    Path("dist/history.cards.pdf").unlink()

    assert _build().exit_code == 0
    assert snapshot(Path("dist")) == first
    assert _build("--check").exit_code == 0
    with open_pdf(Path("dist/history.cards.pdf")) as document:
        assert document.metadata is not None
        created = document.metadata["creationDate"]
    lock = Path("cards/history.lock.json").read_text(encoding="utf-8")
    newest = max(int(m) for m in re.findall(r'"mtime": (\d+)', lock))
    assert created == "D:" + time.strftime("%Y%m%d%H%M%SZ", time.gmtime(newest))


def test_without_a_browser_the_build_says_what_to_install_and_writes_nothing(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert CliRunner().invoke(cli, ["build", DECK]).exit_code == 0
    before = snapshot(Path("cards"), Path("dist"))
    monkeypatch.setenv("PATH", str(folder / "no-browsers-here"))

    result = CliRunner().invoke(cli, ["build", DECK, "--pdf"])

    assert result.exit_code == 1
    assert "no browser found to print PDFs with: install Google Chrome, Chromium or " in (
        result.stderr
    )
    assert "--browser PATH" in result.stderr
    assert snapshot(Path("cards"), Path("dist")) == before

    named = CliRunner().invoke(cli, ["build", DECK, "--pdf", "--browser", "/no/such/chrome"])
    assert named.exit_code == 1
    assert "/no/such/chrome: error: no browser there to print PDFs with" in named.stderr
    assert snapshot(Path("cards"), Path("dist")) == before
    assert "Traceback" not in result.output + named.output


def test_the_browser_can_be_named_in_the_environment(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(folder / "no-browsers-here"))
    monkeypatch.setenv("CARDPRESS_BROWSER", str(CHROMIUM))

    result = CliRunner().invoke(cli, ["build", DECK, "--pdf"])

    assert result.exit_code == 0, result.output
    with open_pdf(Path("dist/history.sheet.pdf")) as document:
        assert document.page_count > 0
