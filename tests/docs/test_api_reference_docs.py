"""The API reference documents every public name, and every public docstring matches its signature.

Public names are read from the installed package (``__all__`` of every public namespace,
:func:`trajml_api.public_namespaces`); documented ones from the built site's ``objects.inv`` and
its alias lines. Docstrings are parsed with numpydoc and compared with ``inspect.signature``.
"""

from __future__ import annotations

import html
import importlib
import re

import pytest

from tests.docs.docs_site_build import build_site

trajml_api = importlib.import_module("trajml_api")
trajml_docstrings = importlib.import_module("trajml_docstrings")

# Public callables whose docstrings still lack a Parameters section matching the signature: fixed
# one by one, never added to. A name fixed must leave this list (the test says so).
PENDING: frozenset[str] = frozenset()


def test_every_public_namespace_has_a_page():
    on_pages = {ns for *_, namespaces in trajml_api.SUBJECTS for ns in namespaces}
    missing = sorted(set(trajml_api.public_namespaces()) - on_pages)
    assert not missing, (f"public namespaces without an API page (add them to SUBJECTS in "
                         f"docs/_ext/trajml_api.py): {missing}")
    stale = sorted(on_pages - set(trajml_api.public_namespaces()))
    assert not stale, f"SUBJECTS lists namespaces that are not public (no __all__ or gone): {stale}"


def test_every_public_name_is_in_the_built_reference():
    from sphinx.util.inventory import InventoryFile

    site = build_site()
    with open(site / "objects.inv", "rb") as fh:
        inv = InventoryFile.load(fh, "", lambda base, uri: uri)
    documented = {name for domain, entries in _entries(inv).items() if domain.startswith("py:") for name in entries}
    aliases = set()
    for page in (site / "api").glob("*.html"):
        aliases.update(re.findall(r"<code[^>]*><span class=\"pre\">([\w.]+)</span></code>: the same object as",
                                  html.unescape(page.read_text(encoding="utf-8"))))
    missing = [f"{ns}.{name}" for ns, names in trajml_api.public_names().items() for name in names
               if f"{ns}.{name}" not in documented and f"{ns}.{name}" not in aliases]
    assert not missing, f"public names missing from the API reference: {missing}"


def _entries(inv):
    # Sphinx 8.2+ returns an _Inventory object; older versions a dict of dicts.
    data = getattr(inv, "data", inv)
    return {domain: dict(entries) for domain, entries in data.items()}


def test_public_docstrings_match_their_signatures():
    problems = trajml_docstrings.public_api_problems(trajml_api.public_names())
    names = {p.split(":", 1)[0] for p in problems}
    new = [p for p in problems if p.split(":", 1)[0] not in PENDING]
    assert not new, "public docstrings to fix:\n" + "\n".join(new)
    fixed = sorted(PENDING - names)
    assert not fixed, f"fixed docstrings still listed in PENDING (remove them): {fixed}"


def _documented_ok(x: int, unit: str = "Å") -> int:
    """A function documented correctly.

    Parameters
    ----------
    x : int
        A number.
    unit : str
        Its unit.
    """
    return x


def _documented_wrong(x: int, r_max: float) -> int:
    """A function whose docstring names a parameter it does not have.

    Parameters
    ----------
    x : int
        A number.
    r_cut : float
        Former name.
    """
    return x


def _undocumented(x: int) -> int:
    return x


class _Documented:
    """A class documented on the class.

    Parameters
    ----------
    a, b : float
        Two lengths in Å.
    """

    def __init__(self, a: float, b: float) -> None:
        self.a, self.b = a, b


@pytest.mark.parametrize(("obj", "expected"), [
    (_documented_ok, None),
    (_Documented, None),
    (_documented_wrong, r"mod\.f: parameters \['r_max'\] of the signature are not in the docstring"),
    (_undocumented, r"mod\.f: no docstring"),
])
def test_the_docstring_check_names_what_is_wrong(obj, expected):
    problems = trajml_docstrings.check_object("mod.f", obj)
    if expected is None:
        assert problems == []
    else:
        assert any(re.match(expected, p) for p in problems), problems
        if obj is _documented_wrong:
            assert any("list ['r_cut'], which the signature does not have" in p for p in problems)
