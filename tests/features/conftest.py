"""Small generated systems for the structure featurizers (written with MDAnalysis, read back by trajml).

MDAnalysis (InterRDF, distance_array, capped_distance), mdtraj, freud and
analytic physics are the oracles; nothing here uses trajml's kernels.
"""

from __future__ import annotations

import pytest
from _systems import spe_like, write_system


@pytest.fixture(scope="session")
def spe_nvt(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """Orthorhombic NVT: 12 chains of 8 beads, 16 Li, 16 TFSI, 12 frames, box 30 Å."""
    s = spe_like()
    return write_system(tmp_path_factory.mktemp("spe_nvt"), s["names"], s["resindex"], s["positions"],
                        s["dimensions"], resnames=s["resnames"], bonds=s["bonds"])


@pytest.fixture(scope="session")
def spe_triclinic(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """Triclinic NVT box (32, 30, 34 Å; 80°, 95°, 70°), same composition."""
    s = spe_like(box=(32.0, 30.0, 34.0, 80.0, 95.0, 70.0), seed=5)
    return write_system(tmp_path_factory.mktemp("spe_tric"), s["names"], s["resindex"], s["positions"],
                        s["dimensions"], resnames=s["resnames"], bonds=s["bonds"])


@pytest.fixture(scope="session")
def spe_npt(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """Orthorhombic NPT: box lengths fluctuate by 4 % per frame."""
    s = spe_like(seed=11, n_frames=15, npt=0.04)
    return write_system(tmp_path_factory.mktemp("spe_npt"), s["names"], s["resindex"], s["positions"],
                        s["dimensions"], resnames=s["resnames"], bonds=s["bonds"])


@pytest.fixture(scope="session")
def sample_files() -> tuple[str, str]:
    """The bundled sample SPE (skips when this installation lacks it)."""
    from trajml.data import sample_topology, sample_trajectory

    try:
        return sample_topology(), sample_trajectory()
    except FileNotFoundError as exc:  # pragma: no cover - the sample ships with trajml
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def bn_fec() -> tuple[str, str]:
    """solvation_analysis' own test system (LAMMPS data + 10-frame DCD, 7 118 atoms): 49 Li⁺ (type 22),
    49 PF₆⁻ (residues holding type 20), 363 butyronitrile (type 5), 237 FEC (type 19). The wheel of
    solvation_analysis, a dev dependency and these tests' oracle, ships it."""
    from importlib.resources import files

    folder = files("solvation_analysis") / "tests" / "data" / "bn_fec_data"
    return str(folder / "bn_fec.data"), str(folder / "bn_fec_short_unwrap.dcd")
