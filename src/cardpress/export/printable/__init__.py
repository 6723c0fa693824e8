"""Printable HTML: cut-out duplex flashcards (``NAME.cards.html``) and a fold-in-half study
sheet (``NAME.sheet.html``), self-contained and without script.

The pages have no JavaScript, so text is fitted here, in Python, from font metrics; a deck is
measured once (:func:`measure`) and both writers print that measurement. The modules, in the
order the work flows:

- paper.py: paper sizes and where everything sits on a sheet;
- metrics.py: font metrics, character and word widths;
- blocks.py: reading a field (html.parser) into the blocks the browser stacks, measured;
  blocks_fast.py reads the sanitiser's output the same way, faster;
- fit.py: fitting a card side or a sheet row: the largest type size that fits;
- fields.py: making fields ready: cloze sides, images embedded once, the sanitiser last;
- layout.py: :func:`measure`, every card's faces and every sheet row, once for both pages;
- frame.py: what both pages share: templates, escaping, accents, image rules, writing;
- cards.py and sheet.py: the two pages.
"""

from cardpress.export.printable.cards import write_cards
from cardpress.export.printable.frame import CSP
from cardpress.export.printable.layout import Measurement, measure
from cardpress.export.printable.paper import DUPLEX_MODES, PAPERS, Paper
from cardpress.export.printable.sheet import write_sheet

LAYOUTS = ("cards", "sheet")

__all__ = [
    "CSP",
    "DUPLEX_MODES",
    "LAYOUTS",
    "PAPERS",
    "Measurement",
    "Paper",
    "measure",
    "write_cards",
    "write_sheet",
]
