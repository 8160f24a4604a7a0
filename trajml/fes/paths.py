"""Analysis on a fitted surface: minima, minimum free-energy paths, barriers and basin free energies.

Everything works on any :class:`~trajml.fes.model.FESModel` through its ``predict``,
``gradient`` and ``sample_surfaces``; uncertainties of barriers and basin differences come from
surfaces drawn jointly at the points that matter, so correlated errors cancel as they should.

Distances along a path are measured in the CVs' own units: when two CVs have different units
(a coordination number and a distance in Å), the minimum free-energy path depends on how they
are scaled, so rescale the CVs first if the plain Euclidean metric is not meaningful.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from trajml._validation import check_int, invalid
from trajml.results import Results
from trajml.results import read_only as _ro

__all__ = ["Minima", "MinimumPath", "Basins", "find_minima", "minimum_path", "basin_free_energies"]


# ----------------------------------------------------------------------------------------------
# minima
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, kw_only=True)
class Minima(Results):
    """Local minima of a free-energy surface, lowest first.

    Attributes
    ----------
    points : ndarray, shape (k, d), CV units
    free_energy_kJmol : ndarray, shape (k,), kJ/mol (relative to the grid minimum)
    uncertainty_kJmol : ndarray, shape (k,), kJ/mol (pointwise standard deviation)
    """

    points: np.ndarray
    free_energy_kJmol: np.ndarray
    uncertainty_kJmol: np.ndarray

    _TABLE = ("free_energy_kJmol", "uncertainty_kJmol")


def _grid_minima(F: np.ndarray, size: Any) -> np.ndarray:
    from scipy.ndimage import minimum_filter

    Ff = np.where(np.isfinite(F), F, np.inf)
    return np.flatnonzero((Ff == minimum_filter(Ff, size=size, mode="nearest")) & np.isfinite(Ff))


def _discrete_mask(model: Any) -> np.ndarray:
    """Which CVs of ``model`` are discrete (integer cells), shape (d,) bool."""
    return model.discrete_cvs


def find_minima(model: Any, *, size: int = 5, max_free_energy: float | None = None, refine: bool = True,
                include_edges: bool = False) -> Minima:
    """Local minima of the surface, lowest first; the first is always its global minimum.

    Grid bins lower than every bin within ``size // 2`` bins are candidates; with ``refine``
    each is polished by L-BFGS-B on the model's F and ∇F within one bin of it, and candidates that
    end in the same place (within one bin) are merged. The grid's lowest bin is always a
    candidate (edges included), so the first minimum ("A") is the lowest point of the surface.

    On discrete CVs (integer cells, see the estimators' ``discrete``) the minima are the cells
    more populated than their neighbours (one cell either way, edges included: 0 anions is a
    real state), never refined off the integers; empty cells are never minima.

    Parameters
    ----------
    model : FESModel
    size : int
        Neighbourhood of the grid test, in bins (odd, >= 3); larger ignores shallow noise.
        Discrete CVs always use their nearest neighbours.
    max_free_energy : float, optional
        Keep only minima at most this high, kJ/mol above the global minimum.
    refine : bool
        Polish the positions off the grid (histograms and discrete CVs stay on their bin centres).
    include_edges : bool
        Keep candidates in the outermost bins. Off by default: there the surface usually just
        keeps falling beyond the grid (or a smooth estimator relaxes to its prior), which is not
        a basin; switch it on for a CV whose physical range ends at the grid edge. The global
        minimum is kept wherever it lies.

    Returns
    -------
    Minima
    """
    size = check_int(size, "size", "find_minima", minimum=3)
    F = model.free_energy_kJmol
    pts = model.grid_points()
    disc = _discrete_mask(model)
    finite = np.isfinite(F)
    if not finite.any():
        raise ValueError("find_minima: the surface has no finite free energy.")
    sizes = tuple(3 if dk else size for dk in disc)
    idx = _grid_minima(F, sizes)
    if not include_edges:
        sub = np.unravel_index(idx, F.shape)
        # a discrete axis has no "beyond the grid": its end cells are states like any other
        inner = np.all([(i > 0) & (i < n - 1) | dk for i, n, dk in zip(sub, F.shape, disc)], axis=0)
        idx = idx[inner]
    glob = int(np.argmin(np.where(finite, F, np.inf).ravel()))
    idx = np.concatenate([[glob], idx[idx != glob]])
    idx = idx[np.argsort(F.ravel()[idx], kind="stable")]
    cand = pts[idx]
    lo = np.array([e[0] for e in model.edges])
    hi = np.array([e[-1] for e in model.edges])
    widths = np.array([e[1] - e[0] for e in model.edges])
    polish = refine and model.method != "hist" and not disc.any()
    out = []
    for p in cand:
        q = p
        if polish:
            res = minimize(lambda v: float(model.predict(v[None, :])[0]), p,
                           jac=lambda v: model.gradient(v[None, :])[0], method="L-BFGS-B",
                           bounds=list(zip(np.maximum(lo, p - widths), np.minimum(hi, p + widths))))
            # keep the grid point when polishing did not go lower (flat or non-finite surroundings)
            if np.isfinite(res.fun) and res.fun <= float(model.predict(p[None, :])[0]):
                q = res.x
        if all(np.any(np.abs(q - o) > widths) for o in out):
            out.append(q)
    P = np.array(out).reshape(-1, model.ndim)
    Fm, Sm = model.predict(P, return_std=True)
    order = np.argsort(Fm, kind="stable")
    keep = order if max_free_energy is None else order[Fm[order] - Fm[order[0]] <= max_free_energy]
    return Minima(points=_ro(P[keep]), free_energy_kJmol=_ro(Fm[keep]), uncertainty_kJmol=_ro(Sm[keep]),
                  units={"points": model.cv_units, "free_energy_kJmol": "kJ/mol", "uncertainty_kJmol": "kJ/mol"},
                  provenance={"function": "find_minima", "size": size, "refine": refine, "method": model.method,
                              "discrete": disc.tolist()})


# ----------------------------------------------------------------------------------------------
# minimum free-energy path: the string method
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, kw_only=True)
class MinimumPath(Results):
    """A minimum free-energy path and the barriers along it.

    Attributes
    ----------
    points : ndarray, shape (n_images, d), CV units
        Images of the converged string, equally spaced in arc length.
    arc_length : ndarray, shape (n_images,), CV units
        Cumulative distance along the path from its start.
    free_energy_kJmol, uncertainty_kJmol : ndarray, shape (n_images,), kJ/mol
        F along the path (relative to the grid minimum) and its pointwise standard deviation.
    minima_index, maxima_index : ndarray of int
        Images at the local minima (including both ends) and local maxima of the profile.
    saddle_points : ndarray, shape (n_max, d), CV units
        Highest points of the path between successive minima (refined between images).
    barriers_forward_kJmol, barriers_backward_kJmol : ndarray, shape (n_max,), kJ/mol
        For the k-th saddle: its height above the minimum before it and after it along the path.
    barriers_forward_std_kJmol, barriers_backward_std_kJmol : ndarray, shape (n_max,), kJ/mol
        Standard deviations from surfaces drawn jointly at the saddle and the two minima.
    barrier_kJmol, barrier_std_kJmol : float, kJ/mol
        Highest point of the whole path above its start, and its standard deviation.
    delta_kJmol, delta_std_kJmol : float, kJ/mol
        F(end) − F(start) and its standard deviation.
    converged : bool
        Whether the string stopped moving within ``max_iter`` iterations.
    n_iter : int
    """

    points: np.ndarray
    arc_length: np.ndarray
    free_energy_kJmol: np.ndarray
    uncertainty_kJmol: np.ndarray
    minima_index: np.ndarray
    maxima_index: np.ndarray
    saddle_points: np.ndarray
    barriers_forward_kJmol: np.ndarray
    barriers_forward_std_kJmol: np.ndarray
    barriers_backward_kJmol: np.ndarray
    barriers_backward_std_kJmol: np.ndarray
    barrier_kJmol: float
    barrier_std_kJmol: float
    delta_kJmol: float
    delta_std_kJmol: float
    converged: bool
    n_iter: int

    _TABLE = ("arc_length", "free_energy_kJmol", "uncertainty_kJmol")


def _reparametrise(path: np.ndarray) -> np.ndarray:
    """Images redistributed at equal arc length along the polyline (linear interpolation)."""
    seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] == 0:
        return path
    t = np.linspace(0.0, s[-1], len(path))
    return np.stack([np.interp(t, s, path[:, k]) for k in range(path.shape[1])], axis=1)


def _string(model: Any, start: np.ndarray, end: np.ndarray, n_images: int, max_iter: int, tol: float,
            fix_ends: bool, via: np.ndarray | None) -> tuple[np.ndarray, bool, int]:
    nodes = np.vstack([start, *([] if via is None else list(via)), end])
    path = _reparametrise(np.concatenate([np.linspace(a, b, 50, endpoint=False) for a, b in zip(nodes[:-1], nodes[1:])]
                                         + [end[None, :]]))
    path = _reparametrise(np.stack([np.interp(np.linspace(0, 1, n_images), np.linspace(0, 1, len(path)), path[:, k])
                                    for k in range(path.shape[1])], axis=1))
    lo = np.array([e[0] for e in model.edges])
    hi = np.array([e[-1] for e in model.edges])
    spacing = np.linalg.norm(path[1] - path[0])
    if spacing == 0:
        raise ValueError("The 'start' and 'end' points of minimum_path must differ.")
    norms = np.linalg.norm(model.gradient(path), axis=1)
    norms = norms[np.isfinite(norms)]
    gmax = float(np.percentile(norms, 90)) if len(norms) else 1.0
    dt = 0.1 * spacing / max(gmax, 1e-12)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        g = model.gradient(path)
        g = np.where(np.isfinite(g), g, 0.0)
        step = dt * g
        big = np.linalg.norm(step, axis=1).max()
        if big > 0.5 * spacing:  # stay stable where the surface is steeper than it was at the start
            step *= 0.5 * spacing / big
        new = path - step
        if fix_ends:
            new[0], new[-1] = path[0], path[-1]
        new = np.clip(new, lo, hi)
        new = _reparametrise(new)
        spacing = max(np.linalg.norm(new[1] - new[0]), 1e-300)
        moved = np.max(np.linalg.norm(new - path, axis=1)) / spacing
        path = new
        if moved < tol:
            converged = True
            break
    return path, converged, it


def _profile_extrema(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Alternating minima (ends included) and maxima of a profile, ignoring flat ripples."""
    mins, maxs = [0], []
    i = 0
    n = len(F)
    while i < n - 1:
        # climb to the next maximum, then descend to the next minimum
        j = i
        while j < n - 1 and F[j + 1] >= F[j]:
            j += 1
        if j == n - 1:
            break
        k = j
        while k < n - 1 and F[k + 1] <= F[k]:
            k += 1
        maxs.append(j)
        mins.append(k)
        i = k
    if mins[-1] != n - 1:
        mins.append(n - 1)
        if len(maxs) < len(mins) - 1:
            maxs.append(int(np.argmax(F[mins[-2]:]) + mins[-2]))
    return np.array(mins), np.array(maxs)


def _refine_max(model: Any, path: np.ndarray, j: int) -> np.ndarray:
    """Highest point of the polyline between images j−1 and j+1 (bounded 1-D search)."""
    from scipy.optimize import minimize_scalar

    a, b = path[max(j - 1, 0)], path[min(j + 1, len(path) - 1)]
    mid = path[j]

    def point(t: float) -> np.ndarray:
        return (a + (mid - a) * (t + 1.0)) if t < 0 else (mid + (b - mid) * t)

    res = minimize_scalar(lambda t: -float(model.predict(point(t)[None, :])[0]), bounds=(-1.0, 1.0), method="bounded",
                          options={"xatol": 1e-4})
    best = point(res.x)
    return best if model.predict(best[None, :])[0] >= model.predict(mid[None, :])[0] else mid


def minimum_path(model: Any, start: Any, end: Any, *, n_images: int = 40, via: Any = None, max_iter: int = 5000,
                 tol: float = 1e-4, fix_ends: bool = False, min_barrier: float = 0.0, n_draws: int = 400,
                 seed: int = 0) -> MinimumPath:
    """Minimum free-energy path between two points by the (simplified) string method.

    The string of ``n_images`` images starts on the straight line start → end (through ``via``
    points if given), descends along −∇F and is redistributed to equal arc length after every
    step (E, Ren & Vanden-Eijnden, J. Chem. Phys. 126, 164103 (2007)). Unless ``fix_ends``, its
    ends slide into the minima nearest ``start`` and ``end``. On the converged string the
    profile's maxima are refined between images; barriers are reported between every pair of
    successive minima along the path, with standard deviations from surfaces drawn jointly at
    the saddle and the minima.

    Parameters
    ----------
    model : FESModel
    start, end : array_like, shape (d,), CV units
        Points in (or near) the two basins, e.g. from :func:`find_minima`.
    n_images : int
        Images of the string (>= 5).
    via : array_like, shape (k, d), optional
        Points the initial string passes through (to pick one of several channels).
    max_iter, tol : int, float
        Iteration limit; convergence when no image moves more than ``tol`` image spacings.
    fix_ends : bool
        Keep the ends where they are given.
    min_barrier : float
        Profile maxima less than this (kJ/mol) above both neighbouring minima are treated as
        noise and merged.
    n_draws : int
        Surfaces drawn for the uncertainties.
    seed : int

    Returns
    -------
    MinimumPath
    """
    owner = "minimum_path"
    disc = _discrete_mask(model)
    if disc.any():
        raise ValueError(f"{owner} needs continuous CVs; CV(s) {np.flatnonzero(disc).tolist()} of this model are "
                         f"discrete (one cell per integer), where a path between states is not defined. Compare the "
                         f"cells' free energies directly, or fit with discrete=False for a smooth surface.")
    n_images = check_int(n_images, "n_images", owner, minimum=5)
    max_iter = check_int(max_iter, "max_iter", owner)
    d = model.ndim
    a = np.asarray(start, dtype=np.float64).reshape(-1)
    b = np.asarray(end, dtype=np.float64).reshape(-1)
    for name, p in (("start", a), ("end", b)):
        if p.shape != (d,) or not np.all(np.isfinite(p)):
            raise invalid(name, owner, f"a finite point with {d} CV value(s)", p, shown=repr(p.tolist()))
    lo = np.array([e[0] for e in model.edges])
    hi = np.array([e[-1] for e in model.edges])
    for name, p in (("start", a), ("end", b)):
        if np.any(p < lo) or np.any(p > hi):
            raise ValueError(f"The '{name}' parameter of {owner} must lie on the model's grid "
                             f"[{lo.tolist()}, {hi.tolist()}]. Got {p.tolist()} instead.")
    v = None if via is None else np.asarray(via, dtype=np.float64).reshape(-1, d)
    path, converged, n_iter = _string(model, a, b, n_images, max_iter, float(tol), bool(fix_ends), v)
    F, S = model.predict(path, return_std=True)
    if not np.all(np.isfinite(F)) or not np.all(np.isfinite(S)):
        raise ValueError(f"The free energy is undefined (empty histogram bins) along the path; {owner} needs a "
                         f"surface defined everywhere between the basins: use method 'gp', 'nn' or 'kde'.")
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    mins, maxs = _profile_extrema(F)
    # merge maxima that are noise
    while len(maxs) and min_barrier > 0:
        small = [k for k, j in enumerate(maxs) if F[j] - max(F[mins[k]], F[mins[k + 1]]) < min_barrier]
        if not small:
            break
        k = small[0]
        drop_min = k if F[mins[k]] > F[mins[k + 1]] and k > 0 else k + 1
        if drop_min == len(mins) - 1:
            drop_min = k
        mins = np.delete(mins, drop_min)
        maxs = np.delete(maxs, k)
        if drop_min == 0:
            mins = np.concatenate([[0], mins])
    saddles = np.array([_refine_max(model, path, j) for j in maxs]).reshape(-1, d)
    key = np.vstack([path[mins], saddles])
    draws = model.sample_surfaces(key, n=n_draws, seed=seed)
    Fk = model.predict(key)
    nm = len(mins)
    fwd = np.array([Fk[nm + k] - Fk[k] for k in range(len(maxs))])
    bwd = np.array([Fk[nm + k] - Fk[k + 1] for k in range(len(maxs))])
    fwd_sd = np.array([np.std(draws[:, nm + k] - draws[:, k], ddof=1) for k in range(len(maxs))])
    bwd_sd = np.array([np.std(draws[:, nm + k] - draws[:, k + 1], ddof=1) for k in range(len(maxs))])
    if len(maxs):
        top = int(np.argmax(Fk[nm:]))
        barrier, barrier_sd = float(Fk[nm + top] - Fk[0]), float(np.std(draws[:, nm + top] - draws[:, 0], ddof=1))
    else:
        barrier, barrier_sd = 0.0, 0.0
    delta = float(Fk[nm - 1] - Fk[0])
    delta_sd = float(np.std(draws[:, nm - 1] - draws[:, 0], ddof=1))
    kj = "kJ/mol"
    return MinimumPath(points=_ro(path), arc_length=_ro(s), free_energy_kJmol=_ro(F), uncertainty_kJmol=_ro(S),
                       minima_index=np.asarray(mins, dtype=np.int64), maxima_index=np.asarray(maxs, dtype=np.int64),
                       saddle_points=_ro(saddles), barriers_forward_kJmol=_ro(fwd),
                       barriers_forward_std_kJmol=_ro(fwd_sd), barriers_backward_kJmol=_ro(bwd),
                       barriers_backward_std_kJmol=_ro(bwd_sd),
                       barrier_kJmol=barrier, barrier_std_kJmol=barrier_sd, delta_kJmol=delta, delta_std_kJmol=delta_sd,
                       converged=bool(converged), n_iter=int(n_iter),
                       units={"points": model.cv_units, "arc_length": model.cv_units, "free_energy_kJmol": kj,
                              "uncertainty_kJmol": kj, "saddle_points": model.cv_units,
                              "barriers_forward_kJmol": kj, "barriers_forward_std_kJmol": kj,
                              "barriers_backward_kJmol": kj, "barriers_backward_std_kJmol": kj,
                              "barrier_kJmol": kj, "barrier_std_kJmol": kj, "delta_kJmol": kj, "delta_std_kJmol": kj},
                       provenance={"function": owner, "n_images": n_images, "method": "string",
                                   "model_method": model.method, "tol": tol, "fix_ends": bool(fix_ends),
                                   "n_draws": n_draws, "seed": seed})


# ----------------------------------------------------------------------------------------------
# basins
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, kw_only=True)
class Basins(Results):
    """Basins of attraction of the minima and their free energies.

    Attributes
    ----------
    minima : ndarray, shape (k, d), CV units
        The minimum of each basin.
    labels : ndarray, grid shape, int64
        Basin of each grid bin (−1: no estimate there).
    free_energy_kJmol : ndarray, shape (k,), kJ/mol
        Basin free energies −kT ln P_B relative to the lowest basin.
    uncertainty_kJmol : ndarray, shape (k,), kJ/mol
        Standard deviation of each difference to the lowest basin.
    populations : ndarray, shape (k,)
        Probability of each basin (sum 1 over the grid).
    """

    minima: np.ndarray
    labels: np.ndarray
    free_energy_kJmol: np.ndarray
    uncertainty_kJmol: np.ndarray
    populations: np.ndarray

    _TABLE = ("free_energy_kJmol", "uncertainty_kJmol", "populations")


def _descent_labels(F: np.ndarray) -> np.ndarray:
    """Grid steepest descent: each bin follows its lowest neighbour (diagonals included) to a sink."""
    shape = F.shape
    Ff = np.where(np.isfinite(F), F, np.inf)
    flat = Ff.ravel()
    n = flat.size
    idx = np.arange(n).reshape(shape)
    best = np.arange(n)
    best_val = flat.copy()
    offsets = np.array(np.meshgrid(*[[-1, 0, 1]] * F.ndim, indexing="ij")).reshape(F.ndim, -1).T
    for off in offsets:
        if not off.any():
            continue
        src = tuple(slice(max(0, -o), s - max(0, o)) for o, s in zip(off, shape))
        dst = tuple(slice(max(0, o), s - max(0, -o)) for o, s in zip(off, shape))
        here, there = idx[src].ravel(), idx[dst].ravel()
        better = flat[there] < best_val[here]
        best[here[better]] = there[better]
        best_val[here[better]] = flat[there[better]]
    # follow pointers to the sinks (pointer doubling: O(log n) vectorised passes)
    sink = best.copy()
    while True:
        nxt = sink[sink]
        if np.array_equal(nxt, sink):
            break
        sink = nxt
    sink[~np.isfinite(flat)] = -1
    return sink.reshape(shape)


def basin_free_energies(model: Any, minima: Any = None, *, size: int = 5, n_draws: int = 200, seed: int = 0) -> Basins:
    """Split the grid into basins of attraction and compare their free energies.

    Each bin descends the grid to a local minimum; every such sink is given to the nearest of
    ``minima`` (default: :func:`find_minima` with ``size``). The basin free energy is
    F_B = −kT ln Σ_{i∈B} exp(−F_i/kT) over its bins (bins of equal volume); its uncertainty
    relative to the lowest basin comes from surfaces drawn jointly on the grid.

    Parameters
    ----------
    model : FESModel
    minima : array_like, shape (k, d), CV units, or Minima, optional
    size : int
        Neighbourhood passed to :func:`find_minima` when ``minima`` is None.
    n_draws : int
        Surfaces drawn for the uncertainties.
    seed : int

    Returns
    -------
    Basins
    """
    if minima is None:
        minima = find_minima(model, size=size)
    m = np.asarray(minima.points if isinstance(minima, Minima) else minima, dtype=np.float64).reshape(-1, model.ndim)
    if len(m) == 0:
        raise ValueError("basin_free_energies needs at least one minimum.")
    F = model.free_energy_kJmol
    pts = model.grid_points()
    sink = _descent_labels(F).ravel()
    ok = sink >= 0
    sinks = np.unique(sink[ok])
    owner_of = np.argmin(np.linalg.norm(pts[sinks][:, None, :] - m[None, :, :], axis=2), axis=1)
    lut = np.full(pts.shape[0], -1)
    lut[sinks] = owner_of
    labels = np.where(ok, lut[np.where(ok, sink, 0)], -1)
    kT = model.kT_kJmol

    def basin_F(Fgrid: np.ndarray) -> np.ndarray:
        fin = np.isfinite(Fgrid) & (labels >= 0)
        shift = np.min(Fgrid[fin])
        p = np.where(fin, np.exp(-(np.where(fin, Fgrid, 0.0) - shift) / kT), 0.0)
        P = np.bincount(labels[fin], weights=p[fin], minlength=len(m))
        with np.errstate(divide="ignore"):
            return -kT * np.log(P / P.sum())

    FB = basin_F(F.ravel())
    ref = int(np.argmin(FB))
    draws = model.sample_surfaces(pts[ok], n=n_draws, seed=seed)
    full = np.full((len(draws), pts.shape[0]), np.inf)
    full[:, ok] = draws
    samples = np.array([basin_F(row) for row in full])
    rel = samples - samples[:, [ref]]
    with np.errstate(invalid="ignore"):
        sd = np.nanstd(np.where(np.isfinite(rel), rel, np.nan), axis=0, ddof=1)
    pop = np.exp(-(FB - FB[ref]) / kT)
    return Basins(minima=_ro(m), labels=labels.reshape(F.shape).astype(np.int64), free_energy_kJmol=_ro(FB - FB[ref]),
                  uncertainty_kJmol=_ro(sd), populations=_ro(pop / pop.sum()),
                  units={"minima": model.cv_units, "free_energy_kJmol": "kJ/mol", "uncertainty_kJmol": "kJ/mol",
                         "populations": "", "labels": ""},
                  provenance={"function": "basin_free_energies", "model_method": model.method, "n_draws": n_draws,
                              "seed": seed})
