"""The classic route: engineered features → TICA (or VAMP) → k-means → Markov state model.

Features are per-frame descriptors such as per-Li⁺ coordination numbers by species
(:class:`trajml.features.Coordination` with ``keep_per_frame=True``). A 3-D array of shape
(T, n_targets, d) gives each target atom its own trajectory of its own features; time-lagged
pairs and transitions are never formed across two targets or two trajectories.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from trajml._validation import Param
from trajml.base import Estimator
from trajml.kinetics.koopman import (
    LAG,
    TimeLaggedCovariance,
    _ro,
    _spd_eig,
    as_trajectories,
    check_long_enough,
)
from trajml.kinetics.msm import MarkovModel, MSMModel
from trajml.results import Results
from trajml.store.models import StoredModel, load_model, save_model

__all__ = ["KineticProjection", "ProjectionModel", "TICAMarkovModel", "TICAMSMModel"]

_METHODS = ("tica", "vamp")
_SCALINGS = ("kinetic_map", None)

# Declarations shared by KineticProjection and TICAMarkovModel.
_DIM = Param("int", help="projected components kept", minimum=1, nullable=True, none_help="all")
_METHOD = Param("str", help="projection: TICA (reversible) or VAMP", choices=_METHODS)
_SCALING = Param("str", help="scale components by their eigen/singular values", choices=_SCALINGS)
_DT = Param("float", help="time between frames", unit="ps", positive=True)
_PER_TARGET = Param("bool", help="split (T, n_targets, d) features into one trajectory per target atom")


@dataclass(frozen=True, eq=False, kw_only=True)
class ProjectionModel(Results, StoredModel):
    """A linear projection onto slow collective variables (TICA or VAMP).

    Attributes
    ----------
    method : str
        "tica" (reversible, symmetrised covariances) or "vamp" (left singular functions).
    lag : int
        Lag time in frames.
    dt_ps : float
        Time between frames in ps.
    scaling : str or None
        "kinetic_map" scales each component by its eigen/singular value; None leaves them whitened.
    mean : ndarray, shape (d,), float64
        Feature mean subtracted before projecting (feature units).
    coefficients : ndarray, shape (d, dim), float64
        Projection matrix (whitened components, before scaling).
    eigenvalues : ndarray, shape (dim,), float64
        TICA eigenvalues or VAMP singular values at ``lag`` (dimensionless), decreasing.
    timescales_ps : ndarray, shape (dim,), float64
        -lag·dt_ps / ln|λ_i| in ps.
    """

    method: str
    lag: int
    dt_ps: float
    scaling: str | None
    mean: np.ndarray
    coefficients: np.ndarray
    eigenvalues: np.ndarray
    timescales_ps: np.ndarray

    @property
    def dim(self) -> int:
        """Number of output components."""
        return int(self.coefficients.shape[1])

    def transform(self, features: Any, per_target: bool = True) -> list[np.ndarray]:
        """Project features.

        Parameters
        ----------
        features : ndarray, shape (T, d) or (T, n_targets, d), or list of such arrays, float
            Per-frame features (same columns as in the fit).
        per_target : bool
            Split 3-D arrays into one trajectory per target atom.

        Returns
        -------
        list of ndarray, each shape (T_i, dim), float64
        """
        trajs = as_trajectories("ProjectionModel.transform", features, "features", per_target=per_target)
        d = self.mean.shape[0]
        if trajs[0].shape[1] != d:
            raise ValueError(f"The 'features' parameter of ProjectionModel.transform must have {d} features "
                             f"(as in the fit). Got {trajs[0].shape[1]} instead.")
        scale = self.eigenvalues if self.scaling == "kinetic_map" else np.ones(self.dim)
        return [((t - self.mean) @ self.coefficients) * scale for t in trajs]


def _projection(cov: Any, method: str, dim: int | None, epsilon: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m0, mt = np.asarray(cov.mean_0), np.asarray(cov.mean_t)
    if method == "tica":
        mu = 0.5 * (m0 + mt)
        raw00 = np.asarray(cov.cov_00) + np.outer(m0, m0)
        rawtt = np.asarray(cov.cov_tt) + np.outer(mt, mt)
        raw0t = np.asarray(cov.cov_0t) + np.outer(m0, mt)
        c0 = 0.5 * (raw00 + rawtt) - np.outer(mu, mu)
        ct = 0.5 * (raw0t + raw0t.T) - np.outer(mu, mu)
        s, v = _spd_eig(c0, epsilon)
        lw = v / np.sqrt(s)
        lam, w = np.linalg.eigh(lw.T @ ct @ lw)
        order = np.argsort(lam)[::-1]
        lam, coef = lam[order], lw @ w[:, order]
        mean = mu
    else:
        s0, v0 = _spd_eig(np.asarray(cov.cov_00), epsilon)
        st, vt = _spd_eig(np.asarray(cov.cov_tt), epsilon)
        l0, lt = v0 / np.sqrt(s0), vt / np.sqrt(st)
        u, lam, _ = np.linalg.svd(l0.T @ np.asarray(cov.cov_0t) @ lt)
        coef = l0 @ u[:, :len(lam)]
        mean = m0
    if dim is not None:
        lam, coef = lam[:dim], coef[:, :dim]
    # canonical signs: the largest-magnitude coefficient of each component is positive
    jj = np.argmax(np.abs(coef), axis=0)
    coef = coef * np.sign(coef[jj, np.arange(coef.shape[1])])
    return mean, coef, lam


class KineticProjection(Estimator):
    """Estimator of a TICA or VAMP projection from streaming time-lagged covariances.

    Parameters
    ----------
    lag : int
        Lag time in frames (>= 1).
    dim : int, optional
        Components kept (default: all above the ε-truncation).
    method : {"tica", "vamp"}
        TICA (reversible; symmetrised covariances, as deeptime's ``TICA``) or VAMP.
    scaling : {"kinetic_map", None}
        Scale components by their eigen/singular values (distances become kinetic).
    dt_ps : float
        Time between frames in ps.
    epsilon : float
        Truncation of the covariance inverse square roots.
    per_target : bool
        Split 3-D feature arrays (T, n_targets, d) into one trajectory per target atom.
    """

    _parameters = {
        "lag": LAG,
        "dim": _DIM,
        "method": _METHOD,
        "scaling": _SCALING,
        "dt_ps": _DT,
        "epsilon": Param("float", help="truncation of the covariance inverse square roots", positive=True),
        "per_target": _PER_TARGET,
    }
    #: What :meth:`fit` takes (for the estimator contract tests), and a quick valid parameter set.
    _fit_input: ClassVar[str] = "features"
    _quick: ClassVar[dict[str, Any]] = {"lag": 1}

    def __init__(self, lag: int, dim: int | None = None, method: str = "tica", scaling: str | None = "kinetic_map",
                 dt_ps: float = 1.0, epsilon: float = 1e-6, per_target: bool = True) -> None:
        self._set_params(locals())
        self._model: ProjectionModel | None = None

    def fit(self, features: Any) -> "KineticProjection":
        """Estimate the projection, replacing any earlier fit.

        Parameters
        ----------
        features : ndarray, shape (T, d) or (T, n_targets, d), or list of such arrays, float
            Per-frame features; NaN or infinite values are refused.
        """
        owner = type(self).__name__
        lag, dim, method, scaling, dt, eps = self.lag, self.dim, self.method, self.scaling, self.dt_ps, self.epsilon
        trajs = as_trajectories(owner, features, "features", per_target=self.per_target)
        check_long_enough(owner, trajs, lag)
        cov = TimeLaggedCovariance(lag, remove_mean=True).fit(trajs).fetch_model()
        mean, coef, lam = _projection(cov, method, dim, eps)
        with np.errstate(divide="ignore"):
            ts = -lag * dt / np.log(np.clip(np.abs(lam), 1e-300, 1 - 1e-15))
        self._model = ProjectionModel(method=method, lag=lag, dt_ps=dt, scaling=scaling, mean=_ro(mean),
                                      coefficients=_ro(coef), eigenvalues=_ro(lam), timescales_ps=_ro(ts),
                                      units={"lag": "frames", "dt_ps": "ps", "mean": "feature units",
                                             "eigenvalues": "", "timescales_ps": "ps"},
                                      provenance={"estimator": owner, "n_pairs": cov.n_pairs,
                                                  "n_trajectories": len(trajs)})
        return self


@dataclass(frozen=True, eq=False, kw_only=True)
class TICAMSMModel(Results, StoredModel):
    """Features → projection → k-means → MSM, fitted.

    Attributes
    ----------
    projection : ProjectionModel
        The TICA/VAMP projection.
    cluster_centers : ndarray, shape (n_clusters, dim), float64
        k-means centres in projected coordinates.
    msm : MSMModel
        Markov state model of the cluster trajectories.
    """

    projection: ProjectionModel
    cluster_centers: np.ndarray
    msm: MSMModel

    @property
    def timescales_ps(self) -> np.ndarray:
        """MSM implied timescales in ps, shape (n - 1,), float64."""
        return self.msm.timescales_ps

    @property
    def populations(self) -> np.ndarray:
        """Stationary populations of the active clusters, shape (n,), float64."""
        return self.msm.populations

    @property
    def transition_matrix(self) -> np.ndarray:
        """MSM transition matrix, shape (n, n), float64."""
        return self.msm.transition_matrix

    def transform(self, features: Any, per_target: bool = True) -> list[np.ndarray]:
        """Projected coordinates; see :meth:`ProjectionModel.transform`."""
        return self.projection.transform(features, per_target=per_target)

    def assign(self, features: Any, per_target: bool = True) -> list[np.ndarray]:
        """Nearest cluster centre of each frame, list of ndarray (T_i,), int32."""
        return [_nearest(y, self.cluster_centers) for y in self.transform(features, per_target=per_target)]

    def save(self, path: Any) -> None:
        """Write the model to an ``.npz`` file (see :func:`trajml.store.save_model`)."""
        save_model(self, path)

    @classmethod
    def load(cls, path: Any) -> "TICAMSMModel":
        """Read a model written by :meth:`save`; refuses files of another model type or version."""
        return load_model(path, expected=cls)


def _nearest(y: np.ndarray, centers: np.ndarray) -> np.ndarray:
    d2 = (y * y).sum(1)[:, None] - 2.0 * y @ centers.T + (centers * centers).sum(1)[None, :]
    return np.argmin(d2, axis=1).astype(np.int32)


class TICAMarkovModel(Estimator):
    """Estimator chaining :class:`KineticProjection`, deeptime k-means and :class:`~trajml.kinetics.msm.MarkovModel`.

    Parameters
    ----------
    lag : int
        Lag of the projection in frames.
    n_clusters : int
        k-means clusters (MSM states).
    msm_lag : int, optional
        Lag of the MSM in frames (default: ``lag``).
    dt_ps : float
        Time between frames in ps.
    dim : int, optional
        Projected components used for clustering (default: all).
    method : {"tica", "vamp"}
        Projection method.
    scaling : {"kinetic_map", None}
        Component scaling before clustering.
    n_metastable : int, optional
        PCCA+ metastable sets of the MSM.
    max_iter : int
        k-means iterations.
    seed : int
        Seed of the k-means++ initialisation.
    per_target : bool
        Split 3-D feature arrays (T, n_targets, d) into one trajectory per target atom.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = np.repeat(rng.integers(0, 2, 400), 5)[:, None] + 0.1 * rng.normal(size=(2000, 1))
    >>> model = TICAMarkovModel(lag=1, n_clusters=2, seed=0).fit(x).fetch_model()
    >>> model.msm.transition_matrix.shape
    (2, 2)
    """

    _parameters = {
        "lag": LAG.replace(help="lag of the projection"),
        "n_clusters": Param("int", help="k-means clusters (MSM states)", minimum=1),
        "msm_lag": LAG.replace(help="lag of the MSM", nullable=True, none_help="lag"),
        "dt_ps": _DT,
        "dim": _DIM,
        "method": _METHOD,
        "scaling": _SCALING,
        "n_metastable": Param("int", help="PCCA+ metastable sets of the MSM", minimum=1, nullable=True,
                              none_help="no coarse-graining"),
        "max_iter": Param("int", help="k-means iterations", minimum=1),
        "seed": Param("int", help="seed of the k-means++ initialisation", minimum=0),
        "per_target": _PER_TARGET,
    }
    #: What :meth:`fit` takes (for the estimator contract tests), and a quick valid parameter set.
    _fit_input: ClassVar[str] = "features"
    _quick: ClassVar[dict[str, Any]] = {"lag": 1, "n_clusters": 3, "max_iter": 20}

    def __init__(self, lag: int, n_clusters: int, msm_lag: int | None = None, dt_ps: float = 1.0,
                 dim: int | None = None, method: str = "tica", scaling: str | None = "kinetic_map",
                 n_metastable: int | None = None, max_iter: int = 300, seed: int = 0, per_target: bool = True) -> None:
        self._set_params(locals())
        self._model: TICAMSMModel | None = None

    def fit(self, features: Any) -> "TICAMarkovModel":
        """Fit projection, clustering and MSM, replacing any earlier fit.

        Parameters
        ----------
        features : ndarray, shape (T, d) or (T, n_targets, d), or list of such arrays, float
            Per-frame features.
        """
        from deeptime.clustering import KMeans

        owner = type(self).__name__
        k = self.n_clusters
        msm_lag = self.lag if self.msm_lag is None else self.msm_lag
        trajs = as_trajectories(owner, features, "features", per_target=self.per_target)
        n_frames = sum(len(t) for t in trajs)
        if n_frames < k:
            raise ValueError(f"{owner} needs at least 'n_clusters' ({k}) frames to cluster; got {n_frames}.")
        check_long_enough(owner, trajs, msm_lag, "msm_lag")
        proj = KineticProjection(self.lag, self.dim, self.method, self.scaling, self.dt_ps,
                                 per_target=False).fit(trajs).fetch_model()
        ys = proj.transform(trajs, per_target=False)
        km = KMeans(n_clusters=k, max_iter=self.max_iter, init_strategy="kmeans++",
                    fixed_seed=self.seed, n_jobs=1).fit(np.concatenate(ys)).fetch_model()
        centers = np.asarray(km.cluster_centers, dtype=np.float64)
        dtrajs = [_nearest(y, centers) for y in ys]
        msm = MarkovModel(msm_lag, proj.dt_ps, reversible=True, n_metastable=self.n_metastable).fit(
            dtrajs, n_states=k).fetch_model()
        self._model = TICAMSMModel(projection=proj, cluster_centers=_ro(centers), msm=msm,
                                   units={"cluster_centers": "projected units"},
                                   provenance={"estimator": owner, "n_trajectories": len(trajs),
                                               "n_frames": n_frames, "seed": self.seed})
        return self
