"""The bundled all-atom force-field file and the per-type numbers the builder needs from it (no OpenMM).

:func:`forcefield_path` locates ``trajml/sim/forcefields/peo_litfsi_opls_clp.xml``; :func:`atom_type_table`
reads each atom type's element, mass (amu), charge (e, formal: the residue templates' value, one per
type) and Lennard-Jones σ (Å) and ε (kJ/mol) with the standard library's XML parser, so that the PSF
and the metadata carry exactly the numbers OpenMM is given.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["FORCEFIELD_FILE", "FORCEFIELD_SOURCES", "ION_RESIDUES", "AtomType", "forcefield_path", "atom_type_table"]

#: File name of the bundled force field (in ``trajml/sim/forcefields/``).
FORCEFIELD_FILE = "peo_litfsi_opls_clp.xml"
#: Residues (PSF resnames) whose charges ``charge_scale`` multiplies.
ION_RESIDUES: tuple[str, ...] = ("LI", "TFSI")
#: Where every number of the force field comes from (also in its README and XML comments).
FORCEFIELD_SOURCES: dict[str, str] = {
    "PEO": "OPLS-AA, Jorgensen, Maxwell & Tirado-Rives, J. Am. Chem. Soc. 118, 11225 (1996), "
           "types opls_180/181/182/185 as tabulated in GROMACS oplsaa.ff and foyer oplsaa.xml",
    "TFSI": "CL&P, Canongia Lopes & Padua, J. Phys. Chem. B 108, 16893 (2004); numbers of il.ff "
            "(2021/05/14), github.com/agiliopadua/clandp",
    "Li": "CL&P il.ff lithium (after Aqvist, J. Phys. Chem. 94, 8021 (1990))",
    "combining": "geometric sigma and epsilon; 1-4 pairs scaled 0.5 (LJ) and 0.5 (Coulomb); 1-2, 1-3 excluded",
}


@dataclass(frozen=True)
class AtomType:
    """One atom type of the force field (units: amu, e, Å, kJ/mol)."""

    name: str
    element: str
    mass: float
    charge: float
    sigma: float
    epsilon: float


def forcefield_path() -> str:
    """Path of the bundled OpenMM force-field XML.

    Raises
    ------
    FileNotFoundError
        If the file is missing from this installation (the package data glob ``sim/forcefields/*``).
    """
    path = resources.files("trajml") / "sim" / "forcefields" / FORCEFIELD_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"The force-field file 'trajml/sim/forcefields/{FORCEFIELD_FILE}' is missing from this installation; "
            "reinstall trajml (the package data glob 'sim/forcefields/*' must be included)."
        )
    return str(path)


@lru_cache(maxsize=4)
def atom_type_table(path: str | None = None) -> dict[str, AtomType]:
    """Every atom type of the force-field XML at ``path`` (default: the bundled one), by type name.

    Raises
    ------
    ValueError
        If a type has two different charges in the residue templates or lacks nonbonded parameters.
    """
    root = ET.parse(path or forcefield_path()).getroot()
    charges: dict[str, float] = {}
    for atom in root.iter("Atom"):
        if "charge" not in atom.attrib:
            continue
        typ, q = atom.attrib["type"], float(atom.attrib["charge"])
        if typ in charges and abs(charges[typ] - q) > 1e-12:
            raise ValueError(f"Atom type {typ!r} has charges {charges[typ]} and {q} "
                             f"in the residue templates of {path}.")
        charges[typ] = q
    lj = {a.attrib["type"]: (float(a.attrib["sigma"]) * 10.0, float(a.attrib["epsilon"]))
          for a in root.find("NonbondedForce").iter("Atom")}
    table: dict[str, AtomType] = {}
    for t in root.find("AtomTypes").iter("Type"):
        name = t.attrib["name"]
        if name not in lj or name not in charges:
            raise ValueError(f"Atom type {name!r} of {path} lacks a charge or Lennard-Jones parameters.")
        table[name] = AtomType(name=name, element=t.attrib["element"], mass=float(t.attrib["mass"]),
                               charge=charges[name], sigma=lj[name][0], epsilon=lj[name][1])
    return table
