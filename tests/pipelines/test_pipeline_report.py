"""The static HTML report renders: every <img> is an existing PNG, tables and failures are there."""

from __future__ import annotations

import csv
from html.parser import HTMLParser
from pathlib import Path

from pipeline_helpers import batch_yaml, make_systems, write_pipeline

from trajml.pipelines import run_pipeline


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.imgs: list[str] = []
        self.links: list[str] = []
        self.sections: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a["src"])
        elif tag == "a":
            self.links.append(a["href"])
        elif tag == "section":
            self.sections.append(a["id"])


def test_report_renders_with_plots_tables_and_failures(tmp_path):
    make_systems(tmp_path, 3, corrupt=(2,))
    path = write_pipeline(tmp_path, batch_yaml(str(tmp_path / "out")))
    summary = run_pipeline(path, scheduler="serial", progress=False)
    index = Path(summary.report)
    parser = _Collect()
    parser.feed(index.read_text(encoding="utf-8"))
    assert parser.sections == ["sys0", "sys1", "sys2", "provenance"]
    # rdf, coordination and solvation plots of the two good systems
    assert len(parser.imgs) == 6
    for src in parser.imgs + [link for link in parser.links if not link.startswith("#")]:
        target = index.parent / src
        assert target.is_file(), src
        if src.endswith(".png"):
            assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "summary.csv" in parser.links
    with open(index.parent / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["system"] for r in rows] == ["sys0", "sys1", "sys2"]
    assert rows[0]["temperature"] == "300.0"
    assert float(rows[0]["rdf_li_o.first_peak_r [Å]"]) > 0
    assert float(rows[0]["info.net_charge [e]"]) == 0.0
    assert rows[2]["rdf_li_o.first_peak_r [Å]"] == ""
    text = index.read_text(encoding="utf-8")
    assert "Failed systems" in text and "sys2/rdf_li_o" in text and "SystemFileError" in text
    # A re-run (all reused) rewrites the report with the same figures.
    again = run_pipeline(path, scheduler="serial", progress=False)
    assert again.reused == 8 and Path(again.report) == index
    assert len(list((index.parent / "figures").glob("*.png"))) == 6
