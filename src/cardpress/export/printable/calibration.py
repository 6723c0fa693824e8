"""The calibration page: one sheet, printed on both sides, from which a user reads how far
their printer misplaces the second side, for ``build --back-offset``.

The front has a millimetre scale across and down its centre; the back a cross at the same
place (moved by the offset the page is printed with). Held to the light, the back's cross
shows through at the printer's error; each mark of the scale is labelled with the offset
that makes up for the cross standing there, which depends on how the sheet turns over:
flipped on the long edge, the back's left and right swap as seen from the front; flipped
on the short edge, its top and bottom.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, TextIO

from cardpress.export import BuildOptions, ExportSummary
from cardpress.export.printable.cards import offset_text
from cardpress.export.printable.frame import CSP, render, write_page
from cardpress.export.printable.metrics import LINE_HEIGHT
from cardpress.export.printable.paper import duplex_mode, mm, paper_for

REACH = 5  # mm each way from the centre that the scale reads
STEP = 0.5  # mm between marks
LABEL_EVERY = 2.0  # mm between the numbers of a scale


class Mark(NamedTuple):
    """One mark of a scale: where it is (mm from the centre, right or down as the front is
    seen), and the offset it reads ("" for an unlabelled mark)."""

    at: float
    label: str


def marks(duplex: str) -> tuple[list[Mark], list[Mark]]:
    """The marks of the scale across (X) and down (Y) the front, for a sheet turned over as
    ``duplex`` says. A back moved by (dx, dy), as the back is seen, shows from the front at
    (-dx, dy) when flipped on the long edge and at (dx, -dy) on the short edge; the offset
    that makes up for it is (-dx, -dy)."""
    sign_x, sign_y = (1, -1) if duplex == "long" else (-1, 1)
    steps = int(REACH / STEP)
    across, down = [], []
    for i in range(-steps, steps + 1):
        at = i * STEP
        labelled = at % LABEL_EVERY == 0
        across.append(Mark(at, _signed(sign_x * at) if labelled else ""))
        down.append(Mark(at, _signed(sign_y * at) if labelled else ""))
    return across, down


def _signed(value: float) -> str:
    return "0" if value == 0 else f"{value:+g}".replace("-", "\u2212")


def write_calibration(path: Path, options: BuildOptions | None = None) -> ExportSummary:
    """Write the calibration page for the paper and duplex of ``options``, its back moved
    by ``options.back_offset``."""
    options = options or BuildOptions()
    paper, duplex = paper_for(options.paper), duplex_mode(options.duplex)
    if duplex == "none":
        raise ValueError(
            "one-sided printing puts each back on a sheet of its own: there is no second "
            "side to line up (calibrate for --duplex long or short)"
        )
    across, down = marks(duplex)
    offset = options.back_offset

    def write(out: TextIO) -> None:
        out.writelines(
            render(
                "calibration.html.j2",
                paper=paper,
                duplex=duplex,
                across=across,
                down=down,
                offset=offset,
                offset_text=offset_text(offset),
                offset_flag=f"{offset[0]:g},{offset[1]:g}",
                reach=REACH,
                images=[],
                accents=[],
                csp=CSP,
                line_height=LINE_HEIGHT,
                mm=mm,
            )
        )

    write_page(path, write)
    return ExportSummary(f"1 sheet, 2 pages ({paper.name}, {duplex}-edge duplex)")
