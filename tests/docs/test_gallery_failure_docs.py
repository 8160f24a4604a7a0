"""An example that raises fails the documentation build, naming the script and the line.

A two-example gallery is built with the failure settings of docs/conf.py (read from its source):
the build must exit non-zero and its output must name the failing script, the exception and the
line that raised, while the good example still runs.
"""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from tests.docs.docs_site_build import DOCS

FAILURE_KEYS = ("abort_on_example_error", "only_warn_on_example_error", "filename_pattern")


def _gallery_settings() -> dict:
    tree = ast.parse((DOCS / "conf.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "sphinx_gallery_conf":
            conf = {ast.literal_eval(k): v for k, v in zip(node.value.keys, node.value.values)}
            return {k: ast.literal_eval(conf[k]) for k in FAILURE_KEYS}
    raise AssertionError("docs/conf.py defines no sphinx_gallery_conf")


def test_a_raising_example_fails_the_build_naming_script_and_line(tmp_path):
    pytest.importorskip("sphinx_gallery", reason="install the docs extra (the dev extra includes it)")
    settings = _gallery_settings()
    assert settings["abort_on_example_error"] is False and settings["only_warn_on_example_error"] is False
    src = tmp_path / "src"
    (src / "examples").mkdir(parents=True)
    (src / "examples" / "GALLERY_HEADER.rst").write_text("Gallery\n=======\n")
    (src / "examples" / "good.py").write_text('"""\nGood\n====\n\nRuns.\n"""\n\nprint("fine")\n')
    (src / "examples" / "bad.py").write_text(
        '"""\nBad\n===\n\nRaises on line 10.\n"""\n\nx = 1\ny = 2\nraise ValueError("the r_max parameter is wrong")\n')
    (src / "index.rst").write_text("Test\n====\n\n.. toctree::\n\n   auto/index\n")
    (src / "conf.py").write_text(
        "extensions = ['sphinx_gallery.gen_gallery']\n"
        f"sphinx_gallery_conf = {{'examples_dirs': 'examples', 'gallery_dirs': 'auto', "
        f"'filename_pattern': {settings['filename_pattern']!r}, "
        f"'abort_on_example_error': {settings['abort_on_example_error']!r}, "
        f"'only_warn_on_example_error': {settings['only_warn_on_example_error']!r}}}\n")
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(src),
                           str(tmp_path / "html")], capture_output=True, text=True, timeout=300,
                          env={"MPLBACKEND": "Agg", "PATH": "", "HOME": str(tmp_path)})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "bad.py" in out and "line 10" in out and "the r_max parameter is wrong" in out, out[-3000:]
    assert "fine" in (src / "auto" / "good.rst").read_text(encoding="utf-8")  # the good example still ran
