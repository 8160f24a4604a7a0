"""Input checks shared by the free-energy estimators: CVs, weights, temperature, grids.

Messages follow the package style: "The 'x' parameter of Owner must be ... Got ... instead."
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from trajml.kinetics.koopman import check_positive
from trajml.units import KB_KJ_MOL_K

__all__ = ["KB_KJ_MOL_K", "check_cvs", "check_weights", "check_temperature", "check_bins", "check_ranges",
           "check_int", "check_choice", "cv_matrix"]


def cv_matrix(data: Any) -> np.ndarray:
    """Collective variables as float64 ``(n, d)``: a featurizer result's array or a user array.

    1-D input is one CV; a list of per-trajectory arrays is stacked row-wise (frames are
    treated as exchangeable samples: a free energy does not need time order).
    """
    if isinstance(data, (list, tuple)) and data and all(np.ndim(a) >= 1 for a in data) \
            and len({np.ndim(a) for a in data}) == 1 and np.ndim(data[0]) == 2:
        return np.concatenate([np.asarray(a, dtype=np.float64) for a in data], axis=0)
    a = np.asarray(data, dtype=np.float64)
    return a[:, None] if a.ndim == 1 else a


def check_cvs(owner: str, cvs: Any, name: str = "cvs") -> np.ndarray:
    """Validate collective variables: shape (n,) or (n, d) with 1 <= d <= 3, finite, n >= 2.

    Returns
    -------
    ndarray, shape (n, d), float64
        In the caller's CV units.
    """
    try:
        x = cv_matrix(cvs)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"The '{name}' parameter of {owner} must be a numeric array of shape (n,) or (n, d). "
                         f"It could not be read as numbers: {exc}") from None
    if x.ndim != 2:
        raise ValueError(f"The '{name}' parameter of {owner} must have shape (n,) or (n, d). "
                         f"Got shape {x.shape} instead.")
    if not 1 <= x.shape[1] <= 3:
        raise ValueError(f"The '{name}' parameter of {owner} must hold 1 to 3 collective variables (columns). "
                         f"Got {x.shape[1]} instead.")
    if x.shape[0] < 2:
        raise ValueError(f"The '{name}' parameter of {owner} must hold at least 2 samples. Got {x.shape[0]} instead.")
    bad = ~np.isfinite(x)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        r, c = int(rows[0]), int(np.flatnonzero(bad[rows[0]])[0])
        raise ValueError(f"The '{name}' parameter of {owner} must be finite: {len(rows)} sample(s) hold NaN or "
                         f"inf, the first at row {r}, CV {c} ({x[r, c]}). Drop or fix those frames first.")
    return x


def check_weights(owner: str, weights: Any, n: int, name: str = "weights") -> np.ndarray | None:
    """Validate per-sample weights: None, or shape (n,), finite, >= 0, with a positive sum."""
    if weights is None:
        return None
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"The '{name}' parameter of {owner} must have one weight per sample, shape ({n},). "
                         f"Got shape {w.shape} instead.")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"The '{name}' parameter of {owner} must be finite. Got NaN or inf at sample "
                         f"{int(np.flatnonzero(~np.isfinite(w))[0])} instead.")
    if np.any(w < 0):
        i = int(np.flatnonzero(w < 0)[0])
        raise ValueError(f"The '{name}' parameter of {owner} must be non-negative (reweighting factors). "
                         f"Got {float(w[i])!r} at sample {i} instead.")
    if not w.sum() > 0:
        raise ValueError(f"The '{name}' parameter of {owner} must have a positive sum. Got all zeros instead.")
    return w


def check_temperature(owner: str, temperature: Any, name: str = "temperature") -> float:
    """Validate a temperature in K (finite, > 0)."""
    return check_positive(owner, temperature, name, " (K)")


def check_int(owner: str, value: Any, name: str, minimum: int = 1) -> int:
    """Validate an int >= ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"The '{name}' parameter of {owner} must be an int >= {minimum}. Got {value!r} instead.")
    return int(value)


def check_choice(owner: str, value: Any, name: str, choices: Sequence[str]) -> str:
    """Validate one of a few strings."""
    if value not in choices:
        raise ValueError(f"The '{name}' parameter of {owner} must be one of {list(choices)}. Got {value!r} instead.")
    return str(value)


def check_bins(owner: str, bins: Any, d: int, default: int | None = None, name: str = "bins") -> tuple[int, ...]:
    """Validate bins per CV: an int (every CV) or one int per CV, each >= 2; None gives ``default``."""
    if bins is None:
        bins = default if default is not None else {1: 100, 2: 60, 3: 24}[d]
    items = [bins] * d if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool) else bins
    try:
        items = list(items)
    except TypeError:
        items = [None]
    if len(items) != d or any(isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 2 for b in items):
        raise ValueError(f"The '{name}' parameter of {owner} must be an int >= 2 or one such int per CV ({d}). "
                         f"Got {bins!r} instead.")
    return tuple(int(b) for b in items)


def check_ranges(owner: str, ranges: Any, x: np.ndarray, bins: tuple[int, ...],
                 name: str = "ranges") -> tuple[tuple[float, float], ...]:
    """Validate (or choose) the grid extent per CV and check that it covers every sample.

    Parameters
    ----------
    ranges : None or sequence of (lo, hi) per CV, in CV units
        None: the data range, widened by half a bin on each side.
    x : ndarray, shape (n, d)
        The samples the grid must cover.

    Returns
    -------
    tuple of (lo, hi) per CV, in CV units
    """
    d = x.shape[1]
    lo_data, hi_data = x.min(axis=0), x.max(axis=0)
    if ranges is None:
        out = []
        for k in range(d):
            lo, hi = float(lo_data[k]), float(hi_data[k])
            if hi <= lo:  # a constant CV: give it a unit-wide window
                lo, hi = lo - 0.5, hi + 0.5
            pad = 0.5 * (hi - lo) / (bins[k] - 1)
            out.append((lo - pad, hi + pad))
        return tuple(out)
    try:
        r = np.asarray(ranges, dtype=np.float64)
    except (TypeError, ValueError):
        r = np.zeros(0)
    if d == 1 and r.shape == (2,):
        r = r[None, :]
    if r.shape != (d, 2) or not np.all(np.isfinite(r)) or np.any(r[:, 1] <= r[:, 0]):
        raise ValueError(f"The '{name}' parameter of {owner} must give one finite (lo, hi) pair with lo < hi per CV "
                         f"({d}). Got {ranges!r} instead.")
    for k in range(d):
        if lo_data[k] < r[k, 0] or hi_data[k] > r[k, 1]:
            raise ValueError(f"The '{name}' parameter of {owner} must cover the data: CV {k} spans "
                             f"[{lo_data[k]:.6g}, {hi_data[k]:.6g}] but the grid spans [{r[k, 0]:.6g}, {r[k, 1]:.6g}]. "
                             f"Widen the range or drop the samples outside it.")
    return tuple((float(a), float(b)) for a, b in r)


class single_blas_thread:
    """Run a block with one BLAS thread (when threadpoolctl is installed; otherwise a no-op).

    Small dense factorisations (a few hundred rows) gain nothing from BLAS threads, and on a
    loaded machine OpenBLAS' spinning threads can make them a hundred times slower.
    """

    def __enter__(self) -> None:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
            self._ctx = None
            return
        self._ctx = threadpool_limits(limits=1, user_api="blas")
        self._ctx.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(*exc)
