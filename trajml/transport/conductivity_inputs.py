"""Inputs of :class:`~trajml.transport.conductivity.Conductivity`: ionic species, their particles, the temperature.

* :func:`resolve_species` turns ``species`` (or the binary sugar ``cation``/``anion``) into the atoms
  of each species and checks that no atom belongs to two species.
* :func:`species_particles` groups a selection into particles (atoms, or mass-weighted centres of the
  selected atoms of each molecule) and labels the species.
* :func:`metadata_parameter` reads a run parameter (the temperature, the declared ``charge_scale``)
  from a ``trajml simulate`` metadata file.

The charges are found by :func:`~trajml.transport.conductivity_charges.species_charges`.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from trajml.selection import _ranges, describe_selection, resolve_atoms

__all__ = ["SpeciesSpec", "resolve_species", "species_particles", "metadata_parameter"]

_ROLES = ("cation", "anion")
#: The binary salt ``Conductivity()`` analyses when neither species nor cation/anion are given.
DEFAULT_SALT = ("name Li", "name TFSI")


@dataclass(frozen=True)
class SpeciesSpec:
    """The ionic species of one analysis, resolved against a topology.

    Attributes
    ----------
    labels : tuple of str or None
        Species labels given as ``species`` keys; None entries are labelled from the topology
        (binary sugar).
    selections : tuple
        Each species' selection, as given.
    roles : tuple of str or None
        ``("cation", "anion")`` for the binary sugar, else None.
    params : tuple of str
        How each selection is named in messages (``'cation'``, ``species['Na']``).
    atoms : tuple of ndarray
        Topology indices of each species.
    """

    labels: tuple[str | None, ...]
    selections: tuple[Any, ...]
    roles: tuple[str, ...] | None
    params: tuple[str, ...]
    atoms: tuple[np.ndarray, ...]


def resolve_species(source: Any, species: dict[str, Any] | None, cation: Any, anion: Any,
                    owner: str = "Conductivity") -> SpeciesSpec:
    """Atoms of each species, from ``species`` or the binary sugar ``cation``/``anion``.

    Raises
    ------
    ValueError
        ``species`` given together with ``cation``/``anion``; two species sharing atoms (the message
        names both and the shared atoms).
    EmptySelectionError
        A species whose selection matches no atom (the message names the species).
    """
    from trajml.errors import EmptySelectionError

    if species is not None:
        if cation is not None or anion is not None:
            raise ValueError(f"{owner} takes either 'species' or 'cation'/'anion', not both: give the cation and "
                             "anion as two entries of species (CLI: --species LABEL=SEL ...).")
        labels: tuple[str | None, ...] = tuple(species)
        selections = tuple(species.values())
        roles = None
        params = tuple(f"species[{lab!r}]" for lab in labels)
    else:
        labels = (None, None)
        selections = (DEFAULT_SALT[0] if cation is None else cation, DEFAULT_SALT[1] if anion is None else anion)
        roles = _ROLES
        params = tuple(f"{r!r}" for r in _ROLES)
    groups = []
    for sel, param, lab in zip(selections, params, labels):
        try:
            groups.append(resolve_atoms(source, sel, param.strip("'"), owner))
        except EmptySelectionError as exc:
            who = f"Species {lab!r}" if lab is not None else f"The {param} selection"
            raise EmptySelectionError(f"{who} of {owner} has no atoms: {exc} Fix the selection or leave the "
                                      "species out.") from None
    for i in range(len(groups)):
        for j in range(i + 1, len(groups)):
            shared = np.intersect1d(groups[i], groups[j])
            if shared.size:
                raise ValueError(f"The {params[i]} ({describe_selection(selections[i])!r}) and {params[j]} "
                                 f"({describe_selection(selections[j])!r}) selections of {owner} share "
                                 f"{shared.size} atoms (topology indices {_ranges(shared)}); give disjoint "
                                 "selections: an atom belongs to one species.")
    return SpeciesSpec(labels=labels, selections=selections, roles=roles, params=params, atoms=tuple(groups))


def metadata_parameter(source: Any, traj_id: int, key: str) -> tuple[float, str] | None:
    """A positive number ``parameters[key]`` from a ``trajml simulate`` metadata file, and that file.

    The file is ``<stem>.json`` beside the topology or a trajectory part of member ``traj_id``.
    """
    member = source.members[traj_id]
    for path in (member.topology, *member.parts):
        candidate = os.path.splitext(path)[0] + ".json"
        if not os.path.isfile(candidate):
            continue
        try:
            with open(candidate, encoding="utf-8") as fh:
                meta = json.load(fh)
            value = float(meta["parameters"][key])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if math.isfinite(value) and value > 0:
            return value, candidate
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
