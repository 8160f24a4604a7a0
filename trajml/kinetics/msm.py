"""Markov state models of discrete trajectories, built through deeptime.

Every target atom (each Li⁺, say) can give its own discrete trajectory; counts are
pooled over trajectories and a transition is never counted across two of them. Lags are
given in frames and reported in ps (``lag × dt_ps``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

import numpy as np

from trajml._validation import Param, check_float, check_int, invalid
from trajml.base import Estimator
from trajml.kinetics._counts import PooledCounts
from trajml.kinetics.koopman import LAG, _ro
from trajml.results import Results
from trajml.store.models import StoredModel, load_model, save_model

__all__ = ["MarkovModel", "MSMModel", "implied_timescales", "ImpliedTimescalesResults", "ck_test", "CKTestResults",
           "as_dtrajs"]


# ----------------------------------------------------------------------------------------------
# validation helpers
# ----------------------------------------------------------------------------------------------

def as_dtrajs(owner: str, dtrajs: Any, name: str = "dtrajs") -> list[np.ndarray]:
    """Validate discrete trajectories: a 1-D int array, a 2-D (T, n_targets) array (one per target) or a list.

    Returns
    -------
    list of ndarray, each shape (T_i,), int32
        State indices >= 0.
    """
    if isinstance(dtrajs, np.ndarray) and dtrajs.ndim == 2:
        items = [dtrajs[:, j] for j in range(dtrajs.shape[1])]
    elif isinstance(dtrajs, (list, tuple)):
        items = list(dtrajs)
    else:
        items = [dtrajs]
    if not items:
        raise ValueError(f"The '{name}' parameter of {owner} must hold at least one discrete trajectory. Got none.")
    out = []
    for k, d in enumerate(items):
        a = np.asarray(d)
        if a.ndim != 1:
            raise ValueError(f"The '{name}' parameter of {owner} must hold 1-D arrays of state indices; "
                             f"trajectory {k} has shape {a.shape}.")
        if a.size and (not np.issubdtype(a.dtype, np.integer)):
            if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
                raise ValueError(f"The '{name}' parameter of {owner} must hold integer state indices; "
                                 f"trajectory {k} has dtype {a.dtype} with non-integer values (e.g. NaN).")
        if a.size and a.min() < 0:
            raise ValueError(f"The '{name}' parameter of {owner} must hold state indices >= 0; "
                             f"trajectory {k} has {int(a.min())}.")
        out.append(a.astype(np.int32))
    return out


def _check_enough(owner: str, dtrajs: Sequence[np.ndarray], lag: int) -> None:
    longest = max(len(d) for d in dtrajs)
    if longest <= lag:
        raise ValueError(f"The 'lag' parameter of {owner} ({lag} frames) must be shorter than the longest "
                         f"discrete trajectory ({longest} frames): no transition fits.")


def _check_bootstrap(owner: str, n_bootstrap: Any, block_frames: Any, n_trajs: int, lag: int) -> tuple[int, int | None]:
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", owner, minimum=0)
    if block_frames is not None:
        if isinstance(block_frames, bool) or not isinstance(block_frames, (int, np.integer)) or block_frames <= lag:
            raise invalid("block_frames", owner, f"an int longer than the largest lag ({lag} frames) or None",
                          block_frames)
        return int(n_bootstrap), int(block_frames)
    if n_bootstrap > 0 and n_trajs < 2:
        raise ValueError(f"{owner} bootstraps whole trajectories but got only 1; give one trajectory per target "
                         f"atom or set 'block_frames' to resample blocks of one trajectory.")
    return int(n_bootstrap), None


def _fit_deeptime(dtrajs: Sequence[np.ndarray], lag: int, n_states: int, reversible: bool) -> Any:
    return _fit_counts(PooledCounts(dtrajs, n_states).total(lag), lag, reversible)


def _fit_counts(counts: np.ndarray, lag: int, reversible: bool) -> Any:
    """deeptime's maximum-likelihood MSM on the largest strongly connected set of sliding ``counts``."""
    from deeptime.markov import TransitionCountModel
    from deeptime.markov.msm import MaximumLikelihoodMSM

    if not counts.sum() > 0:
        raise ValueError(f"No transition at lag {lag} frames in the discrete trajectories.")
    model = TransitionCountModel(counts, lagtime=lag).submodel_largest(directed=True)
    return MaximumLikelihoodMSM(reversible=reversible, lagtime=lag).fit(model).fetch_model()


def _timescales(eigenvalues: np.ndarray, lag_ps: float) -> np.ndarray:
    lam = np.abs(eigenvalues[1:])
    with np.errstate(divide="ignore"):
        return -lag_ps / np.log(np.minimum(lam, 1.0 - 1e-15))


# ----------------------------------------------------------------------------------------------
# model and estimator
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, kw_only=True)
class MSMModel(Results, StoredModel):
    """A fitted (reversible) Markov state model.

    Attributes
    ----------
    lag : int
        Lag time in frames.
    dt_ps : float
        Time between frames in ps.
    lag_ps : float
        Lag time in ps (``lag * dt_ps``).
    reversible : bool
        Whether detailed balance was enforced.
    n_states : int
        States in the input (largest index + 1).
    active_set : ndarray, shape (n,), int64
        Input states of the largest strongly connected set, on which the model lives.
    count_matrix : ndarray, shape (n, n), float64
        Sliding-window transition counts at ``lag`` on the active set.
    transition_matrix : ndarray, shape (n, n), float64
        Row-stochastic transition matrix at ``lag`` (dimensionless).
    populations : ndarray, shape (n,), float64
        Stationary populations of the active states (sum 1).
    eigenvalues : ndarray, shape (n,), float64
        Eigenvalues of the transition matrix, by decreasing modulus (the first is 1).
    timescales_ps : ndarray, shape (n - 1,), float64
        Implied timescales -lag_ps / ln|λ_i|, i >= 1, in ps.
    n_metastable : int or None
        Metastable sets of the PCCA+ coarse-graining (None: not done).
    pcca_memberships : ndarray, shape (n, n_metastable), float64, or None
        Fuzzy membership of each active state in each metastable set.
    metastable_assignment : ndarray, shape (n,), int64, or None
        Most likely metastable set of each active state.
    metastable_populations : ndarray, shape (n_metastable,), float64, or None
        Stationary populations of the metastable sets.
    metastable_transition_matrix : ndarray, shape (n_metastable, n_metastable), float64, or None
        Coarse-grained transition matrix at ``lag``.
    """

    lag: int
    dt_ps: float
    lag_ps: float
    reversible: bool
    n_states: int
    active_set: np.ndarray
    count_matrix: np.ndarray
    transition_matrix: np.ndarray
    populations: np.ndarray
    eigenvalues: np.ndarray
    timescales_ps: np.ndarray
    n_metastable: int | None = None
    pcca_memberships: np.ndarray | None = None
    metastable_assignment: np.ndarray | None = None
    metastable_populations: np.ndarray | None = None
    metastable_transition_matrix: np.ndarray | None = None

    _UNITS = {"lag": "frames", "dt_ps": "ps", "lag_ps": "ps", "count_matrix": "", "transition_matrix": "",
              "populations": "", "eigenvalues": "", "timescales_ps": "ps", "pcca_memberships": "",
              "metastable_populations": "", "metastable_transition_matrix": ""}

    def timescales(self, k: int | None = None) -> np.ndarray:
        """The ``k`` slowest implied timescales in ps, shape (k,), float64."""
        return self.timescales_ps if k is None else self.timescales_ps[:k]

    def propagate(self, p0: Any, n_steps: int) -> np.ndarray:
        """Distribution over active states after ``n_steps`` lags, shape (n,), float64."""
        p = np.asarray(p0, dtype=np.float64)
        if p.shape != (len(self.active_set),):
            raise ValueError(f"The 'p0' parameter of MSMModel.propagate must have shape ({len(self.active_set)},). "
                             f"Got {p.shape} instead.")
        return p @ np.linalg.matrix_power(self.transition_matrix, int(n_steps))

    def full_populations(self) -> np.ndarray:
        """Stationary populations over all ``n_states`` input states (0 outside the active set), shape (n_states,)."""
        out = np.zeros(self.n_states)
        out[self.active_set] = self.populations
        return out

    def save(self, path: Any) -> None:
        """Write the model to an ``.npz`` file (see :func:`trajml.store.save_model`)."""
        save_model(self, path)

    @classmethod
    def load(cls, path: Any) -> "MSMModel":
        """Read a model written by :meth:`save`; refuses files of another model type or version."""
        return load_model(path, expected=cls)


def _model_from_deeptime(msm: Any, lag: int, dt_ps: float, n_states: int, reversible: bool,
                         n_metastable: int | None, provenance: dict[str, Any]) -> MSMModel:
    from deeptime.markov import pcca

    t = np.asarray(msm.transition_matrix, dtype=np.float64)
    pi = np.asarray(msm.stationary_distribution, dtype=np.float64)
    ev = np.linalg.eigvals(t)
    ev = np.real(ev[np.argsort(-np.abs(ev))])
    lag_ps = lag * dt_ps
    meta: dict[str, Any] = {}
    n = t.shape[0]
    if n_metastable is not None:
        if n_metastable > n:
            raise ValueError(f"The 'n_metastable' parameter of MarkovModel ({n_metastable}) must not exceed the "
                             f"number of active states ({n}).")
        if n_metastable < n:
            p = pcca(t, n_metastable, stationary_distribution=pi)
            memb = np.asarray(p.memberships, dtype=np.float64)
        else:
            memb = np.eye(n)
        cg_pi = pi @ memb
        w = memb * pi[:, None]
        cg_t = (w.T @ t @ memb) / cg_pi[:, None]
        meta = dict(pcca_memberships=_ro(memb), metastable_assignment=np.argmax(memb, axis=1).astype(np.int64),
                    metastable_populations=_ro(cg_pi), metastable_transition_matrix=_ro(cg_t))
    return MSMModel(lag=lag, dt_ps=dt_ps, lag_ps=lag_ps, reversible=reversible, n_states=n_states,
                    active_set=np.asarray(msm.count_model.state_symbols, dtype=np.int64),
                    count_matrix=_ro(msm.count_model.count_matrix), transition_matrix=_ro(t), populations=_ro(pi),
                    eigenvalues=_ro(ev), timescales_ps=_ro(_timescales(ev, lag_ps)), n_metastable=n_metastable,
                    units=dict(MSMModel._UNITS), provenance=provenance, **meta)


class MarkovModel(Estimator):
    """Estimator of a maximum-likelihood Markov state model (deeptime under the hood).

    Parameters
    ----------
    lag : int
        Lag time in frames (>= 1).
    dt_ps : float
        Time between frames in ps (> 0); timescales are reported in ps.
    reversible : bool
        Enforce detailed balance (default True).
    n_metastable : int, optional
        Coarse-grain into this many metastable sets with PCCA+ (needs a reversible model).

    Examples
    --------
    >>> import numpy as np
    >>> d = np.array([0, 0, 1, 1, 0, 1, 1, 1, 0, 0] * 20)
    >>> m = MarkovModel(lag=1, dt_ps=2.0).fit(d).fetch_model()
    >>> m.lag_ps
    2.0
    """

    _parameters = {
        "lag": LAG,
        "dt_ps": Param("float", help="time between frames", unit="ps", positive=True),
        "reversible": Param("bool", help="enforce detailed balance"),
        "n_metastable": Param("int", help="metastable sets of a PCCA+ coarse-graining", minimum=1, nullable=True,
                              none_help="no coarse-graining"),
    }
    #: What :meth:`fit` takes (for the estimator contract tests), and a quick valid parameter set.
    _fit_input: ClassVar[str] = "dtrajs"
    _quick: ClassVar[dict[str, Any]] = {"lag": 1, "n_metastable": 2}

    def __init__(self, lag: int, dt_ps: float = 1.0, reversible: bool = True, n_metastable: int | None = None) -> None:
        self._set_params(locals())
        self._model: MSMModel | None = None

    @classmethod
    def _check_relations(cls, values: dict[str, Any]) -> None:
        if values.get("n_metastable") is not None and values.get("reversible") is False:
            raise invalid("n_metastable", cls.__name__, "None unless reversible=True (PCCA+ needs a reversible model)",
                          values["n_metastable"])

    def fit(self, dtrajs: Any, n_states: int | None = None) -> "MarkovModel":
        """Estimate the model, replacing any earlier fit.

        Parameters
        ----------
        dtrajs : ndarray, shape (T,) or (T, n_targets), int, or list of ndarray (T_i,), int
            Discrete trajectories (one per target atom for 2-D input).
        n_states : int, optional
            Number of states (default: largest index + 1).

        Returns
        -------
        MarkovModel
            ``self``.
        """
        lag, dt, rev, m = self.lag, self.dt_ps, self.reversible, self.n_metastable
        owner = type(self).__name__
        d = as_dtrajs(owner, dtrajs)
        _check_enough(owner, d, lag)
        ns = max(int(x.max()) for x in d if x.size) + 1
        if n_states is not None:
            if n_states < ns:
                raise ValueError(f"The 'n_states' parameter of {owner}.fit ({n_states}) must exceed the largest "
                                 f"state index ({ns - 1}).")
            ns = int(n_states)
        msm = _fit_deeptime(d, lag, ns, rev)
        prov = {"estimator": owner, "lag": lag, "dt_ps": dt, "reversible": rev, "n_metastable": m,
                "n_trajectories": len(d), "n_frames": int(sum(len(x) for x in d))}
        self._model = _model_from_deeptime(msm, lag, dt, ns, rev, m, prov)
        return self


# ----------------------------------------------------------------------------------------------
# implied timescales
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, kw_only=True)
class ImpliedTimescalesResults(Results):
    """Implied timescales as a function of the lag time.

    Attributes
    ----------
    lags : ndarray, shape (n_lags,), int64
        Lag times in frames.
    lags_ps : ndarray, shape (n_lags,), float64
        Lag times in ps.
    timescales_ps : ndarray, shape (n_lags, n_its), float64
        Implied timescales in ps of the point estimates (NaN where a model has fewer).
    lower, upper : ndarray, shape (n_lags, n_its), float64, or None
        Bootstrap percentile confidence interval in ps (None without bootstrapping).
    confidence : float
        Level of the interval (e.g. 0.95).
    n_bootstrap : int
        Bootstrap samples.
    dt_ps : float
        Time between frames in ps.
    """

    lags: np.ndarray
    lags_ps: np.ndarray
    timescales_ps: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    confidence: float
    n_bootstrap: int
    dt_ps: float

    _DIMS = {"lags": ("lags",), "lags_ps": ("lags",), "timescales_ps": ("lags", "process"),
             "lower": ("lags", "process"), "upper": ("lags", "process")}


def _check_lags(owner: str, lags: Any) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(lags))
    if arr.size == 0 or not np.issubdtype(arr.dtype, np.integer) or arr.min() < 1:
        raise invalid("lags", owner, "a non-empty sequence of ints >= 1 (frames)", lags)
    return arr.astype(np.int64)


def _its_row(pool: PooledCounts, weights: np.ndarray | None, lag: int, rev: bool, dt: float,
             n_its: int) -> np.ndarray:
    row = np.full(n_its, np.nan)
    try:
        msm = _fit_counts(pool.total(lag, weights), lag, rev)
    except ValueError:
        return row
    ev = np.linalg.eigvals(np.asarray(msm.transition_matrix))
    ts = _timescales(np.real(ev[np.argsort(-np.abs(ev))]), lag * dt)[:n_its]
    row[:len(ts)] = ts
    return row


def implied_timescales(dtrajs: Any, lags: Any, dt_ps: float = 1.0, *, n_its: int = 3, reversible: bool = True,
                       n_bootstrap: int = 0, block_frames: int | None = None, confidence: float = 0.95,
                       seed: int | None = None) -> ImpliedTimescalesResults:
    """Implied timescales of MSMs at several lags, with bootstrap confidence intervals.

    Parameters
    ----------
    dtrajs : ndarray, shape (T,) or (T, n_targets), int, or list of ndarray (T_i,), int
        Discrete trajectories; a 2-D array gives one per target atom (e.g. per Li⁺).
    lags : sequence of int
        Lag times in frames.
    dt_ps : float
        Time between frames in ps.
    n_its : int
        Number of slowest timescales to report.
    reversible : bool
        Reversible maximum-likelihood MSMs.
    n_bootstrap : int
        Bootstrap samples (0: none). Whole trajectories are resampled with replacement, or,
        with ``block_frames``, blocks of that many frames cut from them.
    block_frames : int, optional
        Block length in frames for the bootstrap (must exceed the largest lag).
    confidence : float
        Level of the percentile interval, in (0, 1).
    seed : int, optional
        Seed of the bootstrap.

    Returns
    -------
    ImpliedTimescalesResults
    """
    owner = "implied_timescales"
    dt = check_float(dt_ps, "dt_ps", owner, unit="ps")
    lag_arr = _check_lags(owner, lags)
    n_its = check_int(n_its, "n_its", owner)
    confidence = check_float(confidence, "confidence", owner, high=1.0, unit="")
    d = as_dtrajs(owner, dtrajs)
    _check_enough(owner, d, int(lag_arr.max()))
    nb, block = _check_bootstrap(owner, n_bootstrap, block_frames, len(d), int(lag_arr.max()))
    ns = max(int(x.max()) for x in d if x.size) + 1
    ts = np.stack([_its_row(PooledCounts(d, ns), None, int(lag), reversible, dt, n_its) for lag in lag_arr])
    lower = upper = None
    if nb:
        rng = np.random.default_rng(seed)
        pool = PooledCounts(d, ns, block)  # each item counted once per lag; samples sum them with weights
        samples = np.empty((nb,) + ts.shape)
        for b in range(nb):
            w = pool.draw(rng)
            samples[b] = np.stack([_its_row(pool, w, int(lag), reversible, dt, n_its) for lag in lag_arr])
        alpha = 100 * (1 - float(confidence)) / 2
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                lower = np.nanpercentile(samples, alpha, axis=0)
                upper = np.nanpercentile(samples, 100 - alpha, axis=0)
    prov = {"function": owner, "reversible": reversible, "n_trajectories": len(d), "block_frames": block,
            "seed": seed}
    return ImpliedTimescalesResults(lags=lag_arr, lags_ps=lag_arr * dt, timescales_ps=ts, lower=lower, upper=upper,
                                    confidence=float(confidence), n_bootstrap=nb, dt_ps=dt,
                                    units={"lags": "frames", "lags_ps": "ps", "timescales_ps": "ps", "lower": "ps",
                                           "upper": "ps", "dt_ps": "ps", "confidence": ""},
                                    provenance=prov)


# ----------------------------------------------------------------------------------------------
# Chapman-Kolmogorov test
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, kw_only=True)
class CKTestResults(Results):
    """Chapman–Kolmogorov test: set-to-set probabilities predicted from the lag-τ model vs estimated at kτ.

    Attributes
    ----------
    lags : ndarray, shape (n_lags,), int64
        k·τ in frames, k = 0..mlags.
    lags_ps : ndarray, shape (n_lags,), float64
        The same in ps.
    predicted, estimated : ndarray, shape (n_lags, n_sets, n_sets), float64
        P(in set j at time kτ | in set i, stationary within i at 0): from T(τ)^k and from T(kτ).
    predicted_lower, predicted_upper : ndarray, shape (n_lags, n_sets, n_sets), float64, or None
        Bootstrap percentile intervals.
    estimated_lower, estimated_upper : ndarray, shape (n_lags, n_sets, n_sets), float64, or None
        Bootstrap percentile intervals.
    predicted_std, estimated_std : ndarray, shape (n_lags, n_sets, n_sets), float64, or None
        Bootstrap standard deviations.
    memberships : ndarray, shape (n_states, n_sets), float64
        Membership of each input state in each set (PCCA+ or given).
    confidence : float
        Level of the intervals.
    """

    lags: np.ndarray
    lags_ps: np.ndarray
    predicted: np.ndarray
    estimated: np.ndarray
    predicted_lower: np.ndarray | None
    predicted_upper: np.ndarray | None
    estimated_lower: np.ndarray | None
    estimated_upper: np.ndarray | None
    predicted_std: np.ndarray | None
    estimated_std: np.ndarray | None
    memberships: np.ndarray
    confidence: float

    # Named dimensions (to_xarray, arrays.nc): the lags, the sets a probability goes from and to, the input states.
    _DIMS = {"lags": ("lags",), "lags_ps": ("lags",), "memberships": ("state", "set"),
             **{k: ("lags", "set", "set_to") for k in ("predicted", "estimated", "predicted_lower", "predicted_upper",
                                                       "estimated_lower", "estimated_upper", "predicted_std",
                                                       "estimated_std")}}

    @property
    def deviation_sigma(self) -> np.ndarray:
        """``|predicted − estimated|`` in units of the combined bootstrap standard deviation,
        shape (n_lags, n_sets, n_sets)."""
        if self.predicted_std is None or self.estimated_std is None:
            raise ValueError("deviation_sigma needs a CK test run with n_bootstrap > 0.")
        sd = np.sqrt(self.predicted_std ** 2 + self.estimated_std ** 2)
        return np.abs(self.predicted - self.estimated) / np.maximum(sd, 1e-12)

    def passed(self, n_sigma: float = 3.0) -> bool:
        """True when every prediction lies within ``n_sigma`` combined bootstrap standard deviations."""
        return bool(np.all(self.deviation_sigma[1:] <= n_sigma))


def _set_probabilities(msm: Any, memb_full: np.ndarray, k: int) -> np.ndarray:
    act = np.asarray(msm.count_model.state_symbols)
    t = np.asarray(msm.transition_matrix)
    pi = np.asarray(msm.stationary_distribution)
    m = memb_full[act]
    w = m * pi[:, None]
    norm = w.sum(0)
    tk = np.linalg.matrix_power(t, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w.T @ tk @ m) / norm[:, None]


def ck_test(dtrajs: Any, lag: int, dt_ps: float = 1.0, *, mlags: int = 5, n_metastable: int | None = None,
            sets: Sequence[Sequence[int]] | None = None, reversible: bool = True, n_bootstrap: int = 0,
            block_frames: int | None = None, confidence: float = 0.95, seed: int | None = None) -> CKTestResults:
    """Chapman–Kolmogorov test of an MSM at ``lag``.

    Parameters
    ----------
    dtrajs : ndarray, shape (T,) or (T, n_targets), int, or list of ndarray (T_i,), int
        Discrete trajectories.
    lag : int
        Lag τ of the tested model, in frames.
    dt_ps : float
        Time between frames in ps.
    mlags : int
        Largest multiple k of τ compared.
    n_metastable : int, optional
        Test on the PCCA+ metastable sets of the lag-τ model (fuzzy memberships).
    sets : sequence of sequences of int, optional
        Test on these sets of input states instead. Default (neither): every state is a set.
    reversible : bool
        Reversible maximum-likelihood MSMs.
    n_bootstrap, block_frames, confidence, seed
        Bootstrap of trajectories (or blocks), as in :func:`implied_timescales`.

    Returns
    -------
    CKTestResults
    """
    owner = "ck_test"
    lag = check_int(lag, "lag", owner)
    dt = check_float(dt_ps, "dt_ps", owner, unit="ps")
    mlags = check_int(mlags, "mlags", owner)
    confidence = check_float(confidence, "confidence", owner, high=1.0, unit="")
    d = as_dtrajs(owner, dtrajs)
    _check_enough(owner, d, lag * int(mlags))
    nb, block = _check_bootstrap(owner, n_bootstrap, block_frames, len(d), lag * int(mlags))
    ns = max(int(x.max()) for x in d if x.size) + 1
    base = _fit_deeptime(d, lag, ns, reversible)
    if sets is not None and n_metastable is not None:
        raise ValueError(f"{owner} takes either 'sets' or 'n_metastable', not both.")
    if sets is not None:
        memb = np.zeros((ns, len(sets)))
        for j, s in enumerate(sets):
            memb[np.asarray(list(s), dtype=np.int64), j] = 1.0
    elif n_metastable is not None:
        model = _model_from_deeptime(base, lag, dt, ns, reversible, int(n_metastable), {})
        memb = np.zeros((ns, int(n_metastable)))
        memb[model.active_set] = model.pcca_memberships
    else:
        memb = np.eye(ns)
    ks = np.arange(int(mlags) + 1)

    def run(pool: PooledCounts, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        b = _fit_counts(pool.total(lag, w), lag, reversible)
        pred = np.stack([_set_probabilities(b, memb, int(k)) for k in ks])
        est = [_set_probabilities(b, memb, 0)]
        for k in ks[1:]:
            try:
                est.append(_set_probabilities(_fit_counts(pool.total(lag * int(k), w), lag * int(k), reversible),
                                              memb, 1))
            except ValueError:
                est.append(np.full_like(est[0], np.nan))
        return pred, np.stack(est)

    pred, est = run(PooledCounts(d, ns), None)
    extra: dict[str, Any] = dict.fromkeys(["predicted_lower", "predicted_upper", "estimated_lower", "estimated_upper",
                                           "predicted_std", "estimated_std"])
    if nb:
        import warnings

        rng = np.random.default_rng(seed)
        pool = PooledCounts(d, ns, block)
        ps, es = [], []
        for _ in range(nb):
            try:
                p, e = run(pool, pool.draw(rng))
            except ValueError:
                continue
            ps.append(p)
            es.append(e)
        ps_a, es_a = np.stack(ps), np.stack(es)
        alpha = 100 * (1 - float(confidence)) / 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            extra.update(predicted_lower=np.nanpercentile(ps_a, alpha, 0),
                         predicted_upper=np.nanpercentile(ps_a, 100 - alpha, 0),
                         estimated_lower=np.nanpercentile(es_a, alpha, 0),
                         estimated_upper=np.nanpercentile(es_a, 100 - alpha, 0),
                         predicted_std=np.nanstd(ps_a, 0), estimated_std=np.nanstd(es_a, 0))
    return CKTestResults(lags=ks * lag, lags_ps=ks * lag * dt, predicted=pred, estimated=est, memberships=memb,
                         confidence=float(confidence),
                         units={"lags": "frames", "lags_ps": "ps", "predicted": "", "estimated": "", "memberships": ""},
                         provenance={"function": owner, "lag": lag, "dt_ps": dt, "mlags": int(mlags),
                                     "n_bootstrap": nb, "seed": seed, "block_frames": block},
                         **extra)



