"""Headless Chromium for the tests that look at rendered pages (the pipeline report, the docs site).

CI installs Debian's ``chromium`` (``.ci/run``); elsewhere a test that needs it is skipped, saying
how to install one, when none is on the PATH, and fails under CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def browser() -> str:
    """The Chromium binary; skips the calling test when there is none (fails it under CI)."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("CI must install Chromium for this test (apt-get install chromium); none is on the PATH.")
    pytest.skip("no Chromium on the PATH: install Debian's 'chromium' package to run this test")


def dump_dom(page: Path, probe: str, tmp_path: Path) -> str:
    """Load a copy of ``page`` with ``probe`` (a script) before ``</body>`` and return the DOM after it ran.

    The window is 1280 × 2000 pixels and the page gets 5 s of virtual time (images load).
    """
    exe = browser()
    copy = page.with_name(page.stem + "-probe.html")
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", probe + "</body>"), encoding="utf-8")
    try:
        proc = subprocess.run(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'chromium-profile'}", "--allow-file-access-from-files",
             "--virtual-time-budget=5000", "--window-size=1280,2000", "--dump-dom", copy.as_uri()],
            capture_output=True, text=True, timeout=120,
        )
    finally:
        copy.unlink()
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout
