"""OpenMM systems for the coarse-grained SPE model.

Two systems share the particles of an :class:`~trajml.sim.builder.SPETopology`:

* :func:`build_pushoff_system` — stage 1: a capped, soft cosine repulsion
  ``A (1 + cos(π r / r_c))`` between all pairs (r_c = 2^(1/6) σ_ij; the global
  parameter ``A`` is ramped up by the caller) plus harmonic bonds at 0.97 σ.
  Its energy is finite for any configuration, so it untangles random overlaps.
* :func:`build_system` — stage 2 and production, the model itself:

  - FENE bonds, ``-½ k R0² ln(1 - (r/R0)²)``, k = 30 ε/σ², R0 = 1.5 σ
    (beyond 0.98 R0, a length equilibrium bonds never reach, the potential
    continues as its second-order Taylor expansion so that an overshooting
    minimiser step meets a large, finite energy rather than NaN);
  - WCA repulsion (LJ cut at 2^(1/6) σ_ij and shifted up by ε) between every
    pair except Li–O, with Lorentz–Berthelot σ_ij = (σ_i + σ_j)/2, ε_ij = ε;
  - full LJ between Li⁺ and ether O with depth ``eps_li_o``, cut at
    2.5 σ_LiO and shifted to zero there;
  - screened Coulomb (Yukawa) between charged beads,
    ``q_i q_j / (4π ε0 ε_r) · (e^{-r/λ_D}/r − e^{-r_c/λ_D}/r_c)``, cut at
    r_c = max(3 λ_D, 2.5 σ) (at most just under half the box);
  - optional bending ``k_angle (1 + cos θ)``.

No pair is excluded from any nonbonded force (bonded neighbours feel WCA, as
in the Kremer–Grest model). OpenMM works in nm; this module converts from Å.
openmm is imported only inside functions, through
:func:`trajml.errors.require_extra`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from trajml.errors import require_extra
from trajml.sim.builder import BOND_LENGTH, LI, O, SPETopology
from trajml.sim.parameters import EPSILON, SIGMA, SimulationParameters

__all__ = [
    "Cutoffs",
    "compute_cutoffs",
    "build_pushoff_system",
    "build_system",
    "make_platform",
    "FENE_K",
    "FENE_R0",
    "FENE_SAFE",
    "COULOMB_CONSTANT",
]

#: FENE spring constant, in kJ/(mol Å²) (30 ε/σ²).
FENE_K: float = 30.0 * EPSILON / SIGMA**2
#: FENE maximum bond length, in Å (1.5 σ).
FENE_R0: float = 1.5 * SIGMA
#: Fraction of R0 beyond which the FENE potential continues as its Taylor expansion (finite energy).
FENE_SAFE: float = 0.98
#: 1/(4π ε0) in kJ/mol · Å / e².
COULOMB_CONSTANT: float = 1389.35457644382
_WCA_FACTOR = 2.0 ** (1.0 / 6.0)
_NM = 0.1  # Å → nm

# Force groups, for energy decomposition.
GROUP_BONDS, GROUP_ANGLES, GROUP_WCA, GROUP_LIO, GROUP_COULOMB, GROUP_SOFT = 0, 1, 2, 3, 4, 5


@dataclass(frozen=True)
class Cutoffs:
    """Interaction cut-offs of the model, in Å.

    Attributes
    ----------
    wca : float
        2^(1/6) times the largest σ_ij (the WCA force's single cut-off).
    li_o : float
        2.5 σ_LiO.
    coulomb : float
        Yukawa cut-off, max(3 λ_D, 2.5 σ), lowered to just under half the box
        if needed.
    coulomb_clamped : bool
        True when the Yukawa cut-off was lowered to fit the box.
    """

    wca: float
    li_o: float
    coulomb: float
    coulomb_clamped: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the cut-offs as a dict (values in Å)."""
        return asdict(self)


def compute_cutoffs(topology: SPETopology, params: SimulationParameters) -> Cutoffs:
    """Cut-offs for ``topology``; raise if the box is too small for the short-range ones.

    Raises
    ------
    ValueError
        If twice the Li–O or WCA cut-off exceeds the box length.
    """
    box = topology.box_length
    sigma_max = float(np.max(topology.sigmas))
    wca = _WCA_FACTOR * sigma_max
    li_o = 2.5 * SIGMA
    short = max(wca, li_o)
    if 2.0 * short >= box:
        raise ValueError(
            "The system is too small: its box edge of "
            f"{box:.3g} Å must exceed twice the {short:.3g} Å pair cut-off. Increase 'n_chains' or "
            f"'chain_length' (n_beads = {topology.n_beads}) or lower 'density'."
        )
    wanted = max(3.0 * float(params.debye_length), 2.5 * SIGMA)
    limit = 0.499 * box
    clamped = wanted > limit
    if clamped:
        warnings.warn(
            f"The Yukawa cut-off 3 * debye_length = {wanted:.3g} Å exceeds half the {box:.3g} Å box; "
            f"using {limit:.3g} Å (e^(-r_c/λ_D) = {math.exp(-limit / params.debye_length):.2g}).",
            UserWarning,
            stacklevel=3,
        )
    return Cutoffs(wca=wca, li_o=li_o, coulomb=min(wanted, limit), coulomb_clamped=clamped)


def _openmm() -> Any:
    return require_extra("openmm", "sim", "trajml simulate")


def _base_system(topology: SPETopology) -> Any:
    mm = _openmm()
    system = mm.System()
    edge = topology.box_length * _NM
    system.setDefaultPeriodicBoxVectors(
        mm.Vec3(edge, 0.0, 0.0), mm.Vec3(0.0, edge, 0.0), mm.Vec3(0.0, 0.0, edge)
    )
    for m in topology.masses:
        system.addParticle(float(m))
    return system


def build_pushoff_system(topology: SPETopology) -> Any:
    """Stage-1 system: soft capped repulsion (global parameter ``A`` in kJ/mol) and harmonic bonds.

    Parameters
    ----------
    topology : SPETopology

    Returns
    -------
    openmm.System
        ``A`` starts at 0; set it with ``context.setParameter("A", value)``.
    """
    mm = _openmm()
    system = _base_system(topology)
    soft = mm.CustomNonbondedForce(
        "A * (1 + cos(pi_ * r / rc)) * step(rc - r); rc = wf * 0.5 * (sig1 + sig2)"
    )
    soft.addGlobalParameter("A", 0.0)
    soft.addGlobalParameter("pi_", math.pi)
    soft.addGlobalParameter("wf", _WCA_FACTOR)
    soft.addPerParticleParameter("sig")
    for s in topology.sigmas:
        soft.addParticle([float(s) * _NM])
    soft.setNonbondedMethod(mm.CustomNonbondedForce.CutoffPeriodic)
    soft.setCutoffDistance(_WCA_FACTOR * float(np.max(topology.sigmas)) * _NM)
    for i, j in topology.bonds:  # bonded pairs are held by the harmonic bonds alone
        soft.addExclusion(int(i), int(j))
    soft.setForceGroup(GROUP_SOFT)
    system.addForce(soft)

    bonds = mm.HarmonicBondForce()
    k = 300.0 * EPSILON / SIGMA**2 / _NM**2  # kJ/(mol nm²)
    for i, j in topology.bonds:
        bonds.addBond(int(i), int(j), BOND_LENGTH * _NM, k)
    bonds.setUsesPeriodicBoundaryConditions(True)
    bonds.setForceGroup(GROUP_BONDS)
    system.addForce(bonds)
    return system


def build_system(topology: SPETopology, params: SimulationParameters, cutoffs: Cutoffs | None = None) -> Any:
    """The full model as an ``openmm.System`` (see the module docstring for the terms).

    Parameters
    ----------
    topology : SPETopology
    params : SimulationParameters
    cutoffs : Cutoffs, optional
        From :func:`compute_cutoffs`; computed when omitted.

    Returns
    -------
    openmm.System
    """
    mm = _openmm()
    if cutoffs is None:
        cutoffs = compute_cutoffs(topology, params)
    system = _base_system(topology)
    codes = topology.type_codes

    # FENE bonds, continued beyond FENE_SAFE * R0 by their second-order Taylor expansion so that a
    # minimiser line search that overshoots R0 meets a large but finite energy instead of NaN.
    kf = FENE_K / _NM**2
    r0 = FENE_R0 * _NM
    rs = FENE_SAFE * r0
    xs2 = FENE_SAFE**2
    us = -0.5 * kf * r0**2 * math.log(1.0 - xs2)
    fs = kf * rs / (1.0 - xs2)
    cs = kf * (1.0 + xs2) / (1.0 - xs2) ** 2
    fene = mm.CustomBondForce(
        "select(step(r - rs), us + fs * (r - rs) + 0.5 * cs * (r - rs)^2, "
        "-0.5 * kf * r0^2 * log(max(1 - (r / r0)^2, 1e-12)))"
    )
    for key, value in (("kf", kf), ("r0", r0), ("rs", rs), ("us", us), ("fs", fs), ("cs", cs)):
        fene.addGlobalParameter(key, value)
    for i, j in topology.bonds:
        fene.addBond(int(i), int(j), [])
    fene.setUsesPeriodicBoundaryConditions(True)
    fene.setForceGroup(GROUP_BONDS)
    system.addForce(fene)

    # Bending.
    if params.k_angle > 0.0 and len(topology.angles):
        bend = mm.CustomAngleForce("ka * (1 + cos(theta))")
        bend.addGlobalParameter("ka", float(params.k_angle))
        for i, j, k in topology.angles:
            bend.addAngle(int(i), int(j), int(k), [])
        bend.setUsesPeriodicBoundaryConditions(True)
        bend.setForceGroup(GROUP_ANGLES)
        system.addForce(bend)

    # WCA between all pairs except Li–O.
    wca = mm.CustomNonbondedForce(
        "(1 - li1 * ox2 - ox1 * li2) * step(rc - r) * (4 * eps * (x^2 - x) + eps);"
        "x = (s / r)^6; rc = wf * s; s = 0.5 * (sig1 + sig2)"
    )
    wca.addGlobalParameter("eps", EPSILON)
    wca.addGlobalParameter("wf", _WCA_FACTOR)
    for name in ("sig", "li", "ox"):
        wca.addPerParticleParameter(name)
    for s, c in zip(topology.sigmas, codes):
        wca.addParticle([float(s) * _NM, float(c == LI), float(c == O)])
    wca.setNonbondedMethod(mm.CustomNonbondedForce.CutoffPeriodic)
    wca.setCutoffDistance(cutoffs.wca * _NM)
    wca.setUseLongRangeCorrection(False)
    wca.setForceGroup(GROUP_WCA)
    system.addForce(wca)

    li = np.flatnonzero(codes == LI)
    ox = np.flatnonzero(codes == O)
    charged = np.flatnonzero(topology.charges != 0.0)

    # Attractive Li–O Lennard-Jones, cut and shifted at 2.5 σ_LiO.
    s_lio = SIGMA * _NM
    rc = cutoffs.li_o * _NM
    shift = 4.0 * ((s_lio / rc) ** 12 - (s_lio / rc) ** 6)
    lio = mm.CustomNonbondedForce("4 * elo * ((s / r)^12 - (s / r)^6) - elo * shift")
    lio.addGlobalParameter("elo", float(params.eps_li_o))
    lio.addGlobalParameter("s", s_lio)
    lio.addGlobalParameter("shift", shift)
    for _ in range(topology.n_beads):
        lio.addParticle([])
    lio.addInteractionGroup([int(i) for i in li], [int(i) for i in ox])
    lio.setNonbondedMethod(mm.CustomNonbondedForce.CutoffPeriodic)
    lio.setCutoffDistance(rc)
    lio.setUseLongRangeCorrection(False)
    lio.setForceGroup(GROUP_LIO)
    system.addForce(lio)

    # Screened Coulomb (Yukawa) between charged beads, shifted to zero at the cut-off.
    rcc = cutoffs.coulomb * _NM
    lam = float(params.debye_length) * _NM
    yuk = mm.CustomNonbondedForce("ke * q1 * q2 * (exp(-r / lam) / r - tail)")
    yuk.addGlobalParameter("ke", COULOMB_CONSTANT * _NM / float(params.relative_permittivity))
    yuk.addGlobalParameter("lam", lam)
    yuk.addGlobalParameter("tail", math.exp(-rcc / lam) / rcc)
    yuk.addPerParticleParameter("q")
    for q in topology.charges:
        yuk.addParticle([float(q)])
    yuk.addInteractionGroup([int(i) for i in charged], [int(i) for i in charged])
    yuk.setNonbondedMethod(mm.CustomNonbondedForce.CutoffPeriodic)
    yuk.setCutoffDistance(rcc)
    yuk.setUseLongRangeCorrection(False)
    yuk.setForceGroup(GROUP_COULOMB)
    system.addForce(yuk)
    return system


def make_platform(params: SimulationParameters) -> tuple[Any, dict[str, str]]:
    """The OpenMM platform and its properties for ``params.platform`` / ``params.threads``.

    Raises
    ------
    ValueError
        If the platform is not available in this OpenMM installation.
    """
    mm = _openmm()
    available = [mm.Platform.getPlatform(i).getName() for i in range(mm.Platform.getNumPlatforms())]
    if params.platform not in available:
        raise ValueError(
            f"The 'platform' parameter of simulate must be an OpenMM platform available here "
            f"({', '.join(available)}). Got {params.platform!r} instead."
        )
    platform = mm.Platform.getPlatformByName(params.platform)
    props: dict[str, str] = {}
    if params.platform == "CPU" and params.threads is not None:
        props["Threads"] = str(int(params.threads))
    if params.platform in ("CUDA", "OpenCL"):
        props["Precision"] = "mixed"
    return platform, props
