"""Coverage-guided fuzzing of maths in field text: MathJax spans are kept from the Markdown
parser and put back before sanitising, wherever they land (text, attribute values, links,
image descriptions); nothing executable survives, and the HTML is stable under Anki's NFC
normalisation.

    .venv/bin/python fuzz/fuzz_maths.py /tmp/maths-corpus fuzz/corpus/maths -max_total_time=600
"""

from __future__ import annotations

import sys
import unicodedata

import atheris

with atheris.instrument_imports():
    from cardpress.render import render

from fuzz_render import inspect

# Pieces that put a maths delimiter inside markup: the fuzzer strings them together.
PIECES = [
    "\\(", "\\)", "\\[", "\\]", "$", '<img src="p.png" alt="', '<a title="', '<a href="',
    '" onerror="x()" ', " onload='y()' ", 'href="javascript:z()"', "![", "](p.png)", "[", "](",
    "https://e.org", ")", '"', "'", ">", "<", "/>", "</a>", "\u0338", "&", "&quot;", ";", "=",
    " ", "\n", "x", "a<b", "*", "_", "`", "{{c1::", "}}", "<b>", "</b>", "e\u0301",
]  # fmt: skip


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    text = "".join(
        PIECES[provider.ConsumeIntInRange(0, len(PIECES) - 1)]
        if provider.ConsumeBool()
        else provider.ConsumeUnicodeNoSurrogates(3)
        for _ in range(provider.ConsumeIntInRange(0, 40))
    )
    html = render(text, lambda src: "p.png").html
    inspect(html)
    if not unicodedata.is_normalized("NFC", html):
        raise AssertionError(f"not NFC-stable: {text!r} -> {html!r}")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
