"""What :class:`~trajml.kinetics.interpret.StateInterpretation` computes: per-state shell composition, charge, RDFs,
representatives.

:class:`StateInterpretationResults` holds the per-state statistics (populations, first-shell
counts and net charges, partial RDFs, representative rows) with their units (:data:`UNITS`), and
turns them into tables (:meth:`~StateInterpretationResults.to_pandas`,
:meth:`~StateInterpretationResults.representatives_to_pandas`). Its figures are drawn by
:mod:`trajml.plotting.kinetics` (``plot_state_rdf``, ``plot_state_shell``, ``plot_state_populations``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from trajml.results import Results

__all__ = ["StateInterpretationResults", "UNITS"]


@dataclass(frozen=True, eq=False, kw_only=True)
class StateInterpretationResults(Results):
    """What :class:`StateInterpretation` computes; ``m`` states, ``K`` shell species, ``n`` representatives.

    Attributes
    ----------
    state : ndarray, shape (m,), int64
        State indices 0 .. m-1.
    species : ndarray, shape (K,), str
        Labels of the shell species (the keys of ``shell``), in order.
    population : ndarray, shape (m,), float64
        Probability-weighted share of the (frame, target) rows in each state (dimensionless;
        sums to 1 up to the rows' own rounding).
    weight : ndarray, shape (m,), float64
        ``Σ p_s`` over all rows: the effective number of (frame, target) rows of each state.
    r_shell : ndarray, shape (K,), float64
        First-shell cut-off of each species in Å (atoms at ``d < r_shell`` are in the shell).
    shell_count_mean : ndarray, shape (m, K), float64
        State-weighted mean number of atoms of each species in a target's shell
        (dimensionless; NaN for a state of zero weight).
    shell_count_std : ndarray, shape (m, K), float64
        State-weighted standard deviation of those counts (dimensionless).
    net_charge_mean : ndarray, shape (m,), float64
        State-weighted mean net charge of the shell in e: the sum of the topology charges of
        the shell atoms of every species within their ``r_shell``; the target's own charge
        is added only when ``include_target_charge`` is True. NaN when ``charge=False``.
    net_charge_std : ndarray, shape (m,), float64
        State-weighted standard deviation of the net charge in e (NaN when ``charge=False``).
    edges : ndarray, shape (n_bins + 1,), float64
        RDF bin edges in Å.
    r : ndarray, shape (n_bins,), float64
        RDF bin centres in Å.
    g : ndarray, shape (m, K, n_bins), float64
        Per-state partial RDF target → species (dimensionless; NaN for a state of zero weight).
    n : ndarray, shape (m, K, n_bins), float64
        Per-state running coordination number at each bin's outer edge: the state-weighted
        mean number of species atoms in ``[r_min, edges[k + 1])`` of a target (dimensionless).
    counts : ndarray, shape (m, K, n_bins), float64
        State-weighted pair counts per bin (integers for hard labels).
    pairs_over_volume : ndarray, shape (m, K), float64
        The weighted ideal-gas reference ``S_s = Σ_t Σ_i p_s N_pairs(i) / V_t`` in Å⁻³.
    representative_traj : ndarray, shape (m, n), int64
        Trajectory of each representative row (-1 where a state has fewer than n rows with p > 0).
    representative_frame : ndarray, shape (m, n), int64
        Frame number within its trajectory (-1 when missing).
    representative_time : ndarray, shape (m, n), float64
        Time of the frame in ps (NaN when missing).
    representative_target : ndarray, shape (m, n), int64
        Topology index of the target atom (-1 when missing).
    representative_probability : ndarray, shape (m, n), float64
        The row's probability of the state (dimensionless; NaN when missing). Rows are sorted by
        decreasing probability, ties by (trajectory, frame, target) order.
    representative_shell_count : ndarray, shape (m, n, K), float64
        Shell counts of each representative row (dimensionless; NaN when missing).
    representative_net_charge : ndarray, shape (m, n), float64
        Net shell charge of each representative row in e (NaN when missing or ``charge=False``).
    targets : ndarray, shape (n_targets,), int64
        Topology indices of the targets (the second axis of the state assignments).
    n_frames : int
        Frames read, over all trajectories.
    n_targets : int
        Targets per frame.
    n_rows : int
        (frame, target) rows: ``n_frames · n_targets``.
    n_species_atoms : ndarray, shape (K,), int64
        Atoms of each shell species.
    hard : bool
        Whether the states were hard labels.
    exclude : str or None
        Pairs left out of the RDFs and shells: "self", "molecule" or None (see :class:`StateInterpretation`).
    include_target_charge : bool
        Whether ``net_charge_*`` include the target's own charge.
    """

    _DIMS: ClassVar[dict[str, tuple[str, ...]]] = {
        "state": ("state",), "species": ("species",), "population": ("state",), "weight": ("state",),
        "r_shell": ("species",), "shell_count_mean": ("state", "species"),
        "shell_count_std": ("state", "species"), "net_charge_mean": ("state",), "net_charge_std": ("state",),
        "edges": ("edge",), "r": ("r",), "g": ("state", "species", "r"), "n": ("state", "species", "r"),
        "counts": ("state", "species", "r"), "pairs_over_volume": ("state", "species"),
        "representative_traj": ("state", "rank"), "representative_frame": ("state", "rank"),
        "representative_time": ("state", "rank"), "representative_target": ("state", "rank"),
        "representative_probability": ("state", "rank"),
        "representative_shell_count": ("state", "rank", "species"),
        "representative_net_charge": ("state", "rank"), "targets": ("targets",),
        "n_species_atoms": ("species",),
    }

    state: np.ndarray
    species: np.ndarray
    population: np.ndarray
    weight: np.ndarray
    r_shell: np.ndarray
    shell_count_mean: np.ndarray
    shell_count_std: np.ndarray
    net_charge_mean: np.ndarray
    net_charge_std: np.ndarray
    edges: np.ndarray
    r: np.ndarray
    g: np.ndarray
    n: np.ndarray
    counts: np.ndarray
    pairs_over_volume: np.ndarray
    representative_traj: np.ndarray
    representative_frame: np.ndarray
    representative_time: np.ndarray
    representative_target: np.ndarray
    representative_probability: np.ndarray
    representative_shell_count: np.ndarray
    representative_net_charge: np.ndarray
    targets: np.ndarray
    n_frames: int
    n_targets: int
    n_rows: int
    n_species_atoms: np.ndarray
    hard: bool
    exclude: str | None
    include_target_charge: bool

    @property
    def n_states(self) -> int:
        """int: number of states m."""
        return int(self.state.size)

    def _table(self) -> dict[str, np.ndarray]:
        """One row per state: population, mean (and std) shell count per species, net charge (e)."""
        table: dict[str, np.ndarray] = {"state": self.state, "population": self.population, "weight": self.weight}
        for k, label in enumerate(self.species):
            table[f"n {label}"] = self.shell_count_mean[:, k]
            table[f"n {label} std"] = self.shell_count_std[:, k]
        table["net_charge"] = self.net_charge_mean
        table["net_charge_std"] = self.net_charge_std
        return table

    def to_pandas(self) -> Any:
        """Per-state table (see :meth:`~trajml.results.Results.to_pandas`), one row per state.

        Columns: ``state``, ``population``, ``weight``, ``n <species>`` and ``n <species> std``
        for every shell species (dimensionless), ``net_charge`` and ``net_charge_std`` (e).
        """
        df = super().to_pandas()
        df.attrs["units"] = {c: ("e" if c.startswith("net_charge") else "") for c in df.columns}
        return df

    def representatives_to_pandas(self) -> Any:
        """The representative rows as a long :class:`pandas.DataFrame`, one row per (state, rank).

        Columns: ``state``, ``rank``, ``traj_id``, ``frame``, ``time_ps`` (ps), ``target``
        (topology index), ``probability``, ``n <species>`` per species and ``net_charge`` (e).
        Missing ranks (states with fewer rows than requested) are left out.
        """
        from trajml.errors import require_extra

        pd: Any = require_extra("pandas", "tables", "StateInterpretationResults.representatives_to_pandas")
        m, n = self.representative_frame.shape
        keep = (self.representative_frame >= 0).ravel()
        cols: dict[str, np.ndarray] = {
            "state": np.repeat(self.state, n), "rank": np.tile(np.arange(n), m),
            "traj_id": self.representative_traj.ravel(), "frame": self.representative_frame.ravel(),
            "time_ps": self.representative_time.ravel(), "target": self.representative_target.ravel(),
            "probability": self.representative_probability.ravel(),
        }
        for k, label in enumerate(self.species):
            cols[f"n {label}"] = self.representative_shell_count[:, :, k].ravel()
        cols["net_charge"] = self.representative_net_charge.ravel()
        df = pd.DataFrame({c: v[keep] for c, v in cols.items()})
        df.attrs["units"] = {"time_ps": "ps", "net_charge": "e"}
        return df


UNITS = {
    "state": "", "population": "", "weight": "", "r_shell": "Å", "shell_count_mean": "", "shell_count_std": "",
    "net_charge_mean": "e", "net_charge_std": "e", "edges": "Å", "r": "Å", "g": "", "n": "", "counts": "",
    "pairs_over_volume": "Å^-3", "representative_traj": "", "representative_frame": "",
    "representative_time": "ps", "representative_target": "", "representative_probability": "",
    "representative_shell_count": "", "representative_net_charge": "e", "n_frames": "", "n_targets": "",
    "n_rows": "", "n_species_atoms": "",
}
