"""Results of :class:`~trajml.transport.residence.ResidenceTime`: :class:`ResidenceResults` and its units."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from trajml.results import Results

__all__ = ["ResidenceResults", "UNITS"]


@dataclass(frozen=True, eq=False, kw_only=True)
class ResidenceResults(Results):
    """What :class:`ResidenceTime` computes (definitions in :mod:`trajml.transport.residence`).

    Attributes
    ----------
    lag_ps : ndarray, shape (K,), float64
        Lags in ps (``k * dt`` for k = 0..K-1, K the longest trajectory's frames).
    continuous, intermittent : ndarray, shape (K,), float64
        ``C_c(t)`` and ``C_i(t)`` (dimensionless; NaN where no origin has a contact).
    continuous_err, intermittent_err : ndarray, shape (K,), float64
        Standard errors of the mean over the error blocks of centres (dimensionless).
    tau_ps, tau_ps_err, tau_ps_block_err : float
        Stretched-exponential time constant of ``C_c`` in ps, with its fit and block errors.
    beta, beta_err, beta_block_err : float
        Stretching exponent of ``C_c`` (dimensionless) and its errors.
    tau_int_ps, tau_int_ps_err, tau_int_ps_block_err : float
        Residence time ``tau / beta * Gamma(1/beta)`` of ``C_c`` in ps and its errors.
    integral_ps, integral_ps_block_err : float
        Direct trapezoidal integral of ``C_c`` up to ``integral_cut_ps`` (ps) and its block error.
    integral_cut_ps : float
        First lag with ``C_c < threshold`` (or the last lag), in ps.
    integral_converged : bool
        Whether ``C_c`` dropped below ``threshold``.
    intermittent_tau_ps, intermittent_tau_ps_err, intermittent_tau_ps_block_err : float
        The same fit of ``C_i`` (ps).
    intermittent_beta, intermittent_beta_err, intermittent_beta_block_err : float
        Its stretching exponent (dimensionless).
    intermittent_tau_int_ps, intermittent_tau_int_ps_err, intermittent_tau_int_ps_block_err : float
        Its integral lifetime (ps).
    intermittent_integral_ps, intermittent_integral_cut_ps : float
        Direct integral of ``C_i`` and its upper limit (ps).
    intermittent_integral_converged : bool
        Whether ``C_i`` dropped below ``threshold``.
    threshold : float
        Where fits and direct integrals stop (dimensionless).
    fit_max_lag_ps : float
        Largest lag the fits use, in ps.
    cutoff : float
        Contact cut-off in Å.
    cutoff_source : str
        "given" or "first minimum of g(r)".
    tolerance_frames : int
        Gap tolerance of the continuous TCF, in frames.
    dt_ps : float
        Time between analysed frames in ps.
    n_frames, n_trajectories, n_centers, n_ligands, error_blocks : int
        Frames analysed (all trajectories), trajectories, atoms per selection, error blocks.
    mean_contacts : float
        Mean number of ligands in contact with a centre (dimensionless).
    contacts_per_frame : ndarray, shape (n_frames,), int64
        Contacts (pairs) in every analysed frame, trajectories one after the other.
    centers : ndarray, shape (n_centers,), int64
        Topology indices of the centres.
    hopping : bool
        Whether hop statistics were computed (ligand atoms on multi-atom molecules).
    n_chains : int or None
        Molecules owning ligand atoms.
    n_hops, n_rearrangements : int or None
        Inter-chain hops and intra-chain rearrangements, all centres.
    hop_rate_per_ns, rearrangement_rate_per_ns : float or None
        Events per centre per ns (unit ns⁻¹).
    hops_per_center : ndarray, shape (n_centers,), int64, or None
        Hops of each centre.
    unbound_fraction : float or None
        Fraction of (centre, frame) samples without any ligand contact.
    chain_residence_ps : ndarray, shape (M,), float64, or None
        Complete chain residences (started and ended by a hop), sorted, in ps.
    chain_residence_censored_ps : ndarray, shape (M',), float64, or None
        Residences cut by a trajectory end (lower bounds), sorted, in ps.
    chain_residence_mean_ps : float or None
        Mean complete chain residence in ps (NaN when there is none).
    """

    _TABLE: ClassVar[tuple[str, ...]] = ("lag_ps", "continuous", "continuous_err", "intermittent",
                                         "intermittent_err")
    _DIMS: ClassVar[dict[str, tuple[str, ...]]] = {
        "lag_ps": ("lag_ps",), "continuous": ("lag_ps",), "intermittent": ("lag_ps",),
        "continuous_err": ("lag_ps",), "intermittent_err": ("lag_ps",),
        "contacts_per_frame": ("frame",), "centers": ("centers",), "hops_per_center": ("centers",),
        "chain_residence_ps": ("residence",), "chain_residence_censored_ps": ("censored_residence",),
    }

    lag_ps: np.ndarray
    continuous: np.ndarray
    intermittent: np.ndarray
    continuous_err: np.ndarray
    intermittent_err: np.ndarray
    tau_ps: float
    tau_ps_err: float
    tau_ps_block_err: float
    beta: float
    beta_err: float
    beta_block_err: float
    tau_int_ps: float
    tau_int_ps_err: float
    tau_int_ps_block_err: float
    integral_ps: float
    integral_ps_block_err: float
    integral_cut_ps: float
    integral_converged: bool
    intermittent_tau_ps: float
    intermittent_tau_ps_err: float
    intermittent_tau_ps_block_err: float
    intermittent_beta: float
    intermittent_beta_err: float
    intermittent_beta_block_err: float
    intermittent_tau_int_ps: float
    intermittent_tau_int_ps_err: float
    intermittent_tau_int_ps_block_err: float
    intermittent_integral_ps: float
    intermittent_integral_cut_ps: float
    intermittent_integral_converged: bool
    threshold: float
    fit_max_lag_ps: float
    cutoff: float
    cutoff_source: str
    tolerance_frames: int
    dt_ps: float
    n_frames: int
    n_trajectories: int
    n_centers: int
    n_ligands: int
    error_blocks: int
    mean_contacts: float
    contacts_per_frame: np.ndarray
    centers: np.ndarray
    hopping: bool
    n_chains: int | None = None
    n_hops: int | None = None
    n_rearrangements: int | None = None
    hop_rate_per_ns: float | None = None
    rearrangement_rate_per_ns: float | None = None
    hops_per_center: np.ndarray | None = None
    unbound_fraction: float | None = None
    chain_residence_ps: np.ndarray | None = None
    chain_residence_censored_ps: np.ndarray | None = None
    chain_residence_mean_ps: float | None = None


_PS = ("lag_ps", "tau_ps", "tau_ps_err", "tau_ps_block_err", "tau_int_ps", "tau_int_ps_err", "tau_int_ps_block_err",
       "integral_ps", "integral_ps_block_err", "integral_cut_ps", "fit_max_lag_ps", "dt_ps",
       "chain_residence_ps", "chain_residence_censored_ps", "chain_residence_mean_ps")
_PLAIN = ("continuous", "intermittent", "continuous_err", "intermittent_err", "beta", "beta_err", "beta_block_err",
          "integral_converged", "threshold", "tolerance_frames", "n_frames", "n_trajectories", "n_centers",
          "n_ligands", "error_blocks", "mean_contacts", "contacts_per_frame", "centers", "hopping", "n_chains",
          "n_hops", "n_rearrangements", "hops_per_center", "unbound_fraction")
UNITS: dict[str, str] = {
    **{k: "ps" for k in _PS}, **{k: "" for k in _PLAIN},
    **{"intermittent_" + k: "ps" for k in ("tau_ps", "tau_ps_err", "tau_ps_block_err", "tau_int_ps",
                                           "tau_int_ps_err", "tau_int_ps_block_err", "integral_ps",
                                           "integral_cut_ps")},
    **{"intermittent_" + k: "" for k in ("beta", "beta_err", "beta_block_err", "integral_converged")},
    "cutoff": "Å", "hop_rate_per_ns": "1/ns", "rearrangement_rate_per_ns": "1/ns",
}
