"""Interpretation of kinetic states: what the first shell of a target looks like in each state.

A VAMPNet gives every (frame, target) row — e.g. every Li⁺ in every frame — soft
probabilities over ``m`` states; an MSM gives hard labels. :class:`StateInterpretation`
streams the trajectories once and reports, per state, the structure behind it, as in
the figures of GDyNet-style papers:

* the **population**: the probability-weighted share of (frame, target) rows;
* the **first-shell composition**: state-weighted mean (and standard deviation) of the
  number of atoms of each shell species (e.g. polymer O, anion) within ``r_shell``;
* the **net charge** of that shell in e;
* **per-state partial RDFs** ``g_s(r)`` target → each shell species;
* **representative frames**: the rows with the highest probability of each state.

Weighting
---------
Row ``(t, i)`` (frame t, target i) with state probabilities ``p_s(t, i)`` adds its
observations to state s with weight ``p_s``; hard labels are one-hot probabilities. For
the per-state RDF of target → species B the pair counts and the ideal-gas reference of
:class:`trajml.features.RDF` (``Σ_t N_pairs / V_t``) are both weighted::

    c_s(k) = Σ_t Σ_i p_s(t, i) · #{j ∈ B : r_k ≤ d_ij(t) < r_{k+1}}
    S_s    = Σ_t Σ_i p_s(t, i) · N_pairs(i) / V_t
    g_s(r_k) = c_s(k) / (S_s · 4π/3 (r_{k+1}³ − r_k³))

where ``N_pairs(i)`` counts the B atoms not excluded for target i. With hard labels that
are constant per target this is exactly :class:`trajml.features.RDF` of that group of
targets (and MDAnalysis ``InterRDF`` in NVT); a mix of states gives the probability-
weighted combination of the group RDFs' counts and normalisations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from trajml._validation import check_choice, check_device, check_float, check_int
from trajml.errors import EmptySelectionError
from trajml.features.base import Featurizer
from trajml.kinetics._interpret_rows import _Accumulator, _empty_top, _merge_top, _pair_distances
from trajml.kinetics.interpret_results import UNITS, StateInterpretationResults
from trajml.periodic import check_chunk, check_source_boxes
from trajml.selection import describe_selection, molecule_ids, resolve_atoms

__all__ = ["StateInterpretation", "StateInterpretationResults", "DEFAULT_SHELL"]

OWNER = "StateInterpretation"

#: Shell species of a Li⁺ target in a coarse-grained PEO/LiTFSI electrolyte.
DEFAULT_SHELL: dict[str, str] = {"polymer O": "name O", "anion": "name TFSI"}

#: Largest allowed ``|Σ_s p_s − 1|`` of a row of soft probabilities (float32 softmax outputs sum to 1 within ~1e-7).
SUM_TOLERANCE = 1e-5

_EXCLUDE = ("self", "molecule", None)


# ----------------------------------------------------------------------------------------------
# the analysis
# ----------------------------------------------------------------------------------------------

class StateInterpretation:
    """Per-state first-shell composition, net charge, partial RDFs and representative frames.

    Parameters
    ----------
    shell : mapping of str to (str or array_like of int)
        Shell species: label → selection (MDAnalysis selection string or topology indices).
        Default ``{"polymer O": "name O", "anion": "name TFSI"}``. The selections must not
        share atoms (each shell atom belongs to one species, and its charge counts once).
    r_shell : float or mapping of str to float
        First-shell cut-off in Å: one for every species, or one per label. Atoms at
        ``d < r_shell`` are in the shell. Required; typically the first minimum of the
        target–species g(r) (``trajml.features.RDF(...).first_min_r``).
    r_max : float
        Outer edge of the last RDF bin in Å, ``>= max(r_shell)`` and at most half the
        smallest perpendicular box width. Default 12.
    n_bins : int
        RDF bins in ``[r_min, r_max)``. Default 120.
    r_min : float
        Inner edge of the first RDF bin in Å. Default 0.
    n_representatives : int
        Representative rows kept per state. Default 5.
    exclude : {"self", "molecule", None}
        Pairs left out of the shells, of the RDF counts and of their normalisation, as in
        :class:`trajml.features.RDF`: a target with itself ("self", default; matters only
        when a species selection contains targets), any two atoms of one molecule
        ("molecule"), or none.
    charge : bool
        Compute the net shell charge from the topology's partial charges (default True).
        A topology without charges then raises ValueError naming this parameter; with
        False the ``net_charge_*`` fields are NaN.
    include_target_charge : bool
        Add the target's own charge to the net shell charge (default False: the shell atoms
        only, so for Li⁺ in LiTFSI it is minus the number of anions in the shell).
    n_states : int, optional
        Number of states for hard labels (default: the largest label + 1). Ignored for
        probabilities, whose last axis gives it.
    device : {"cpu", "cuda"}
        Where the neighbour-list kernel runs.

    Notes
    -----
    One pass over the frames: every chunk gets one CSR neighbour list target → all shell
    atoms within ``r_max`` (:func:`trajml.kernels.counts.radius_neighbors`); distances are
    then recomputed in float64 (minimum image) so that bins and cut-offs match
    :class:`trajml.features.RDF`, which bins float64 distances. Per-row shell counts and
    charges come from ``np.bincount``; state sums are ``P.T @ per_row`` products and
    probability-weighted ``np.bincount`` histograms, one per state. Memory is bounded by
    the chunk (and the neighbour pairs within ``r_max`` in it).

    Examples
    --------
    >>> import numpy as np
    >>> from trajml.data import sample_topology, sample_trajectory
    >>> from trajml.io import open_source
    >>> src = open_source(sample_topology(), sample_trajectory())
    >>> labels = np.zeros((10, 60), dtype=np.int64)
    >>> labels[:, 30:] = 1  # two groups of Li⁺
    >>> res = StateInterpretation(r_shell=8.0, r_max=12.0).compute(src, "name Li", labels, stop=10)
    >>> res.population.tolist()
    [0.5, 0.5]
    >>> res.g.shape  # (states, species, bins)
    (2, 2, 120)
    """

    def __init__(self, shell: Mapping[str, Any] | None = None, *, r_shell: float | Mapping[str, float],
                 r_max: float = 12.0, n_bins: int = 120, r_min: float = 0.0, n_representatives: int = 5,
                 exclude: str | None = "self", charge: bool = True, include_target_charge: bool = False,
                 n_states: int | None = None, device: str = "cpu") -> None:
        shell = dict(DEFAULT_SHELL) if shell is None else shell
        if not isinstance(shell, Mapping) or not shell:
            raise ValueError(f"The 'shell' parameter of {OWNER} must be a non-empty mapping of label to selection, "
                             f"e.g. {DEFAULT_SHELL!r}. Got {shell!r} instead.")
        for label in shell:
            if not isinstance(label, str) or not label:
                raise ValueError(f"The 'shell' parameter of {OWNER} needs non-empty string labels. Got {label!r}.")
        self.shell = dict(shell)
        self.r_max = check_float(r_max, "r_max", OWNER)
        self.r_min = check_float(r_min, "r_min", OWNER, low_closed=True, high=self.r_max)
        self.n_bins = check_int(n_bins, "n_bins", OWNER)
        self.r_shell = self._check_r_shell(r_shell)
        self.n_representatives = check_int(n_representatives, "n_representatives", OWNER, minimum=0)
        self.exclude = check_choice(exclude, "exclude", OWNER, _EXCLUDE)
        for name, value in (("charge", charge), ("include_target_charge", include_target_charge)):
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"The '{name}' parameter of {OWNER} must be a bool. Got {value!r} instead.")
        self.charge = bool(charge)
        self.include_target_charge = bool(include_target_charge)
        if self.include_target_charge and not self.charge:
            raise ValueError(f"The 'include_target_charge' parameter of {OWNER} needs charge=True.")
        self.n_states = check_int(n_states, "n_states", OWNER, allow_none=True)
        self.device = check_device(device, OWNER)

    def _check_r_shell(self, r_shell: Any) -> np.ndarray:
        labels = list(self.shell)
        if isinstance(r_shell, Mapping):
            unknown = sorted(set(r_shell) - set(labels))
            missing = [k for k in labels if k not in r_shell]
            if unknown or missing:
                raise ValueError(
                    f"The 'r_shell' parameter of {OWNER} must give one cut-off per shell label {labels}; "
                    f"missing {missing}, unknown {unknown}."
                )
            values = [r_shell[k] for k in labels]
        else:
            values = [r_shell] * len(labels)
        out = np.array([check_float(v, "r_shell", OWNER) for v in values], dtype=np.float64)
        if np.any(out > self.r_max):
            k = int(np.argmax(out > self.r_max))
            raise ValueError(
                f"The 'r_shell' parameter of {OWNER} must not exceed r_max = {self.r_max:g} Å (the neighbour "
                f"search range). Got {out[k]:g} Å for {labels[k]!r} instead; raise r_max or lower r_shell."
            )
        return out

    # -- public entry point ----------------------------------------------------------------------
    def compute(self, source: Any, targets: Any, states: Any, *, start: int = 0, stop: int | None = None,
                step: int = 1, chunk_size: int = 100, scheduler: Any = "serial", n_workers: int | None = None,
                progress: bool | None = False) -> StateInterpretationResults:
        """Stream the frames ``start:stop:step`` of every trajectory and interpret the states.

        Parameters
        ----------
        source : trajml.io.Source
            Trajectories with periodic boxes (Å) and, for the net charge, topology charges (e).
        targets : str or array_like of int
            The atoms the states describe (e.g. ``"name Li"``): selection string or topology
            indices; the order of the second axis of ``states`` (sorted indices for a string).
        states : ndarray or sequence of ndarray
            Per trajectory of ``source``, aligned with the frames read: probabilities of shape
            ``(T, n_targets, m)`` (non-negative, rows summing to 1 within :data:`SUM_TOLERANCE`,
            used as given; e.g. from a VAMPNet) or
            integer hard labels of shape ``(T, n_targets)`` (e.g. MSM discrete trajectories).
            ``T`` is the number of frames of ``start:stop:step`` in that trajectory. A bare
            array is accepted for a single-trajectory source.
        start, stop, step : int
            Frame slice applied to every trajectory (``stop=None``: to the end).
        chunk_size : int
            Frames read at a time (bounds memory).
        scheduler, n_workers, progress
            As :func:`trajml.parallel.run`, which streams the frames (one engine for every analysis).

        Returns
        -------
        StateInterpretationResults

        Raises
        ------
        ValueError
            Bad ``states`` (frame count, number of targets, kind, non-finite, negative or
            non-normalised probabilities, labels out of range), a cut-off beyond half the
            box, overlapping shell selections, or ``charge=True`` without topology charges.
        EmptySelectionError
            A target or shell selection that matches no atom (the message names the parameter).
        MissingBoxError
            Frames without a periodic box.
        """
        from trajml.parallel import run

        check_int(chunk_size, "chunk_size", f"{OWNER}.compute")
        frames_per_traj = self._frames_per_trajectory(source, start, stop, step)
        setup = self._bind(source, targets)
        probs, hard, m = self._check_states(states, frames_per_traj, setup["n_targets"])
        states_pass = _StatesPass(self, setup, probs, hard, m, start, step)
        extra = {
            "targets": describe_selection(targets),
            "shell": {k: describe_selection(v) for k, v in self.shell.items()},
            "r_shell": dict(zip(self.shell, self.r_shell.tolist())), "r_max": self.r_max, "r_min": self.r_min,
            "n_bins": self.n_bins, "exclude": self.exclude, "charge": self.charge,
            "include_target_charge": self.include_target_charge, "n_trajectories": source.n_trajectories,
            "frames_per_trajectory": frames_per_traj,
        }
        res = run(states_pass, source, start=start, stop=stop, step=step, chunk_size=chunk_size,
                  scheduler=scheduler, n_workers=n_workers, progress=progress)
        res.provenance.update({"analysis": OWNER, **extra, "seconds": res.provenance.get("wall_s")})
        return res

    # -- validation ------------------------------------------------------------------------------
    @staticmethod
    def _frames_per_trajectory(source: Any, start: int, stop: int | None, step: int) -> list[int]:
        source.partition(1, start, stop, step, [])  # validates start/stop/step with the usual messages
        return source.frames_in_range(start, stop, step)

    def _bind(self, source: Any, targets: Any) -> dict[str, Any]:
        tgt = _resolve(source, targets, "targets")
        groups = [_resolve(source, sel, f"shell[{label!r}]") for label, sel in self.shell.items()]
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                common = np.intersect1d(groups[a], groups[b])
                if common.size:
                    labels = list(self.shell)
                    raise ValueError(
                        f"The 'shell' parameter of {OWNER}: species {labels[a]!r} and {labels[b]!r} share "
                        f"{common.size} atoms (e.g. index {int(common[0])}); give disjoint selections."
                    )
        b_ids = np.concatenate(groups)
        codes = np.repeat(np.arange(len(groups), dtype=np.int64), [len(g) for g in groups])
        atoms, inverse = np.unique(np.concatenate([tgt, b_ids]), return_inverse=True)
        pos_t, pos_b = inverse[:len(tgt)], inverse[len(tgt):]
        charges = None
        if self.charge:
            charges = source.atoms.charges
            if charges is None:
                raise ValueError(
                    f"The 'charge' parameter of {OWNER} is True, but the topology "
                    f"'{source.members[0].topology}' has no partial charges; use a topology with charges "
                    "(PSF, TPR, LAMMPS data) or pass charge=False (net charge is then NaN)."
                )
            charges = np.asarray(charges, dtype=np.float64)
        mol_t = mol_b = None
        n_k = np.array([len(g) for g in groups], dtype=np.int64)
        # N_pairs(i, k): species-k atoms that target i may pair with (the RDF normalisation).
        n_pairs = np.broadcast_to(n_k, (len(tgt), len(groups))).astype(np.float64)
        if self.exclude == "molecule":
            mol = molecule_ids(source)
            mol_t, mol_b = mol[tgt], mol[b_ids]
            width = int(max(mol_t.max(), mol_b.max())) + 1
            per_mol = np.zeros((width, len(groups)))
            np.add.at(per_mol, (mol_b, codes), 1.0)
            n_pairs = n_pairs - per_mol[mol_t]
        elif self.exclude == "self":
            same = np.zeros((len(tgt), len(groups)))
            _, hit_t, hit_b = np.intersect1d(tgt, b_ids, return_indices=True)  # both hold unique indices
            np.add.at(same, (hit_t, codes[hit_b]), 1.0)
            n_pairs = n_pairs - same
        check_source_boxes(source, self.r_max, "r_max", OWNER)
        return {
            "targets": tgt, "n_targets": len(tgt), "atoms": atoms.astype(np.int64), "pos_t": pos_t,
            "pos_b": pos_b, "b_ids": b_ids, "codes": codes, "n_k": n_k, "n_pairs": n_pairs,
            "mol_t": mol_t, "mol_b": mol_b,
            "charge_b": None if charges is None else charges[b_ids],
            "charge_t": None if charges is None else charges[tgt],
        }

    def _check_states(self, states: Any, frames_per_traj: list[int],
                      n_targets: int) -> tuple[list[np.ndarray], bool, int]:
        n_traj = len(frames_per_traj)
        if isinstance(states, np.ndarray):
            if n_traj != 1:
                raise ValueError(
                    f"The 'states' parameter of {OWNER}.compute must be a list of {n_traj} arrays, one per "
                    f"trajectory of the source; got a single array."
                )
            arrays = [states]
        elif isinstance(states, Sequence) and not isinstance(states, (str, bytes)):
            arrays = list(states)
            if len(arrays) != n_traj:
                raise ValueError(
                    f"The 'states' parameter of {OWNER}.compute must hold one array per trajectory of the "
                    f"source ({n_traj}); got {len(arrays)}."
                )
        else:
            raise TypeError(f"The 'states' parameter of {OWNER}.compute must be an ndarray or a list of them, one "
                            f"per trajectory. Got {type(states).__name__} instead.")
        arrays = [np.asarray(a) for a in arrays]
        kinds = {a.ndim for a in arrays}
        if not kinds <= {2, 3} or len(kinds) != 1:
            raise ValueError(
                f"The 'states' parameter of {OWNER}.compute must hold hard labels of shape (T, n_targets) or "
                f"probabilities of shape (T, n_targets, m), all of one kind; got shapes {[a.shape for a in arrays]}."
            )
        hard = kinds == {2}
        for t, (a, want) in enumerate(zip(arrays, frames_per_traj)):
            where = f"states[{t}]" if n_traj > 1 or not isinstance(states, np.ndarray) else "states"
            if a.shape[0] != want:
                raise ValueError(
                    f"The 'states' parameter of {OWNER}.compute: {where} has {a.shape[0]} frames, but "
                    f"{want} frames are read from trajectory {t} with start/stop/step; align the states with "
                    "the frames read."
                )
            if a.shape[1] != n_targets:
                raise ValueError(
                    f"The 'states' parameter of {OWNER}.compute: {where} has {a.shape[1]} targets on axis 1, "
                    f"but the 'targets' selection has {n_targets} atoms."
                )
        if hard:
            for t, a in enumerate(arrays):
                if not np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_:
                    raise ValueError(
                        f"The 'states' parameter of {OWNER}.compute: 2-D states are hard labels and must be "
                        f"integers; states[{t}] has dtype {a.dtype} (give probabilities as (T, n_targets, m))."
                    )
            low = min((int(a.min()) for a in arrays if a.size), default=0)
            high = max((int(a.max()) for a in arrays if a.size), default=-1)
            if low < 0:
                raise ValueError(f"The 'states' parameter of {OWNER}.compute holds label {low}; labels must be >= 0.")
            m = high + 1 if self.n_states is None else self.n_states
            if high >= m:
                raise ValueError(
                    f"The 'states' parameter of {OWNER}.compute holds label {high}, but n_states = {m}."
                )
            return [a.astype(np.int64, copy=False) for a in arrays], True, max(m, 1)
        ms = {a.shape[2] for a in arrays}
        if len(ms) != 1 or 0 in ms:
            raise ValueError(f"The 'states' parameter of {OWNER}.compute: every array needs the same number of "
                             f"states m >= 1 on axis 2; got {sorted(ms)}.")
        out = []
        for t, a in enumerate(arrays):
            if not np.issubdtype(a.dtype, np.floating):
                raise ValueError(f"The 'states' parameter of {OWNER}.compute: probabilities must be floats; "
                                 f"states[{t}] has dtype {a.dtype}.")
            p = a.astype(np.float64, copy=False)
            if not np.isfinite(p).all():
                raise ValueError(f"The 'states' parameter of {OWNER}.compute: states[{t}] holds NaN or infinite "
                                 "probabilities.")
            if (p < 0).any():
                raise ValueError(f"The 'states' parameter of {OWNER}.compute: states[{t}] holds negative "
                                 f"probabilities (min {p.min():.3g}).")
            dev = np.abs(p.sum(axis=2) - 1.0)
            if dev.size and dev.max() > SUM_TOLERANCE:
                f, i = np.unravel_index(int(np.argmax(dev)), dev.shape)
                raise ValueError(
                    f"The 'states' parameter of {OWNER}.compute: probabilities must sum to 1 over states; "
                    f"states[{t}] row (frame {f}, target {i}) sums to {p[f, i].sum():.6g}."
                )
            out.append(p)
        return out, False, ms.pop()

    # -- streaming -------------------------------------------------------------------------------
    def _init(self, m: int, k: int) -> _Accumulator:
        return _Accumulator(
            weight=np.zeros(m), count_sum=np.zeros((m, k)), count_sq=np.zeros((m, k)), charge_sum=np.zeros(m),
            charge_sq=np.zeros(m), counts=np.zeros((m, k, self.n_bins)), pairs_over_volume=np.zeros((m, k)),
            top=[_empty_top(k) for _ in range(m)],
        )

    def _update(self, acc: _Accumulator, setup: dict[str, Any], chunk: Any, states: np.ndarray,
                rows: np.ndarray, hard: bool, m: int) -> None:
        from trajml.kernels.counts import radius_neighbors

        check_chunk(OWNER, chunk, True, r_max=self.r_max)
        n_t, n_k = setup["n_targets"], len(self.shell)
        n_f = chunk.n_frames
        n_rows = n_f * n_t
        pos_t = np.ascontiguousarray(chunk.positions[:, setup["pos_t"]])
        pos_b = np.ascontiguousarray(chunk.positions[:, setup["pos_b"]])
        ids_t = setup["targets"]
        ids_b = setup["b_ids"] if self.exclude is not None else -1 - setup["b_ids"]
        offsets, nbrs, _ = radius_neighbors(pos_t, pos_b, chunk.boxes, self.r_max, ids_t, ids_b,
                                              device=self.device)
        row = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(offsets))
        if self.exclude == "molecule":
            keep = setup["mol_t"][row % n_t] != setup["mol_b"][nbrs]
            row, nbrs = row[keep], nbrs[keep]
        dist = _pair_distances(pos_t, pos_b, chunk.boxes, row // n_t, row % n_t, nbrs)
        code = setup["codes"][nbrs]

        # Probabilities of the chunk's rows, (n_rows, m): one-hot for hard labels.
        block = states[rows]
        if hard:
            labels = block.reshape(-1)
            p = np.zeros((n_rows, m))
            p[np.arange(n_rows), labels] = 1.0
        else:
            p = block.reshape(n_rows, m)

        # Per-row shell counts and charges.
        inside = dist < self.r_shell[code]
        shell = np.bincount(row[inside] * n_k + code[inside], minlength=n_rows * n_k).reshape(n_rows, n_k)
        shell = shell.astype(np.float64)
        if setup["charge_b"] is not None:
            q = np.bincount(row[inside], weights=setup["charge_b"][nbrs[inside]], minlength=n_rows)
            if self.include_target_charge:
                q = q + np.tile(setup["charge_t"], n_f)
        else:
            q = np.full(n_rows, np.nan)
        acc.weight += p.sum(axis=0)
        acc.count_sum += p.T @ shell
        acc.count_sq += p.T @ shell**2
        acc.charge_sum += p.T @ q
        acc.charge_sq += p.T @ q**2

        # Weighted pair histograms: one bincount over (state, species, bin) for labels, one per state otherwise.
        width = (self.r_max - self.r_min) / self.n_bins
        ok = dist >= self.r_min
        b = np.minimum(((dist[ok] - self.r_min) / width).astype(np.int64), self.n_bins - 1)
        hist_idx = code[ok] * self.n_bins + b
        size = n_k * self.n_bins
        if hard:
            lab = labels[row[ok]]
            acc.counts += np.bincount(lab * size + hist_idx, minlength=m * size).reshape(acc.counts.shape)
        else:
            pr = p[row[ok]]
            for s in range(m):  # m is small; each pass is vectorised over the pairs
                acc.counts[s] += np.bincount(hist_idx, weights=pr[:, s], minlength=size).reshape(n_k, self.n_bins)
        inv_v = 1.0 / chunk.volumes
        acc.pairs_over_volume += np.einsum("t,tis,ik->sk", inv_v, p.reshape(n_f, n_t, m), setup["n_pairs"])
        acc.n_frames += n_f

        if self.n_representatives:
            meta = {
                "traj": np.full(n_rows, chunk.traj_id, dtype=np.int64),
                "frame": np.repeat(chunk.frames.astype(np.int64), n_t),
                "target": np.tile(np.arange(n_t, dtype=np.int64), n_f),
                "time": np.repeat(chunk.times.astype(np.float64), n_t),
            }
            for s in range(m):
                acc.top[s] = _merge_top(acc.top[s], p[:, s], meta, shell, q, self.n_representatives)

    # -- results ---------------------------------------------------------------------------------
    def _finalize(self, acc: _Accumulator, setup: dict[str, Any], hard: bool,
                  provenance: dict[str, Any]) -> StateInterpretationResults:
        m, n_k = acc.count_sum.shape
        edges = np.linspace(self.r_min, self.r_max, self.n_bins + 1)
        r = 0.5 * (edges[1:] + edges[:-1])
        shell_volume = 4.0 / 3.0 * np.pi * np.diff(edges**3)
        n_rows = acc.n_frames * setup["n_targets"]
        with np.errstate(invalid="ignore", divide="ignore"):
            w = acc.weight
            mean = acc.count_sum / w[:, None]
            std = np.sqrt(np.maximum(acc.count_sq / w[:, None] - mean**2, 0.0))
            q_mean = acc.charge_sum / w
            q_std = np.sqrt(np.maximum(acc.charge_sq / w - q_mean**2, 0.0))
            g = acc.counts / (acc.pairs_over_volume[:, :, None] * shell_volume)
            n = np.cumsum(acc.counts, axis=2) / w[:, None, None]
            population = w / n_rows if n_rows else np.full(m, np.nan)
        empty = w <= 0
        mean[empty], std[empty], q_mean[empty], q_std[empty] = np.nan, np.nan, np.nan, np.nan
        g[empty], n[empty] = np.nan, np.nan
        k_rep = self.n_representatives
        rep = {key: np.full((m, k_rep), -1, dtype=np.int64) for key in ("traj", "frame", "target")}
        rep_t = np.full((m, k_rep), np.nan)
        rep_p = np.full((m, k_rep), np.nan)
        rep_n = np.full((m, k_rep, n_k), np.nan)
        rep_q = np.full((m, k_rep), np.nan)
        for s, top in enumerate(acc.top):
            j = len(top["p"])
            rep["traj"][s, :j], rep["frame"][s, :j] = top["traj"], top["frame"]
            rep["target"][s, :j] = setup["targets"][top["target"]]
            rep_t[s, :j], rep_p[s, :j], rep_n[s, :j], rep_q[s, :j] = top["time"], top["p"], top["shell"], top["q"]
        return StateInterpretationResults(
            state=np.arange(m, dtype=np.int64), species=np.array(list(self.shell), dtype=str),
            population=population, weight=w.copy(), r_shell=self.r_shell.copy(),
            shell_count_mean=mean, shell_count_std=std, net_charge_mean=q_mean, net_charge_std=q_std,
            edges=edges, r=r, g=g, n=n, counts=acc.counts.copy(), pairs_over_volume=acc.pairs_over_volume.copy(),
            representative_traj=rep["traj"], representative_frame=rep["frame"], representative_time=rep_t,
            representative_target=rep["target"], representative_probability=rep_p,
            representative_shell_count=rep_n, representative_net_charge=rep_q,
            targets=setup["targets"].copy(), n_frames=acc.n_frames, n_targets=setup["n_targets"], n_rows=n_rows,
            n_species_atoms=setup["n_k"].copy(), hard=hard, exclude=self.exclude,
            include_target_charge=self.include_target_charge, units=dict(UNITS), provenance=provenance,
        )


class _StatesPass(Featurizer):
    """The frames of one interpretation, as a featurizer the engine runs (states travel with it)."""

    needs_box = True
    replica_results = False

    def __init__(self, interp: StateInterpretation, setup: dict[str, Any], probs: list[np.ndarray], hard: bool,
                 m: int, start: int, step: int) -> None:
        self.interp, self.setup, self.probs, self.hard, self.m = interp, setup, probs, hard, m
        self.start, self.step = start, step
        self.atoms = setup["atoms"]

    def init_state(self) -> _Accumulator:
        return self.interp._init(self.m, len(self.interp.shell))

    def update(self, state: _Accumulator, chunk: Any) -> _Accumulator:
        if chunk.n_frames:
            rows = (chunk.frames - self.start) // self.step
            self.interp._update(state, self.setup, chunk, self.probs[chunk.traj_id], rows, self.hard, self.m)
        return state

    def merge(self, a: _Accumulator, b: _Accumulator) -> _Accumulator:
        return _merge_accumulators(a, b, self.interp.n_representatives)

    def finalize(self, state: _Accumulator, provenance: dict[str, Any]) -> StateInterpretationResults:
        return self.interp._finalize(state, self.setup, self.hard, provenance)


def _merge_accumulators(a: _Accumulator, b: _Accumulator, n: int) -> _Accumulator:
    """Exact sums of two accumulators; the representatives are the top ``n`` rows of both, ties by order."""
    top = []
    for ta, tb in zip(a.top, b.top):
        both = {k: np.concatenate([ta[k], tb[k]]) for k in ta}
        order = np.lexsort((both["target"], both["frame"], both["traj"], -both["p"]))[:n]
        top.append({k: v[order] for k, v in both.items()})
    return _Accumulator(weight=a.weight + b.weight, count_sum=a.count_sum + b.count_sum,
                        count_sq=a.count_sq + b.count_sq, charge_sum=a.charge_sum + b.charge_sum,
                        charge_sq=a.charge_sq + b.charge_sq, counts=a.counts + b.counts,
                        pairs_over_volume=a.pairs_over_volume + b.pairs_over_volume,
                        n_frames=a.n_frames + b.n_frames, top=top)


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------

def _resolve(source: Any, selection: Any, name: str) -> np.ndarray:
    """Topology indices of a selection; an empty string selection names the parameter."""
    try:
        return resolve_atoms(source, selection, name, OWNER)
    except EmptySelectionError as exc:
        raise EmptySelectionError(f"The '{name}' parameter of {OWNER}: {exc}") from None
