"""Math on the printable pages: MathJax's \\( \\) and \\[ \\] typeset as MathML, which
Chromium sets without any script; checked in Chromium's print and its DOM."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cardpress.cli import cli
from tests.conftest import browser_dom
from tests.test_html import open_pdf, print_to_pdf

pytestmark = pytest.mark.slow

DECK = r"""key: maths
name: Maths
cards:
  - id: inline
    front: 'What is \(\frac{a}{b} + \sqrt{x^2+1}\)?'
    back: 'Display: \[\sum_{k=1}^{n} k = \frac{n(n+1)}{2}\]'
  - id: hostile
    front: 'Links and styles: \(\href{javascript:alert(1)}{x} + \style{color:red}{y}\)'
    back: 'Text: \(\text{&lt;img src=x onerror=alert(1)&gt;}\)'
  - id: broken
    front: 'Unbalanced: \(\left( x\)'
    back: 'kept as written'
"""


@pytest.fixture
def pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("cards").mkdir()
    Path("cards/maths.yaml").write_text(DECK, encoding="utf-8")
    result = CliRunner().invoke(cli, ["build", "cards/maths.yaml"])
    assert result.exit_code == 0, result.output
    return tmp_path / "dist"


@pytest.mark.parametrize("layout", ["cards", "sheet"])
def test_formulas_print_as_math_and_nothing_else_gets_in(pages: Path, layout: str) -> None:
    html = pages / f"maths.{layout}.html"
    dom = browser_dom(html)
    assert dom.count("<math") >= 4  # every formula that reads
    assert 'display="block"' in dom  # \[ \] set apart
    assert not re.search(r"<(script|iframe|object)\b", dom)
    assert not re.search(r"\s(on\w+|href|style)=", dom.split("<main>", 1)[1])
    assert "javascript:" not in dom
    pdf = html.with_suffix(".pdf")
    print_to_pdf(html, pdf)
    with open_pdf(pdf) as document:
        text = " ".join(page.get_text() for page in document)
    assert "\\frac" not in text and "\\sqrt" not in text  # typeset, not its source
    assert "\\left( x" in text  # what latex2mathml cannot read stays as written
    assert "onerror" in text  # the \text is text, shown, never markup


def test_the_package_keeps_the_tex_for_ankis_mathjax(pages: Path) -> None:
    csv = (pages / "maths.csv").read_text(encoding="utf-8")
    assert "\\(\\frac{a}{b}" in csv and "<math" not in csv
