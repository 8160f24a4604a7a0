"""The built site: every internal link and image resolves, and pages render in headless Chromium.

Sphinx's linkcheck needs the web; internal links are checked here from the HTML instead: each
``href``/``src`` to a local file must exist, and each ``#fragment`` must be an ``id`` in its target.
Chromium loads the landing page, an API page and gallery pages and fails when an image does not
decode. CI installs Debian's ``chromium`` (``.ci/run``); elsewhere the browser test is skipped,
saying how to install one, when none is on the PATH (never under CI).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.docs.docs_site_build import build_site
from tests.headless_chromium import dump_dom

_PROBE = """
<script>
window.addEventListener("load", () => {
  const rows = Array.from(document.images).map(
    i => `${i.getAttribute("src")} ${i.complete} ${i.naturalWidth}x${i.naturalHeight}`);
  const pre = document.createElement("pre");
  pre.id = "render-probe";
  pre.textContent = "IMAGES " + rows.length + "\\n" + rows.join("\\n");
  document.body.appendChild(pre);
});
</script>
"""


@cache
def _ids(path: Path) -> frozenset[str]:
    return frozenset(re.findall(r'\sid="([^"]+)"', path.read_text(encoding="utf-8", errors="replace")))


def _local_links(page: Path) -> list[tuple[str, Path, str]]:
    text = page.read_text(encoding="utf-8", errors="replace")
    out = []
    for url in re.findall(r'\s(?:href|src)="([^"]*)"', text):
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or url.startswith(("mailto:", "javascript:", "data:")):
            continue
        target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
        out.append((url, target, unquote(parts.fragment)))
    return out


def test_every_internal_link_and_image_resolves():
    site = build_site()
    # _static holds the theme's assets (one is a Jinja template named .html), not pages
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)
    assert len(pages) > 20
    broken = []
    for page in pages:
        for url, target, fragment in _local_links(page):
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: {url} (no such file)")
            elif fragment and target.suffix == ".html" and fragment not in _ids(target):
                broken.append(f"{page.relative_to(site)}: {url} (no id {fragment!r})")
    assert not broken, "broken internal links:\n" + "\n".join(broken[:50])


def test_the_link_check_finds_a_broken_link(tmp_path):
    page = tmp_path / "a.html"
    (tmp_path / "b.html").write_text('<p id="here">b</p>')
    page.write_text('<a href="b.html#here">ok</a> <a href="b.html#gone">x</a> <img src="missing.png"> '
                    '<a href="https://example.org/">web</a>')
    found = {(url, t.exists(), f) for url, t, f in _local_links(page)}
    assert found == {("b.html#here", True, "here"), ("b.html#gone", True, "gone"), ("missing.png", False, "")}
    assert "gone" not in _ids(tmp_path / "b.html")


def _images_in_chromium(page: Path, tmp_path: Path) -> list[tuple[str, bool, int, int]]:
    dom = dump_dom(page, _PROBE, tmp_path)
    # the theme makes every <pre> focusable (tabindex), so the probe's tag may carry attributes
    m = re.search(r'<pre id="render-probe"[^>]*>IMAGES (\d+)\n?(.*?)</pre>', dom, flags=re.S)
    assert m, f"{page.name} did not finish loading in Chromium:\n{dom[-2000:]}"
    rows = []
    for line in m.group(2).strip().splitlines():
        src, complete, size = line.rsplit(" ", 2)
        w, h = (int(v) for v in size.split("x"))
        rows.append((src, complete == "true", w, h))
    assert len(rows) == int(m.group(1))
    return rows


@pytest.mark.parametrize(("page", "min_figures"), [
    ("index.html", 0),
    ("api/transport.html", 0),
    ("auto_examples/li_structure.html", 2),
    ("auto_examples/transport_li.html", 2),
])
def test_pages_render_with_their_images_in_chromium(page, min_figures, tmp_path):
    rows = _images_in_chromium(build_site() / page, tmp_path)
    broken = [src for src, complete, w, h in rows if not (complete and w > 0 and h > 0)]
    assert not broken, f"{page}: images that did not load: {broken}"
    figures = [src for src, _, w, h in rows if "sphx_glr" in src and w > 100 and h > 100]
    assert len(figures) >= min_figures, f"{page}: {len(figures)} rendered figures, expected {min_figures}: {rows}"
