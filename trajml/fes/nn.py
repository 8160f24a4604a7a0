"""Neural-network free-energy surfaces: an ensemble of small MLPs trained with PyTorch.

Torch is imported only when a network is trained (``pip install "trajml[deep]"``); the fitted
model evaluates the networks in NumPy, so predicting, plotting and path finding need no torch.

Training targets, as available:

- CV samples (:meth:`NeuralNetworkFES.fit`): the grid's bin counts are Poisson counts with rate
  exposure·⟨exp(c − f)⟩ over the bin (a two-point Gauss–Legendre rule per CV, up to 2 CVs), f = F/kT
  the network output; empty bins count. This is the same likelihood as the GP's, with a network
  in place of the GP prior; the network learns F itself, not its bin average.
- Free energies with errors and/or mean forces (:meth:`NeuralNetworkFES.fit_free_energies`):
  weighted least squares on F/kT and on the gradient, ∇f = −(mean force)/kT.

Uncertainty comes from an ensemble: every member starts from its own random weights and sees
its own bootstrap replicate of the data (Poisson-resampled counts, or targets perturbed by
their errors), so the spread of the members reflects the sampling noise of the data as well as
the arbitrariness of the fit. The spread of a few members is only proportional to the error, and
not with a known factor (the members share the network's smoothing, and a handful of them
under-sample the bootstrap), so a fit to samples calibrates it on held-out data
(``calibrate=True``): the counts are split in three by binomial thinning (each effective sample
goes to one part with probability ⅓, so the parts are independent Poisson counts), one ensemble
is trained on the shared part plus each of the other two (two thirds of the data each, close to
the full fit so that their errors extrapolate to it), and the factors (on the members' spread and
on counting noise) that explain how far the two fits land apart scale the uncertainty of the
ensemble trained on all counts (:func:`spread_scale`); each fit against the histogram of the part
it did not see adds the error they share (:func:`bias_floor`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, ClassVar

import numpy as np

from trajml._threads import torch_threads
from trajml._validation import Param, invalid
from trajml.fes._base import FES_PARAMETERS, FESEstimator
from trajml.fes._grid import Grid, bin_quadrature
from trajml.fes._validate import check_bins, check_cvs, check_ranges
from trajml.fes.model import make_model
from trajml.fes.surfaces import MLPSurface

__all__ = ["NeuralNetworkFES", "spread_scale", "bias_floor"]




def _layer_widths(value: Any) -> Any:
    """A ``Param`` check: a non-empty sequence of layer widths, each an int >= 1; returned as given."""
    try:
        hidden = tuple(value)
    except TypeError:
        hidden = ()
    if isinstance(value, str) or not hidden or any(
            isinstance(h, (bool, np.bool_)) or not isinstance(h, (int, np.integer)) or h < 1 for h in hidden):
        raise ValueError("a non-empty sequence of ints >= 1")
    return value


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised only without torch
        from trajml.errors import MissingExtraError

        raise MissingExtraError(
            "NeuralNetworkFES needs PyTorch, which is part of the optional 'deep' extra. Install it with "
            "pip install \"trajml[deep]\" -c constraints.txt") from exc
    return torch


class NeuralNetworkFES(FESEstimator):
    """Free-energy surface from an ensemble of tanh multilayer perceptrons.

    Parameters
    ----------
    temperature, bins, ranges, cv_units, statistical_inefficiency, discrete
        See :class:`~trajml.fes._base.FESEstimator`.
    hidden : sequence of int
        Widths of the hidden layers (default (64, 64)).
    n_members : int
        Ensemble size (>= 2; default 5). The predictive standard deviation is the members' spread.
    n_steps : int
        L-BFGS iterations per member (full batch, strong-Wolfe line search; default 500).
    learning_rate : float
        L-BFGS step scale (default 1).
    weight_decay : float
        L2 penalty on the weights per member (default 1e-5).
    seed : int
        Seed of initial weights and bootstrap replicates.
    n_threads : int or None
        Torch threads while training (default 1: the networks are small, and more threads
        mostly contend with other work); None keeps torch's setting.
    calibrate : bool
        Calibrate the predictive σ on held-out counts (default False; fits to samples only; it
        trains two more ensembles, each on two thirds of the counts: three ensembles instead of
        one). Without it, σ is the members' spread alone, which measures how much the fit
        varies with its bootstrap replicate and random start, not its error: on exact samples
        with 20 000 points it under-stated the error by up to about 2x. With it, σ (kT) estimates
        the standard deviation of the predicted F/kT about the true F/kT (up to the additive
        constant), bin by bin: s²·spread + κ²/λ + β², the factors the model's
        ``provenance["spread_scale"]``, ``["count_noise"]`` and ``["bias_floor_kT"]``. On exact
        samples (5 seeds; 4 members of (16, 16), 1000 steps) the pooled rms of (error / σ) was
        0.85 and 0.85 on a 1-D double well (2 000 and 20 000 samples) and 0.82 and 0.89 on
        Müller–Brown (raw spread: 1.26, 1.51, 1.27, 1.59): σ errs slightly on the safe side
        (``benchmarks/bench_fes.py --part nn``).
    """

    _METHOD = "nn"
    _parameters = {
        **FES_PARAMETERS,
        "hidden": Param("any", help="widths of the hidden layers", describe="a non-empty sequence of ints >= 1",
                        check=_layer_widths),
        "n_members": Param("int", help="ensemble size", minimum=2),
        "n_steps": Param("int", help="L-BFGS iterations per member", minimum=1),
        "learning_rate": Param("float", help="L-BFGS step scale", positive=True),
        "weight_decay": Param("float", help="L2 penalty on the weights per member", minimum=0.0),
        "seed": Param("int", help="seed of initial weights and bootstrap replicates", minimum=0),
        "n_threads": Param("int", help="torch threads while training", minimum=1, nullable=True,
                           none_help="torch's setting"),
        "calibrate": Param("bool", help="calibrate the predictive sigma on two independent halves of the counts"),
    }
    _quick: ClassVar[dict[str, Any]] = {"bins": 12, "hidden": (4,), "n_members": 2, "n_steps": 5}

    def __init__(self, temperature: float = 300.0, bins: Any = None, ranges: Any = None, cv_units: str = "CV units",
                 statistical_inefficiency: float = 1.0, hidden: Any = (64, 64), n_members: int = 5,
                 n_steps: int = 500, learning_rate: float = 1.0, weight_decay: float = 1e-5, seed: int = 0,
                 n_threads: int | None = 1, discrete: Any = "auto", calibrate: bool = False) -> None:
        self._set_params(locals())
        self._model = None

    # ------------------------------------------------------------------ validation
    def _nn_params(self) -> tuple[tuple[int, ...], int, int, float, float]:
        return (tuple(int(h) for h in self.hidden), self.n_members, self.n_steps, self.learning_rate,
                self.weight_decay)

    # ------------------------------------------------------------------ training
    def _train(self, d: int, shift: np.ndarray, scale: np.ndarray, loss_of: Any, y0: float,
               salt: int = 0) -> MLPSurface:
        """Train ``n_members`` networks.

        ``loss_of(rng)`` returns ``loss(f_of, c)`` for one member, where ``f_of(x)`` is the network
        output and ``c`` a free constant; the loss must read the free energy as ``f_of(x) − c``.
        ``salt`` gives the calibration ensembles their own seeds.
        """
        torch = _torch()
        hidden, k, steps, lr, wd = self._nn_params()
        members = []
        for m in range(k):
            rng = np.random.default_rng([self.seed, m, salt] if salt else [self.seed, m])
            dims = (d, *hidden, 1)
            layers = []
            with torch.random.fork_rng(devices=[]):  # seeded initial weights; the caller's torch RNG is untouched
                torch.manual_seed(self.seed * 1000 + m + 7919 * salt)
                for a, b in zip(dims[:-1], dims[1:]):
                    layers += [torch.nn.Linear(a, b, dtype=torch.float64), torch.nn.Tanh()]
            net = torch.nn.Sequential(*layers[:-1])
            with torch.no_grad():
                net[-1].bias.fill_(y0)
            c = torch.zeros(1, dtype=torch.float64, requires_grad=True)
            weights = [mod.weight for mod in net if isinstance(mod, torch.nn.Linear)]
            loss_fn = loss_of(rng)
            sh = torch.as_tensor(shift)
            sc = torch.as_tensor(scale)

            def f_of(x: Any, net: Any = net) -> Any:
                return net((x - sh) / sc)[:, 0]

            # full-batch quasi-Newton: the problems are small and smooth, where L-BFGS needs far
            # fewer passes than stochastic optimisers
            opt = torch.optim.LBFGS([*net.parameters(), c], lr=lr, max_iter=steps, max_eval=int(1.25 * steps),
                                    tolerance_grad=1e-10, tolerance_change=1e-13, history_size=30,
                                    line_search_fn="strong_wolfe")

            def closure() -> Any:
                opt.zero_grad()
                loss = loss_fn(f_of, c) + wd * sum((W * W).sum() for W in weights)
                loss.backward()
                return loss

            with torch_threads(self.n_threads):
                opt.step(closure)
            if not all(bool(torch.isfinite(p).all()) for p in [*net.parameters(), c]):
                raise FloatingPointError(f"{type(self).__name__}: training of ensemble member {m} diverged (non-finite "
                                         f"weights). Lower 'learning_rate' or raise 'weight_decay'.")
            params = []
            mods = [mod for mod in net if isinstance(mod, torch.nn.Linear)]
            for mod in mods:
                params.append((mod.weight.detach().numpy().copy(), mod.bias.detach().numpy().copy()))
            # every loss reads the normalised free energy as net − c: fold c into the output bias
            params[-1] = (params[-1][0], params[-1][1] - float(c.detach()))
            members.append(tuple(params))
        return MLPSurface(layers=tuple(members), shift=shift, scale=scale)

    def fit(self, cvs: Any, weights: Any = None) -> "NeuralNetworkFES":
        """Fit the ensemble to CV samples (Poisson likelihood of the bin counts), replacing any earlier fit.

        Parameters
        ----------
        cvs : array_like, shape (n,) or (n, d), d <= 3, CV units
            Collective variables, one row per sample.
        weights : array_like, shape (n,), optional
            Non-negative per-sample weights.
        """
        if self._fit_discrete(cvs, weights):
            return self
        torch = _torch()
        t0 = time.perf_counter()
        x, w, T, b = self._bin(cvs, weights)
        pts = b.grid.points()
        lo = np.array([e[0] for e in b.grid.edges])
        hi = np.array([e[-1] for e in b.grid.edges])
        shift, scale = 0.5 * (lo + hi), 0.5 * (hi - lo)
        # a bin's count measures the bin average of exp(−F), not exp(−F) at its centre: the rate
        # averages over quadrature nodes, so the network learns F itself and not its bin average
        offsets, qw = (bin_quadrature(b.grid.widths, ~self._discrete_axes) if x.shape[1] <= 2
                       else (np.zeros((1, x.shape[1])), np.ones(1)))
        Xq = torch.as_tensor(np.concatenate([pts + o for o in offsets]))
        base = torch.as_tensor(np.log(b.exposure)[None, :] + np.log(qw)[:, None])  # (Q, n_bins)
        occupied = b.counts > 0
        y0 = float(np.average(-np.log(b.counts[occupied] / b.exposure[occupied]), weights=b.counts[occupied]))

        def poisson_loss(counts: np.ndarray) -> Any:
            # each fit's loss is per count of its own data, so halves get the full fit's relative weight decay
            total = float(counts.sum())

            def loss_of(rng: np.random.Generator) -> Any:
                # Poisson bootstrap replicate of the (effective) counts
                n = torch.as_tensor(rng.poisson(counts).astype(np.float64))

                def loss(f_of: Any, c: Any) -> Any:
                    eta = base + c - f_of(Xq).reshape(len(qw), -1)
                    eta = torch.clamp(torch.logsumexp(eta, dim=0), max=50.0)  # no overflow in wild line-search trials
                    return (torch.exp(eta) - n * eta).sum() / total
                return loss
            return loss_of

        surface = self._train(x.shape[1], shift, scale, poisson_loss(b.counts), y0)
        extra: dict[str, Any] = {}
        if self.calibrate:
            # binomial thinning of the effective counts: two independent Poisson halves, one
            # ensemble on each; how far apart they land calibrates the spread
            rng = np.random.default_rng([self.seed, 104729])
            n_all = np.rint(b.counts).astype(np.int64)
            shared = rng.binomial(n_all, 1.0 / 3.0)
            only_a = rng.binomial(n_all - shared, 0.5)
            only = (only_a.astype(np.float64), (n_all - shared - only_a).astype(np.float64))
            fits = [self._train(x.shape[1], shift, scale, poisson_loss(shared + o), y0, salt=k + 1)
                    for k, o in enumerate(only)]
            log_exposure = float(np.log(np.mean(b.exposure)))
            predicted = [h.values(pts) for h in fits]
            s, kappa = spread_scale(predicted, log_exposure, b.counts > 0, fraction=2.0 / 3.0)
            # a held-out histogram measures the bin average of the fit, −ln⟨exp(−f)⟩ over the bin
            binned = [(_bin_average(h, pts, offsets, qw), v) for h, (_, v) in zip(fits, predicted)]
            beta = bias_floor(binned, only[::-1], b.exposure / 3.0, s, kappa, log_exposure)
            surface = dataclasses.replace(surface, spread_scale=s, count_noise=kappa, log_exposure=log_exposure,
                                          bias_floor=beta)
            extra.update(spread_scale=s, count_noise=kappa, bias_floor_kT=beta)
        self._model = make_model(self._METHOD, T, self._kT(T), b.grid, surface, cv_units=self.cv_units,
                                 n_samples=len(x), n_effective=b.n_effective,
                                 provenance=self._provenance(t0, mode="samples", **extra))
        return self

    def fit_free_energies(self, points: Any = None, free_energy: Any = None, sigma: Any = None, *,
                          force_points: Any = None, mean_forces: Any = None,
                          force_sigma: Any = None) -> "NeuralNetworkFES":
        """Fit the ensemble to free energies and/or mean forces, replacing any earlier fit.

        Parameters
        ----------
        points : array_like, shape (n,) or (n, d), CV units, optional
            Where ``free_energy`` was measured.
        free_energy : array_like, shape (n,), kJ/mol, optional
            Free energies (any additive constant).
        sigma : float or array_like, shape (n,), kJ/mol, optional
            Their standard deviations (default 1 kT each: equal weights).
        force_points : array_like, shape (m, d), CV units, optional
            Where ``mean_forces`` were measured (e.g. umbrella-window centres, thermodynamic
            integration points).
        mean_forces : array_like, shape (m, d), kJ/mol per CV unit, optional
            Mean forces −∇F at ``force_points``.
        force_sigma : float or array_like, shape (m,), kJ/mol per CV unit, optional
            Standard deviation of each force component (default 1 kT per CV unit).

        Notes
        -----
        With forces only, F is defined up to a constant (fixed by the grid minimum, as always).
        """
        torch = _torch()
        t0 = time.perf_counter()
        owner = type(self).__name__
        T = self.temperature
        kT = self._kT(T)
        if free_energy is None and mean_forces is None:
            raise ValueError(f"{owner}.fit_free_energies needs 'free_energy' (with 'points') or 'mean_forces' "
                             f"(with 'force_points'). Got neither.")
        terms = []
        all_x = []
        if free_energy is not None:
            xp = check_cvs(owner, points, "points")
            y = np.asarray(free_energy, dtype=np.float64)
            if y.shape != (len(xp),) or not np.all(np.isfinite(y)):
                raise ValueError(f"The 'free_energy' parameter of {owner} must be finite with shape ({len(xp)},) "
                                 f"(kJ/mol, one per point). Got shape {y.shape} instead.")
            s = _per_point(owner, sigma, len(y), "sigma", kT, "kJ/mol")
            terms.append(("F", xp, y / kT, s / kT))
            all_x.append(xp)
        if mean_forces is not None:
            xf = check_cvs(owner, force_points, "force_points")
            g = np.asarray(mean_forces, dtype=np.float64)
            g = g[:, None] if g.ndim == 1 else g
            if g.shape != xf.shape or not np.all(np.isfinite(g)):
                raise ValueError(f"The 'mean_forces' parameter of {owner} must be finite with the shape of "
                                 f"'force_points' {xf.shape} (kJ/mol per CV unit). Got shape {g.shape} instead.")
            s = _per_point(owner, force_sigma, len(g), "force_sigma", kT, "kJ/mol per CV unit")
            terms.append(("G", xf, -g / kT, s / kT))
            all_x.append(xf)
        d = all_x[0].shape[1]
        if any(a.shape[1] != d for a in all_x):
            raise ValueError(f"{owner}: 'points' and 'force_points' must have the same number of CVs.")
        xx = np.concatenate(all_x)
        bins = check_bins(owner, self.bins, d)
        grid = Grid.regular(check_ranges(owner, self.ranges, xx, bins), bins)
        lo = np.array([e[0] for e in grid.edges])
        hi = np.array([e[-1] for e in grid.edges])
        shift, scale = 0.5 * (lo + hi), 0.5 * (hi - lo)
        y0 = float(np.mean(terms[0][2])) if terms[0][0] == "F" else 0.0
        n_total = sum(len(t[1]) for t in terms)

        def loss_of(rng: np.random.Generator) -> Any:
            # parametric bootstrap: each member sees the targets perturbed by their errors
            data = []
            for kind, xi, yi, si in terms:
                noise = rng.standard_normal(yi.shape) * (si if yi.ndim == 1 else si[:, None])
                xt = torch.as_tensor(xi, dtype=torch.float64)
                if kind == "G":
                    xt.requires_grad_(True)
                data.append((kind, xt, torch.as_tensor(yi + noise), torch.as_tensor(si)))

            def loss(f_of: Any, c: Any) -> Any:
                total = 0.0
                for kind, xt, yt, st in data:
                    if kind == "F":
                        total = total + (((f_of(xt) - c - yt) / st) ** 2).sum()
                    else:
                        f = f_of(xt)
                        grad, = torch.autograd.grad(f.sum(), xt, create_graph=True)
                        total = total + (((grad - yt) / st[:, None]) ** 2).sum()
                return total / n_total
            return loss

        surface = self._train(d, shift, scale, loss_of, y0)
        if free_energy is None:
            surface = _align_members(surface, xx)
        self._model = make_model(self._METHOD, T, kT, grid, surface, cv_units=self.cv_units, n_samples=n_total,
                                 n_effective=float(n_total),
                                 provenance=self._provenance(
                                     t0, mode="free_energies", discrete=[],
                                     n_free_energies=0 if free_energy is None else len(terms[0][1]),
                                     n_forces=0 if mean_forces is None else len(terms[-1][1])))
        return self


def _bin_average(surface: MLPSurface, pts: np.ndarray, offsets: np.ndarray, qw: np.ndarray) -> np.ndarray:
    """−ln of the quadrature average of exp(−f) over each bin (kT), f the ensemble mean."""
    f = np.stack([surface.values(pts + o)[0] for o in offsets])  # (Q, n_bins)
    lo = f.min(axis=0)
    return lo - np.log(np.sum(qw[:, None] * np.exp(-(f - lo)), axis=0))


def _align_members(surface: MLPSurface, x: np.ndarray) -> MLPSurface:
    """Forces fix F only up to a constant per member: give every member the same mean over ``x``."""
    means = surface.member_values(x).mean(axis=1)
    members = []
    for params, m in zip(surface.layers, means):
        W, b = params[-1]
        members.append((*params[:-1], (W, b - m)))
    return MLPSurface(layers=tuple(members), shift=surface.shift, scale=surface.scale)


def _per_point(owner: str, value: Any, n: int, name: str, default: float, unit: str) -> np.ndarray:
    if value is None:
        return np.full(n, default)
    s = np.asarray(value, dtype=np.float64)
    if s.ndim == 0:
        s = np.full(n, float(s))
    if s.shape != (n,) or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise invalid(name, owner, f"> 0 and finite, a float or one per point ({n}), in {unit}", value)
    return s


def spread_scale(halves: list[tuple[np.ndarray, np.ndarray]], log_exposure: float,
                 cells: np.ndarray, fraction: float = 0.5) -> tuple[float, float]:
    """The factors on an ensemble's spread and on counting noise that explain two independent fits.

    Parameters
    ----------
    halves : two (ndarray, ndarray), each shape (n_bins,), kT and kT²
        Mean f = F/kT and spread (variance over members) of two ensembles, each trained on a
        ``fraction`` of the counts (independent halves, or overlapping parts that differ by
        independent counts), at the bin centres; f is normalised so that a bin's expected count
        is exp(log_exposure − f) for the full data (``fraction`` of that for a part).
    log_exposure : float
        ln of the full data's expected count per unit density.
    cells : ndarray of bool, shape (n_bins,)
        The bins compared (those with data).
    fraction : float
        The share p of all counts each fit saw (default ½: two disjoint halves). Fits to
        overlapping parts differ by the counts they do not share: the variance of their
        difference is (1 − p)/p times the sum of their variances.

    Returns
    -------
    s : float
        Factor on the members' standard deviation (dimensionless).
    kappa : float
        Factor on the counting noise: κ²/λ is added to the variance, λ the bin's expected count
        (dimensionless). Where a handful of samples fall, members that share a network's shape
        agree by construction, yet the data there say little; κ²/λ is the part of the error that
        shrinks with the counts as the histogram's own (1/λ) does.

    Notes
    -----
    With the variance of each fit modelled as s²·spread + κ²/λ, the difference of the two fits
    has (1 − p)/p times the sum of their variances; s, κ and a constant offset maximise its Gaussian likelihood
    over ``cells``. Comparing two smooth fits, not a fit with a histogram, keeps the comparison
    sensitive where counts are few. s is bounded to [0.1, 30] and κ to [0.001, 3]; (1, 0) when
    fewer than 5 bins are compared.
    """
    from scipy.optimize import minimize

    (fa, va), (fb, vb) = ((np.asarray(f, dtype=np.float64)[cells], np.maximum(np.asarray(v)[cells], 0.0))
                          for f, v in halves)
    if len(fa) < 5:
        return 1.0, 0.0
    d = fa - fb
    # fits to overlapping fractions p differ only by the counts they do not share: for an
    # estimator whose variance goes as 1/counts, var(fa − fb) = (1 − p)/p · (var a + var b)
    share = (1.0 - fraction) / fraction
    # a part's fit is normalised on its own counts: 1/λ_part = exp(f − log_exposure)
    inv_lam = sum(np.exp(np.minimum(f - log_exposure, math.log(1e3))) for f in (fa, fb))

    def nll(theta: np.ndarray) -> float:
        log_s, log_k, offset = theta
        v = share * (math.exp(2.0 * log_s) * (va + vb) + math.exp(2.0 * log_k) * inv_lam) + 1e-12
        r = d - offset
        return float(np.sum(r * r / v + np.log(v)))

    bounds = [(math.log(0.1), math.log(30.0)), (math.log(1e-3), math.log(3.0)), (None, None)]
    start = float(np.median(d))
    best = min((minimize(nll, np.array([s0, k0, start]), method="L-BFGS-B", bounds=bounds)
                for s0, k0 in ((0.0, math.log(0.3)), (math.log(3.0), math.log(0.03)))), key=lambda r: r.fun)
    return float(math.exp(best.x[0])), float(math.exp(best.x[1]))


def bias_floor(predicted: list[tuple[np.ndarray, np.ndarray]], held_out: tuple[np.ndarray, ...],
               exposure: np.ndarray, s: float, kappa: float, log_exposure: float) -> float:
    """The error both fits share (the networks' smoothing), from each against a histogram of data it did not see.

    Parameters
    ----------
    predicted : two (ndarray, ndarray), each shape (n_bins,), kT and kT²
        Mean f, as the fit's bin average −ln⟨exp(−f)⟩ (what a histogram measures), and spread of
        the two ensembles (as for :func:`spread_scale`).
    held_out : two ndarray, shape (n_bins,)
        Counts each fit did not see, independent of its data, in the order of ``predicted``.
    exposure : ndarray, shape (n_bins,)
        Expected count per unit density of the held-out counts.
    s, kappa : float
        From :func:`spread_scale`.
    log_exposure : float
        ln of the full data's expected count per unit density.

    Returns
    -------
    float
        β (kT) such that the difference between a fit and the held-out histogram, −ln(n/exposure)
        with variance 1/n, has variance s²·spread + κ²/λ + β² + 1/n (maximum likelihood over the
        bins with at least 10 held-out counts, where ln n is near-Gaussian, after a best constant);
        two independent fits agree on their shared bias, which only data they did not see can show.
        0 when fewer than 5 bins qualify.
    """
    from scipy.optimize import minimize

    r_all, v_all = [], []
    for (f, v), n in zip(predicted, held_out):
        ok = n >= 10
        if ok.sum() < 5:
            continue
        r = f[ok] + np.log(n[ok] / exposure[ok])
        var = s * s * np.maximum(v[ok], 0.0) + kappa ** 2 * np.exp(f[ok] - log_exposure) + 1.0 / n[ok]
        r_all.append(r)
        v_all.append(var)
    if not r_all:
        return 0.0

    def nll(theta: np.ndarray) -> float:
        total = 0.0
        for k, (r, var) in enumerate(zip(r_all, v_all)):
            vv = var + math.exp(2.0 * theta[0])
            d = r - theta[1 + k]
            total += float(np.sum(d * d / vv + np.log(vv)))
        return total

    start = np.array([math.log(0.05), *(float(np.median(r)) for r in r_all)])
    bounds = [(math.log(1e-3), math.log(3.0))] + [(None, None)] * len(r_all)
    best = minimize(nll, start, method="L-BFGS-B", bounds=bounds)
    return float(math.exp(best.x[0])) if best.x[0] > math.log(1.1e-3) else 0.0
