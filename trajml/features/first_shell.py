"""The first coordination shell of a pair of selections: one cut-off per pair and system.

Coordination numbers, Li⁺ solvation shells, residence times, kinetic states and free-energy
CVs all need "the first shell" of a centre–ligand pair. When no cut-off is given it is the
first minimum of the pair's g(r) after its first peak (:func:`~trajml.features.rdf.find_first_shell`),
from a first pass over at most ``cutoff_frames`` frames spread evenly over the source. The
parameters of that pass are declared once (:data:`FIRST_SHELL_PARAMS`, the same bins as an
:class:`~trajml.features.RDF` with its defaults, so ``trajml rdf`` prints the same first minimum),
and :func:`first_shell` computes each (source, pair, parameters) once per process: every
analysis that asks again gets the same number, with where it came from
(:attr:`FirstShell.origin`). Inside :func:`shared_cache` (a pipeline runs its units in one) the
cut-offs are also kept as small files in a folder, so units run by different worker processes
share one cut-off per pair and system.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import math
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from trajml._validation import MAX_BINS, Param
from trajml.features.rdf import RDF, run_on_sampled_frames
from trajml.periodic import check_source_boxes, source_max_cutoff
from trajml.results import Results
from trajml.selection import describe_selection

__all__ = ["FirstShell", "first_shell", "FIRST_SHELL_PARAMS", "clear_first_shell_cache", "shared_cache"]

#: Range of the first-pass g(r) in Å when the boxes allow it.
DEFAULT_R_MAX = 15.0

#: The first pass that finds a cut-off, declared once for every analysis that needs one.
FIRST_SHELL_PARAMS: dict[str, Param] = {
    "r_max": Param("float", help="range of the first-pass g(r) that finds the cut-off (no cut-off given)",
                   unit="Å", positive=True, nullable=True,
                   none_help="15 Å, or just under half the smallest box width when that is shorter"),
    "n_bins": Param("int", help="bins of the first-pass g(r)", minimum=1, high=MAX_BINS, high_closed=True),
    "cutoff_frames": Param("int", help="frames of the first pass, spread evenly over the source", minimum=1),
    "smoothing": Param("float", help="moving-average width that locates the first minimum", unit="Å",
                       minimum=0.0),
}

_UNITS = {"cutoff": "Å", "first_peak_r": "Å", "r_max": "Å", "smoothing": "Å", "rdf_r": "Å", "rdf_g": ""}
_CACHE: dict[str, "FirstShell"] = {}
_LOCK = threading.Lock()
_FOLDER: contextvars.ContextVar[str | None] = contextvars.ContextVar("first_shell_folder", default=None)


@contextlib.contextmanager
def shared_cache(folder: str | os.PathLike[str] | None) -> Iterator[None]:
    """Within the block, cut-offs found are also kept in (and read from) ``folder``."""
    token = _FOLDER.set(None if folder is None else os.fspath(folder))
    try:
        yield
    finally:
        _FOLDER.reset(token)


@dataclass(frozen=True, eq=False, kw_only=True)
class FirstShell(Results):
    """A first-shell cut-off and where it came from.

    Attributes
    ----------
    cutoff : float
        The cut-off in Å (a neighbour at ``d < cutoff`` is in the shell).
    origin : str
        ``"given"`` or ``"first minimum of g(r)"``.
    select_a, select_b : str or list of int
        The centre and ligand selections.
    first_peak_r : float
        First peak of the first-pass g(r) in Å (NaN when the cut-off was given).
    r_max : float
        Range of the first-pass g(r) in Å (NaN when given).
    n_bins : int
        Its bins (0 when given).
    n_frames : int
        Frames of the first pass (0 when given).
    smoothing : float
        Moving-average width in Å that located the minimum (NaN when given).
    rdf_r, rdf_g : ndarray, shape (n_bins,), float64, or None
        Bin centres (Å) and g(r) of the first pass (None when given).
    """

    cutoff: float
    origin: str
    select_a: Any
    select_b: Any
    first_peak_r: float = math.nan
    r_max: float = math.nan
    n_bins: int = 0
    n_frames: int = 0
    smoothing: float = math.nan
    rdf_r: np.ndarray | None = None
    rdf_g: np.ndarray | None = None

    def describe(self) -> str:
        """One line: the cut-off and its origin, e.g. for a command's output or a report."""
        pair = f"{describe_selection(self.select_a)!r}–{describe_selection(self.select_b)!r}"
        if self.origin == "given":
            return f"{self.cutoff:.4g} Å (given) for {pair}"
        return (f"{self.cutoff:.4g} Å, first minimum of g(r) of {pair} ({self.n_bins} bins to {self.r_max:g} Å, "
                f"{self.n_frames} frames, {self.smoothing:g} Å smoothing)")

    def __repr__(self) -> str:
        return f"FirstShell({self.describe()})"


def _key(source: Any, a: Any, b: Any, params: dict[str, Any]) -> str:
    text = json.dumps([source.fingerprint(), describe_selection(a), describe_selection(b), params], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def first_shell(source: Any, select_a: Any, select_b: Any, *, cutoff: float | None = None, owner: str = "",
                name: str = "cutoff", r_max: float | None = None, n_bins: int = 150, cutoff_frames: int = 1000,
                smoothing: float = 0.5, device: str = "cpu", check_boxes: bool = True) -> FirstShell:
    """The first-shell cut-off of a centre–ligand pair: the given one, or the first minimum of g(r).

    Parameters
    ----------
    source : trajml.io.Source
        The trajectories.
    select_a, select_b : str or array_like of int
        Centre and ligand atoms.
    cutoff : float, optional
        A given cut-off in Å (checked against half the box); None finds it.
    owner, name : str
        The analysis and parameter asking, for messages.
    r_max, n_bins, cutoff_frames, smoothing : float, int, int, float
        The first pass (:data:`FIRST_SHELL_PARAMS`). The defaults, which every analysis that finds
        a cut-off shares, are an RDF's (0.1 Å bins to 15 Å, 0.5 Å smoothing) over at most 1000
        frames: every frame of a run that short, so the cut-off is the first minimum `trajml rdf` prints.
        ``r_max=None`` is 15 Å, or just under half the smallest box width of the source when that is
        shorter (a small all-atom box), so the default works on any box.
    device : {"cpu", "cuda"}
        Where the pair search runs.
    check_boxes : bool
        Check a given cut-off against every frame's box (reads the boxes once); False when the
        caller has checked a cut-off at least as large already.

    Returns
    -------
    FirstShell

    Raises
    ------
    ValueError
        g(r) has no first minimum below ``r_max``; the message asks for an explicit cut-off.
    """
    owner = owner or "first_shell"
    if cutoff is not None:
        if check_boxes:
            check_source_boxes(source, float(cutoff), name, owner)
        return FirstShell(cutoff=float(cutoff), origin="given", select_a=describe_selection(select_a),
                          select_b=describe_selection(select_b), units=dict(_UNITS))
    if r_max is None:
        limit = source_max_cutoff(source)
        # Just under the limit: a chunk's float32 boxes may give a limit a hair below the headers'.
        r_max = DEFAULT_R_MAX if limit is None or limit > DEFAULT_R_MAX else float(np.floor(limit * 0.999 * 100) / 100)
    params = {"r_max": float(r_max), "n_bins": int(n_bins), "cutoff_frames": int(cutoff_frames),
              "smoothing": float(smoothing)}
    key = _key(source, select_a, select_b, params)
    cache_dir = _FOLDER.get()
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is None and cache_dir:
        hit = _read(cache_dir, key)
    if hit is None:
        hit = _compute(source, select_a, select_b, owner, name, params, device)
        if cache_dir:
            _write(cache_dir, key, hit)
    with _LOCK:
        _CACHE[key] = hit
    return hit


def _compute(source: Any, a: Any, b: Any, owner: str, name: str, params: dict[str, Any], device: str) -> FirstShell:
    rdf = run_on_sampled_frames(RDF(a, b, r_max=params["r_max"], n_bins=params["n_bins"],
                                    smoothing=params["smoothing"], device=device), source, params["cutoff_frames"])
    if not math.isfinite(rdf.first_min_r):
        raise ValueError(
            f"{owner} could not find a first minimum of g(r) between {describe_selection(a)!r} and "
            f"{describe_selection(b)!r} below r_max = {params['r_max']:g} Å ({rdf.n_frames} frames sampled); "
            f"give the '{name}' parameter explicitly (Å) or raise 'r_max'.")
    return FirstShell(cutoff=float(rdf.first_min_r), origin="first minimum of g(r)", select_a=describe_selection(a),
                      select_b=describe_selection(b), first_peak_r=float(rdf.first_peak_r), r_max=params["r_max"],
                      n_bins=params["n_bins"], n_frames=int(rdf.n_frames), smoothing=params["smoothing"],
                      rdf_r=rdf.r, rdf_g=rdf.g, units=dict(_UNITS), provenance={"rdf": rdf.provenance})


def _read(folder: str, key: str) -> FirstShell | None:
    try:
        with open(os.path.join(folder, f"{key}.json"), encoding="utf-8") as fh:
            data = json.load(fh)
        for k in ("rdf_r", "rdf_g"):
            data[k] = None if data.get(k) is None else np.asarray(data[k], dtype=np.float64)
        return FirstShell(**data)
    except (OSError, ValueError, TypeError):
        return None  # absent or damaged: compute again


def _write(folder: str, key: str, shell: FirstShell) -> None:
    from trajml._files import atomic_write_text

    data = {**shell.to_dict(), "units": dict(shell.units), "provenance": shell.provenance}
    try:
        os.makedirs(folder, exist_ok=True)
        atomic_write_text(os.path.join(folder, f"{key}.json"), json.dumps(data))
    except OSError:
        pass  # a cache that cannot be written only costs a recomputation


def clear_first_shell_cache() -> None:
    """Forget the cut-offs found in this process (tests; files that changed in place)."""
    with _LOCK:
        _CACHE.clear()
