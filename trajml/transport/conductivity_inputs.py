"""Inputs of :class:`~trajml.transport.conductivity.Conductivity`: ion particles, their charges, the temperature.

* :func:`species_particles` groups a selection into particles (atoms, or mass-weighted centres of the
  selected atoms of each molecule) and labels the species.
* :func:`species_charges` finds one charge per species, from the ``charges`` parameter or the
  topology, and checks its sign.
* :func:`metadata_temperature` reads the temperature from a ``trajml simulate`` metadata file.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np

from trajml.selection import describe_selection

__all__ = ["species_particles", "species_charges", "metadata_temperature"]

_ROLES = ("cation", "anion")


def metadata_temperature(source: Any, traj_id: int) -> float | None:
    """Temperature in K from a ``trajml simulate`` metadata file (``<stem>.json`` beside the files)."""
    member = source.members[traj_id]
    for path in (member.topology, *member.parts):
        candidate = os.path.splitext(path)[0] + ".json"
        if not os.path.isfile(candidate):
            continue
        try:
            with open(candidate, encoding="utf-8") as fh:
                meta = json.load(fh)
            value = float(meta["parameters"]["temperature"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if math.isfinite(value) and value > 0:
            return value
    return None


def species_particles(source: Any, atoms: np.ndarray, masses: np.ndarray | None, per_molecule: bool
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, np.ndarray]:
    """Atoms grouped by particle, their weights, particle offsets, the species label, molecule of each atom."""
    table = source.atoms
    if not per_molecule:
        names = np.unique(table.names[atoms].astype(str))
        label = str(names[0]) if names.size == 1 else "+".join(names.tolist())
        return (atoms, np.ones(atoms.size), np.arange(atoms.size + 1, dtype=np.int64), label,
                np.arange(atoms.size))
    mol = table.molecules[atoms]
    order = np.lexsort((atoms, mol))
    atoms, mol = atoms[order], mol[order]
    _, first, seg_of = np.unique(mol, return_index=True, return_inverse=True)
    offsets = np.append(first, atoms.size).astype(np.int64)
    totals = np.add.reduceat(masses[atoms], first)
    if np.any(totals <= 0):
        raise ValueError("Conductivity with per_molecule=True: a selected molecule has a total mass of 0 amu.")
    weights = masses[atoms] / totals[seg_of]
    resnames = np.unique(table.resnames[atoms].astype(str))
    label = str(resnames[0]) if resnames.size == 1 and resnames[0] else "+".join(
        np.unique(table.names[atoms].astype(str)).tolist())
    return atoms, weights, offsets, label, seg_of


def species_charges(source: Any, particles: list, labels: tuple[str, ...], charges: dict[str, float] | None,
                    cation: Any, anion: Any) -> tuple[np.ndarray, str]:
    """Charge in e of one particle of each species (cation, anion), and where it came from.

    From ``charges`` (keyed by role, species label or atom names) or else the topology's charges.
    """
    table = source.atoms
    example = f"charges={{'{labels[0]}': 1.0, '{labels[1]}': -1.0}} (CLI: --charges {labels[0]}=1 {labels[1]}=-1)"
    out = np.empty(2)
    used: set[str] = set()
    for s, (role, (atoms, _w, offsets, label, seg)) in enumerate(zip(_ROLES, particles)):
        sel = describe_selection(cation if s == 0 else anion)
        if charges is not None:
            names = table.names[atoms].astype(str)
            if role in charges or label in charges:
                key = role if role in charges else label
                per_particle = np.array([charges[key]])
                used.add(key)
            elif all(n in charges for n in np.unique(names)):
                per_atom = np.array([charges[n] for n in names])
                per_particle = np.add.reduceat(per_atom, offsets[:-1])
                used.update(np.unique(names).tolist())
            else:
                raise ValueError(f"The 'charges' parameter of Conductivity gives no charge for the {role} species "
                                 f"{label!r} (selection {sel!r}); its keys are {sorted(charges)}. Give "
                                 f"every species, e.g. {example}.")
        else:
            if table.charges is None:
                raise ValueError(f"Conductivity needs the charge of the {role} species {label!r} (selection "
                                 f"{sel!r}), but the topology '{source.members[0].topology}' carries no charges. "
                                 f"Give them per species as {example}.")
            per_particle = np.add.reduceat(table.charges[atoms], offsets[:-1])
        if np.ptp(per_particle) > 1e-6:
            raise ValueError(f"The {role} particles of selection {sel!r} carry different charges (from "
                             f"{per_particle.min():g} to {per_particle.max():g} e); Conductivity needs one charge "
                             f"per species: refine the selection or give {example}.")
        q = float(per_particle.mean())
        if (q <= 0) if s == 0 else (q >= 0):
            origin = "given" if charges is not None else f"read from '{source.members[0].topology}'"
            want = "positive" if s == 0 else "negative"
            raise ValueError(f"The {role} species {label!r} (selection {sel!r}) has charge {q:g} e ({origin}); "
                             f"Conductivity needs a {want} charge. Give the charges per species as {example}.")
        out[s] = q
    if charges is not None:
        unused = set(charges) - used
        if unused:
            raise ValueError(f"The 'charges' parameter of Conductivity names {sorted(unused)}, which match no "
                             f"species; use 'cation', 'anion', {labels[0]!r} or {labels[1]!r}.")
    return out, "given" if charges is not None else "topology"
