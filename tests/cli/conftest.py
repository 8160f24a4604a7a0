"""A small generated SPE-like system for the command-line tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


def _systems():
    path = Path(__file__).resolve().parents[1] / "features" / "_systems.py"
    spec = importlib.util.spec_from_file_location("trajml_test_systems", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def spe_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """12 chains of alternating C/O beads, 16 Li, 16 TFSI, 12 frames in a 30 Å box (PDB + XTC)."""
    systems = _systems()
    s = systems.spe_like()
    return systems.write_system(tmp_path_factory.mktemp("cli"), s["names"], s["resindex"], s["positions"],
                                s["dimensions"], resnames=s["resnames"], bonds=s["bonds"])
