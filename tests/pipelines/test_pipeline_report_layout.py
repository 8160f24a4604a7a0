"""What a scientist reads in the report: formatted numbers, no "nan", scroll boxes, failed fits, provenance.

The report is written from a store filled by hand (no trajectory is read), so every case is quick:
a 40-quantity table, NaN and missing numbers, a figure a stage could not draw, a figure file lost
from the store, and a temperature series whose VFT fit fails.
"""

from __future__ import annotations

import hashlib
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import pytest

from trajml.pipelines.registry import StageOutput
from trajml.pipelines.report import write_report
from trajml.pipelines.report_format import format_quantity, format_unit
from trajml.pipelines.runner import Outcome, RunSummary
from trajml.pipelines.spec import PipelineSpec, StageSpec, SystemSpec
from trajml.store.results import ResultStore

matplotlib.use("Agg")
R = 0.00831446261815324  # kJ/(mol K), CODATA


# ------------------------------------------------------------------ the one formatting function

@pytest.mark.parametrize(("args", "expected"), [
    ((301000.0, "Å^3"), "3.010×10⁵ Å³"),
    ((0.19912, "Å^2/ps", 0.01234), "0.199 ± 0.012 Å²/ps"),
    ((25.31, "kJ/mol", 1.74), "25.3 ± 1.7 kJ/mol"),
    ((25.31, "kJ/mol", 0.64), "25.3 ± 0.6 kJ/mol"),
    ((301234.0, "Å^3", 1200.0), "(3.012 ± 0.012)×10⁵ Å³"),
    ((2.5e-6, "cm^2/s", 3e-7), "(2.5 ± 0.3)×10⁻⁶ cm²/s"),
    ((3.2e-5, "cm^2/s"), "3.200×10⁻⁵ cm²/s"),
    ((1234.5678, "K"), "1235 K"),
    ((12400, ""), "12\u2009400"),
    ((0.0, "e"), "0 e"),
    ((40.0, ""), "40"),
    ((-0.04, "kJ/mol", 1.7), "0.0 ± 1.7 kJ/mol"),
    ((999_996.0, ""), "1.000×10⁶"),
])
def test_numbers_are_written_by_magnitude_with_their_unit(args, expected):
    assert format_quantity(*args) == expected


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), None])
def test_a_missing_number_is_a_dash_and_a_nan_error_is_left_out(bad):
    assert format_quantity(bad, "K") == "–"
    assert format_quantity(1.5, "K", bad) == "1.500 K"
    assert "nan" not in format_quantity(1.5, "K", bad).lower()


def test_units_get_superscripts():
    assert format_unit("e^2 Å^2/ps") == "e² Å²/ps" and format_unit("S/m") == "S/m" and format_unit("") == ""


# ------------------------------------------------------------------ a report written from a hand-filled store

class _Page(HTMLParser):
    """Result cells (their text), the tables and whether each sits in a scroll box, ids, details."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict]] = []
        self.cells: list[str] = []
        self.tables_in_scroll: list[bool] = []
        self.ids: set[str] = set()
        self.summaries: list[str] = []
        self._cell: list[str] | None = None
        self._summary: list[str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "table":
            self.tables_in_scroll.append(any("scroll" in (x.get("class") or "").split() for _, x in self.stack))
        if tag == "td":
            self._cell = []
        if tag == "summary":
            self._summary = []
        self.stack.append((tag, a))

    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break
        if tag == "td" and self._cell is not None:
            self.cells.append("".join(self._cell).strip())
            self._cell = None
        if tag == "summary" and self._summary is not None:
            self.summaries.append("".join(self._summary))
            self._summary = None

    def handle_data(self, data):
        if self.stack and self.stack[-1][0] in ("style", "title"):
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._summary is not None:
            self._summary.append(data)


def _figure():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    return fig


@pytest.fixture()
def report(tmp_path: Path, capsys) -> tuple[Path, str, str]:
    """A report of 4 systems (280–340 K), 40 numbers per system, NaNs, a lost and an undrawn figure."""
    store = ResultStore(str(tmp_path / "store"))
    pipeline = tmp_path / "tiny.yaml"
    pipeline.write_text("version: 1\nname: tiny\n# the text the provenance panel shows\n", encoding="utf-8")
    temps = [280.0, 300.0, 320.0, 340.0]
    systems = tuple(SystemSpec(f"s{k}", str(tmp_path / "top.psf"), (str(tmp_path / "run.xtc"),),
                               {"temperature": t, "charges": {"Li": 1.0, "TFSI": -1.0}, "box_volume_A3": 301234.5})
                    for k, t in enumerate(temps))
    stages = (StageSpec("big", "info", {"stop": 8, "select": "name Li"}),
              StageSpec("msd", "msd", {"select": "name Li", "n_blocks": 5}))
    outcomes = []
    for k, s in enumerate(systems):
        numbers = {f"q{i}": (1.234567 * 10.0 ** (i % 9 - 3), "Å^3") for i in range(40)}
        numbers["q0"] = (math.nan, "Å")  # a number the stage could not compute
        key = f"{k:02d}big" + "0" * 58
        store.put(key, StageOutput(data={}, numbers=numbers, figures={"lost": _figure(), "undrawn": None}),
                  {"stage": "info", "stage_id": "big"})
        (Path(store.path(key)) / "lost.png").unlink()  # a figure file gone from the store
        outcomes.append(Outcome(f"s{k}/big", s.name, "big", "info", key, "computed", seconds=0.5, started=1.0))
        # D linear in T: Arrhenius fits, VFT has no curvature to find (B or T0 on a bound)
        d = 1e-3 * math.exp(-20.0 / (R * temps[k]))
        key = f"{k:02d}msd" + "0" * 58
        store.put(key, StageOutput(data={}, numbers={"D": (d, "Å^2/ps"), "D_err": (0.02 * d, "Å^2/ps")}),
                  {"stage": "msd", "stage_id": "msd"})
        outcomes.append(Outcome(f"s{k}/msd", s.name, "msd", "msd", key, "computed", seconds=0.25, started=2.0))
    spec = PipelineSpec("tiny", str(pipeline), systems, stages, str(tmp_path / "out"))
    summary = RunSummary("run-1", str(pipeline), str(tmp_path / "out"), "serial", False, outcomes, wall_s=3.5,
                         started="2026-01-01T00:00:00Z", finished="2026-01-01T00:00:04Z")
    capsys.readouterr()
    index = write_report(spec, summary, store, str(tmp_path / "report"))
    return Path(index), pipeline.read_text(encoding="utf-8"), capsys.readouterr().err


def test_no_nan_in_any_result_cell_and_numbers_formatted(report):
    index, _, _ = report
    page = _Page()
    html_text = index.read_text(encoding="utf-8")
    page.feed(html_text)
    assert page.cells, "no result cells"
    for cell in page.cells:
        assert not re.search(r"\bnan\b", cell, flags=re.I), cell
        assert not re.search(r"\d[eE][+-]?\d", cell), f"raw exponent in {cell!r}"
    assert "3.012×10⁵" in html_text and "3e+05" not in html_text  # the box volume, by magnitude
    assert "{" not in "".join(page.text).split("Provenance")[0], "metadata written as a dict repr"
    assert "charges" in html_text and "Li: 1.0, TFSI: -1.0" in html_text


def test_wide_tables_sit_in_scroll_boxes(report):
    index, _, _ = report
    page = _Page()
    page.feed(index.read_text(encoding="utf-8"))
    assert page.tables_in_scroll and all(page.tables_in_scroll), page.tables_in_scroll
    css = index.read_text(encoding="utf-8")
    assert re.search(r"\.scroll\{overflow:auto", css)


def test_failed_vft_fit_says_why_instead_of_nan(report):
    index, _, _ = report
    text = index.read_text(encoding="utf-8")
    assert "VFT fit failed:" in text
    assert "± nan" not in text.lower()
    m = re.search(r"<td>([0-9.]+) ± ([0-9.]+) kJ/mol</td>", text)  # E_a of the Arrhenius fit
    assert m and abs(float(m.group(1)) - 20.0) < 0.5, m


def test_missing_figures_are_named_and_the_rest_is_written(report):
    index, _, log = report
    text = index.read_text(encoding="utf-8")
    assert text.count("Figure &#x27;lost.png&#x27; of stage &#x27;big&#x27;") == 4
    assert text.count("Figure &#x27;undrawn.png&#x27;") == 4 and "the stage had no data to draw it" in text
    assert "its file is missing from the stored result" in text
    assert "report: Figure 'lost.png' of stage 'big' for system 's0'" in log  # and the log says so
    assert "id='provenance'" in text and text.rstrip().endswith("</html>")


def test_provenance_panel(report):
    index, yaml_text, _ = report
    page = _Page()
    text = index.read_text(encoding="utf-8")
    page.feed(text)
    assert "provenance" in page.ids
    prov = text[text.index("id='provenance'"):]
    from trajml import __version__

    assert f"<dt>trajml</dt><dd>{__version__}</dd>" in prov and "<dt>numpy</dt>" in prov
    assert hashlib.sha256(yaml_text.encode()).hexdigest() in prov and "tiny.yaml" in prov
    assert "the text the provenance panel shows" in prov  # the file, in a collapsible block
    assert any(s.startswith("big (info)") for s in page.summaries), page.summaries
    assert "<dt>n_blocks</dt><dd>5</dd>" in prov and "<dt>host</dt>" in prov
    assert "2026-01-01T00:00:00Z" in prov and "3.500 s" in prov
