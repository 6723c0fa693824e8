"""Back offset and the calibration page, printed by real Chromium and measured with pymupdf.

The calibration page is proven the way a user reads it: a printer that misplaces the back by
(dx, dy) is played by printing the page with that offset; the back's cross, seen from the
front (mirrored as the sheet turns over), must stand where the front's scale reads the
offset that makes up for it, (-dx, -dy).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cardpress.cli import cli
from tests.conftest import snapshot
from tests.test_html import find_label, open_pdf, print_to_pdf

pytestmark = pytest.mark.slow

MM = 72 / 25.4  # points per millimetre
DECK = "cards/history.yaml"


@pytest.fixture
def folder(good_deck: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(good_deck.parent.parent)
    return good_deck.parent.parent


def _printed(html: Path) -> Any:
    pdf = html.with_suffix(".pdf")
    print_to_pdf(html, pdf)
    return open_pdf(pdf)


def _centre(box: Any) -> tuple[float, float]:
    return ((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2)


def test_back_offset_moves_every_back_and_no_front(folder: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["build", DECK, "-o", "plain"]).exit_code == 0
    moved = runner.invoke(cli, ["build", DECK, "-o", "moved", "--back-offset", "2,-1.5"])
    assert moved.exit_code == 0, moved.output
    assert "backs moved 2 mm right, 1.5 mm up" in moved.stdout
    plain, shifted = (
        _printed(Path("plain/history.cards.html")),
        _printed(Path("moved/history.cards.html")),
    )
    for number, topic in (("1", "Dates"), ("1R", "Dates"), ("3", "People")):
        for page in (0, 1):  # the front, then the back
            before = find_label(plain[page], number, topic)
            after = find_label(shifted[page], number, topic)
            assert before is not None and after is not None
            (x0, y0), (x1, y1) = _centre(before), _centre(after)
            dx, dy = (x1 - x0) / MM, (y1 - y0) / MM
            expected = (2.0, -1.5) if page == 1 else (0.0, 0.0)
            assert abs(dx - expected[0]) < 0.1 and abs(dy - expected[1]) < 0.1, (number, page)


def _cross(page: Any) -> tuple[float, float]:
    """The centre of the back's cross (its two bars), in points."""
    rects = [d["rect"] for d in page.get_drawings()]
    bars = [r for r in rects if max(r.width, r.height) > 80 and min(r.width, r.height) < 5]
    level = [r for r in bars if r.width > r.height]
    upright = [r for r in bars if r.height > r.width]
    assert len(level) == 1 and len(upright) == 1, bars
    return ((upright[0].x0 + upright[0].x1) / 2, (level[0].y0 + level[0].y1) / 2)


def _reading(page: Any, at: float, axis: str) -> float:
    """What the front's scale along ``axis`` reads at ``at`` (points): the line through its
    numbers, read where the cross stands. The scale across runs under the centre, the one
    down to its right; each has its numbers on both sides of its line."""
    cx, cy = page.rect.width / 2, page.rect.height / 2
    row = []
    for word in page.get_text("words"):
        try:
            value = float(word[4].replace("\u2212", "-"))
        except ValueError:
            continue
        x, y = (word[0] + word[2]) / 2 - cx, (word[1] + word[3]) / 2 - cy
        if axis == "x" and 3 * MM < y < 15 * MM and abs(x) < 6 * MM:
            row.append((value, x + cx))
        elif axis == "y" and 3 * MM < x < 15 * MM and abs(y) < 6 * MM:
            row.append((value, y + cy))
    assert len(row) == 5, row  # -4, -2, 0, +2, +4
    (v0, p0), (v1, p1) = min(row, key=lambda n: n[1]), max(row, key=lambda n: n[1])
    return float(v0 + (at - p0) * (v1 - v0) / (p1 - p0))


@pytest.mark.parametrize("duplex", ["long", "short"])
@pytest.mark.parametrize("error", [(1.5, -1.0), (-2.5, 0.5)])
def test_the_calibration_page_reads_the_offset_that_makes_up_for_the_printer(
    folder: Path, duplex: str, error: tuple[float, float]
) -> None:
    misprint = f"{error[0]},{error[1]}"  # the printer, played by an offset of the back
    result = CliRunner().invoke(
        cli, ["calibrate", "-o", "cal", "--duplex", duplex, "--back-offset", misprint]
    )
    assert result.exit_code == 0, result.output
    pdf = _printed(Path(f"cal/calibration.a4.{duplex}.html"))
    front, back = pdf[0], pdf[1]
    bx, by = _cross(back)
    # Held to the light: the back seen through the front, mirrored as the sheet turned over.
    seen = (front.rect.width - bx, by) if duplex == "long" else (bx, front.rect.height - by)
    x, y = _reading(front, seen[0], "x"), _reading(front, seen[1], "y")
    assert abs(x - -error[0]) < 0.15 and abs(y - -error[1]) < 0.15, (x, y)


def test_calibrate_writes_its_own_files_and_never_a_decks(folder: Path) -> None:
    assert CliRunner().invoke(cli, ["build", DECK]).exit_code == 0
    before = snapshot(Path("dist"))

    result = CliRunner().invoke(cli, ["calibrate", "--paper", "letter", "--duplex", "short"])

    assert result.exit_code == 0, result.output
    after = snapshot(Path("dist"))
    assert set(after) - set(before) == {"dist/calibration.letter.short.html"}
    assert {k: v for k, v in after.items() if k in before} == before
    bad = CliRunner().invoke(cli, ["calibrate", "--back-offset", "20,0"])
    assert bad.exit_code == 2
    assert "X and Y must each be within ±10 mm" in bad.output
