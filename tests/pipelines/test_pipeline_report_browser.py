"""The report renders in a real browser: headless Chromium loads the page and decodes every figure,
and nothing runs off a 1280-pixel-wide window (wide tables scroll inside their own box).

CI installs Debian's ``chromium`` (see ``.ci/run``); elsewhere the test runs when a Chromium binary
is on the PATH and is skipped, saying how to install one, when none is (never under CI).
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline_helpers import batch_yaml, make_systems, write_pipeline

from tests.headless_chromium import dump_dom
from trajml.pipelines import run_pipeline

# Appended to a copy of the page: after the load event (images included) it lists every <img>
# with its decoded size, so the DOM dumped by Chromium says whether the figures rendered.
_PROBE = """
<script>
window.addEventListener("load", () => {
  const rows = Array.from(document.images).map(i => `${i.getAttribute("src")} ${i.complete} ${i.naturalWidth}x${i.naturalHeight}`);
  const pre = document.createElement("pre");
  pre.id = "render-probe";
  const wide = document.documentElement.scrollWidth;
  pre.textContent = "PAGE " + wide + " " + window.innerWidth + "\\nIMAGES " + rows.length + "\\n" + rows.join("\\n");
  document.body.appendChild(pre);
});
</script>
"""  # noqa: E501 -- test data: one line of the JavaScript probe, kept verbatim


def test_report_renders_its_figures_in_headless_chromium(tmp_path: Path) -> None:
    make_systems(tmp_path, 2, corrupt=(1,))
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out")))
    summary = run_pipeline(path, scheduler="serial", progress=False)
    dom = dump_dom(Path(summary.report), _PROBE, tmp_path)
    m = re.search(r'<pre id="render-probe">PAGE \d+ \d+\nIMAGES (\d+)\n(.*?)</pre>', dom, flags=re.S)
    assert m, f"the page did not finish loading in Chromium:\n{dom[-2000:]}"
    page = re.search(r"PAGE (\d+) (\d+)", dom)
    assert page and int(page.group(1)) <= int(page.group(2)), f"the page is wider than the window: {page.group(0)}"
    rows = [r.split() for r in m.group(2).strip().splitlines()]
    assert int(m.group(1)) == len(rows) == 3  # rdf, coordination and solvation of the good system
    for src, complete, size in rows:
        width, height = (int(v) for v in size.split("x"))
        assert complete == "true" and width > 100 and height > 100, f"figure {src} did not render ({size})"
    # the failed system is reported with its reason
    assert "sys1" in dom and "truncated" in dom
