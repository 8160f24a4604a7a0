"""A small bundled sample trajectory of a coarse-grained solid polymer electrolyte.

The sample (``trajml/data/sample/``) was made with trajml's own simulator,
``trajml simulate`` (:func:`trajml.sim.simulate`, OpenMM CPU platform), with
the default parameters, which are the sample's: 40 Kremer–Grest style PEO
chains of 48 beads (alternating backbone ``C`` and ether-oxygen ``O`` beads),
60 Li⁺ (``Li``, +1 e) and 60 TFSI-like anions (``TFSI``, −1 e, σ = 7 Å), EO:Li
= 16, 2040 beads in a cubic periodic box at 0.85 σ⁻³, 300 K. Reduced units map
to real ones as σ = 5 Å, ε = k_B·300 K = 2.494 kJ/mol, m = 44 amu,
τ = σ√(m/ε) ≈ 2.1 ps.

Files
-----
``spe_sample.psf``
    X-PLOR PSF topology: names and types ``C``/``O``/``Li``/``TFSI``,
    charges (e), masses (amu), one residue per molecule (resnames ``PEO``,
    ``LI``, ``TFSI``), backbone bonds.
``spe_sample.xtc``
    Trajectory in Å and ps; every bead wrapped into the box (chains may be
    split across the boundary).
``spe_sample.json``
    Every parameter, derived quantities (species counts, box length), the
    unit mapping, software versions and a per-frame thermodynamic log.
``README.md``
    Provenance: the exact command, parameters and units.

An all-atom twin (``trajml/data/sample_aa/``, accessors ``sample_aa_*``) was made with
``trajml simulate --model all-atom``: OPLS-AA PEO chains CH3–O–(CH2CH2O)₂₂–CH3 with CL&P Li⁺/TFSI⁻ (ion
charges scaled by 0.8) at 400 K; its README records how it was made and what it gives.

Examples
--------
>>> import MDAnalysis as mda
>>> from trajml import data
>>> u = mda.Universe(data.sample_topology(), data.sample_trajectory())
>>> u.atoms.n_atoms == data.sample_parameters()["derived"]["n_beads"]
True
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = [
    "sample_topology",
    "sample_trajectory",
    "sample_parameters",
    "sample_readme",
    "SAMPLE_NAME",
    "sample_aa_topology",
    "sample_aa_trajectory",
    "sample_aa_parameters",
    "sample_aa_readme",
    "SAMPLE_AA_NAME",
]

#: File stem of the bundled sample.
SAMPLE_NAME = "spe_sample"
#: File stem of the bundled all-atom sample.
SAMPLE_AA_NAME = "spe_aa_sample"


def _sample_file(filename: str, folder: str = "sample") -> str:
    path = resources.files("trajml") / "data" / folder / filename
    if not path.is_file():
        raise FileNotFoundError(
            f"The bundled sample file 'trajml/data/{folder}/{filename}' is missing from this installation; "
            f"reinstall trajml (the package data glob 'data/{folder}/*' must be included)."
        )
    return str(path)


def sample_topology() -> str:
    """Path of the sample's PSF topology (``spe_sample.psf``).

    Returns
    -------
    str
        Absolute path inside the installed package.
    """
    return _sample_file(f"{SAMPLE_NAME}.psf")


def sample_trajectory() -> str:
    """Path of the sample's XTC trajectory (``spe_sample.xtc``; Å, ps).

    Returns
    -------
    str
        Absolute path inside the installed package.
    """
    return _sample_file(f"{SAMPLE_NAME}.xtc")


def sample_parameters() -> dict[str, Any]:
    """The sample's metadata: the JSON written by ``trajml simulate``.

    Returns
    -------
    dict
        Keys include ``"parameters"`` (every knob), ``"derived"`` (species
        counts such as ``n_li``, ``n_anions``, ``n_ether_oxygen``, ``n_beads``;
        ``box_length_angstrom``; ``frame_interval_ps``), ``"species"``,
        ``"unit_mapping"``, ``"software"`` and ``"thermo"``.
    """
    with open(_sample_file(f"{SAMPLE_NAME}.json"), encoding="utf-8") as fh:
        return json.load(fh)


def sample_readme() -> str:
    """Path of the sample's README (provenance and units)."""
    return _sample_file("README.md")


def sample_aa_topology() -> str:
    """Path of the all-atom sample's PSF topology (``spe_aa_sample.psf``: bonds, charges in e as simulated,
    masses in amu, resnames ``PEO``, ``TFSI``, ``LI``; ether O are named ``OE``, TFSI O ``OT``, Li ``LI``).

    Returns
    -------
    str
        Absolute path inside the installed package.
    """
    return _sample_file(f"{SAMPLE_AA_NAME}.psf", "sample_aa")


def sample_aa_trajectory() -> str:
    """Path of the all-atom sample's XTC trajectory (``spe_aa_sample.xtc``; Å, ps; molecules whole).

    Returns
    -------
    str
        Absolute path inside the installed package.
    """
    return _sample_file(f"{SAMPLE_AA_NAME}.xtc", "sample_aa")


def sample_aa_parameters() -> dict[str, Any]:
    """The all-atom sample's metadata: the JSON written by ``trajml simulate --model all-atom``.

    Returns
    -------
    dict
        Keys include ``"parameters"``, ``"derived"`` (``n_atoms``, ``n_li``, ``box_length_angstrom``,
        ``density_g_per_cm3`` …), ``"force_field"`` (sources, ``charge_scale``), ``"performance"``
        (``ns_per_day``), ``"equilibration_log"`` and ``"thermo"``.
    """
    with open(_sample_file(f"{SAMPLE_AA_NAME}.json", "sample_aa"), encoding="utf-8") as fh:
        return json.load(fh)


def sample_aa_readme() -> str:
    """Path of the all-atom sample's README (how it was made, checks against published numbers)."""
    return _sample_file("README.md", "sample_aa")
