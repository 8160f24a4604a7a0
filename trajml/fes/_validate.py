"""Input checks shared by the free-energy estimators: CVs, weights, temperature, grids.

Messages follow the package style: "The 'x' parameter of Owner must be ... Got ... instead."
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

import trajml._validation as _validation
from trajml.units import KB_KJ_MOL_K

__all__ = ["KB_KJ_MOL_K", "check_cvs", "check_weights", "check_temperature", "check_bins", "check_ranges",
           "check_int", "check_choice", "cv_matrix", "bins_value", "ranges_value", "positive_floats", "text_value",
           "discrete_value", "discrete_axes", "MAX_DISCRETE_VALUES"]


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
        i = int(np.flatnonzero(~np.isfinite(w))[0])
        raise _validation.invalid(name, owner, "finite", weights, shown=f"NaN or inf at sample {i}")
    if np.any(w < 0):
        i = int(np.flatnonzero(w < 0)[0])
        raise _validation.invalid(name, owner, "non-negative (reweighting factors)", weights,
                                  shown=f"{float(w[i])!r} at sample {i}")
    if not w.sum() > 0:
        raise ValueError(f"The '{name}' parameter of {owner} must have a positive sum. Got all zeros instead.")
    return w


def check_temperature(owner: str, temperature: Any, name: str = "temperature") -> float:
    """Validate a temperature in K (in :data:`trajml._validation.TEMPERATURE_RANGE_K`).

    The former argument order, kept for the ``trajml.models`` paths; new code declares a
    :class:`~trajml._validation.Param` or calls :func:`trajml._validation.check_float` (value, name, owner).
    """
    return _validation.check_temperature(temperature, name, owner)


def check_int(owner: str, value: Any, name: str, minimum: int = 1) -> int:
    """Validate an int >= ``minimum``; the former argument order of :func:`trajml._validation.check_int`."""
    return _validation.check_int(value, name, owner, minimum=minimum)


def check_choice(owner: str, value: Any, name: str, choices: Sequence[str]) -> str:
    """Validate one of a few strings; the former argument order of :func:`trajml._validation.check_choice`."""
    return _validation.check_choice(value, name, owner, choices)


# -- checks of declared parameters (``Param(check=...)``: raise ValueError with the constraint text) -------------
def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def bins_value(bins: Any) -> Any:
    """Grid bins: an int >= 2, or a non-empty sequence of such ints (one per CV); returned as given."""
    items = [bins] if _is_int(bins) else bins
    try:
        items = list(items)
    except TypeError:
        items = []
    if not items or len(items) > 3 or not all(_is_int(b) and b >= 2 for b in items):
        raise ValueError("an int >= 2 or one such int per CV, or None")
    return bins


def ranges_value(ranges: Any) -> Any:
    """Grid extent: one (lo, hi) pair, or one per CV, finite with lo < hi; returned as given."""
    try:
        r = np.asarray(ranges, dtype=np.float64)
    except (TypeError, ValueError):
        r = np.zeros(0)
    if r.shape == (2,):
        r = r[None, :]
    if r.ndim != 2 or r.shape[1] != 2 or not 1 <= r.shape[0] <= 3 or not np.all(np.isfinite(r)) \
            or np.any(r[:, 1] <= r[:, 0]):
        raise ValueError("a sequence of finite (lo, hi) pairs with lo < hi, one per CV, or None")
    return ranges


def positive_floats(value: Any) -> Any:
    """A float > 0 or a sequence of them (one per CV), finite; returned as given."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        a = np.zeros(0)
    if isinstance(value, (bool, np.bool_, str)) or a.ndim > 1 or a.size == 0 or a.size > 3 \
            or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError("a float > 0 or one per CV, in CV units, or None")
    return value


def text_value(value: Any) -> str:
    """A str (empty allowed: dimensionless CVs)."""
    if not isinstance(value, str):
        raise ValueError("a str")
    return value


#: Most distinct integer values for which ``discrete="auto"`` calls a CV discrete.
MAX_DISCRETE_VALUES = 50


def discrete_value(value: Any) -> Any:
    """"auto", True, False, or one bool (or "auto") per CV; returned as given."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    ok = 1 <= len(items) <= 3 and all(isinstance(v, (bool, np.bool_)) or v == "auto" for v in items)
    if not ok:
        raise ValueError("'auto', True, False or one of those per CV")
    return value


def discrete_axes(owner: str, discrete: Any, x: np.ndarray, name: str = "discrete") -> np.ndarray:
    """Which CVs are integer-valued counts, shape (d,) bool.

    "auto" marks a CV whose samples are all integers (within 1e-9) and take at most
    :data:`MAX_DISCRETE_VALUES` distinct values; True demands integer samples.
    """
    d = x.shape[1]
    items = list(discrete) if isinstance(discrete, (list, tuple)) else [discrete] * d
    if len(items) != d:
        raise _validation.invalid(name, owner, f"'auto', True, False or one of those per CV ({d})", discrete)
    out = np.zeros(d, dtype=bool)
    for k, v in enumerate(items):
        col = x[:, k]
        integer = bool(np.all(np.abs(col - np.round(col)) <= 1e-9))
        if v is True or v is np.True_:
            if not integer:
                i = int(np.flatnonzero(np.abs(col - np.round(col)) > 1e-9)[0])
                raise ValueError(f"The '{name}' parameter of {owner} declares CV {k} discrete, but its samples are "
                                 f"not all integers (row {i}: {col[i]!r}). Use discrete=False or 'auto' for it.")
            out[k] = True
        elif v == "auto" and not isinstance(v, (bool, np.bool_)):
            out[k] = integer and len(np.unique(col)) <= MAX_DISCRETE_VALUES
    return out


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
        raise _validation.invalid(name, owner, f"an int >= 2 or one such int per CV ({d})", bins)
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
