"""Polymer repeat units closed into rings, so a graph of one unit has no artificial chain ends (torch-free).

Two inputs give the same kind of ring:

- a repeat-unit SMILES with its two attachment points marked ``*`` (e.g. ``*CCO*`` for PEO):
  the ``*`` atoms are removed and their two neighbours bonded to each other (RDKit, the optional
  ``chem`` extra);
- the bead sequence of one coarse-grained chain's repeat unit (e.g. ``["C", "O"]`` of the bead-spring
  PEO model of :mod:`trajml.sim`): beads in order, the last bonded back to the first.

A unit too short to close on itself (the two attachment neighbours are one atom, as in ``*C*``, or
already bonded, as in ``*CC*``) is repeated two or three times first, so the ring has at least three
backbone atoms and no self-loop or double edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from trajml.errors import MissingExtraError

__all__ = ["ELEMENTS", "RingGraph", "require_rdkit", "ring_molecule", "smiles_ring_graph", "cg_ring_graph",
           "cg_repeat_unit", "cg_descriptors", "morgan_fingerprints", "BOND_TYPES"]

#: Elements the featuriser knows (one-hot order); anything else is refused with a message naming it.
ELEMENTS = ("H", "B", "C", "N", "O", "F", "Si", "P", "S", "Cl", "Ge", "Se", "Br", "Sn", "I", "Li", "Na", "K")
#: Bond types of the edge one-hot, in order.
BOND_TYPES = ("SINGLE", "DOUBLE", "TRIPLE", "AROMATIC")


def require_rdkit(purpose: str) -> Any:
    """Import RDKit's ``Chem`` or raise :class:`MissingExtraError` naming the ``chem`` extra."""
    try:
        from rdkit import Chem, RDLogger
    except ImportError as exc:
        raise MissingExtraError(f"{purpose} needs the optional dependency 'rdkit', which is not installed. "
                                "Install it with: pip install 'trajml[chem]'") from exc
    RDLogger.DisableLog("rdApp.*")  # parse errors become trajml messages naming the row instead
    return Chem


def _where(row: int | None, id_: Any) -> str:
    if row is None and id_ is None:
        return ""
    parts = ([f"row {row}"] if row is not None else []) + ([f"id {id_!r}"] if id_ is not None else [])
    return " (" + ", ".join(parts) + ")"


def ring_molecule(smiles: str, *, row: int | None = None, id: Any = None) -> Any:
    """The repeat unit of ``smiles`` closed into a ring, as an RDKit molecule.

    Parameters
    ----------
    smiles : str
        Repeat-unit SMILES with exactly two attachment points ``*`` (each bonded to one atom).
    row, id : optional
        Row number (1-based data row) and identifier of the input, quoted in error messages.

    Returns
    -------
    rdkit.Chem.Mol
        Sanitised molecule without ``*`` atoms; the two attachment neighbours are bonded (with the
        bond order of the ``*`` bond), after repeating the unit 2 or 3 times when it is too short.
        Aromatic flags are those RDKit perceives on the open unit.

    Raises
    ------
    ValueError
        Invalid SMILES, not exactly two attachment points, an attachment point with other than one
        neighbour, an element outside :data:`ELEMENTS`, or a ring that RDKit cannot sanitise.
    MissingExtraError
        RDKit is not installed.
    """
    Chem = require_rdkit("Building polymer graphs from SMILES")
    where = _where(row, id)
    if not isinstance(smiles, str) or not smiles.strip():
        raise ValueError(f"Empty SMILES{where}.")
    mol = Chem.MolFromSmiles(smiles.strip())
    if mol is None:
        raise ValueError(f"Invalid SMILES {smiles!r}{where}: RDKit cannot parse it.")
    # atoms by index: RDKit's Python atom sequence (GetAtoms) costs a length check per item
    numbers = [mol.GetAtomWithIdx(i).GetAtomicNum() for i in range(mol.GetNumAtoms())]
    stars = [i for i, z in enumerate(numbers) if z == 0]
    if len(stars) != 2:
        raise ValueError(f"SMILES {smiles!r}{where} has {len(stars)} attachment points '*'; a repeat unit needs "
                         f"exactly 2 (e.g. '*CCO*').")
    unknown = sorted({mol.GetAtomWithIdx(i).GetSymbol() for i, z in enumerate(numbers) if z > 0} - set(ELEMENTS))
    if unknown:
        raise ValueError(f"SMILES {smiles!r}{where} contains element(s) {unknown} that the polymer graph does not "
                         f"know; known elements: {list(ELEMENTS)}.")
    heads = []
    for s in stars:
        nbrs = mol.GetAtomWithIdx(s).GetNeighbors()
        if len(nbrs) != 1 or nbrs[0].GetAtomicNum() == 0:
            raise ValueError(f"Attachment point '*' of SMILES {smiles!r}{where} must be bonded to exactly one atom; "
                             f"it has {len(nbrs)} neighbour(s).")
        heads.append((nbrs[0].GetIdx(), mol.GetBondBetweenAtoms(s, nbrs[0].GetIdx()).GetBondType()))
    (a, bond_a), (b, _) = heads
    distance = 0 if a == b else int(Chem.GetDistanceMatrix(mol)[a, b])
    copies = 1 if distance >= 2 else (2 if distance == 1 else 3)
    # strip the stars, then lay `copies` units side by side and chain tail(i) -> head(i + 1) cyclically
    rw = Chem.RWMol(mol)
    for s in sorted(stars, reverse=True):
        rw.RemoveAtom(s)
    shift = [sum(1 for s in stars if s < i) for i in (a, b)]
    a, b = a - shift[0], b - shift[1]
    unit = rw.GetMol()
    n = unit.GetNumAtoms()
    combined = unit
    for _ in range(copies - 1):
        combined = Chem.CombineMols(combined, unit)
    ring = Chem.RWMol(combined)
    for k in range(copies):
        ring.AddBond(k * n + b, ((k + 1) % copies) * n + a, bond_a)
    out = ring.GetMol()
    try:
        # aromaticity stays as perceived on the open unit: closing a short unit into a small ring must not
        # turn, e.g., an amide next to a phenylene into an aromatic pyridone
        flags = Chem.SanitizeFlags
        Chem.SanitizeMol(out, flags.SANITIZE_ALL ^ flags.SANITIZE_SETAROMATICITY ^ flags.SANITIZE_KEKULIZE)
    except Exception as exc:  # RDKit raises its own exception classes
        raise ValueError(f"SMILES {smiles!r}{where} cannot be closed into a valid ring: {exc}") from None
    return out


@dataclass(frozen=True)
class RingGraph:
    """A ring graph as plain arrays (torch-free).

    Attributes
    ----------
    node_features : ndarray, shape (n_nodes, n_node_features), float32
    edge_index : ndarray, shape (2, 2 * n_bonds), int64
        Each bond in both directions.
    edge_features : ndarray, shape (2 * n_bonds, n_edge_features), float32
    kind : str
        ``"smiles"`` or ``"cg"``.
    """

    node_features: np.ndarray
    edge_index: np.ndarray
    edge_features: np.ndarray
    kind: str


def _both_ways(pairs: np.ndarray, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return (np.concatenate([pairs, pairs[:, ::-1]]).T.copy(),
            np.concatenate([feats, feats]).astype(np.float32))


def smiles_ring_graph(smiles: str, *, row: int | None = None, id: Any = None) -> RingGraph:
    """Node and edge features of the ring of :func:`ring_molecule` (heavy atoms only).

    Node features: one-hot element over :data:`ELEMENTS`, degree / 4, number of hydrogens / 4, formal
    charge, aromatic flag. Edge features: one-hot bond type over :data:`BOND_TYPES`, conjugated flag.
    """
    mol = ring_molecule(smiles, row=row, id=id)
    atoms = [mol.GetAtomWithIdx(i) for i in range(mol.GetNumAtoms())]
    x = np.zeros((len(atoms), len(ELEMENTS) + 4), dtype=np.float32)
    x[np.arange(len(atoms)), [ELEMENTS.index(a.GetSymbol()) for a in atoms]] = 1.0
    x[:, len(ELEMENTS):] = [[a.GetDegree() / 4.0, a.GetTotalNumHs() / 4.0, a.GetFormalCharge(),
                             float(a.GetIsAromatic())] for a in atoms]
    bonds = [mol.GetBondWithIdx(i) for i in range(mol.GetNumBonds())]
    pairs = np.array([[bd.GetBeginAtomIdx(), bd.GetEndAtomIdx()] for bd in bonds], dtype=np.int64)
    e = np.zeros((len(bonds), len(BOND_TYPES) + 1), dtype=np.float32)
    kinds = [str(bd.GetBondType()) for bd in bonds]
    e[np.arange(len(bonds)), [BOND_TYPES.index(k) if k in BOND_TYPES else 0 for k in kinds]] = 1.0
    e[:, -1] = [float(bd.GetIsConjugated()) for bd in bonds]
    edge_index, edge_attr = _both_ways(pairs, e)
    return RingGraph(x, edge_index, edge_attr, "smiles")


def cg_ring_graph(beads: Sequence[str], vocabulary: Sequence[str], *, row: int | None = None,
                  id: Any = None) -> RingGraph:
    """Ring graph of a coarse-grained repeat unit: beads in chain order, the last bonded to the first.

    Parameters
    ----------
    beads : sequence of str
        Bead types of one repeat unit in chain order (e.g. ``["C", "O"]``); repeated 2 or 3 times
        when shorter than 3 beads.
    vocabulary : sequence of str
        Bead types of the one-hot node features, in order.

    Returns
    -------
    RingGraph
        One-hot bead-type node features; every edge has the single feature 1.
    """
    where = _where(row, id)
    beads = [str(b) for b in beads]
    if not beads:
        raise ValueError(f"Empty coarse-grained repeat unit{where}.")
    unknown = sorted(set(beads) - set(vocabulary))
    if unknown:
        raise ValueError(f"Coarse-grained repeat unit{where} has bead type(s) {unknown} outside the vocabulary "
                         f"{list(vocabulary)}.")
    beads = beads * {1: 3, 2: 2}.get(len(beads), 1)
    n = len(beads)
    x = np.zeros((n, len(vocabulary)), dtype=np.float32)
    x[np.arange(n), [list(vocabulary).index(b) for b in beads]] = 1.0
    pairs = np.stack([np.arange(n), (np.arange(n) + 1) % n], axis=1)
    edge_index, edge_attr = _both_ways(pairs, np.ones((n, 1), dtype=np.float32))
    return RingGraph(x, edge_index, edge_attr, "cg")


def cg_repeat_unit(names: Sequence[str]) -> list[str]:
    """Shortest repeat unit of one chain's bead sequence (e.g. ``C O C O ... C`` → ``["C", "O"]``).

    Parameters
    ----------
    names : sequence of str
        Bead names of one chain in bond order, e.g. ``topology.names[topology.resids == 1]`` of a
        :class:`trajml.sim.builder.SPETopology`.
    """
    seq = [str(s) for s in names]
    if not seq:
        raise ValueError("The 'names' parameter of cg_repeat_unit must hold at least one bead name.")
    for p in range(1, len(seq) + 1):
        if all(seq[i] == seq[i % p] for i in range(len(seq))):
            return seq[:p]
    return seq  # pragma: no cover - p = len(seq) always matches


def cg_descriptors(params: Any) -> dict[str, float]:
    """Global descriptors of a bead-spring SPE model (:class:`trajml.sim.parameters.SimulationParameters`).

    Returns
    -------
    dict of str to float
        ``eo_li_ratio`` (ether O per Li⁺), ``eps_li_o`` (kJ/mol), ``k_angle`` (kJ/mol), ``anion_sigma`` (Å),
        ``debye_length`` (Å), ``relative_permittivity``, ``temperature`` (K), ``chain_length`` (beads).
    """
    keys = ("eo_li_ratio", "eps_li_o", "k_angle", "anion_sigma", "debye_length", "relative_permittivity",
            "temperature", "chain_length")
    values: Mapping[str, Any] = params if isinstance(params, Mapping) else {k: getattr(params, k) for k in keys}
    return {k: float(values[k]) for k in keys}


def morgan_fingerprints(smiles: Sequence[str], n_bits: int = 1024, radius: int = 2,
                        ids: Sequence[Any] | None = None) -> np.ndarray:
    """Morgan (ECFP-like) bit fingerprints of the ring-closed repeat units.

    Parameters
    ----------
    smiles : sequence of str
        Repeat-unit SMILES with two ``*`` attachment points.
    n_bits, radius : int
        Fingerprint length and Morgan radius (bonds).
    ids : sequence, optional
        Identifiers quoted in error messages.

    Returns
    -------
    ndarray, shape (n, n_bits), float32
        0/1 bits. Closing the ring first makes the bits independent of where the unit was cut.
    """
    require_rdkit("Morgan fingerprints")
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=int(radius), fpSize=int(n_bits))
    out = np.zeros((len(smiles), int(n_bits)), dtype=np.float32)
    for i, s in enumerate(smiles):
        mol = ring_molecule(s, row=i + 1, id=None if ids is None else ids[i])
        out[i] = gen.GetFingerprintAsNumPy(mol)
    return out
