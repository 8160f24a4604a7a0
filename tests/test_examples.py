"""Every script in examples/ runs to completion, with output.

The examples are the documentation's gallery: the docs build (``tests/docs/docs_site_build.py``, the
documented Sphinx command) executes each one with sphinx-gallery, once per test session, and fails
naming the script and the line of an example that raises. These tests check that every script got
its page and printed something, so the examples run once in CI, not twice.
"""

import re
from pathlib import Path

import pytest

from tests.docs.docs_site_build import build_site

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script):
    page = build_site() / "auto_examples" / f"{script.stem}.html"
    assert page.exists(), f"the docs build made no gallery page for {script.name}"
    text = page.read_text(encoding="utf-8")
    out = re.findall(r'sphx-glr-script-out[^>]*>(.*?)</pre>', text, flags=re.S)
    assert out and any(re.sub(r"<[^>]+>", "", o).strip(" \n\">") for o in out), f"{script.name} printed nothing"
    assert "Traceback (most recent call last)" not in text


def test_there_are_examples():
    assert EXAMPLES
