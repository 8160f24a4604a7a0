"""Build the documentation site once per test session (shared by tests/docs and tests/test_examples.py).

The build is the documented command, ``python -m sphinx -W --keep-going -b html docs OUT``, run in a
subprocess with warnings as errors; it executes every example of the gallery. A failed build fails
every test that needs the site, with the end of Sphinx's output (a gallery example that raised is
named there with its traceback and line). ``TRAJML_DOCS_HTML=PATH`` reuses a site already built at
PATH (for working on these tests; CI never sets it).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXT = DOCS / "_ext"
if str(EXT) not in sys.path:
    sys.path.insert(0, str(EXT))

_BUILT: dict[str, object] = {}


def build_site() -> Path:
    """Path of the built HTML site (built on first call, then reused); fails the test if the build fails."""
    if "html" in _BUILT:
        return _BUILT["html"]
    if "error" in _BUILT:
        pytest.fail(_BUILT["error"])
    reuse = os.environ.get("TRAJML_DOCS_HTML")
    if reuse:
        _BUILT["html"] = Path(reuse)
        return _BUILT["html"]
    pytest.importorskip("sphinx_gallery", reason="install the docs extra (the dev extra includes it)")
    out = Path(tempfile.mkdtemp(prefix="trajml-docs-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-d", str(out / "doctrees"),
           str(DOCS), str(out / "html")]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1200, env=env)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        _BUILT["error"] = (f"the documentation build failed ({' '.join(cmd[1:])}, exit {proc.returncode}, "
                           f"{seconds:.0f} s):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
        pytest.fail(_BUILT["error"])
    _BUILT["html"] = out / "html"
    _BUILT["seconds"] = seconds
    return _BUILT["html"]
