"""Field rendering: the safe Markdown subset, and the plain-text shortcut agreeing with it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cardpress.render import plain_text, render, render_markdown
from tests.conftest import examples

FIELD_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from("abc XYZ 019.,;:'\"()-+*_`[]!<>&#|~={}/\\\n\t\u00a0é\u0301"),
        st.characters(codec="utf-8"),
    ),
    max_size=40,
)


@settings(max_examples=examples(600))
@given(FIELD_TEXT)
def test_plain_shortcut_renders_like_the_parser(text: str) -> None:
    assert render(text).html == render_markdown(text).html


# Inputs the fuzzer (fuzz/fuzz_render.py) found; each once broke an invariant.
FUZZ_FINDINGS = ["\ufeff\uffff\u2a6b\u2520", "\ufeffab", "a\ufeffb"]


@pytest.mark.parametrize("text", FUZZ_FINDINGS)
def test_fuzz_findings(text: str) -> None:
    assert render(text).html == render_markdown(text).html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("1924", "1924"),
        ("plain words, with: punctuation", "plain words, with: punctuation"),
        ("a *b* **c**", "a <em>b</em> <strong>c</strong>"),
        ("line1\nline2", "line1<br>\nline2"),
        ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"),
        ("<script>alert(1)</script>hi", "hi"),
        ('<b onclick="x()">b</b>', "<b>b</b>"),
        ("[x](javascript:alert(1))", '<a rel="noopener noreferrer">x</a>'),
        ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
        ("\\(a<b\\) and \\[x^2\\]", "\\(a&lt;b\\) and \\[x^2\\]"),
        ("{{c1::Mercader::agent}} struck", "{{c1::Mercader::agent}} struck"),
        ("e\u0301", "\u00e9"),
    ],
)
def test_rendering(text: str, html: str) -> None:
    assert render(text).html == html


def test_every_image_source_goes_through_the_resolver() -> None:
    seen: list[str] = []

    def resolver(src: str) -> str | None:
        seen.append(src)
        return "ok.png" if src == "good.png" else None

    rendered = render(
        '![a](good.png) <img src="bad.png" onerror="alert(1)"> <img src=good.png>', resolver
    )
    assert rendered.html == '<img src="ok.png" alt="a"> <img> <img src="ok.png">'
    assert seen == rendered.images == ["good.png", "bad.png", "good.png"]


def test_plain_text() -> None:
    assert plain_text("a <em>b</em><br>c &amp; d") == "a b\nc & d"


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("one *paragraph*", "one <em>paragraph</em>"),
        ("one\n\ntwo", "<p>one</p>\n<p>two</p>"),
        ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"),
    ],
)
def test_a_single_paragraph_loses_its_wrapper(text: str, html: str) -> None:
    assert render_markdown(text).html == html
