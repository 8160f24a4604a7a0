"""Time-lagged covariances, Koopman matrices and VAMP scores (torch-free).

The covariances are accumulated from time-lagged pairs ``(x_t, x_{t+lag})`` that lie inside
one trajectory: a pair never straddles two trajectories. The running state is a set of
additive sufficient statistics (sums, outer products and a pair count), so states built
from disjoint pieces of data merge exactly, in any order.

VAMP score convention
---------------------
Scores are sums over the singular values ``s_i`` of the half-weighted Koopman matrix
``K = C00^{-1/2} C0t Ctt^{-1/2}``: VAMP-1 ``sum s_i``, VAMP-2 ``sum s_i**2``, VAMP-E the
cross-validatable variant of Wu & Noé (2020), which equals VAMP-2 on the training data.
The constant function is a singular function with singular value 1. ``include_constant=True``
counts it (deeptime's convention: mean-free scores are reported ``+ 1``; maximum ``m`` for
``m`` features), ``include_constant=False`` leaves it out (GDyNet's convention: maximum
``m - 1`` for ``m`` softmax states).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np

from trajml._validation import Param, check_bool, check_int, invalid
from trajml.base import Estimator
from trajml.errors import NotFittedError
from trajml.results import Results
from trajml.results import read_only as _ro
from trajml.store.models import StoredModel

__all__ = [
    "CovarianceState",
    "TimeLaggedCovariance",
    "CovarianceModel",
    "lagged_chunks",
    "inv_sqrt",
    "koopman_matrix",
    "singular_values",
    "vamp_score",
    "soft_koopman_matrix",
    "stationary_distribution",
    "as_trajectories",
]


# ----------------------------------------------------------------------------------------------
# input helpers shared by the models package
# ----------------------------------------------------------------------------------------------

def check_lag(owner: str, lag: Any, name: str = "lag") -> int:
    """Validate a lag in frames (a positive int); the same as ``check_int(lag, name, owner)``.

    Kept with this argument order for callers outside the subject packages; new code calls
    :func:`trajml._validation.check_int` (value, name, owner) or declares a ``Param``.
    """
    return check_int(lag, name, owner)


#: The declaration of a lag in frames, shared by the kinetics estimators.
LAG = Param("int", help="lag time", unit="frames", minimum=1)


def as_trajectories(owner: str, data: Any, name: str = "data", *, per_target: bool = False) -> list[np.ndarray]:
    """Turn features into a list of float64 trajectories of shape (T, d).

    Parameters
    ----------
    owner : str
        Name of the caller, for messages.
    data : ndarray, shape (T,), (T, d) or (T, n_targets, d), or list of such arrays
        Per-frame features. With ``per_target=True`` a 3-D array is split into one
        trajectory per target atom (column 1), e.g. one per Li⁺.
    name : str
        Parameter name, for messages.
    per_target : bool
        Split 3-D arrays along axis 1.

    Returns
    -------
    list of ndarray, each shape (T_i, d), float64
    """
    items = list(data) if isinstance(data, (list, tuple)) else [data]
    if not items:
        raise ValueError(f"The '{name}' parameter of {owner} must hold at least one trajectory. Got an empty list.")
    out: list[np.ndarray] = []
    for k, item in enumerate(items):
        a = np.asarray(item, dtype=np.float64)
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim == 3 and per_target:
            out.extend(np.ascontiguousarray(a[:, j, :]) for j in range(a.shape[1]))
            continue
        if a.ndim != 2:
            raise ValueError(f"The '{name}' parameter of {owner} must hold arrays of shape (T, d)"
                             f"{' or (T, n_targets, d)' if per_target else ''}; trajectory {k} has shape {a.shape}.")
        out.append(a)
    d = out[0].shape[1]
    for k, a in enumerate(out):
        if a.shape[1] != d:
            raise ValueError(f"The '{name}' parameter of {owner}: trajectory {k} has {a.shape[1]} features, "
                             f"trajectory 0 has {d}.")
        if not np.all(np.isfinite(a)):
            bad = np.argwhere(~np.isfinite(a))[0]
            raise ValueError(f"The '{name}' parameter of {owner} must be finite; trajectory {k} has "
                             f"{a[tuple(bad)]} at frame {bad[0]}, feature {bad[1]}.")
    return out


def check_long_enough(owner: str, trajs: Sequence[np.ndarray], lag: int, name: str = "lag") -> None:
    """Raise unless at least one trajectory is longer than ``lag`` frames."""
    longest = max(len(t) for t in trajs)
    if longest <= lag:
        raise ValueError(f"The '{name}' parameter of {owner} ({lag} frames) must be shorter than the longest "
                         f"trajectory ({longest} frames): no time-lagged pair fits.")


# ----------------------------------------------------------------------------------------------
# streaming covariances
# ----------------------------------------------------------------------------------------------

@dataclass
class CovarianceState:
    """Additive sufficient statistics of time-lagged pairs.

    Attributes
    ----------
    n : int
        Number of pairs (x_t, x_{t+lag}).
    s0, st : ndarray, shape (d,), float64
        Sums of x_t and of x_{t+lag} over pairs.
    s00, s0t, stt : ndarray, shape (d, d), float64
        Sums of outer products x_t x_t^T, x_t x_{t+lag}^T and x_{t+lag} x_{t+lag}^T.
    """

    n: int = 0
    s0: np.ndarray = field(default_factory=lambda: np.zeros(0))
    st: np.ndarray = field(default_factory=lambda: np.zeros(0))
    s00: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    s0t: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    stt: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


def lagged_chunks(n_frames: int, lag: int, chunk_size: int) -> list[tuple[int, int]]:
    """Frame ranges that split one trajectory into chunks without losing or doubling a pair.

    Chunk ``k`` covers frames ``[start_k, stop_k)`` and overlaps the next one by ``lag``
    frames, so every pair ``(t, t + lag)`` falls in exactly one chunk as a whole.

    Parameters
    ----------
    n_frames : int
        Frames in the trajectory.
    lag : int
        Lag time in frames.
    chunk_size : int
        Pairs per chunk (first frames of pairs), >= 1.

    Returns
    -------
    list of (int, int)
        ``(start, stop)`` frame ranges to pass to :meth:`TimeLaggedCovariance.update`.
    """
    lag = check_int(lag, "lag", "lagged_chunks")
    chunk_size = check_int(chunk_size, "chunk_size", "lagged_chunks")
    n_pairs = max(int(n_frames) - lag, 0)
    return [(s, min(s + chunk_size, n_pairs) + lag) for s in range(0, n_pairs, int(chunk_size))]


class TimeLaggedCovariance(Estimator):
    """Streaming estimator of C00, C0t and Ctt from time-lagged pairs.

    Parameters
    ----------
    lag : int
        Lag time in frames (>= 1).
    remove_mean : bool
        Subtract the means of x_t and x_{t+lag} (over pairs) before forming the covariances.
        Leave False for soft state assignments, whose constant function must stay in the basis.

    Notes
    -----
    Normalisation is by the number of pairs N (no Bessel correction), as deeptime's
    ``VAMP``/``Covariance(bessels_correction=False)``. Use :meth:`fit` on a list of trajectories,
    or the featurizer protocol ``init_state / update / merge / finalize`` to stream.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(100, 2))
    >>> cov = TimeLaggedCovariance(lag=1).fit([x[:50], x[50:]]).fetch_model()
    >>> cov.n_pairs
    98
    """

    _parameters = {
        "lag": LAG,
        "remove_mean": Param("bool", help="subtract the means before forming the covariances"),
    }
    #: What :meth:`fit` takes (for the estimator contract tests), and a quick valid parameter set.
    _fit_input: ClassVar[str] = "features"
    _quick: ClassVar[dict[str, Any]] = {"lag": 1}

    def __init__(self, lag: int, remove_mean: bool = True) -> None:
        self._set_params(locals())
        self._state: CovarianceState | None = None

    def init_state(self) -> CovarianceState:
        """An empty state."""
        return CovarianceState()

    def update(self, state: CovarianceState, x: Any) -> CovarianceState:
        """Add the pairs ``(x[t], x[t+lag])`` of one trajectory piece; returns a new state.

        Parameters
        ----------
        state : CovarianceState
            Statistics so far (left unmodified).
        x : ndarray, shape (T, d) or (T,), float
            Consecutive frames of ONE trajectory; pieces shorter than lag + 1 add nothing.
        """
        lag = self.lag
        (a,) = as_trajectories(type(self).__name__, x, "x")
        if len(a) <= lag:
            return state
        x0, xt = a[:-lag], a[lag:]
        new = CovarianceState(len(x0), x0.sum(0), xt.sum(0), x0.T @ x0, x0.T @ xt, xt.T @ xt)
        return self.merge(state, new)

    def merge(self, a: CovarianceState, b: CovarianceState) -> CovarianceState:
        """Exact, associative merge of two states."""
        if a.n == 0:
            return b
        if b.n == 0:
            return a
        if a.s0.shape != b.s0.shape:
            raise ValueError(f"Cannot merge covariance states of {a.s0.shape[0]} and {b.s0.shape[0]} features.")
        return CovarianceState(a.n + b.n, a.s0 + b.s0, a.st + b.st, a.s00 + b.s00, a.s0t + b.s0t, a.stt + b.stt)

    def finalize(self, state: CovarianceState) -> "CovarianceModel":
        """Normalise a state into a :class:`CovarianceModel`."""
        lag, remove_mean = self.lag, self.remove_mean
        if state.n < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 time-lagged pairs at lag {lag} frames; "
                             f"got {state.n}. Give longer trajectories or a shorter 'lag'.")
        n = state.n
        m0, mt = state.s0 / n, state.st / n
        c00, c0t, ctt = state.s00 / n, state.s0t / n, state.stt / n
        if remove_mean:
            c00 = c00 - np.outer(m0, m0)
            c0t = c0t - np.outer(m0, mt)
            ctt = ctt - np.outer(mt, mt)
        return CovarianceModel(lag=lag, remove_mean=remove_mean, n_pairs=n, mean_0=_ro(m0), mean_t=_ro(mt),
                               cov_00=_ro(0.5 * (c00 + c00.T)), cov_0t=_ro(c0t), cov_tt=_ro(0.5 * (ctt + ctt.T)),
                               units={"lag": "frames", "mean_0": "feature units", "mean_t": "feature units",
                                      "cov_00": "feature units²", "cov_0t": "feature units²",
                                      "cov_tt": "feature units²"})

    def fit(self, data: Any) -> "TimeLaggedCovariance":
        """Accumulate all pairs of the given trajectories, replacing any earlier fit.

        Parameters
        ----------
        data : ndarray, shape (T, d), or list of such arrays, float
            One or several trajectories; pairs are formed inside each one only.

        Returns
        -------
        TimeLaggedCovariance
            ``self``.
        """
        trajs = as_trajectories(type(self).__name__, data)
        check_long_enough(type(self).__name__, trajs, self.lag)
        state = self.init_state()
        for t in trajs:
            state = self.update(state, t)
        self._model = self.finalize(state)  # validates: enough pairs
        self._state = state
        return self

    def partial_fit(self, x: Any) -> "TimeLaggedCovariance":
        """Add one more trajectory (or a :func:`lagged_chunks` piece of one) to the statistics.

        A model fetched earlier is not changed; the next :meth:`fetch_model` includes ``x``.
        """
        self._state = self.update(self._state or self.init_state(), x)
        self._model = None
        return self

    def fetch_model(self) -> "CovarianceModel":
        """The covariances of everything fitted so far (frozen; the statistics are kept)."""
        if self._state is None:
            raise NotFittedError(f"{type(self).__name__} has not been fitted: call fit(data) first.")
        if self._model is None:
            self._model = self.finalize(self._state)
        return self._model


@dataclass(frozen=True, eq=False, kw_only=True)
class CovarianceModel(Results, StoredModel):
    """Instantaneous and time-lagged covariances.

    Attributes
    ----------
    lag : int
        Lag time in frames.
    remove_mean : bool
        Whether the means were subtracted.
    n_pairs : int
        Number of time-lagged pairs used.
    mean_0, mean_t : ndarray, shape (d,), float64
        Means of x_t and x_{t+lag} over pairs (feature units).
    cov_00, cov_0t, cov_tt : ndarray, shape (d, d), float64
        C00 = <x_t x_t^T>, C0t = <x_t x_{t+lag}^T>, Ctt = <x_{t+lag} x_{t+lag}^T> (feature units²).
    """

    lag: int
    remove_mean: bool
    n_pairs: int
    mean_0: np.ndarray
    mean_t: np.ndarray
    cov_00: np.ndarray
    cov_0t: np.ndarray
    cov_tt: np.ndarray

    def koopman_matrix(self, epsilon: float = 1e-6) -> np.ndarray:
        """K = C00^{-1/2} C0t Ctt^{-1/2}; see :func:`koopman_matrix`."""
        return koopman_matrix(self, epsilon=epsilon)

    def score(self, r: int | float | str = 2, *, include_constant: bool = True, test: "CovarianceModel | None" = None,
              dim: int | None = None, epsilon: float = 1e-6) -> float:
        """VAMP score; see :func:`vamp_score`."""
        return vamp_score(self, r, include_constant=include_constant, test=test, dim=dim, epsilon=epsilon)


# ----------------------------------------------------------------------------------------------
# linear algebra
# ----------------------------------------------------------------------------------------------

def _spd_eig(c: np.ndarray, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(c, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(f"Expected a square covariance matrix; got shape {c.shape}.")
    s, v = np.linalg.eigh(0.5 * (c + c.T))
    order = np.argsort(s)[::-1]
    s, v = s[order], v[:, order]
    # eigenvalues below epsilon, or not clearly above the noise shown by negative ones, are dropped
    cut = max(float(epsilon), -float(s.min()) + 1e-16 if s.min() < 0 else 0.0)
    keep = s > cut
    if not keep.any():
        raise np.linalg.LinAlgError(f"All eigenvalues of the covariance matrix are below epsilon={epsilon}: "
                                    f"the features are constant or zero.")
    return s[keep], v[:, keep]


def inv_sqrt(c: np.ndarray, epsilon: float = 1e-6) -> np.ndarray:
    """Symmetric ε-truncated inverse square root C^{-1/2} of a covariance matrix.

    Parameters
    ----------
    c : ndarray, shape (d, d), float64
        Symmetric positive semi-definite matrix.
    epsilon : float
        Eigenvalues <= epsilon (and any not above the size of the most negative one) are
        dropped, giving the pseudo-inverse square root on the remaining subspace.

    Returns
    -------
    ndarray, shape (d, d), float64
    """
    s, v = _spd_eig(c, epsilon)
    return (v / np.sqrt(s)) @ v.T


def _pinv(c: np.ndarray, epsilon: float) -> np.ndarray:
    s, v = _spd_eig(c, epsilon)
    return (v / s) @ v.T


def koopman_matrix(cov: CovarianceModel, epsilon: float = 1e-6) -> np.ndarray:
    """Half-weighted Koopman matrix K = C00^{-1/2} C0t Ctt^{-1/2}.

    Parameters
    ----------
    cov : CovarianceModel
        Covariances (see :class:`TimeLaggedCovariance`).
    epsilon : float
        Truncation of the inverse square roots (see :func:`inv_sqrt`).

    Returns
    -------
    ndarray, shape (d, d), float64
        Dimensionless; its singular values are the canonical correlations of the features.
    """
    return inv_sqrt(cov.cov_00, epsilon) @ cov.cov_0t @ inv_sqrt(cov.cov_tt, epsilon)


def singular_values(cov: CovarianceModel, epsilon: float = 1e-6) -> np.ndarray:
    """Singular values of :func:`koopman_matrix` in descending order, shape (d,), float64, dimensionless.

    Parameters
    ----------
    cov : CovarianceModel
    epsilon : float
        Eigenvalue cut-off of the covariance inverses (see :func:`koopman_matrix`).
    """
    return np.linalg.svd(koopman_matrix(cov, epsilon), compute_uv=False)


def _check_r(r: Any) -> float | str:
    if isinstance(r, str):
        key = r.strip().upper().replace("VAMP", "").replace("-", "")
        if key == "E":
            return "E"
        try:
            r = float(key)
        except ValueError:
            r = None
    if r is None or isinstance(r, bool) or not isinstance(r, (int, float, np.number)) or not r >= 1:
        raise invalid("r", "vamp_score", "a number >= 1 (1: VAMP-1, 2: VAMP-2) or 'E' (VAMP-E)", r)
    return float(r)


def vamp_score(cov: CovarianceModel, r: int | float | str = 2, *, include_constant: bool = True,
               test: CovarianceModel | None = None, dim: int | None = None, epsilon: float = 1e-6) -> float:
    """VAMP-r or VAMP-E score of the features behind ``cov``.

    Parameters
    ----------
    cov : CovarianceModel
        Covariances of the training data; they define the singular functions.
    r : {1, 2, 'E'} or float >= 1
        VAMP-1 (sum of singular values), VAMP-2 (sum of their squares), general VAMP-r, or VAMP-E.
    include_constant : bool
        True: deeptime's convention, the constant singular function (singular value 1) is
        counted: mean-free covariances get ``+ 1``. False: GDyNet's convention, it is left out.
        With ``remove_mean=False`` covariances (e.g. soft assignments) the constant function must
        lie in the span of the features; its singular value (1) is then dropped for False.
    test : CovarianceModel, optional
        Covariances of held-out data for a cross-validated score (same lag and mean handling).
    dim : int, optional
        Score only the ``dim`` largest singular values (not counting the added constant).
    epsilon : float
        Truncation of the inverse square roots.

    Returns
    -------
    float
        Dimensionless score.
    """
    key = _check_r(r)
    include_constant = check_bool(include_constant, "include_constant", "vamp_score")
    test = cov if test is None else test
    if test.remove_mean != cov.remove_mean or test.cov_00.shape != cov.cov_00.shape:
        raise ValueError("The 'test' covariances of vamp_score must have the same features and mean handling as "
                         f"'cov'; got remove_mean={test.remove_mean}, {test.cov_00.shape[0]} features vs "
                         f"remove_mean={cov.remove_mean}, {cov.cov_00.shape[0]} features.")
    a, b = inv_sqrt(cov.cov_00, epsilon), inv_sqrt(cov.cov_tt, epsilon)
    u, s, vt = np.linalg.svd(a @ cov.cov_0t @ b)
    keep = s > epsilon
    u, s, v = a @ u[:, keep], s[keep], b @ vt[keep].T
    drop_first = False
    if not cov.remove_mean and not include_constant:
        if s.size == 0 or abs(s[0] - 1.0) > 1e-6:
            raise ValueError("vamp_score(include_constant=False) on covariances with remove_mean=False needs "
                             "features whose span holds the constant function (e.g. soft assignments whose rows "
                             f"sum to 1): the largest singular value should be 1, got {s[0] if s.size else 'none'}.")
        drop_first = True
    if drop_first:
        u, s, v = u[:, 1:], s[1:], v[:, 1:]
    if dim is not None:
        dim = check_int(dim, "dim", "vamp_score")
        u, s, v = u[:, :dim], s[:dim], v[:, :dim]
    if key == "E":
        kd = np.diag(s)
        score = float(np.trace(2.0 * kd @ u.T @ test.cov_0t @ v
                               - kd @ u.T @ test.cov_00 @ u @ kd @ v.T @ test.cov_tt @ v))
    elif test is cov:
        score = float(np.sum(s ** key))
    else:
        m = (inv_sqrt(u.T @ test.cov_00 @ u, epsilon) @ (u.T @ test.cov_0t @ v)
             @ inv_sqrt(v.T @ test.cov_tt @ v, epsilon))
        score = float(np.sum(np.linalg.svd(m, compute_uv=False) ** key))
    if cov.remove_mean and include_constant:
        score += 1.0
    return score


# ----------------------------------------------------------------------------------------------
# soft assignments
# ----------------------------------------------------------------------------------------------

def _project_rows_to_simplex(k: np.ndarray) -> np.ndarray:
    # Euclidean projection of each row onto {p >= 0, sum p = 1} (sort-based algorithm)
    m = k.shape[1]
    srt = -np.sort(-k, axis=1)
    css = np.cumsum(srt, axis=1) - 1.0
    idx = np.arange(1, m + 1)
    cond = srt - css / idx > 0
    rho = m - 1 - np.argmax(cond[:, ::-1], axis=1)
    theta = css[np.arange(k.shape[0]), rho] / (rho + 1)
    return np.maximum(k - theta[:, None], 0.0)


def soft_koopman_matrix(cov: CovarianceModel, *, stochastic: bool = False, epsilon: float = 1e-10,
                        max_iter: int = 10000, tol: float = 1e-12) -> np.ndarray:
    """Koopman (transition) matrix between m soft states: K = C00^{-1} C0t.

    Parameters
    ----------
    cov : CovarianceModel
        Covariances of state probabilities (rows summing to 1), built with ``remove_mean=False``.
    stochastic : bool
        False: the unconstrained least-squares solution K = C00^{-1} C0t (rows sum to 1 but
        entries may be negative). True: the least-squares solution constrained to row-stochastic
        matrices (non-negative rows summing to 1), minimising ``tr(K^T C00 K) - 2 tr(K^T C0t)``
        by accelerated projected gradient descent.
    epsilon : float
        Truncation of the pseudo-inverse of C00.
    max_iter : int
        Iterations of the constrained solver.
    tol : float
        Convergence threshold on the largest change of an entry.

    Returns
    -------
    ndarray, shape (m, m), float64
        Dimensionless transition matrix at ``cov.lag``.
    """
    if cov.remove_mean:
        raise ValueError("soft_koopman_matrix needs covariances with remove_mean=False "
                         "(the constant function must stay in the basis); got remove_mean=True.")
    k = _pinv(cov.cov_00, epsilon) @ cov.cov_0t
    if not stochastic:
        return k
    c00, c0t = np.asarray(cov.cov_00), np.asarray(cov.cov_0t)
    step = 1.0 / max(float(np.linalg.eigvalsh(c00).max()), 1e-300)
    x = _project_rows_to_simplex(k)
    y, t = x.copy(), 1.0
    for _ in range(int(max_iter)):
        x_new = _project_rows_to_simplex(y - step * (c00 @ y - c0t))
        t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        y = x_new + ((t - 1.0) / t_new) * (x_new - x)
        done = np.max(np.abs(x_new - x)) < tol
        x, t = x_new, t_new
        if done:
            break
    return x


def stationary_distribution(k: np.ndarray) -> np.ndarray:
    """Stationary populations of a transition (Koopman) matrix between states.

    Parameters
    ----------
    k : ndarray, shape (m, m), float
        Row-stochastic (or rows summing to 1) transition matrix.

    Returns
    -------
    ndarray, shape (m,), float64
        Left eigenvector for the eigenvalue closest to 1, normalised to sum 1 (dimensionless).
    """
    k = np.asarray(k, dtype=np.float64)
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise ValueError(f"The 'k' parameter of stationary_distribution must be a square matrix. Got shape {k.shape}.")
    w, vl = np.linalg.eig(k.T)
    i = int(np.argmin(np.abs(w - 1.0)))
    p = np.real(vl[:, i])
    return p / p.sum()

