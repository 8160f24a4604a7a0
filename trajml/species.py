"""Species: a selection plus the rule that says what one counted thing is.

A coordination number or a solvation shell counts *things* around a centre. Which things is a
:class:`Species`: a selection and a rule,

``"atom"``
    each selected atom counts (the default, and the only rule before species existed);
``"com"``
    each molecule (``by="molecule"``: a bonded fragment, or a residue where the topology has no
    bonds) or each residue (``by="residue"``) is one site at the centre of mass of its selected
    atoms, taken with the minimum image inside the molecule (a molecule split over the box is whole);
``"any"``
    each molecule (or residue) counts once when any of its selected atoms is within the cut-off,
    or, with ``site`` (e.g. ``"name P"``), when its named atom is.

A species resolves against a source's topology once (:meth:`Species.resolve`, in an analysis'
``bind``) into a :class:`ResolvedSpecies`: plain arrays a pair-search kernel and NumPy take.
The text form used on the command line and in YAML is ``RULE:SELECTION``, with ``RULE`` one of
``atom``, ``com``, ``any``, ``residue-com``, ``residue-any`` and an optional site in brackets:
``any[name P]:resname PF6``. A bare selection is the ``atom`` rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from trajml.errors import EmptySelectionError, SelectionError
from trajml.selection import describe_selection, resolve_atoms

__all__ = ["Species", "ResolvedSpecies", "RULES", "as_species", "first_pass_selection", "shell_pairs",
           "counts_per_center"]

#: What one counted thing is (see the module docstring).
RULES = ("atom", "com", "any")
_BY = ("molecule", "residue")
_TEXT = re.compile(r"^\s*(?:(residue)-)?(atom|com|any)(?:\[([^\]]+)\])?\s*:(.*)$", re.S)


@dataclass(frozen=True, eq=False)
class Species:
    """A selection plus a counting rule.

    Parameters
    ----------
    select : str or array_like of int
        The atoms (MDAnalysis selection string or topology indices).
    rule : {"atom", "com", "any"}
        Each atom; each molecule/residue at its centre of mass; each molecule/residue once
        when any selected atom (or its ``site`` atom) is within the cut-off.
    by : {"molecule", "residue"}
        What a group is for the ``com`` and ``any`` rules: a bonded fragment (a residue where
        the topology has no bonds) or a residue.
    site : str, optional
        With ``rule="any"``: only the selected atoms that also match this selection (e.g.
        ``"name P"``) decide whether the molecule is in the shell.

    Examples
    --------
    >>> Species.parse("any[name P]:resname PF6")
    Species(select='resname PF6', rule='any', by='molecule', site='name P')
    >>> Species.parse("name O").rule
    'atom'
    """

    select: Any
    rule: str = "atom"
    by: str = "molecule"
    site: str | None = None

    def __post_init__(self) -> None:
        from trajml.selection import AtomGroupSelection, is_atomgroup

        if is_atomgroup(self.select):  # indices plus origin: an AtomGroup pickles its whole Universe
            object.__setattr__(self, "select", AtomGroupSelection.from_atomgroup(self.select))
        if self.rule not in RULES:
            raise ValueError(f"A species rule must be one of {', '.join(map(repr, RULES))}. Got {self.rule!r} "
                             "instead.")
        if self.by not in _BY:
            raise ValueError(f"A species' 'by' must be 'molecule' or 'residue'. Got {self.by!r} instead.")
        if self.site is not None and self.rule != "any":
            raise ValueError(f"A species' 'site' ({self.site!r}) needs rule='any' (the molecule counts when its "
                             f"site atom is within the cut-off); got rule={self.rule!r}.")
        if self.site is not None and (not isinstance(self.site, str) or not self.site.strip()):
            raise ValueError(f"A species' 'site' must be a selection string such as 'name P'. Got {self.site!r}.")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Species):
            return NotImplemented
        if (self.rule, self.by, self.site) != (other.rule, other.by, other.site):
            return False
        a, b = self.select, other.select
        if isinstance(a, str) or isinstance(b, str):
            return isinstance(a, str) and isinstance(b, str) and a == b
        from trajml.selection import AtomGroupSelection

        if isinstance(a, AtomGroupSelection) or isinstance(b, AtomGroupSelection):
            return a == b  # indices and origin
        return np.array_equal(np.asarray(a), np.asarray(b))  # index arrays

    def __hash__(self) -> int:
        sel = self.select if isinstance(self.select, str) else np.asarray(self.select).tobytes()
        return hash((sel, self.rule, self.by, self.site))

    @classmethod
    def parse(cls, value: Any) -> "Species":
        """A species from a :class:`Species`, its text form, a dict of its fields, or a bare selection."""
        if isinstance(value, Species):
            return value
        if isinstance(value, dict):
            unknown = set(value) - {"select", "rule", "by", "site"}
            if unknown or "select" not in value:
                raise ValueError("A species mapping needs 'select' and may have 'rule', 'by' and 'site'; got keys "
                                 f"{sorted(value)}.")
            return cls(**value)
        if isinstance(value, str):
            m = _TEXT.match(value)
            if m is not None:
                residue, rule, site, select = m.groups()
                return cls(select.strip(), rule, "residue" if residue else "molecule", site.strip() if site else None)
        return cls(value)

    def text(self) -> Any:
        """The text form (``"any[name P]:resname PF6"``); index arrays as a short description."""
        sel = describe_selection(self.select)
        if self.rule == "atom":
            return sel
        head = ("residue-" if self.by == "residue" else "") + self.rule + (f"[{self.site}]" if self.site else "")
        return f"{head}:{sel}" if isinstance(sel, str) else {"select": sel, "rule": self.rule, "by": self.by,
                                                              "site": self.site}

    @property
    def counts_groups(self) -> bool:
        """Whether one counted thing is a molecule or residue (not an atom)."""
        return self.rule != "atom"

    def site_selection(self) -> Any:
        """The atoms whose distances decide (for a first-pass g(r)): the selection, narrowed by ``site``."""
        if self.site is None:
            return self.select
        if isinstance(self.select, str):
            return f"({self.select}) and ({self.site})"
        return None  # an index array narrowed by a site: resolved in :meth:`resolve`

    def resolve(self, source: Any, name: str, owner: str) -> "ResolvedSpecies":
        """Resolve against ``source``'s topology into arrays (see :class:`ResolvedSpecies`).

        Raises
        ------
        EmptySelectionError
            The selection (or its ``site`` atoms) matches no atom.
        SelectionError
            A ``com``/``any`` rule on a topology that has no molecules (no bonds and one residue
            for all atoms) or no residues (``by="residue"``); the message says which is missing.
        """
        atoms = resolve_atoms(source, self.select, name, owner)
        table = source.atoms
        mol = np.asarray(table.molecules, dtype=np.int64)
        if self.rule == "atom":
            return ResolvedSpecies(name=name, rule="atom", atoms=atoms, site_atoms=atoms,
                                   site_group=np.arange(atoms.size, dtype=np.int64), group_molecule=mol[atoms],
                                   group_starts=np.arange(atoms.size, dtype=np.int64), weights=None)
        keys = self._group_keys(table, name, owner)
        order = np.argsort(keys[atoms], kind="stable")
        atoms = atoms[order]
        uniq, group = np.unique(keys[atoms], return_inverse=True)
        starts = np.flatnonzero(np.r_[True, np.diff(group) != 0]).astype(np.int64)
        group_molecule = mol[atoms[starts]]
        if self.rule == "com":
            masses = table.masses
            if masses is None:
                raise SelectionError(
                    f"The '{name}' species of {owner} uses the centre-of-mass rule, but the topology has no masses; "
                    "use rule 'any' (text 'any:SEL') or a topology with masses.")
            w = masses[atoms].astype(np.float64)
            tot = np.add.reduceat(w, starts)
            if np.any(tot <= 0):
                raise SelectionError(f"The '{name}' species of {owner} has a molecule of zero total mass; its centre "
                                     "of mass is undefined. Use rule 'any' instead.")
            return ResolvedSpecies(name=name, rule="com", atoms=atoms, site_atoms=atoms[starts],
                                   site_group=np.arange(uniq.size, dtype=np.int64), group_molecule=group_molecule,
                                   group_starts=starts, weights=w / np.repeat(tot, np.diff(np.r_[starts, atoms.size])))
        keep = np.ones(atoms.size, dtype=bool)
        if self.site is not None:
            keep = np.isin(atoms, source.select(self.site))
            if not keep.any():
                raise EmptySelectionError(
                    f"The site {self.site!r} of the '{name}' species of {owner} matches none of its atoms "
                    f"({describe_selection(self.select)!r}); name an atom the molecules hold, e.g. 'name P'.")
        return ResolvedSpecies(name=name, rule="any", atoms=atoms[keep], site_atoms=atoms[keep],
                               site_group=group[keep].astype(np.int64), group_molecule=group_molecule,
                               group_starts=starts, weights=None, selected=atoms)

    def _group_keys(self, table: Any, name: str, owner: str) -> np.ndarray:
        n = table.n_atoms
        res = np.asarray(table.resindices, dtype=np.int64)
        one_residue = n > 1 and np.unique(res).size == 1
        if self.by == "residue":
            if one_residue:
                raise SelectionError(
                    f"The '{name}' species of {owner} counts residues, but the topology has no residues (all {n} "
                    "atoms are in one residue); use a topology with residues (PSF, GRO, TPR, LAMMPS data with "
                    "molecule ids) or by='molecule' with bonds.")
            return res
        mol = np.asarray(table.molecules, dtype=np.int64)
        if one_residue and np.unique(mol).size == 1:
            raise SelectionError(
                f"The '{name}' species of {owner} counts molecules, but the topology has neither bonds nor residues "
                f"(all {n} atoms are in one residue and no bond splits them into molecules); use a topology with "
                "bonds or residues (PSF, TPR, LAMMPS data), or the atom rule.")
        return mol


def as_species(value: Any) -> Species:
    """:meth:`Species.parse` as a function (the ``check`` of declared species parameters).

    Parameters
    ----------
    value : Species, str or mapping
        What :meth:`Species.parse` takes.
    """
    return Species.parse(value)


@dataclass(frozen=True, eq=False)
class ResolvedSpecies:
    """A species resolved against one topology: what the pair-search kernels take.

    Attributes
    ----------
    name : str
        The parameter or species name, for messages.
    rule : {"atom", "com", "any"}
        The counting rule.
    atoms : ndarray, shape (A,), int64
        Topology indices a chunk must read (for ``com``: every atom of every group, by group).
    site_atoms : ndarray, shape (S,), int64
        One topology index per search site (for ``com``: the group's first atom, which anchors
        its minimum image).
    site_group : ndarray, shape (S,), int64
        Counted group (0..n_groups-1) of each site.
    group_molecule : ndarray, shape (n_groups,), int64
        Molecule id of each group (a centre is never counted by its own molecule when either
        side counts molecules).
    group_starts : ndarray, shape (n_groups,), int64
        Where each group starts in ``atoms`` (``com``: the reduction offsets).
    weights : ndarray, shape (A,), float64, or None
        Mass fraction of each atom within its group (``com`` only).
    selected : ndarray of int64 or None
        Every atom of the selection (``atoms`` narrowed by a ``site`` leaves some out); None: ``atoms``.
    """

    name: str
    rule: str
    atoms: np.ndarray
    site_atoms: np.ndarray
    site_group: np.ndarray
    group_molecule: np.ndarray
    group_starts: np.ndarray
    weights: np.ndarray | None
    selected: np.ndarray | None = None

    @property
    def all_atoms(self) -> np.ndarray:
        """ndarray of int64: every selected atom (for overlap checks between species)."""
        return self.atoms if self.selected is None else self.selected

    @property
    def n_groups(self) -> int:
        """int: counted things (atoms for the atom rule, molecules or residues otherwise)."""
        return int(self.group_molecule.size)

    @property
    def n_sites(self) -> int:
        """int: positions the pair search sees."""
        return int(self.site_atoms.size)

    def site_positions(self, positions: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Search-site positions of a chunk.

        Parameters
        ----------
        positions : ndarray, shape (F, A, 3), float32
            Positions of :attr:`atoms` in Å, in that order.
        boxes : ndarray, shape (F, 3, 3)
            Box matrices in Å (rows are box vectors).

        Returns
        -------
        ndarray, shape (F, S, 3), float32
            Sites in Å: the atoms themselves, or each group's centre of mass built from minimum-image
            offsets to its first atom (so a molecule split by the box is whole).
        """
        if self.rule != "com":
            return np.ascontiguousarray(positions, dtype=np.float32)
        pos = np.asarray(positions, dtype=np.float64)
        b = np.asarray(boxes, dtype=np.float64)
        sizes = np.diff(np.r_[self.group_starts, self.atoms.size])
        anchor = np.repeat(pos[:, self.group_starts], sizes, axis=1)
        frac = np.einsum("fai,fij->faj", pos - anchor, np.linalg.inv(b))
        frac -= np.rint(frac)
        delta = np.einsum("faj,fjk->fak", frac, b) * self.weights[None, :, None]
        com = pos[:, self.group_starts] + np.add.reduceat(delta, self.group_starts, axis=1)
        return np.ascontiguousarray(com, dtype=np.float32)


def first_pass_selection(species: Species, resolved: ResolvedSpecies) -> Any:
    """The atoms whose g(r) with a centre locates this species' first shell (the site atoms, when named).

    Parameters
    ----------
    species : Species
    resolved : ResolvedSpecies
        Its atoms in the source.
    """
    if species.site is None:
        return species.select
    narrowed = species.site_selection()
    return narrowed if narrowed is not None else resolved.site_atoms


def shell_pairs(center: ResolvedSpecies, ligand: ResolvedSpecies, positions: np.ndarray, boxes: np.ndarray,
                cutoff: float, pos_center: np.ndarray, pos_ligand: np.ndarray, *, device: str = "cpu") -> np.ndarray:
    """Every (frame, centre, ligand) pair within the cut-off, each counted thing once.

    Parameters
    ----------
    center, ligand : ResolvedSpecies
        The two species.
    positions : ndarray, shape (F, U, 3), float32
        A chunk's positions in Å of the atoms it reads.
    boxes : ndarray, shape (F, 3, 3)
        Box matrices in Å.
    cutoff : float
        Cut-off in Å (``d < cutoff``, minimum image).
    pos_center, pos_ligand : ndarray of int64
        Where each species' :attr:`~ResolvedSpecies.atoms` sit along the chunk's atom axis.
    device : {"cpu", "cuda"}
        Where the pair search runs.

    Returns
    -------
    ndarray, shape (P,), int64
        Sorted unique keys ``(t * n_center_groups + c) * n_ligand_groups + l``. A centre is never its
        own ligand: not the same atom, and, when either side counts molecules, not the same molecule.
    """
    from trajml.kernels.counts import radius_neighbors

    f = positions.shape[0]
    if device == "cpu" and center.n_sites <= _BRUTE_MAX_CENTRES:
        return _shell_pairs_cpu(center, ligand, positions, boxes, cutoff, pos_center, pos_ligand)
    sites_c = center.site_positions(positions[:, pos_center], boxes)
    sites_l = ligand.site_positions(positions[:, pos_ligand], boxes)
    off, nb, _ = radius_neighbors(sites_c, sites_l, boxes, cutoff, center.site_atoms, ligand.site_atoms,
                                  device=device)
    rows = np.repeat(np.arange(f * center.n_sites, dtype=np.int64), np.diff(off))
    cg = center.site_group[rows % center.n_sites]
    lg = ligand.site_group[nb]
    if center.rule != "atom" or ligand.rule != "atom":
        other = center.group_molecule[cg] != ligand.group_molecule[lg]
        rows, cg, lg = rows[other], cg[other], lg[other]
    return np.unique(((rows // center.n_sites) * center.n_groups + cg) * ligand.n_groups + lg)


#: Most centre sites for which :func:`shell_pairs` scans every (centre, site) pair on the CPU: a scan
#: costs one pass over the sites per centre, a cell list a few tens of such passes to build and walk.
_BRUTE_MAX_CENTRES = 64


def _sites(species: ResolvedSpecies, positions: np.ndarray, boxes: np.ndarray,
           pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions holding a species' search sites and where the sites sit along their atom axis."""
    if species.rule == "com":
        return species.site_positions(positions[:, pos], boxes), np.arange(species.n_sites, dtype=np.int64)
    return positions, pos  # atom and any rules: the sites are the atoms, in order


def _shell_pairs_cpu(center: ResolvedSpecies, ligand: ResolvedSpecies, positions: np.ndarray, boxes: np.ndarray,
                     cutoff: float, pos_center: np.ndarray, pos_ligand: np.ndarray) -> np.ndarray:
    """:func:`shell_pairs` by one brute-force scan that reduces to ligand groups as it goes (few centres)."""
    from trajml.kernels.shells import shell_groups

    pc, ic = _sites(center, positions, boxes, pos_center)
    pl, il = _sites(ligand, positions, boxes, pos_ligand)
    molecules = center.rule != "atom" or ligand.rule != "atom"
    keys = shell_groups(pc, pl, boxes, cutoff, center.site_atoms, ligand.site_atoms, ligand.site_group,
                        ligand.n_groups, index_a=ic, index_b=il,
                        mol_a=center.group_molecule[center.site_group] if molecules else None,
                        mol_b=ligand.group_molecule[ligand.site_group] if molecules else None)
    if center.n_sites == center.n_groups and np.array_equal(center.site_group, np.arange(center.n_groups)):
        return keys  # one site per centre group, in order: the rows are the groups already
    row, lg = np.divmod(keys, ligand.n_groups)
    t, cs = np.divmod(row, center.n_sites)
    return np.unique((t * center.n_groups + center.site_group[cs]) * ligand.n_groups + lg)


def counts_per_center(keys: np.ndarray, n_frames: int, n_center: int, n_ligand: int) -> np.ndarray:
    """Ligands per (frame, centre) from :func:`shell_pairs` keys, shape (n_frames, n_center), int64.

    Parameters
    ----------
    keys : ndarray of int64
        Pair keys of :func:`shell_pairs`.
    n_frames, n_center, n_ligand : int
        Frames, centres and ligands the keys index.
    """
    return np.bincount(keys // n_ligand, minlength=n_frames * n_center).reshape(n_frames, n_center)
