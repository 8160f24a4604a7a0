"""Charges of the ionic species of :class:`~trajml.transport.conductivity.Conductivity`, one per species.

A species' charge is the charge of one of its particles (an atom, or the selected atoms of one
molecule with ``per_molecule``), in e. It comes either from the ``charges`` parameter (keyed by
species label, by role ``"cation"``/``"anion"`` for a binary salt, or by atom names, summed per
molecule) or from the topology's partial charges, summed per particle.

Topology sums are checked: every particle of a species must carry the same charge (within
:data:`SPREAD_TOLERANCE`), and that charge must be an integer (within :data:`INTEGER_TOLERANCE`),
or an integer times a declared ``charge_scale`` for the customary scaled-charge models (e.g. 0.8 in
force fields that scale ionic charges to mimic electronic polarisation). The charge used is the sum
itself, the charge the dynamics felt; ``charge_scale`` only declares what the sums should look like.
Given charges are the user's declaration and are used as given (any non-zero value, divalent ions
included).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trajml.selection import describe_selection

__all__ = ["species_charges", "INTEGER_TOLERANCE", "SPREAD_TOLERANCE"]

#: Largest |sum − nearest integer × scale| in e accepted for a topology charge sum.
INTEGER_TOLERANCE = 0.01
#: Largest spread in e of the charge sums of one species' particles.
SPREAD_TOLERANCE = 1e-4


def _guess(table: Any, particles: list, scale: float) -> list[float]:
    """Integer charges to show in an example: the topology's sums rounded, else +1 then -1."""
    out = []
    for k, (atoms, _w, offsets, _label, _mol) in enumerate(particles):
        q = 0.0
        if table.charges is not None:
            q = float(round(np.add.reduceat(table.charges[atoms], offsets[:-1]).mean() / scale))
        out.append(q if q != 0 else (1.0 if k == 0 else -1.0))
    return out


def _example(labels: tuple[str, ...], values: list[float]) -> str:
    py = ", ".join(f"'{lab}': {float(q)!r}" for lab, q in zip(labels, values))
    cli = " ".join(f"{lab}={q:g}" for lab, q in zip(labels, values))
    return f"charges={{{py}}} (CLI: --charges {cli})"


def _values(sums: np.ndarray, limit: int = 6) -> str:
    found = np.unique(np.round(sums, 4))
    text = ", ".join(f"{q:g}" for q in found[:limit])
    return text + (f" and {found.size - limit} more" if found.size > limit else "")


def _from_mapping(table: Any, atoms: np.ndarray, offsets: np.ndarray, keys: tuple[str, ...],
                  charges: dict[str, float], used: set[str]) -> np.ndarray | None:
    """Per-particle charges from ``charges`` (first key found, else atom names summed), or None."""
    for key in keys:
        if key in charges:
            used.add(key)
            return np.array([charges[key]])
    names = table.names[atoms].astype(str)
    present = np.unique(names)
    if all(n in charges for n in present):
        used.update(present.tolist())
        return np.add.reduceat(np.array([charges[n] for n in names]), offsets[:-1])
    return None


def species_charges(source: Any, particles: list, labels: tuple[str, ...], selections: tuple[Any, ...],
                    charges: dict[str, float] | None, *, roles: tuple[str, ...] | None = None,
                    charge_scale: float | None = None, per_molecule: bool = False) -> tuple[np.ndarray, str]:
    """Charge in e of one particle of each species, and where it came from (``"given"`` or ``"topology"``).

    Parameters
    ----------
    source : trajml.io.Source
        The topology (names, partial charges).
    particles : list of tuple
        Per species ``(atoms, weights, offsets, label, molecule)`` from
        :func:`~trajml.transport.conductivity_inputs.species_particles`.
    labels : tuple of str
        Species labels, in order.
    selections : tuple
        The species' selections as given, for messages.
    charges : dict of str to float, optional
        Given charges in e; None reads the topology's.
    roles : tuple of str, optional
        ``("cation", "anion")`` for a binary salt: keys by role are accepted and the signs checked.
    charge_scale : float, optional
        Declared scaling of the model's ionic charges (topology sums must be integers times it).
    per_molecule : bool
        Whether particles are molecules (only changes the fix a message suggests).

    Returns
    -------
    charges : ndarray, shape (S,), float64
        Charge of one particle of each species in e.
    origin : str
        ``"given"`` or ``"topology"``.

    Raises
    ------
    ValueError
        A species without a charge, with particles of different charges, with a topology sum that is
        not an integer (times ``charge_scale``), with charge 0, with the wrong sign for its role, or
        keys of ``charges`` that match no species. Each message names the species and the fix.
    """
    table = source.atoms
    topology = source.members[0].topology
    scale = 1.0 if charge_scale is None else float(charge_scale)
    example = _example(labels, _guess(table, particles, scale) if roles is None else [1.0, -1.0])
    out = np.empty(len(labels))
    used: set[str] = set()
    for s, (atoms, _w, offsets, _topology_label, _mol) in enumerate(particles):
        label = labels[s]
        role = roles[s] if roles else None
        what = f"{role} species {label!r}" if role else f"species {label!r}"
        sel = describe_selection(selections[s])
        if charges is not None:
            keys = (role, label) if role else (label,)
            per_particle = _from_mapping(table, atoms, offsets, keys, charges, used)
            if per_particle is None:
                raise ValueError(f"The 'charges' parameter of Conductivity gives no charge for the {what} "
                                 f"(selection {sel!r}); its keys are {sorted(charges)}. Give every species, "
                                 f"e.g. {example}.")
        else:
            if table.charges is None:
                raise ValueError(f"Conductivity needs the charge of the {what} (selection {sel!r}), but the "
                                 f"topology '{topology}' carries no charges. Give them per species as {example}.")
            per_particle = np.add.reduceat(table.charges[atoms], offsets[:-1])
        if np.ptp(per_particle) > SPREAD_TOLERANCE:
            hint = ("" if per_molecule or charges is not None else
                    " If these are partial charges of molecular ions, pass per_molecule=True (CLI: "
                    "--per-molecule) to sum them per molecule.")
            raise ValueError(f"The particles of the {what} (selection {sel!r}) carry different charges: "
                             f"{_values(per_particle)} e; Conductivity needs one charge per species.{hint} Else "
                             f"split the selection into one species per charge, or give {example}.")
        q = float(per_particle.mean())
        if charges is None:
            _check_integer(q, scale, charge_scale, what, sel, topology, labels, example, per_molecule)
        origin = "given" if charges is not None else f"read from '{topology}'"
        if role is not None and ((q <= 0) if role == "cation" else (q >= 0)):
            want = "positive" if role == "cation" else "negative"
            raise ValueError(f"The {what} (selection {sel!r}) has charge {q:g} e ({origin}); Conductivity needs a "
                             f"{want} charge. Give the charges per species as {example}.")
        if q == 0 or (charges is None and round(q / scale) == 0):
            raise ValueError(f"The {what} (selection {sel!r}) has charge {q:g} e ({origin}): a neutral species "
                             f"carries no current. Leave it out of 'species', or give its charge as {example}.")
        out[s] = q
    if charges is not None:
        unused = set(charges) - used
        if unused:
            names = ", ".join(repr(x) for x in ((*roles, *labels) if roles else labels))
            raise ValueError(f"The 'charges' parameter of Conductivity names {sorted(unused)}, which match no "
                             f"species; use {names}.")
    return out, "given" if charges is not None else "topology"


def _check_integer(q: float, scale: float, charge_scale: float | None, what: str, sel: Any, topology: str,
                   labels: tuple[str, ...], example: str, per_molecule: bool) -> None:
    """A topology sum must be an integer times ``scale``; else say which fixes exist."""
    k = q / scale
    if abs(k - round(k)) * scale <= INTEGER_TOLERANCE:
        return
    if charge_scale is None:
        declared = ("no charge_scale is declared, so it must be an integer. If the force field scales ionic "
                    f"charges, declare it, e.g. charge_scale={abs(q) / max(round(abs(q)), 1):.4g} (CLI: "
                    f"--charge-scale {abs(q) / max(round(abs(q)), 1):.4g});")
    else:
        declared = f"with charge_scale={charge_scale:g} it must be an integer times {charge_scale:g};"
    partial = ("" if per_molecule else " if the selection holds atoms of molecular ions, pass per_molecule=True "
               "(CLI: --per-molecule);")
    raise ValueError(f"The charges of the {what} (selection {sel!r}) in '{topology}' sum to {q:.6g} e per particle: "
                     f"{declared}{partial} make the selection cover whole ions, or give the charges per species as "
                     f"{example}.")
