"""Per-target shell counts by species at several radii: engineered features for kinetic models.

The classic kinetic route (TICA/VAMP → k-means → MSM) and the MLP VAMPNet need a fixed-length
descriptor of every target atom in every frame. For Li⁺ in a polymer electrolyte the natural one
is how many polymer O and anions sit within a few radii: a coarse, rotation-invariant picture of
the solvation shell. One neighbour search per chunk at the largest radius gives every count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from trajml.features._selection import check_chunk, check_device, check_source_boxes, resolve_atoms

__all__ = ["ShellCounts"]


class ShellCounts:
    """Number of atoms of each species within each radius of every target atom, per frame.

    Parameters
    ----------
    targets : str or array_like of int
        Centre atoms (e.g. ``"name Li"``).
    species : mapping of str to selection
        Labelled neighbour selections, e.g. ``{"O": "name O", "TFSI": "name TFSI"}``; they must
        not overlap. A target never counts itself.
    radii : sequence of float
        Shell radii in Å, increasing (``d < r`` counts); the largest must fit half the box.
    device : {"cpu", "cuda"}
        Where the neighbour search runs.

    Examples
    --------
    >>> from trajml.data import sample_topology, sample_trajectory
    >>> from trajml.io import open_source
    >>> src = open_source(sample_topology(), sample_trajectory())
    >>> x = ShellCounts("name Li", {"O": "name O"}, radii=(6.0, 9.0)).compute(src, stop=5)
    >>> x[0].shape
    (5, 60, 2)
    """

    def __init__(self, targets: Any = "name Li", species: Mapping[str, Any] | None = None,
                 radii: Sequence[float] = (6.0, 8.0, 10.0), device: str = "cpu") -> None:
        owner = "ShellCounts"
        self.targets = targets
        self.species = dict(species) if species is not None else {"O": "name O", "TFSI": "name TFSI"}
        if not self.species:
            raise ValueError(f"The 'species' parameter of {owner} must name at least one neighbour selection.")
        r = np.asarray(radii, dtype=np.float64).ravel()
        if r.size == 0 or not np.all(np.isfinite(r)) or r.min() <= 0 or np.any(np.diff(r) <= 0):
            raise ValueError(f"The 'radii' parameter of {owner} must be increasing positive radii in Å. "
                             f"Got {radii!r} instead.")
        self.radii = r
        self.device = check_device(device, owner)

    @property
    def feature_names(self) -> list[str]:
        """list of str: ``"<species> < <r> Å"`` for each feature column, species-major."""
        return [f"{s} < {r:g} Å" for s in self.species for r in self.radii]

    def compute(self, source: Any, *, start: int = 0, stop: int | None = None, step: int = 1,
                chunk_size: int = 100) -> list[np.ndarray]:
        """Count, streaming the frames chunk by chunk.

        Parameters
        ----------
        source : trajml.io.Source
            Trajectories with periodic boxes.
        start, stop, step : int
            Frame slice of every trajectory.
        chunk_size : int
            Frames per chunk read.

        Returns
        -------
        list of ndarray, each shape (T_i, n_targets, n_species * n_radii), float32
            One array per trajectory; columns follow :attr:`feature_names` (counts, dimensionless).
        """
        from trajml.kernels.counts import radius_neighbors

        owner = "ShellCounts"
        tgt = resolve_atoms(source, self.targets, "targets", owner)
        code = np.full(source.n_atoms, -1, dtype=np.int64)
        for s, (label, sel) in enumerate(self.species.items()):
            ids = resolve_atoms(source, sel, f"species['{label}']", owner)
            if np.any(code[ids] >= 0):
                raise ValueError(f"The 'species' selections of {owner} overlap: '{label}' shares atoms with an "
                                 f"earlier label.")
            code[ids] = s
        nbr_ids = np.flatnonzero(code >= 0).astype(np.int64)
        r_max = float(self.radii[-1])
        check_source_boxes(source, r_max, "radii", owner)
        n_s, n_r, n_t = len(self.species), len(self.radii), len(tgt)
        out: list[list[np.ndarray]] = [[] for _ in range(source.n_trajectories)]
        for chunk in source.iter_chunks(chunk_size, start, stop, step, None):
            check_chunk(owner, chunk, True, radii=r_max)
            off, nb, dist = radius_neighbors(np.ascontiguousarray(chunk.positions[:, tgt]),
                                             np.ascontiguousarray(chunk.positions[:, nbr_ids]), chunk.boxes, r_max,
                                             tgt, nbr_ids, device=self.device)
            rows = np.repeat(np.arange(len(off) - 1), np.diff(off))
            shell = np.searchsorted(self.radii, dist, side="right")  # first radius that counts this pair
            cell = (rows * n_s + code[nbr_ids[nb]]) * (n_r + 1) + shell  # nb indexes the neighbour selection
            hist = np.bincount(cell, minlength=(len(off) - 1) * n_s * (n_r + 1)).reshape(-1, n_s, n_r + 1)
            counts = np.cumsum(hist[..., :n_r], axis=-1)
            out[chunk.traj_id].append(counts.reshape(chunk.n_frames, n_t, n_s * n_r).astype(np.float32))
        return [np.concatenate(parts) if parts else np.zeros((0, n_t, n_s * n_r), np.float32) for parts in out]
