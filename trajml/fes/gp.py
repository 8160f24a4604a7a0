"""Gaussian-process free-energy surfaces with predictive uncertainty (NumPy/SciPy only).

Two ways in:

- :meth:`GaussianProcessFES.fit` takes CV *samples*. They are binned on the grid and the bin
  counts are modelled as Poisson counts whose rate is exp(−F/kT): a log-Gaussian Cox process
  with a GP prior on F/kT, solved by Laplace's method. Empty and sparsely filled bins enter the
  likelihood exactly (no log of zero, no bias of ln n at low counts), so the surface and its
  error bar stay honest where sampling is thin. A bin's expected count is the bin *average*
  of exp(−F/kT) (two Gauss–Legendre nodes per CV, for 1-2 CVs), so the fitted F is the point
  free energy: with the centre value alone, the curvature bias in well-sampled wells reached
  1.5x the error bars (z-rms 1.7 on Müller–Brown with 20 000 samples; 1.0-1.4 with the average).
- :meth:`GaussianProcessFES.fit_free_energies` regresses given free-energy values (from
  umbrella windows, other estimators, ...) with per-point errors: ordinary GP regression with
  heteroscedastic Gaussian noise.

Both use a projected-process (inducing-point) approximation, f(x) = m + a(x)·w with
a(x) = k(x, Z) L⁻ᵀ and whitened weights w ~ N(0, I) on M inducing points Z laid on a regular
grid a fraction of a length scale apart (and at least a dozen per CV); the cost is O(n M²) time
and O(n_block M + M²) memory, so it scales to 10⁵ points and beyond. The kernel hyperparameters (a squared-exponential
length scale per CV, the signal variance and a noise floor) maximise the exact marginal likelihood of a
random subset of at most ``n_hyper`` points (analytic gradients, L-BFGS-B).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve, cholesky, solve_triangular
from scipy.linalg.lapack import dpotri
from scipy.optimize import minimize

from trajml._validation import Param, invalid
from trajml.fes._base import FES_PARAMETERS, FESEstimator
from trajml.fes._grid import Grid, bin_quadrature
from trajml.fes._validate import check_bins, check_cvs, check_ranges, positive_floats, single_blas_thread
from trajml.fes.model import make_model
from trajml.fes.surfaces import GPSurface, _blocks, rbf

__all__ = ["GaussianProcessFES", "Hyperparameters", "fit_hyperparameters", "inducing_grid"]

_JITTERS = (1e-10, 1e-8, 1e-6, 1e-4)
_MIN_PER_DIM = {1: 24, 2: 12, 3: 7}


@dataclass(frozen=True)
class Hyperparameters:
    """Kernel hyperparameters: length scales (CV units), signal variance and noise floor (target units²)."""

    lengthscales: np.ndarray
    signal_var: float
    noise_var: float
    mean: float


# ----------------------------------------------------------------------------------------------
# hyperparameters: exact marginal likelihood on a subset
# ----------------------------------------------------------------------------------------------

def _nll_and_grad(theta: np.ndarray, x: np.ndarray, y: np.ndarray, noise: np.ndarray,
                  sq: list[np.ndarray]) -> tuple[float, np.ndarray]:
    d = x.shape[1]
    ls, s2, tau2 = np.exp(theta[:d]), math.exp(theta[d]), math.exp(theta[d + 1])
    q = 0.5 * sum(s / (length * length) for s, length in zip(sq, ls))
    r = np.exp(-np.minimum(q, 700.0))
    r[q > 200.0] = 0.0  # below 1e-87: exact zeros keep subnormal numbers (100x slower BLAS) out
    K = s2 * r
    K[np.diag_indices_from(K)] += noise + tau2
    try:
        c = cho_factor(K, lower=True, check_finite=False)
    except LinAlgError:
        return 1e25, np.zeros_like(theta)
    alpha = cho_solve(c, y, check_finite=False)
    nll = 0.5 * y @ alpha + np.sum(np.log(np.diag(c[0]))) + 0.5 * len(y) * math.log(2 * math.pi)
    kinv, info = dpotri(c[0], lower=1)
    if info != 0:
        return 1e25, np.zeros_like(theta)
    kinv = np.tril(kinv) + np.tril(kinv, -1).T  # dpotri fills one triangle
    W = np.outer(alpha, alpha) - kinv
    grad = np.empty_like(theta)
    sr = s2 * r
    for k in range(d):
        grad[k] = -0.5 * np.sum(W * sr * sq[k]) / ls[k] ** 2
    grad[d] = -0.5 * np.sum(W * sr)
    grad[d + 1] = -0.5 * tau2 * np.trace(W)
    return float(nll), grad


def fit_hyperparameters(x: np.ndarray, y: np.ndarray, noise_var: np.ndarray | None = None, *, n_hyper: int = 600,
                        seed: int = 0, min_lengthscale: np.ndarray | None = None,
                        fix_noise: float | None = None) -> Hyperparameters:
    """Maximise the exact GP marginal likelihood on at most ``n_hyper`` random points.

    Parameters
    ----------
    x : ndarray, shape (n, d)
        Inputs, CV units.
    y : ndarray, shape (n,)
        Targets.
    noise_var : ndarray, shape (n,), optional
        Known noise variance per point (target units²).
    n_hyper : int
        Subset size (the optimisation costs O(n_hyper³) per step).
    min_lengthscale : ndarray, shape (d,), optional
        Lower bound of the length scales (e.g. a bin width: shorter scales are not resolved).
    fix_noise : float, optional
        Keep the noise floor at this value instead of fitting it.

    Returns
    -------
    Hyperparameters
    """
    rng = np.random.default_rng(seed)
    n, d = x.shape
    idx = rng.choice(n, size=n_hyper, replace=False) if n > n_hyper else np.arange(n)
    xs, ys = x[idx], y[idx]
    ns = np.zeros(len(idx)) if noise_var is None else noise_var[idx]
    mean = float(np.average(ys, weights=1.0 / (ns + max(np.var(ys), 1e-12) * 1e-3)))
    yc = ys - mean
    span = np.maximum(x.max(axis=0) - x.min(axis=0), 1e-12)
    vy = max(float(np.var(yc)), 1e-12)
    lo_ls = span * 1e-3 if min_lengthscale is None else np.maximum(min_lengthscale, span * 1e-3)
    sq = [(xs[:, k, None] - xs[None, :, k]) ** 2 for k in range(d)]
    theta0 = np.concatenate([np.log(np.maximum(0.2 * span, lo_ls * 1.01)), [math.log(vy),
                             math.log(fix_noise if fix_noise is not None else 0.01 * vy)]])
    bounds = [(math.log(lo), math.log(2 * s)) for lo, s in zip(lo_ls, span)]
    bounds += [(math.log(vy * 1e-3), math.log(vy * 1e3))]
    if fix_noise is not None:
        bounds += [(math.log(fix_noise), math.log(fix_noise))]
    else:
        bounds += [(math.log(vy * 1e-8), math.log(vy))]
    best = None
    with single_blas_thread():
        best = _optimise(theta0, xs, yc, ns, sq, bounds, lo_ls, span, d)
    th = best.x
    return Hyperparameters(lengthscales=np.exp(th[:d]), signal_var=math.exp(th[d]), noise_var=math.exp(th[d + 1]),
                           mean=mean)


def _optimise(theta0: np.ndarray, xs: np.ndarray, yc: np.ndarray, ns: np.ndarray, sq: list[np.ndarray],
              bounds: list[tuple[float, float]], lo_ls: np.ndarray, span: np.ndarray, d: int) -> Any:
    best = None
    # two starts (long and short length scales) guard against the flat-surface local optimum
    for start_scale in (0.2, 0.05):
        theta0[:d] = np.log(np.maximum(start_scale * span, lo_ls * 1.01))
        res = minimize(_nll_and_grad, theta0, args=(xs, yc, ns, sq), jac=True, method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": 200})
        if best is None or res.fun < best.fun:
            best = res
    return best


def inducing_grid(x: np.ndarray, lengthscales: np.ndarray, spacing: float, max_inducing: int,
                  near: np.ndarray | None = None) -> np.ndarray:
    """Inducing points on a regular grid over the bounding box of ``x``, about ``spacing`` ℓ apart.

    The spacing widens until at most ``max_inducing`` points remain; with ``near`` given, only
    grid points within two spacings of one of those points are kept (no points in empty space).
    """
    lo, hi = x.min(axis=0), x.max(axis=0)
    d = x.shape[1]
    # at least a few points per CV even for long length scales: the part of the prior the inducing
    # points miss (s² − |a|²) is a small fraction of a possibly large signal variance s²
    floor = (hi - lo) / (_MIN_PER_DIM[d] - 1)
    factor = spacing
    while True:
        step = np.minimum(lengthscales * factor, np.maximum(floor, lengthscales * factor / 8))
        counts = np.maximum(np.ceil((hi - lo) / step).astype(int) + 1, 2)
        axes = [np.linspace(a, b, c) for a, b, c in zip(lo, hi, counts)]
        z = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)
        if near is not None and len(z):
            from scipy.spatial import cKDTree

            dist, _ = cKDTree(near / step).query(z / step, k=1)
            z = z[dist <= 2.0 * math.sqrt(d)]
        if len(z) <= max_inducing:
            return z
        factor *= 1.1


def _chol_uu(z: np.ndarray, hp: Hyperparameters) -> np.ndarray:
    # the smallest jitter that factorises: the jitter leaks into the predictive variance as a floor
    # of about jitter x s², which matters for long length scales and large signal variances
    kuu = rbf(z, z, hp.lengthscales, hp.signal_var)
    for jitter in _JITTERS:
        k = kuu.copy()
        k[np.diag_indices_from(k)] += jitter * hp.signal_var
        try:
            return cholesky(k, lower=True)
        except LinAlgError:
            continue
    raise LinAlgError("The inducing-point kernel matrix is not positive definite even with a 1e-4 jitter.")


def _design(x: np.ndarray, z: np.ndarray, hp: Hyperparameters, L: np.ndarray) -> np.ndarray:
    """a(x) = k(x, Z) L⁻ᵀ, shape (n, M)."""
    return solve_triangular(L, rbf(z, x, hp.lengthscales, hp.signal_var), lower=True).T


def _posterior_gaussian(x: np.ndarray, y: np.ndarray, noise: np.ndarray, z: np.ndarray,
                        hp: Hyperparameters) -> GPSurface:
    """Projected-process posterior of whitened weights under Gaussian noise, accumulated in blocks."""
    L = _chol_uu(z, hp)
    M = len(z)
    prec = np.eye(M)
    rhs = np.zeros(M)
    for sl in _blocks(len(x), 8192):
        a = _design(x[sl], z, hp, L)
        inv = 1.0 / noise[sl]
        prec += (a * inv[:, None]).T @ a
        rhs += a.T @ ((y[sl] - hp.mean) * inv)
    return _surface_from_precision(z, hp, L, prec, rhs=rhs)


def _surface_from_precision(z: np.ndarray, hp: Hyperparameters, L: np.ndarray, prec: np.ndarray,
                            rhs: np.ndarray | None = None, w: np.ndarray | None = None) -> GPSurface:
    P = cholesky(0.5 * (prec + prec.T), lower=True)          # prec = P Pᵀ
    if w is None:
        w = cho_solve((P, True), rhs)
    S = solve_triangular(P, np.eye(len(P)), lower=True).T    # S Sᵀ = prec⁻¹
    return GPSurface(inducing=z, lengthscales=hp.lengthscales, signal_var=hp.signal_var, mean=hp.mean, chol_uu=L,
                     w_mean=w, w_chol=S)


def _posterior_poisson(points: np.ndarray, counts: np.ndarray, exposure: np.ndarray, z: np.ndarray,
                       hp: Hyperparameters, max_iter: int = 100,
                       quadrature: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[GPSurface, float]:
    """Laplace posterior of the whitened weights for Poisson counts with rate exposure·⟨exp(c − f)⟩_bin.

    f = m + A w with w ~ N(0, I); the normalisation c is a free parameter; the bin average is a
    quadrature over ``quadrature`` = (offsets (Q, d), weights (Q,)) (default: the centre only).
    Fisher scoring (Newton's method for Q = 1) with backtracking on the log posterior; the
    covariance of w is conditioned on the optimal c (the free energy's level is fixed by
    normalisation, its shape is what is uncertain).
    """
    L = _chol_uu(z, hp)
    offsets, qw = quadrature if quadrature is not None else (np.zeros((1, points.shape[1])), np.ones(1))
    As = [_design(points + o, z, hp, L) for o in offsets]
    M = As[0].shape[1]
    base = np.log(exposure)[:, None] + np.log(qw)[None, :] - hp.mean   # (n, Q)
    w = np.zeros(M)
    c = float(np.log(counts.sum() / np.sum(exposure * np.exp(-hp.mean))))

    def rates(w_: np.ndarray, c_: float) -> np.ndarray:
        eta = base + c_ - np.stack([A @ w_ for A in As], axis=1)
        return np.exp(np.minimum(eta, 700.0))                           # (n, Q)

    def objective(w_: np.ndarray, c_: float) -> tuple[float, np.ndarray]:
        mq = rates(w_, c_)
        mu = mq.sum(axis=1)
        with np.errstate(divide="ignore"):
            ll = np.where(counts > 0, counts * np.log(np.where(mu > 0, mu, 1e-300)), 0.0)
        return float(np.sum(mu - ll) + 0.5 * w_ @ w_), mq

    def score(mq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # d mu_i / d w = −Σ_q mu_iq A_q,i; d mu_i / d c = mu_i
        dmu = -sum(A * mq[:, q:q + 1] for q, A in enumerate(As))
        return dmu, mq.sum(axis=1)

    obj, mq = objective(w, c)
    for _ in range(max_iter):
        dmu, mu = score(mq)
        r = 1.0 - counts / np.maximum(mu, 1e-300)
        g = np.concatenate([dmu.T @ r + w, [r @ mu]])           # gradient of the negative log posterior
        J = np.hstack([dmu, mu[:, None]])
        H = (J / np.maximum(mu, 1e-300)[:, None]).T @ J         # expected (Fisher) information
        H[np.arange(M), np.arange(M)] += 1.0
        H[M, M] += 1e-10
        step = np.linalg.solve(H, -g)
        t = 1.0
        accepted = False
        while t > 1e-8:
            w_new, c_new = w + t * step[:M], c + t * step[M]
            obj_new, mq_new = objective(w_new, c_new)
            if obj_new <= obj + 1e-4 * t * (g @ step):
                accepted = True
                break
            t *= 0.5
        if not accepted:  # no descent left along the search direction: at the optimum to rounding
            break
        decrease = obj - obj_new
        w, c, obj, mq = w_new, c_new, obj_new, mq_new
        if decrease < 1e-12 * max(1.0, abs(obj)) or np.max(np.abs(t * step)) < 1e-8:
            break
    dmu, mu = score(mq)
    prec = (dmu / np.maximum(mu, 1e-300)[:, None]).T @ dmu
    prec[np.diag_indices_from(prec)] += 1.0
    # F = kT (f − const): keep w, and absorb the normalisation c into the model's offset later
    return _surface_from_precision(z, hp, L, prec, w=w), c


class GaussianProcessFES(FESEstimator):
    """Gaussian-process free-energy surface with calibrated predictive uncertainty.

    See the module notes for the model. The fitted :class:`~trajml.fes.model.FESModel`
    predicts F, its standard deviation and ∇F anywhere (analytically), and draws correlated
    surfaces for barrier and basin uncertainties.

    Parameters
    ----------
    temperature, bins, ranges, cv_units, statistical_inefficiency, discrete
        See :class:`~trajml.fes._base.FESEstimator`. With :meth:`fit` the grid is also
        the Poisson binning (fine bins cost nothing in accuracy, only time: O(bins · M²)).
    max_inducing : int
        Upper bound M on the inducing points (default 600).
    inducing_spacing : float
        Spacing of the inducing grid in length scales (default 0.7; it widens when more than
        ``max_inducing`` points would be needed).
    n_hyper : int
        Points used to fit the hyperparameters (default 600).
    min_count : int
        Bins with at least this many effective counts train the hyperparameters in :meth:`fit`
        (their ln n is near-Gaussian; default 10, which gave the best-calibrated error bars on
        the test potentials); every bin, empty ones included, enters the final Poisson fit.
    lengthscale : float or sequence of float, optional
        Fix the length scales (CV units) instead of fitting them.
    seed : int
        Seed of the hyperparameter subset.

    Attributes
    ----------
    hyperparameters_ : Hyperparameters
        After a fit: length scales (CV units), signal variance, noise floor and prior mean, all
        in units of kT (squared for variances); also recorded in the model's provenance.
    """

    _METHOD = "gp"
    _parameters = {
        **FES_PARAMETERS,
        "max_inducing": Param("int", help="upper bound on the inducing points", minimum=4),
        "inducing_spacing": Param("float", help="spacing of the inducing grid, in length scales", positive=True),
        "n_hyper": Param("int", help="points used to fit the hyperparameters", minimum=10),
        "min_count": Param("int", help="effective counts of a bin that trains the hyperparameters", minimum=1),
        "lengthscale": Param("any", help="fixed length scales per CV, in CV units", nullable=True,
                             none_help="fitted", describe="a float > 0 or one per CV, in CV units, or None",
                             check=positive_floats),
        "seed": Param("int", help="seed of the hyperparameter subset", minimum=0),
    }
    _quick: ClassVar[dict[str, Any]] = {"bins": 12, "max_inducing": 30, "n_hyper": 40, "min_count": 2}

    def __init__(self, temperature: float = 300.0, bins: Any = None, ranges: Any = None, cv_units: str = "CV units",
                 statistical_inefficiency: float = 1.0, max_inducing: int = 600, inducing_spacing: float = 0.7,
                 n_hyper: int = 600, min_count: int = 10, lengthscale: Any = None, seed: int = 0,
                 discrete: Any = "auto") -> None:
        self._set_params(locals())
        self._model = None

    def _gp_params(self, d: int) -> tuple[int, float, int, int, np.ndarray | None]:
        owner = type(self).__name__
        m, sp, nh, mc = self.max_inducing, self.inducing_spacing, self.n_hyper, self.min_count
        ls = None
        if self.lengthscale is not None:
            ls = np.broadcast_to(np.asarray(self.lengthscale, dtype=np.float64), (d,)).copy() \
                if np.size(self.lengthscale) in (1, d) else None
            if ls is None or not np.all(np.isfinite(ls)) or np.any(ls <= 0):
                raise invalid("lengthscale", owner, f"a float > 0 or one per CV ({d}), in CV units", self.lengthscale)
        return m, sp, nh, mc, ls

    def _hyper(self, x: np.ndarray, y: np.ndarray, noise: np.ndarray | None, nh: int, ls: np.ndarray | None,
               min_ls: np.ndarray | None) -> Hyperparameters:
        hp = fit_hyperparameters(x, y, noise, n_hyper=nh, seed=self.seed, min_lengthscale=min_ls)
        if ls is not None:
            hp = Hyperparameters(lengthscales=ls, signal_var=hp.signal_var, noise_var=hp.noise_var, mean=hp.mean)
        return hp

    def fit(self, cvs: Any, weights: Any = None) -> "GaussianProcessFES":
        """Fit the surface to CV samples, replacing any earlier fit.

        Parameters
        ----------
        cvs : array_like, shape (n,) or (n, d), d <= 3, CV units
            Collective variables, one row per sample.
        weights : array_like, shape (n,), optional
            Non-negative per-sample weights (reweighting factors).
        """
        if self._fit_discrete(cvs, weights):
            return self
        t0 = time.perf_counter()
        owner = type(self).__name__
        x, w, T, b = self._bin(cvs, weights)
        M, sp, nh, mc, ls = self._gp_params(x.shape[1])
        pts = b.grid.points()
        good = b.counts >= mc
        if good.sum() < 5:
            raise ValueError(f"{owner} needs at least 5 bins with >= {mc} effective counts to learn the kernel; "
                             f"got {int(good.sum())}. Give more samples, fewer 'bins' or a smaller 'min_count'.")
        y = -np.log(b.counts[good] / b.exposure[good])
        # the noise floor is fixed near zero: ln n of Poisson counts has a known variance 1/n
        hp = self._hyper(pts[good], y, 1.0 / b.counts[good], nh, ls, min_ls=b.grid.widths)
        hp = Hyperparameters(lengthscales=hp.lengthscales, signal_var=hp.signal_var, noise_var=0.0, mean=hp.mean)
        occupied = pts[b.counts > 0]
        z = inducing_grid(pts, hp.lengthscales, sp, M, near=occupied)
        with single_blas_thread():
            quad = bin_quadrature(b.grid.widths, ~self._discrete_axes) if x.shape[1] <= 2 else None
            surface, c = _posterior_poisson(pts, b.counts, b.exposure, z, hp, quadrature=quad)
        kT = self._kT(T)
        self._model = make_model(self._METHOD, T, kT, b.grid, surface, cv_units=self.cv_units, n_samples=len(x),
                                 n_effective=b.n_effective,
                                 provenance=self._provenance(t0, mode="samples", n_inducing=len(z),
                                                             lengthscales=hp.lengthscales.tolist(),
                                                             signal_var_kT2=hp.signal_var, mean_kT=hp.mean,
                                                             normalisation=c,
                                                             bin_quadrature_nodes=1 if quad is None else len(quad[1])))
        self.hyperparameters_ = hp

        return self

    def fit_free_energies(self, points: Any, free_energy: Any, sigma: Any = None) -> "GaussianProcessFES":
        """Regress given free energies with per-point errors, replacing any earlier fit.

        Parameters
        ----------
        points : array_like, shape (n,) or (n, d), d <= 3, CV units
            Where the free energies were measured.
        free_energy : array_like, shape (n,), kJ/mol
            Free energies (any additive constant).
        sigma : float or array_like, shape (n,), kJ/mol, optional
            Their standard deviations; without it a common noise level is fitted.
        """
        t0 = time.perf_counter()
        owner = type(self).__name__
        T = self.temperature
        kT = self._kT(T)
        x = check_cvs(owner, points, "points")
        y = np.asarray(free_energy, dtype=np.float64)
        if y.shape != (len(x),) or not np.all(np.isfinite(y)):
            raise ValueError(f"The 'free_energy' parameter of {owner} must be finite with shape ({len(x)},) "
                             f"(kJ/mol, one per point). Got shape {y.shape} instead.")
        if sigma is None:
            noise = None
        else:
            s = np.broadcast_to(np.asarray(sigma, dtype=np.float64), y.shape) if np.size(sigma) in (1, len(y)) \
                else np.full(1, np.nan)
            if s.shape != y.shape or not np.all(np.isfinite(s)) or np.any(s <= 0):
                raise invalid("sigma", owner, f"> 0 and finite, a float or one per point ({len(y)}), in kJ/mol", sigma)
            noise = (s / kT) ** 2
        M, sp, nh, _, ls = self._gp_params(x.shape[1])
        bins = check_bins(owner, self.bins, x.shape[1])
        grid = Grid.regular(check_ranges(owner, self.ranges, x, bins), bins)
        yk = y / kT
        hp = self._hyper(x, yk, noise, nh, ls, min_ls=None)
        total_noise = (np.zeros(len(x)) if noise is None else noise) + hp.noise_var
        z = inducing_grid(x, hp.lengthscales, sp, M, near=x)
        surface = _posterior_gaussian(x, yk, total_noise, z, hp)
        self._model = make_model(self._METHOD, T, kT, grid, surface, cv_units=self.cv_units, n_samples=len(x),
                                 n_effective=float(len(x)),
                                 provenance=self._provenance(t0, mode="free_energies", discrete=[], n_inducing=len(z),
                                                             lengthscales=hp.lengthscales.tolist(),
                                                             signal_var_kT2=hp.signal_var, mean_kT=hp.mean,
                                                             noise_var_kT2=hp.noise_var))
        self.hyperparameters_ = hp

        return self
