"""Radial distribution functions g(r), exact under constant pressure.

Normalisation
-------------
For selections A and B the state holds the pair counts ``c_k`` of every bin,
the number of frames, and ``S = Σ_t N_pairs / V_t`` over frames, where
``N_pairs`` is the number of ordered (A, B) pairs that are not excluded and
``V_t`` the box volume of frame t. Once, in ``finalize``::

    g(r_k) = c_k / (S · 4π/3 (r_{k+1}³ − r_k³))

This is the exact ideal-gas reference frame by frame, so it stays right when
the volume fluctuates (NPT). Peers differ there: in NVT all agree, but
MDAnalysis ``InterRDF`` divides by ``n_frames · N_pairs / ⟨V⟩``, freud's
accumulated ``RDF.compute(..., reset=False)`` uses the last frame's box, and
mdtraj ``compute_rdf`` uses ``N_pairs · Σ_t 1/V_t`` (the same as trajml).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from trajml._validation import DEVICES, MAX_BINS, Param, invalid
from trajml.accumulators import ExactSum
from trajml.chunk import Chunk
from trajml.errors import MissingBoxError
from trajml.features.base import Featurizer
from trajml.periodic import check_chunk, check_source_boxes
from trajml.results import Results
from trajml.selection import describe_selection, molecule_ids, resolve_atoms, union_positions

__all__ = ["RDF", "RDFState", "RDFResults", "find_first_shell", "smoothing_bins", "run_on_sampled_frames"]

EXCLUDE = ("self", "molecule", None)


@dataclass
class RDFState:
    """Additive statistics of an RDF.

    Attributes
    ----------
    counts : ndarray, shape (n_bins,), int64
        Ordered (A, B) pairs per distance bin, summed over frames.
    n_frames : int
        Frames accumulated.
    pairs_over_volume : ExactSum
        Σ_t N_pairs / V_t in Å⁻³, summed exactly.
    volume : ExactSum
        Σ_t V_t in Å³ (for the mean density reported).
    """

    counts: np.ndarray
    n_frames: int = 0
    pairs_over_volume: ExactSum = field(default_factory=ExactSum)
    volume: ExactSum = field(default_factory=ExactSum)


@dataclass(frozen=True, eq=False, kw_only=True)
class RDFResults(Results):
    """What :class:`RDF` computes.

    Attributes
    ----------
    edges : ndarray, shape (n_bins + 1,), float64
        Bin edges in Å.
    r : ndarray, shape (n_bins,), float64
        Bin centres in Å.
    g : ndarray, shape (n_bins,), float64
        Radial distribution function (dimensionless).
    n : ndarray, shape (n_bins,), float64
        Running coordination number: mean number of B atoms at a distance in
        ``[r_min, edges[k + 1])`` of an A atom (evaluated at each bin's outer
        edge; dimensionless). Equals the cumulative ``ρ_B ∫ 4πr² g(r) dr``.
    counts : ndarray, shape (n_bins,), int64
        Raw ordered pair counts per bin, summed over frames.
    first_peak_r : float
        Position of the first peak in Å (NaN if none; see :func:`find_first_shell`).
    first_peak_g : float
        Height of g at the first peak (dimensionless; unsmoothed).
    first_min_r : float
        Position of the first minimum after the first peak in Å (NaN if none).
    first_min_g : float
        Smoothed g at the first minimum (dimensionless).
    coordination_number : float
        ``n`` interpolated at ``first_min_r``: mean first-shell size (dimensionless; NaN if no minimum).
    n_frames : int
        Frames analysed.
    n_a, n_b : int
        Atoms in selections A and B.
    n_pairs : int
        Ordered (A, B) pairs per frame that are not excluded.
    density_b : float
        Mean number density of B, ``n_b · Σ 1/V_t / n_frames``, in Å⁻³.
    mean_volume : float
        Mean box volume in Å³.
    exclude : str or None
        The exclusion used: "self", "molecule" or None.
    smoothing : float
        Width in Å of the moving average used to locate the peak and minimum.
    """

    _TABLE: ClassVar[tuple[str, ...]] = ("r", "g", "n", "counts")
    _DIMS: ClassVar[dict[str, tuple[str, ...]]] = {"r": ("r",), "g": ("r",), "n": ("r",), "counts": ("r",),
                                                   "edges": ("edge",)}

    edges: np.ndarray
    r: np.ndarray
    g: np.ndarray
    n: np.ndarray
    counts: np.ndarray
    first_peak_r: float = float("nan")
    first_peak_g: float = float("nan")
    first_min_r: float = float("nan")
    first_min_g: float = float("nan")
    coordination_number: float = float("nan")
    n_frames: int = 0
    n_a: int = 0
    n_b: int = 0
    n_pairs: int = 0
    density_b: float = float("nan")
    mean_volume: float = float("nan")
    exclude: str | None = "self"
    smoothing: float = 0.5


UNITS = {"edges": "Å", "r": "Å", "g": "", "n": "", "counts": "", "first_peak_r": "Å", "first_peak_g": "",
         "first_min_r": "Å", "first_min_g": "", "coordination_number": "", "n_frames": "", "n_a": "",
         "n_b": "", "n_pairs": "", "density_b": "Å^-3", "mean_volume": "Å^3", "smoothing": "Å"}


class RDF(Featurizer[RDFState]):
    """Radial distribution function g(r) between selections A and B, streamed.

    Parameters
    ----------
    select_a : str or array_like of int
        Selection A, the centres: an MDAnalysis selection string (resolved once, in
        :meth:`bind`) or topology indices. Formerly ``sel_a``.
    select_b : str or array_like of int, optional
        Selection B, the neighbours (default: the same as A). Formerly ``sel_b``.
    r_max : float
        Outer edge of the last bin in Å; at most half the smallest perpendicular
        box width (minimum image). Default 15.
    n_bins : int
        Number of uniform bins in ``[r_min, r_max)``. Default 150.
    r_min : float
        Inner edge of the first bin in Å. Default 0.
    exclude : {"self", "molecule", None}
        Pairs left out of counts and of the normalisation: an atom with itself
        ("self", the default), any two atoms of the same molecule ("molecule";
        bonded fragment, or residue without bonds), or none (None: an atom in
        both selections then adds a pair at distance 0).
    smoothing : float
        Width in Å of the moving average used to find the first peak and
        minimum (rounded to an odd number of bins; 0: none). Default 0.5 Å.
    device : {"cpu", "cuda"}
        Where the pair-search kernel runs.

    Notes
    -----
    ``g`` is normalised exactly per frame (see the module docstring): in NVT it
    equals MDAnalysis ``InterRDF`` (``⟨V⟩`` normalisation) to rounding; in NPT
    trajml and mdtraj use Σ_t 1/V_t, MDAnalysis ``⟨V⟩`` and freud the last box.

    Examples
    --------
    >>> from trajml.data import sample_topology, sample_trajectory
    >>> from trajml.io import open_source
    >>> from trajml.parallel import run
    >>> src = open_source(sample_topology(), sample_trajectory())
    >>> res = run(RDF("name Li", "name O", r_max=12.0, n_bins=120), src, progress=False)
    >>> res.g.shape, float(res.r[0])
    ((120,), 0.05)
    """

    #: Quick arguments on the bundled sample, for the contract tests (tests/contracts).
    _example: ClassVar[dict] = {"select_a": "name Li", "select_b": "name O", "r_max": 8.0, "n_bins": 20}
    needs_box = True

    _parameters = {
        "select_a": Param("selection", help="selection A, the centres (MDAnalysis syntax, e.g. 'name Li')",
                          aliases=("sel_a", "--sel-a"), metavar="SEL"),
        "select_b": Param("selection", help="selection B, the neighbours", nullable=True, none_help="same as A",
                          aliases=("sel_b", "--sel-b"), metavar="SEL"),
        "r_max": Param("float", help="outer edge of the last bin, at most half the shortest box width", unit="Å",
                       positive=True),
        # capped: 1e12 bins asked for 7 TiB and died with a MemoryError instead of a message
        "n_bins": Param("int", help="number of uniform bins in [r_min, r_max)", minimum=1, high=MAX_BINS,
                        high_closed=True, aliases=("--bins",)),
        "r_min": Param("float", help="inner edge of the first bin", unit="Å", minimum=0.0),
        "exclude": Param("str", help="pairs left out: an atom with itself, the same molecule, or none",
                         choices=EXCLUDE),
        "smoothing": Param("float", help="moving-average width that locates the first peak and minimum", unit="Å",
                           minimum=0.0),
        "device": Param("str", help="where the pair-search kernel runs", choices=DEVICES),
    }

    def __init__(self, select_a: Any, select_b: Any = None, *, r_max: float = 15.0, n_bins: int = 150,
                 r_min: float = 0.0, exclude: str | None = "self", smoothing: float = 0.5,
                 device: str = "cpu") -> None:
        self._set_params(locals())
        self._bound = False

    @classmethod
    def _check_relations(cls, values: dict[str, Any]) -> None:
        if "r_min" in values and "r_max" in values and values["r_min"] >= values["r_max"]:
            raise invalid("r_min", "RDF", f"a float in [0, {values['r_max']:g}) Å", values["r_min"])

    # -- binding -----------------------------------------------------------------------------------
    def bind(self, source: Any) -> "RDF":
        """Resolve the selections and molecule ids against ``source``; return a bound copy."""
        b = copy.copy(self)
        b._a = resolve_atoms(source, self.select_a, "select_a", "RDF")
        b._b = b._a if self.select_b is None else resolve_atoms(source, self.select_b, "select_b", "RDF")
        b.atoms, (b._pos_a, b._pos_b) = union_positions(b._a, b._b)
        b._mol_a = b._mol_b = None
        n_a, n_b = len(b._a), len(b._b)
        if self.exclude == "molecule":
            mol = molecule_ids(source)
            b._mol_a, b._mol_b = mol[b._a], mol[b._b]
            width = int(max(b._mol_a.max(), b._mol_b.max())) + 1
            same = np.bincount(b._mol_a, minlength=width) @ np.bincount(b._mol_b, minlength=width)
            b._n_pairs = n_a * n_b - int(same)
        elif self.exclude == "self":
            b._n_pairs = n_a * n_b - int(np.intersect1d(b._a, b._b).size)
        else:
            b._n_pairs = n_a * n_b
        # The kernel always skips equal ids: with no exclusion give B ids no A id can equal.
        b._ids_a = b._a
        b._ids_b = b._b if self.exclude is not None else -1 - b._b
        if b._n_pairs == 0:
            raise ValueError(
                f"RDF of select_a={describe_selection(self.select_a)!r} and "
                f"select_b={describe_selection(self.select_b)!r} "
                f"has no pair left after exclude={self.exclude!r}."
            )
        check_source_boxes(source, self.r_max, "r_max", "RDF")
        b._bound = True
        return b

    def _require_bound(self) -> None:
        if not getattr(self, "_bound", False):
            raise RuntimeError("RDF.update needs a bound featurizer: call rdf.bind(source) first "
                               "(trajml.parallel.run does this for you).")

    # -- state ---------------------------------------------------------------------------------------
    def init_state(self) -> RDFState:
        return RDFState(counts=np.zeros(self.n_bins, dtype=np.int64))

    def update(self, state: RDFState, chunk: Chunk) -> RDFState:
        from trajml.kernels.histograms import pair_histogram

        if chunk.n_frames == 0:
            return state
        check_chunk("RDF", chunk, getattr(self, "_bound", False), r_max=self.r_max)
        pos_a = np.ascontiguousarray(chunk.positions[:, self._pos_a])
        pos_b = np.ascontiguousarray(chunk.positions[:, self._pos_b])
        pair_histogram(pos_a, pos_b, chunk.boxes, self.r_min, self.r_max, self._ids_a, self._ids_b,
                       self._mol_a, self._mol_b, state.counts, device=self.device)
        vol = chunk.volumes
        state.n_frames += chunk.n_frames
        state.pairs_over_volume.add_many(self._n_pairs / vol)
        state.volume.add_many(vol)
        return state

    def merge(self, a: RDFState, b: RDFState) -> RDFState:
        return RDFState(counts=a.counts + b.counts, n_frames=a.n_frames + b.n_frames,
                        pairs_over_volume=a.pairs_over_volume.merge(b.pairs_over_volume),
                        volume=a.volume.merge(b.volume))

    def finalize(self, state: RDFState, provenance: dict[str, Any]) -> RDFResults:
        self._require_bound()
        edges = np.linspace(self.r_min, self.r_max, self.n_bins + 1)
        r = 0.5 * (edges[1:] + edges[:-1])
        shell = 4.0 / 3.0 * np.pi * np.diff(edges**3)
        s = state.pairs_over_volume.value
        norm = s * shell
        with np.errstate(invalid="ignore", divide="ignore"):
            g = state.counts / norm if state.n_frames else np.full(self.n_bins, np.nan)
            n = np.cumsum(state.counts) / (state.n_frames * len(self._a)) if state.n_frames else g.copy()
        width = smoothing_bins(self.smoothing, (self.r_max - self.r_min) / self.n_bins)
        peak, minimum = find_first_shell(g, state.counts, norm, width) if state.n_frames else (None, None)
        smooth = _moving_average(g, width) if state.n_frames else g
        cn = float(np.interp(r[minimum], edges[1:], n)) if minimum is not None else float("nan")
        n_b = len(self._b)
        return RDFResults(
            edges=edges, r=r, g=g, n=n, counts=state.counts.copy(),
            first_peak_r=float(r[peak]) if peak is not None else float("nan"),
            first_peak_g=float(g[peak]) if peak is not None else float("nan"),
            first_min_r=float(r[minimum]) if minimum is not None else float("nan"),
            first_min_g=float(smooth[minimum]) if minimum is not None else float("nan"),
            coordination_number=cn,
            n_frames=state.n_frames, n_a=len(self._a), n_b=n_b, n_pairs=self._n_pairs,
            density_b=n_b * s / self._n_pairs / state.n_frames if state.n_frames else float("nan"),
            mean_volume=state.volume.value / state.n_frames if state.n_frames else float("nan"),
            exclude=self.exclude, smoothing=self.smoothing,
            units=dict(UNITS), provenance=provenance,
        )


# -- first shell -------------------------------------------------------------------------------------
def smoothing_bins(width: float, bin_width: float) -> int:
    """The odd number of bins closest to a smoothing width in Å (at least 1)."""
    n = int(round(width / bin_width))
    return max(n + 1 if n % 2 == 0 else n, 1)


def _moving_average(values: np.ndarray, width: int) -> np.ndarray:
    if width <= 1:
        return np.asarray(values, dtype=np.float64).copy()
    h = width // 2
    padded = np.pad(np.asarray(values, dtype=np.float64), h, mode="edge")
    return np.convolve(padded, np.ones(width) / width, mode="valid")


def find_first_shell(g: np.ndarray, counts: np.ndarray, norm: np.ndarray,
                     smoothing: int = 5) -> tuple[int | None, int | None]:
    """Bins of the first peak and the first minimum after it, robust to counting noise.

    g is smoothed with a centred moving average of ``smoothing`` bins, and each
    bin gets the Poisson standard error of the smoothed value
    (``√max(c_k, 1) / norm_k``, propagated through the average). Scanning out
    from small r, a running maximum becomes the **first peak** once the smoothed
    g falls below it by more than three combined standard errors; then a
    running minimum becomes the **first minimum** once g rises above it by more
    than three combined standard errors. Noise wiggles on a falling flank are
    therefore not mistaken for a minimum. The peak bin is then moved to the
    largest unsmoothed g within half a smoothing window (smoothing flattens
    peaks); the minimum stays on the smoothed curve (raw minima are biased low by noise).

    Parameters
    ----------
    g : ndarray, shape (n_bins,), float64
        Radial distribution function.
    counts : ndarray, shape (n_bins,), int64
        Pair counts behind ``g``.
    norm : ndarray, shape (n_bins,), float64
        ``g = counts / norm``.
    smoothing : int
        Odd moving-average width in bins.

    Returns
    -------
    peak, minimum : int or None
        Bin indices, None where not found.
    """
    gs = _moving_average(g, smoothing)
    var = np.maximum(counts, 1) / norm**2
    sig = np.sqrt(_moving_average(var, smoothing) / smoothing)
    start = np.flatnonzero(counts > 0)
    if start.size == 0:
        return None, None
    best, peak = int(start[0]), None
    for k in range(best + 1, len(g)):
        if gs[k] > gs[best]:
            best = k
        elif gs[best] - gs[k] > 3.0 * np.hypot(sig[best], sig[k]):
            peak = best
            break
    if peak is None:
        return None, None
    low, minimum = peak, None
    for k in range(peak + 1, len(g)):
        if gs[k] < gs[low]:
            low = k
        elif gs[k] - gs[low] > 3.0 * np.hypot(sig[low], sig[k]):
            minimum = low
            break
    h = smoothing // 2
    lo, hi = max(peak - h, 0), min(peak + h + 1, len(g))
    peak = lo + int(np.argmax(g[lo:hi]))
    return peak, minimum


# -- first pass used to choose cut-offs ----------------------------------------------------------------
def run_on_sampled_frames(featurizer: Featurizer, source: Any, max_frames: int) -> Any:
    """Run a featurizer serially over at most ~``max_frames`` frames spread evenly over every trajectory.

    Used on the driver (in ``bind``) to choose cut-offs from a first-pass RDF.

    Parameters
    ----------
    featurizer : Featurizer
        An unbound featurizer; it is bound to ``source`` here.
    source : trajml.io.Source
        Trajectories to sample.
    max_frames : int
        Frame budget over all trajectories, shared in proportion to their length.

    Returns
    -------
    Results
        The featurizer's results; ``provenance`` records the frames read per trajectory.
    """
    bound = featurizer.bind(source)
    state = bound.init_state()
    total = max(source.n_frames, 1)
    steps = {}
    for t in range(source.n_trajectories):
        n = source.n_frames_of(t)
        if n == 0:
            continue
        want = max(1, round(max_frames * n / total))
        steps[t] = max(1, -(-n // want))
        for spec in source.partition(100, 0, None, steps[t], [t]):
            chunk = source.read(spec, bound.atoms)
            if bound.needs_box and chunk.boxes is None:
                raise MissingBoxError(f"{type(featurizer).__name__} needs periodic boxes, but trajectory {t} "
                                      f"has no box at frame {spec.start}.")
            state = bound.merge(state, bound.update(bound.init_state(), chunk))
    return bound.finalize(state, {"sampled_frames": {"max_frames": max_frames, "step_per_trajectory": steps}})
