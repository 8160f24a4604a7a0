"""The project's own lint configuration (``[tool.ruff]`` in pyproject.toml) reports nothing.

ruff is a dev dependency: when it is missing this test fails (it does not skip), so a lint
regression cannot pass unnoticed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("trajml", "kernels", "pipelines", "tests", "benchmarks", "examples", "docs/_ext")


def test_ruff_check_is_clean():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", *FOLDERS], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 0, f"ruff check failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
