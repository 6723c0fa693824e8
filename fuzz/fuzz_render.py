"""Coverage-guided fuzzing of field rendering: any text renders, nothing executable survives,
and the plain-text shortcut agrees with the Markdown parser.

    .venv/bin/python fuzz/fuzz_render.py /tmp/render-corpus fuzz/corpus/render -max_total_time=600
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser

import atheris

with atheris.instrument_imports():
    from cardpress.render import render, render_markdown

_FORBIDDEN_TAGS = {"script", "style", "iframe", "object", "embed", "form", "svg", "math"}


class _Inspector(HTMLParser):
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _FORBIDDEN_TAGS:
            raise AssertionError(f"<{tag}> survived")
        for name, value in attrs:
            if name.startswith("on"):
                raise AssertionError(f"event handler {name} survived")
            if name in ("href", "src") and (value or "").strip().lower().startswith(
                ("javascript:", "data:", "vbscript:")
            ):
                raise AssertionError(f"{name}={value!r} survived")


def inspect(html: str) -> None:
    """Raise AssertionError if anything in ``html`` could run."""
    _Inspector().feed(html)


def test_one_input(data: bytes) -> None:
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
    html = render(text, lambda src: "image.png").html
    inspect(html)
    if render_markdown(text).html != render(text).html:
        raise AssertionError(f"shortcut and parser disagree on {text!r}")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
